"""Loaders check folders before MindSpore reads them: every error names the file and the fix."""

import os
import shutil

import numpy as np
import pytest

from tinyms.data import (Cifar10Dataset, Cifar100Dataset, FashionMnistDataset, ImageFolderDataset,
                         VOCDataset, _images, class_names)
from tinyms.errors import DatasetError

import formats

CIFAR10_NAMES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


@pytest.fixture(scope="module")
def cifar10_good(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cifar10-good")
    for name, data in formats.cifar10_files().items():
        (folder / os.path.basename(name)).write_bytes(data)
    return folder


@pytest.fixture
def cifar10_dir(tmp_path, cifar10_good):
    """A private CIFAR-10 folder of symbolic links to the good files, free to damage."""
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for name in os.listdir(cifar10_good):
        os.symlink(cifar10_good / name, folder / name)
    return folder


def replace(path, data):
    os.unlink(path)
    path.write_bytes(data)


# --------------------------------------------------------------------------- CIFAR
def test_cifar_missing_and_empty_folders(tmp_path):
    with pytest.raises(DatasetError, match="does not exist") as info:
        Cifar10Dataset(tmp_path / "nope")
    assert "download_dataset('cifar10')" in str(info.value)
    with pytest.raises(DatasetError, match=r"no CIFAR-100 files in .*train.bin, test.bin") as info:
        Cifar100Dataset(tmp_path)
    assert "download_dataset('cifar100')" in str(info.value)


def test_cifar_python_version_gets_a_hint(tmp_path):
    (tmp_path / "data_batch_1").write_bytes(b"pickle")
    with pytest.raises(DatasetError, match="Python .pickle. version"):
        Cifar10Dataset(tmp_path)


@pytest.mark.parametrize("size, why", [
    (30_730_000 - 1, "truncated"),
    (30_730_000 - 3073, "holds 9,999 records, but MindSpore 2.10 reads only files of exactly 10,000"),
    (30_730_000 + 3073, "holds 10,001 records.*silently skip the extra records"),
])
def test_cifar10_file_of_the_wrong_size_is_refused_by_name(cifar10_dir, size, why):
    replace(cifar10_dir / "data_batch_2.bin", formats.cifar_records(10001)[:size])
    with pytest.raises(DatasetError, match=why) as info:
        Cifar10Dataset(cifar10_dir, usage="train")
    assert str(cifar10_dir / "data_batch_2.bin") in str(info.value)
    assert "download_dataset('cifar10')" in str(info.value)


def test_cifar10_missing_batch_and_stray_copy(cifar10_dir):
    shutil.copy(cifar10_dir / "data_batch_1.bin", cifar10_dir / "data_batch_1 (copy).bin")
    with pytest.raises(DatasetError, match=r"data_batch_1 \(copy\).bin is not a CIFAR-10 file.*move it out"):
        Cifar10Dataset(cifar10_dir, usage="train")
    os.remove(cifar10_dir / "data_batch_1 (copy).bin")
    os.remove(cifar10_dir / "data_batch_4.bin")
    with pytest.raises(DatasetError, match="data_batch_4.bin is missing"):
        Cifar10Dataset(cifar10_dir)
    assert Cifar10Dataset(cifar10_dir, usage="test").get_dataset_size() == 10000  # test split intact


def test_cifar10_accepts_the_download_root_and_rejects_a_bad_usage(cifar10_dir):
    root = cifar10_dir.parent
    assert Cifar10Dataset(root, usage="test").get_dataset_size() == 10000
    with pytest.raises(DatasetError, match="usage must be one of 'train', 'test', 'all'"):
        Cifar10Dataset(root, usage="validation")


def test_cifar100_train_file_with_cifar10_record_count_is_refused(tmp_path):
    (tmp_path / "train.bin").write_bytes(formats.cifar_records(10000, 2, 100))
    with pytest.raises(DatasetError, match="train.bin holds 10,000 records.*exactly 50,000"):
        Cifar100Dataset(tmp_path, usage="train")


def test_fashion_mnist_errors_name_fashion_mnist(tmp_path):
    with pytest.raises(DatasetError, match="no Fashion-MNIST files") as info:
        FashionMnistDataset(tmp_path)
    assert "download_dataset('fashion_mnist')" in str(info.value)


# --------------------------------------------------------------------------- image folders
def image_folder(root):
    (root / "cat").mkdir(parents=True)
    (root / "dog").mkdir()
    (root / ".ipynb_checkpoints").mkdir()
    (root / "cat" / "1.jpg").write_bytes(formats.jpeg(10))
    (root / "cat" / "2.jpeg").write_bytes(formats.jpeg(20))
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "dog" / "3.PNG").write_bytes(formats.png(30))
    (root / "dog" / "4.JPG").write_bytes(formats.jpeg(40))
    (root / ".ipynb_checkpoints" / "5.jpg").write_bytes(b"junk")
    return root


