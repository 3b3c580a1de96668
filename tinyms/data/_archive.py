"""Safe, atomic extraction of tar archives (``.tar``, ``.tar.gz``, ``.tgz``) and zip archives.

Every member is checked before anything is written for it: absolute names, ``..``
components, members outside the expected prefix, symbolic links that are absolute or
contain ``..``, hard links to anything but a regular file extracted earlier from the same
archive, and device files or FIFOs are refused with an :class:`~tinyms.errors.ArchiveError`
naming the member. The member count and the sum of member sizes are bounded.

A zip archive (recognised by its content, whatever its name) holds only folders and regular
files: a symbolic link, a device file or an encrypted member is refused, the member count is
checked against the central directory before anything is written, and every member is
capped at the size its header declares (a member inflating beyond it is refused).

The archive is extracted into a temporary folder next to the destination
(``.tmp-<pid>-extract-*``) and renamed into place only when complete, so the destination
either holds the whole archive or is untouched. A temporary folder left by a process that
died is removed by the next extraction in the same parent folder.
"""

import contextlib
import gzip
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib

from .._fileio import TMP_PREFIX, sweep_stale_temps
from ..errors import ArchiveError

__all__ = ["extract", "tree_stats"]

_CHUNK = 1 << 20
_DAMAGED = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile,
            zipfile.LargeZipFile, NotImplementedError)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def extract(archive, dest, *, strip="", max_bytes, max_members, label=None):
    """Extract the tar or zip archive ``archive`` into the folder ``dest``, safely and atomically.

    Args:
        archive: path of the archive (plain or gzip-compressed tar, or zip).
        dest: the folder to create (replaced if it exists) holding the members.
        strip: a prefix every member name must start with, removed from the names (members
            that are parent folders of the prefix itself are skipped).
        max_bytes: the most bytes the members may add up to.
        max_members: the most members the archive may hold.
        label: the archive's name in errors; default its file name.

    Returns:
        (int, int): :func:`tree_stats` of the extracted folder.

    Raises:
        ArchiveError: an unsafe member, a damaged or truncated archive, too many members or
            bytes; ``dest`` is untouched and no temporary folder is left.
        OSError: ``dest`` cannot be written.
    """
    label = label or os.path.basename(archive)
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    sweep_stale_temps(parent, folders=True)
    tmp = tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-extract-", dir=parent)
    try:
        os.chmod(tmp, 0o755)
        _Extractor(tmp, strip, max_bytes, max_members, label).run(archive)
        counts = tree_stats(tmp)
        if hasattr(os, "sync"):
            os.sync()  # one flush for every extracted file before the rename publishes them
        _replace_folder(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return counts


def tree_stats(folder):
    """(number of files and links, bytes of the regular files) under ``folder``.

    TinyMS's own bookkeeping files (``.tinyms*``) are not counted. Used to record an
    extraction and to check later that it is still complete.
    """
    files = size = 0
    for parent, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".tinyms")]
        for name in names:
            if name.startswith(".tinyms"):
                continue
            st = os.lstat(os.path.join(parent, name))
            files += 1
            size += st.st_size if not os.path.islink(os.path.join(parent, name)) else 0
    return files, size


def _replace_folder(new, dest):
    """Rename folder ``new`` to ``dest``; an existing ``dest`` is moved aside, then removed."""
    old = None
    if os.path.lexists(dest):
        old = tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-old-", dir=os.path.dirname(dest))
        os.rmdir(old)
        os.rename(dest, old)
    os.rename(new, dest)
    if old is not None:
        if os.path.isdir(old) and not os.path.islink(old):
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.unlink(old)


