"""Download registered datasets into a fixed, verified folder layout.

``download_dataset(name)`` fetches the files of the dataset's :class:`DatasetSpec` (from the
official hosts, or a mirror), resumes interrupted transfers, verifies every file's SHA-256,
decompresses or safely extracts it, and returns the dataset folder. A second call with
complete, verified files does no network I/O. The network part (sources, resume, retries,
size and time bounds) is :mod:`tinyms._download`; archive extraction is
:mod:`tinyms.data._archive`; this module turns a spec into files on disk.
"""

import contextlib
import functools
import hashlib
import os
import tempfile

from .. import _download
from .._fileio import sweep_stale_temps
from .._home import HOME_ENV, tinyms_home
from ..errors import ChecksumError, DownloadError
from . import _archive, _files
from ._registry import dataset_spec, list_datasets

__all__ = ["download_dataset", "list_datasets", "MIRROR_ENV"]

MIRROR_ENV = "TINYMS_DATASET_MIRROR"
_MIRROR_EXAMPLE = "http://127.0.0.1:8000/datasets"


def download_dataset(dataset_name=None, local_path=None, mirror=None, progress=True, *,
                     timeout=None, name=None, min_speed=None, speed_time=None):
    """Download dataset ``dataset_name`` (once) and return its verified folder.

    The result is ``<local_path>/<dataset_name>``, laid out as the dataset's spec says
    (``dataset_spec(name).layout`` maps each split to its folder; the README's dataset table
    lists them all)::

        mnist, fashion_mnist   train/  test/            the decompressed IDX files
        cifar10                cifar-10-batches-bin/    data_batch_1..5.bin, test_batch.bin
        cifar100               cifar-100-binary/        train.bin, test.bin
        voc2007                trainval/  test/         Annotations/ JPEGImages/ ImageSets/...

    Every loader takes that folder and a split: ``MnistDataset(path, usage="train")``,
    ``Cifar10Dataset(path, usage="test")``, ``VOCDataset(path, usage="trainval")``...

    Every file's SHA-256 is checked (for MNIST after decompression, so a mirror may serve the
    files recompressed or raw; for the others, of the official file as downloaded). Where the
    publisher gives only an MD5 (``sst2``, ``ag_news``) the download is checked against it
    once, and the SHA-256 computed then is recorded and used by every later check. Archives
    are extracted safely (see :func:`register_dataset`) into a temporary folder renamed into
    place when complete. A call that finds everything already verified does no network I/O.
    Interrupted transfers resume from ``.part`` files kept under ``<dataset folder>/.partial``.

    Everything a server sends is bounded: a file may not be larger than its official size,
    nor decompress or extract to more than the spec allows, and each source gets ``timeout``
    seconds per file (default 900, or ``$TINYMS_DOWNLOAD_TIMEOUT``) before the next source is
    tried. A source that trickles is given up much sooner: one delivering less than
    ``min_speed`` bytes per second on average over ``speed_time`` seconds (default 1024 bytes/s
    over 30 s) is abandoned for the next source, which resumes its partial file, and is not
    asked for the dataset's other files.

    Without network access, copy the official files by hand into the dataset folder (a
    ``.gz`` file next to where its decompressed file goes, e.g.
    ``mnist/train/train-images-idx3-ubyte.gz``; an archive into the dataset folder itself, e.g.
    ``cifar10/cifar-10-binary.tar.gz``) and call this function: they are verified, unpacked and
    the copies removed.

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
        min_speed: keyword only; bytes per second a source must deliver on average over
            ``speed_time`` seconds, else the next source is tried (0 turns this off); default
            ``$TINYMS_DOWNLOAD_MIN_SPEED``, else 1024.
        speed_time: keyword only; that window in seconds; default
            ``$TINYMS_DOWNLOAD_SPEED_TIME``, else 30.

    Returns:
        str: absolute path of the dataset folder.

    Raises:
        UnknownNameError: the name is not a registered dataset (the message lists them).
        TypeError: no dataset name, or two different ones; ``timeout``, ``min_speed`` or
            ``speed_time`` not a number.
        ValueError: ``timeout`` or ``speed_time`` not positive, ``min_speed`` negative.
        DownloadError: the mirror URL, ``$TINYMS_DOWNLOAD_TIMEOUT``,
            ``$TINYMS_DOWNLOAD_MIN_SPEED`` or ``$TINYMS_DOWNLOAD_SPEED_TIME`` is malformed
            (raised before any network access); every source failed (the message lists each
            URL and why: unreachable, HTTP error, too large, too slow, deadline passed...); or
            the destination folder cannot be written.
        ChecksumError: a file did not match its SHA-256 or size; the bad file has been removed.
        ArchiveError: an archive holds a member that would land outside its folder, a link
            pointing out, a device file, too many members or bytes, or is damaged; nothing
            was extracted and the archive has been removed.

    Example:
        >>> from tinyms.data import download_dataset, Cifar10Dataset
        >>> path = download_dataset("cifar10")  # doctest: +SKIP
        >>> Cifar10Dataset(path, usage="test").get_dataset_size()  # doctest: +SKIP
        10000
    """
    if name is not None and dataset_name is not None and name != dataset_name:
        raise TypeError(f"download_dataset() got two dataset names, dataset_name={dataset_name!r} "
                        f"and name={name!r}; pass only dataset_name")
    dataset_name = dataset_name if dataset_name is not None else name
    if dataset_name is None:
        raise TypeError(f"download_dataset() needs a dataset name, e.g. "
                        f"download_dataset('mnist'); valid names: {', '.join(list_datasets())}")
    spec = dataset_spec(dataset_name)
    urls = _source_urls(spec, mirror)
    seconds = _download.resolve_timeout(timeout)
    speed = _download.resolve_min_speed(min_speed, speed_time)
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
                if _done(dest, item, _files.read_marker(dest).get(item.path)):
                    continue
                final = _local_path(dest, item)
                by_hand = _by_hand_path(dest, item)
                if by_hand is not None and os.path.isfile(by_hand):
                    _install_by_hand(by_hand, dest, item)
                    continue
                _download.fetch(
                    urls[item.name], final, max_bytes=item.max_download,
                    install=functools.partial(_install, dest=dest, item=item),
                    part=os.path.join(dest, ".partial", item.name + ".part"),
                    timeout=seconds, min_speed=speed[0], speed_time=speed[1],
                    progress=progress, label=item.name,
                    what=f"{spec.name} file {item.name}", dead_hosts=dead_hosts,
                    fix=_download_fix(dest, spec, item), checksum_fix=_checksum_fix(dest, spec))
        finally:
            _remove_empty(os.path.join(dest, ".partial"))
    return dest


