"""MNIST and Fashion-MNIST loaders: MindSpore's readers with the files checked before they are built.

MindSpore only reports a missing, compressed or damaged MNIST file when the pipeline first
runs, with a message from deep inside the reader. :func:`MnistDataset` inspects the IDX
headers first, so a wrong folder or a broken file fails at once and says what to do.
"""

import dataclasses
import hashlib
import json
import os
import shutil
import struct
import tempfile

from ..errors import DatasetError
from . import _files
from .._fileio import TMP_PREFIX, sweep_stale_temps
from .._home import HOME_ENV, tinyms_home
from .._distributed import default_shards

__all__ = ["MnistDataset", "FashionMnistDataset"]

_IMAGES_MAGIC = 2051
_LABELS_MAGIC = 2049
_ROWS = _COLS = 28                          # MindSpore's reader accepts nothing else
_PREFIX = {"train": "train", "test": "t10k"}  # split -> official file name prefix


@dataclasses.dataclass(frozen=True)
class _Kind:
    title: str   # how the dataset is named in errors
    fix: str     # how to get good files


_MNIST = _Kind("MNIST", "get the files with tinyms.data.download_dataset('mnist') (or the small "
                        "offline sample tinyms.data.sample_dataset('mnist')) and pass the returned folder")
_FASHION = _Kind("Fashion-MNIST", "get the files with tinyms.data.download_dataset('fashion_mnist') "
                                  "and pass the returned folder")


def MnistDataset(dataset_dir, usage=None, num_samples=None, shuffle=None, num_parallel_workers=None,
                 num_shards=None, shard_id=None):  # noqa: N802 - named like the class it returns
    """Check an MNIST folder and return a ``mindspore.dataset.MnistDataset`` reading it.

    ``dataset_dir`` may be either

    - a folder holding the IDX files themselves (``train-images-idx3-ubyte``,
      ``train-labels-idx1-ubyte`` and/or ``t10k-images-idx3-ubyte``,
      ``t10k-labels-idx1-ubyte``), or
    - a dataset folder with ``train/`` and ``test/`` subfolders holding them, as returned
      by :func:`download_dataset` and :func:`sample_dataset`. Files directly in
      ``dataset_dir`` take precedence over the subfolders.

    ``usage`` picks the split: ``'train'`` (files starting with ``train``), ``'test'``
    (``t10k``), or ``'all'``/``None`` (every split found; the test images come first,
    then the training images, as in MindSpore). Files may also be gzip-compressed
    (``*.gz``, as distributed): they are decompressed once into
    ``$TINYMS_HOME/cache/mnist/<SHA-256 of the .gz file>/``, keyed by content (a copy of the
    files elsewhere reuses it; a file whose content changed is decompressed again), each
    file written under a temporary name and renamed when complete. Nothing is ever written
    into ``dataset_dir``, which may be read-only. (When the folder holds other files
    MindSpore's reader would pick up too, it reads a folder of links to the right files,
    also under ``$TINYMS_HOME/cache/mnist``.)

    Before building the dataset, every file's magic number (2051 for images, 2049 for
    labels), image size (28x28), declared count versus file size, and image count
    versus label count are checked.

    Args:
        dataset_dir: folder, see above.
        usage: ``'train'``, ``'test'``, ``'all'`` or ``None`` (same as ``'all'``).
        num_samples: read at most this many images (default: all).
        shuffle: shuffle the rows (MindSpore's default: True).
        num_parallel_workers: reader threads (at most the CPU count).
        num_shards: split the data into this many shards (distributed training). Default:
            under ``msrun`` (``tinyms train --nproc N``), one shard per worker for any
            ``usage`` but ``'test'``; otherwise no sharding. Pass ``num_shards=1`` to read
            every row in every worker.
        shard_id: which shard this process reads, in ``[0, num_shards)``. Default: under
            msrun, the worker's rank (see ``num_shards``).

    Returns:
        mindspore.dataset.MnistDataset: columns ``image`` (uint8, 28x28x1) and ``label``
        (uint32); ``.map``, ``.batch`` and the iterators work as usual.

    Raises:
        DatasetError: the folder is missing, a file is missing or damaged, counts disagree,
            or ``usage`` is not one of the values above. The message names the file.

    Example:
        >>> import os
        >>> from tinyms.data import sample_dataset, MnistDataset
        >>> path = sample_dataset("mnist")
        >>> MnistDataset(os.path.join(path, "train")).get_dataset_size()
        6000
        >>> MnistDataset(os.path.join(path, "test"), shuffle=False).get_dataset_size()
        1000
    """
    return _load(dataset_dir, usage, _MNIST, num_samples=num_samples, shuffle=shuffle,
                 num_parallel_workers=num_parallel_workers, num_shards=num_shards,
                 shard_id=shard_id)


