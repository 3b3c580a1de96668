"""Small datasets bundled with TinyMS, for examples and tests that must run offline."""

import hashlib
import os

from ..errors import DatasetError, UnknownNameError
from . import _files
from ._registry import dataset_spec, registered_specs
from .._home import HOME_ENV, tinyms_home

__all__ = ["sample_dataset"]

_PACKAGE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_sample")

def sample_dataset(name="mnist"):
    """Return the folder of a small bundled sample of dataset ``name``, ready to load offline.

    The folder has exactly the layout :func:`download_dataset` produces, so code written for
    the sample runs unchanged on the full dataset. The MNIST sample holds, in the official
    order, the first 600 training images of each digit (6,000 in ``train/``) and the first
    100 test images of each digit (1,000 in ``test/``)::

        <TINYMS_HOME>/samples/mnist/
            train/train-images-idx3-ubyte   train/train-labels-idx1-ubyte
            test/t10k-images-idx3-ubyte     test/t10k-labels-idx1-ubyte

    The files are decompressed from the package into ``$TINYMS_HOME/samples`` (default
    ``~/.tinyms/samples``) on the first call; later calls only check them.

    Args:
        name: dataset name; TinyMS bundles a sample of ``"mnist"``; a registered dataset
            has one when its spec lists ``sample_files``.

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
    spec = dataset_spec(name)
    files = spec.sample_files
    if not files:
        with_sample = ", ".join(s.name for s in registered_specs() if s.sample_files)
        raise UnknownNameError(f"no sample is bundled for dataset {spec.name!r}; datasets with a "
                               f"sample: {with_sample}. Fix: use download_dataset({spec.name!r})")
    key = spec.name
    src_root = spec.sample_folder or os.path.join(_PACKAGE_DIR, key)
    dest = os.path.join(tinyms_home(), "samples", key)

    sources = {rel: os.path.join(src_root, *rel.split("/")) + ".gz" for rel in files}
    fingerprints = {}
    for rel, src in sources.items():
        try:
            fingerprints[rel] = _digest(src)
        except OSError as exc:
            raise DatasetError(
                f"the bundled sample file {src} is missing or unreadable ({exc.strerror or exc}); "
                f"the TinyMS installation is incomplete: reinstall it (pip install --force-reinstall "
                f"tinyms) or, from a source checkout, run scripts/make_mnist_sample.py") from exc

    if _up_to_date(dest, files, fingerprints):
        return dest
    try:
        for rel in files:
            os.makedirs(os.path.dirname(os.path.join(dest, *rel.split("/"))), exist_ok=True)
        with _files.locked(os.path.join(dest, ".tinyms-lock")):
            marker = _files.read_marker(dest)
            for rel in files:
                final = os.path.join(dest, *rel.split("/"))
                entry = marker.get(rel)
                if _fresh(final, entry, fingerprints[rel]):
                    continue
                _, digest = _files.decompress(sources[rel], final)
                marker[rel] = _files.stat_entry(final, digest, source_sha256=fingerprints[rel])
                if not _files.write_marker(dest, marker):
                    raise OSError(f"cannot write {os.path.join(dest, _files.MARKER)}")
    except _files.CorruptFileError as exc:
        raise DatasetError(
            f"a bundled sample file in {src_root} is damaged ({exc}); reinstall TinyMS or, from "
            f"a source checkout, run scripts/make_mnist_sample.py") from exc
    except OSError as exc:
        raise DatasetError(
            f"cannot write the {key} sample into {dest}: {exc.strerror or exc}. Fix: set "
            f"{HOME_ENV} to a folder you can write to") from exc
    return dest


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
