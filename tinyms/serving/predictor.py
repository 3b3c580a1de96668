"""In-process predictions: a servable's answers, as the server gives them, without a server.

:class:`Predictor` loads one servable of a serving folder and answers through the same request
handler the server's front ends run (:class:`~tinyms.serving._front.FrontApp`), called in this
process instead of over HTTP: the same preprocessing recipe, batching, task answer (classes,
boxes...) and typed errors as :meth:`tinyms.serving.Client.predict`, whatever the servable's
task. ONNX servables run on onnxruntime, so this works in the TinyMS runtime (no MindSpore);
with MindSpore installed, checkpoint and MindIR servables run in this process too.
"""

import dataclasses
import io
import json
import os

from .._jsonread import loads
from ._config import SERVABLE_FILE, load_servables
from ._edge import runnable_spec
from .client import _predictions, check_answer, predict_payload
from .errors import ServableConfigError

__all__ = ["Predictor"]

# Long enough for any single call made from this process; the server's own default is 30 s.
_CALL_SECONDS = 3600.0


def locate_servable(path, name=None):
    """``(serving folder, servable name or None)`` for a serving folder, one servable's folder, or a run.

    Raises:
        ServableConfigError: ``path`` is none of those.
    """
    folder = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if os.path.isfile(os.path.join(folder, SERVABLE_FILE)):
        return folder, name
    run_servables = os.path.join(folder, "servable")
    if os.path.isfile(os.path.join(run_servables, SERVABLE_FILE)):  # a tinyms train run directory
        return run_servables, name
    parent = os.path.dirname(folder)
    if os.path.isdir(folder) and os.path.isfile(os.path.join(parent, SERVABLE_FILE)):
        return parent, name or os.path.basename(folder)
    raise ServableConfigError(
        f"{path!r} is not a serving folder: it holds no {SERVABLE_FILE} (nor does its servable/ folder or, for a "
        "servable's own folder, its parent); pass the folder tinyms.serving.write_servable, tinyms train or "
        "tinyms quickstart wrote")


def _pick(root, name):
    """The checked spec of servable ``name`` of ``root`` (the only one when ``name`` is None)."""
    specs, problems = load_servables(root)
    if name is None:
        if len(specs) == 1 and not problems:
            return specs[0]
        names = [s.name for s in specs] + [p.servable for p in problems if p.servable]
        raise ServableConfigError(f"{os.path.join(root, SERVABLE_FILE)} lists {len(names)} servables "
                                  f"({', '.join(names) or 'none usable'}); pass name= to choose one")
    for spec in specs:
        if spec.name == name:
            return spec
    for problem in problems:
        if problem.servable == name:
            raise ServableConfigError(f"servable {name!r} cannot be used: {problem.reason}")
    known = ", ".join(s.name for s in specs) or "none"
    raise ServableConfigError(f"no servable named {name!r} in {os.path.join(root, SERVABLE_FILE)}; it has: {known}")


class _InProcessMindSpore:
    """A checkpoint or MindIR servable run by MindSpore in this process (full install only)."""

    ready = True
    state_reason = ""

    def __init__(self, spec):
        from ._backends import ExecutorBackend
        from ._executor import MindSporeRunner

        # MindSpore's op threads stay as the process set them (they can be set once per process),
        # and each batch size compiles when first used
        self.runner = MindSporeRunner(dataclasses.replace(spec, warmup=False), threads=0)
        self.meta = self.runner.meta
        self.platform = ExecutorBackend.platform_by_format[spec.format]

    def run(self, batch, timeout=None):
        return self.runner.run(batch)

    def close(self):
        self.runner = None