def FashionMnistDataset(dataset_dir, usage=None, num_samples=None, shuffle=None,  # noqa: N802
                        num_parallel_workers=None, num_shards=None, shard_id=None):
    """Check a Fashion-MNIST folder and return a ``mindspore.dataset.FashionMnistDataset`` reading it.

    Fashion-MNIST uses MNIST's file names and IDX format (28x28 grey images, 10 classes:
    ``dataset_info("fashion_mnist").labels``), so everything :func:`MnistDataset` says about
    ``dataset_dir``, ``usage``, ``.gz`` files and the checks made before building holds
    here too; errors name Fashion-MNIST and ``download_dataset('fashion_mnist')``.

    Args:
        dataset_dir: the folder returned by ``download_dataset('fashion_mnist')``, or its
            ``train/`` or ``test/`` subfolder.
        usage: ``'train'``, ``'test'``, ``'all'`` or ``None`` (same as ``'all'``).
        num_samples, shuffle, num_parallel_workers, num_shards, shard_id: as for
            :func:`MnistDataset`.

    Returns:
        mindspore.dataset.FashionMnistDataset: columns ``image`` (uint8, 28x28x1) and
        ``label`` (uint32).

    Raises:
        DatasetError: the folder is missing, a file is missing or damaged, counts disagree,
            or ``usage`` is not one of the values above. The message names the file.

    Example:
        >>> from tinyms.data import download_dataset, FashionMnistDataset
        >>> path = download_dataset("fashion_mnist")  # doctest: +SKIP
        >>> FashionMnistDataset(path, usage="test").get_dataset_size()  # doctest: +SKIP
        10000
    """
    return _load(dataset_dir, usage, _FASHION, num_samples=num_samples, shuffle=shuffle,
                 num_parallel_workers=num_parallel_workers, num_shards=num_shards,
                 shard_id=shard_id)


def _load(dataset_dir, usage, kind, **options):
    folder, ms_usage = _prepare(dataset_dir, usage, kind)
    if str(usage).lower() != "test":  # training data: one shard per msrun worker unless chosen
        options["num_shards"], options["shard_id"] = default_shards(options["num_shards"], options["shard_id"])
    import mindspore.dataset as ds  # noqa: PLC0415 - keep `import tinyms.data` light

    reader = ds.FashionMnistDataset if kind is _FASHION else ds.MnistDataset
    return reader(folder, usage=ms_usage, **options)


