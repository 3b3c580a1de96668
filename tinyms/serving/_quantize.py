"""int8 servables: a servable's ONNX model quantized by ONNX Runtime, written as a new servable.

``quantize_servable`` (behind ``tinyms export RUN_DIR_OR_SERVABLE --quantize int8``) reads the
float servable's ONNX file (its SHA-256 checked against ``servable.json``), quantizes it with
``onnxruntime.quantization`` and writes the result as another servable of the same serving
folder, ``<name>_int8`` by default; the float servable is never touched. The new entry serves
like any ONNX servable (same recipe, labels and task) and records how it was made under
``model.quantization``: the method, the calibration images, the layers kept in float, the
source file's digest and how often the int8 model's top class equals the float model's on the
calibration images.

Methods:

- ``"dynamic"``: dense and recurrent layers (``MatMul``, ``Gemm``, ``LSTM``, ``GRU``,
  ``Attention``) get int8 weights; activations are quantized at run time from their own range,
  so no calibration data is needed.
- ``"static"``: convolutions and dense layers get int8 weights (per output channel) and int8
  activations whose ranges are measured beforehand on calibration images (min/max), in
  ``"qdq"`` (QuantizeLinear/DequantizeLinear pairs that onnxruntime fuses) or ``"qoperator"``
  (QLinearConv, QGemm...) form.
- ``"auto"`` (default): ``"static"``, every convolution included, when most convolutions have
  at least 32 output channels (ResNet, MobileNetV2); else ``"dynamic"``, convolutions kept in
  float (LeNet5, whose 6- and 16-channel convolutions ran 1.2-6x slower in int8 on
  onnxruntime's CPU kernels). Leaving some convolutions of a wide network in float was slower
  than quantizing them all (the int8 layers run in another memory layout, and each float
  island adds conversions both ways); benchmarks/RESULTS.md section 15.

Calibration images (static only) come from ``calibration``: a folder of image files, an array of
prepared inputs, or, for a ``tinyms train`` run directory, the run's own training split (the
first ``calibration_count`` images), every image prepared by the servable's recipe, as the
server prepares requests.
"""

import copy
import hashlib
import json
import logging
import os
import tempfile

from .._fileio import atomic_path, locked, sha256_of, sweep_stale_temps, write_json_atomic
from .._text import first_line as _first_line
from ..errors import DatasetError, ExportError, UnknownNameError
from ._config import NAME_PATTERN, SERVABLE_FILE, _digests, read_entries
from .errors import ServableConfigError

__all__ = ["quantize_servable", "METHODS", "QUANT_FORMATS", "DEFAULT_CALIBRATION_COUNT"]

log = logging.getLogger("tinyms.serving")

METHODS = ("auto", "dynamic", "static")
QUANT_FORMATS = ("qdq", "qoperator")
DTYPES = ("int8",)
DEFAULT_CALIBRATION_COUNT = 256
MAX_CALIBRATION_COUNT = 10000
#: ``method="auto"`` quantizes convolutions statically when most have at least this many output channels
MIN_CONV_CHANNELS = 32
_DENSE_OPS = ("MatMul", "Gemm", "LSTM", "GRU", "Attention")
_STATIC_OPS = ("Conv",) + _DENSE_OPS[:2]
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_MIN_OPSET = 13  # per-channel QuantizeLinear/DequantizeLinear (axis) needs opset 13
_CALIBRATION_BATCH = 32
_RUN_CONFIG = "config.yaml"


