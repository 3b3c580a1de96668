"""download_dataset for every registered dataset: real download from 127.0.0.1, verification,
safe extraction and loading, with archives built in the official layouts."""

import dataclasses
import gzip
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

from tinyms.data import (Cifar10Dataset, Cifar100Dataset, DatasetFile, DatasetSpec, FashionMnistDataset,
                         VOCDataset, _archive, _registry, dataset_spec, download, download_dataset,
                         register_dataset)
from tinyms.errors import ArchiveError, ChecksumError

import formats
from _data_paths import REPO, visible_files

VOC_TRAINVAL = [f"{i:06d}" for i in range(1, 7)]
VOC_TEST = [f"{i:06d}" for i in range(7, 10)]


def serve_as(monkeypatch, server, name, payloads):
    """Make dataset ``name`` expect ``payloads`` ({file name: bytes}) and serve them as its mirror."""
    spec = dataset_spec(name)
    files = tuple(dataclasses.replace(f, size=len(payloads[f.name]), sha256=formats.sha256(payloads[f.name]))
                  for f in spec.files)
    monkeypatch.setitem(_registry._table(), name, dataclasses.replace(spec, files=files))
    for file_name, data in payloads.items():
        server.files[f"/{name}/{file_name}"] = data
    monkeypatch.setenv(download.MIRROR_ENV, server.url)


@pytest.fixture(scope="module")
def cifar10_tgz():
    return formats.tar_bytes(formats.cifar10_files())


@pytest.fixture(scope="module")
def voc_tars():
    return {"VOCtrainval_06-Nov-2007.tar": formats.tar_bytes(
                formats.voc_files(VOC_TRAINVAL, {"train": VOC_TRAINVAL[:3], "val": VOC_TRAINVAL[3:],
                                                 "trainval": VOC_TRAINVAL}), gz=False),
            "VOCtest_06-Nov-2007.tar": formats.tar_bytes(
                formats.voc_files(VOC_TEST, {"test": VOC_TEST}), gz=False)}


def rows(dataset):
    return list(dataset.create_dict_iterator(output_numpy=True))


# --------------------------------------------------------------------------- each dataset
def test_cifar10_downloads_extracts_loads_and_second_call_does_no_io(server, monkeypatch, tmp_path,
                                                                     cifar10_tgz):
    serve_as(monkeypatch, server, "cifar10", {"cifar-10-binary.tar.gz": cifar10_tgz})
    path = download_dataset("cifar10", tmp_path, progress=False)
    assert path == str(tmp_path / "cifar10")
    assert visible_files(path) == sorted(formats.cifar10_files())
    assert server.paths() == ["/cifar10/cifar-10-binary.tar.gz"]
    assert not os.path.exists(os.path.join(path, ".partial"))  # the archive is not kept

    test = rows(Cifar10Dataset(path, usage="test", shuffle=False))
    assert len(test) == 10000
    assert [int(r["label"]) for r in test[:12]] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert test[3]["image"].shape == (32, 32, 3) and (test[3]["image"] == 6).all()
    folder = os.path.join(path, dataset_spec("cifar10").layout["train"])
    assert Cifar10Dataset(folder, usage="train").get_dataset_size() == 50000

    assert download_dataset("cifar10", tmp_path, progress=False) == path
    assert len(server.requests) == 1


def test_cifar100_downloads_and_loads_fine_labels(server, monkeypatch, tmp_path):
    serve_as(monkeypatch, server, "cifar100",
             {"cifar-100-binary.tar.gz": formats.tar_bytes(formats.cifar100_files())})
    path = download_dataset("cifar100", tmp_path, progress=False)
    assert sorted(os.listdir(os.path.join(path, "cifar-100-binary"))) == [
        "coarse_label_names.txt", "fine_label_names.txt", "test.bin", "train.bin"]
    test = rows(Cifar100Dataset(path, usage="test", shuffle=False, num_samples=101))
    assert [int(r["fine_label"]) for r in test[98:101]] == [98, 99, 0]
    assert [int(r["coarse_label"]) for r in test[98:101]] == [19, 19, 0]
    assert Cifar100Dataset(path, usage="train").get_dataset_size() == 50000


