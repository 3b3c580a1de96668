"""A user's own detection folder, in PASCAL VOC's or COCO's layout, read with its own classes."""

import os
import xml.etree.ElementTree as ET

from ..errors import DatasetError
from . import _detection, coco

__all__ = ["detection_dataset", "is_detection_folder"]

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
_LAYOUTS = ("a VOC folder (Annotations/*.xml + JPEGImages/, ImageSets/Main/<usage>.txt optional), a "
            "COCO .json file or a folder holding one (directly or in annotations/) with its images, "
            "or a folder of such split folders (train/, val/ or valid/, test/)")
# usage -> split folders that hold it, and whether the whole folder may stand for that usage
_SPLIT_FOLDERS = {"train": (("train", True), ("trainval", True)),
                  "trainval": (("trainval", True),),
                  "val": (("val", True), ("valid", True), ("validation", True), ("trainval", False)),
                  "test": (("test", True),)}


# --------------------------------------------------------------------------- recognising a folder
def _is_voc(folder):
    return all(os.path.isdir(os.path.join(folder, sub)) for sub in ("Annotations", "JPEGImages"))


def _layout(path):
    """``(format, root)`` when ``path`` itself is a VOC folder (or holds VOCdevkit/<one>) or COCO data."""
    if os.path.isfile(path):
        return ("coco", path) if path.lower().endswith(".json") and coco.looks_like_coco(path) else None
    if not os.path.isdir(path):
        return None
    if _is_voc(path):
        return "voc", path
    devkit = os.path.join(path, "VOCdevkit")
    if os.path.isdir(devkit):
        found = [os.path.join(devkit, n) for n in sorted(os.listdir(devkit))
                 if not n.startswith(".") and _is_voc(os.path.join(devkit, n))]
        if len(found) == 1:
            return "voc", found[0]
    if any(coco.looks_like_coco(p) for p in coco.json_candidates(path)):
        return "coco", path
    return None


def _split_folders(folder, usage=None):
    """{sub-folder name: (format, root)} of the split folders of ``folder`` holding detection data.

    Only sub-folders named for a split (train, trainval, val, valid, validation, test, or
    ``usage``) are looked into, so a classification folder of 1,000 class folders costs nothing.
    """
    wanted = {name for choices in _SPLIT_FOLDERS.values() for name, _ in choices} | {usage}
    try:
        names = sorted(n for n in os.listdir(folder) if n in wanted)
    except OSError:
        return {}
    found = {}
    for name in names:
        sub = os.path.join(folder, name)
        layout = _layout(sub) if os.path.isdir(sub) else None
        if layout is not None:
            found[name] = layout
    return found


def is_detection_folder(path):
    """Tell whether ``path`` holds object-detection data, and in which format.

    Recognised: a VOC folder (``Annotations/`` and ``JPEGImages/``, also below
    ``VOCdevkit/<name>/``), a COCO annotation file or a folder holding one (directly or in
    ``annotations/``), and a folder whose sub-folders are such folders, one per split
    (``train/``, ``trainval/``, ``val/``, ``valid/``, ``validation/``, ``test/``), all in one
    format. A COCO file is recognised by its ``"images"``, ``"annotations"`` and
    ``"categories"`` keys, without parsing it whole.

    Args:
        path: a folder, or a ``.json`` file.

    Returns:
        str or None: ``"voc"``, ``"coco"``, or None (not detection data, or missing).

    Example:
        >>> import os
        >>> from tinyms.data import is_detection_folder, sample_dataset
        >>> is_detection_folder(sample_dataset("shapes"))
        'voc'
        >>> os.makedirs("flowers/rose")     # an image-classification folder
        >>> print(is_detection_folder("flowers"))
        None
    """
    if not isinstance(path, (str, os.PathLike)):
        return None
    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    layout = _layout(path)
    if layout is not None:
        return layout[0]
    formats = {fmt for fmt, _ in _split_folders(path).values()} if os.path.isdir(path) else set()
    return formats.pop() if len(formats) == 1 else None