def quantize_servable(source, name=None, *, out_name=None, dtype="int8", method="auto", quant_format="qdq",
                      calibration=None, calibration_count=DEFAULT_CALIBRATION_COUNT):
    """Quantize a servable's ONNX model to int8 and write it as a new servable beside it.

    Args:
        source (str): a ``tinyms train`` run directory (its ``servable/`` folder is used, and
            its training data calibrates), a serving folder (holding ``servable.json``), or
            one servable's folder inside a serving folder.
        name (str): which servable of the folder to quantize; default: the run's model, or
            the folder's only float servable.
        out_name (str): the new servable's name; default ``<name>_int8``. An existing
            servable of that name is replaced only when it is itself a quantized one.
        dtype (str): ``"int8"`` (the only one).
        method (str): ``"auto"``, ``"dynamic"`` or ``"static"`` (see the module docstring).
        quant_format (str): static only: ``"qdq"`` (default) or ``"qoperator"``.
        calibration: static only: a folder of image files, a float32 array of prepared inputs
            ``(N, *input_shape)``, or a sequence of such arrays; default: the run's training
            split when ``source`` is a run directory.
        calibration_count (int): how many calibration images to use (1..10000).

    Returns:
        dict: the new ``servable.json`` entry; ``entry["model"]["quantization"]`` says how it
        was made.

    Raises:
        FileNotFoundError: ``source`` is neither a run directory nor a serving folder.
        UnknownNameError: ``name``, ``dtype``, ``method`` or ``quant_format`` is not one known.
        tinyms.errors.ExportError: the servable has no ONNX model (its network could not be
            exported to ONNX), its ONNX file changed since it was written, or onnxruntime
            cannot quantize it.
        tinyms.errors.DatasetError: static quantization without calibration images, or
            calibration images that do not fit the servable.
        ServableConfigError: ``out_name`` is invalid, is the source's name, or names a float
            servable.

    Example:
        >>> from tinyms.serving import quantize_servable
        >>> entry = quantize_servable("runs/lenet5-mnist")          # doctest: +SKIP
        >>> entry["name"], entry["model"]["quantization"]["method"]   # doctest: +SKIP
        ('lenet5_int8', 'dynamic')
    """
    _check_choice("dtype", dtype, DTYPES)
    _check_choice("method", method, METHODS)
    _check_choice("quant_format", quant_format, QUANT_FORMATS)
    if isinstance(calibration_count, bool) or not isinstance(calibration_count, int) \
            or not 1 <= calibration_count <= MAX_CALIBRATION_COUNT:
        raise DatasetError(f"calibration_count must be a whole number from 1 to {MAX_CALIBRATION_COUNT}, "
                           f"got {calibration_count!r}")
    root, run_dir, entries, entry = _locate(source, name)
    name = entry["name"]
    out_name = out_name or f"{name}_{dtype}"
    _check_out_name(out_name, name, entries)
    model_info = entry.get("model") or {}
    src_path, src_file, src_digest = _float_onnx(root, entry, run_dir)

    import onnx

    with tempfile.TemporaryDirectory(prefix=".tmp-quantize-", dir=root) as tmp:
        prepared = _prepare(src_path, tmp)
        graph = onnx.load(prepared, load_external_data=False)
        chosen, exclude, reason = _choose(graph, method)
        input_name, fixed_batch = _input_of(graph)
        images, note = None, None
        if chosen == "static":
            images, note = _calibration_images(calibration, calibration_count, entry, run_dir)
        elif calibration is not None and method == "dynamic":
            log.info("servable %r: dynamic quantization needs no calibration images; ignoring them", name)
        quantized = os.path.join(tmp, "int8.onnx")
        _run_quantizer(prepared, quantized, chosen, quant_format, exclude, images, input_name, fixed_batch)
        agreement = _agreement(src_path, quantized, images, input_name, fixed_batch, model_info)
        del graph
        record = {"dtype": dtype, "method": chosen, "requested": method, "reason": reason,
                  "weights": "int8, per output channel" if chosen == "static" else "int8, per tensor",
                  "activations": "uint8, ranges from calibration (min/max)" if chosen == "static"
                  else "uint8, range of each input at run time",
                  "layers_kept_float": sorted(exclude),
                  "calibration": None, "agreement": agreement,
                  "source": {"servable": name, "file": src_file, "sha256": src_digest},
                  "tool": f"onnxruntime {_ort_version()}"}
        if chosen == "static":
            record["format"] = quant_format
            record["calibration"] = {"count": int(len(images)), "images": note, "method": "minmax"}
        return _write_entry(root, entry, out_name, quantized, record, os.path.getsize(src_path))


