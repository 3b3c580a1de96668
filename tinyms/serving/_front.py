"""The HTTP front end: a WSGI application served by waitress in each worker process.

It never imports MindSpore. It parses requests, preprocesses images (numpy and PIL), hands
rows to the servable's :class:`~tinyms.serving._backends.Batcher`, and turns outputs into
JSON. The HTTP layer (waitress with deadlines, connection caps and JSON errors of its own) is
:mod:`~tinyms.serving._http`. Routes:

- TinyMS: ``GET /servables``, ``GET|POST /servables/<name>`` (classes for a classifier; for a
  detector, each image's objects: box in pixels of the photo sent, label, score; a text
  classifier takes ``{"text": "..."}`` or ``{"text": ["...", ...]}``, or a ``text/plain`` body,
  and answers classes per text, saying which texts were truncated; an image_to_image servable
  answers the translated picture: PNG base64 in JSON, or the PNG itself with ``format=png`` or
  ``Accept: image/png``; ``output_size=original`` resizes it to the photo's own size; a tabular
  servable takes table rows, ``{"rows": [{"column": value, ...}, ...]}``, ``{"rows": {...}}`` or
  the row object itself, and answers a probability and label, a value, or class probabilities
  per row, see :mod:`~tinyms.serving._tabular`).
- Open Inference Protocol (KServe v2) REST: ``GET /v2``, ``/v2/health/live``,
  ``/v2/health/ready``, ``/v2/models/<name>[/versions/1]``, ``.../ready``, ``POST .../infer``
  (JSON tensors and the binary tensor data extension; a detection servable also takes encoded
  images, a BYTES input ``image``, and answers ``boxes``, ``scores`` and ``detections``; a text
  servable takes strings, a BYTES input ``text``, and answers ``logits`` and ``predictions``; an
  image_to_image servable takes encoded images (BYTES ``image``) or pixels (UINT8 ``image``, [N, H,
  W, C]) and answers ``output`` (FP32, the network's) and ``png`` (BYTES, the pictures); a tabular
  servable takes rows, a BYTES input ``rows`` holding one JSON object per row, and answers
  ``output`` (FP32, the network's logits or values) and ``predictions`` (BYTES, JSON per row)).
- ``GET /metrics`` (Prometheus), ``GET /openapi.json``, ``GET /`` (web page) and its
  ``/static/`` files.

Every error is a JSON body ``{"error": "...", "type": "..."}`` with a real status code, and
no error text carries a traceback or a server path (paths inside the serving directory are
shown relative to it, others by their last component).
"""

import base64
import binascii
import io
import json
import logging
import math
import os
import re
import signal
import socket
import sys
import threading
import time
from http import HTTPStatus
from urllib.parse import parse_qs

import numpy as np

from .._jsonread import loads
from .._text import first_sentence
from ..errors import JSONInputError
from . import _openapi
from ._backends import Batcher, BackendError, ExecutorBackend, OnnxBackend
from ._config import ServableSpec, public_text
from ._metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from ._metrics import Metrics
from ._preprocess import STRATEGIES, InputError, known_transforms, recipe_for, top_k
from ._tasks import (DETECTION_DEFAULTS, DETECTION_STRATEGIES, IMAGE_OPTIONS, check_box_geometry, detection_option,
                     detections, image_option, png_bytes, translated_images)
from ._tabular import MAX_ROWS, TabularRecipe, row_texts
from ._textinput import MAX_TEXT_BYTES, MAX_TEXTS, TextRecipe, decode_utf8, texts_of
from ._wire import StatusWriter, bind_socket, watch_lifeline

log = logging.getLogger("tinyms.serving.front")

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
IMAGE_INPUT_NAME = "image"  # v2: encoded image files as a BYTES tensor (detection servables)
DETECTIONS_OUTPUT_NAME = "detections"  # v2: each image's objects as JSON text, a BYTES tensor
TEXT_INPUT_NAME = "text"  # v2: strings as a BYTES tensor (text servables)
PREDICTIONS_OUTPUT_NAME = "predictions"  # v2: each text's (row's) answer as JSON text, a BYTES tensor
ROWS_INPUT_NAME = "rows"  # v2: table rows as JSON objects, a BYTES tensor (tabular servables)
PNG_OUTPUT_NAME = "png"  # v2: an image_to_image servable's pictures as PNG files, a BYTES tensor
IMAGE_OUTPUT_NAME = "output"  # v2: an image_to_image network's own output, FP32
MODEL_VERSION = "1"
_STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
_STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
_PAGE_POLICY = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
                "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
_JSON = "application/json"
_V2_DTYPES = {"FP32": "<f4", "INT32": "<i4"}  # v2 tensor datatypes: images' floats, text's token ids
_MAX_ID_CHARS = 256