def _prepare(dataset_dir, usage, kind):
    """Validate the files; return (folder MindSpore should read, MindSpore usage)."""
    if usage is None:
        usage = "all"
    if usage not in ("train", "test", "all"):
        raise DatasetError(f"usage must be 'train', 'test', 'all' or None, got {usage!r}")
    root = os.path.abspath(os.path.expanduser(os.fspath(dataset_dir)))
    if not os.path.isdir(root):
        what = "is a file, not a folder" if os.path.exists(root) else "does not exist"
        raise DatasetError(f"{kind.title} folder {root} {what}. Fix: {kind.fix} (or its train/ or test/ "
                           f"subfolder)")

    bases = {split: root for split in _PREFIX}
    found = {split: _find_pair(root, split) for split in _PREFIX}
    if not any(any(pair) for pair in found.values()):
        bases = {split: os.path.join(root, split) for split in _PREFIX}
        found = {split: _find_pair(bases[split], split) for split in _PREFIX}
    if not any(any(pair) for pair in found.values()):
        raise DatasetError(
            f"no {kind.title} files in {root}: expected train-images-idx3-ubyte and "
            f"train-labels-idx1-ubyte and/or t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte "
            f"(raw or .gz), in that folder or in its train/ and test/ subfolders. Fix: {kind.fix}")

    splits = [usage] if usage != "all" else [s for s in ("test", "train") if any(found[s])]
    raw_files = []
    for split in splits:
        images, labels = found[split]
        for path, part in ((images, "images-idx3"), (labels, "labels-idx1")):
            if path is None:
                name = f"{_PREFIX[split]}-{part}-ubyte"
                raise DatasetError(
                    f"{kind.title} {split} file {os.path.join(bases[split], name)} (or {name}.gz) is "
                    f"missing{'' if images or labels else f' for usage={usage!r}'}. Fix: {kind.fix}"
                    f"{'' if images or labels else ', or choose another usage'}")
        raw_images, raw_labels = _raw(images, kind), _raw(labels, kind)
        count = _check(raw_images, images, _IMAGES_MAGIC, kind)
        label_count = _check(raw_labels, labels, _LABELS_MAGIC, kind)
        if count != label_count:
            raise DatasetError(
                f"{kind.title} {split} files disagree: {images} holds {count} images but {labels} holds "
                f"{label_count} labels. Fix: use the images and labels of the same release; "
                f"{kind.fix}")
        raw_files += [raw_images, raw_labels]

    ms_usage = usage
    folders = {os.path.dirname(path) for path in raw_files}
    if len(folders) == 1 and _mindspore_picks(folders.pop(), ms_usage) == set(raw_files):
        return os.path.dirname(raw_files[0]), ms_usage
    return _view(root, usage, raw_files, kind), ms_usage


def _find_pair(folder, split):
    """(images, labels) paths for ``split`` in ``folder``: raw file, else ``.gz``, else None."""
    pair = []
    for kind in ("images-idx3", "labels-idx1"):
        path = os.path.join(folder, f"{_PREFIX[split]}-{kind}-ubyte")
        pair.append(path if os.path.isfile(path) else
                    path + ".gz" if os.path.isfile(path + ".gz") else None)
    return tuple(pair)


def _mindspore_picks(folder, usage):
    """The files MindSpore's reader would take from ``folder``: names *containing* the pattern."""
    prefix = "" if usage == "all" else _PREFIX[usage]
    patterns = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    with os.scandir(folder) as entries:
        return {entry.path for entry in entries
                if entry.is_file() and any(p in entry.name for p in patterns)}


def _check(path, shown, magic, kind):
    """Validate the IDX file at ``path`` (``shown`` in messages); return its item count."""
    header = 16 if magic == _IMAGES_MAGIC else 8
    what = "images" if magic == _IMAGES_MAGIC else "labels"
    fix = f"Fix: replace it with the official file; {kind.fix}"
    with open(path, "rb") as f:
        head = f.read(header)
        size = os.fstat(f.fileno()).st_size
    if len(head) < header:
        raise DatasetError(f"{kind.title} {what} file {shown} is too short ({size} bytes) to hold an IDX "
                           f"header. {fix}")
    found, count = struct.unpack(">II", head[:8])
    if found != magic:
        hint = " (it looks like an images file)" if found == _IMAGES_MAGIC else \
            " (it looks like a labels file)" if found == _LABELS_MAGIC else ""
        raise DatasetError(f"{shown} is not a {kind.title} {what} file: its magic number is {found}, "
                           f"expected {magic}{hint}. {fix}")
    item = 1
    if magic == _IMAGES_MAGIC:
        rows, cols = struct.unpack(">II", head[8:16])
        if (rows, cols) != (_ROWS, _COLS):
            raise DatasetError(f"{kind.title} images file {shown} holds {rows}x{cols} images; the reader "
                               f"needs {_ROWS}x{_COLS}. Fix: resize the images when writing the file")
        item = rows * cols
    expected = header + count * item
    if size != expected:
        state = "truncated" if size < expected else "longer than its header says"
        raise DatasetError(
            f"{kind.title} {what} file {shown} is {state}: its header declares {count} {what}, which "
            f"takes {expected} bytes, but the file has {size} bytes"
            f"{' after decompression' if shown != path else ''}. {fix}")
    return count