def test_image_folder_loads_jpeg_and_png_with_class_names(tmp_path):
    root = image_folder(tmp_path / "photos")
    assert class_names(root) == ("cat", "dog")
    dataset = ImageFolderDataset(root, decode=True, shuffle=False)
    assert dataset.class_names == ("cat", "dog")
    got = [(int(r["label"]), r["image"].shape, int(r["image"].mean().round()))
           for r in dataset.create_dict_iterator(output_numpy=True)]
    assert sorted(got) == [(0, (16, 24, 3), 10), (0, (16, 24, 3), 20), (1, (16, 24, 3), 30),
                           (1, (16, 24, 3), 40)]


@pytest.mark.parametrize("bad, why", [
    (lambda good: good[: len(good) * 3 // 4], "(?i)truncated"),
    (lambda good: good[:200], "Truncated|truncated"),  # headers only: MindSpore dies of SIGFPE on it
    (lambda good: b"", "cannot identify|UnidentifiedImageError"),
    (lambda good: b"GIF89a" + b"\0" * 40, "cannot identify|GIF"),
], ids=["half", "headers-only", "empty", "not-a-jpeg"])
def test_corrupt_image_is_named_and_nothing_is_written_to_the_cwd(tmp_path, monkeypatch, bad, why):
    root = image_folder(tmp_path / "photos")
    broken = root / "dog" / "4.JPG"
    broken.write_bytes(bad(formats.jpeg(40, size=(200, 150))))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    with pytest.raises(DatasetError, match=why) as info:
        ImageFolderDataset(root, decode=True)
    assert str(broken) in str(info.value) and "Fix:" in str(info.value)
    assert os.listdir(cwd) == []


def test_image_folder_structure_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        ImageFolderDataset(tmp_path / "nope")
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "1.jpg").write_bytes(formats.jpeg())
    with pytest.raises(DatasetError, match="no class sub-folders.*photos/cat/1.jpg"):
        ImageFolderDataset(tmp_path / "flat")
    root = image_folder(tmp_path / "photos")
    (root / "bird").mkdir()
    with pytest.raises(DatasetError, match=r"class folder .*bird holds no images"):
        ImageFolderDataset(root)
    with pytest.raises(DatasetError, match="class_indexing names 'fish'"):
        ImageFolderDataset(root, class_indexing={"cat": 0, "fish": 1})


def test_checked_images_are_remembered_until_they_change(tmp_path, monkeypatch):
    root = image_folder(tmp_path / "photos")
    checked = []
    real = _images._problem
    monkeypatch.setattr(_images, "_problem", lambda path, check: checked.append(path) or real(path, check))
    ImageFolderDataset(root)
    assert len(checked) == 4
    ImageFolderDataset(root)
    assert len(checked) == 4  # only stat'ed the second time
    (root / "cat" / "1.jpg").write_bytes(formats.jpeg(11, size=(30, 20)))
    ImageFolderDataset(root)
    assert checked[4:] == [str(root / "cat" / "1.jpg")]


def test_header_check_is_cheaper_but_still_catches_non_images(tmp_path):
    root = image_folder(tmp_path / "photos")
    good = formats.jpeg(10, size=(200, 150))
    (root / "cat" / "1.jpg").write_bytes(good[:good.index(b"\xff\xda") + 100])
    ImageFolderDataset(root, check_images="header")  # truncated data passes a header check
    (root / "cat" / "2.jpeg").write_bytes(b"hello")
    with pytest.raises(DatasetError, match="2.jpeg is corrupt"):
        ImageFolderDataset(root, check_images="header")


# --------------------------------------------------------------------------- VOC
def voc_folder(root, ids=("000001", "000002", "000003"), nested=""):
    for name, data in formats.voc_files(ids, {"train": ids}, prefix=nested).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root / nested if nested else root


def test_voc_folder_loads_and_nested_devkit_is_found(tmp_path):
    voc_folder(tmp_path / "mine", nested="VOCdevkit/VOC2007/")
    dataset = VOCDataset(tmp_path / "mine", usage="train", decode=True, shuffle=False)
    labels = [int(r["label"][0, 0]) for r in dataset.create_dict_iterator(output_numpy=True)]
    assert labels == [0, 1, 2] and dataset.class_names[:3] == ("aeroplane", "bicycle", "bird")


@pytest.mark.parametrize("damage, why", [
    (lambda r: shutil.rmtree(r / "Annotations"), r"VOC folder .*Annotations is missing"),
    (lambda r: os.remove(r / "ImageSets" / "Main" / "train.txt"), r"VOC file .*train.txt is missing"),
    (lambda r: (r / "ImageSets" / "Main" / "train.txt").write_text("\n"), "train.txt is empty"),
    (lambda r: os.remove(r / "Annotations" / "000002.xml"), r"lists '000002', but .*000002.xml is missing"),
    (lambda r: os.remove(r / "JPEGImages" / "000003.jpg"), r"lists '000003', but .*000003.jpg is missing"),
    (lambda r: (r / "Annotations" / "000001.xml").write_text("<annotation><object>"),
     r"annotation .*000001.xml cannot be read"),
    (lambda r: (r / "Annotations" / "000001.xml").write_bytes(
        formats.voc_annotation("000001", [("dog", (1, 2, "x", 4))])), "no valid <bndbox>"),
    (lambda r: (r / "JPEGImages" / "000002.jpg").write_bytes(formats.jpeg(size=(64, 48))[:250]),
     r"image .*000002.jpg is corrupt"),
], ids=["no-annotations", "no-list", "empty-list", "no-xml", "no-jpeg", "bad-xml", "bad-box", "bad-jpeg"])
def test_voc_damage_is_named(tmp_path, monkeypatch, damage, why):
    root = voc_folder(tmp_path / "voc")
    damage(root)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetError, match=why) as info:
        VOCDataset(root, usage="train", decode=True)
    assert "Fix:" in str(info.value)
    assert not os.path.exists(tmp_path / "abnormal_image.jpg")


def test_voc_class_outside_class_indexing_is_refused_not_dropped(tmp_path):
    root = voc_folder(tmp_path / "voc")
    with pytest.raises(DatasetError, match=r"000002.xml has an object of class 'bicycle'"):
        VOCDataset(root, usage="train", class_indexing={"aeroplane": 0, "bird": 1})


def test_voc_own_classes_are_numbered_in_sorted_order(tmp_path):
    root = voc_folder(tmp_path / "voc")
    (root / "Annotations" / "000001.xml").write_bytes(
        formats.voc_annotation("000001", [("zebra", (1, 2, 10, 8)), ("apple", (1, 1, 5, 5))]))
    dataset = VOCDataset(root, usage="train", shuffle=False)
    assert dataset.class_names == ("apple", "bicycle", "bird", "zebra")
    first = next(dataset.create_dict_iterator(output_numpy=True))
    assert first["label"].ravel().tolist() == [3, 0]
    assert np.allclose(first["bbox"][0], [1, 2, 9, 6])
