"""Small datasets bundled with TinyMS, for examples and tests that must run offline."""

import contextlib
import hashlib
import os
import tempfile

from ..errors import DatasetError, UnknownNameError
from . import _files
from ._registry import dataset_spec, registered_specs
from .._fileio import TMP_PREFIX
from .._home import HOME_ENV, tinyms_home

__all__ = ["sample_dataset"]

_PACKAGE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_sample")
# Samples that are not part of a registered dataset (VOC layout): name -> the command regenerating them.
_GENERATED = {"shapes": "python scripts/make_shapes_sample.py --bundled"}


def _voc_sample_files(folder):
    """The files of a bundled VOC-layout sample, from its id lists (a missing list -> OSError)."""
    lists = [f"ImageSets/Main/{usage}.txt" for usage in ("train", "test", "trainval")]
    ids = []
    for rel in lists:
        with open(os.path.join(folder, *rel.split("/")), encoding="utf-8") as f:
            ids += [line.strip() for line in f if line.strip()]
    ids = list(dict.fromkeys(ids))
    return tuple(lists + [f"Annotations/{i}.xml" for i in ids] + [f"JPEGImages/{i}.jpg" for i in ids])


def sample_dataset(name="mnist"):
    """Return the folder of a small bundled sample of dataset ``name``, ready to load offline.

    The folder has exactly the layout :func:`download_dataset` produces, so code written for
    the sample runs unchanged on the full dataset. The MNIST sample holds, in the official
    order, the first 600 training images of each digit (6,000 in ``train/``) and the first
    100 test images of each digit (1,000 in ``test/``)::

        <TINYMS_HOME>/samples/mnist/
            train/train-images-idx3-ubyte   train/train-labels-idx1-ubyte
            test/t10k-images-idx3-ubyte     test/t10k-labels-idx1-ubyte

    ``"shapes"`` is TinyMS's synthetic object-detection data set, for trying detection
    offline: 600 JPEG images of 160x160 pixels, each with 1 to 4 circles, crosses, squares,
    stars and triangles on a cluttered background, in PASCAL VOC's layout (read it with
    :func:`VOCDataset` or :func:`detection_dataset`; 480 ids in ``train.txt`` and
    ``trainval.txt``, 120 in ``test.txt``)::

        <TINYMS_HOME>/samples/shapes/
            Annotations/000001.xml ...   JPEGImages/000001.jpg ...
            ImageSets/Main/train.txt   test.txt   trainval.txt

    ``scripts/make_shapes_sample.py`` in TinyMS's source generates it, and larger versions.

    The files are copied (MNIST's decompressed) from the package into ``$TINYMS_HOME/samples``
    (default ``~/.tinyms/samples``) on the first call; later calls only check them.

    Args:
        name: ``"mnist"`` or ``"shapes"``; a registered dataset has a sample when its spec
            lists ``sample_files``.

    Returns:
        str: absolute path of the sample folder.

    Raises:
        UnknownNameError: no sample is bundled under ``name``.
        DatasetError: the bundled files are missing from the installation, or the samples
            folder cannot be written.

    Example:
        >>> import os
        >>> from tinyms.data import sample_dataset, MnistDataset
        >>> path = sample_dataset("mnist")
        >>> MnistDataset(os.path.join(path, "test")).get_dataset_size()
        1000
    """
    key = str(name).lower().replace("-", "_")
    if key in _GENERATED:
        src_root, remake = os.path.join(_PACKAGE_DIR, key), _GENERATED[key]
        try:
            files = _voc_sample_files(src_root)
        except OSError as exc:
            raise DatasetError(
                f"the bundled {key} sample in {src_root} is incomplete ({exc.strerror or exc}); "
                f"reinstall TinyMS (pip install --force-reinstall tinyms) or, from a source "
                f"checkout, run {remake}") from exc
        sources = {rel: os.path.join(src_root, *rel.split("/")) for rel in files}
    else:
        spec = dataset_spec(name)
        files = spec.sample_files
        if not files:
            with_sample = ", ".join(sorted([s.name for s in registered_specs() if s.sample_files]
                                           + list(_GENERATED)))
            raise UnknownNameError(f"no sample is bundled for dataset {spec.name!r}; datasets with a "
                                   f"sample: {with_sample}. Fix: use download_dataset({spec.name!r})")
        key, remake = spec.name, "scripts/make_mnist_sample.py"
        src_root = spec.sample_folder or os.path.join(_PACKAGE_DIR, key)
        sources = {rel: os.path.join(src_root, *rel.split("/")) + ".gz" for rel in files}
    dest = os.path.join(tinyms_home(), "samples", key)

    fingerprints = {}
    for rel, src in sources.items():
        try:
            fingerprints[rel] = _digest(src)
        except OSError as exc:
            raise DatasetError(
                f"the bundled sample file {src} is missing or unreadable ({exc.strerror or exc}); "
                f"the TinyMS installation is incomplete: reinstall it (pip install --force-reinstall "
                f"tinyms) or, from a source checkout, run {remake}") from exc

    if _up_to_date(dest, files, fingerprints):
        return dest
    install = _copy if key in _GENERATED else _files.decompress
    try:
        for rel in files:
            os.makedirs(os.path.dirname(os.path.join(dest, *rel.split("/"))), exist_ok=True)
        with _files.locked(os.path.join(dest, ".tinyms-lock")):
            marker = _files.read_marker(dest)
            unsaved = 0
            for number, rel in enumerate(files, start=1):
                final = os.path.join(dest, *rel.split("/"))
                entry = marker.get(rel)
                if not _fresh(final, entry, fingerprints[rel]):
                    _, digest = install(sources[rel], final)
                    marker[rel] = _files.stat_entry(final, digest, source_sha256=fingerprints[rel])
                    unsaved += 1
                # record progress every 100 files (a sample of 1,200 small files would otherwise
                # rewrite a growing record 1,200 times); an interruption re-copies at most those
                if unsaved and (unsaved >= 100 or number == len(files)):
                    if not _files.write_marker(dest, marker):
                        raise OSError(f"cannot write {os.path.join(dest, _files.MARKER)}")
                    unsaved = 0
    except _files.CorruptFileError as exc:
        raise DatasetError(
            f"a bundled sample file in {src_root} is damaged ({exc}); reinstall TinyMS or, from "
            f"a source checkout, run {remake}") from exc
    except OSError as exc:
        raise DatasetError(
            f"cannot write the {key} sample into {dest}: {exc.strerror or exc}. Fix: set "
            f"{HOME_ENV} to a folder you can write to") from exc
    return dest


def _copy(src, dst):
    """Copy the small file ``src`` to ``dst`` through a temporary name; return (size, sha256).

    Unlike ``_files.decompress`` it does not fsync each file (1,200 fsyncs cost ~6 s here): the
    record written after each batch holds every file's size and modification time, so a file
    an interrupted run left behind differently is copied again by the next call.
    """
    with open(src, "rb") as f:
        data = f.read()
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=os.path.dirname(dst))
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return len(data), hashlib.sha256(data).hexdigest()


def _digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _fresh(path, entry, fingerprint):
    """True when ``path`` was decompressed from the bundled file with this fingerprint, unchanged since."""
    return (isinstance(entry, dict) and entry.get("source_sha256") == fingerprint
            and _files.matches_entry(path, entry, entry.get("size"), entry.get("sha256")))


def _up_to_date(dest, files, fingerprints):
    marker = _files.read_marker(dest)
    return all(_fresh(os.path.join(dest, *rel.split("/")), marker.get(rel), fingerprints[rel])
               for rel in files)
