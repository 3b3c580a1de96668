"""Private: the layer table behind ``Model.summary``."""

import contextlib

import numpy as np
import mindspore as ms
from mindspore import Tensor

from .._text import first_line as _first_line
from ..errors import InputShapeError
from ._modes import untouched

__all__ = ["summary_text"]


def summary_text(network, input_shape=None):
    """The table ``Model.summary`` prints (see there)."""
    cfg = getattr(network, "default_cfg", None)
    if input_shape is None and cfg is not None:
        input_shape = tuple(cfg.input_shape)
    if input_shape is not None:
        if (not isinstance(input_shape, (tuple, list)) or not input_shape
                or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0
                           for d in input_shape)):
            raise ValueError(f"input_shape must be the shape of one sample as positive integers, "
                             f"without the batch dimension, e.g. (1, 32, 32); got {input_shape!r}")
        input_shape = tuple(int(d) for d in input_shape)
    names = {}
    for name, cell in network.cells_and_names():
        names.setdefault(id(cell), name)
    calls = _trace_output_shapes(network, input_shape, names) if input_shape is not None else None

    def own_params(cell):
        return list(cell.get_parameters(expand=False))

    rows, counted = [], set()
    if calls is not None:
        for name, cell, shape in calls:
            first = id(cell) not in counted
            counted.add(id(cell))
            n = sum(int(np.prod(p.shape)) for p in own_params(cell)) if first else None
            if not name:
                if not n:
                    continue
                name = "(root)"
            rows.append(("  " * name.count(".") + name, type(cell).__name__, shape, "-" if n is None else f"{n:,}"))
    for name, cell in network.cells_and_names():
        if id(cell) in counted:
            continue
        own = own_params(cell)
        if calls is None and not own:
            continue
        counted.add(id(cell))
        n = sum(int(np.prod(p.shape)) for p in own)
        if calls is not None and not name and not n:
            continue
        shape = "(not called)" if calls is not None else ", ".join(str(tuple(p.shape)) for p in own)
        rows.append(((name or "(root)"), type(cell).__name__, shape, f"{n:,}"))
    params = list(network.get_parameters())
    total = sum(int(np.prod(p.shape)) for p in params)
    trainable = sum(int(np.prod(p.shape)) for p in params if p.requires_grad)
    memory = sum(int(np.prod(p.shape)) * int(p.itemsize) for p in params)
    header = ("Layer", "Type", "Output shape" if calls is not None else "Parameter shapes", "Params")
    widths = [max([len(h)] + [len(str(r[i])) for r in rows]) for i, h in enumerate(header)]
    line = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + f"  {{:>{widths[-1]}}}"
    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    out = [line.format(*header), rule] + [line.format(*r) for r in rows] + [rule]
    if input_shape is not None:
        out.append(f"Input shape: (N, {', '.join(map(str, input_shape))})")
        if calls:
            out.append(f"Output shape: {calls[-1][2] if not calls[-1][0] else '?'}")
    else:
        out.append("Output shapes: pass input_shape=(...) (one sample's shape) to see them")
    out.append(f"Total params: {total:,}   Trainable: {trainable:,}   Non-trainable: {total - trainable:,}")
    out.append(f"Weight memory: {memory:,} bytes ({memory / 1e6:.2f} MB)")
    return "\n".join(out)


def _shape_text(output):
    if isinstance(output, (tuple, list)):
        return "[" + ", ".join(_shape_text(o) for o in output) + "]"
    shape = getattr(output, "shape", None)
    if shape is None:
        return type(output).__name__
    dims = [str(d) for d in shape]
    if dims:
        dims[0] = "N"
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _trace_output_shapes(network, input_shape, names):
    """``[(name, cell, output shape text)]`` for every cell call of one forward pass, in call order.

    Forward hooks only run in PyNative mode, so the pass runs there (the mode is restored); the
    network runs in inference mode (every layer's training flag is restored) on a batch of 2 zeros.
    """
    calls, stack, handles = [], [], []

    def before(cell, inputs):
        stack.append(len(calls))
        calls.append([names.get(id(cell), type(cell).__name__), cell, "?"])

    def after(cell, inputs, output):
        if stack:
            calls[stack.pop()][2] = _shape_text(output)

    cells = {id(c): c for _, c in network.cells_and_names()}
    mode = ms.get_context("mode")
    with untouched(network):
        try:
            for cell in cells.values():
                handles.append(cell.register_forward_pre_hook(before))
                handles.append(cell.register_forward_hook(after))
            if mode != ms.PYNATIVE_MODE:
                ms.set_context(mode=ms.PYNATIVE_MODE)
            network.set_train(False)
            x = (Tensor(np.zeros((2, *input_shape), np.float32)),)
            if getattr(network, "task", None) == "tabular":  # a table's (feat_ids, feat_vals): id 0, value 0
                x = (Tensor(np.zeros((2, *input_shape), np.int32)), *x)
            try:
                network(*x)
            except (RuntimeError, ValueError, TypeError, IndexError) as err:
                raise InputShapeError(f"{type(network).__name__} cannot run on a batch of shape "
                                      f"(N, {', '.join(map(str, input_shape))}): {_first_line(err)}; pass "
                                      f"summary(input_shape=...) with the shape of one sample it takes") from err
        finally:
            for handle in handles:
                with contextlib.suppress(Exception):
                    handle.remove()
            if mode != ms.PYNATIVE_MODE:
                ms.set_context(mode=mode)
    # the root call (name "") comes first in call order; show it last, as the network's output
    calls = [tuple(c) for c in calls]
    root = [c for c in calls if c[1] is network]
    return [c for c in calls if c[1] is not network] + root[:1]
