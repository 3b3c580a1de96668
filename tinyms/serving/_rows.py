"""Rows in and out of a served model (numpy only; used by the front ends and the executors).

- :func:`run_padded` runs a batch through a model that only takes some batch sizes (an ONNX
  file exported with a fixed batch, a MindSpore network compiled for a few sizes), in chunks
  padded with zero rows.
- :func:`take_rows` slices rows out of one model output or a tuple of them (a detector's
  boxes and scores).
- :func:`class_labels` picks a servable's class names: the ones given in ``servable.json``,
  else the zoo's, else ``"0"`` .. ``"n-1"``.
"""

import numpy as np

__all__ = ["run_padded", "take_rows", "class_labels"]


def run_padded(run, batch, sizes):
    """Run ``batch`` through ``run`` in chunks whose row count is one of ``sizes``.

    Each chunk holds at most ``max(sizes)`` rows and is padded with zero rows up to the smallest
    size that fits it; the padding rows' outputs are dropped.

    Args:
        run (callable): ``run(chunk) -> outputs`` with one output row per input row: an array,
            or a tuple of arrays for a model with several outputs.
        batch (numpy.ndarray): (N, ...) rows (float32, or int32 token ids), N >= 1; padding rows are zeros.
        sizes (sequence of int): the batch sizes ``run`` accepts, ascending.

    Returns:
        numpy.ndarray or tuple: (N, ...) float32 outputs, contiguous (a tuple of them when
        ``run`` returns a tuple).

    Example:
        >>> run_padded(lambda x: x * 2, np.ones((3, 2), np.float32), [1, 2, 4]).shape
        (3, 2)
    """
    limit = sizes[-1]
    outputs = []
    for start in range(0, batch.shape[0], limit):
        chunk = batch[start:start + limit]
        rows = chunk.shape[0]
        size = next(s for s in sizes if s >= rows)
        if size != rows:
            padded = np.zeros((size,) + chunk.shape[1:], chunk.dtype)
            padded[:rows] = chunk
            chunk = padded
        outputs.append(take_rows(run(chunk), 0, rows))
    if isinstance(outputs[0], tuple):
        return tuple(_joined([chunk[i] for chunk in outputs]) for i in range(len(outputs[0])))
    return _joined(outputs)


def _joined(parts):
    out = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return np.ascontiguousarray(out, dtype=np.float32)


def take_rows(outputs, start, stop):
    """Rows ``start:stop`` of a model's output, or of each output in a tuple (list) of them."""
    if isinstance(outputs, (tuple, list)):
        return tuple(np.asarray(out)[start:stop] for out in outputs)
    return np.asarray(outputs)[start:stop]


def class_labels(classes, given=None, fallback=None):
    """The class names of a model with ``classes`` outputs.

    Args:
        classes (int): the model's output count.
        given (sequence of str): names from ``servable.json``; they must fit ``classes``.
        fallback (sequence of str): names to use when none are given and they fit (the zoo's).

    Returns:
        tuple of str: one name per output.

    Raises:
        ValueError: ``given`` has another length than ``classes``.
    """
    if given is not None:
        if len(given) != classes:
            raise ValueError(f"model.labels has {len(given)} names but the model has {classes} outputs; "
                             "give one label per output")
        return tuple(str(label) for label in given)
    if fallback is not None and len(fallback) == classes:
        return tuple(str(label) for label in fallback)
    return tuple(str(i) for i in range(classes))
