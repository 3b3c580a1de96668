"""Datasets: one spec per dataset, verified downloads, bundled samples and checked loaders.

- :class:`DatasetSpec` / :class:`DatasetFile` describe a dataset (official files with sizes
  and SHA-256, folder layout, class names, image shape, mean/std, loader, licence, source);
  :func:`register_dataset` adds one, the way TinyMS registers its own (MNIST,
  Fashion-MNIST, CIFAR-10, CIFAR-100, VOC2007). :func:`list_datasets` prints them as a table.
- :func:`download_dataset` fetches a registered dataset once, verified, into
  ``$TINYMS_HOME/datasets/<name>``; archives are extracted safely and atomically.
- :func:`sample_dataset` gives a small bundled copy with the same layout, for offline use.
- Loaders check a folder before MindSpore reads it, so a missing folder, an empty folder, a
  truncated file or a corrupt image is a :class:`~tinyms.errors.DatasetError` naming the
  file and the fix: :func:`MnistDataset`, :func:`FashionMnistDataset`,
  :func:`Cifar10Dataset`, :func:`Cifar100Dataset`, :func:`VOCDataset`,
  :func:`ImageFolderDataset` (with :func:`class_names`), :func:`GeneratorDataset`,
  :func:`NumpySlicesDataset`, :func:`MindDataset` (MindRecord files). They return MindSpore
  datasets (``.map``, ``.batch``...).
- Object detection: :func:`VOCDataset`, :func:`CocoDataset` (COCO JSON from CVAT, Label
  Studio, Roboflow...) and :func:`detection_dataset` (your own VOC or COCO folder, with its own
  class names; :func:`is_detection_folder` recognises one) all yield the same rows: ``image``,
  ``bbox`` (``[xmin, ymin, width, height]`` pixels), ``label``, ``difficult``, ``truncate``.
  ``sample_dataset("shapes")`` is a small synthetic detection set for trying it offline.
- Text: :func:`ImdbDataset` (``download_dataset("imdb")``; TinyMS 0.3's GloVe form gives an
  :class:`ImdbFeatures`), :func:`TextFolderDataset` (a folder
  per class of ``.txt`` files; :func:`is_text_folder` recognises one) and :func:`CsvTextDataset`
  yield ``text`` (str) and ``label`` (int32) rows, bad files named; :func:`load_glove` turns
  GloVe vectors into an embedding matrix for a vocabulary.
- Image-to-image: :func:`unaligned_dataset` (CycleGAN's ``trainA/trainB/testA/testB``) and
  :func:`paired_dataset` (pix2pix's side-by-side A|B images, or two folders) yield ``image_a``
  and ``image_b`` rows; TinyMS 0.3's :class:`UnalignedDataset`, :class:`GanImageFolderDataset`
  and :class:`DistributedSampler` work as in 0.3 (``download_dataset("horse2zebra")``).
- :func:`dataset_info` tells the image shape, class names and normalisation of a dataset.

Example:
    >>> from tinyms.data import sample_dataset, MnistDataset
    >>> path = sample_dataset("mnist")          # or download_dataset("mnist") for all 70,000
    >>> train = MnistDataset(path, usage="train", shuffle=True).batch(32)
    >>> image, label = next(train.create_tuple_iterator(output_numpy=True))
    >>> image.shape, label.shape
    ((32, 28, 28, 1), (32,))
"""

from ._registry import DatasetList, dataset_spec, list_datasets, register_dataset
from ._spec import DatasetFile, DatasetSpec
from .cifar import Cifar10Dataset, Cifar100Dataset
from .coco import CocoDataset
from .criteo import KaggleDisplayAdvertisingDataset, write_synthetic_criteo
from .detection import detection_dataset, is_detection_folder
from ._features import FeatureSpec
from ._ctr_synth import make_ctr_table
from .tabular import TabularDataset
from .download import download_dataset
from .gan import (DistributedSampler, GanImageFolderDataset, PairedDataset, UnalignedDataset, paired_dataset,
                  unaligned_dataset)
from .generic import GeneratorDataset, MindDataset, NumpySlicesDataset
from .glove import GloveVectors, load_glove
from .imdb import ImdbDataset, ImdbFeatures
from .imagefolder import ImageFolderDataset, class_names
from .info import DatasetInfo, dataset_info
from .mnist import FashionMnistDataset, MnistDataset
from .sample import sample_dataset
from .sst2_ag_news import AgNewsDataset, Sst2Dataset
from .text import CsvTextDataset, TextFolderDataset, is_text_folder
from .voc import VOCDataset

__all__ = [
    "download_dataset",
    "sample_dataset",
    "list_datasets",
    "register_dataset",
    "dataset_spec",
    "DatasetSpec",
    "DatasetFile",
    "DatasetList",
    "DatasetInfo",
    "dataset_info",
    "MnistDataset",
    "FashionMnistDataset",
    "Cifar10Dataset",
    "Cifar100Dataset",
    "VOCDataset",
    "CocoDataset",
    "detection_dataset",
    "is_detection_folder",
    "ImageFolderDataset",
    "class_names",
    "GeneratorDataset",
    "NumpySlicesDataset",
    "MindDataset",
    "UnalignedDataset",
    "GanImageFolderDataset",
    "PairedDataset",
    "DistributedSampler",
    "unaligned_dataset",
    "paired_dataset",
    "ImdbDataset",
    "Sst2Dataset",
    "AgNewsDataset",
    "ImdbFeatures",
    "TextFolderDataset",
    "CsvTextDataset",
    "is_text_folder",
    "load_glove",
    "GloveVectors",
    "FeatureSpec",
    "TabularDataset",
    "make_ctr_table",
    "KaggleDisplayAdvertisingDataset",
    "write_synthetic_criteo",
]