# --------------------------------------------------------------------------- caches
def _raw(path, kind):
    """Path of the decompressed form of ``path`` (itself unless it ends in .gz).

    The decompressed file lives in ``<cache>/<SHA-256 of the .gz>/``: the same content read
    from anywhere shares it, changed content gets a new one, and the user's folder is only read.
    """
    if not path.endswith(".gz"):
        return path
    try:
        digest = _files.sha256_of(path)
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}. Fix: {kind.fix}") from exc
    folder = os.path.join(_cache_root(f"decompress {path}"), digest)
    raw = os.path.join(folder, os.path.basename(path)[:-3])
    if os.path.isfile(raw):
        return raw  # placed whole (temporary name + rename) from this very content
    try:
        os.makedirs(folder, exist_ok=True)
        sweep_stale_temps(folder)
        _files.decompress(path, raw)
    except _files.CorruptFileError as exc:
        raise DatasetError(f"cannot decompress {path}: {exc}. Fix: download it again; "
                           f"{kind.fix}") from exc
    except OSError as exc:
        raise DatasetError(f"cannot decompress {path} into {folder}: {exc.strerror or exc}. Fix: "
                           f"free disk space or set {HOME_ENV} to a folder you can write to, or "
                           f"decompress the file yourself (gunzip)") from exc
    return raw


def _cache_root(purpose):
    """``$TINYMS_HOME/cache/mnist``, created; a DatasetError naming ``purpose`` when it cannot be."""
    folder = os.path.join(tinyms_home(), "cache", "mnist")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"cannot {purpose}: the cache folder {folder} cannot be created "
                           f"({exc.strerror or exc}). Fix: set {HOME_ENV} to a folder you can "
                           f"write to") from exc
    return folder


def _view(root, usage, raw_files, kind):
    """A folder holding links to exactly ``raw_files``, so MindSpore reads nothing else.

    It is ``<cache>/views/<key>``, the key a digest of the files' names, real paths, sizes and
    times: built in a temporary folder and renamed into place, so it is complete or absent,
    and a file that changed (even one copied instead of linked) gets a new view.
    """
    wanted = {os.path.basename(path): path for path in raw_files}
    described = []
    for name, target in sorted(wanted.items()):
        info = os.stat(target)
        described.append([name, os.path.realpath(target), info.st_size, info.st_mtime_ns])
    key = hashlib.sha256(json.dumps(described).encode()).hexdigest()[:32]
    views = os.path.join(_cache_root(f"prepare the {kind.title} files of {root}"), "views")
    view = os.path.join(views, key)
    if os.path.isdir(view):
        return view
    tmp = None
    try:
        os.makedirs(views, exist_ok=True)
        sweep_stale_temps(views, folders=True)
        tmp = tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=views)
        for name, target in wanted.items():
            _files.link_or_copy(target, os.path.join(tmp, name))
        try:
            os.rename(tmp, view)
            tmp = None
        except OSError:
            if not os.path.isdir(view):  # else another process placed the same view first
                raise
    except OSError as exc:
        raise DatasetError(f"cannot prepare the {kind.title} files of {root} in {view}: "
                           f"{exc.strerror or exc}. Fix: set {HOME_ENV} to a folder you can "
                           f"write to") from exc
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return view
