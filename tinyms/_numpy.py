"""numpy-style functions on MindSpore tensors, exposed at ``tinyms.<name>``.

MindSpore's ``mindspore.numpy`` provides most of them; the few below differ where numpy's
own behaviour is what a user expects (``array`` accepting a numpy array, for instance).
"""

import numpy as np
import mindspore.numpy as _mnp
from mindspore import Tensor

__all__ = [n for n in _mnp.__all__ if not n.startswith("_")]


def array(obj, dtype=None, copy=True, ndmin=0):
    """Create a Tensor from a Python scalar, nested list/tuple, numpy array or Tensor.

    Args:
        obj: the data. numpy arrays are accepted, as with ``numpy.array``.
        dtype: a MindSpore dtype (``tinyms.float32``...) or numpy dtype; inferred when None.
        copy (bool): copy the data (a numpy array is always copied so the Tensor owns its memory).
        ndmin (int): minimum number of dimensions; ones are prepended as needed.

    Returns:
        Tensor.

    Example:
        >>> import numpy as np, tinyms as ts
        >>> ts.array(np.zeros((2, 3), np.float32)).shape
        (2, 3)
    """
    if isinstance(obj, np.ndarray) or np.isscalar(obj) and isinstance(obj, np.generic):
        data = np.array(obj, copy=True, ndmin=ndmin)
        if dtype is not None:
            data = data.astype(_to_np_dtype(dtype))
        return Tensor(data)
    return _mnp.array(obj, dtype=dtype, copy=copy, ndmin=ndmin)


def asarray(obj, dtype=None):
    """Like :func:`array` but without copying a Tensor that already has the right dtype."""
    if isinstance(obj, Tensor) and (dtype is None or obj.dtype == dtype):
        return obj
    return array(obj, dtype=dtype)


def _to_np_dtype(dtype):
    from mindspore import dtype_to_nptype
    try:
        return dtype_to_nptype(dtype)
    except (TypeError, KeyError, AttributeError):
        return np.dtype(dtype)


_overrides = {"array": array, "asarray": asarray}


def function(name):
    """The numpy-style function ``tinyms.<name>``."""
    return _overrides.get(name) or getattr(_mnp, name)
