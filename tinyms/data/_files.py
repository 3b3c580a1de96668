"""Private file helpers shared by the download, sample and MNIST modules.

Everything written here goes to a temporary name in the destination folder first and is
renamed into place only when complete, so an interrupted process never leaves a
half-written file under its final name. Temporary names start with ``.tmp-`` and never
contain an IDX file name, so MindSpore's MNIST reader (which picks up every file whose name
*contains* ``-images-idx3-ubyte``) does not trip over them.
"""

import contextlib
import gzip
import hashlib
import json
import os
import shutil
import tempfile
import zlib

from .._fileio import atomic_file, locked, sha256_of  # noqa: F401 - re-exported for the data modules

MARKER = ".tinyms-verified"
_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


class CorruptFileError(Exception):
    """Internal: a compressed file cannot be decompressed."""


def is_gzip(path):
    """True when the file at ``path`` starts with the gzip magic bytes."""
    with open(path, "rb") as f:
        return f.read(2) == _GZIP_MAGIC


def decompress(src, dst):
    """Decompress gzip file ``src`` into ``dst`` atomically; return (size, sha256) of ``dst``.

    A ``src`` that is not gzip-compressed (a mirror may serve the raw file) is copied as is.

    Raises:
        CorruptFileError: ``src`` is a damaged or truncated gzip file (``dst`` is untouched).
        OSError: ``dst`` cannot be written.
    """
    digest = hashlib.sha256()
    size = 0
    opener = gzip.open if is_gzip(src) else open
    with atomic_file(dst) as out:
        try:
            with opener(src, "rb") as f:
                for block in iter(lambda: f.read(_CHUNK), b""):
                    out.write(block)
                    digest.update(block)
                    size += len(block)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise CorruptFileError(f"{os.path.basename(src)} is not a valid gzip file ({exc})") from None
    return size, digest.hexdigest()


def link_or_copy(target, path):
    """Make ``path`` a symlink to ``target`` (hard link or copy where symlinks fail), atomically."""
    folder = os.path.dirname(path)
    tmp = os.path.join(folder, f".tmp-link-{os.getpid()}-{os.path.basename(path)[:4]}")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    try:
        try:
            os.symlink(target, tmp)
        except (OSError, NotImplementedError):
            try:
                os.link(target, tmp)
            except OSError:
                shutil.copyfile(target, tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_marker(folder):
    """The verification record of ``folder`` (a dict), or {} when absent or unreadable."""
    try:
        with open(os.path.join(folder, MARKER), encoding="utf-8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def write_marker(folder, data):
    """Atomically store the verification record of ``folder``. Returns False if it cannot be written."""
    try:
        with atomic_file(os.path.join(folder, MARKER), "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        return True
    except OSError:
        return False


def stat_entry(path, sha256, **extra):
    """A marker entry recording that ``path`` (as it is now) has digest ``sha256``."""
    st = os.stat(path)
    return dict(size=st.st_size, mtime_ns=st.st_mtime_ns, sha256=sha256, **extra)


def matches_entry(path, entry, size, sha256):
    """True when ``path`` exists unchanged since ``entry`` recorded it with this size and digest."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (isinstance(entry, dict) and st.st_size == size == entry.get("size")
            and st.st_mtime_ns == entry.get("mtime_ns") and entry.get("sha256") == sha256)
