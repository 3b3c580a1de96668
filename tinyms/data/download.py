"""Download public datasets into a fixed, verified folder layout.

``download_dataset("mnist")`` fetches the official files (or a mirror's copy), resumes
interrupted transfers, checks every file's SHA-256 after decompression and returns the
dataset folder. A second call with complete, verified files does no network I/O. The
network part (sources, resume, retries, size and time bounds) is :mod:`tinyms._download`;
this module knows the datasets, their layout and their decompression.
"""

import contextlib
import dataclasses
import functools
import os
import tempfile

from .. import _download
from .._fileio import sweep_stale_temps
from .._home import HOME_ENV, tinyms_home
from .._names import lookup
from ..errors import ChecksumError, DownloadError
from . import _files

__all__ = ["download_dataset", "list_datasets", "MIRROR_ENV"]

MIRROR_ENV = "TINYMS_DATASET_MIRROR"
_MIRROR_EXAMPLE = "http://127.0.0.1:8000/datasets"


@dataclasses.dataclass(frozen=True)
class _File:
    """One file of a dataset: its name on the server and its verified local copy."""

    remote: str   # name on the server, e.g. "train-images-idx3-ubyte.gz"
    local: str    # path inside the dataset folder, "/"-separated, e.g. "train/train-images-idx3-ubyte"
    size: int     # bytes of the local (decompressed) file
    sha256: str   # of the local (decompressed) file, so a mirror may recompress

    @property
    def max_download(self):
        """The most bytes a source may send: the decompressed size plus gzip's worst-case overhead.

        A mirror may serve the file gzip-compressed (smaller) or raw (exactly ``size``);
        stored (incompressible) gzip adds 5 bytes per 64 KiB block and a short header.
        """
        return self.size + self.size // 100 + 65536


@dataclasses.dataclass(frozen=True)
class _Dataset:
    """A downloadable dataset: official base URLs (tried in order) and its files."""

    name: str
    urls: tuple
    files: tuple


