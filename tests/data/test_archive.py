"""tinyms.data._archive: safe, atomic tar extraction (every refusal names the member)."""

import os
import subprocess
import sys
import tarfile

import pytest

from tinyms.data import _archive
from tinyms.errors import ArchiveError, DownloadError

from formats import member, tar_bytes

GOOD = {"top/a.txt": b"alpha", "top/sub/b.txt": b"beta" * 10}


def write(tmp_path, data, name="x.tar.gz"):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def extract(archive, dest, **kwargs):
    options = dict(strip="top/", max_bytes=10_000, max_members=100)
    options.update(kwargs)
    return _archive.extract(archive, str(dest), **options)


def entries(folder):
    return sorted(os.listdir(folder))


def test_extracts_with_prefix_stripped_and_counts(tmp_path):
    archive = write(tmp_path, tar_bytes(GOOD))
    assert extract(archive, tmp_path / "out") == (2, 45)
    assert (tmp_path / "out" / "a.txt").read_bytes() == b"alpha"
    assert (tmp_path / "out" / "sub" / "b.txt").read_bytes() == b"beta" * 10
    assert oct((tmp_path / "out" / "a.txt").stat().st_mode & 0o777) == "0o644"
    assert entries(tmp_path) == ["out", "x.tar.gz"]  # no temporary folder left


@pytest.mark.parametrize("hostile, why", [
    (member("/etc/evil", data=b"x"), "absolute path"),
    (member("top/../../evil", data=b"x"), "'..'"),
    (member("top/link", tarfile.SYMTYPE, link="/etc/passwd"), "symbolic link to '/etc/passwd'"),
    (member("top/link", tarfile.SYMTYPE, link="../../outside"), "points outside"),
    (member("top/hard", tarfile.LNKTYPE, link="/etc/passwd"), "absolute path"),
    (member("top/hard", tarfile.LNKTYPE, link="top/missing"), "hard link"),
    (member("top/dev", tarfile.CHRTYPE), "device file"),
    (member("top/disk", tarfile.BLKTYPE), "device file"),
    (member("top/pipe", tarfile.FIFOTYPE), "FIFO"),
    (member("other/file", data=b"x"), "outside the expected folder 'top/'"),
], ids=["absolute", "dotdot", "symlink-absolute", "symlink-dotdot", "hardlink-absolute",
        "hardlink-unknown", "char-device", "block-device", "fifo", "outside-prefix"])
def test_hostile_member_is_refused_by_name_and_nothing_is_left(tmp_path, hostile, why):
    archive = write(tmp_path, tar_bytes(GOOD, extra=[hostile]))
    with pytest.raises(ArchiveError, match=why) as info:
        extract(archive, tmp_path / "out")
    assert hostile[0].name in str(info.value) and info.value.member == hostile[0].name
    assert isinstance(info.value, DownloadError)
    assert entries(tmp_path) == ["x.tar.gz"]  # neither the destination nor a temporary folder
    assert not (tmp_path.parent / "evil").exists() and not (tmp_path / "evil").exists()


def test_links_inside_the_tree_are_kept(tmp_path):
    extra = [member("top/same", tarfile.SYMTYPE, link="sub/b.txt"),
             member("top/hard", tarfile.LNKTYPE, link="top/a.txt")]
    archive = write(tmp_path, tar_bytes(GOOD, extra=extra))
    extract(archive, tmp_path / "out")
    assert (tmp_path / "out" / "same").read_bytes() == b"beta" * 10
    assert os.path.samefile(tmp_path / "out" / "hard", tmp_path / "out" / "a.txt")


def test_member_count_and_size_are_bounded(tmp_path):
    archive = write(tmp_path, tar_bytes(GOOD))
    with pytest.raises(ArchiveError, match="more than 3 members"):
        extract(archive, tmp_path / "out", max_members=3)  # 2 folders + 2 files
    with pytest.raises(ArchiveError, match="more than 44 bytes"):
        extract(archive, tmp_path / "out", max_bytes=44)
    assert entries(tmp_path) == ["x.tar.gz"]


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_archive_is_refused(tmp_path, gz):
    data = tar_bytes({"top/big.bin": os.urandom(50_000)}, gz=gz)
    archive = write(tmp_path, data[: len(data) // 2])
    with pytest.raises(ArchiveError, match="damaged or truncated"):
        extract(archive, tmp_path / "out", max_bytes=100_000)
    assert entries(tmp_path) == ["x.tar.gz"]


def test_archive_without_files_is_refused(tmp_path):
    archive = write(tmp_path, tar_bytes({"elsewhere.txt": b"x"}))
    with pytest.raises(ArchiveError, match="outside the expected folder"):
        extract(archive, tmp_path / "out")
    archive = write(tmp_path, tar_bytes({}), "empty.tar.gz")
    with pytest.raises(ArchiveError, match="holds no files"):
        extract(archive, tmp_path / "out")


def test_interrupted_extraction_leaves_nothing_and_a_retry_is_clean(tmp_path, monkeypatch):
    archive = write(tmp_path, tar_bytes(GOOD))
    real_copy = _archive._Extractor.copy
    calls = []

    def copy_then_die(self, src, path):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of the second file
        real_copy(self, src, path)

    monkeypatch.setattr(_archive._Extractor, "copy", copy_then_die)
    with pytest.raises(KeyboardInterrupt):
        extract(archive, tmp_path / "out")
    assert entries(tmp_path) == ["x.tar.gz"]
    monkeypatch.setattr(_archive._Extractor, "copy", real_copy)
    assert extract(archive, tmp_path / "out") == (2, 45)


def test_temp_folder_of_a_dead_process_is_swept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = tmp_path / f".tmp-{int(dead.stdout)}-extract-abc"
    (stale / "half").mkdir(parents=True)
    (stale / "half" / "file").write_bytes(b"partial")
    mine = tmp_path / f".tmp-{os.getpid()}-extract-live"  # a live process's folder stays
    mine.mkdir()
    archive = write(tmp_path, tar_bytes(GOOD))
    extract(archive, tmp_path / "out")
    assert not stale.exists() and mine.exists()


def test_existing_destination_is_replaced_whole(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_bytes(b"stale")
    archive = write(tmp_path, tar_bytes(GOOD))
    extract(archive, tmp_path / "out")
    assert entries(tmp_path / "out") == ["a.txt", "sub"]
    assert entries(tmp_path) == ["out", "x.tar.gz"]