# --------------------------------------------------------------------------- layout
def _local_path(dest, item):
    return os.path.join(dest, *item.path.split("/"))


def _by_hand_path(dest, item):
    """Where a user may put the official file by hand (never the final path itself)."""
    if item.action == "gunzip":
        return os.path.join(os.path.dirname(_local_path(dest, item)), item.name)
    if item.action == "extract":
        return os.path.join(dest, item.name)
    return None  # "keep": a file copied by hand to its final path is checked there


def _source_urls(spec, mirror):
    """Map each file name to the URLs to try, in order (a mirror replaces the official hosts)."""
    from_env = mirror is None
    if from_env:
        mirror = os.environ.get(MIRROR_ENV) or None
    if mirror is not None:
        example = (f"{_MIRROR_EXAMPLE} (files are then fetched from "
                   f"{_MIRROR_EXAMPLE}/{spec.name}/{spec.files[0].name})")
        if from_env:
            _download.check_url(mirror, MIRROR_ENV, example, base=True)
        else:
            _download.check_url(mirror, "mirror", example, base=True,
                                fix=f"pass mirror= (or set {MIRROR_ENV} to) an http(s) base URL "
                                    f"such as {example}")
        bases = (mirror.rstrip("/") + f"/{spec.name}/",)
    else:
        bases = spec.urls
    return {item.name: [base + item.name for base in bases] for item in spec.files}