def _check_choice(what, value, valid):
    if value not in valid:
        raise UnknownNameError(f"unknown {what} {value!r}; valid: {', '.join(valid)}")


def _is_run_dir(folder):
    return (os.path.isfile(os.path.join(folder, _RUN_CONFIG))
            and os.path.isfile(os.path.join(folder, "servable", SERVABLE_FILE)))


def _locate(source, name):
    """``(serving root, run dir or None, entries, the entry to quantize)`` for ``source``."""
    path = os.path.abspath(os.path.expanduser(os.fspath(source)))
    run_dir = None
    if os.path.isdir(path) and _is_run_dir(path):
        run_dir, root = path, os.path.join(path, "servable")
    elif os.path.isfile(os.path.join(path, SERVABLE_FILE)):
        root = path
    elif os.path.isdir(path) and os.path.isfile(os.path.join(os.path.dirname(path), SERVABLE_FILE)):
        root, name = os.path.dirname(path), name or os.path.basename(path)
    else:
        raise FileNotFoundError(f"no run directory or servable at {source!r}: give a tinyms train run directory "
                                f"(holding config.yaml and servable/) or a serving folder (holding {SERVABLE_FILE})")
    if run_dir is None and _is_run_dir(os.path.dirname(root)):
        run_dir = os.path.dirname(root)  # RUN_DIR/servable: still the run's data for calibration
    entries = read_entries(root)
    floats = [e for e in entries if isinstance(e, dict) and isinstance(e.get("model"), dict)
              and not e["model"].get("quantization")]
    names = [e.get("name") for e in floats]
    if name is None and run_dir is not None:
        wanted = _run_config(run_dir).get("model")
        name = wanted if wanted in names else None
    if name is None:
        if len(floats) != 1:
            listed = ", ".join(map(str, names)) or "none"
            raise UnknownNameError(f"{root} holds {len(floats)} float servables ({listed}); name the one to "
                                   f"quantize (--servable NAME, or name=)")
        return root, run_dir, entries, floats[0]
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == name:
            if (entry.get("model") or {}).get("quantization"):
                raise UnknownNameError(f"servable {name!r} is already quantized; quantize its float servable "
                                       f"{entry['model']['quantization'].get('source', {}).get('servable')!r}")
            return root, run_dir, entries, entry
    raise UnknownNameError(f"no servable {name!r} in {root}; its float servables are: "
                           f"{', '.join(map(str, names)) or 'none'}")


def _run_config(run_dir):
    import yaml

    try:
        with open(os.path.join(run_dir, _RUN_CONFIG), "rb") as f:
            data = yaml.safe_load(f.read(1 << 20))
    except (OSError, yaml.YAMLError) as err:
        raise DatasetError(f"cannot read {os.path.join(run_dir, _RUN_CONFIG)}: {_first_line(err)}; give "
                           f"calibration images instead (--calibration-data FOLDER)") from None
    return data if isinstance(data, dict) else {}


def _check_out_name(out_name, name, entries):
    if not isinstance(out_name, str) or not NAME_PATTERN.match(out_name):
        raise ServableConfigError(f"servable name {out_name!r} must be 1-64 letters, digits, '_', '.' or '-', "
                                  f"starting with a letter or digit")
    if out_name == name:
        raise ServableConfigError(f"the int8 servable cannot replace its float servable {name!r}; give it "
                                  f"another name (--name)")
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == out_name \
                and not (entry.get("model") or {}).get("quantization"):
            raise ServableConfigError(f"a servable named {out_name!r} exists and is not a quantized one; give "
                                      f"the int8 servable another name (--name)")


