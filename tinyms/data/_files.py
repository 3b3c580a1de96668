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
from .._jsonread import load_file

MARKER = ".tinyms-verified"
_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


class CorruptFileError(Exception):
    """Internal: a compressed file cannot be decompressed, or decompresses to the wrong content."""


class TooLargeError(CorruptFileError):
    """Internal: a file decompresses to more than the allowed size (e.g. a gzip bomb)."""


class MismatchError(CorruptFileError):
    """Internal: a file decompressed completely but not to the expected SHA-256."""

    def __init__(self, message, size, digest):
        super().__init__(message)
        self.size = size
        self.digest = digest


def is_gzip(path):
    """True when the file at ``path`` starts with the gzip magic bytes."""
    with open(path, "rb") as f:
        return f.read(2) == _GZIP_MAGIC


def decompress(src, dst, max_size=None, sha256=None, size=None):
    """Decompress gzip file ``src`` into ``dst`` atomically; return (size, sha256) of ``dst``.

    A ``src`` that is not gzip-compressed (a mirror may serve the raw file) is copied as is.
    Nothing appears at ``dst`` unless the whole output was written and passed the checks.

    Args:
        src: the (usually gzip) file to read.
        dst: the file to write.
        max_size: the largest output accepted; decompression stops as soon as the output
            would pass it, so a small file expanding to gigabytes costs nothing.
        sha256: the SHA-256 the output must have.
        size: the exact size the output must have.

    Returns:
        (int, str): the size and SHA-256 of ``dst``.

    Raises:
        TooLargeError: the output passes ``max_size`` (``dst`` is untouched).
        MismatchError: the output does not have digest ``sha256`` or size ``size`` (``dst``
            is untouched).
        CorruptFileError: ``src`` is a damaged or truncated gzip file (``dst`` is untouched).
        OSError: ``dst`` cannot be written.
    """
    digest = hashlib.sha256()
    expected_size, size = size, 0
    opener = gzip.open if is_gzip(src) else open
    with atomic_file(dst) as out:
        try:
            with opener(src, "rb") as f:
                while True:
                    want = _CHUNK if max_size is None else min(_CHUNK, max_size - size + 1)
                    block = f.read(want)
                    if not block:
                        break
                    if max_size is not None and size + len(block) > max_size:
                        raise TooLargeError(
                            f"{os.path.basename(src)} decompresses to more than {max_size} bytes, "
                            f"more than the file it should hold; stopped there")
                    out.write(block)
                    digest.update(block)
                    size += len(block)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise CorruptFileError(f"{os.path.basename(src)} is not a valid gzip file ({exc})") from None
        if (sha256 is not None and digest.hexdigest() != sha256) or \
                (expected_size is not None and size != expected_size):
            raise MismatchError(f"{os.path.basename(src)} does not decompress to the expected "
                                f"content", size, digest.hexdigest())
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
        data = load_file(os.path.join(folder, MARKER))
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
