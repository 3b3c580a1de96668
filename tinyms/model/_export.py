"""Export a network to MindIR or ONNX: one implementation for ``Model.export`` and servables.

- The file is written to a temporary name in the target folder, fsync'ed and renamed (0644).
- ONNX is exported from a copy of the network: MindSpore 2.10 exports a given network object
  to ONNX only once per process (a second export fails with "i: 3 out of range").
- ONNX files get a dynamic batch dimension when onnxruntime then computes the same outputs
  as the network on a batch of 3 (within 1e-4 of the largest output, at least 1); otherwise the
  exported batch size stays.
  Either way the export is checked against the network before it is kept.
- Above 1 GiB of parameters MindSpore writes MindIR as ``<name>_graph.mindir`` plus a
  ``<name>_variables`` folder; TinyMS refuses that (one file per format is what servables
  hash and serve) with an ExportError instead of a half-kept export.
- MindSpore's refusals become :class:`~tinyms.errors.ExportError` naming the operator it
  cannot convert and suggesting MindIR.
"""

import copy
import logging
import os
import re
import tempfile

import numpy as np

from .._fileio import FILE_MODE, fsync_path
from .._text import first_line as _first_line
from ..errors import ExportError, UnknownNameError
from ._modes import untouched

__all__ = ["SUFFIX", "export_network", "normalise_format", "example_inputs"]

SUFFIX = {"MINDIR": ".mindir", "ONNX": ".onnx"}
_TOLERANCE = 1e-4
_UNSUPPORTED_OP = re.compile(r"(?:Can not find key|[Nn]ot support(?:ed)?[^A-Za-z]+(?:op(?:erator)?)?)\s*'?(\w+)'?")

log = logging.getLogger("tinyms.model")


def normalise_format(file_format):
    """``"onnx"`` -> ``"ONNX"``; unknown formats are an UnknownNameError listing the valid ones."""
    fmt = str(file_format).upper()
    if fmt not in SUFFIX:
        raise UnknownNameError(f"unknown export format {file_format!r}; valid formats are: {', '.join(SUFFIX)}")
    return fmt


def _explain(network, fmt, err):
    text = _first_line(err)
    hint = ""
    if fmt == "ONNX":
        match = _UNSUPPORTED_OP.search(str(err))
        op = match.group(1) if match else None
        if op:
            text = f"MindSpore 2.10 cannot convert the operator {op} to ONNX"
        hint = " Export MINDIR instead (file_format='MINDIR'); tinyms.serving serves MindIR models."
    return ExportError(f"cannot export {type(network).__name__} as {fmt}: {text}.{hint}")


def _examples(example):
    """The example inputs as a tuple (a network of several inputs, e.g. a table's, takes a tuple)."""
    return tuple(example) if isinstance(example, (tuple, list)) else (example,)


def example_inputs(network, batch=1):
    """Zero inputs of ``batch`` rows that ``network`` takes, as a tuple of Tensors (for exporting it).

    A tabular network (one with ``field_size``, task ``"tabular"``) takes ``(feat_ids int32 (N, F),
    feat_vals float32 (N, F))``; another network one float32 input of its ``default_cfg.input_shape``.
    """
    import mindspore as ms

    cfg = getattr(network, "default_cfg", None)
    if getattr(cfg, "task", None) == "tabular" or getattr(network, "task", None) == "tabular":
        fields = int(network.field_size)
        return (ms.Tensor(np.zeros((batch, fields), np.int32)), ms.Tensor(np.zeros((batch, fields), np.float32)))
    return (ms.Tensor(np.zeros((batch, *tuple(cfg.input_shape)), np.float32)),)


def _example_batch(example, batch):
    """Random inputs like ``example`` (one Tensor, or a tuple of them) with ``batch`` rows, as numpy."""
    if isinstance(example, (tuple, list)):
        return tuple(_example_batch(e, batch) for e in example)
    shape = (batch, *tuple(example.shape)[1:])
    dtype = example.asnumpy().dtype
    if np.issubdtype(dtype, np.integer):  # token ids: pad (0) and unknown (1) are in every vocabulary
        return np.random.default_rng(0).integers(0, 2, shape).astype(dtype)
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def _agrees(got, expected):
    """onnxruntime's outputs equal the network's within 1e-4 of the outputs' scale.

    The scale is the largest absolute output (at least 1): float32 kernels that sum in another
    order differ by a few units in the last place of the largest values, which an element-wise
    relative test would count against the small outputs beside them (an untrained ResNet-152
    at 224x224 gives logits up to 3e8, matched to 5e-7 of that, yet off by 128 in small ones).
    """
    if got.shape != expected.shape:
        return False
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    return bool(np.all(np.isfinite(got) == np.isfinite(expected))
                and np.abs(np.nan_to_num(got) - np.nan_to_num(expected)).max(initial=0.0) <= _TOLERANCE * scale)


def _outputs(value):
    """A network's output(s) as a list of numpy arrays (a detector returns (boxes, scores))."""
    return [v.asnumpy() for v in (value if isinstance(value, (tuple, list)) else (value,))]


