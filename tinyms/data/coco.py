"""COCO-format detection annotations (what CVAT, Label Studio, Roboflow and COCO itself export)."""

import json
import math
import os
import re

from .._jsonread import loads
from ..errors import DatasetError, JSONInputError
from . import _detection
from ._folders import existing_folder

__all__ = ["CocoDataset"]

#: The largest annotation file read (bytes); COCO 2017's train instances are 448 MB.
MAX_JSON_BYTES = 1 << 30
_FIX_EXPORT = "correct the entry or export the annotations again from your labelling tool"
_SPLIT_WORDS = ("train", "trainval", "val", "valid", "validation", "test")
_SUFFIX = ".json"


def CocoDataset(dataset_dir_or_json, image_dir=None, usage=None, decode=False,  # noqa: N802
                shuffle=None, num_samples=None, num_parallel_workers=None, check_images="decode",
                class_names=None, sampler=None, num_shards=None, shard_id=None,
                max_json_bytes=MAX_JSON_BYTES, **kwargs):
    """Check a COCO-format annotation file and return a dataset of its images and boxes.

    Reads the JSON that CVAT ("COCO 1.0"), Label Studio, Roboflow and the official COCO
    release write: ``images`` (``id``, ``file_name``, ``width``, ``height``),
    ``annotations`` (``image_id``, ``category_id``, ``bbox`` as ``[x, y, width, height]`` in
    pixels, ``iscrowd``) and ``categories`` (``id``, ``name``, any ids). The rows have exactly
    the columns of :func:`VOCDataset`, so the detection presets take either.

    Everything is checked before a row is read, and each problem is a DatasetError naming the
    file, the entry and the fix: a missing or corrupt image, an image whose size differs from
    the one recorded, a box that is empty (width or height <= 0) or reaches more than 1 pixel
    past the image border (a smaller overshoot, common in exports, is clipped), an annotation
    pointing at an unknown image or category, duplicate ids or file names, a ``file_name``
    leaving the image folder (absolute or with ``..``), a file larger than ``max_json_bytes``.
    Images without annotations are kept, with zero boxes.

    Args:
        dataset_dir_or_json: the ``.json`` file, or a folder holding it (directly or in
            ``annotations/``); ``usage`` picks one when there are several.
        image_dir: the folder ``file_name`` is relative to. Default: the first of these that
            holds the images: the JSON's folder, its ``images/`` and, for a JSON inside an
            ``annotations/`` folder, the folder above, its ``images/``, ``images/<subset>/`` and
            ``<subset>/`` (``instances_train2017.json`` -> subset ``train2017``).
        usage: in a folder with several JSON files, the split to read: the file whose name
            holds this word (``"train"`` picks ``instances_train2017.json`` or
            ``train.json``). Leave None for a folder with one JSON, or when passing the file.
        decode: decode the images (HWC uint8 RGB) instead of giving the file bytes.
        check_images: ``"decode"`` (default), ``"header"`` or None (see
            :func:`ImageFolderDataset`).
        class_names: the class names in label order, e.g. a trained model's labels; every
            category used must be one of them. Default: the category names, ordered by
            category id.
        num_samples, num_parallel_workers, shuffle, sampler, num_shards, shard_id: as for
            MindSpore's ``GeneratorDataset``; other keyword arguments are passed on to it.
        max_json_bytes: the largest annotation file read (default 1 GiB).

    Returns:
        mindspore.dataset.Dataset: one row per image, in the file's order: ``image`` (file
        bytes, or HWC uint8 RGB with ``decode``), ``bbox`` (float32 (N, 4),
        ``[xmin, ymin, width, height]`` in pixels), ``label`` (uint32 (N, 1), the category's
        index in ``class_names``), ``difficult`` (uint32 (N, 1), COCO's ``iscrowd``) and
        ``truncate`` (uint32 (N, 1), zeros). Its ``class_names`` attribute is the tuple of
        class names in label order.

    Raises:
        DatasetError: a file or entry is missing, malformed or inconsistent; the message names
            it and the fix.

    Example:
        >>> import json, os
        >>> from PIL import Image
        >>> from tinyms.data import CocoDataset
        >>> os.makedirs("coco_export/images")
        >>> Image.new("RGB", (64, 48), "white").save("coco_export/images/street.jpg")
        >>> coco = {"images": [{"id": 7, "file_name": "street.jpg", "width": 64, "height": 48}],
        ...         "categories": [{"id": 3, "name": "car"}, {"id": 1, "name": "person"}],
        ...         "annotations": [{"id": 1, "image_id": 7, "category_id": 3, "bbox": [10, 20, 30, 15]},
        ...                         {"id": 2, "image_id": 7, "category_id": 1, "bbox": [50, 5, 10, 40]}]}
        >>> with open("coco_export/result.json", "w") as f:
        ...     json.dump(coco, f)
        >>> ds = CocoDataset("coco_export", shuffle=False)
        >>> ds.class_names
        ('person', 'car')
        >>> row = next(ds.create_dict_iterator(output_numpy=True))
        >>> row["bbox"].tolist(), row["label"].ravel().tolist()
        ([[10.0, 20.0, 30.0, 15.0], [50.0, 5.0, 10.0, 40.0]], [1, 0])
    """
    json_path = find_json(dataset_dir_or_json, usage)
    entries, names, root = read_coco(json_path, image_dir, class_names, check_images, max_json_bytes)
    return _detection.build(entries, names, root, decode=decode, shuffle=shuffle,
                            num_samples=num_samples, num_parallel_workers=num_parallel_workers,
                            sampler=sampler, num_shards=num_shards, shard_id=shard_id,
                            check_images=check_images,
                            fix=f"replace the image or delete its entry from {json_path}", **kwargs)