def _shown(text, limit=100):
    """A piece of the request echoed in an error message, cut to ``limit`` characters."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "..."


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


class HTTPError(Exception):
    """Raised by a handler to answer with an error status and a JSON body."""

    def __init__(self, status, message, kind=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind or HTTPStatus(status).phrase.replace(" ", "").replace("-", "")
        self.headers = headers or []


def _json_bytes(obj):
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode("utf-8")


class Servable:
    """A loaded servable inside a front end: spec, model facts, backend and batcher."""

    def __init__(self, spec, meta, backend, max_image_pixels, on_batch):
        self.spec = spec
        self.name = spec.name
        self.meta = meta
        self.backend = backend
        self.input_shape = tuple(meta["input_shape"])
        self.labels = tuple(meta["labels"])
        self.dataset = (meta.get("dataset") or "").lower()
        self.transform = meta.get("transform") or ""
        self.task = meta.get("task", "classification")
        # a text servable's strings -> token ids (its vocabulary checked again); images for the others
        self.text = TextRecipe(spec.text, os.path.join(spec.root, spec.name)) \
            if self.task == "text_classification" else None
        # a tabular servable's rows -> packed ids and values (its feature spec checked again)
        self.tabular = TabularRecipe(spec.features, os.path.join(spec.root, spec.name)) \
            if self.task == "tabular" else None
        self.recipe = None if self.text is not None or self.tabular is not None else recipe_for(
            self.transform, self.input_shape, meta.get("mean"), meta.get("std"), max_image_pixels,
            recipe=meta.get("recipe"))
        self.dtype = "INT32" if self.text is not None else "FP32"
        self.background = bool(meta.get("background", False))
        self.detection = dict(spec.detection or {})
        self.classes = int(meta.get("classes", len(self.labels)))
        self.anchors = meta.get("anchors")
        self.output_shape = tuple(meta.get("output_shape") or ())  # image_to_image: one picture (C, H, W)
        self.output_range = tuple(spec.output_range or (-1.0, 1.0))
        if self.task == "detection" and self.recipe is not None:
            check_box_geometry(self.recipe.recipe.eval, self.input_shape)
        self.batcher = Batcher(spec.name, backend, spec.max_batch_size, spec.max_delay_ms,
                               on_batch=lambda rows, secs: on_batch(spec.name, rows, secs))

    @property
    def ready(self):
        """True while the model can answer (an executor process that is running and not stuck)."""
        return self.backend.ready

    def not_ready_reason(self):
        return f"servable {self.name!r} is not ready: {self.backend.state_reason}"

    def describe(self):
        item = {
            "name": self.name,
            "description": self.spec.description,
            "ready": self.ready,
            "model": {"name": self.spec.model_name, "format": self.spec.format, "platform": self.backend.platform,
                      "class_num": len(self.labels), "input_shape": list(self.input_shape),
                      "dataset": self.dataset, "transform": self.transform, "labels": list(self.labels),
                      "file": self.spec.shown_path, "sha256": self.spec.sha256,
                      "unchecked": list(self.spec.unchecked)},
            "inputs": ["text", "tensor"] if self.text is not None else ["rows"] if self.tabular is not None else
                      ["image", "tensor"] if self.recipe is not None else ["tensor"],
            "task": self.task,
            "max_batch_size": self.spec.max_batch_size,
            "max_delay_ms": self.spec.max_delay_ms,
        }
        if self.task == "detection":
            item["model"]["background"] = self.background
            item["detection"] = dict(self.detection)
        if self.task == "image_to_image":
            item["image_to_image"] = {"output_shape": list(self.output_shape),
                                      "output_range": list(self.output_range),
                                      **{key: list(values) for key, values in IMAGE_OPTIONS.items()}}
        if self.tabular is not None:
            item["tabular"] = self.tabular.describe()
        if self.text is not None:
            tokenizer = self.text.transform.tokenizer
            item["text"] = {"max_length": self.text.max_length, "truncation": self.text.truncation,
                            "tokenizer": tokenizer.kind, "lowercase": tokenizer.lowercase,
                            "vocab_size": tokenizer.vocab_size, "max_texts": MAX_TEXTS,
                            "max_text_bytes": MAX_TEXT_BYTES}
        if not item["ready"]:
            item["error"] = self.not_ready_reason()
        return item

    @property
    def v2_images(self):
        """True when the v2 route takes images (encoded files as BYTES, or UINT8 pixels) besides tensors."""
        return self.task in ("detection", "image_to_image") and self.recipe is not None

    def v2_metadata(self):
        if self.tabular is not None:  # rows only: the packed ids and values are this server's own form
            return {"name": self.name, "versions": [MODEL_VERSION], "platform": self.backend.platform,
                    "inputs": [{"name": ROWS_INPUT_NAME, "datatype": "BYTES", "shape": [-1]}],
                    "outputs": [{"name": IMAGE_OUTPUT_NAME, "datatype": "FP32", "shape": [-1, self.classes]},
                                {"name": PREDICTIONS_OUTPUT_NAME, "datatype": "BYTES", "shape": [-1]}]}
        inputs = [{"name": INPUT_NAME, "datatype": self.dtype, "shape": [-1, *self.input_shape]}]
        if self.v2_images:
            inputs.append({"name": IMAGE_INPUT_NAME, "datatype": "BYTES", "shape": [-1]})
            if self.task == "image_to_image":  # pixels: [N, H, W, C], any size, run through the recipe
                inputs.append({"name": IMAGE_INPUT_NAME, "datatype": "UINT8",
                               "shape": [-1, -1, -1, self.recipe.channels]})
        if self.text is not None:
            inputs.append({"name": TEXT_INPUT_NAME, "datatype": "BYTES", "shape": [-1]})
        if self.task == "detection":
            outputs = [{"name": "boxes", "datatype": "FP32", "shape": [-1, self.anchors, 4]},
                       {"name": "scores", "datatype": "FP32", "shape": [-1, self.anchors, self.classes]},
                       {"name": DETECTIONS_OUTPUT_NAME, "datatype": "BYTES", "shape": [-1]}]
        elif self.task == "image_to_image":
            outputs = [{"name": IMAGE_OUTPUT_NAME, "datatype": "FP32", "shape": [-1, *self.output_shape]},
                       {"name": PNG_OUTPUT_NAME, "datatype": "BYTES", "shape": [-1]}]
        else:
            outputs = [{"name": OUTPUT_NAME, "datatype": "FP32", "shape": [-1, len(self.labels)]}]
        if self.text is not None:
            outputs.append({"name": PREDICTIONS_OUTPUT_NAME, "datatype": "BYTES", "shape": [-1]})
        return {"name": self.name, "versions": [MODEL_VERSION], "platform": self.backend.platform,
                "inputs": inputs, "outputs": outputs}

    @property
    def v2_output_names(self):
        return [out["name"] for out in self.v2_metadata()["outputs"]]

    def text_answers(self, logits, strategy, notes, batch):
        """``(predictions, notes)`` for texts: top-k classes per text (``"truncated"`` flags), note sentences."""
        rows = top_k(logits, self.labels, STRATEGIES[strategy])
        for i, row in enumerate(rows):
            row["truncated"] = i in notes
            if i in notes:
                row["dropped_tokens"] = notes[i]
        return rows, [self.text.note(i, dropped, batch) for i, dropped in sorted(notes.items())]

    def texts(self, value, field="text"):
        """``(ids, batch, notes)`` for a request's string or list of strings (4xx ``HTTPError`` when unusable)."""
        try:
            texts, batch = texts_of(value, field)
            ids, notes = self.text.prepare(texts)
        except InputError as err:
            raise _text_error(err) from None
        return ids, batch, notes

    def table_rows(self, doc):
        """``(packed rows, batch, notes)`` of a tabular request's JSON body (4xx ``HTTPError`` when unusable).

        The body is ``{"rows": [row, ...]}`` (a batch), ``{"rows": row}`` or the row itself.
        """
        if isinstance(doc.get(ROWS_INPUT_NAME), (list, dict)):
            extra = [key for key in doc if key != ROWS_INPUT_NAME]
            if extra:
                raise HTTPError(400, f"a body with 'rows' holds nothing else; remove {_shown(extra[0])!r} (a "
                                     "tabular servable takes no options)", "InvalidField")
            value = doc[ROWS_INPUT_NAME]
        else:
            value = doc
        return self.rows(value, ROWS_INPUT_NAME)

    def rows(self, value, field):
        """``(packed rows, batch, notes)`` of a row object or a list of them (4xx ``HTTPError`` when unusable)."""
        try:
            return self.tabular.rows_of(value, field)
        except InputError as err:
            raise HTTPError(err.status, err.message, "PayloadTooLarge" if err.status == 413 else "BadRow") from None

    def pictures(self, output, options, sizes):
        """The PNG files of an image_to_image output, at the network's size or (``output_size``
        ``"original"``) each photo's ``sizes``; with their (width, height)."""
        back = sizes if options.get("output_size") == "original" else None
        images = translated_images(output, self.output_range, back)
        return [(png_bytes(img), img.shape[1], img.shape[0]) for img in images]

    def detections(self, outputs, options, sizes):
        """Each image's objects (see ``_tasks.detections``); ``sizes`` None for tensor inputs."""
        steps = self.recipe.recipe.eval if sizes is not None else None
        return detections(outputs[0], outputs[1], self.labels, self.background, self.input_shape, options,
                          steps, sizes)


