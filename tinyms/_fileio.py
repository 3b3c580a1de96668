"""Private, MindSpore-free file helpers shared by data, model, hub and serving.

Everything TinyMS writes goes to a temporary name in the destination folder first, is
flushed and fsync'ed, and is renamed into place only when complete, so a crash never leaves
a half-written file under its final name. Temporary names start with ``.tmp-`` (and never
contain an IDX file name, which MindSpore's MNIST reader would pick up); a temporary file
left by a process that died is removed by :func:`sweep_stale_temps` on the next write.
"""

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time

try:  # POSIX only; elsewhere concurrent processes are simply not serialised
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

__all__ = ["TMP_PREFIX", "atomic_file", "atomic_path", "fsync_path", "locked", "sha256_of",
           "sweep_stale_temps", "write_json_atomic", "FILE_MODE"]

TMP_PREFIX = ".tmp-"
FILE_MODE = 0o644  # what a user's other tools expect; MindSpore itself writes 0400
_CHUNK = 1 << 20
_STALE_SECONDS = 3600.0


def sha256_of(path):
    """SHA-256 hex digest of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_path(path):
    """Flush a file written by someone else (e.g. MindSpore) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder):
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def sweep_stale_temps(folder, suffix="", older_than=_STALE_SECONDS, folders=False):
    """Remove ``.tmp-*<suffix>`` files in ``folder`` left by processes that died mid-write.

    A temporary file is stale when its writer's process no longer exists (the pid is part of
    the name) or, for names without a pid, when it is older than ``older_than`` seconds.
    With ``folders=True`` stale temporary folders (e.g. a half-extracted archive) are removed
    too, with everything in them.
    """
    try:
        names = os.listdir(folder)
    except OSError:
        return
    now = time.time()
    for name in names:
        if not name.startswith(TMP_PREFIX) or not name.endswith(suffix):
            continue
        path = os.path.join(folder, name)
        pid = _pid_in(name)
        try:
            stale = (not _alive(pid)) if pid else now - os.lstat(path).st_mtime > older_than
            if not stale:
                continue
            if not os.path.isdir(path) or os.path.islink(path):
                os.unlink(path)
            elif folders:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


def _pid_in(name):
    parts = name[len(TMP_PREFIX):].split("-")
    return int(parts[0]) if parts and parts[0].isdigit() else None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _new_temp(path, suffix=""):
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", suffix=suffix, dir=folder)
    return fd, tmp, folder


@contextlib.contextmanager
def _placed(tmp, path, folder):
    """Rename the (synced) ``tmp`` to ``path`` when the block succeeds; remove it when it fails."""
    try:
        yield
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
        _fsync_dir(folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary path next to ``path`` for a writer that wants a file name.

    When the block ends without an exception the temporary file is fsync'ed, given mode
    0644 and renamed to ``path``; on any exception it is removed and ``path`` is untouched.

    Example:
        >>> with atomic_path("/tmp/out.bin") as tmp:   # doctest: +SKIP
        ...     some_library.save(tmp)
    """
    fd, tmp, folder = _new_temp(path, suffix)
    os.close(fd)
    with _placed(tmp, path, folder):
        yield tmp
        fsync_path(tmp)


@contextlib.contextmanager
def atomic_file(path, mode="wb", **open_kwargs):
    """Yield an open file writing to a temporary name next to ``path``; rename it on success.

    The data is flushed and fsync'ed before the rename; on any exception the temporary file is
    removed and ``path`` is left untouched.
    """
    fd, tmp, folder = _new_temp(path)
    with _placed(tmp, path, folder):
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def write_json_atomic(path, data, indent=2):
    """Write ``data`` as JSON to ``path`` atomically (parent folders are created)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_file(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=indent)
        f.write("\n")


@contextlib.contextmanager
def locked(path):
    """Hold an exclusive inter-process lock on the (created if needed) file ``path``."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(path, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