# --------------------------------------------------------------------------- finding the file
def json_candidates(folder):
    """The ``.json`` files directly in ``folder`` and in its ``annotations/`` (sorted paths)."""
    found = []
    for sub in (folder, os.path.join(folder, "annotations")):
        found += [os.path.join(sub, n) for n in _detection.visible_files(sub, (_SUFFIX,))]
    return found


def _words(path):
    return [w for w in re.split(r"[^a-z0-9]+", os.path.splitext(os.path.basename(path))[0].lower()) if w]


def names_split(path, usage):
    """True when the file name of ``path`` holds the word ``usage`` (``train`` in ``instances_train2017``)."""
    return any(w == usage or (w.startswith(usage) and w[len(usage):].isdigit()) for w in _words(path))


def names_any_split(path):
    return any(names_split(path, word) for word in _SPLIT_WORDS)


def find_json(dataset_dir_or_json, usage=None):
    """The annotation file: ``dataset_dir_or_json`` itself, or the one in that folder for ``usage``."""
    fix = ("pass the COCO .json file, or a folder holding it directly or in annotations/ "
           "(e.g. CVAT's annotations/instances_default.json, Label Studio's result.json)")
    if not isinstance(dataset_dir_or_json, (str, os.PathLike)):
        raise DatasetError(f"CocoDataset needs a .json file or a folder, got {dataset_dir_or_json!r}. Fix: {fix}")
    path = os.path.abspath(os.path.expanduser(os.fspath(dataset_dir_or_json)))
    if os.path.isfile(path):
        if usage is not None:
            raise DatasetError(f"usage={usage!r} picks a .json file inside a folder, but {path} is "
                               f"the file itself. Fix: drop usage, or pass the folder")
        return path
    folder = existing_folder(path, "COCO", fix)
    found = json_candidates(folder)
    if not found:
        raise DatasetError(f"COCO folder {folder} holds no .json file (looked in it and in its "
                           f"annotations/ folder). Fix: {fix}")
    if usage is None:
        if len(found) == 1:
            return found[0]
        raise DatasetError(f"COCO folder {folder} holds {len(found)} .json files "
                           f"({', '.join(os.path.relpath(p, folder) for p in found)}). Fix: pass "
                           f"usage='train' (or another word of the file name) or the file itself")
    matching = [p for p in found if names_split(p, usage)]
    if len(matching) > 1:  # COCO's own folder: instances_, captions_, person_keypoints_...
        matching = [p for p in matching if os.path.basename(p).startswith("instances")] or matching
    if len(matching) == 1:
        return matching[0]
    shown = ", ".join(os.path.relpath(p, folder) for p in (matching or found))
    raise DatasetError(f"COCO folder {folder}: {'several' if matching else 'no'} .json file(s) "
                       f"named for usage {usage!r} ({shown}). Fix: pass the file itself")