def _all_agree(got, expected):
    return len(got) == len(expected) and all(_agrees(g, e) for g, e in zip(got, expected))


def _make_batch_dynamic(path, network, example):
    """Rewrite an ONNX file's batch dimension as symbolic if onnxruntime agrees with the network.

    The rewritten model is checked and run from a file of its own, after the loaded protobuf
    is dropped: a VGG's ONNX model is 0.5 GB, and holding it, a copy of it and their
    serialisations at once took 1.7 GB beyond the network (the export then peaked at 3.7 GB
    for VGG-11; benchmarks/bench_export_memory.py).
    """
    import mindspore as ms
    import onnx
    import onnxruntime as ort

    model = onnx.load(path)
    for value in list(model.graph.input) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].ClearField("dim_value")
            dims[0].dim_param = "batch"
    del model.graph.value_info[:]
    dynamic = path + ".dynamic"
    xs = _example_batch(_examples(example), 3)
    try:
        expected = _outputs(network(*(ms.Tensor(x) for x in xs)))  # a network may run at its export batch size only
        onnx.save(model, dynamic)
        del model
        onnx.checker.check_model(dynamic)
        quiet = ort.SessionOptions()
        quiet.log_severity_level = 4  # a probe: a failed run is an answer (logged below), not an error to print
        session = ort.InferenceSession(dynamic, sess_options=quiet, providers=["CPUExecutionProvider"])
        got = session.run(None, _feed(session, xs))
        del session
        if _all_agree(got, expected):
            os.replace(dynamic, path)
            return True
    except Exception as err:  # noqa: BLE001 - keep the static export, checked below
        log.info("ONNX batch dimension stays fixed: %s", _first_line(err))
    if os.path.exists(dynamic):
        os.remove(dynamic)
    return False


def _feed(session, xs):
    """onnxruntime's input dict: the session's inputs in order."""
    return {spec.name: x for spec, x in zip(session.get_inputs(), xs)}


def _check_static(path, network, example):
    import mindspore as ms
    import onnxruntime as ort

    examples = _examples(example)
    xs = _example_batch(examples, int(examples[0].shape[0]))
    expected = _outputs(network(*(ms.Tensor(x) for x in xs)))
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run(None, _feed(session, xs))
    if not _all_agree(got, expected):
        raise ExportError(f"the ONNX export of {type(network).__name__} computes different outputs than the "
                          f"network (onnxruntime vs MindSpore); export MINDIR instead")


def export_network(network, example, path, file_format="MINDIR", dynamic_batch=True):
    """Export ``network`` for inference to ``path`` (the format's suffix is added if missing).

    Args:
        network (Layer): the network, in inference mode.
        example (Tensor): an input of the right shape and dtype, or a tuple of them for a
            network of several inputs (a tabular network's ``(feat_ids, feat_vals)``). For MINDIR a
            Tensor with a ``None`` batch dimension exports a dynamic batch.
        path (str): the output file.
        file_format (str): ``"MINDIR"`` or ``"ONNX"`` (case-insensitive).
        dynamic_batch (bool): for ONNX, try to make the batch dimension symbolic.

    Returns:
        str: the path written.

    Raises:
        UnknownNameError: an unsupported format.
        ExportError: MindSpore cannot export the network in this format (the message names
            the operator when MindSpore does), or the ONNX file computes other outputs.
    """
    import mindspore as ms

    fmt = normalise_format(file_format)
    suffix = SUFFIX[fmt]
    path = os.path.abspath(os.fspath(path))
    if not path.lower().endswith(suffix):
        path += suffix
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    with untouched(network), tempfile.TemporaryDirectory(prefix=".tmp-export-", dir=folder) as tmp:
        network.set_train(False)
        base = os.path.join(tmp, "net")
        target = network
        if fmt == "ONNX":
            try:
                target = copy.deepcopy(network)
            except Exception:  # noqa: BLE001 - export the network itself (works once per process)
                target = network
        try:
            ms.export(target, *_examples(example), file_name=base, file_format=fmt)
        except (RuntimeError, ValueError, TypeError, KeyError) as err:
            raise _explain(network, fmt, err) from err
        del target  # the ONNX copy: its weights are not needed for the checks below
        written = base + suffix
        if fmt == "MINDIR" and not os.path.exists(written) and os.path.exists(base + "_graph.mindir"):
            size = sum(int(np.prod(p.shape)) * p.itemsize for p in network.get_parameters()) / 2 ** 30
            raise ExportError(
                f"cannot export {type(network).__name__} as MINDIR: its parameters take {size:.2f} GiB, and above "
                f"1 GiB MindSpore 2.10 writes a graph file plus a folder of weights, which TinyMS does not package "
                f"or serve. Save the weights with Model.save_checkpoint and serve the checkpoint instead.")
        first = _examples(example)[0]
        if fmt == "ONNX" and first.shape and None not in tuple(first.shape):
            if not (dynamic_batch and _make_batch_dynamic(written, network, example)):
                _check_static(written, network, example)
        fsync_path(written)
        os.chmod(written, FILE_MODE)
        os.replace(written, path)
    return path