# --------------------------------------------------------------------------- verification records
def _done(dest, item, entry):
    """True when the marker entry shows ``item`` in place, complete and unchanged."""
    final = _local_path(dest, item)
    if not isinstance(entry, dict):
        return False
    sha256 = _expected_sha256(item, entry)
    if item.action == "extract":
        return (sha256 is not None and entry.get("sha256") == sha256 and os.path.isdir(final)
                and list(_archive.tree_stats(final)) == [entry.get("files"), entry.get("size")])
    if item.action == "keep":
        size = item.size if item.md5 is None else entry.get("size")
        return sha256 is not None and _files.matches_entry(final, entry, size, sha256)
    size = item.unpacked_size if item.unpacked_size is not None else entry.get("size")
    digest = item.unpacked_sha256 or entry.get("sha256")
    return (_files.matches_entry(final, entry, size, digest)
            and entry.get("source_sha256") == item.sha256)


def _expected_sha256(item, entry):
    """The SHA-256 ``item`` must have: its spec's, or for a file checked by MD5 the one
    recorded when it was installed (only if the record names the same MD5 and a size
    within the bound)."""
    if item.md5 is None and not item.size_only:
        return item.sha256
    size = entry.get("source_size", entry.get("size"))
    if item.size_only:
        checked = entry.get("size_only") is True and size == item.size
    else:
        checked = entry.get("md5") == item.md5 and isinstance(size, int) and 0 < size <= item.max_size
    if checked and isinstance(entry.get("sha256"), str):
        return entry["sha256"]
    return None


def _hashes(path):
    """(size, MD5, SHA-256) of the file at ``path``, read once."""
    md5, sha256, size = hashlib.md5(usedforsecurity=False), hashlib.sha256(), 0
    with open(path, "rb") as f:
        for block in iter(functools.partial(f.read, 1 << 20), b""):
            md5.update(block)
            sha256.update(block)
            size += len(block)
    return size, md5.hexdigest(), sha256.hexdigest()


def _record(dest, item, entry):
    marker = _files.read_marker(dest)
    marker[item.path] = entry
    return _files.write_marker(dest, marker)


def _verify_existing(dest, items):
    """True when every file is in place and verified; re-hashes files missing from the record.

    A file in place with the right size but unrecorded (copied by hand, or the record was
    lost) is hashed once and recorded when its expected SHA-256 is known (files kept as
    downloaded, files checked after gunzip); a file with the wrong content is left to be
    replaced. Extracted folders are trusted only through their record.
    """
    marker = _files.read_marker(dest)
    complete, changed = True, False
    for item in items:
        if _done(dest, item, marker.get(item.path)):
            continue
        path = _local_path(dest, item)
        size, digest = ((item.size, item.sha256) if item.action == "keep" else
                        (item.unpacked_size, item.unpacked_sha256))
        try:
            if item.action == "keep" and item.md5 is not None:  # checked by MD5, recorded by SHA-256
                good = os.path.isfile(path) and os.path.getsize(path) <= item.max_size
                _, md5, digest = _hashes(path) if good else (0, None, None)
                good = md5 == item.md5
                extra = {"md5": item.md5}
            else:
                good = (digest is not None and os.path.getsize(path) == size
                        and _files.sha256_of(path) == digest)
                extra = {"source_sha256": item.sha256}
        except OSError:
            good = False
        if good:
            marker[item.path] = _files.stat_entry(path, digest, **extra)
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
        sweep_stale_temps(folder, folders=True)  # what a process that died left half-written


def _remove_empty(folder):
    with contextlib.suppress(OSError):
        os.rmdir(folder)


def _manual_help(dest, spec):
    by_folder = {}
    for item in spec.files:
        folder = os.path.dirname(_by_hand_path(dest, item) or _local_path(dest, item))
        by_folder.setdefault(folder, []).append(item.name)
    return "; ".join(f"{', '.join(names)} into {folder}" for folder, names in by_folder.items())


