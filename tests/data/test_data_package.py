"""tinyms.data: the public names."""

import doctest
import os
import subprocess
import sys

import mindspore.dataset as ds
import pytest

import tinyms.data as data
from tinyms import _download
from tinyms.data import download

from conftest import LAYOUT, REPO, visible_files


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


@pytest.mark.parametrize("module", [data, data.download, data.sample, data.mnist, _download])
def test_docstring_examples_run(module):
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
