"""tinyms.data.mnist: MnistDataset validates folders at construction."""

import hashlib
import os
import shutil
import struct

import mindspore.dataset as ds
import numpy as np
import pytest

from tinyms.data import MnistDataset, sample_dataset
from tinyms.errors import DatasetError

from _data_paths import SAMPLE_DIR

TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture
def sample():
    return sample_dataset("mnist")


@pytest.fixture
def train_copy(sample, tmp_path):
    """A writable folder holding a copy of the sample's raw training files."""
    folder = tmp_path / "train_copy"
    shutil.copytree(os.path.join(sample, "train"), folder)
    return folder


def first_row(dataset):
    image, label = next(dataset.create_tuple_iterator(output_numpy=True))
    return image, int(label)


def raw_first_image(path):
    with open(path, "rb") as f:
        return np.frombuffer(f.read(16 + 784), np.uint8, offset=16).reshape(28, 28, 1)


def rewrite_header(path, fmt, *values):
    with open(path, "r+b") as f:
        f.write(struct.pack(fmt, *values))


# --------------------------------------------------------------------------- reading
def test_split_folder_gives_a_working_mindspore_dataset(sample):
    dataset = MnistDataset(os.path.join(sample, "train"), shuffle=False)
    assert isinstance(dataset, ds.MnistDataset)
    assert dataset.get_dataset_size() == 6000
    image, _ = first_row(dataset)
    assert image.dtype == np.uint8 and image.shape == (28, 28, 1)
    assert (image == raw_first_image(os.path.join(sample, "train", TRAIN[0]))).all()
    batch = dataset.map(lambda x: (x / 255.0).astype(np.float32), input_columns="image").batch(100)
    images, labels = next(batch.create_tuple_iterator(output_numpy=True))
    assert images.shape == (100, 28, 28, 1) and images.dtype == np.float32 and labels.shape == (100,)


@pytest.mark.parametrize("usage, size", [("train", 6000), ("test", 1000), ("all", 7000), (None, 7000)])
def test_dataset_folder_with_usage(sample, usage, size):
    assert MnistDataset(sample, usage=usage).get_dataset_size() == size


def test_all_puts_test_images_first(sample):
    image, _ = first_row(MnistDataset(sample, usage="all", shuffle=False))
    assert (image == raw_first_image(os.path.join(sample, "test", TEST[0]))).all()


def test_options_are_passed_to_mindspore(sample):
    test = os.path.join(sample, "test")
    assert MnistDataset(test, num_samples=50).get_dataset_size() == 50
    assert MnistDataset(test, num_shards=4, shard_id=1).get_dataset_size() == 250
    labels = [int(l) for _, l in MnistDataset(test, shuffle=False).create_tuple_iterator(output_numpy=True)]
    with open(os.path.join(test, TEST[1]), "rb") as f:
        assert labels == list(np.frombuffer(f.read(), np.uint8, offset=8))


def test_gzip_only_folder_is_decompressed_once(tmp_path):
    folder = tmp_path / "gz"
    shutil.copytree(os.path.join(SAMPLE_DIR, "train"), folder)

    dataset = MnistDataset(folder, usage="train", shuffle=False)

    assert dataset.get_dataset_size() == 6000
    digest = hashlib.sha256((folder / (TRAIN[0] + ".gz")).read_bytes()).hexdigest()
    cached = tmp_path / "home" / "cache" / "mnist" / digest / TRAIN[0]  # in TINYMS_HOME, keyed by content
    assert (first_row(dataset)[0] == raw_first_image(cached)).all()
    before = os.stat(cached).st_mtime_ns
    assert MnistDataset(folder).get_dataset_size() == 6000
    assert os.stat(cached).st_mtime_ns == before
    assert sorted(os.listdir(folder)) == [TRAIN[0] + ".gz", TRAIN[1] + ".gz"]  # nothing written there


def test_gzip_files_in_download_layout(tmp_path):
    shutil.copytree(SAMPLE_DIR, tmp_path / "mnist")
    assert MnistDataset(tmp_path / "mnist").get_dataset_size() == 7000
    assert MnistDataset(tmp_path / "mnist", usage="test").get_dataset_size() == 1000


