"""Datasets from Python objects: MindSpore's readers with construction errors made TinyMS errors."""

from ..errors import DatasetError

__all__ = ["GeneratorDataset", "NumpySlicesDataset"]


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
