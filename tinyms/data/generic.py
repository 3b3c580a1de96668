"""Datasets from Python objects: MindSpore's readers with construction errors made TinyMS errors."""

import os

from ..errors import DatasetError
from ._folders import reader_workers

__all__ = ["GeneratorDataset", "NumpySlicesDataset", "MindDataset"]


def _build(reader, fix, *args, **kwargs):
    import mindspore.dataset as ds  # noqa: PLC0415 - keep `import tinyms.data` light

    try:
        return getattr(ds, reader)(*args, **kwargs)
    except ValueError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatasetError(f"{reader}: {first}. Fix: {fix}") from exc


def GeneratorDataset(source, column_names=None, *args, **kwargs):  # noqa: N802
    """Return a ``mindspore.dataset.GeneratorDataset`` reading rows from a Python ``source``.

    ``source`` is a generator function, an iterable, or a random-access object (with
    ``__getitem__`` and ``__len__``); each row is a tuple of NumPy arrays, one per column.
    Arguments are MindSpore's. Note that ``shuffle=True`` has no effect on a plain iterable
    (MindSpore ignores it): give a random-access source to shuffle.

    Args:
        source: see above.
        column_names: one name per column, e.g. ``["image", "label"]``.
        *args, **kwargs: passed on to MindSpore's ``GeneratorDataset``.

    Returns:
        mindspore.dataset.GeneratorDataset.

    Raises:
        DatasetError: MindSpore rejects the arguments (the message says which and why).

    Example:
        >>> import numpy as np
        >>> from tinyms.data import GeneratorDataset
        >>> rows = [(np.full((2,), i, np.float32), np.int32(i)) for i in range(3)]
        >>> ds = GeneratorDataset(rows, ["x", "y"], shuffle=False)
        >>> [int(y) for _, y in ds.create_tuple_iterator(output_numpy=True)]
        [0, 1, 2]
    """
    return _build("GeneratorDataset", "give column_names one name per column and a source "
                  "yielding tuples of NumPy arrays", source, column_names, *args, **kwargs)


def NumpySlicesDataset(data, column_names=None, *args, **kwargs):  # noqa: N802
    """Return a ``mindspore.dataset.NumpySlicesDataset`` slicing ``data`` along its first axis.

    Args:
        data: a dict ``{column: array}``, a tuple of arrays (with ``column_names``), a list
            or an array; every column must have the same length.
        column_names: column names when ``data`` is not a dict.
        *args, **kwargs: passed on to MindSpore's ``NumpySlicesDataset``.

    Returns:
        mindspore.dataset.NumpySlicesDataset.

    Raises:
        DatasetError: the columns have different lengths, or MindSpore rejects the
            arguments.

    Example:
        >>> from tinyms.data import NumpySlicesDataset
        >>> ds = NumpySlicesDataset({"x": [1, 2, 3]}, shuffle=False)
        >>> [int(r[0]) for r in ds.create_tuple_iterator(output_numpy=True)]
        [1, 2, 3]
        >>> NumpySlicesDataset({"x": [1, 2, 3], "y": [1, 2]})
        Traceback (most recent call last):
        ...
        tinyms.errors.DatasetError: NumpySlicesDataset: the columns have different lengths: x: 3, y: 2. Fix: give every column one entry per sample
    """
    if isinstance(data, dict):
        lengths = {str(k): len(v) for k, v in data.items() if hasattr(v, "__len__")}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{k}: {n}" for k, n in lengths.items())
            raise DatasetError(f"NumpySlicesDataset: the columns have different lengths: {shown}. "
                               f"Fix: give every column one entry per sample")
    return _build("NumpySlicesDataset", "give every column one entry per sample, and "
                  "column_names one name per column", data, column_names, *args, **kwargs)


def MindDataset(dataset_files, columns_list=None, *args, **kwargs):  # noqa: N802
    """Return a ``mindspore.dataset.MindDataset`` reading MindRecord files (TinyMS 0.3's name).

    Args:
        dataset_files: a MindRecord file (the other shards of a sharded set are found next to
            it) or a list of files.
        columns_list: the columns to read, e.g. ``["feature", "label"]``; None reads all.
        *args, **kwargs: passed on to MindSpore's ``MindDataset`` (``num_parallel_workers``,
            ``shuffle``, ``num_shards``, ``shard_id``, ``num_samples``...); a
            ``num_parallel_workers`` above the machine's CPUs becomes the CPUs (0.3's scripts
            pass 4, which MindSpore refuses on a 2-CPU machine).

    Returns:
        mindspore.dataset.MindDataset.

    Raises:
        DatasetError: a file does not exist, or MindSpore rejects the arguments.

    Example:
        >>> from tinyms.data import MindDataset
        >>> MindDataset("missing.mindrecord")
        Traceback (most recent call last):
        ...
        tinyms.errors.DatasetError: MindRecord file missing.mindrecord does not exist. Fix: pass the path of a .mindrecord file (e.g. written by ImdbDataset(...).convert_to_mindrecord)
    """
    files = [dataset_files] if isinstance(dataset_files, (str, os.PathLike)) else list(dataset_files)
    for path in files:
        if not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
            raise DatasetError(f"MindRecord file {path} does not exist. Fix: pass the path of a "
                               f".mindrecord file (e.g. written by ImdbDataset(...).convert_to_mindrecord)")
    if "num_parallel_workers" in kwargs:
        kwargs["num_parallel_workers"] = reader_workers(kwargs["num_parallel_workers"])
    return _build("MindDataset", "pass MindRecord files and column names they hold", dataset_files,
                  columns_list, *args, **kwargs)