def test_stray_copies_next_to_the_files_are_ignored(train_copy):
    shutil.copy(os.path.join(SAMPLE_DIR, "train", TRAIN[0] + ".gz"), train_copy)
    shutil.copy(train_copy / TRAIN[1], train_copy / (TRAIN[1] + ".bak"))
    dataset = MnistDataset(train_copy, usage="train")
    assert dataset.get_dataset_size() == 6000
    assert sum(1 for _ in dataset.create_tuple_iterator()) == 6000


# --------------------------------------------------------------------------- errors
def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="does not exist") as info:
        MnistDataset(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(info.value)
    assert "download_dataset('mnist')" in str(info.value)


def test_file_instead_of_folder(train_copy):
    with pytest.raises(DatasetError, match="is a file, not a folder"):
        MnistDataset(train_copy / TRAIN[0])


def test_folder_without_mnist_files(tmp_path):
    (tmp_path / "readme.txt").write_text("hello")
    with pytest.raises(DatasetError, match="no MNIST files") as info:
        MnistDataset(tmp_path)
    assert "train-images-idx3-ubyte" in str(info.value) and "Fix" in str(info.value)


def test_missing_labels_file(train_copy):
    os.remove(train_copy / TRAIN[1])
    with pytest.raises(DatasetError, match="is missing") as info:
        MnistDataset(train_copy)
    assert str(train_copy / TRAIN[1]) in str(info.value)


def test_usage_without_files(train_copy):
    with pytest.raises(DatasetError, match="usage='test'") as info:
        MnistDataset(train_copy, usage="test")
    assert TEST[0] in str(info.value)


def test_invalid_usage(sample):
    with pytest.raises(DatasetError, match="'train', 'test', 'all'"):
        MnistDataset(sample, usage="validation")


def test_bad_magic_number(train_copy):
    rewrite_header(train_copy / TRAIN[0], ">I", 1234)
    with pytest.raises(DatasetError, match="magic number is 1234, expected 2051") as info:
        MnistDataset(train_copy)
    assert str(train_copy / TRAIN[0]) in str(info.value) and "Fix" in str(info.value)


def test_labels_and_images_swapped(train_copy):
    os.rename(train_copy / TRAIN[0], train_copy / "tmp")
    os.rename(train_copy / TRAIN[1], train_copy / TRAIN[0])
    os.rename(train_copy / "tmp", train_copy / TRAIN[1])
    with pytest.raises(DatasetError, match="looks like a labels file"):
        MnistDataset(train_copy)


def test_truncated_images_file(train_copy):
    path = train_copy / TRAIN[0]
    with open(path, "r+b") as f:
        f.truncate(16 + 3000 * 784)
    with pytest.raises(DatasetError, match="truncated") as info:
        MnistDataset(train_copy)
    message = str(info.value)
    assert str(path) in message and "6000 images" in message and str(16 + 3000 * 784) in message


def test_trailing_bytes(train_copy):
    with open(train_copy / TRAIN[1], "ab") as f:
        f.write(b"\x00" * 7)
    with pytest.raises(DatasetError, match="longer than its header says"):
        MnistDataset(train_copy)


def test_image_and_label_counts_differ(train_copy):
    path = train_copy / TRAIN[1]
    with open(path, "r+b") as f:
        f.truncate(8 + 5000)
    rewrite_header(path, ">II", 2049, 5000)
    with pytest.raises(DatasetError, match="6000 images but .* 5000 labels"):
        MnistDataset(train_copy)


def test_wrong_image_size(tmp_path):
    with open(tmp_path / TRAIN[0], "wb") as f:
        f.write(struct.pack(">IIII", 2051, 2, 32, 32) + bytes(2 * 32 * 32))
    with open(tmp_path / TRAIN[1], "wb") as f:
        f.write(struct.pack(">II", 2049, 2) + bytes(2))
    with pytest.raises(DatasetError, match="32x32"):
        MnistDataset(tmp_path)


def test_damaged_gzip(tmp_path):
    shutil.copytree(os.path.join(SAMPLE_DIR, "test"), tmp_path / "gz")
    path = tmp_path / "gz" / (TEST[0] + ".gz")
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(DatasetError, match="cannot decompress") as info:
        MnistDataset(tmp_path / "gz")
    assert str(path) in str(info.value)
    assert sorted(os.listdir(tmp_path / "gz")) == [TEST[0] + ".gz", TEST[1] + ".gz"]
    assert not [f for _, _, files in os.walk(tmp_path / "home" / "cache") for f in files if f == TEST[0]]