class _Extractor:
    def __init__(self, root, strip, max_bytes, max_members, label):
        self.root = root
        self.strip = strip
        self.max_bytes = max_bytes
        self.max_members = max_members
        self.label = label
        self.files = set()   # relative names of regular files extracted so far
        self.total = 0
        self.count = 0

    def refuse(self, member, why):
        raise ArchiveError(
            f"refused to extract {self.label}: member {member!r} {why}. Nothing was extracted. "
            f"Fix: the archive is not the expected one; delete it and download it again, or "
            f"correct the dataset's registered checksum if you made the archive yourself",
            member=member)

    def run(self, archive):
        try:
            with open(archive, "rb") as f:
                is_zip = f.read(4) in _ZIP_MAGIC
            if is_zip:
                self.run_zip(archive)
            else:
                with tarfile.open(archive, mode="r|*") as tar:
                    for member in tar:
                        self.member(tar, member)
        except ArchiveError:
            raise
        except _DAMAGED as exc:
            raise ArchiveError(
                f"{self.label} is damaged or truncated ({type(exc).__name__}: {exc}); nothing was "
                f"extracted. Fix: delete it and download it again") from None
        if not self.files:
            raise ArchiveError(f"{self.label} holds no files under {self.strip or 'its top folder'!r}; "
                               f"nothing was extracted. Fix: check the archive and the dataset's "
                               f"strip= prefix")

    def relative(self, name, member):
        """The member's path relative to the destination, or None for a skipped folder."""
        if name.startswith("/") or (len(name) > 1 and name[1] == ":") or "\\" in name:
            self.refuse(member, "has an absolute path")
        while name.startswith("./"):
            name = name[2:]
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if ".." in parts:
            self.refuse(member, "contains '..' and would land outside the target folder")
        name = "/".join(parts)
        if self.strip:
            prefix = self.strip.rstrip("/")
            if name == prefix or prefix.startswith(name + "/"):
                return None  # a parent folder of the prefix
            if not name.startswith(self.strip):
                self.refuse(member, f"is outside the expected folder {self.strip!r}")
            name = name[len(self.strip):]
        return name or None

    def add(self, members=0, size=0, name=None):
        """Count ``members`` more members and ``size`` more bytes (at member ``name``) against the bounds."""
        self.count += members
        self.total += size
        if self.count > self.max_members:
            raise ArchiveError(f"{self.label} holds more than {self.max_members} members, more "
                               f"than this dataset can have; nothing was extracted. Fix: delete it "
                               f"and download it again")
        if self.total > self.max_bytes:
            raise ArchiveError(f"{self.label}: its members add up to more than {self.max_bytes} "
                               f"bytes, more than this dataset can have (at member {name!r}); "
                               f"nothing was extracted. Fix: delete it and download it again")

    def member(self, tar, info):
        self.add(members=1)
        rel = self.relative(info.name, info.name)
        if info.isdev() or info.isfifo():
            self.refuse(info.name, "is a device file or FIFO")
        if rel is None:
            if not info.isdir():
                self.refuse(info.name, "is not a folder but replaces the expected top folder")
            return
        path = os.path.join(self.root, *rel.split("/"))
        if info.isdir():
            os.makedirs(path, mode=0o755, exist_ok=True)
            return
        if not (info.isreg() or info.issym() or info.islnk()):
            self.refuse(info.name, f"has an unsupported type ({info.type!r})")
        self.add(size=info.size if info.isreg() else 0, name=info.name)
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # a later member replaces an earlier one, never writes through it
        if info.issym():
            target = info.linkname
            if target.startswith("/") or ".." in target.split("/") or "\\" in target:
                self.refuse(info.name, f"is a symbolic link to {target!r}, which points outside "
                                       f"the target folder")
            os.symlink(target, path)
        elif info.islnk():
            target = self.relative(info.linkname, info.name)
            if target not in self.files:
                self.refuse(info.name, f"is a hard link to {info.linkname!r}, which is not a file "
                                       f"extracted from this archive before it")
            os.link(os.path.join(self.root, *target.split("/")), path)
        else:
            self.copy(tar.extractfile(info), path)
        self.files.add(rel)

    def copy(self, src, path, limit=None, name=None):
        """Copy the member stream ``src`` to a new file ``path``; at most ``limit`` bytes."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        with src, os.fdopen(os.open(path, flags, 0o644), "wb") as out:
            if limit is None:
                shutil.copyfileobj(src, out, _CHUNK)
                return
            left = limit
            while True:
                block = src.read(min(_CHUNK, left + 1))
                if not block:
                    return
                left -= len(block)
                if left < 0:
                    self.refuse(name, f"holds more than the {limit} bytes its header declares")
                out.write(block)

    # ------------------------------------------------------------------ zip
    def run_zip(self, archive):
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            self.add(members=len(infos))  # the central directory says it all: check it first
            for info in infos:
                self.zip_member(zf, info)

    def zip_member(self, zf, info):
        name = info.filename
        mode = info.external_attr >> 16 if info.create_system == 3 else 0  # 3: made on Unix
        kind = stat.S_IFMT(mode)
        if stat.S_ISLNK(mode):
            self.refuse(name, "is a symbolic link, which a zip dataset archive may not hold")
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            self.refuse(name, "is a device file, FIFO or socket")
        if info.flag_bits & 0x1:
            self.refuse(name, "is encrypted")
        rel = self.relative(name, name)
        is_dir = info.is_dir() or kind == stat.S_IFDIR
        if rel is None:
            if not is_dir:
                self.refuse(name, "is not a folder but replaces the expected top folder")
            return
        path = os.path.join(self.root, *rel.split("/"))
        if is_dir:
            os.makedirs(path, mode=0o755, exist_ok=True)
            return
        self.add(size=info.file_size, name=name)
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # a later member replaces an earlier one, never writes through it
        self.copy(zf.open(info), path, limit=info.file_size, name=name)
        self.files.add(rel)