class FrontApp:
    """The WSGI application of one front-end process.

    Args:
        servables (dict): name -> :class:`Servable`.
        unavailable (dict): name -> reason, for servables listed in servable.json that failed.
        problems (list of dict): servable.json entries that were rejected (for ``GET /servables``).
        max_request_bytes (int): largest accepted request body (413 above).
        request_timeout (float): seconds a request may wait for its model call.
        metrics (Metrics): where to record; None records nothing.
        root (str): the serving directory (paths inside it are shown relative to it).
    """

    def __init__(self, servables, unavailable=None, problems=None, max_request_bytes=8 * 1024 * 1024,
                 request_timeout=30.0, metrics=None, root=None):
        self.servables = servables
        self.root = root
        self.unavailable = {name: public_text(reason, root) for name, reason in (unavailable or {}).items()}
        self.problems = [public_text(p["message"] if isinstance(p, dict) else p, root) for p in (problems or [])]
        self.max_request_bytes = int(max_request_bytes)
        self.request_timeout = float(request_timeout)
        self.metrics = metrics
        self.static = _load_static()
        try:
            from importlib.metadata import version
            self.version = version("tinyms")
        except Exception:  # noqa: BLE001 - metadata is informative only
            self.version = "unknown"
        name = r"(?P<name>[^/]+)"
        version_part = r"(?:/versions/(?P<version>[^/]+))?"
        self.routes = [
            ("index", re.compile(r"/"), {"GET": self.index}),
            ("static", re.compile(r"/static/(?P<file>[A-Za-z0-9_.-]+)"), {"GET": self.static_file}),
            ("servables", re.compile(r"/servables/?"), {"GET": self.list_servables}),
            ("predict", re.compile(rf"/servables/{name}"), {"GET": self.servable_detail, "POST": self.predict}),
            ("v2_server", re.compile(r"/v2/?"), {"GET": self.v2_server}),
            ("v2_live", re.compile(r"/v2/health/live"), {"GET": self.v2_live}),
            ("v2_ready", re.compile(r"/v2/health/ready"), {"GET": self.v2_ready}),
            ("v2_model", re.compile(rf"/v2/models/{name}{version_part}"), {"GET": self.v2_model}),
            ("v2_model_ready", re.compile(rf"/v2/models/{name}{version_part}/ready"), {"GET": self.v2_model_ready}),
            ("v2_infer", re.compile(rf"/v2/models/{name}{version_part}/infer"), {"POST": self.v2_infer}),
            ("metrics", re.compile(r"/metrics"), {"GET": self.metrics_page}),
            ("openapi", re.compile(r"/openapi\.json"), {"GET": self.openapi}),
        ]

    # ------------------------------------------------------------------ WSGI plumbing
    def __call__(self, environ, start_response):
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD", "GET").upper()
        route = "unmatched"
        try:
            route, handler, params = self._match(environ.get("PATH_INFO") or "/", method)
            status, headers, body = handler(environ, **params)
        except HTTPError as err:
            status, headers, body = self._error(err)
        except Exception:  # noqa: BLE001 - never a traceback to the client
            log.exception("unexpected error on %s %s", method, environ.get("PATH_INFO"))
            status, headers, body = self._error(HTTPError(
                500, "internal error while handling the request; the server log has the details", "InternalError"))
        if method == "HEAD":
            body = b""
        headers = headers + [("Content-Length", str(len(body)))]
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        if self.metrics is not None:
            self.metrics.observe_request(route, method if method in ("GET", "POST", "HEAD") else "OTHER",
                                         status, time.perf_counter() - started)
        return [body]

    def _match(self, path, method):
        for route, pattern, handlers in self.routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            params = {k: v for k, v in match.groupdict().items() if v is not None}
            lookup = "GET" if method == "HEAD" else method
            if lookup not in handlers:
                allowed = ", ".join(sorted(set(handlers) | ({"HEAD"} if "GET" in handlers else set())))
                raise HTTPError(405, f"{_shown(method, 20)} is not allowed on {_shown(path)}; use {allowed}",
                                "MethodNotAllowed", [("Allow", allowed)])
            return route, handlers[lookup], params
        raise HTTPError(404, f"no route {_shown(path)}; GET /openapi.json lists every route", "NotFound")

    @staticmethod
    def _error(err):
        body = _json_bytes({"error": err.message, "type": err.kind})
        return err.status, [("Content-Type", _JSON)] + list(err.headers), body

    @staticmethod
    def _json(obj, status=200, headers=()):
        return status, [("Content-Type", _JSON)] + list(headers), _json_bytes(obj)

    def _body(self, environ):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise HTTPError(400, "the Content-Length header is not a number") from None
        if length > self.max_request_bytes:
            raise HTTPError(413, f"the request body has {length:,} bytes, more than this server's limit of "
                                 f"{self.max_request_bytes:,}; send a smaller image or tensor, or start the "
                                 "server with a larger max_request_bytes", "PayloadTooLarge")
        return environ["wsgi.input"].read(length) if length else b""

    def _servable(self, name, version=None):
        servable = self.servables.get(name)
        if servable is None:
            if name in self.unavailable:
                raise HTTPError(503, f"servable {name!r} is not available: {self.unavailable[name]}",
                                "ServableUnavailable")
            known = ", ".join(sorted(self.servables)) or "none"
            raise HTTPError(404, f"no servable named {_shown(name)!r}; this server serves: {known} "
                                 "(GET /servables lists them)", "UnknownServable")
        if version is not None and version != MODEL_VERSION:
            raise HTTPError(404, f"servable {name!r} has no version {_shown(version)!r}; its only version is "
                                 f"{MODEL_VERSION!r}", "UnknownVersion")
        return servable

    # ------------------------------------------------------------------ pages
    def index(self, environ):
        return self.static_file(environ, "index.html")

    def static_file(self, environ, file):
        data = self.static.get(file)
        if data is None:
            raise HTTPError(404, f"no static file {file!r}", "NotFound")
        ctype = _STATIC_TYPES.get(os.path.splitext(file)[1], "application/octet-stream")
        headers = [("Content-Type", ctype), ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-cache")]
        if file.endswith(".html"):
            headers += [("Content-Security-Policy", _PAGE_POLICY), ("X-Frame-Options", "DENY")]
        return 200, headers, data

    def openapi(self, environ):
        return self._json(_openapi.document(self.version))

    def metrics_page(self, environ):
        return 200, [("Content-Type", METRICS_CONTENT_TYPE)], Metrics.render()

    # ------------------------------------------------------------------ TinyMS routes
    def list_servables(self, environ):
        items = [s.describe() for s in self.servables.values()]
        items += [{"name": name, "ready": False, "error": reason} for name, reason in self.unavailable.items()]
        return self._json({"servables": items, "problems": self.problems})

    def servable_detail(self, environ, name):
        return self._json(self._servable(name).describe())

    def predict(self, environ, name):
        servable = self._servable(name)
        with servable.batcher.reserve() as submit:
            rows, batch, options, sizes, notes = self._parse_predict(environ, servable)
            outputs = self._run(servable, rows, submit)
        if servable.tabular is not None:
            return self._json({"servable": name, "task": servable.task, "objective": servable.tabular.objective,
                               "batch": batch, "notes": notes, "predictions": servable.tabular.answers(outputs[0])})
        if notes is not None:  # strings sent to a text servable
            predictions, sentences = servable.text_answers(outputs[0], options["strategy"], notes, batch)
            return self._json({"servable": name, "task": servable.task, "strategy": options["strategy"],
                               "batch": batch, "max_length": servable.text.max_length, "notes": sentences,
                               "predictions": predictions})
        if servable.task == "detection":
            return self._json({"servable": name, "task": servable.task, "batch": batch, **options,
                               "predictions": servable.detections(outputs, options, sizes)})
        if servable.task == "image_to_image":
            return self._pictures(servable, outputs[0], options, sizes, batch)
        strategy = options["strategy"]
        return self._json({"servable": name, "strategy": strategy, "batch": batch,
                           "predictions": top_k(outputs[0], servable.labels, STRATEGIES[strategy])})

    def _pictures(self, servable, output, options, sizes, batch):
        """An image_to_image answer: the raw PNG (``format`` png), else JSON with each picture in base64."""
        pictures = servable.pictures(output, options, sizes)
        if options["format"] == "png":
            data, width, height = pictures[0]
            return 200, [("Content-Type", "image/png"), ("X-Content-Type-Options", "nosniff"),
                         ("X-Image-Width", str(width)), ("X-Image-Height", str(height))], data
        predictions = []
        for i, (data, width, height) in enumerate(pictures):
            item = {"image": base64.b64encode(data).decode("ascii"), "media_type": "image/png",
                    "width": width, "height": height}
            if sizes is not None:
                item["input_size"] = {"width": int(sizes[i][1]), "height": int(sizes[i][0])}
            predictions.append(item)
        return self._json({"servable": servable.name, "task": servable.task, "batch": batch,
                           "output_size": options["output_size"], "predictions": predictions})

    def _run(self, servable, rows, submit):
        """The model's outputs for ``rows``, a tuple of arrays (one per output)."""
        try:
            outputs = submit(rows, self.request_timeout)
        except BackendError as err:
            kind = {503: "ServableUnavailable", 504: "Timeout"}.get(err.status, "InferenceFailed")
            headers = [("Retry-After", "2")] if err.status == 503 else []
            raise HTTPError(err.status, public_text(err.message, self.root), kind, headers) from None
        outputs = tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)
        if not all(np.isfinite(out).all() for out in outputs):
            raise HTTPError(500, f"servable {servable.name!r} produced non-finite outputs (NaN or inf) for this "
                                 "input", "InferenceFailed")
        return outputs

    def _parse_predict(self, environ, servable):
        """``(rows, batch, options, sizes, notes)``.

        ``sizes`` are the photos' (height, width), None for tensors; ``notes`` (strings sent to
        a text servable, else None) maps a text's index to the tokens truncation dropped.
        """
        query = {key: values[0] for key, values in parse_qs(environ.get("QUERY_STRING", "")).items() if values}
        ctype = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        body = self._body(environ)
        sizes = notes = None
        if servable.tabular is not None:
            if ctype != _JSON:
                raise HTTPError(415, f"Content-Type {_shown(ctype)!r} is not supported; servable {servable.name!r} "
                                     "takes table rows as application/json: {\"rows\": [{\"column\": value, ...}, "
                                     "...]}", "UnsupportedMediaType")
            rows, batch, notes = servable.table_rows(self._json_body(body))
            return rows, batch, {}, None, notes
        if ctype == _JSON:
            doc = self._json_body(body)
            if ROWS_INPUT_NAME in doc:
                raise HTTPError(400, f"servable {servable.name!r} is a {servable.task} servable: it takes "
                                     f"{'text' if servable.text is not None else 'images or tensors'}, not table rows",
                                "RowsNotSupported")
            options = self._options(doc, query, servable)
            if "text" in doc:
                if servable.text is None:
                    raise HTTPError(400, f"servable {servable.name!r} is a {servable.task} servable: it takes images "
                                         "or tensors, not text", "TextNotSupported")
                rows, batch, notes = servable.texts(doc["text"])
            elif "tensor" in doc:
                rows, batch = self._tensor(doc["tensor"], servable)
            elif "image" in doc:
                (rows, sizes), batch = self._image(self._b64(doc["image"], "image"), servable), False
            elif servable.text is not None:
                raise HTTPError(400, "the JSON body needs a 'text' field: one string or a list of strings",
                                "MissingField")
            else:
                raise HTTPError(400, "the JSON body needs an 'image' field (base64 of an image file) or a "
                                     "'tensor' field ({shape, dtype, data: base64 of the raw bytes})",
                                "MissingField")
        elif ctype == "text/plain" and servable.text is not None:
            options = self._options({}, query, servable)
            try:
                text = decode_utf8(body, "the text/plain body")
            except InputError as err:
                raise _text_error(err) from None
            rows, batch, notes = servable.texts(text)
        elif ctype == "multipart/form-data":
            form, files = self._multipart(environ, body)
            options = self._options(form, query, servable)
            upload = files.get("file") or files.get("image")
            if upload is None:
                raise HTTPError(400, "the form needs a file field named 'file' holding the image", "MissingField")
            (rows, sizes), batch = self._image(upload, servable), False
        elif ctype.startswith("image/") or ctype in ("application/octet-stream", ""):
            options = self._options({}, query, servable)
            if not body:
                raise HTTPError(400, "the request body is empty; send the bytes of an image file", "MissingField")
            (rows, sizes), batch = self._image(body, servable), False
        else:
            sent = "application/json ({\"text\": ...}) or text/plain (UTF-8)" if servable.text is not None else \
                "application/json, multipart/form-data, or the raw bytes of an image (image/png...)"
            raise HTTPError(415, f"Content-Type {_shown(ctype)!r} is not supported; send {sent}",
                            "UnsupportedMediaType")
        if servable.task == "image_to_image":
            self._check_picture_request(environ, servable, options, rows, sizes)
        return rows, batch, options, sizes, notes

    @staticmethod
    def _check_picture_request(environ, servable, options, rows, sizes):
        """Settle an image_to_image request's answer format (Accept: image/png first asks for PNG) and refuse,
        before the model runs, what cannot be answered."""
        if not options.pop("format_given"):
            accept = (environ.get("HTTP_ACCEPT") or "").split(",")[0].split(";")[0].strip().lower()
            if accept == "image/png":
                options["format"] = "png"
        if options["output_size"] == "original" and sizes is None:
            raise HTTPError(400, "output_size 'original' resizes the picture to the photo sent; a tensor has no "
                                 "photo size: send an image, or leave output_size out", "InvalidOption")
        if options["format"] == "png" and rows.shape[0] != 1:
            raise HTTPError(400, f"a raw PNG answer holds one picture; the tensor has {rows.shape[0]} rows: ask for "
                                 "JSON (format=json) or send one row", "InvalidOption")

    @staticmethod
    def _options(fields, query, servable):
        """The request's options: the body's fields, else the query string's, else the defaults.

        ``strategy`` always; for a detection servable also ``score_threshold``, ``iou_threshold``
        and ``max_detections`` (defaults from its ``servable.json`` entry).
        """
        def given(key, default=None):
            return fields.get(key, query.get(key, default))

        strategy = given("strategy", "TOP1_CLASS")
        dataset = given("dataset", "") or ""
        detecting = servable.task == "detection"
        valid = DETECTION_STRATEGIES if detecting else tuple(STRATEGIES)
        if not isinstance(strategy, str) or strategy.upper() not in valid:
            kind = " for a detection servable" if detecting else ""
            raise HTTPError(400, f"unknown strategy {_shown(strategy)!r}{kind}; valid strategies are "
                                 f"{', '.join(valid)}", "UnknownStrategy")
        if not isinstance(dataset, str):
            raise HTTPError(400, "'dataset' must be a string such as \"mnist\"", "InvalidField")
        if dataset and servable.dataset and dataset.lower() != servable.dataset:
            raise HTTPError(400, f"servable {servable.name!r} takes {servable.dataset} inputs, not {_shown(dataset)}; "
                                 "pass the dataset it was trained on, or leave it out", "DatasetMismatch")
        options = {"strategy": strategy.upper()}
        misplaced = [key for key in DETECTION_DEFAULTS if key in fields or key in query]
        if misplaced and not detecting:
            raise HTTPError(400, f"{', '.join(misplaced)} only apply to detection servables; {servable.name!r} is a "
                                 f"{servable.task} servable", "InvalidOption")
        picturing = servable.task == "image_to_image"
        misplaced = [key for key in IMAGE_OPTIONS if key in fields or key in query]
        if misplaced and not picturing:
            raise HTTPError(400, f"{', '.join(misplaced)} only apply to image_to_image servables; {servable.name!r} "
                                 f"is a {servable.task} servable", "InvalidOption")
        if picturing:
            for key, allowed in IMAGE_OPTIONS.items():
                value = given(key, allowed[0])
                try:
                    options[key] = image_option(key, value)
                except ValueError as err:
                    raise HTTPError(400, f"{err}, got {_shown(repr(value))}", "InvalidOption") from None
            options["format_given"] = "format" in fields or "format" in query
        if detecting:
            for key, default in servable.detection.items():
                value = given(key, default)
                try:
                    options[key] = detection_option(key, value)
                except ValueError as err:
                    raise HTTPError(400, f"{err}, got {_shown(repr(value))}", "InvalidOption") from None
        return options

    @staticmethod
    def _json_body(body):
        try:
            doc = loads(body, "the JSON body", parse_constant=_reject_constant)
        except JSONInputError as err:
            raise HTTPError(400, f"{err}; send a flat object", "MalformedJSON") from None
        except (UnicodeDecodeError, ValueError) as err:
            raise HTTPError(400, f"the body is not valid JSON ({_shown(err, 200)}); send a JSON object",
                            "MalformedJSON") from None
        if not isinstance(doc, dict):
            raise HTTPError(400, f"the JSON body must be an object, got {type(doc).__name__}", "MalformedJSON")
        return doc

    @staticmethod
    def _b64(text, field):
        if not isinstance(text, str):
            raise HTTPError(400, f"'{field}' must be a base64 string", "InvalidField")
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise HTTPError(400, f"'{field}' is not valid base64; encode the bytes with base64.b64encode",
                            "BadBase64") from None

    @staticmethod
    def _multipart(environ, body):
        from werkzeug.formparser import parse_form_data

        env = dict(environ)
        env["wsgi.input"] = io.BytesIO(body)
        env["CONTENT_LENGTH"] = str(len(body))
        try:
            _, form, files = parse_form_data(env, silent=False)
        except Exception as err:  # noqa: BLE001 - werkzeug raises several types on bad forms
            raise HTTPError(400, f"cannot parse the multipart form ({_shown(err, 200)})", "MalformedForm") from None
        return ({k: form.get(k) for k in form}, {k: files[k].read() for k in files})

    def _image(self, data, servable):
        """``(rows (1, *input_shape), [(height, width)] of the decoded image)``."""
        if servable.text is not None:
            raise HTTPError(400, f"servable {servable.name!r} classifies text, not images: send "
                                 "{\"text\": \"...\"} (or a list of strings) as JSON, or a text/plain body",
                            "ImageNotSupported")
        if servable.recipe is None:
            known = ", ".join(known_transforms())
            raise HTTPError(400, f"servable {servable.name!r} takes tensors only: no image preprocessing is known for "
                                 f"its transform {servable.transform or '(none)'!r} (known: {known}); send a "
                                 "'tensor' instead", "ImageNotSupported")
        try:
            row, size = servable.recipe.prepare(data)
            return row[None], [tuple(int(v) for v in size)]
        except InputError as err:
            raise HTTPError(err.status, err.message, "PayloadTooLarge" if err.status == 413 else "BadImage") from None

    @staticmethod
    def _tensor(doc, servable):
        if not isinstance(doc, dict):
            raise HTTPError(400, "'tensor' must be an object {shape, dtype, data}", "InvalidField")
        missing = [k for k in ("shape", "dtype", "data") if k not in doc]
        if missing:
            raise HTTPError(400, f"'tensor' lacks {', '.join(missing)}; send {{shape, dtype, data}} where data is "
                                 "base64 of the raw little-endian bytes", "MissingField")
        dtype = doc["dtype"]
        name = "int32" if servable.dtype == "INT32" else "float32"
        if not isinstance(dtype, str) or dtype.lower() not in (name, servable.dtype.lower()):
            raise HTTPError(400, f"tensor dtype {_shown(dtype)!r} is not supported; servable {servable.name!r} takes "
                                 f"{name} tensors (convert with x.astype('{name}'))", "WrongDtype")
        if not isinstance(doc["data"], str):
            raise HTTPError(400, f"tensor.data must be a base64 string of the raw little-endian {name} bytes "
                                 f"(base64.b64encode(x.astype('{_V2_DTYPES[servable.dtype]}').tobytes())), not a "
                                 "JSON list", "BadBase64")
        shape = _shape(doc["shape"], "tensor.shape")
        expected = servable.input_shape
        batch = tuple(shape) != expected
        if not batch:
            shape = [1, *shape]
        elif len(shape) != len(expected) + 1 or tuple(shape[1:]) != expected or shape[0] < 1:
            raise HTTPError(400, f"tensor shape {shape} does not fit servable {servable.name!r}, which takes "
                                 f"{list(expected)} or [N, {', '.join(map(str, expected))}]", "WrongShape")
        raw = FrontApp._b64(doc["data"], "tensor.data")
        if len(raw) != 4 * math.prod(shape):
            raise HTTPError(400, f"tensor.data holds {len(raw)} bytes but shape {shape} of {name} needs "
                                 f"{4 * math.prod(shape)}", "WrongShape")
        rows = _rows_of(np.frombuffer(raw, dtype=_V2_DTYPES[servable.dtype]), shape, servable)
        if not np.isfinite(rows).all():
            raise HTTPError(400, "the tensor holds NaN or infinite values; send finite numbers", "InvalidValue")
        return rows, batch

    # ------------------------------------------------------------------ KServe v2
    def v2_server(self, environ):
        return self._json({"name": "tinyms", "version": self.version, "extensions": ["binary_tensor_data"]})

    def v2_live(self, environ):
        return self._json({"live": True})

    def v2_ready(self, environ):
        waiting = [s for s in self.servables.values() if not s.ready]
        if waiting:
            reasons = "; ".join(s.not_ready_reason() for s in waiting)
            raise HTTPError(503, f"the server is not ready: {reasons}", "NotReady", [("Retry-After", "2")])
        return self._json({"ready": True})

    def v2_model(self, environ, name, version=None):
        return self._json(self._servable(name, version).v2_metadata())

    def v2_model_ready(self, environ, name, version=None):
        servable = self._servable(name, version)
        if not servable.ready:
            raise HTTPError(503, servable.not_ready_reason(), "NotReady", [("Retry-After", "2")])
        return self._json({"name": name, "ready": True})

    def v2_infer(self, environ, name, version=None):
        servable = self._servable(name, version)
        with servable.batcher.reserve() as submit:
            request, rows, sizes, wanted, options = self._parse_v2(environ, servable)
            outputs = self._run(servable, rows, submit)
        reply = {"model_name": name, "model_version": MODEL_VERSION}
        if "id" in request:
            reply["id"] = request["id"]
        reply["outputs"], raw = [], []
        if servable.text is not None:
            notes = options.get("notes", {})
            predictions, sentences = servable.text_answers(outputs[0], options["strategy"], notes, True)
            if sentences:
                reply["parameters"] = {"notes": sentences}
        if servable.tabular is not None:
            predictions = servable.tabular.answers(outputs[0])
            if options.get("notes"):
                reply["parameters"] = {"notes": options["notes"]}
        for out_name, binary in wanted:
            if out_name == PNG_OUTPUT_NAME:
                files = [data for data, _, _ in servable.pictures(outputs[0], options, sizes)]
                out = {"name": out_name, "datatype": "BYTES", "shape": [len(files)]}
                data = b"".join(len(f).to_bytes(4, "little") + f for f in files) if binary else \
                    [base64.b64encode(f).decode("ascii") for f in files]
            elif out_name in (DETECTIONS_OUTPUT_NAME, PREDICTIONS_OUTPUT_NAME):
                found = servable.detections(outputs, options, sizes) if out_name == DETECTIONS_OUTPUT_NAME \
                    else predictions
                value = [json.dumps(item, separators=(",", ":"), allow_nan=False) for item in found]
                out = {"name": out_name, "datatype": "BYTES", "shape": [len(value)]}
                data = b"".join(len(v.encode()).to_bytes(4, "little") + v.encode() for v in value) if binary else value
            else:
                array = outputs[servable.v2_output_names.index(out_name)]
                out = {"name": out_name, "datatype": "FP32", "shape": list(array.shape)}
                data = np.ascontiguousarray(array, dtype="<f4").tobytes() if binary else array.reshape(-1).tolist()
            if binary:
                out["parameters"] = {"binary_data_size": len(data)}
                raw.append(data)
            else:
                out["data"] = data
            reply["outputs"].append(out)
        if not raw:
            return self._json(reply)
        head = _json_bytes(reply)
        return 200, [("Content-Type", "application/octet-stream"),
                     ("Inference-Header-Content-Length", str(len(head)))], head + b"".join(raw)

    def _parse_v2(self, environ, servable):
        """``(request, rows, sizes, wanted, options)``; ``wanted`` lists (output name, binary) pairs.

        For strings sent to a text servable, ``options["notes"]`` maps a text's index to the
        tokens truncation dropped.
        """
        body = self._body(environ)
        header_len = environ.get("HTTP_INFERENCE_HEADER_CONTENT_LENGTH")
        binary = b""
        if header_len is not None:
            try:
                header_len = int(header_len)
            except ValueError:
                raise HTTPError(400, "Inference-Header-Content-Length is not a number", "InvalidHeader") from None
            if not 0 < header_len <= len(body):
                raise HTTPError(400, f"Inference-Header-Content-Length {header_len} does not fit the "
                                     f"{len(body)}-byte body", "InvalidHeader")
            body, binary = body[:header_len], body[header_len:]
        request = self._json_body(body)
        if "id" in request and (not isinstance(request["id"], str) or len(request["id"]) > _MAX_ID_CHARS):
            raise HTTPError(400, f"'id' must be a string of at most {_MAX_ID_CHARS} characters", "InvalidField")
        names = f"inputs named {INPUT_NAME!r} (FP32) and {IMAGE_INPUT_NAME!r} (BYTES, or UINT8 pixels), send one" \
            if servable.task == "image_to_image" else \
            f"inputs named {INPUT_NAME!r} (FP32) and {IMAGE_INPUT_NAME!r} (BYTES), send one" \
            if servable.v2_images else f"inputs named {TEXT_INPUT_NAME!r} (BYTES) and {INPUT_NAME!r} (INT32), " \
            "send one" if servable.text is not None else f"one input named {ROWS_INPUT_NAME!r} (BYTES: one JSON " \
            "object per row)" if servable.tabular is not None else f"one input named {INPUT_NAME!r}"
        inputs = request.get("inputs")
        if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
            raise HTTPError(400, f"'inputs' must be a list with one tensor named {INPUT_NAME!r} "
                                 "({name, shape, datatype, data})", "MissingField")
        tensor = inputs[0]
        missing = [k for k in ("name", "shape", "datatype") if k not in tensor]
        if missing:
            raise HTTPError(400, f"input tensor lacks {', '.join(missing)}", "MissingField")
        params = tensor.get("parameters") or {}
        if not isinstance(params, dict):
            raise HTTPError(400, "input 'parameters' must be an object", "InvalidField")
        sizes, notes = None, None
        if tensor["name"] == IMAGE_INPUT_NAME and servable.v2_images:
            rows, sizes = self._v2_images(tensor, params, binary, servable)
        elif tensor["name"] == TEXT_INPUT_NAME and servable.text is not None:
            rows, notes = self._v2_texts(tensor, params, binary, servable)
        elif tensor["name"] == ROWS_INPUT_NAME and servable.tabular is not None:
            rows, notes = self._v2_rows(tensor, params, binary, servable)
        elif tensor["name"] == INPUT_NAME and servable.tabular is None:
            rows = self._v2_tensor(tensor, params, binary, servable)
        else:
            raise HTTPError(400, f"unknown input {_shown(tensor['name'])!r}; model {servable.name!r} has {names}",
                            "UnknownInput")
        if not np.isfinite(rows).all():
            raise HTTPError(400, "the input holds NaN or infinite values; send finite numbers", "InvalidValue")
        parameters = request.get("parameters") or {}
        if not isinstance(parameters, dict):
            parameters = {}
        binary_out = bool(parameters.get("binary_data_output", False))
        options = self._options(parameters, {}, servable) if servable.task not in ("classification", "tabular") \
            else {}
        options.pop("format_given", None)  # v2 answers tensors: 'png' is an output, not a format
        if options.get("output_size") == "original" and sizes is None:
            raise HTTPError(400, "output_size 'original' resizes the pictures to the images sent; the 'input' tensor "
                                 "has no image size: send the 'image' input, or leave output_size out",
                            "InvalidOption")
        if servable.text is not None:
            options["notes"] = notes or {}
        if servable.tabular is not None:
            options["notes"] = notes
        known = servable.v2_output_names
        outputs = request.get("outputs")
        if outputs is None:
            return request, rows, sizes, [(out_name, binary_out) for out_name in known], options
        if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
            raise HTTPError(400, "'outputs' must be a list of {name} objects", "InvalidField")
        wanted = []
        for item in outputs:
            if item.get("name") not in known:
                has = f"one output named {known[0]!r}" if len(known) == 1 else \
                    "outputs named " + ", ".join(repr(k) for k in known)
                raise HTTPError(400, f"unknown output {_shown(item.get('name'))!r}; model {servable.name!r} has {has}",
                                "UnknownOutput")
            out_params = item.get("parameters") or {}
            flag = out_params.get("binary_data", binary_out) if isinstance(out_params, dict) else binary_out
            wanted.append((item["name"], bool(flag)))
        return request, rows, sizes, wanted, options

    @staticmethod
    def _v2_tensor(tensor, params, binary, servable):
        """The rows of a v2 FP32 tensor input (a text servable's: INT32 token ids), JSON numbers or binary."""
        if tensor["datatype"] != servable.dtype:
            raise HTTPError(400, f"input datatype {_shown(tensor['datatype'])!r} is not supported; model "
                                 f"{servable.name!r} takes {servable.dtype}", "WrongDtype")
        shape = _shape(tensor["shape"], "input shape")
        if len(shape) != len(servable.input_shape) + 1 or tuple(shape[1:]) != servable.input_shape or shape[0] < 1:
            raise HTTPError(400, f"input shape {shape} does not fit model {servable.name!r}, which takes "
                                 f"[-1, {', '.join(map(str, servable.input_shape))}]", "WrongShape")
        count = math.prod(shape)
        if "binary_data_size" in params:
            size = params["binary_data_size"]
            if not isinstance(size, int) or size != len(binary) or size != 4 * count:
                raise HTTPError(400, f"binary_data_size {size!r} must equal the {len(binary)} bytes after the JSON "
                                     f"header and the {4 * count} bytes shape {shape} of {servable.dtype} needs",
                                "WrongShape")
            return _rows_of(np.frombuffer(binary, dtype=_V2_DTYPES[servable.dtype]), shape, servable)
        if "data" not in tensor:
            raise HTTPError(400, "input tensor lacks 'data'", "MissingField")
        try:
            rows = np.asarray(tensor["data"], dtype=np.float32 if servable.text is None else np.float64)
        except (TypeError, ValueError, OverflowError):
            raise HTTPError(400, "input 'data' must be a flat or nested list of numbers", "InvalidValue") from None
        if rows.size != count:
            raise HTTPError(400, f"input 'data' holds {rows.size} values but shape {shape} needs {count}",
                            "WrongShape")
        if servable.text is not None and not (np.isfinite(rows).all() and (rows == np.round(rows)).all()):
            raise HTTPError(400, "INT32 input 'data' must hold whole numbers (token ids)", "InvalidValue")
        return _rows_of(rows, shape, servable)

    @staticmethod
    def _v2_texts(tensor, params, binary, servable):
        """``(rows, notes)`` of a v2 BYTES input of strings (JSON strings, or UTF-8 bytes when binary)."""
        items = _bytes_elements(tensor, params, binary, TEXT_INPUT_NAME, "UTF-8 strings", "text", MAX_TEXTS,
                                "a list of strings, one text each")
        if "binary_data_size" in params:
            try:
                items = [decode_utf8(item, f"{TEXT_INPUT_NAME}[{i}]") for i, item in enumerate(items)]
            except InputError as err:
                raise _text_error(err) from None
        rows, _, notes = servable.texts(items, TEXT_INPUT_NAME)
        return rows, notes

    @staticmethod
    def _v2_rows(tensor, params, binary, servable):
        """``(rows, notes)`` of a v2 BYTES input of table rows: one JSON object per element (JSON strings or
        objects; UTF-8 JSON texts when binary)."""
        items = _bytes_elements(tensor, params, binary, ROWS_INPUT_NAME, "one JSON object per row", "row", MAX_ROWS,
                                "a list of JSON texts, one row object each")
        try:
            value = row_texts(items, ROWS_INPUT_NAME)
        except InputError as err:
            raise HTTPError(err.status, err.message, "BadRow") from None
        rows, _, notes = servable.rows(value, ROWS_INPUT_NAME)
        return rows, notes

    def _v2_images(self, tensor, params, binary, servable):
        """``(rows, sizes)`` of a v2 BYTES input of encoded images (base64 text in JSON, raw when binary),
        or (image_to_image servables) a UINT8 input of pixels [N, H, W, C]."""
        if tensor["datatype"] == "UINT8" and servable.task == "image_to_image":
            return self._v2_pixels(tensor, params, binary, servable)
        files = _bytes_elements(tensor, params, binary, IMAGE_INPUT_NAME, "encoded image files", "image", None,
                                "a list of base64 strings, one image file each")
        if "binary_data_size" not in params:
            files = [self._b64(item, f"{IMAGE_INPUT_NAME}.data") for item in files]
        prepared = [self._image(item, servable) for item in files]
        return np.concatenate([rows for rows, _ in prepared]), [size[0] for _, size in prepared]


    @staticmethod
    def _v2_pixels(tensor, params, binary, servable):
        """``(rows, sizes)`` of a v2 UINT8 input of pictures [N, H, W, C], each run through the recipe."""
        channels = servable.recipe.channels
        shape = _shape(tensor["shape"], "input shape")
        if len(shape) != 4 or min(shape) < 1 or shape[3] != channels:
            raise HTTPError(400, f"input {IMAGE_INPUT_NAME!r} of UINT8 pixels must have shape [N, height, width, "
                                 f"{channels}], got {shape}", "WrongShape")
        if shape[1] * shape[2] > servable.recipe.max_pixels:
            raise HTTPError(413, f"the images are {shape[2]}x{shape[1]} pixels, more than the "
                                 f"{servable.recipe.max_pixels:,} this server takes; send smaller images",
                            "PayloadTooLarge")
        count = math.prod(shape)
        if "binary_data_size" in params:
            if params["binary_data_size"] != len(binary) or len(binary) != count:
                raise HTTPError(400, f"binary_data_size {_shown(repr(params['binary_data_size']))} must equal the "
                                     f"{len(binary)} bytes after the JSON header and the {count} bytes of shape "
                                     f"{shape}", "WrongShape")
            pixels = np.frombuffer(binary, np.uint8)
        elif "data" not in tensor:
            raise HTTPError(400, "input tensor lacks 'data'", "MissingField")
        else:
            try:
                values = np.asarray(tensor["data"], np.float64)
            except (TypeError, ValueError, OverflowError):
                raise HTTPError(400, "input 'data' must be a flat or nested list of whole numbers 0..255",
                                "InvalidValue") from None
            if values.size != count:
                raise HTTPError(400, f"input 'data' holds {values.size} values but shape {shape} needs {count}",
                                "WrongShape")
            if not (np.isfinite(values).all() and (values == np.round(values)).all() and values.min() >= 0
                    and values.max() <= 255):
                raise HTTPError(400, "UINT8 input 'data' must hold whole numbers from 0 to 255", "InvalidValue")
            pixels = values.astype(np.uint8)
        pixels = pixels.reshape(shape)
        rows = [servable.recipe.run(picture) for picture in pixels]
        return np.stack(rows), [tuple(shape[1:3])] * shape[0]


