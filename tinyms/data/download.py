"""Download public datasets into a fixed, verified folder layout.

``download_dataset("mnist")`` fetches the official files (or a mirror's copy), resumes
interrupted transfers, checks every file's SHA-256 after decompression and returns the
dataset folder. A second call with complete, verified files does no network I/O.
"""

import contextlib
import dataclasses
import os
import sys
import tempfile
import time
from urllib.parse import urlsplit

from .._names import lookup
from ..errors import ChecksumError, DownloadError
from . import _files
from .._home import HOME_ENV, tinyms_home

__all__ = ["download_dataset", "list_datasets", "MIRROR_ENV"]

MIRROR_ENV = "TINYMS_DATASET_MIRROR"

# Network policy: an unreachable network must fail in seconds, a flaky one should recover.
_CONNECT_TIMEOUT = 4.0   # seconds to open a connection; then move on to the next source
_READ_TIMEOUT = 30.0     # seconds without a byte before a transfer counts as stalled
_RETRIES = 3             # extra attempts per URL after a transient failure
_BACKOFF = 0.5           # seconds before the first retry, doubled after each one
_CHUNK = 1 << 16


@dataclasses.dataclass(frozen=True)
class _File:
    """One file of a dataset: its name on the server and its verified local copy."""

    remote: str   # name on the server, e.g. "train-images-idx3-ubyte.gz"
    local: str    # path inside the dataset folder, "/"-separated, e.g. "train/train-images-idx3-ubyte"
    size: int     # bytes of the local (decompressed) file
    sha256: str   # of the local (decompressed) file, so a mirror may recompress


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


def download_dataset(name, local_path=None, mirror=None, progress=True):
    """Download dataset ``name`` (once) and return its verified folder.

    The result is ``<local_path>/<name>``. For ``"mnist"`` it holds the decompressed
    official IDX files, one folder per split::

        <local_path>/mnist/
            train/train-images-idx3-ubyte   train/train-labels-idx1-ubyte   (60,000 images)
            test/t10k-images-idx3-ubyte     test/t10k-labels-idx1-ubyte     (10,000 images)

    so ``MnistDataset(os.path.join(path, "train"))`` reads the training set. Every file's
    SHA-256 is checked after decompression. A call that finds all files already verified
    does no network I/O. Interrupted transfers resume from ``.part`` files kept under
    ``<local_path>/<name>/.partial``.

    Without network access, copy the official ``.gz`` files by hand into the split folders
    (``train/train-images-idx3-ubyte.gz``...) and call this function: they are verified,
    decompressed and the ``.gz`` copies removed.

    Args:
        name: dataset name, see :func:`list_datasets` (case-insensitive).
        local_path: parent folder; default ``$TINYMS_HOME/datasets`` (``~/.tinyms/datasets``).
        mirror: base URL replacing the official hosts; files are fetched from
            ``<mirror>/<name>/<official file name>``. Default: ``$TINYMS_DATASET_MIRROR``.
        progress: show a progress bar per file on stderr.

    Returns:
        str: absolute path of the dataset folder.

    Raises:
        UnknownNameError: ``name`` is not a known dataset (the message lists them).
        DownloadError: every source failed (the message lists each URL and why), or the
            destination folder cannot be written.
        ChecksumError: a file did not match its SHA-256; the bad file has been removed.

    Example:
        >>> import os
        >>> from tinyms.data import download_dataset, MnistDataset
        >>> path = download_dataset("mnist")  # doctest: +SKIP
        >>> MnistDataset(os.path.join(path, "train")).get_dataset_size()  # doctest: +SKIP
        60000
    """
    spec = lookup(_DATASETS, name, "dataset")
    root = os.path.abspath(os.path.expanduser(
        os.fspath(local_path) if local_path is not None else os.path.join(tinyms_home(), "datasets")))
    dest = os.path.join(root, spec.name)
    urls = _source_urls(spec, mirror)

    if _verify_existing(dest, spec.files):
        return dest
    _prepare_folders(dest, spec.files)
    with _files.locked(os.path.join(dest, ".tinyms-lock")):
        if _verify_existing(dest, spec.files):  # another process may have finished meanwhile
            return dest
        session = None
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
                    if session is None:
                        import requests  # noqa: PLC0415 - only needed when something is missing
                        session = requests.Session()
                    _fetch(session, spec, item, urls[item.remote], dest, progress, dead_hosts)
                marker = _files.read_marker(dest)
                marker[item.local] = _files.stat_entry(final, item.sha256)
                _files.write_marker(dest, marker)
        finally:
            if session is not None:
                session.close()
            _remove_empty(os.path.join(dest, ".partial"))
    return dest