# --------------------------------------------------------------------------- reading it
def load_json(json_path, max_json_bytes=MAX_JSON_BYTES):
    """The parsed COCO dict of ``json_path``, its three lists checked to be lists of objects."""
    fix = _FIX_EXPORT
    try:
        size = os.path.getsize(json_path)
        if size > max_json_bytes:
            raise DatasetError(f"COCO file {json_path} is {size / 1e6:,.1f} MB, more than the "
                               f"{max_json_bytes / 1e6:,.1f} MB read (max_json_bytes). Fix: split it "
                               f"into smaller files, or pass a larger max_json_bytes")
        with open(json_path, "rb") as f:
            text = f.read(max_json_bytes + 1).decode("utf-8-sig")
    except OSError as exc:
        raise DatasetError(f"COCO file {json_path} cannot be read ({exc.strerror or exc}). Fix: {fix}") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"COCO file {json_path} is not UTF-8 text ({exc.reason} at byte "
                           f"{exc.start}). Fix: {fix}") from None
    try:
        data = loads(text, f"COCO file {json_path}", max_depth=None)  # size bounded above; readers never recurse
    except json.JSONDecodeError as exc:
        raise DatasetError(f"COCO file {json_path} is not valid JSON ({exc.msg} at line {exc.lineno}, "
                           f"column {exc.colno}). Fix: {fix}") from None
    except JSONInputError:
        raise DatasetError(f"COCO file {json_path} nests too deeply to be COCO annotations. Fix: {fix}") from None
    if not isinstance(data, dict):
        raise DatasetError(f"COCO file {json_path} holds a {type(data).__name__}, not an object with "
                           f"'images', 'annotations' and 'categories' (a Label Studio JSON or JSON-MIN "
                           f"export?). Fix: export in COCO format")
    for key in ("images", "annotations", "categories"):
        if key not in data:
            raise DatasetError(f"COCO file {json_path} has no {key!r} list. Fix: export in COCO format "
                               f"(it has 'images', 'annotations' and 'categories')")
        if not isinstance(data[key], list) or not all(isinstance(x, dict) for x in data[key]):
            raise DatasetError(f"COCO file {json_path}: {key!r} must be a list of objects. Fix: {fix}")
    return data


def _integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _ids(items, key, json_path, what):
    """{id: index} of ``items``, every id an integer and unique."""
    seen = {}
    for i, item in enumerate(items):
        value = item.get("id")
        if not _integer(value):
            raise DatasetError(f"COCO file {json_path}: {key}[{i}] has id {value!r}; ids must be "
                               f"integers. Fix: {_FIX_EXPORT}")
        if value in seen:
            raise DatasetError(f"COCO file {json_path}: {key}[{seen[value]}] and {key}[{i}] share "
                               f"{what} id {value}. Fix: give each {what} its own id")
        seen[value] = i
    return seen


def _relative_file(name, json_path, index):
    """``file_name`` as "/"-separated parts, refused when it could leave the image folder."""
    where = f"COCO file {json_path}: images[{index}]"
    if not isinstance(name, str) or not name.strip():
        raise DatasetError(f"{where} has file_name {name!r}. Fix: give each image its file name")
    norm = name.replace("\\", "/")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm) or ".." in parts or not parts:
        raise DatasetError(f"{where} has file_name {name!r}, which leaves the image folder (absolute "
                           f"or with '..'). Fix: make it relative to the image folder, e.g. "
                           f"'{parts[-1] if parts else 'photo.jpg'}', and pass image_dir=")
    return parts


