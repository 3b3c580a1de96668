"""tinyms.data._spec, _registry and _catalog: one spec per dataset, registered through the public API."""

import dataclasses

import pytest

from tinyms.data import (DatasetFile, DatasetInfo, DatasetSpec, dataset_info, dataset_spec, download,
                         list_datasets, register_dataset)
from tinyms.errors import UnknownNameError

OFFICIAL = ["ag_news", "cifar10", "cifar100", "cityscapes", "facades", "fashion_mnist", "horse2zebra", "imdb",
            "kaggle_display_advertising", "mnist", "sst2", "voc2007"]
TEXT = ("imdb", "sst2", "ag_news")  # tested in test_text_datasets.py and test_text_registry.py
IMAGES = [name for name in OFFICIAL if name not in TEXT + ("kaggle_display_advertising",)]  # test_criteo.py
DIGEST = "ab" * 32


def a_spec(**changes):
    fields = dict(name="my_set", urls=("http://127.0.0.1:8000/my/",),
                  files=(DatasetFile("a.tar", size=10, sha256=DIGEST, action="extract", path="train"),),
                  layout={"train": "train"}, labels=("a", "b"), image_shape=(8, 8, 3),
                  mean=(0.5, 0.5, 0.5), std=(0.2, 0.2, 0.2), loader="ImageFolderDataset",
                  num_images={"train": 2})
    fields.update(changes)
    return DatasetSpec(**fields)


@pytest.mark.parametrize("kwargs, why", [
    (dict(name="a.gz", action="unzip"), "action must be one of keep, gunzip, extract"),
    (dict(name="a.bin"), "needs size and sha256"),
    (dict(name="a.bin", size=3, sha256="xyz"), "SHA-256 as 64 hex digits"),
    (dict(name="a.bin", size=3), "give size and sha256 together"),
    (dict(name="a.tar", size=3, sha256=DIGEST, action="extract"), "needs path="),
    (dict(name="a.tar.gz", size=3, sha256=DIGEST, action="extract", path="x"), "needs unpacked_size"),
    (dict(name="a.bin", size=3, sha256=DIGEST, path="../up"), "relative path inside the dataset folder"),
    (dict(name="a.bin", size=3, sha256=DIGEST, path=".partial/x"), "without '..' or hidden parts"),
    (dict(name="sub/a.bin", size=3, sha256=DIGEST), "plain file name"),
    (dict(name="a.gz", action="gunzip", unpacked_size=5), "needs size and sha256 of the download"),
    (dict(name="a.bin", size=3, sha256=DIGEST, strip="x/"), "strip is for archives only"),
])
def test_malformed_file_entries_are_refused_with_the_field(kwargs, why):
    with pytest.raises(ValueError, match=why):
        DatasetFile(**kwargs)


def test_file_defaults():
    gz = DatasetFile("train.gz", size=3, sha256=DIGEST.upper(), action="gunzip")
    assert gz.path == "train" and gz.sha256 == DIGEST and gz.max_download == 3 and gz.max_unpacked is None
    tar = DatasetFile("x.tar", size=300, sha256=DIGEST, action="extract", path="data", strip="top")
    assert tar.strip == "top/" and tar.max_unpacked == 300


@pytest.mark.parametrize("changes, why", [
    (dict(name="My Set"), "lower-case letters"),
    (dict(urls=("http://127.0.0.1/my",)), "ending in '/'"),
    (dict(files=()), "non-empty sequence of DatasetFile"),
    (dict(files=(DatasetFile("a.bin", size=1, sha256=DIGEST, path="x"),
                 DatasetFile("b.bin", size=1, sha256=DIGEST, path="x"))), "two files share a path"),
    (dict(mean=(0.5,)), "one value per channel"),
    (dict(layout={"train": "../elsewhere"}), "relative path"),
])
def test_malformed_specs_are_refused(changes, why):
    with pytest.raises((ValueError, TypeError), match=why):
        a_spec(**changes)


