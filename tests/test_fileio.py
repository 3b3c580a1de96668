"""The shared atomic-write helpers: all or nothing, synced, readable, stale temporaries swept."""

import os

import pytest

from tinyms._checks import non_negative_int, positive_int
from tinyms._fileio import atomic_file, atomic_path, sweep_stale_temps, write_json_atomic


def test_atomic_file_writes_all_or_nothing(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_file(str(target)) as f:
            f.write(b"half")
            raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["out.bin"]
    with atomic_file(str(target)) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new" and os.stat(target).st_mode & 0o777 == 0o644


def test_atomic_path_hands_a_name_to_a_writer(tmp_path):
    target = tmp_path / "model.onnx"
    with atomic_path(str(target), suffix=".onnx") as tmp:
        assert tmp.endswith(".onnx") and os.path.dirname(tmp) == str(tmp_path)
        with open(tmp, "wb") as f:
            f.write(b"x")
        os.chmod(tmp, 0o400)  # what MindSpore does to its files
    assert os.stat(target).st_mode & 0o777 == 0o644 and os.listdir(tmp_path) == ["model.onnx"]


def test_sweep_removes_only_temporaries_of_dead_processes(tmp_path):
    dead = tmp_path / ".tmp-999999999-abc.ckpt"
    alive = tmp_path / f".tmp-{os.getpid()}-abc.ckpt"
    user = tmp_path / "notes.tmp"
    for p in (dead, alive, user):
        p.write_bytes(b"x")
    sweep_stale_temps(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == sorted([alive.name, user.name])


def test_write_json_atomic_creates_folders(tmp_path):
    path = tmp_path / "a" / "b.json"
    write_json_atomic(str(path), {"k": 1})
    assert path.read_text().strip() == '{\n  "k": 1\n}'


@pytest.mark.parametrize("check, value, error", [
    (positive_int, 0, ValueError), (positive_int, True, TypeError), (positive_int, 2.0, TypeError),
    (non_negative_int, -1, ValueError), (non_negative_int, "3", TypeError)])
def test_integer_checks_name_the_argument(check, value, error):
    with pytest.raises(error, match="batch_size"):
        check(value, "batch_size", 32)
    assert positive_int(3, "n") == 3 and non_negative_int(0, "n") == 0