# --------------------------------------------------------------------------- the loader
def detection_dataset(path, usage="train", decode=False, shuffle=None, num_samples=None,
                      num_parallel_workers=None, check_images="decode", class_names=None,
                      test_fraction=0.2, seed=0, sampler=None, num_shards=None, shard_id=None,
                      **kwargs):
    """Read your own object-detection folder, VOC or COCO, with the class names it annotates.

    ``path`` is one of (see :func:`is_detection_folder`):

    - a VOC folder: ``Annotations/<id>.xml`` (one per image, ``<object>`` with ``<name>`` and
      ``<bndbox>``), ``JPEGImages/<id>.jpg`` (or ``.jpeg``, ``.png``, ``.bmp``, or the XML's
      ``<filename>``), and optionally ``ImageSets/Main/<usage>.txt`` listing the ids of a split;
    - a COCO ``.json`` file, or a folder holding it with its images (read as by
      :func:`CocoDataset`; several files: the one whose name holds ``usage``);
    - a folder of split folders in one of those layouts: ``train/`` (or ``trainval/``),
      ``val/`` (or ``valid/``, ``validation/``), ``test/``, as ``download_dataset("voc2007")``
      and Roboflow lay them out.

    Which images form ``usage``: the split the data names (an id list, a split folder or a
    split file) when it has one. Otherwise a seeded split: ``"train"`` and ``"trainval"`` read
    the images left after holding out ``round(test_fraction * n)`` (at least 1) of them, and
    ``"val"`` and ``"test"`` read the held-out ones; an image's side follows from the SHA-256
    of ``"<seed>:<its id or file name>"``, so it is the same on every machine and never both.
    ``usage=None`` reads every image. A data set that has lists, but none for ``usage``, is
    an error rather than a guess.

    The class names are the sorted object names found in all the VOC annotations (every
    split, so train and test agree on labels), or the COCO categories in id order; pass
    ``class_names`` (e.g. a trained model's labels) to fix the order. Images without objects
    are kept, with zero boxes. Every annotation is checked first: see :func:`CocoDataset` for
    the checks (boxes are clipped when they overshoot the image by at most a pixel).

    Args:
        path: see above.
        usage: ``"train"`` (default), ``"val"``, ``"test"``, ``"trainval"``, another list
            name, or None for all images.
        decode: decode the images (HWC uint8 RGB) instead of giving the file bytes.
        check_images: ``"decode"`` (default), ``"header"`` or None (see
            :func:`ImageFolderDataset`).
        class_names: the class names in label order; every annotated object must be one.
        test_fraction: the share of images held out by a seeded split (default 0.2).
        seed: the seed of that split.
        num_samples, num_parallel_workers, shuffle, sampler, num_shards, shard_id: as for
            MindSpore's ``GeneratorDataset``; other keyword arguments are passed on to it.

    Returns:
        mindspore.dataset.Dataset: the rows of :func:`VOCDataset` (``image``, ``bbox``
        float32 (N, 4) ``[xmin, ymin, width, height]`` in pixels, ``label``, ``difficult``,
        ``truncate`` uint32 (N, 1)), with a ``class_names`` attribute.

    Raises:
        DatasetError: ``path`` holds no detection data, ``usage`` matches nothing, or a file or
            annotation is missing or broken; the message names it and the fix.

    Example:
        >>> from tinyms.data import detection_dataset, sample_dataset
        >>> train = detection_dataset(sample_dataset("shapes"), usage="train", decode=True)
        >>> train.class_names, train.get_dataset_size()
        (('circle', 'cross', 'square', 'star', 'triangle'), 480)
        >>> row = next(train.create_dict_iterator(output_numpy=True))
        >>> row["image"].shape, row["bbox"].shape[1], row["label"].dtype
        ((160, 160, 3), 4, dtype('uint32'))
    """
    if not isinstance(path, (str, os.PathLike)):
        raise DatasetError(f"detection_dataset needs a folder or .json file, got {path!r}. Fix: pass {_LAYOUTS}")
    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if not os.path.exists(path):
        raise DatasetError(f"detection folder {path} does not exist. Fix: pass {_LAYOUTS}")
    if usage is not None and (not isinstance(usage, str) or not usage or "/" in usage or usage.startswith(".")):
        raise DatasetError(f"usage must name a split such as 'train' or 'test' (or be None), got {usage!r}")
    layout, whole, siblings = _layout(path), False, None
    if layout is None:
        splits = _split_folders(path, usage)
        if not splits:
            raise DatasetError(f"{path} holds no object-detection data in a layout TinyMS reads. "
                               f"Fix: pass {_LAYOUTS}")
        name, whole = _pick_split(splits, usage, path)
        layout = splits[name]
        siblings = [root for fmt, root in splits.values() if fmt == "voc"]
    fmt, root = layout
    read = dict(class_names=class_names, check_images=check_images, test_fraction=test_fraction, seed=seed)
    if fmt == "voc":
        entries, names = _read_voc(root, usage, whole, siblings or [root], **read)
        fix = f"replace the image, or delete it and its annotation from {root}"
        folder = root
    else:
        entries, names, folder, json_path = _read_coco_split(root, usage, whole, **read)
        fix = f"replace the image or delete its entry from {json_path}"
    return _detection.build(entries, names, folder, decode=decode, shuffle=shuffle,
                            num_samples=num_samples, num_parallel_workers=num_parallel_workers,
                            sampler=sampler, num_shards=num_shards, shard_id=shard_id,
                            check_images=check_images, fix=fix, **kwargs)