def test_fashion_mnist_checks_the_downloaded_gz_and_loads(server, monkeypatch, tmp_path):
    payloads = formats.idx_dataset(n_train=60, n_test=20)
    serve_as(monkeypatch, server, "fashion_mnist", payloads)
    spec = dataset_spec("fashion_mnist")  # the test files are smaller than the official ones
    monkeypatch.setitem(_registry._table(), "fashion_mnist", dataclasses.replace(spec, files=tuple(
        dataclasses.replace(f, unpacked_size=None) for f in spec.files)))
    path = download_dataset("fashion_mnist", tmp_path, progress=False)
    assert visible_files(path) == ["test/t10k-images-idx3-ubyte", "test/t10k-labels-idx1-ubyte",
                                   "train/train-images-idx3-ubyte", "train/train-labels-idx1-ubyte"]
    train = rows(FashionMnistDataset(path, usage="train", shuffle=False))
    assert len(train) == 60 and [int(r["label"]) for r in train[:3]] == [0, 1, 2]
    assert download_dataset("fashion_mnist", tmp_path, progress=False) == path
    assert len(server.requests) == 4


def test_fashion_mnist_recompressed_by_a_mirror_is_refused(server, monkeypatch, tmp_path):
    payloads = formats.idx_dataset()
    serve_as(monkeypatch, server, "fashion_mnist", payloads)
    original = payloads["train-images-idx3-ubyte.gz"]  # same content, other gzip bytes
    server.files["/fashion_mnist/train-images-idx3-ubyte.gz"] = gzip.compress(
        gzip.decompress(original), mtime=12345)
    with pytest.raises(ChecksumError, match="train-images-idx3-ubyte.gz.*checksum mismatch"):
        download_dataset("fashion_mnist", tmp_path, progress=False)
    assert not os.path.exists(tmp_path / "fashion_mnist" / "train" / "train-images-idx3-ubyte")


def test_voc2007_two_archives_from_the_second_official_source(server, monkeypatch, tmp_path, voc_tars,
                                                              dead_url):
    serve_as(monkeypatch, server, "voc2007", voc_tars)
    monkeypatch.delenv(download.MIRROR_ENV)
    spec = dataset_spec("voc2007")
    monkeypatch.setitem(_registry._table(), "voc2007",
                        dataclasses.replace(spec, urls=(dead_url + "/pascal/", server.url + "/voc2007/")))
    path = download_dataset("voc2007", tmp_path, progress=False)
    assert sorted(os.listdir(path)) == [".tinyms-lock", ".tinyms-verified", "test", "trainval"]
    assert sorted(os.listdir(os.path.join(path, "trainval"))) == ["Annotations", "ImageSets", "JPEGImages"]

    train = rows(VOCDataset(path, usage="train", decode=True, shuffle=False))
    assert len(train) == 3
    assert [int(r["label"][0, 0]) for r in train] == [0, 1, 2]  # aeroplane, bicycle, bird
    assert train[0]["bbox"].tolist() == [[2.0, 3.0, 18.0, 9.0]]  # xmin, ymin, width, height
    test = VOCDataset(path, usage="test")
    assert test.get_dataset_size() == 3 and test.class_names == formats.VOC_CLASSES
    assert VOCDataset(os.path.join(path, "trainval"), usage="val").get_dataset_size() == 3


# --------------------------------------------------------------------------- failures
def test_wrong_checksum_leaves_no_extracted_folder(server, monkeypatch, tmp_path, cifar10_tgz):
    serve_as(monkeypatch, server, "cifar10", {"cifar-10-binary.tar.gz": cifar10_tgz})
    server.files["/cifar10/cifar-10-binary.tar.gz"] = cifar10_tgz[:-10] + b"0123456789"
    with pytest.raises(ChecksumError, match="checksum mismatch for cifar-10-binary.tar.gz") as info:
        download_dataset("cifar10", tmp_path, progress=False)
    assert "removed" in str(info.value)
    assert sorted(os.listdir(tmp_path / "cifar10")) == [".tinyms-lock"]