# --------------------------------------------------------------------------- layout
def _local_path(dest, item):
    return os.path.join(dest, *item.local.split("/"))


def _source_urls(spec, mirror):
    """Map each remote file name to the URLs to try, in order."""
    if mirror is None:
        mirror = os.environ.get(MIRROR_ENV) or None
    if mirror is not None:
        mirror = str(mirror).strip()
        if urlsplit(mirror).scheme not in ("http", "https") or not urlsplit(mirror).netloc:
            raise DownloadError(
                f"dataset mirror {mirror!r} is not an http(s) URL; set {MIRROR_ENV} (or mirror=) "
                f"to a base URL such as http://host:8000/datasets, under which "
                f"{spec.name}/{spec.files[0].remote} can be fetched")
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


def _remove_empty(folder):
    with contextlib.suppress(OSError):
        os.rmdir(folder)


def _manual_help(dest, spec):
    by_folder = {}
    for item in spec.files:
        folder = os.path.dirname(_local_path(dest, item))
        by_folder.setdefault(folder, []).append(item.remote)
    return "; ".join(f"{', '.join(names)} into {folder}" for folder, names in by_folder.items())


# --------------------------------------------------------------------------- install
def _install(src, final, item):
    """Decompress ``src`` to ``final`` and verify it. Returns None, or why it is bad."""
    try:
        size, digest = _files.decompress(src, final)
    except _files.CorruptFileError as exc:
        return str(exc)
    except OSError as exc:
        raise DownloadError(
            f"cannot write {final}: {exc.strerror or exc}. Fix: free disk space or pass "
            f"local_path= another folder") from exc
    if size != item.size or digest != item.sha256:
        os.unlink(final)
        return (f"checksum mismatch for {os.path.basename(final)}: got {size} bytes with SHA-256 "
                f"{digest}, expected {item.size} bytes with SHA-256 {item.sha256}")
    return None


def _install_by_hand(path, final, item):
    problem = _install(path, final, item)
    os.unlink(path)
    if problem is not None:
        raise ChecksumError(
            f"{path} (placed by hand) is not the official file: {problem}. It has been removed; "
            f"copy the official {item.remote} there again, or delete it to download it")


# --------------------------------------------------------------------------- network
class _Transient(Exception):
    """Worth retrying the same URL (connection cut, 5xx, timeout)."""


class _Failed(Exception):
    """This URL will not work (4xx, bad URL); try the next source."""


class _Unreachable(_Failed):
    """The host cannot be reached at all (DNS, refused, connect timeout); skip it from now on."""


def _fetch(session, spec, item, urls, dest, progress, dead_hosts):
    """Download ``item`` from the first URL that works and install it verified."""
    final = _local_path(dest, item)
    part = os.path.join(dest, ".partial", item.remote + ".part")
    reasons = []
    bad_content = False
    for url in urls:
        host = urlsplit(url).netloc
        if host in dead_hosts:
            reasons.append(f"{url}: skipped, host unreachable ({dead_hosts[host]})")
            continue
        for fresh_start in (False, True):
            if fresh_start:
                _discard(part)
            try:
                resumed = _download(session, url, part, progress, item.remote)
            except _Unreachable as exc:
                dead_hosts[host] = str(exc)
                reasons.append(f"{url}: {exc}")
                break
            except _Failed as exc:
                reasons.append(f"{url}: {exc}")
                break
            problem = _install(part, final, item)
            _discard(part)
            if problem is None:
                return
            if resumed and not fresh_start:
                continue  # the kept .part may come from another source: try once from zero
            bad_content = True
            reasons.append(f"{url}: {problem}")
            break
    tried = "\n".join(f"  - {reason}" for reason in reasons)
    if bad_content:
        raise ChecksumError(
            f"could not get a valid copy of {spec.name} file {item.remote}; the bad download has "
            f"been removed:\n{tried}\nFix: try again later, set {MIRROR_ENV} to a mirror serving "
            f"the official files, or copy them by hand: {_manual_help(dest, spec)}")
    raise DownloadError(
        f"could not download {spec.name} file {item.remote} from any source:\n{tried}\n"
        f"Fix: check the network connection (and HTTPS_PROXY if you need a proxy); or set "
        f"{MIRROR_ENV}=http://host:port/path (or pass mirror=) to a server providing "
        f"<mirror>/{spec.name}/{item.remote}; or download the official files yourself and copy "
        f"{_manual_help(dest, spec)}, then call download_dataset({spec.name!r}) again")


