"""Datasets: download, bundled samples and loaders.

- :func:`download_dataset` fetches a public dataset once, verified, into
  ``$TINYMS_HOME/datasets/<name>`` (``train/`` and ``test/`` subfolders for MNIST).
- :func:`sample_dataset` gives a small bundled copy with the same layout, for offline use.
- :func:`MnistDataset` checks an MNIST folder and returns MindSpore's dataset reading it.
- ``Cifar10Dataset``, ``ImageFolderDataset``, ``GeneratorDataset`` and ``NumpySlicesDataset``
  are MindSpore's own classes, re-exported unchanged.
- :func:`dataset_info` tells the image shape, class names and normalisation of a dataset.

Example:
    >>> import os
    >>> from tinyms.data import sample_dataset, MnistDataset
    >>> path = sample_dataset("mnist")          # or download_dataset("mnist") for all 70,000
    >>> train = MnistDataset(os.path.join(path, "train"), shuffle=True).batch(32)
    >>> image, label = next(train.create_tuple_iterator(output_numpy=True))
    >>> image.shape, label.shape
    ((32, 28, 28, 1), (32,))
"""

import importlib as _importlib

from .download import download_dataset, list_datasets
from .info import DatasetInfo, dataset_info
from .mnist import MnistDataset
from .sample import sample_dataset

# Imported from mindspore.dataset on first access, so `import tinyms.data` stays light.
_MINDSPORE_DATASETS = ("Cifar10Dataset", "ImageFolderDataset", "GeneratorDataset",
                       "NumpySlicesDataset")

__all__ = [
    "download_dataset",
    "sample_dataset",
    "list_datasets",
    "MnistDataset",
    "DatasetInfo",
    "dataset_info",
    *_MINDSPORE_DATASETS,
]


def __getattr__(name):
    if name in _MINDSPORE_DATASETS:
        value = getattr(_importlib.import_module("mindspore.dataset"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tinyms.data' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
