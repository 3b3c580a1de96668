"""Private: the rows every TinyMS detection loader yields, built from checked annotations.

:func:`tinyms.data.CocoDataset` and :func:`tinyms.data.detection_dataset` parse their
annotations into :class:`Entry` objects (one per image), check every box against its image
with :func:`checked_box`, and hand the entries to :func:`build`, which returns a MindSpore
``GeneratorDataset`` with exactly the columns of MindSpore's ``VOCDataset`` (``image``,
``bbox`` float32 (N, 4) ``[xmin, ymin, width, height]`` in pixels, ``label``, ``difficult``,
``truncate`` uint32 (N, 1)); images without objects give N = 0.
"""

import hashlib
import math
import os
from typing import NamedTuple

import numpy as np

from .._distributed import default_shards
from ..errors import DatasetError
from . import _images

COLUMNS = ("image", "bbox", "label", "difficult", "truncate")
#: How far (pixels) a box may reach past the image border before it is an error; less is clipped.
OVERSHOOT = 1.0
TRAIN_USAGES = ("train", "trainval")
HELD_OUT_USAGES = ("val", "test")


class Entry(NamedTuple):
    """One image and its objects, checked."""

    path: str           # absolute image path
    key: str            # its id in the annotations (VOC id, COCO file_name), for splits and messages
    bbox: np.ndarray    # float32 (N, 4) xmin, ymin, width, height
    label: np.ndarray   # uint32 (N, 1)
    difficult: np.ndarray
    truncate: np.ndarray


def entry(path, key, boxes, labels, difficult, truncate):
    """An :class:`Entry` from Python lists (one item per object)."""
    n = len(boxes)
    column = lambda values: np.asarray(values, np.uint32).reshape(n, 1)  # noqa: E731
    return Entry(path, key, np.asarray(boxes, np.float32).reshape(n, 4), column(labels),
                 column(difficult), column(truncate))


def image_size(path, fix):
    """``(width, height)`` of the image file ``path`` from its header."""
    from PIL import Image  # noqa: PLC0415 - Pillow is only needed when a loader runs

    try:
        with Image.open(path) as image:
            return image.size
    except Exception as exc:  # noqa: BLE001 - any failure means the image cannot be used
        raise DatasetError(f"image {path} cannot be read ({type(exc).__name__}: {exc}). Fix: {fix}") from None


def size_mismatch(path, stored, annotated, where, fix):
    """The DatasetError for an image whose size is not the one its annotation was made on."""
    why = ""
    if tuple(stored) == tuple(annotated)[::-1]:
        why = (" (width and height swapped: the photo is probably stored sideways with an EXIF "
               "orientation tag the labelling tool applied, so the boxes would land in the wrong place)")
    return DatasetError(f"{where} says image {path} is {annotated[0]}x{annotated[1]} pixels, but the "
                        f"file is {stored[0]}x{stored[1]}{why}. Fix: {fix}")


def checked_box(x, y, w, h, width, height, where, fix):
    """``[x, y, w, h]`` of a box inside a ``width`` x ``height`` image, overshoot up to a pixel clipped.

    Raises:
        DatasetError: a coordinate is not a finite number, the box is empty (w or h <= 0), or it
            reaches more than :data:`OVERSHOOT` pixels past the border.
    """
    values = (x, y, w, h)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        raise DatasetError(f"{where}: the box {list(values)} must be 4 finite numbers. Fix: {fix}")
    if w <= 0 or h <= 0:
        raise DatasetError(f"{where}: the box [x={x}, y={y}, w={w}, h={h}] is empty (width and height "
                           f"must be > 0). Fix: {fix}")
    x1, y1 = x + w, y + h
    if x < -OVERSHOOT or y < -OVERSHOOT or x1 > width + OVERSHOOT or y1 > height + OVERSHOOT:
        raise DatasetError(f"{where}: the box [x={x}, y={y}, w={w}, h={h}] reaches outside the "
                           f"{width}x{height} image by more than {OVERSHOOT:g} pixel (boxes made on "
                           f"another image size?). Fix: {fix}")
    x, y = max(float(x), 0.0), max(float(y), 0.0)
    x1, y1 = min(float(x1), float(width)), min(float(y1), float(height))
    if x1 <= x or y1 <= y:
        raise DatasetError(f"{where}: the box [x={values[0]}, y={values[1]}, w={w}, h={h}] lies on "
                           f"the image border, outside the picture. Fix: {fix}")
    return [x, y, x1 - x, y1 - y]


