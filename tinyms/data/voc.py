"""PASCAL VOC loader: MindSpore's ``VOCDataset`` with the folder, annotations and images checked first."""

import os
import xml.etree.ElementTree as ET

from ..errors import DatasetError
from . import _images
from ._folders import check_usage, download_fix, existing_folder, reader_workers, split_folder
from ._registry import dataset_spec

__all__ = ["VOCDataset"]

_TASKS = {"Detection": ("Annotations", "JPEGImages", "Main"),
          "Segmentation": ("SegmentationClass", "JPEGImages", "Segmentation")}


def _voc_root(root, usage, task):
    """The VOC folder (holding ImageSets/) for ``usage``: ``root`` itself or a split folder under it."""
    if os.path.isdir(os.path.join(root, "ImageSets")):
        return root
    nested = os.path.join(root, "VOCdevkit", "VOC2007")
    if os.path.isdir(os.path.join(nested, "ImageSets")):
        return nested
    return split_folder(root, "voc2007", usage) or root


def VOCDataset(dataset_dir, task="Detection", usage="train", class_indexing=None,  # noqa: N802
               num_samples=None, num_parallel_workers=None, shuffle=None, decode=False,
               sampler=None, num_shards=None, shard_id=None, check_images="decode", **kwargs):
    """Check a PASCAL VOC folder and return a ``mindspore.dataset.VOCDataset`` reading it.

    ``dataset_dir`` may be the folder returned by ``download_dataset('voc2007')`` (the split
    folder is then picked from ``usage``: ``trainval/`` for train, val and trainval,
    ``test/`` for test), one of those split folders, or any folder in VOC's layout
    (``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/<usage>.txt``), also as
    ``VOCdevkit/VOC2007`` below it.

    Before MindSpore's reader is built: the folders and the id list exist; every listed id
    has ``Annotations/<id>.xml`` and ``JPEGImages/<id>.jpg``; every XML parses and names only
    known classes (MindSpore would silently drop objects of other classes) and has at least one
    object whose box MindSpore accepts (``0 < xmin < xmax``, ``0 < ymin < ymax``); every image
    decodes (see :func:`ImageFolderDataset` for what that check costs and why). For your own
    folder (without ``ImageSets`` lists, with images without objects, or PNG images), use
    :func:`detection_dataset`, which yields the same rows.

    Args:
        dataset_dir: see above.
        task: ``"Detection"`` (boxes; needs ``Annotations/``) or ``"Segmentation"`` (masks;
            needs ``SegmentationClass/``).
        usage: the id list to read, ``ImageSets/Main/<usage>.txt`` (``"train"``, ``"val"``,
            ``"trainval"``, ``"test"``...).
        class_indexing: ``{class name: label}``. Default: the 20 VOC classes in their
            official order (``dataset_info('voc2007').labels``) when every object is one of
            them, otherwise the sorted names found in the annotations.
        decode: decode the images (HWC uint8 RGB) instead of giving the file bytes.
        check_images: ``"decode"`` (default), ``"header"`` or None (see
            :func:`ImageFolderDataset`).
        num_parallel_workers: reader threads; more than the machine's CPUs means all of them.
        num_samples, shuffle, sampler, num_shards, shard_id: as for
            MindSpore's reader; other keyword arguments are passed on to it.

    Returns:
        mindspore.dataset.VOCDataset: for Detection, columns ``image``, ``bbox`` (float32,
        ``[xmin, ymin, width, height]`` per object), ``label``, ``difficult``, ``truncate``
        (uint32, one row per object). Its ``class_names`` attribute lists the class names
        in label order.

    Raises:
        DatasetError: a folder, id list, annotation or image is missing or broken, or an
            object's class is not in ``class_indexing``; the message names the file and the fix.

    Example:
        >>> from tinyms.data import download_dataset, VOCDataset
        >>> path = download_dataset("voc2007")  # doctest: +SKIP
        >>> VOCDataset(path, usage="test", decode=True).get_dataset_size()  # doctest: +SKIP
        4952
    """
    fix = download_fix("voc2007") + " (or point dataset_dir at your own folder in VOC's layout)"
    check_usage(task, tuple(_TASKS), "VOC task")
    if not isinstance(usage, str) or not usage or "/" in usage or usage.startswith("."):
        raise DatasetError(f"VOC usage must name an id list such as 'train' or 'test', got {usage!r}")
    root = _voc_root(existing_folder(dataset_dir, "VOC", fix), usage, task)
    targets, images, listing = _TASKS[task]
    id_file = os.path.join(root, "ImageSets", listing, f"{usage}.txt")
    for needed in (os.path.join(root, targets), os.path.join(root, images), id_file):
        if not os.path.exists(needed):
            own = (" (tinyms.data.detection_dataset reads a VOC folder without ImageSets lists)"
                   if needed == id_file else "")
            raise DatasetError(f"VOC {'file' if needed == id_file else 'folder'} {needed} is "
                               f"missing. Fix: {fix}{own}")
    with open(id_file, encoding="utf-8", errors="replace") as f:
        ids = [line.split()[0] for line in f if line.strip()]
    if not ids:
        raise DatasetError(f"VOC id list {id_file} is empty. Fix: {fix}")
    suffix = ".xml" if task == "Detection" else ".png"
    jpegs = []
    for image_id in ids:
        for folder, ext in ((targets, suffix), (images, ".jpg")):
            path = os.path.join(root, folder, image_id + ext)
            if not os.path.isfile(path):
                raise DatasetError(f"{id_file} lists {image_id!r}, but {path} is missing. Fix: {fix}")
        jpegs.append(os.path.join(root, images, image_id + ".jpg"))
    if task == "Detection":
        found = _object_names(os.path.join(root, targets), ids, fix, id_file)
        class_indexing = _class_indexing(class_indexing, found, fix)
    _images.check_images(root, jpegs, check_images,
                         fix=f"replace or delete the image and its id in {id_file}; {fix}")
    import mindspore.dataset as ds  # noqa: PLC0415 - keep `import tinyms.data` light

    dataset = ds.VOCDataset(root, task=task, usage=usage, class_indexing=class_indexing,
                            num_samples=num_samples, num_parallel_workers=reader_workers(num_parallel_workers),
                            shuffle=shuffle, decode=decode, sampler=sampler,
                            num_shards=num_shards, shard_id=shard_id, **kwargs)
    if class_indexing is not None:
        dataset.class_names = tuple(sorted(class_indexing, key=lambda n: (class_indexing[n], n)))
    return dataset