def _float_onnx(root, entry, run_dir):
    """``(path, file name, sha256)`` of the entry's ONNX file, its digest checked."""
    model = entry["model"]
    if model.get("task") == "tabular":  # its embeddings are lookups, its dense layers small; the copy would
        # also need the feature spec file beside it
        raise ExportError(f"servable {entry['name']!r} is a tabular servable, which int8 quantization does not "
                          "cover (its tables are lookups, not matrix products); serve the float servable")
    files = model.get("files") if isinstance(model.get("files"), dict) else {}
    rel = files.get("onnx") or (model.get("file") if model.get("format") == "onnx" else None)
    if not rel:
        where = (f"this run's network could not be exported to ONNX when it finished (its servable holds "
                 f"{', '.join(files) or 'no file'})" if run_dir else
                 f"its files are {', '.join(files) or 'none'}")
        raise ExportError(f"servable {entry['name']!r} has no ONNX model, and int8 quantization works on ONNX: "
                          f"{where}. Write it with tinyms.serving.write_servable(..., formats=('onnx', 'ckpt')); "
                          f"a network MindSpore cannot export to ONNX cannot be quantized (serve its checkpoint)")
    base = os.path.realpath(os.path.join(root, entry["name"]))
    path = os.path.realpath(os.path.join(base, rel))
    if os.path.commonpath([path, base]) != base or not os.path.isfile(path):
        raise ExportError(f"servable {entry['name']!r}: its ONNX file {rel!r} is missing from "
                          f"{os.path.join(root, entry['name'])}; write the servable again")
    digest = sha256_of(path)
    try:
        recorded = _digests(model, "onnx", rel, entry["name"])[0]
    except ValueError as err:
        raise ExportError(f"servable {entry['name']!r}: {err}") from None
    if recorded and recorded != digest:
        raise ExportError(f"servable {entry['name']!r}: {rel} does not match the SHA-256 recorded in "
                          f"{SERVABLE_FILE} (it changed after it was written); write the servable again")
    return path, os.path.basename(rel), digest


def _prepare(src_path, tmp):
    """The float model as quantization wants it: opset >= 13, shapes inferred, BatchNorm folded."""
    import onnx
    from onnx import version_converter

    model = onnx.load(src_path)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), _MIN_OPSET)
    if opset < _MIN_OPSET:
        try:
            model = version_converter.convert_version(model, _MIN_OPSET)
        except Exception as err:  # noqa: BLE001 - the converter raises many types
            raise ExportError(f"cannot move the ONNX model from opset {opset} to {_MIN_OPSET} for quantization: "
                              f"{_first_line(err)}") from None
    upgraded = os.path.join(tmp, "float.onnx")
    onnx.save(model, upgraded)
    del model
    prepared = os.path.join(tmp, "prepared.onnx")
    try:
        from onnxruntime.quantization import quant_pre_process

        quant_pre_process(upgraded, prepared, skip_symbolic_shape=True)
        return prepared
    except Exception as err:  # noqa: BLE001 - keep the model as exported
        log.info("quantization pre-processing skipped: %s", _first_line(err))
        return upgraded


def _initializers(graph):
    return {init.name: tuple(init.dims) for init in graph.graph.initializer}


def _conv_outputs(node, shapes):
    """Output channels of a Conv node (0 when its weight is not a constant)."""
    weight = shapes.get(node.input[1]) if len(node.input) > 1 else None
    return int(weight[0]) if weight else 0


