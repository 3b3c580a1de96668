"""Private: small helpers shared by the Model, its loops and the tasks (a leaf: imports no other model module)."""

import numpy as np
import mindspore as ms
from mindspore import Tensor

from .._text import first_line
from ..errors import DatasetError, InputShapeError

__all__ = ["dataset_size", "run_first", "size_error", "as_list", "as_tensor", "scalar", "check_data_dtype",
           "needs_label_cast", "batch_text"]


def dataset_size(dataset, what):
    """The number of batches of ``dataset``; DatasetError for something that is not a dataset, or an empty one."""
    if not hasattr(dataset, "create_tuple_iterator"):
        raise DatasetError(f"{what} must be a tinyms.data dataset (with create_tuple_iterator), got "
                           f"{type(dataset).__name__}")
    try:
        size = dataset.get_dataset_size()
    except RuntimeError as err:
        raise DatasetError(f"{what} cannot be read: {first_line(err)}") from err
    if not size:
        raise DatasetError(f"{what} is empty (0 batches): check its folder, or use a batch size no "
                           f"larger than the dataset with drop_remainder=True")
    return size


def size_error(note, err):
    """The error for data of another image size than the config's that the network cannot run on."""
    return InputShapeError(f"{note} The network cannot run on that size either: {first_line(err)}")


def batch_text(batch):
    """``data (32, 1, 32, 32) Float32, label (32,) Int32``-style description of a batch's columns."""
    names = ("data", "label") if len(batch) == 2 else tuple(f"column {i}" for i in range(len(batch)))
    return ", ".join(f"{n} {tuple(c.shape)} {c.dtype}" for n, c in zip(names, batch))


def run_first(step_fn, batch, model=None):
    """Run the first training step (which compiles the graph), turning a failure into a clear error.

    When the batch's image size differs from the network's configuration (``model._size_note``),
    a failure is explained by that, and success makes the trained size the configuration's.
    """
    note = getattr(model, "_size_note", None)
    try:
        loss = step_fn(*batch)
    except (RuntimeError, ValueError, TypeError) as err:
        if note:
            raise size_error(note, err) from err
        if len(batch) == 2:
            data, label = batch
            raise InputShapeError(
                f"the network cannot train on batches of data {tuple(data.shape)} {data.dtype} with "
                f"labels {tuple(label.shape)} {label.dtype}: {first_line(err)}") from err
        raise InputShapeError(f"the network cannot train on batches of {batch_text(batch)}: "
                              f"{first_line(err)}") from err
    if note:
        model._adopt_input_size(tuple(batch[0].shape))
        model._size_note = None
    return loss


def as_list(callbacks):
    if callbacks is None:
        return []
    if isinstance(callbacks, (list, tuple)):
        return list(callbacks)
    return [callbacks]


def as_tensor(x):
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype.kind == "f" and arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    elif arr.dtype.kind not in "fiub":
        raise InputShapeError(f"cannot turn a {type(x).__name__} of dtype {arr.dtype} into a Tensor; "
                              f"pass a numeric numpy array or a Tensor")
    return Tensor(arr)


def scalar(value):
    if isinstance(value, np.ndarray) and value.size == 1:
        return float(value)
    if isinstance(value, (np.floating, np.integer)):
        return float(value)
    return value


def check_data_dtype(data, what):
    if data.dtype in (ms.float32, ms.float16, ms.float64):
        return
    raise InputShapeError(
        f"{what} is {data.dtype}, but networks take floating-point input: normalise images with a "
        f"tinyms.vision transform (e.g. mnist_transform.apply_ds(dataset)), which also casts to float32")


def needs_label_cast(loss_fn, label):
    """Sparse cross-entropy wants int32 class indices; other integer types are cast on the fly."""
    sparse = getattr(loss_fn, "sparse", False)
    if sparse and label.dtype != ms.int32 and label.dtype in (ms.int64, ms.uint32, ms.int16, ms.uint8, ms.int8,
                                                             ms.uint16):
        return ms.int32
    return None
