"""Private: tell, before an evaluation pipeline is built, that ``frame_digit`` would change none of its images.

:func:`~tinyms.vision.frame_digit` returns an image already in MNIST's framing unchanged, but
as a Python op inside MindSpore's dataset pipeline it costs about 0.1 ms per image just to be
called: evaluating LeNet5 on MNIST's 10,000 test images took 2.5x as long with it
(benchmarks/RESULTS.md, section 1b). When the pipeline reads IDX files (``MnistDataset`` or
``FashionMnistDataset``, possibly shuffled, taken, skipped or repeated), :func:`all_framed`
checks every image of those files at once with numpy; if each is framed, the caller leaves
the step out, which gives the same outputs. Anything else (photos, an image folder, other
sources, IDX files holding unframed images) keeps the step, row by row.
"""

import os

import numpy as np

from ._digit import FIELD, framed

__all__ = ["all_framed", "FAST_PATH"]

FAST_PATH = True  # False: always frame row by row (tests and benchmarks compare the two)
_HEADER = 16
_CHUNK = 8192  # images checked per step: bounded memory for any file size
_checked = {}  # (path, device, inode, size, mtime) -> every image framed; files seen in this process


def all_framed(dataset):
    """True when ``dataset``'s images all come from IDX files whose every image ``frame_digit`` keeps.

    Args:
        dataset (mindspore.dataset.Dataset): the dataset ``apply_ds`` was given.

    Returns:
        bool: True only when that is certain; False when the source is anything else or a file
        cannot be read or is not a 28x28 IDX images file.
    """
    if not FAST_PATH:
        return False
    import mindspore.dataset as ds  # noqa: PLC0415 - the caller builds a MindSpore pipeline anyway
    from mindspore.dataset.engine import datasets as engine  # noqa: PLC0415

    node = dataset
    while isinstance(node, (engine.ShuffleDataset, engine.TakeDataset, engine.SkipDataset, engine.RepeatDataset)) \
            and len(node.children) == 1:
        node = node.children[0]  # these reorder, subset or repeat rows, never change them
    if not isinstance(node, (ds.MnistDataset, ds.FashionMnistDataset)) or node.children:
        return False
    try:
        names = os.listdir(node.dataset_dir)
    except (OSError, TypeError):
        return False
    # every file the reader could take for any usage (it takes names *containing* the pattern)
    files = [os.path.join(node.dataset_dir, name) for name in names if "images-idx3-ubyte" in name]
    return bool(files) and all(_file_framed(path) for path in files)


def _file_framed(path):
    try:
        info = os.stat(path)
    except OSError:
        return False
    key = (os.path.realpath(path), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    if key not in _checked:
        _checked[key] = _every_image_framed(path, info.st_size)
    return _checked[key]


def _every_image_framed(path, size):
    """True when ``path`` is a 28x28 IDX images file each of whose images is framed."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEADER)
    except OSError:
        return False
    if len(head) < _HEADER:
        return False
    magic, count, rows, cols = np.frombuffer(head, ">u4")
    if magic != 2051 or (rows, cols) != (FIELD, FIELD) or size != _HEADER + int(count) * FIELD * FIELD:
        return False
    if count == 0:
        return True
    try:
        images = np.memmap(path, np.uint8, mode="r", offset=_HEADER, shape=(int(count), FIELD, FIELD))
    except (OSError, ValueError):
        return False
    return all(framed(images[start:start + _CHUNK]).all() for start in range(0, int(count), _CHUNK))
