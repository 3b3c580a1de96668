"""MnistDataset on a folder of .gz files the user gave: the decompressed copies go to TINYMS_HOME, never into that folder.

The cache is keyed by the content of the .gz files (their SHA-256), not by where they are:
a second read (of the same folder or of a copy elsewhere) decompresses nothing, and a file
whose content changed is decompressed again even when its size and time stay the same.
"""

import gzip
import os
import shutil
import stat

import numpy as np
import pytest

from tinyms.data import MnistDataset, _files

from _data_paths import SAMPLE_DIR

TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def snapshot(folder):
    """Every entry under ``folder`` (hidden ones too) with its size and modification time, and the folder's own."""
    entries = {".": os.stat(folder).st_mtime_ns}
    for parent, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(parent, name)
            info = os.lstat(path)
            entries[os.path.relpath(path, folder)] = (stat.S_ISDIR(info.st_mode), info.st_size, info.st_mtime_ns)
    return entries


def cache_files(home):
    """Relative path -> (inode, mtime) of every regular file under ``home``/cache."""
    found = {}
    for parent, _, files in os.walk(os.path.join(home, "cache")):
        for name in files:
            path = os.path.join(parent, name)
            if os.path.isfile(path) and not os.path.islink(path):
                info = os.stat(path)
                found[os.path.relpath(path, home)] = (info.st_ino, info.st_mtime_ns)
    return found


def first_image(dataset):
    image, _ = next(dataset.create_tuple_iterator(output_numpy=True))
    return image


def gz_first_image(path):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(16 + 784), np.uint8, offset=16).reshape(28, 28, 1)


@pytest.fixture
def gz_folder(tmp_path):
    """A folder holding the sample's four .gz files side by side, as a user downloads them."""
    folder = tmp_path / "my-mnist"
    folder.mkdir()
    for split in ("train", "test"):
        for name in os.listdir(os.path.join(SAMPLE_DIR, split)):
            shutil.copy2(os.path.join(SAMPLE_DIR, split, name), folder / name)
    return folder


@pytest.fixture
def home(tmp_path):
    return str(tmp_path / "home")  # TINYMS_HOME, set by conftest's isolated_env


def no_decompressing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("decompressed again instead of reading the cache")

    monkeypatch.setattr(_files, "decompress", refuse)


def test_reading_leaves_the_input_folder_unchanged(gz_folder, home):
    before = snapshot(gz_folder)

    train = MnistDataset(gz_folder, usage="train", shuffle=False)
    every = MnistDataset(gz_folder, shuffle=False)
    test = MnistDataset(gz_folder, usage="test", shuffle=False)

    assert (train.get_dataset_size(), every.get_dataset_size(), test.get_dataset_size()) == (6000, 7000, 1000)
    assert (first_image(train) == gz_first_image(gz_folder / (TRAIN[0] + ".gz"))).all()
    assert (first_image(test) == gz_first_image(gz_folder / (TEST[0] + ".gz"))).all()
    assert snapshot(gz_folder) == before  # no .tinyms-cache, no view folder, nothing touched
    assert {os.path.basename(path) for path in cache_files(home)} >= set(TRAIN + TEST)


def test_second_read_and_a_copy_elsewhere_hit_the_cache(gz_folder, home, tmp_path, monkeypatch):
    assert MnistDataset(gz_folder, usage="test").get_dataset_size() == 1000
    cached = cache_files(home)
    copy = tmp_path / "elsewhere"
    shutil.copytree(gz_folder, copy, ignore=shutil.ignore_patterns(".*"))  # the .gz files only
    no_decompressing(monkeypatch)

    assert MnistDataset(gz_folder, usage="test").get_dataset_size() == 1000
    assert MnistDataset(copy, usage="test").get_dataset_size() == 1000  # keyed by content, not by path
    assert {path: entry for path, entry in cache_files(home).items() if path in cached} == cached


def test_a_changed_file_is_decompressed_again(gz_folder):
    images = gz_folder / (TEST[0] + ".gz")
    assert (first_image(MnistDataset(gz_folder, usage="test", shuffle=False)) == gz_first_image(images)).all()
    info = os.stat(images)
    with gzip.open(images, "rb") as f:
        raw = bytearray(f.read())
    raw[16:16 + 784] = bytes(255 - b for b in raw[16:16 + 784])  # the first digit inverted
    changed = gzip.compress(bytes(raw), mtime=0)
    with open(images, "r+b") as f:  # same name, and same time: only the content tells
        f.write(changed)
        f.truncate()
    os.utime(images, ns=(info.st_atime_ns, info.st_mtime_ns))

    image = first_image(MnistDataset(gz_folder, usage="test", shuffle=False))

    assert (image == 255 - gz_first_image(SAMPLE_DIR + f"/test/{TEST[0]}.gz")).all()


def test_read_only_input_folder(gz_folder, home):
    before = snapshot(gz_folder)
    for name in os.listdir(gz_folder):
        os.chmod(gz_folder / name, 0o444)
    os.chmod(gz_folder, 0o555)
    try:
        assert MnistDataset(gz_folder, usage="train").get_dataset_size() == 6000
        assert MnistDataset(gz_folder).get_dataset_size() == 7000
    finally:
        os.chmod(gz_folder, 0o755)
    assert snapshot(gz_folder) == before
    assert cache_files(home)


def test_stray_files_in_a_raw_folder_are_left_out_without_writing_there(tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    for name in TEST:
        with gzip.open(os.path.join(SAMPLE_DIR, "test", name + ".gz"), "rb") as f:
            (folder / name).write_bytes(f.read())
    shutil.copy(folder / TEST[1], folder / (TEST[1] + ".bak"))  # MindSpore alone would read it too
    before = snapshot(folder)

    dataset = MnistDataset(folder, usage="test")

    assert sum(1 for _ in dataset.create_tuple_iterator()) == 1000
    assert snapshot(folder) == before
