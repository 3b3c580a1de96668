"""tinyms.data: the public names."""

import doctest
import os
import subprocess
import sys

import mindspore.dataset as ds
import numpy as np
import pytest

import tinyms.data as data
from tinyms import _download
from tinyms.data import download
from tinyms.errors import DatasetError

from _data_paths import LAYOUT, REPO, visible_files


def test_public_names():
    assert sorted(data.__all__) == sorted([
        "download_dataset", "sample_dataset", "list_datasets", "register_dataset", "dataset_spec",
        "DatasetSpec", "DatasetFile", "DatasetList", "DatasetInfo", "dataset_info",
        "MnistDataset", "FashionMnistDataset", "Cifar10Dataset", "Cifar100Dataset", "VOCDataset",
        "CocoDataset", "detection_dataset", "is_detection_folder",
        "Sst2Dataset", "AgNewsDataset",
        "ImageFolderDataset", "class_names", "GeneratorDataset", "NumpySlicesDataset",
        "MindDataset", "ImdbDataset", "ImdbFeatures", "TextFolderDataset", "CsvTextDataset", "is_text_folder",
        "load_glove", "GloveVectors", "UnalignedDataset", "GanImageFolderDataset", "PairedDataset",
        "DistributedSampler", "unaligned_dataset", "paired_dataset",
        "FeatureSpec", "TabularDataset", "make_ctr_table", "KaggleDisplayAdvertisingDataset", "write_synthetic_criteo"])
    for name in data.__all__:  # each name is TinyMS's own object of that name, documented
        obj = getattr(data, name)
        assert obj.__name__ == name and obj.__module__.startswith("tinyms.data") and obj.__doc__, name


def test_loaders_return_mindspore_datasets():
    dataset = data.NumpySlicesDataset({"x": [1, 2, 3]}, shuffle=False)
    assert isinstance(dataset, ds.NumpySlicesDataset)
    rows = list(dataset.create_tuple_iterator(output_numpy=True))
    assert [int(r[0]) for r in rows] == [1, 2, 3]
    gen = data.GeneratorDataset(lambda: iter([(np.int32(5),)]), ["x"])
    assert isinstance(gen, ds.GeneratorDataset)
    assert [int(r[0]) for r in gen.create_tuple_iterator(output_numpy=True)] == [5]


def test_unequal_columns_are_a_dataset_error_naming_the_lengths():
    with pytest.raises(DatasetError, match="x: 3, y: 2"):
        data.NumpySlicesDataset({"x": [1, 2, 3], "y": [1, 2]})


def test_mindspore_construction_errors_become_dataset_errors():
    with pytest.raises(DatasetError, match="GeneratorDataset: .*Fix:") as info:
        data.GeneratorDataset([(1,)], ["x"], num_parallel_workers=-3)
    assert isinstance(info.value, ValueError)


def test_dataset_info():
    info = data.dataset_info("mnist")
    assert isinstance(info, data.DatasetInfo) and info.image_shape == (28, 28, 1)


@pytest.mark.parametrize("module", [data, data.download, data.sample, data.mnist, data.info,
                                    data._spec, data._registry, data.generic, data.imagefolder, _download])
def test_docstring_examples_run(module, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples write files (an image folder) into the working directory
    failures, tests = doctest.testmod(module, verbose=False)
    assert tests > 0 and failures == 0


def test_download_modules_do_not_import_mindspore():
    code = ("import sys, tinyms.data, tinyms._download; "
            "assert 'mindspore' not in sys.modules, sorted(m for m in sys.modules if 'mindspore' in m)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=REPO)
    assert run.returncode == 0, run.stderr


def test_tinyms_0_3_spelling_of_download_dataset(sample_mirror, monkeypatch, tmp_path):
    # TinyMS 0.3's own test: download_dataset(dataset_name='mnist', local_path='/tmp'), then
    # /tmp/mnist/train and /tmp/mnist/test exist (a private folder here instead of /tmp).
    monkeypatch.setenv(download.MIRROR_ENV, sample_mirror.url)
    local = str(tmp_path)
    path = data.download_dataset(dataset_name="mnist", local_path=local)
    assert path == os.path.join(local, "mnist")
    assert os.path.isdir(os.path.join(local, "mnist", "train"))
    assert os.path.isdir(os.path.join(local, "mnist", "test"))
    assert visible_files(path) == LAYOUT
    # the other spellings keep working and find the files in place
    assert data.download_dataset("mnist", local) == path
    assert data.download_dataset(name="mnist", local_path=local) == path
    assert len(sample_mirror.requests) == 4


def test_download_dataset_name_mistakes(tmp_path):
    with pytest.raises(TypeError, match="needs a dataset name"):
        data.download_dataset(local_path=tmp_path)
    with pytest.raises(TypeError, match="two dataset names"):
        data.download_dataset(dataset_name="mnist", name="cifar10", local_path=tmp_path)
    assert os.listdir(tmp_path) == []
