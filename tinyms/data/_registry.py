"""The dataset registry: the specs :func:`download_dataset`, :func:`dataset_info`,
:func:`sample_dataset` and :func:`list_datasets` know, by name.

:func:`register_dataset` adds a :class:`~tinyms.data.DatasetSpec`; TinyMS's own datasets
(declared in ``_catalog.py``) are registered through it when this module is first imported.
"""

from .._names import lookup
from . import _catalog
from ._spec import DatasetSpec

__all__ = ["register_dataset", "dataset_spec", "registered_specs", "DatasetList", "list_datasets"]

_REGISTRY = {}
# TinyMS 0.3's names (and "criteo"), used when no dataset of that name is registered
_ALIASES = {"voc": "voc2007", "criteo": "kaggle_display_advertising"}


def _table():
    """The registry itself: name -> DatasetSpec (tests replace it for one test)."""
    return _REGISTRY


def register_dataset(spec, overwrite=False):
    """Register ``spec`` so that ``download_dataset``, ``dataset_info`` and ``list_datasets`` know it.

    TinyMS registers its own datasets (MNIST, Fashion-MNIST, CIFAR-10/100, VOC2007, IMDB, SST-2,
    AG News, CycleGAN's horse2zebra, cityscapes and facades) through this function; a private
    dataset gets the same guarantees: verified, resumable, atomic and idempotent download, safe
    extraction, mirrors.

    Args:
        spec: a :class:`DatasetSpec`.
        overwrite: replace an existing entry of the same name (otherwise an error).

    Returns:
        DatasetSpec: ``spec``.

    Raises:
        TypeError: ``spec`` is not a DatasetSpec.
        ValueError: the name is taken and ``overwrite`` is False.

    Example:
        >>> from tinyms.data import register_dataset, dataset_spec, list_datasets
        >>> spec = dataset_spec("mnist")
        >>> register_dataset(spec)
        Traceback (most recent call last):
        ...
        ValueError: a dataset named 'mnist' is already registered; pass overwrite=True to replace it, or choose another name
        >>> register_dataset(spec, overwrite=True) is spec
        True
    """
    if not isinstance(spec, DatasetSpec):
        raise TypeError(f"register_dataset() takes a tinyms.data.DatasetSpec, got {type(spec).__name__}")
    table = _table()
    if spec.name in table and not overwrite:
        raise ValueError(f"a dataset named {spec.name!r} is already registered; pass "
                         f"overwrite=True to replace it, or choose another name")
    table[spec.name] = spec
    return spec


def dataset_spec(name):
    """Return the registered :class:`DatasetSpec` of dataset ``name`` (case-insensitive, ``-`` = ``_``).

    ``"voc"`` (TinyMS 0.3's name) is ``"voc2007"``; ``"criteo"`` is ``"kaggle_display_advertising"``.

    Raises:
        UnknownNameError: ``name`` is not registered; the message lists the known datasets.

    Example:
        >>> from tinyms.data import dataset_spec
        >>> dataset_spec("CIFAR10").layout["train"]
        'cifar-10-batches-bin'
    """
    table = _table()
    key = str(name).lower().replace("-", "_")
    return lookup(table, _ALIASES[key] if key in _ALIASES and key not in table else name, "dataset")


def registered_specs():
    """All registered specs, sorted by name."""
    return [spec for _, spec in sorted(_table().items())]


def _megabytes(spec):
    exact = all(f.size is not None for f in spec.files)
    return f"{'' if exact else 'up to '}{spec.download_size / 1e6:,.1f} MB"


class DatasetList(list):
    """The names of the registered datasets (a plain list of str) that prints as a table.

    ``list_datasets() == [...]``, ``"mnist" in list_datasets()`` and iteration work as on
    any list; ``print(list_datasets())`` (or its repr at the prompt) shows one row per
    dataset with its download size, number of images and classes, licence and source page.
    :meth:`rows` gives the same facts as dicts.
    """

    _COLUMNS = ("name", "download", "images", "classes", "license", "source")

    def rows(self):
        """One dict per dataset: name, download (text), download_bytes, images, classes, license, source."""
        table = _table()
        return [{"name": name, "download": _megabytes(table[name]),
                 "download_bytes": table[name].download_size,
                 "images": table[name].total_images, "classes": len(table[name].labels),
                 "license": table[name].license, "source": table[name].homepage}
                for name in self if name in table]

    def table(self):
        """The table shown by ``str()`` and ``repr()``."""
        lines = [self._COLUMNS]
        for row in self.rows():
            lines.append((row["name"], row["download"], f"{row['images']:,}", str(row["classes"]),
                          row["license"], row["source"]))
        widths = [max(len(line[i]) for line in lines) for i in range(len(self._COLUMNS))]
        right = {1, 2, 3}
        return "\n".join("  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                                   for i, (cell, w) in enumerate(zip(line, widths))).rstrip()
                         for line in lines)

    __str__ = table
    __repr__ = table


def list_datasets():
    """Return the names :func:`download_dataset` accepts, sorted; printed, a table of their facts.

    Returns:
        DatasetList: a ``list`` of names whose ``str``/``repr`` is a table of download size,
        images, classes, licence and source page (``.rows()`` gives them as dicts).

    Example:
        >>> from tinyms.data import list_datasets
        >>> names = list_datasets()
        >>> "cifar10" in names and names[:2] == ["ag_news", "cifar10"]
        True
        >>> print(list_datasets())
        name                             download      images  classes  license                   source
        ag_news                     up to 44.0 MB     127,600        4  research, non-commercial  http://www.di.unipi.it/~gulli/AG_corpus_of_news_articles.html
        cifar10                          170.1 MB      60,000       10  not stated                https://www.cs.toronto.edu/~kriz/cifar.html
        cifar100                         168.5 MB      60,000      100  not stated                https://www.cs.toronto.edu/~kriz/cifar.html
        cityscapes                       279.6 MB       6,950        0  Cityscapes terms of use   https://www.cityscapes-dataset.com/
        facades                           35.1 MB           0        0  not stated                https://cmp.felk.cvut.cz/~tylecr1/facade/
        fashion_mnist                     30.9 MB      70,000       10  MIT                       https://github.com/zalandoresearch/fashion-mnist
        horse2zebra                      116.9 MB       2,661        0  ImageNet terms of use     https://github.com/junyanz/CycleGAN
        imdb                              84.1 MB      50,000        2  not stated                https://ai.stanford.edu/~amaas/data/sentiment/
        kaggle_display_advertising     4,576.8 MB  45,840,617        2  CC BY-NC-SA 4.0           https://ailab.criteo.com/ressources/
        mnist                       up to 55.0 MB      70,000       10  CC BY-SA 3.0              http://yann.lecun.com/exdb/mnist/
        sst2                        up to 12.0 MB      70,042        2  not stated                https://gluebenchmark.com/tasks
        voc2007                          911.1 MB       9,963       20  Flickr terms of use       http://host.robots.ox.ac.uk/pascal/VOC/voc2007/
    """
    return DatasetList(sorted(_table()))


for _builtin in _catalog.DATASETS:
    register_dataset(_builtin)