def _download_fix(dest, spec, item):
    return (f"Fix: check the network connection (and HTTPS_PROXY if you need a proxy); or set "
            f"{MIRROR_ENV}=http://host:port/path (or pass mirror=) to a server providing "
            f"<mirror>/{spec.name}/{item.name}; or allow a slow source more time with timeout= "
            f"or {_download.TIMEOUT_ENV}; or download the official files yourself and copy "
            f"{_manual_help(dest, spec)}, then call download_dataset({spec.name!r}) again")


def _checksum_fix(dest, spec):
    return (f"Fix: try again later, set {MIRROR_ENV} to a mirror serving the official files, "
            f"or copy them by hand: {_manual_help(dest, spec)}")


# --------------------------------------------------------------------------- install
def _install(src, final, dest, item):
    """Verify ``src``, place its result at ``final`` and record it. Returns None, or why it is bad.

    Nothing appears under ``final`` unless it passed every check: a decompressed file is
    capped at its official size and renamed into place once its digest matches; an archive
    is extracted into a temporary folder renamed into place when complete.
    """
    try:
        sha256, checked = item.sha256, {}
        if item.sha256 is not None:
            size, digest = os.path.getsize(src), _files.sha256_of(src)
            if (size, digest) != (item.size, item.sha256):
                return (f"checksum mismatch for {item.name}: got {size} bytes with SHA-256 "
                        f"{digest}, expected {item.size} bytes with SHA-256 {item.sha256}")
        elif item.md5 is not None:
            size, md5, sha256 = _hashes(src)
            if md5 != item.md5 or size > item.max_size:
                return (f"checksum mismatch for {item.name}: got {size} bytes with MD5 {md5}, "
                        f"expected MD5 {item.md5} (at most {item.max_size} bytes)")
            checked = {"md5": item.md5, "source_size": size}
        elif item.size_only:  # no digest published: the exact size is the check
            size, sha256 = os.path.getsize(src), _files.sha256_of(src)
            if size != item.size:
                return f"size mismatch for {item.name}: got {size} bytes, expected {item.size}"
            checked = {"size_only": True, "source_size": size}
        if item.action == "keep":
            problem = _download._place_verified(src, final, sha256)  # noqa: SLF001
            if problem is not None:
                return problem
            entry = _files.stat_entry(final, sha256, **checked)
        elif item.action == "gunzip":
            _, digest = _files.decompress(src, final, max_size=item.max_unpacked,
                                          sha256=item.unpacked_sha256, size=item.unpacked_size)
            entry = _files.stat_entry(final, digest, source_sha256=item.sha256)
        else:
            files, size = _archive.extract(src, final, strip=item.strip, max_bytes=item.max_unpacked,
                                           max_members=item.max_members, label=item.name)
            entry = {"sha256": sha256, "files": files, "size": size, **checked}
    except _files.MismatchError as exc:
        expected_size = item.unpacked_size if item.unpacked_size is not None else "any number of"
        return (f"checksum mismatch for {os.path.basename(final)}: got {exc.size} bytes with "
                f"SHA-256 {exc.digest}, expected {expected_size} bytes"
                + (f" with SHA-256 {item.unpacked_sha256}" if item.unpacked_sha256 else ""))
    except _files.CorruptFileError as exc:
        return str(exc)
    except OSError as exc:
        if isinstance(exc, DownloadError):
            raise
        raise DownloadError(
            f"cannot write {final}: {exc.strerror or exc}. Fix: free disk space or pass "
            f"local_path= another folder") from exc
    _record(dest, item, entry)
    return None


def _install_by_hand(path, dest, item):
    try:
        problem = _install(path, _local_path(dest, item), dest, item)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    if problem is not None:
        raise ChecksumError(
            f"{path} (placed by hand) is not the official file: {problem}. It has been removed; "
            f"copy the official {item.name} there again, or delete it to download it")