def _text_error(err):
    """The HTTPError of an unusable text (an InputError: 413 when too large, else 400)."""
    return HTTPError(err.status, err.message, "PayloadTooLarge" if err.status == 413 else "BadText")


def _rows_of(values, shape, servable):
    """``values`` as the model's input rows of ``shape``: float32, or a text servable's int32 token ids (checked)."""
    if servable.text is None:
        return values.astype(np.float32).reshape(shape)
    rows = values.reshape(shape)
    vocab = servable.text.transform.tokenizer.vocab_size
    if rows.size and (rows.min() < 0 or rows.max() >= vocab):
        raise HTTPError(400, f"token ids must lie in 0..{vocab - 1} (servable {servable.name!r}'s vocabulary); the "
                             f"tensor holds {_shown(rows.min())}..{_shown(rows.max())}", "InvalidValue")
    return rows.astype(np.int32)


def _bytes_elements(tensor, params, binary, name, holds, noun, limit, data_hint):
    """The elements of a v2 BYTES input of shape [N] (at most ``limit``, None: any number): the binary data's
    (bytes each), else the JSON ``data`` list as sent. Raises a 4xx HTTPError naming the input when the tensor does not fit."""
    if tensor["datatype"] != "BYTES":
        raise HTTPError(400, f"input {name!r} takes BYTES ({holds}), not {_shown(tensor['datatype'])!r}", "WrongDtype")
    shape = _shape(tensor["shape"], "input shape")
    if len(shape) != 1 or shape[0] < 1:
        raise HTTPError(400, f"input {name!r} must have shape [N], one element per {noun}, got {shape}", "WrongShape")
    if limit is not None and shape[0] > limit:
        raise HTTPError(413, f"input {name!r} holds {shape[0]:,} {noun}s, more than the {limit} a request may carry; "
                             "send them in several requests", "PayloadTooLarge")
    if "binary_data_size" in params:
        if params["binary_data_size"] != len(binary):
            raise HTTPError(400, f"binary_data_size {_shown(repr(params['binary_data_size']))} must equal the "
                                 f"{len(binary)} bytes after the JSON header", "WrongShape")
        items = _length_prefixed(binary)
    else:
        items = tensor.get("data")
        if not isinstance(items, list):
            raise HTTPError(400, f"input {name!r} needs 'data': {data_hint}", "MissingField")
    if len(items) != shape[0]:
        raise HTTPError(400, f"input {name!r} holds {len(items)} {noun}(s) but its shape says {shape[0]}", "WrongShape")
    return items