def _object_names(folder, ids, fix, id_file):
    """{class name: first annotation naming it} over the annotations of ``ids``.

    Also refuses what MindSpore's reader fails on only while iterating: an annotation without
    objects, and a box with a coordinate <= 0 or no width or height.
    """
    found = {}
    other_reader = ("or read the folder with tinyms.data.detection_dataset, which keeps images "
                    "without objects and boxes touching the border")
    for image_id in ids:
        path = os.path.join(folder, image_id + ".xml")
        try:
            tree = ET.parse(path)
        except (ET.ParseError, OSError) as exc:
            raise DatasetError(f"VOC annotation {path} cannot be read ({exc}). Fix: {fix}") from None
        objects = list(tree.getroot().iter("object"))
        if not objects:
            raise DatasetError(f"VOC annotation {path} has no <object>, which MindSpore's VOCDataset "
                               f"cannot read. Fix: remove {image_id!r} from {id_file}, {other_reader}")
        for obj in objects:
            name = (obj.findtext("name") or "").strip()
            box = obj.find("bndbox")
            try:
                x0, y0, x1, y1 = [float(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")]
            except (AttributeError, TypeError, ValueError):
                raise DatasetError(f"VOC annotation {path}: object {name or '?'!r} has no valid "
                                   f"<bndbox> (xmin, ymin, xmax, ymax). Fix: {fix}") from None
            if not name:
                raise DatasetError(f"VOC annotation {path}: an object has no <name>. Fix: {fix}")
            if not (x0 > 0 and y0 > 0 and x1 > x0 and y1 > y0):
                raise DatasetError(f"VOC annotation {path}: object {name!r} has the box xmin={x0:g}, "
                                   f"ymin={y0:g}, xmax={x1:g}, ymax={y1:g}; MindSpore's VOCDataset needs "
                                   f"0 < xmin < xmax and 0 < ymin < ymax (VOC counts pixels from 1). "
                                   f"Fix: correct the box, {other_reader}")
            found.setdefault(name, path)
    return found


def _class_indexing(class_indexing, found, fix):
    if class_indexing is None:
        official = dataset_spec("voc2007").labels
        names = official if set(found) <= set(official) else sorted(found)
        return {name: i for i, name in enumerate(names)}
    unknown = sorted(set(found) - set(class_indexing))
    if unknown:
        raise DatasetError(f"VOC annotation {found[unknown[0]]} has an object of class "
                           f"{unknown[0]!r}, which class_indexing does not name (MindSpore would "
                           f"silently drop it). Fix: add it to class_indexing")
    return dict(class_indexing)