def test_register_dataset_then_every_public_function_knows_it():
    spec = register_dataset(a_spec())
    assert dataset_spec("MY-SET") is spec
    assert "my_set" in list_datasets() and "my_set" in str(list_datasets())
    assert dataset_info("my_set") == DatasetInfo("my_set", (8, 8, 3), ("a", "b"), (0.5,) * 3, (0.2,) * 3)
    with pytest.raises(ValueError, match="already registered; pass overwrite=True"):
        register_dataset(a_spec(labels=("x",)))
    assert dataset_info("my_set").labels == ("a", "b")
    register_dataset(a_spec(labels=("x", "y")), overwrite=True)
    assert dataset_info("my_set").labels == ("x", "y")
    with pytest.raises(TypeError, match="takes a tinyms.data.DatasetSpec"):
        register_dataset({"name": "dict"})


def test_registrations_do_not_leak_between_tests():
    assert list_datasets() == OFFICIAL


def test_list_datasets_is_a_list_of_names_that_prints_as_a_table():
    names = list_datasets()
    assert names == OFFICIAL and "mnist" in names and isinstance(names, list)
    lines = str(names).splitlines()
    assert lines[0].split() == ["name", "download", "images", "classes", "license", "source"]
    assert [line.split()[0] for line in lines[1:]] == OFFICIAL
    assert repr(names) == str(names)
    rows = {row["name"]: row for row in names.rows()}
    assert rows["cifar10"]["download_bytes"] == 170052171 and rows["cifar10"]["images"] == 60000
    assert rows["voc2007"]["download_bytes"] == 460032000 + 451020800 and rows["voc2007"]["classes"] == 20
    assert rows["fashion_mnist"]["license"] == "MIT"
    assert rows["mnist"]["download"].startswith("up to")  # checked after gunzip: the .gz size varies


@pytest.mark.parametrize("name", IMAGES)
def test_every_dataset_has_consistent_info(name):
    spec, info = dataset_spec(name), dataset_info(name)
    assert info.labels == spec.labels and len(set(info.labels)) == len(info.labels)
    channels = 1 if "mnist" in name else 3
    assert len(info.mean) == len(info.std) == channels
    assert all(0 < m < 1 for m in info.mean) and all(0 < s < 1 for s in info.std)
    assert spec.loader and spec.homepage.startswith("http") and spec.license
    assert set(spec.layout) >= ({"train", "test"} if name != "voc2007" else {"trainval", "test"})


def test_catalog_facts():
    assert len(dataset_info("cifar100").labels) == 100
    assert list(dataset_info("cifar100").labels) == sorted(dataset_info("cifar100").labels)
    assert dataset_info("cifar100").labels[:5] == ("apple", "aquarium_fish", "baby", "bear", "beaver")
    assert dataset_info("fashion_mnist").labels[0] == "T-shirt/top"
    assert dataset_info("fashion_mnist").labels[9] == "Ankle boot"
    assert dataset_info("voc2007").image_shape is None
    assert dataset_info("cifar10").mean == (0.4914, 0.4822, 0.4465)
    fashion = dataset_spec("fashion_mnist")
    assert sum(f.size for f in fashion.files) == 26421880 + 29515 + 4422102 + 5148
    assert [f.unpacked_size for f in fashion.files] == [47040016, 60008, 7840016, 10008]
    assert all(f.unpacked_sha256 and f.sha256 is None for f in dataset_spec("mnist").files)


def test_official_and_mirror_urls():
    voc = dataset_spec("voc2007")
    urls = download._source_urls(voc, None)
    assert urls["VOCtest_06-Nov-2007.tar"] == [
        "http://host.robots.ox.ac.uk/pascal/VOC/voc2007/VOCtest_06-Nov-2007.tar",
        "http://pjreddie.com/media/files/VOCtest_06-Nov-2007.tar"]
    mirrored = download._source_urls(dataset_spec("cifar10"), "http://127.0.0.1:8000/m/")
    assert mirrored == {"cifar-10-binary.tar.gz": ["http://127.0.0.1:8000/m/cifar10/cifar-10-binary.tar.gz"]}


def test_unknown_dataset_lists_the_registered_ones():
    with pytest.raises(UnknownNameError, match="ag_news, cifar10, cifar100, cityscapes, facades, fashion_mnist, horse2zebra, imdb, "
                                                 "kaggle_display_advertising, mnist, sst2, voc2007"):
        dataset_info("imagenet")


def test_spec_is_immutable():
    spec = dataset_spec("cifar10")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.labels = ()
    with pytest.raises(TypeError):
        spec.layout["train"] = "elsewhere"