def _choose(graph, method):
    """``(method, nodes kept in float, why)`` for ``graph`` and the method asked for."""
    shapes = _initializers(graph)
    convs = [n for n in graph.graph.node if n.op_type == "Conv"]
    dense = [n for n in graph.graph.node if n.op_type in _DENSE_OPS]
    wide = [n for n in convs if _conv_outputs(n, shapes) >= MIN_CONV_CHANNELS]
    if not convs and not dense:
        raise ExportError("the network has no convolution, dense or recurrent layer for int8 quantization to "
                          "act on; serve the float servable")
    if method == "dynamic":
        if not dense:
            raise ExportError("dynamic quantization acts on dense and recurrent layers, and this network has "
                              "none; use method 'static' (convolutions, with calibration images)")
        return "dynamic", [n.name for n in convs], "asked for"
    if method == "static":
        return "static", [], "asked for"
    if convs and 2 * len(wide) >= len(convs):
        return "static", [], (f"{len(wide)} of {len(convs)} convolutions have at least {MIN_CONV_CHANNELS} "
                               f"output channels")
    if not dense:
        raise ExportError(f"int8 would make this network slower: most of its convolutions have fewer than "
                          f"{MIN_CONV_CHANNELS} output channels and it has no dense layer; use method 'static' "
                          f"to quantize anyway")
    return "dynamic", [n.name for n in convs], (f"most convolutions have fewer than {MIN_CONV_CHANNELS} output "
                                                f"channels (kept float); dense layers only")


def _input_of(graph):
    value = graph.graph.input[0]
    initialisers = {init.name for init in graph.graph.initializer}
    for candidate in graph.graph.input:
        if candidate.name not in initialisers:
            value = candidate
            break
    dims = value.type.tensor_type.shape.dim
    fixed = dims[0].dim_value if dims and dims[0].HasField("dim_value") else None
    return value.name, fixed


def _batches(images, fixed_batch):
    size = fixed_batch or _CALIBRATION_BATCH
    for start in range(0, len(images), size):
        batch = images[start:start + size]
        if fixed_batch and len(batch) < fixed_batch:
            break  # a fixed-batch model takes whole batches only
        yield batch


def _run_quantizer(prepared, out, method, quant_format, exclude, images, input_name, fixed_batch):
    from onnxruntime import quantization as q

    try:
        if method == "dynamic":
            q.quantize_dynamic(prepared, out, weight_type=q.QuantType.QInt8, op_types_to_quantize=list(_DENSE_OPS),
                               nodes_to_exclude=list(exclude))
            return

        class Reader(q.CalibrationDataReader):
            def __init__(self):
                self.batches = iter(list(_batches(images, fixed_batch)))

            def get_next(self):
                batch = next(self.batches, None)
                return None if batch is None else {input_name: batch}

        fmt = q.QuantFormat.QDQ if quant_format == "qdq" else q.QuantFormat.QOperator
        q.quantize_static(prepared, out, Reader(), quant_format=fmt, op_types_to_quantize=list(_STATIC_OPS),
                          per_channel=True, weight_type=q.QuantType.QInt8, activation_type=q.QuantType.QUInt8,
                          nodes_to_exclude=list(exclude), calibrate_method=q.CalibrationMethod.MinMax)
    except (ExportError, DatasetError):
        raise
    except Exception as err:  # noqa: BLE001 - onnxruntime raises many types
        raise ExportError(f"onnxruntime could not quantize the model ({method}): {_first_line(err)}") from None