def _length_prefixed(raw):
    """The elements of a binary BYTES tensor: each a 4-byte little-endian length, then its bytes."""
    items, at = [], 0
    while at < len(raw):
        if at + 4 > len(raw):
            raise HTTPError(400, "the binary BYTES tensor ends inside an element's 4-byte length", "WrongShape")
        size = int.from_bytes(raw[at:at + 4], "little")
        if at + 4 + size > len(raw):
            raise HTTPError(400, "a binary BYTES element is longer than the data sent", "WrongShape")
        items.append(raw[at + 4:at + 4 + size])
        at += 4 + size
    return items


def _shape(value, what):
    if not isinstance(value, list) or not value or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value):
        raise HTTPError(400, f"{what} must be a list of non-negative integers, got {_shown(repr(value))}", "WrongShape")
    return list(value)


def _load_static():
    files = {}
    if os.path.isdir(_STATIC_DIR):
        for entry in os.listdir(_STATIC_DIR):
            path = os.path.join(_STATIC_DIR, entry)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    files[entry] = f.read()
    return files


# ---------------------------------------------------------------------- process entry point
def build_app(config, metrics=None, on_hung=None):
    """Load the servables a front end serves and return ``(app, failures)``.

    Args:
        config (dict): the front-end configuration written by the supervisor.
        metrics (Metrics): where to record; None records nothing.
        on_hung (callable): ``on_hung(name, pid)`` when a model process stops answering.
    """
    servables, failures = {}, dict(config.get("unavailable", {}))
    on_batch = metrics.observe_batch if metrics is not None else (lambda *a: None)
    for item in config["servables"]:
        spec = ServableSpec.from_dict(item["spec"])
        try:
            if spec.format == "onnx":
                backend = OnnxBackend(spec, threads=config.get("onnx_threads", 1))
                meta = backend.meta
            else:
                backend = ExecutorBackend(spec.name, spec.format, item["socket_path"], config["request_timeout"],
                                          hang_timeout=config.get("hang_timeout", 10.0), on_hung=on_hung)
                meta = item["meta"]
            servables[spec.name] = Servable(spec, meta, backend, config["max_image_pixels"], on_batch)
        except ValueError as err:
            failures[spec.name] = str(err)
        except Exception as err:  # noqa: BLE001 - one broken servable must not stop the others
            log.exception("servable %r failed to load", spec.name)
            failures[spec.name] = f"failed to load: {type(err).__name__}: {first_sentence(err)}"
    app = FrontApp(servables, failures, config.get("problems", []), config["max_request_bytes"],
                   config["request_timeout"], metrics, root=config.get("serving_path"))
    return app, {name: failures[name] for name in failures if name not in config.get("unavailable", {})}