def _pick_split(splits, usage, path):
    """(sub-folder name, whether the whole folder is the split) for ``usage``."""
    shown = ", ".join(f"{name}/" for name in splits)
    if usage is None:
        if len(splits) == 1:
            return next(iter(splits)), True
        raise DatasetError(f"{path} holds one folder per split ({shown}); usage=None cannot pick one. "
                           f"Fix: pass usage='train' or 'test', or the split folder itself")
    for name, whole in _SPLIT_FOLDERS.get(usage, ((usage, True),)):
        if name in splits:
            return name, whole
    raise DatasetError(f"{path} holds the split folders {shown}, none for usage {usage!r}. Fix: pass "
                       f"a usage they hold (train/, val/ or valid/, test/), or the folder itself")


# --------------------------------------------------------------------------- COCO
def _read_coco_split(root, usage, whole, class_names, check_images, test_fraction, seed):
    """(entries, names, image folder, json path) of ``usage`` in COCO file or folder ``root``."""
    if os.path.isfile(root):
        json_path = root
        named = usage is not None and coco.names_split(json_path, usage)
        if usage is not None and not named and coco.names_any_split(json_path):
            raise DatasetError(f"COCO file {json_path} is named for another split than usage "
                               f"{usage!r}. Fix: pass the file of that split, or its folder")
        whole = whole or named or usage is None
    else:
        found = [p for p in coco.json_candidates(root) if coco.looks_like_coco(p)]
        shown = ", ".join(os.path.relpath(p, root) for p in found)
        if usage is None or whole:
            if len(found) != 1:
                raise DatasetError(f"COCO folder {root} holds {len(found)} annotation files ({shown}). "
                                   f"Fix: pass usage= (a word of the file name) or the file itself")
            json_path, whole = found[0], True
        else:
            matching = [p for p in found if coco.names_split(p, usage)]
            if len(matching) > 1:
                matching = [p for p in matching if os.path.basename(p).startswith("instances")] or matching
            if len(matching) == 1:
                json_path, whole = matching[0], True
            elif len(found) == 1 and not matching and not coco.names_any_split(found[0]):
                json_path = found[0]   # one file naming no split: a seeded split of it
            else:
                raise DatasetError(f"COCO folder {root}: {'several' if matching else 'no'} annotation "
                                   f"file(s) for usage {usage!r} ({shown}). Fix: pass the file itself")
    entries, names, folder = coco.read_coco(json_path, None, class_names, check_images)
    if not whole:
        entries = _detection.split(entries, usage, test_fraction, seed, f"COCO file {json_path}")
    return entries, names, folder, json_path


# --------------------------------------------------------------------------- VOC
def _number(text):
    return float(text.strip())