def _image_root(json_path, first_files):
    """The default image folder: the first candidate holding most of ``first_files``."""
    here = os.path.dirname(json_path)
    candidates = [here, os.path.join(here, "images")]
    if os.path.basename(here).lower() == "annotations":
        above = os.path.dirname(here)
        stem = os.path.splitext(os.path.basename(json_path))[0]
        subset = stem.split("_", 1)[1] if stem.startswith(("instances_", "person_keypoints_")) else stem
        candidates += [above, os.path.join(above, "images"), os.path.join(above, "images", subset),
                       os.path.join(above, subset)]
    best, best_count = None, 0
    for folder in candidates:
        count = sum(os.path.isfile(os.path.join(folder, *parts)) for parts in first_files)
        if count > best_count:
            best, best_count = folder, count
    return best, candidates


def read_coco(json_path, image_dir=None, class_names=None, check_images="decode",
              max_json_bytes=MAX_JSON_BYTES):
    """Parse and check ``json_path``; return (entries, class names, image folder)."""
    data = load_json(json_path, max_json_bytes)
    images, annotations, categories = data["images"], data["annotations"], data["categories"]
    if not images:
        raise DatasetError(f"COCO file {json_path} lists no images. Fix: export the annotations "
                           f"together with their images")
    image_index = _ids(images, "images", json_path, "image")
    category_index = _ids(categories, "categories", json_path, "category")

    # classes: category names in id order (or the caller's order)
    by_name = {}
    for i, category in enumerate(categories):
        name = category.get("name")
        if not isinstance(name, str) or not name.strip():
            raise DatasetError(f"COCO file {json_path}: categories[{i}] has name {name!r}. Fix: "
                               f"give every category a name")
        if name in by_name:
            raise DatasetError(f"COCO file {json_path}: categories[{by_name[name]}] and "
                               f"categories[{i}] are both named {name!r}. Fix: merge them (relabel "
                               f"the annotations of one) or rename one")
        by_name[name] = i
    ordered = sorted(categories, key=lambda c: c["id"])
    if class_names is None:
        names = tuple(c["name"] for c in ordered)
    else:
        names = tuple(str(n) for n in class_names)
        if len(set(names)) != len(names):
            raise DatasetError(f"class_names lists a name twice: {names}")
    label_of = {c["id"]: names.index(c["name"]) for c in ordered if c["name"] in names}

    # image files
    files = [_relative_file(image.get("file_name"), json_path, i) for i, image in enumerate(images)]
    seen_files = {}
    for i, parts in enumerate(files):
        key = "/".join(parts)
        if key in seen_files:
            raise DatasetError(f"COCO file {json_path}: images[{seen_files[key]}] and images[{i}] "
                               f"are both {key!r}. Fix: list each image once")
        seen_files[key] = i
    if image_dir is not None:
        root = existing_folder(image_dir, "COCO image", "pass the folder the file_name entries "
                               "are relative to")
        tried = [root]
    else:
        root, tried = _image_root(json_path, files[:20])
        if root is None:
            raise DatasetError(f"COCO file {json_path}: image {'/'.join(files[0])!r} is in none of "
                               f"the folders looked in ({', '.join(tried)}). Fix: pass image_dir=, "
                               f"the folder its file_name entries are relative to (export the "
                               f"images with the annotations if you have not)")
    fix_image = f"put the image there, or delete its entry from {json_path}"
    sizes = []
    for i, (image, parts) in enumerate(zip(images, files)):
        path = os.path.join(root, *parts)
        if not os.path.isfile(path):
            raise DatasetError(f"COCO file {json_path}: images[{i}] (id {image['id']}) is {path}, "
                               f"which does not exist. Fix: {fix_image}, or pass image_dir= if the "
                               f"images are elsewhere")
        annotated = (image.get("width"), image.get("height"))
        where = f"COCO file {json_path}: images[{i}] (id {image['id']})"
        if annotated != (None, None) and not (all(_integer(v) and v > 0 for v in annotated)):
            raise DatasetError(f"{where} has width/height {annotated}; they must be positive "
                               f"integers. Fix: {_FIX_EXPORT}")
        if check_images is None and annotated != (None, None):
            sizes.append(annotated)
            continue
        stored = _detection.image_size(path, f"replace the image, or delete its entry from {json_path}")
        if annotated != (None, None) and tuple(stored) != annotated:
            raise _detection.size_mismatch(path, stored, annotated, where,
                                           "annotate the image as it is stored (or re-save it "
                                           "upright and annotate again)")
        sizes.append(stored)

    # objects
    objects = [[] for _ in images]
    seen_annotations = {}
    for i, ann in enumerate(annotations):
        ann_id = ann.get("id")
        where = f"COCO file {json_path}: annotations[{i}]" + (f" (id {ann_id})" if ann_id is not None else "")
        if ann_id is not None:
            if not _integer(ann_id):
                raise DatasetError(f"{where}: ids must be integers. Fix: {_FIX_EXPORT}")
            if ann_id in seen_annotations:
                raise DatasetError(f"COCO file {json_path}: annotations[{seen_annotations[ann_id]}] and "
                                   f"annotations[{i}] share annotation id {ann_id}. Fix: give each "
                                   f"annotation its own id")
            seen_annotations[ann_id] = i
        image_id, category_id = ann.get("image_id"), ann.get("category_id")
        if not _integer(image_id) or image_id not in image_index:
            raise DatasetError(f"{where} points at image_id {image_id!r}, which no entry of 'images' "
                               f"has. Fix: {_FIX_EXPORT}")
        if not _integer(category_id) or category_id not in category_index:
            raise DatasetError(f"{where} points at category_id {category_id!r}, which no entry of "
                               f"'categories' has. Fix: {_FIX_EXPORT}")
        if category_id not in label_of:
            name = categories[category_index[category_id]]["name"]
            raise DatasetError(f"{where} is a {name!r}, which class_names does not name "
                               f"({', '.join(names)}). Fix: add {name!r} to class_names")
        bbox = ann.get("bbox")
        if not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not all(_number(v) for v in bbox):
            raise DatasetError(f"{where} has bbox {bbox!r}; it must be [x, y, width, height], 4 "
                               f"finite numbers in pixels. Fix: {_FIX_EXPORT}")
        crowd = ann.get("iscrowd", 0)
        if crowd not in (0, 1) or isinstance(crowd, float):
            raise DatasetError(f"{where} has iscrowd {crowd!r}; it must be 0 or 1. Fix: {_FIX_EXPORT}")
        n = image_index[image_id]
        width, height = sizes[n]
        box = _detection.checked_box(*bbox, width, height, where + f" on {'/'.join(files[n])}",
                                     _FIX_EXPORT)
        objects[n].append((box, label_of[category_id], int(crowd)))

    entries = [_detection.entry(os.path.join(root, *parts), "/".join(parts), [o[0] for o in objs],
                                [o[1] for o in objs], [o[2] for o in objs], [0] * len(objs))
               for parts, objs in zip(files, objects)]
    return entries, names, root


def looks_like_coco(path, max_json_bytes=MAX_JSON_BYTES):
    """True when the file at ``path`` holds the keys "images", "annotations" and "categories".

    Reads the file in 1 MB blocks and stops as soon as all three were seen (COCO 2017's
    instances file puts ``categories`` last: that one is read whole).
    """
    wanted = {b'"images"', b'"annotations"', b'"categories"'}
    try:
        if os.path.getsize(path) > max_json_bytes:
            return False
        with open(path, "rb") as f:
            head = f.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
            if not head.startswith(b"{"):
                return False
            tail = head
            while wanted:
                wanted = {w for w in wanted if w not in tail}
                block = f.read(1 << 20)
                if not block:
                    break
                tail = tail[-16:] + block
    except OSError:
        return False
    return not wanted