class Predictor:
    """Predicts with one servable in this process, answering as a TinyMS server does.

    A ``Predictor`` is the in-process twin of ``Client(...).predict(data, name)``: it prepares
    the input with the servable's recipe and returns the same objects, computed by the same
    code as the server's answer, with no server and no HTTP. ONNX servables run on
    onnxruntime and need no MindSpore, so this is the prediction API of the TinyMS runtime
    (``pip install ./runtime``); a servable with only MindSpore weights is then refused with
    :class:`~tinyms.serving.errors.MindSporeRequiredError`, whose message names the export that
    gives it an ONNX model (a servable that has both is run from its ONNX model). With
    MindSpore installed, checkpoint and MindIR servables run in this process. Calls may come
    from several threads at once.

    Args:
        path (str): a serving folder (holding ``servable.json``), one servable's folder in it
            (e.g. ``"serving/lenet5"``), or a ``tinyms train`` run directory.
        name (str): which servable of the folder; default: the servable's own folder, else the
            folder's only servable.
        threads (int): onnxruntime's threads for an ONNX model. Default 1. (A checkpoint or MindIR
            runs on MindSpore in this process, in GRAPH mode, with the process's op threads.)
        max_image_pixels (int): largest decoded image, width x height (larger ones raise
            ClientError 413). Default 16,777,216 (4096 x 4096), as the server.

    Attributes:
        name (str): the servable's name.
        info (dict): what ``GET /servables/<name>`` describes: model facts, task, labels...

    Raises:
        ServableConfigError: ``path`` holds no servable of that name, or its entry or weights
            are unusable (the message says why).
        MindSporeRequiredError: the servable has only MindSpore weights and MindSpore is not
            installed.

    Example:
        >>> from tinyms.data import MnistDataset, sample_dataset
        >>> from tinyms.model import create_model
        >>> from tinyms.serving import Predictor, write_servable
        >>> _ = write_servable("serving", "lenet5", create_model("lenet5", pretrained=True), formats=("onnx",))
        >>> image, label = next(MnistDataset(sample_dataset("mnist"), usage="test", shuffle=False)
        ...                     .create_tuple_iterator(output_numpy=True))
        >>> predict = Predictor("serving/lenet5")
        >>> prediction = predict(image)
        >>> prediction.label, int(label), predict.info["task"]
        ('7', 7, 'classification')
        >>> predict(image, strategy="TOP5_CLASS").labels[0]
        '7'
    """

    def __init__(self, path, name=None, *, threads=1, max_image_pixels=4096 * 4096):
        from ._backends import OnnxBackend
        from ._front import FrontApp, Servable

        root, name = locate_servable(path, name)
        spec = runnable_spec(_pick(root, name), root)
        try:
            backend = OnnxBackend(spec, threads=threads) if spec.format == "onnx" else \
                _InProcessMindSpore(spec)
        except ValueError as err:
            raise ServableConfigError(f"servable {spec.name!r} cannot be loaded: {err}") from None
        try:
            servable = Servable(spec, backend.meta, backend, max_image_pixels, lambda *_: None)
        except ValueError as err:
            backend.close()
            raise ServableConfigError(f"servable {spec.name!r} cannot be served: {err}") from None
        self.name = spec.name
        self.serving_path = root
        self._backend = backend
        # the request body is this process's own data: only the decoded image size is bounded
        self._app = FrontApp({spec.name: servable}, max_request_bytes=1 << 40, request_timeout=_CALL_SECONDS,
                             root=root)
        self.info = self._request("GET", f"/servables/{self.name}")

    def _request(self, method, route, payload=None):
        """The handler's JSON answer to ``method route`` with ``payload``; raises as the client does."""
        body = b"" if payload is None else json.dumps(payload).encode("utf-8")
        environ = {"REQUEST_METHOD": method, "PATH_INFO": route, "QUERY_STRING": "",
                   "CONTENT_TYPE": "application/json" if body else "", "CONTENT_LENGTH": str(len(body)),
                   "wsgi.input": io.BytesIO(body)}
        answer = {}

        def start_response(status, headers):
            answer["status"] = int(status.split(" ", 1)[0])

        data = b"".join(self._app(environ, start_response))
        check_answer(answer["status"], data)
        return loads(data, "the predictor's answer")

    def __call__(self, data, dataset_name=None, strategy="TOP1_CLASS", *, score_threshold=None,
                 iou_threshold=None, max_detections=None, output_size=None):
        """Predict for one input (or a batch tensor, or texts), as :meth:`tinyms.serving.Client.predict` does.

        Args:
            data: an image file path, the bytes of an image file, a PIL image, a uint8 image
                array (H, W) / (H, W, C), or a preprocessed float32 tensor of one sample's shape
                or a batch (N, ...). For a text servable: a string or a list of strings. For a
                tabular servable: a row (dict of column -> value), a list of them or a DataFrame.
            dataset_name (str): optional check that the servable fits this dataset.
            strategy (str): ``"TOP1_CLASS"`` (default) or ``"TOP5_CLASS"``; for a detection
                servable ``"TOP1_CLASS"`` or ``"ALL_CLASSES"``.
            score_threshold, iou_threshold, max_detections: detection only; default: the
                servable's.
            output_size (str): image_to_image only: ``"network"`` (default) or ``"original"``
                (the picture resized to the size of the image sent).

        Returns:
            tinyms.vision.Prediction: labels and scores, best first (``Predictions`` for a batch
            tensor or a list of texts); a detection servable returns
            :class:`~tinyms.serving.Detections`, an image_to_image servable a
            :class:`~tinyms.serving.TranslatedImage` (``.image``, ``.array``, ``.save(path)``). A
            text truncated to the servable's ``max_length`` tokens is answered with a
            ``tinyms.text.TruncationWarning``. A tabular servable returns one dict per row (see
            :meth:`tinyms.serving.Client.predict`), a list of them for a list of rows.

        Raises:
            FileNotFoundError: ``data`` names a file that does not exist.
            TypeError: ``data`` is of an unsupported type.
            ValueError: ``strategy`` is unknown.
            ClientError: the input is unusable (400: not an image, wrong tensor shape, bad
                option, text that is not valid Unicode; 413: image too large, too many or too
                long texts); the message says why.
            ServerError: the model failed on this input.
        """
        payload = predict_payload(data, dataset_name, strategy, (score_threshold, iou_threshold, max_detections),
                                  self.info.get("task"), output_size)
        return _predictions(self._request("POST", f"/servables/{self.name}", payload))

    def close(self):
        """Release the model (the predictor cannot be used afterwards)."""
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"Predictor({self.name!r} from {self.serving_path}, task {self.info.get('task')})"
