"""Model serving: put trained models behind a real HTTP server in one line.

The beginner's API::

    from tinyms.serving import start_server, list_servables, server_started, predict, shutdown
    start_server()                                  # returns once the server answers
    list_servables()
    if server_started():
        res = predict('7.png', 'lenet5', 'mnist')   # a tinyms.vision.Prediction
        found = predict('street.jpg', 'ssd')        # a detector's Detections: boxes, labels, scores
    shutdown()                                      # graceful; returns when the process is gone

``Server`` and ``Client`` are the class forms (``Server`` is a context manager),
:func:`run_server` is the foreground form behind ``tinyms serve``, and :func:`write_servable`
saves a trained network into a serving directory (``servable.json`` + weights).
:class:`Predictor` answers as a server does, in-process: ``Predictor("serving/lenet5")(image)``.

A server speaks TinyMS's routes (``/servables``), the Open Inference Protocol (KServe v2) REST
routes (``/v2/...``), Prometheus ``/metrics``, ``/openapi.json``, and serves a web page at
``/`` to try a model from a browser. Checkpoint and MindIR servables run in MindSpore executor
processes (one per model, requests batched); ONNX servables run on onnxruntime and a server
with only ONNX servables never loads MindSpore. The TinyMS runtime (``pip install ./runtime``:
no MindSpore) serves and predicts with ONNX servables.

Importing this package is light: MindSpore is imported only by :func:`write_servable` and by
the executor processes.
"""

from .client import Client, Detection, Detections, TranslatedImage, list_servables, predict
from .errors import (ClientError, MindSporeRequiredError, PortInUseError, ServableConfigError, ServerError,
                     ServerNotRunning, ServerStartError, ServingError, UnseenValueWarning)
from .predictor import Predictor
from .server import Server, default_serving_path, run_server, server_started, shutdown, start_server


def export_web(source, out_dir, names=None, **kwargs):
    """Write a static web page that predicts with a servable's ONNX model in the browser, no server.

    See :func:`tinyms.serving._web.export_web` (``tinyms export RUN_DIR_OR_SERVABLE --web OUT_DIR``).

    Args:
        source (str): a ``tinyms train`` run directory, a serving folder or a servable's folder.
        out_dir (str): the folder to write (new, empty, or a page written before).
        names (sequence of str): the servables to put in the page; default every one it can run.
        **kwargs: ``registry`` (the npm registry's URL), ``progress``.

    Returns:
        dict: ``path``, ``servables``, ``skipped`` (name -> reason), ``onnxruntime_web``, ``bytes``.

    Raises:
        tinyms.errors.ExportError: no servable can run in the page, or ``out_dir`` holds other files.
        tinyms.errors.DownloadError: ONNX Runtime Web is not cached and cannot be downloaded.

    Example:
        >>> from tinyms.serving import export_web
        >>> export_web("runs/lenet5-mnist", "lenet5-page")["servables"]     # doctest: +SKIP
        ['lenet5']
    """
    from ._web import export_web as _export_web

    return _export_web(source, out_dir, names, **kwargs)


def write_servable(serving_path, name, net, description="", class_num=None, formats=("ckpt", "onnx"), **kwargs):
    """Save a network as a servable; see :func:`tinyms.serving._write.write_servable` for the details.

    Args:
        serving_path (str): the serving directory (created if missing).
        name (str): servable name (used in URLs).
        net (mindspore.nn.Cell): the trained network (a zoo model carries its config).
        description (str): free text shown by ``list_servables()``.
        class_num (int): number of classes; default: the network's.
        formats (sequence of str): among ``"ckpt"``, ``"onnx"``, ``"mindir"``; the first is served.
        **kwargs: ``model_name``, ``input_shape``, ``labels``, ``transform``, ``max_batch_size``,
            ``max_delay_ms``; detection settings; ``text_transform`` (text networks); ``direction``
            (image_to_image: which generator of a CycleGAN-like model, ``"a2b"`` by default);
            ``features`` (tabular networks: the ``tinyms.data.FeatureSpec`` their rows were encoded
            with, its dict form or the path of its JSON file).

    Returns:
        dict: the ``servable.json`` entry written.

    Raises:
        ServableConfigError: an argument is invalid or the existing ``servable.json`` is broken.
        tinyms.errors.ExportError: the first format cannot be exported.

    Example:
        >>> import os
        >>> from tinyms.model import create_model
        >>> from tinyms.serving import write_servable
        >>> entry = write_servable("serving", "lenet5", create_model("lenet5", pretrained=True))
        >>> entry["name"], entry["model"]["files"]
        ('lenet5', {'ckpt': 'lenet5.ckpt', 'onnx': 'lenet5.onnx'})
        >>> sorted(os.listdir("serving/lenet5")), os.path.isfile("serving/servable.json")
        (['lenet5.ckpt', 'lenet5.onnx'], True)
    """
    from ._write import write_servable as _write_servable

    return _write_servable(serving_path, name, net, description, class_num, formats, **kwargs)


def quantize_servable(source, name=None, **kwargs):
    """Write an int8 copy of a servable's ONNX model as a new servable (``tinyms export --quantize int8``).

    See :func:`tinyms.serving._quantize.quantize_servable` for the methods and every argument.

    Args:
        source (str): a ``tinyms train`` run directory, a serving folder or a servable's folder.
        name (str): which servable to quantize; default: the run's, or the folder's only one.
        **kwargs: ``out_name``, ``method`` ("auto", "dynamic", "static"), ``quant_format``,
            ``calibration`` (a folder of images or prepared arrays), ``calibration_count``.

    Returns:
        dict: the new ``servable.json`` entry (``<name>_int8``); ``["model"]["quantization"]``
        records the method, calibration and source digest.

    Raises:
        tinyms.errors.ExportError: the servable has no ONNX model or cannot be quantized.
        tinyms.errors.DatasetError: static quantization without usable calibration images.

    Example:
        >>> from tinyms.serving import quantize_servable
        >>> entry = quantize_servable("runs/lenet5-mnist")      # doctest: +SKIP
        >>> entry["name"]                                        # doctest: +SKIP
        'lenet5_int8'
    """
    from ._quantize import quantize_servable as _quantize_servable

    return _quantize_servable(source, name, **kwargs)


__all__ = [
    "Server",
    "Client",
    "Predictor",
    "Detection",
    "Detections",
    "TranslatedImage",
    "start_server",
    "predict",
    "list_servables",
    "server_started",
    "shutdown",
    "run_server",
    "write_servable",
    "quantize_servable",
    "default_serving_path",
    "ServingError",
    "ServableConfigError",
    "MindSporeRequiredError",
    "ServerStartError",
    "PortInUseError",
    "ServerNotRunning",
    "ClientError",
    "ServerError",
    "UnseenValueWarning",
    "export_web",
]