def test_connection_dropped_mid_archive_resumes(server, monkeypatch, tmp_path, cifar10_tgz):
    serve_as(monkeypatch, server, "cifar10", {"cifar-10-binary.tar.gz": cifar10_tgz})
    server.cut_after["/cifar10/cifar-10-binary.tar.gz"] = 400_000
    path = download_dataset("cifar10", tmp_path, progress=False)
    ranges = [h.get("Range") for _, h in server.requests]
    assert ranges[0] is None and ranges[1].startswith("bytes=") and len(ranges) == 2
    assert Cifar10Dataset(path, usage="test").get_dataset_size() == 10000


def my_spec(name, archive, **file_options):
    options = dict(size=len(archive), sha256=formats.sha256(archive), action="extract", path="train",
                   strip="photos/", unpacked_size=100_000)
    options.update(file_options)
    return DatasetSpec(name=name, urls=("http://127.0.0.1:9/",),
                       files=(DatasetFile(f"{name}.tar.gz", **options),),
                       layout={"train": "train"}, labels=("cat", "dog"), image_shape=None,
                       mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), loader="ImageFolderDataset")


@pytest.mark.parametrize("hostile", [
    formats.member("photos/../../escaped.txt", data=b"x"),
    formats.member("/tmp/escaped.txt", data=b"x"),
    formats.member("photos/cat/link", formats.tarfile.SYMTYPE, link="../../../escaped.txt"),
    formats.member("photos/cat/hard", formats.tarfile.LNKTYPE, link="/etc/hostname"),
    formats.member("photos/cat/dev", formats.tarfile.CHRTYPE),
], ids=["dotdot", "absolute", "symlink", "hardlink", "device"])
def test_registered_archive_with_hostile_member_is_refused(server, monkeypatch, tmp_path, hostile):
    archive = formats.tar_bytes({"photos/cat/1.jpg": formats.jpeg(), "photos/dog/2.jpg": formats.jpeg()},
                                extra=[hostile])
    register_dataset(my_spec("my_photos", archive))
    server.files["/my_photos/my_photos.tar.gz"] = archive
    with pytest.raises(ArchiveError) as info:
        download_dataset("my_photos", tmp_path, mirror=server.url, progress=False)
    assert repr(hostile[0].name) in str(info.value)
    assert sorted(os.listdir(tmp_path)) == ["my_photos"]
    assert sorted(os.listdir(tmp_path / "my_photos")) == [".tinyms-lock"]  # no train/, no archive
    assert not os.path.exists("/tmp/escaped.txt")