_DATASETS = {
    "mnist": _Dataset(
        name="mnist",
        urls=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        files=(
            _File("train-images-idx3-ubyte.gz", "train/train-images-idx3-ubyte", 47040016,
                  "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
            _File("train-labels-idx1-ubyte.gz", "train/train-labels-idx1-ubyte", 60008,
                  "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
            _File("t10k-images-idx3-ubyte.gz", "test/t10k-images-idx3-ubyte", 7840016,
                  "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
            _File("t10k-labels-idx1-ubyte.gz", "test/t10k-labels-idx1-ubyte", 10008,
                  "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
        ),
    ),
}


def list_datasets():
    """Return the names :func:`download_dataset` accepts.

    Returns:
        list of str, sorted.

    Example:
        >>> from tinyms.data import list_datasets
        >>> list_datasets()
        ['mnist']
    """
    return sorted(_DATASETS)


def download_dataset(dataset_name=None, local_path=None, mirror=None, progress=True, *,
                     timeout=None, name=None):
    """Download dataset ``dataset_name`` (once) and return its verified folder.

    The result is ``<local_path>/<dataset_name>``. For ``"mnist"`` it holds the decompressed
    official IDX files, one folder per split::

        <local_path>/mnist/
            train/train-images-idx3-ubyte   train/train-labels-idx1-ubyte   (60,000 images)
            test/t10k-images-idx3-ubyte     test/t10k-labels-idx1-ubyte     (10,000 images)

    so ``MnistDataset(os.path.join(path, "train"))`` reads the training set. Every file's
    SHA-256 is checked after decompression. A call that finds all files already verified
    does no network I/O. Interrupted transfers resume from ``.part`` files kept under
    ``<local_path>/<dataset_name>/.partial``.

    Everything a server sends is bounded: a file may not be larger than its official
    decompressed size (plus gzip overhead), nor decompress to more than that size, and each
    source gets ``timeout`` seconds per file (default 900, or ``$TINYMS_DOWNLOAD_TIMEOUT``)
    before the next source is tried.

    Without network access, copy the official ``.gz`` files by hand into the split folders
    (``train/train-images-idx3-ubyte.gz``...) and call this function: they are verified,
    decompressed and the ``.gz`` copies removed.

    Args:
        dataset_name: dataset name, see :func:`list_datasets` (case-insensitive). May be
            given positionally or by keyword, as in TinyMS 0.3
            (``download_dataset(dataset_name='mnist', local_path='/tmp')``).
        local_path: parent folder; default ``$TINYMS_HOME/datasets`` (``~/.tinyms/datasets``).
        mirror: base URL replacing the official hosts; files are fetched from
            ``<mirror>/<dataset_name>/<official file name>``. Default: ``$TINYMS_DATASET_MIRROR``.
            Must be an http(s) URL with a host; anything else is refused before any network
            access.
        progress: show a progress bar per file on stderr.
        timeout: seconds each source gets for one file, connecting, retries and waiting
            included; default ``$TINYMS_DOWNLOAD_TIMEOUT``, else 900 (15 minutes).
        name: older spelling of ``dataset_name``, still accepted.

    Returns:
        str: absolute path of the dataset folder.

    Raises:
        UnknownNameError: the name is not a known dataset (the message lists them).
        TypeError: no dataset name, or two different ones; ``timeout`` not a number.
        ValueError: ``timeout`` not positive.
        DownloadError: the mirror URL or ``$TINYMS_DOWNLOAD_TIMEOUT`` is malformed (raised
            before any network access); every source failed (the message lists each URL and
            why: unreachable, HTTP error, too large, deadline passed...); or the destination
            folder cannot be written.
        ChecksumError: a file did not match its SHA-256 or decompressed to more than its
            official size; the bad file has been removed.

    Example:
        >>> import os
        >>> from tinyms.data import download_dataset, MnistDataset
        >>> path = download_dataset("mnist")  # doctest: +SKIP
        >>> MnistDataset(os.path.join(path, "train")).get_dataset_size()  # doctest: +SKIP
        60000
    """
    if name is not None and dataset_name is not None and name != dataset_name:
        raise TypeError(f"download_dataset() got two dataset names, dataset_name={dataset_name!r} "
                        f"and name={name!r}; pass only dataset_name")
    dataset_name = dataset_name if dataset_name is not None else name
    if dataset_name is None:
        raise TypeError(f"download_dataset() needs a dataset name, e.g. "
                        f"download_dataset('mnist'); valid names: {', '.join(list_datasets())}")
    spec = lookup(_DATASETS, dataset_name, "dataset")
    urls = _source_urls(spec, mirror)
    seconds = _download.resolve_timeout(timeout)
    root = os.path.abspath(os.path.expanduser(
        os.fspath(local_path) if local_path is not None else os.path.join(tinyms_home(), "datasets")))
    dest = os.path.join(root, spec.name)

    if _verify_existing(dest, spec.files):
        return dest
    _prepare_folders(dest, spec.files)
    with _files.locked(os.path.join(dest, ".tinyms-lock")):
        if _verify_existing(dest, spec.files):  # another process may have finished meanwhile
            return dest
        dead_hosts = {}
        try:
            for item in spec.files:
                final = _local_path(dest, item)
                marker = _files.read_marker(dest)
                if _files.matches_entry(final, marker.get(item.local), item.size, item.sha256):
                    continue
                by_hand = os.path.join(os.path.dirname(final), item.remote)
                if os.path.isfile(by_hand):
                    _install_by_hand(by_hand, final, item)
                else:
                    _download.fetch(
                        urls[item.remote], final, max_bytes=item.max_download,
                        install=functools.partial(_install, item=item),
                        part=os.path.join(dest, ".partial", item.remote + ".part"),
                        timeout=seconds, progress=progress, label=item.remote,
                        what=f"{spec.name} file {item.remote}", dead_hosts=dead_hosts,
                        fix=_download_fix(dest, spec, item), checksum_fix=_checksum_fix(dest, spec))
                marker = _files.read_marker(dest)
                marker[item.local] = _files.stat_entry(final, item.sha256)
                _files.write_marker(dest, marker)
        finally:
            _remove_empty(os.path.join(dest, ".partial"))
    return dest


# --------------------------------------------------------------------------- layout
def _local_path(dest, item):
    return os.path.join(dest, *item.local.split("/"))


def _source_urls(spec, mirror):
    """Map each remote file name to the URLs to try, in order (a mirror is checked first)."""
    from_env = mirror is None
    if from_env:
        mirror = os.environ.get(MIRROR_ENV) or None
    if mirror is not None:
        example = (f"{_MIRROR_EXAMPLE} (files are then fetched from "
                   f"{_MIRROR_EXAMPLE}/{spec.name}/{spec.files[0].remote})")
        if from_env:
            _download.check_url(mirror, MIRROR_ENV, example, base=True)
        else:
            _download.check_url(mirror, "mirror", example, base=True,
                                fix=f"pass mirror= (or set {MIRROR_ENV} to) an http(s) base URL "
                                    f"such as {example}")
        bases = (mirror.rstrip("/") + f"/{spec.name}/",)
    else:
        bases = spec.urls
    return {item.remote: [base + item.remote for base in bases] for item in spec.files}


def _verify_existing(dest, items):
    """True when every file is in place and verified; re-hashes files missing from the marker.

    Files present with the right size but unrecorded (copied by hand, or the marker was
    lost) are hashed once and recorded; a file with the wrong content is left to be replaced.
    """
    marker = _files.read_marker(dest)
    complete, changed = True, False
    for item in items:
        path = _local_path(dest, item)
        if _files.matches_entry(path, marker.get(item.local), item.size, item.sha256):
            continue
        try:
            good = os.path.getsize(path) == item.size and _files.sha256_of(path) == item.sha256
        except OSError:
            good = False
        if good:
            marker[item.local] = _files.stat_entry(path, item.sha256)
            changed = True
        complete = complete and good
    if changed:
        _files.write_marker(dest, marker)  # best effort: a read-only copy is still usable
    return complete


def _prepare_folders(dest, items):
    """Create the destination folders and prove they are writable, or raise DownloadError."""
    folders = sorted({os.path.dirname(_local_path(dest, item)) for item in items})
    folders.append(os.path.join(dest, ".partial"))
    for folder in folders:
        try:
            os.makedirs(folder, exist_ok=True)
            # a name of its own per call: concurrent callers must not remove each other's probe
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".tmp-write-test-"):
                pass
        except OSError as exc:
            raise DownloadError(
                f"cannot write the dataset into {folder}: {exc.strerror or exc}. Fix: pass "
                f"local_path= a folder you can write to, or set {HOME_ENV} to one "
                f"(the default is $TINYMS_HOME/datasets, now {os.path.join(tinyms_home(), 'datasets')})"
            ) from exc
        sweep_stale_temps(folder)  # half-written files of a process that died


def _remove_empty(folder):
    with contextlib.suppress(OSError):
        os.rmdir(folder)


def _manual_help(dest, spec):
    by_folder = {}
    for item in spec.files:
        folder = os.path.dirname(_local_path(dest, item))
        by_folder.setdefault(folder, []).append(item.remote)
    return "; ".join(f"{', '.join(names)} into {folder}" for folder, names in by_folder.items())


def _download_fix(dest, spec, item):
    return (f"Fix: check the network connection (and HTTPS_PROXY if you need a proxy); or set "
            f"{MIRROR_ENV}=http://host:port/path (or pass mirror=) to a server providing "
            f"<mirror>/{spec.name}/{item.remote}; or allow a slow source more time with timeout= "
            f"or {_download.TIMEOUT_ENV}; or download the official files yourself and copy "
            f"{_manual_help(dest, spec)}, then call download_dataset({spec.name!r}) again")


def _checksum_fix(dest, spec):
    return (f"Fix: try again later, set {MIRROR_ENV} to a mirror serving the official files, "
            f"or copy them by hand: {_manual_help(dest, spec)}")


# --------------------------------------------------------------------------- install
def _install(src, final, item):
    """Decompress ``src`` to ``final`` and verify it. Returns None, or why it is bad.

    The output is capped at the official size (a gzip bomb stops there) and only renamed to
    ``final`` once its SHA-256 matches, so a bad file never appears under the final name.
    """
    try:
        _files.decompress(src, final, max_size=item.size, sha256=item.sha256)
    except _files.MismatchError as exc:
        return (f"checksum mismatch for {os.path.basename(final)}: got {exc.size} bytes with "
                f"SHA-256 {exc.digest}, expected {item.size} bytes with SHA-256 {item.sha256}")
    except _files.CorruptFileError as exc:
        return str(exc)
    except OSError as exc:
        raise DownloadError(
            f"cannot write {final}: {exc.strerror or exc}. Fix: free disk space or pass "
            f"local_path= another folder") from exc
    return None


def _install_by_hand(path, final, item):
    problem = _install(path, final, item)
    os.unlink(path)
    if problem is not None:
        raise ChecksumError(
            f"{path} (placed by hand) is not the official file: {problem}. It has been removed; "
            f"copy the official {item.remote} there again, or delete it to download it")