def limits_from(config):
    """The :class:`~tinyms.serving._http.Limits` of a front-end configuration."""
    from ._http import Limits

    return Limits(**{key: config[key] for key in LIMIT_KEYS if key in config})


LIMIT_KEYS = ("max_request_bytes", "max_header_bytes", "header_timeout", "body_timeout", "idle_timeout",
              "max_connections", "max_connections_per_client")


def main(config):
    """Entry point of a front-end process (called by ``_boot``)."""
    import warnings

    from PIL import Image

    from ._http import GuardedServer

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    Image.MAX_IMAGE_PIXELS = config["max_image_pixels"]  # PIL's own bomb check, at the server's limit
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
    status = StatusWriter(config.get("status_fd"))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if config.get("lifeline_fd") is not None:
        watch_lifeline(config["lifeline_fd"], stop.set)
    # a model process that stops answering is reported to the supervisor, which replaces it
    app, failures = build_app(config, Metrics(), on_hung=lambda name, pid: status("hung", servable=name, pid=pid))
    for name, reason in failures.items():
        log.error("servable %r failed to load: %s", name, reason)
    if config.get("listen_fd") is not None:
        listen = socket.socket(fileno=config["listen_fd"])
    else:
        listen = bind_socket(*config["bind"], reuseport=True)
    server = GuardedServer(app, listen, limits_from(config), config["threads"])
    status("ready", failed=failures, pid=os.getpid())
    server.serve(stop)
    server.drain(config.get("grace_seconds", 10))
    for servable in app.servables.values():
        servable.backend.close()
    sys.stdout.flush()
    return 0