def _session(path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def _agreement(src_path, quantized, images, input_name, fixed_batch, model_info):
    """Check the int8 model runs; return the share of calibration images whose top class it keeps.

    ``None`` when there are no calibration images (dynamic) or the servable is not a classifier.
    """
    import numpy as np

    try:
        int8 = _session(quantized)
    except Exception as err:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise ExportError(f"onnxruntime cannot load the quantized model: {_first_line(err)}") from None
    shape = [fixed_batch or 1] + [int(d) for d in model_info.get("input_shape") or []]
    probe = images[:shape[0]] if images is not None and len(images) >= shape[0] else None
    if probe is None and len(shape) > 1:
        probe = np.zeros(shape, np.float32)
    if probe is not None:
        outputs = int8.run(None, {input_name: probe})
        if not all(np.all(np.isfinite(o)) for o in outputs if np.issubdtype(o.dtype, np.floating)):
            raise ExportError("the quantized model computes non-finite outputs; serve the float servable")
    if images is None or model_info.get("task", "classification") != "classification":
        return None
    float32 = _session(src_path)
    same = total = 0
    for batch in _batches(images, fixed_batch):
        a = float32.run(None, {input_name: batch})[0].argmax(-1)
        b = int8.run(None, {input_name: batch})[0].argmax(-1)
        same, total = same + int((a == b).sum()), total + len(batch)
    return round(same / total, 4) if total else None


def _calibration_images(calibration, count, entry, run_dir):
    """``(float32 array (N, *input_shape), description)`` of the calibration images."""
    import numpy as np

    model = entry["model"]
    shape = tuple(int(d) for d in model.get("input_shape") or ())
    if calibration is None and run_dir is None:
        raise DatasetError(f"static int8 quantization of {entry['name']!r} needs calibration images and none were "
                           f"given: pass a folder of images like the ones it serves (--calibration-data FOLDER, "
                           f"or calibration=FOLDER), or use method 'dynamic' (no calibration; dense layers only)")
    if isinstance(calibration, (str, os.PathLike)):
        images, note = _folder_images(os.fspath(calibration), count, entry), f"image files of {calibration}"
    elif calibration is not None:
        arrays = [calibration] if isinstance(calibration, np.ndarray) else list(calibration)
        try:
            images = np.concatenate([np.asarray(a, np.float32).reshape((-1,) + shape) for a in arrays])[:count]
        except ValueError as err:
            raise DatasetError(f"calibration arrays must hold prepared inputs of shape (N, {', '.join(map(str, shape))})"
                               f": {_first_line(err)}") from None
        note = "arrays given"
    else:
        images, note = _run_images(run_dir, count, entry)
    if len(images) == 0:
        raise DatasetError(f"no calibration images for {entry['name']!r}; give a folder of images "
                           f"(--calibration-data FOLDER) or use method 'dynamic'")
    if not np.all(np.isfinite(images)):
        raise DatasetError("calibration inputs hold NaN or infinite values; give prepared images")
    return np.ascontiguousarray(images, np.float32), f"{len(images)} {note}"


def _image_recipe(entry):
    from ._preprocess import recipe_for

    model = entry["model"]
    shape = tuple(model.get("input_shape") or ()) or None
    try:
        recipe = recipe_for(model.get("transform") or "", shape, model.get("mean"), model.get("std"),
                            recipe=model.get("recipe"))
    except ValueError as err:
        raise DatasetError(f"servable {entry['name']!r}: {err}") from None
    if recipe is None:
        raise DatasetError(f"servable {entry['name']!r} records no preprocessing recipe, so images cannot be "
                           f"prepared for calibration; pass prepared arrays (calibration=array) or use method "
                           f"'dynamic'")
    return recipe


def _spread(items, count):
    """``count`` items spread evenly over ``items`` (all of them when there are fewer)."""
    if len(items) <= count:
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def _image_files(folder):
    found = []
    for parent, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(os.path.join(parent, f) for f in sorted(files)
                     if f.lower().endswith(_IMAGE_SUFFIXES) and not f.startswith("."))
    return found


def _folder_images(folder, count, entry):
    import numpy as np

    from ._preprocess import InputError

    if not os.path.isdir(folder):
        raise DatasetError(f"calibration data {folder!r} is not a folder; give a folder of image files "
                           f"(PNG, JPEG...) like the ones the servable answers")
    files = _spread(_image_files(folder), count)
    if not files:
        raise DatasetError(f"no image files (PNG, JPEG, BMP...) in {folder} to calibrate with; give a folder "
                           f"of images like the ones the servable answers")
    recipe = _image_recipe(entry)
    images = []
    for path in files:
        with open(path, "rb") as f:
            data = f.read(64 << 20)
        try:
            images.append(recipe(data))
        except InputError as err:
            raise DatasetError(f"calibration image {path}: {err.message}") from None
    return np.stack(images)


def _run_images(run_dir, count, entry):
    """The first ``count`` images of the run's training split, prepared by the servable's recipe."""
    cfg = _run_config(run_dir)
    data, data_dir = cfg.get("data"), cfg.get("data_dir")
    fix = ("give calibration images instead (--calibration-data FOLDER), or use method 'dynamic' "
           "(no calibration; dense layers only)")
    if not isinstance(data, str) or not data:
        raise DatasetError(f"{os.path.join(run_dir, _RUN_CONFIG)} names no training data; {fix}")
    if os.path.isabs(data):
        train = os.path.join(data, "train")
        folder = train if os.path.isdir(train) else data
        if not os.path.isdir(folder):
            raise DatasetError(f"the run's training data {data} is gone; {fix}")
        return _folder_images(folder, count, entry), f"training images of {folder}"
    return _named_images(data, data_dir, count, entry, fix), f"first images of {data}'s train split"


def _named_images(data, data_dir, count, entry, fix):
    import numpy as np

    from .. import data as tdata
    from ..data._registry import dataset_spec
    from ..errors import TinyMSError
    from ..vision import _np_engine

    recipe = _image_recipe(entry).recipe
    try:
        spec = dataset_spec(data)
        if not spec.loader:
            raise DatasetError(f"{data} is not an image classification dataset")
        folder = data_dir if data_dir and data_dir != "sample" else None
        if data_dir == "sample":
            folder = tdata.sample_dataset(data)
        if folder is None:  # the dataset cache, as tinyms eval finds it (no network I/O when it is there)
            folder = tdata.download_dataset(data, progress=False)
        raw = getattr(tdata, spec.loader)(folder, usage="train", num_samples=count, shuffle=False)
        images = [np.asarray(_np_engine.run(recipe.eval, row[0]), np.float32)
                  for row in raw.create_tuple_iterator(output_numpy=True, num_epochs=1)]
    except (TinyMSError, OSError) as err:
        raise DatasetError(f"cannot read the run's training data ({data}) for calibration: "
                           f"{_first_line(err)}; {fix}") from None
    return np.stack(images) if images else np.zeros((0,), np.float32)


def _ort_version():
    import onnxruntime

    return onnxruntime.__version__


def _write_entry(root, entry, out_name, quantized, record, source_size):
    """Write the int8 ONNX file as servable ``out_name`` and add its entry to ``servable.json``."""
    folder = os.path.join(root, out_name)
    os.makedirs(folder, exist_ok=True)
    sweep_stale_temps(folder)
    file = f"{out_name}.onnx"
    final = os.path.join(folder, file)
    with atomic_path(final, suffix=".onnx") as tmp, open(quantized, "rb") as src, open(tmp, "wb") as dst:
        digest = hashlib.sha256()
        for chunk in iter(lambda: src.read(1 << 20), b""):
            digest.update(chunk)
            dst.write(chunk)
    new = copy.deepcopy(entry)
    new.pop("hub_weights", None)
    new["name"] = out_name
    new["description"] = (f"{entry.get('description') or entry['name']} - int8 ({record['method']}) from "
                          f"servable {entry['name']}")
    model = new["model"]
    for key in ("build_args", "file"):
        model.pop(key, None)
    model.update(format="onnx", files={"onnx": file}, sha256={"onnx": digest.hexdigest()}, quantization=record)
    record["size_ratio"] = round(os.path.getsize(final) / max(1, source_size), 4)
    with locked(os.path.join(root, f".{SERVABLE_FILE}.lock")):
        entries = [e for e in read_entries(root) if not (isinstance(e, dict) and e.get("name") == out_name)]
        write_json_atomic(os.path.join(root, SERVABLE_FILE), entries + [new])
    return json.loads(json.dumps(new))