def split(entries, usage, test_fraction, seed, where):
    """The part of ``entries`` for ``usage`` in a seeded split (no split given by the dataset).

    Each image goes to the held-out part when it is among the ``round(test_fraction * n)``
    (at least 1) images whose SHA-256 of ``"<seed>:<key>"`` is smallest: the same files give
    the same split on every machine, whatever the listing order, and adding images moves only
    a few earlier ones.
    """
    if usage in (None, "all"):
        return list(entries)
    if usage not in TRAIN_USAGES + HELD_OUT_USAGES:
        raise DatasetError(f"{where} has no list or file for usage {usage!r}. Fix: use 'train' or "
                           f"'test' (a seeded split of its images), or None for all of them")
    if not 0 < test_fraction < 1:
        raise DatasetError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")
    if len(entries) < 2:
        raise DatasetError(f"{where} has {len(entries)} image(s), too few to split into train and "
                           f"test. Fix: add images, or pass usage=None to read all of them")
    ranked = sorted(entries, key=lambda e: hashlib.sha256(f"{seed}:{e.key}".encode()).hexdigest())
    held = {e.key for e in ranked[:max(1, round(test_fraction * len(entries)))]}
    return [e for e in entries if (e.key in held) == (usage in HELD_OUT_USAGES)]


class _Rows:
    """Random-access source of GeneratorDataset: the file bytes of image i and its object arrays."""

    def __init__(self, entries):
        self._entries = list(entries)

    def __len__(self):
        return len(self._entries)

    def most_objects(self):
        """``(count, image path)`` of the image with the most objects (a preset checks it before reading)."""
        return max(((len(e.label), e.path) for e in self._entries), default=(0, ""))

    def __getitem__(self, index):
        item = self._entries[index]
        return (np.fromfile(item.path, np.uint8), item.bbox, item.label, item.difficult,
                item.truncate)


def build(entries, class_names, root, decode=False, shuffle=None, num_samples=None,
          num_parallel_workers=None, sampler=None, num_shards=None, shard_id=None,
          check_images="decode", fix="", **kwargs):
    """Check the images of ``entries`` and return the dataset yielding their rows.

    Returns:
        mindspore.dataset.Dataset: a GeneratorDataset (with a Decode map when ``decode``)
        whose ``class_names`` attribute is ``tuple(class_names)``.
    """
    if not entries:
        raise DatasetError(f"{root} has no images to read. Fix: {fix}")
    _images.check_images(root, [e.path for e in entries], check_images, fix=fix)
    import mindspore.dataset as ds  # noqa: PLC0415 - keep `import tinyms.data` light

    num_shards, shard_id = default_shards(num_shards, shard_id, sampler)  # one shard per msrun worker
    if num_parallel_workers is not None:  # GeneratorDataset takes no None (its default is 1)
        kwargs["num_parallel_workers"] = num_parallel_workers
    try:
        dataset = ds.GeneratorDataset(_Rows(entries), list(COLUMNS), num_samples=num_samples,
                                      shuffle=shuffle, sampler=sampler, num_shards=num_shards,
                                      shard_id=shard_id, **kwargs)
    except (TypeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatasetError(f"detection dataset {root}: {first}. Fix: check the reader arguments "
                           f"(shuffle, num_samples, sampler, num_shards, shard_id...)") from exc
    if decode:
        from mindspore.dataset import vision  # noqa: PLC0415

        dataset = dataset.map(operations=vision.Decode(), input_columns=["image"],
                              num_parallel_workers=num_parallel_workers)
    dataset.class_names = tuple(class_names)
    return dataset


def visible_files(folder, suffixes):
    """Sorted names of the non-hidden files in ``folder`` ending in one of ``suffixes`` (any case)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(n for n in names if not n.startswith(".") and n.lower().endswith(suffixes)
                  and os.path.isfile(os.path.join(folder, n)))
