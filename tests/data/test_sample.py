"""tinyms.data.sample: the bundled MNIST sample."""

import os

import numpy as np
import pytest

from tinyms.data import download_dataset, sample_dataset
from tinyms.errors import DatasetError, UnknownNameError

from _data_paths import LAYOUT, SAMPLE_DIR, visible_files


def read_labels(path):
    with open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=8)


def test_sample_is_balanced_and_in_tinyms_home(tmp_path):
    path = sample_dataset("mnist")
    assert path == os.path.join(str(tmp_path / "home"), "samples", "mnist")
    train = read_labels(os.path.join(path, "train", "train-labels-idx1-ubyte"))
    test = read_labels(os.path.join(path, "test", "t10k-labels-idx1-ubyte"))
    assert np.bincount(train, minlength=10).tolist() == [600] * 10
    assert np.bincount(test, minlength=10).tolist() == [100] * 10
    assert os.path.getsize(os.path.join(path, "train", "train-images-idx3-ubyte")) == 16 + 6000 * 784
    assert os.path.getsize(os.path.join(path, "test", "t10k-images-idx3-ubyte")) == 16 + 1000 * 784


def test_sample_layout_equals_download_layout(sample_mirror, tmp_path):
    sample = sample_dataset()
    downloaded = download_dataset("mnist", tmp_path / "dl", mirror=sample_mirror.url, progress=False)
    assert visible_files(sample) == visible_files(downloaded) == LAYOUT
    for rel in LAYOUT:
        with open(os.path.join(sample, rel), "rb") as a, open(os.path.join(downloaded, rel), "rb") as b:
            assert a.read() == b.read()


def test_bundled_sample_is_small():
    total = sum(os.path.getsize(os.path.join(folder, f))
                for folder, _, files in os.walk(SAMPLE_DIR) for f in files)
    assert total <= 2_000_000


def test_second_call_keeps_the_files():
    path = sample_dataset()
    target = os.path.join(path, "train", "train-images-idx3-ubyte")
    before = os.stat(target).st_mtime_ns
    assert sample_dataset() == path
    assert os.stat(target).st_mtime_ns == before


def test_damaged_or_deleted_files_are_restored():
    path = sample_dataset()
    images = os.path.join(path, "test", "t10k-images-idx3-ubyte")
    labels = os.path.join(path, "train", "train-labels-idx1-ubyte")
    good = open(labels, "rb").read()
    os.remove(images)
    with open(labels, "r+b") as f:
        f.seek(20)
        f.write(b"\xff")
    sample_dataset()
    assert os.path.getsize(images) == 16 + 1000 * 784
    assert open(labels, "rb").read() == good


def test_unwritable_home_raises_dataset_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("TINYMS_HOME", str(blocker))
    with pytest.raises(DatasetError, match="TINYMS_HOME"):
        sample_dataset()


def test_unknown_sample():
    with pytest.raises(UnknownNameError, match="mnist"):
        sample_dataset("cifar10")
