"""tinyms.data: the public names."""

import doctest

import mindspore.dataset as ds
import pytest

import tinyms.data as data


def test_public_names():
    assert sorted(data.__all__) == sorted([
        "download_dataset", "sample_dataset", "list_datasets", "MnistDataset", "DatasetInfo",
        "dataset_info", "Cifar10Dataset", "ImageFolderDataset", "GeneratorDataset",
        "NumpySlicesDataset"])
    for name in data.__all__:
        assert getattr(data, name) is not None


def test_mindspore_datasets_are_re_exported_unchanged():
    assert data.Cifar10Dataset is ds.Cifar10Dataset
    assert data.ImageFolderDataset is ds.ImageFolderDataset
    assert data.GeneratorDataset is ds.GeneratorDataset
    assert data.NumpySlicesDataset is ds.NumpySlicesDataset
    dataset = data.NumpySlicesDataset({"x": [1, 2, 3]}, shuffle=False)
    rows = list(dataset.create_tuple_iterator(output_numpy=True))
    assert [int(r[0]) for r in rows] == [1, 2, 3]


def test_dataset_info():
    info = data.dataset_info("mnist")
    assert isinstance(info, data.DatasetInfo) and info.image_shape == (28, 28, 1)


@pytest.mark.parametrize("module", [data, data.download, data.sample, data.mnist])
def test_docstring_examples_run(module):
    failures, tests = doctest.testmod(module, verbose=False)
    assert tests > 0 and failures == 0