def _parse_voc(xml_path):
    """(filename or None, (width, height) or None, [(name, [x0, y0, x1, y1], difficult, truncated)])."""
    fix = "correct the annotation or export it again from your labelling tool"
    try:
        tree = ET.parse(xml_path)
    except (ET.ParseError, OSError) as exc:
        raise DatasetError(f"VOC annotation {xml_path} cannot be read ({exc}). Fix: {fix}") from None
    top = tree.getroot()
    try:
        size = (int(_number(top.findtext("size/width"))), int(_number(top.findtext("size/height"))))
        size = size if min(size) > 0 else None
    except (AttributeError, TypeError, ValueError):
        size = None
    objects = []
    for obj in top.findall("object"):
        name = (obj.findtext("name") or "").strip()
        if not name:
            raise DatasetError(f"VOC annotation {xml_path}: an object has no <name>. Fix: {fix}")
        try:
            coords = [_number(obj.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
        except (AttributeError, TypeError, ValueError):
            raise DatasetError(f"VOC annotation {xml_path}: object {name!r} has no valid <bndbox> "
                               f"(xmin, ymin, xmax, ymax). Fix: {fix}") from None
        flags = []
        for tag in ("difficult", "truncated"):
            text = (obj.findtext(tag) or "0").strip() or "0"
            try:
                flags.append(int(float(text)) != 0)
            except ValueError:
                raise DatasetError(f"VOC annotation {xml_path}: object {name!r} has <{tag}>{text}</{tag}>; "
                                   f"it must be 0 or 1. Fix: {fix}") from None
        objects.append((name, coords, int(flags[0]), int(flags[1])))
    filename = (top.findtext("filename") or "").strip() or None
    return filename, size, objects


def _voc_image(root, image_id, filename, xml_path):
    folder = os.path.join(root, "JPEGImages")
    for suffix in _IMAGE_SUFFIXES + tuple(s.upper() for s in _IMAGE_SUFFIXES):
        path = os.path.join(folder, image_id + suffix)
        if os.path.isfile(path):
            return path
    if filename:
        path = os.path.join(folder, os.path.basename(filename.replace("\\", "/")))
        if os.path.isfile(path):
            return path
    raise DatasetError(f"VOC annotation {xml_path} has no image: {os.path.join(folder, image_id)}.jpg "
                       f"(or .jpeg, .png, .bmp{', ' + repr(filename) if filename else ''}) is missing. "
                       f"Fix: put the image in {folder}, or delete the annotation")


def _read_voc(root, usage, whole, name_roots, class_names, check_images, test_fraction, seed):
    """(entries, class names) of ``usage`` in VOC folder ``root``."""
    parsed = {}
    for folder in dict.fromkeys([root] + list(name_roots)):
        annotations = os.path.join(folder, "Annotations")
        for name in _detection.visible_files(annotations, (".xml",)):
            parsed[os.path.join(annotations, name)] = _parse_voc(os.path.join(annotations, name))
    ann_dir = os.path.join(root, "Annotations")
    all_ids = [n[:-4] for n in _detection.visible_files(ann_dir, (".xml",))]
    if not all_ids:
        raise DatasetError(f"VOC folder {ann_dir} holds no .xml annotation. Fix: add one "
                           f"Annotations/<id>.xml per image (VOC's format)")
    lists = os.path.join(root, "ImageSets", "Main")
    list_file = os.path.join(lists, f"{usage}.txt") if usage is not None else None
    split_needed = False
    if usage is None:
        ids = all_ids
    elif os.path.isfile(list_file):
        with open(list_file, encoding="utf-8", errors="replace") as f:
            ids = [line.split()[0] for line in f if line.strip()]
        if not ids:
            raise DatasetError(f"VOC id list {list_file} is empty. Fix: list the image ids of "
                               f"{usage!r} in it, one per line, or delete it")
        known = set(all_ids)
        for image_id in ids:
            if image_id not in known:
                raise DatasetError(f"{list_file} lists {image_id!r}, but {os.path.join(ann_dir, image_id)}"
                                   f".xml is missing. Fix: add the annotation or remove the id")
    elif whole:
        ids = all_ids
    else:
        others = [n[:-4] for n in _detection.visible_files(lists, (".txt",)) if "_" not in n]
        if others:
            raise DatasetError(f"VOC folder {root} has the id lists {', '.join(others)} in {lists}, "
                               f"none named {usage}.txt. Fix: pass usage= one of them, or add "
                               f"{usage}.txt")
        ids, split_needed = all_ids, True

    if class_names is None:
        names = tuple(sorted({obj[0] for _, _, objs in parsed.values() for obj in objs}))
    else:
        names = tuple(str(n) for n in class_names)
        if len(set(names)) != len(names):
            raise DatasetError(f"class_names lists a name twice: {names}")
    label_of = {name: i for i, name in enumerate(names)}
    fix_box = "correct the box in the annotation (or export it again)"
    entries = []
    for image_id in ids:
        xml_path = os.path.join(ann_dir, image_id + ".xml")
        filename, annotated, objects = parsed[xml_path]
        path = _voc_image(root, image_id, filename, xml_path)
        if check_images is None and annotated is not None:
            width, height = annotated
        else:
            width, height = _detection.image_size(path, f"replace the image, or delete it and {xml_path}")
            if annotated is not None and annotated != (width, height):
                raise _detection.size_mismatch(path, (width, height), annotated, f"VOC annotation {xml_path}",
                                               "annotate the image as it is stored (or re-save it "
                                               "upright and annotate again)")
        boxes, labels, difficult, truncate = [], [], [], []
        for name, (x0, y0, x1, y1), hard, cut in objects:
            if name not in label_of:
                raise DatasetError(f"VOC annotation {xml_path} has an object of class {name!r}, which "
                                   f"class_names does not name ({', '.join(names)}). Fix: add it to "
                                   f"class_names")
            boxes.append(_detection.checked_box(x0, y0, x1 - x0, y1 - y0, width, height,
                                                f"VOC annotation {xml_path}, object {name!r}", fix_box))
            labels.append(label_of[name])
            difficult.append(hard)
            truncate.append(cut)
        entries.append(_detection.entry(path, image_id, boxes, labels, difficult, truncate))
    if split_needed:
        entries = _detection.split(entries, usage, test_fraction, seed, f"VOC folder {root}")
    return entries, names