def _discard(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _download(session, url, part, progress, label):
    """Download ``url`` into ``part``, retrying transient failures. Returns True if it resumed."""
    resumed = _has_data(part)
    attempt = 0
    while True:
        try:
            _download_once(session, url, part, progress, label)
            return resumed
        except _Transient as exc:
            attempt += 1
            if attempt > _RETRIES:
                raise _Failed(f"{exc} (gave up after {attempt} attempts)") from None
            time.sleep(_BACKOFF * 2 ** (attempt - 1))
            resumed = resumed or _has_data(part)


def _has_data(path):
    return os.path.exists(path) and os.path.getsize(path) > 0


def _download_once(session, url, part, progress, label):
    import requests  # noqa: PLC0415
    from requests.exceptions import ConnectionError as ConnError, ConnectTimeout, ReadTimeout
    from urllib3.exceptions import NewConnectionError

    offset = os.path.getsize(part) if os.path.exists(part) else 0
    headers = {"Accept-Encoding": "identity", "User-Agent": "tinyms-download"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = session.get(url, headers=headers, stream=True,
                               timeout=(_CONNECT_TIMEOUT, _READ_TIMEOUT))
    except ConnectTimeout:
        raise _Unreachable(f"no connection within {_CONNECT_TIMEOUT:g} s") from None
    except ReadTimeout:
        raise _Transient(f"no answer within {_READ_TIMEOUT:g} s") from None
    except requests.exceptions.SSLError as exc:
        raise _Failed(f"TLS/SSL error: {exc}") from None
    except ConnError as exc:
        cause = exc.args[0] if exc.args else None
        if isinstance(getattr(cause, "reason", None), NewConnectionError):
            raise _Unreachable(f"cannot connect: {_short(cause.reason)}") from None
        raise _Transient(f"connection error: {_short(exc)}") from None
    except requests.exceptions.RequestException as exc:
        raise _Failed(f"bad request: {_short(exc)}") from None

    with response:
        status = response.status_code
        if status == 416 and offset:
            total = response.headers.get("Content-Range", "").rpartition("/")[2]
            if total == str(offset):
                return  # the kept .part is already complete
            _discard(part)
            raise _Transient("server could not resume the partial file; restarting from zero")
        if status >= 500 or status in (408, 429):
            raise _Transient(f"HTTP {status} {response.reason}")
        if status not in (200, 206):
            raise _Failed(f"HTTP {status} {response.reason}")
        if status == 206:
            start = response.headers.get("Content-Range", "").partition(" ")[2].partition("-")[0]
            if start != str(offset):
                _discard(part)
                raise _Transient("server resumed at the wrong offset; restarting from zero")
            mode = "ab"
        else:  # 200: a full body, even if we asked for a range
            offset, mode = 0, "wb"
        length = response.headers.get("Content-Length")
        expected = offset + int(length) if length and length.isdigit() else None
        _stream(response, part, mode, offset, expected, progress, label)


def _stream(response, part, mode, offset, expected, progress, label):
    from requests.exceptions import RequestException  # noqa: PLC0415
    from tqdm import tqdm  # noqa: PLC0415

    try:
        f = open(part, mode)
    except OSError as exc:
        raise DownloadError(f"cannot write {part}: {exc.strerror or exc}. Fix: pass local_path= "
                            f"a folder you can write to") from exc
    bar = tqdm(total=expected, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
               desc=label, file=sys.stderr, disable=not progress, leave=False)
    written = offset
    with f, bar:
        try:
            for chunk in response.iter_content(_CHUNK):
                f.write(chunk)
                written += len(chunk)
                bar.update(len(chunk))
        except RequestException as exc:
            raise _Transient(f"connection lost after {written} bytes ({_short(exc)})") from None
        except OSError as exc:
            raise DownloadError(f"cannot write {part}: {exc.strerror or exc}. Fix: free disk "
                                f"space or pass local_path= another folder") from exc
    if expected is not None and written != expected:
        raise _Transient(f"connection lost after {written} of {expected} bytes")


def _short(exc):
    text = str(exc)
    if text.startswith("<") and ">: " in text:  # drop urllib3's "<connection object at 0x..>: "
        text = text.split(">: ", 1)[1]
    return text if len(text) <= 200 else text[:197] + "..."
