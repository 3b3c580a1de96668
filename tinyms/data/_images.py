"""Check image files before MindSpore decodes them.

MindSpore 2.10 fails on a corrupt image only when the pipeline runs, with a message from
deep inside its engine, and it writes a copy of the bad file as ``abnormal_image.jpg``
into the current directory; a JPEG holding only its headers even kills the process with
SIGFPE. :func:`check_images` decodes every image with Pillow first (JPEGs in draft mode,
which still reads all the compressed data) and raises a DatasetError naming the first bad
file. Files that passed are remembered by size and modification time under
``$TINYMS_HOME/cache/images``, so a second loader on the same folder only ``stat``s them.

Measured on this project's 2-vCPU machine, per 1,000 JPEGs: header only 0.03-0.04 s;
draft decode 0.15 s (224x224) and 0.45 s (500x375, VOC's size); full decode 0.20 s and
0.67 s.
"""

import concurrent.futures
import hashlib
import os

from .._fileio import write_json_atomic
from .._home import tinyms_home
from .._jsonread import load_file
from ..errors import DatasetError

__all__ = ["check_images", "CHECKS", "IMAGE_EXTENSIONS"]

CHECKS = ("decode", "header", None)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
_FORMATS = {"JPEG", "PNG", "BMP", "MPO"}  # MPO: a JPEG with extra frames (many cameras)


def _problem(path, check):
    """Why the image at ``path`` cannot be decoded, or None."""
    from PIL import Image  # noqa: PLC0415 - Pillow is only needed when checking

    try:
        with Image.open(path) as image:
            if image.format not in _FORMATS:
                return f"it is a {image.format} file; MindSpore decodes JPEG, PNG and BMP"
            if check == "decode":
                if image.format in ("JPEG", "MPO"):
                    image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
                image.load()
    except Exception as exc:  # noqa: BLE001 - any failure means MindSpore cannot decode it either
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return None


def _cache_path(folder):
    key = hashlib.sha256(os.path.realpath(folder).encode()).hexdigest()[:20]
    return os.path.join(tinyms_home(), "cache", "images", f"{key}.json")


def _load_cache(path):
    try:
        data = load_file(path)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def check_images(folder, paths, check="decode", fix=""):
    """Raise DatasetError naming the first of ``paths`` (under ``folder``) that cannot be decoded.

    Args:
        folder: the dataset folder (keys the cache of files already checked).
        paths: absolute image paths.
        check: ``"decode"`` (decode every image), ``"header"`` (read only the headers:
            cheaper, misses truncated data) or None (no check).
        fix: the advice ending the error.

    Raises:
        DatasetError: an image is unreadable; the message names it and why.
    """
    if check is None:
        return
    if check not in CHECKS:
        raise DatasetError(f"check_images must be 'decode', 'header' or None, got {check!r}")
    cache_file = _cache_path(folder)
    cache = _load_cache(cache_file)
    known = cache.get(check, {})
    todo, stats = [], {}
    for path in paths:
        try:
            st = os.stat(path)
        except OSError as exc:
            raise DatasetError(f"image {path} cannot be read ({exc.strerror or exc}). Fix: {fix}") from None
        stats[path] = [st.st_size, st.st_mtime_ns]
        if known.get(path) != stats[path]:
            todo.append(path)
    if not todo:
        return
    workers = min(4, os.cpu_count() or 1)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:  # Pillow decodes without the GIL
        problems = list(pool.map(lambda p: _problem(p, check), todo))
    good = {p: stats[p] for p, why in zip(todo, problems) if why is None}
    known.update(good)
    cache[check] = known
    if good:
        try:
            write_json_atomic(cache_file, cache, indent=None)
        except OSError:
            pass  # the cache only saves time
    for path, why in zip(todo, problems):
        if why is not None:
            raise DatasetError(f"image {path} is corrupt or not an image MindSpore can decode "
                               f"({why}). Fix: {fix}")