def test_truncated_archive_with_a_matching_checksum_is_refused(server, tmp_path):
    whole = formats.tar_bytes({"photos/cat/1.bin": os.urandom(60_000)})
    archive = whole[: len(whole) // 2]
    register_dataset(my_spec("my_photos", archive))
    server.files["/my_photos/my_photos.tar.gz"] = archive
    with pytest.raises(ArchiveError, match="damaged or truncated"):
        download_dataset("my_photos", tmp_path, mirror=server.url, progress=False)
    assert sorted(os.listdir(tmp_path / "my_photos")) == [".tinyms-lock"]


def test_interrupted_extraction_then_a_clean_retry(server, monkeypatch, tmp_path, cifar10_tgz):
    serve_as(monkeypatch, server, "cifar10", {"cifar-10-binary.tar.gz": cifar10_tgz})
    real_copy = _archive._Extractor.copy
    calls = []

    def copy_then_die(self, src, path):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real_copy(self, src, path)

    monkeypatch.setattr(_archive._Extractor, "copy", copy_then_die)
    with pytest.raises(KeyboardInterrupt):
        download_dataset("cifar10", tmp_path, progress=False)
    assert sorted(os.listdir(tmp_path / "cifar10")) == [".tinyms-lock"]  # no half tree, no temp folder

    monkeypatch.setattr(_archive._Extractor, "copy", real_copy)
    path = download_dataset("cifar10", tmp_path, progress=False)
    assert Cifar10Dataset(path, usage="all").get_dataset_size() == 60000
    assert len(server.requests) == 2


def test_damaged_extracted_tree_is_fetched_and_extracted_again(server, monkeypatch, tmp_path, cifar10_tgz):
    serve_as(monkeypatch, server, "cifar10", {"cifar-10-binary.tar.gz": cifar10_tgz})
    path = download_dataset("cifar10", tmp_path, progress=False)
    os.remove(os.path.join(path, "cifar-10-batches-bin", "data_batch_3.bin"))
    download_dataset("cifar10", tmp_path, progress=False)
    assert len(server.requests) == 2
    assert os.path.getsize(os.path.join(path, "cifar-10-batches-bin", "data_batch_3.bin")) == 30_730_000


def test_archive_copied_by_hand_is_verified_extracted_and_removed(monkeypatch, tmp_path, cifar10_tgz,
                                                                  server, dead_url):
    serve_as(monkeypatch, server, "cifar10", {"cifar-10-binary.tar.gz": cifar10_tgz})
    (tmp_path / "cifar10").mkdir()
    (tmp_path / "cifar10" / "cifar-10-binary.tar.gz").write_bytes(cifar10_tgz)
    path = download_dataset("cifar10", tmp_path, mirror=dead_url, progress=False)
    assert not os.path.exists(os.path.join(path, "cifar-10-binary.tar.gz"))
    assert Cifar10Dataset(path, usage="test").get_dataset_size() == 10000
    assert server.requests == []


def test_user_spec_keeps_a_plain_file_with_the_same_guarantees(server, tmp_path):
    data = b"id,label\n1,cat\n"
    register_dataset(DatasetSpec(name="my_table", urls=(server.url + "/files/",),
                                 files=(DatasetFile("labels.csv", size=len(data), sha256=formats.sha256(data),
                                                    path="meta/labels.csv"),),
                                 layout={"all": "meta"}, labels=("cat",), mean=0.5, std=0.5))
    server.files["/files/labels.csv"] = data
    path = download_dataset("my_table", tmp_path, progress=False)
    assert open(os.path.join(path, "meta", "labels.csv"), "rb").read() == data
    assert download_dataset("my_table", tmp_path, progress=False) == path
    assert len(server.requests) == 1
    shutil.rmtree(os.path.join(path, "meta"))
    download_dataset("my_table", tmp_path, progress=False)
    assert len(server.requests) == 2


def test_extraction_killed_mid_way_leaves_no_tree_and_the_next_call_starts_clean(server, monkeypatch,
                                                                                 tmp_path, cifar10_tgz):
    serve_as(monkeypatch, server, "cifar10", {"cifar-10-binary.tar.gz": cifar10_tgz})
    script = textwrap.dedent(f"""
        import dataclasses, sys, time
        from tinyms.data import _archive, dataset_spec, download_dataset, register_dataset
        spec = dataset_spec("cifar10")
        item = dataclasses.replace(spec.files[0], size={len(cifar10_tgz)},
                                   sha256="{formats.sha256(cifar10_tgz)}")
        register_dataset(dataclasses.replace(spec, files=(item,)), overwrite=True)
        real, calls = _archive._Extractor.copy, []
        def copy(self, src, path):
            calls.append(path)
            if len(calls) == 3:
                print("extracting", flush=True)
                time.sleep(120)
            real(self, src, path)
        _archive._Extractor.copy = copy
        download_dataset("cifar10", sys.argv[1], progress=False)
    """)
    child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": REPO})
    try:
        assert child.stdout.readline().strip() == "extracting"
        half = [n for n in os.listdir(tmp_path / "cifar10") if n.startswith(".tmp-")]
        assert len(half) == 1 and os.listdir(tmp_path / "cifar10" / half[0])  # a half-extracted tree
    finally:
        child.kill()
        child.wait(30)
    assert child.returncode == -signal.SIGKILL

    path = download_dataset("cifar10", tmp_path, progress=False)
    assert sorted(os.listdir(path)) == [".tinyms-lock", ".tinyms-verified", "cifar-10-batches-bin"]
    assert Cifar10Dataset(path, usage="all").get_dataset_size() == 60000
