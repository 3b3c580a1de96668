"""A Python client for TinyMS model servers (and the module-level ``predict``/``list_servables``)."""

import base64
import http.client
import io
import json
import os
import socket
import threading
import typing

from .._jsonread import loads
from .errors import ClientError, ServerError, ServerNotRunning

__all__ = ["Client", "Detection", "Detections", "TranslatedImage", "predict", "list_servables"]

_STRATEGIES = ("TOP1_CLASS", "TOP5_CLASS", "ALL_CLASSES")
_DETECTION_OPTIONS = ("score_threshold", "iou_threshold", "max_detections")
_OUTPUT_SIZES = ("network", "original")


class Detection(typing.NamedTuple):
    """One object a detection servable found.

    Attributes:
        box (tuple): (xmin, ymin, xmax, ymax) in pixels of the image sent.
        label (str): the object's class name.
        label_id (int): its 0-based index among the servable's labels.
        score (float): the network's score, 0..1.
    """

    box: tuple
    label: str
    label_id: int
    score: float


class Detections(list):
    """The objects a detection servable found in one image: a list of :class:`Detection`, best first.

    Args:
        objects (iterable of Detection): the objects.
        width, height (int): the size in pixels of the image the boxes are in.

    Example:
        >>> from tinyms.serving import Detection, Detections
        >>> found = Detections([Detection((10.0, 20.0, 50.0, 60.0), "dog", 11, 0.91)], width=500, height=375)
        >>> print(found)
        1 object in a 500x375 image: dog 91.0% at (10, 20, 50, 60)
        >>> [d.label for d in found], found.to_dict()["image_size"]
        (['dog'], {'width': 500, 'height': 375})
    """

    def __init__(self, objects=(), width=0, height=0):
        super().__init__(objects)
        self.width = int(width)
        self.height = int(height)

    @classmethod
    def from_dict(cls, item):
        """Build from the server's JSON form: ``{"image_size": {...}, "detections": [...]}``."""
        size = item.get("image_size") or {}
        return cls((Detection(tuple(float(v) for v in d["box"]), str(d["label"]), int(d["label_id"]),
                              float(d["score"])) for d in item.get("detections", [])),
                   width=size.get("width", 0), height=size.get("height", 0))

    def to_dict(self):
        """The server's JSON form of these objects."""
        return {"image_size": {"width": self.width, "height": self.height},
                "detections": [{"box": list(d.box), "label": d.label, "label_id": d.label_id, "score": d.score}
                               for d in self]}

    def __str__(self):
        head = f"{len(self)} object{'' if len(self) == 1 else 's'} in a {self.width}x{self.height} image"
        found = ", ".join(f"{d.label} {d.score * 100:.1f}% at ({', '.join(f'{v:.0f}' for v in d.box)})"
                          for d in self)
        return f"{head}: {found}" if found else head

    def __repr__(self):
        return f"Detections({list.__repr__(self)}, width={self.width}, height={self.height})"


class TranslatedImage:
    """The picture an image_to_image servable made of an image: a PNG file and its pixels.

    Args:
        png (bytes): the PNG file the servable answered.
        input_size (tuple): ``(width, height)`` of the image sent, when an image was sent.

    Attributes:
        png (bytes): the PNG file, as the server encoded it.
        width, height (int): the picture's size in pixels.
        input_size (tuple or None): ``(width, height)`` of the image sent.

    Example:
        >>> import numpy as np
        >>> from tinyms.serving import TranslatedImage
        >>> picture = TranslatedImage.from_array(np.zeros((4, 6, 3), np.uint8))
        >>> picture.width, picture.height, picture.array.shape
        (6, 4, (4, 6, 3))
        >>> picture.save("translated.png")
        'translated.png'
    """

    def __init__(self, png, input_size=None):
        self.png = bytes(png)
        self.input_size = tuple(int(v) for v in input_size) if input_size else None
        self._array = None
        self.width, self.height = self.image.size  # the bytes must be a picture

    @classmethod
    def from_array(cls, array, input_size=None):
        """Build from an (H, W, C) or (H, W) uint8 array (encoded to PNG)."""
        return cls(base64.b64decode(_png(array)), input_size)

    @classmethod
    def from_dict(cls, item):
        """Build from the server's JSON form: ``{"image": base64 PNG, "width", "height", "input_size"?}``."""
        size = item.get("input_size")
        return cls(base64.b64decode(item["image"]), (size["width"], size["height"]) if size else None)

    @property
    def image(self):
        """The picture as a PIL image (RGB, or L for grey)."""
        from PIL import Image

        with Image.open(io.BytesIO(self.png)) as img:
            img.load()
            return img.copy()

    @property
    def array(self):
        """The picture as a numpy uint8 array (H, W, C) (a copy each time)."""
        import numpy as np

        if self._array is None:
            arr = np.asarray(self.image)
            self._array = arr[:, :, None] if arr.ndim == 2 else arr
        return self._array.copy()

    def save(self, path):
        """Write the picture to ``path`` (written under a temporary name, then renamed into place).

        A ``.png`` path gets the server's PNG file as it is; another extension (``.jpg``...) is
        encoded by PIL in that format.

        Returns:
            str: ``path``.
        """
        from .._fileio import atomic_path

        path = os.fspath(path)
        suffix = os.path.splitext(path)[1].lower()
        with atomic_path(path, suffix=suffix or ".png") as tmp:
            if suffix in ("", ".png"):
                with open(tmp, "wb") as f:
                    f.write(self.png)
            else:
                self.image.save(tmp)
        return path

    def to_dict(self):
        """The server's JSON form of this picture."""
        item = {"image": base64.b64encode(self.png).decode("ascii"), "media_type": "image/png",
                "width": self.width, "height": self.height}
        if self.input_size:
            item["input_size"] = {"width": self.input_size[0], "height": self.input_size[1]}
        return item

    def __repr__(self):
        sent = f" from a {self.input_size[0]}x{self.input_size[1]} image" if self.input_size else ""
        return f"TranslatedImage({self.width}x{self.height} PNG{sent})"

    __str__ = __repr__


class Client:
    """Talks to a TinyMS server over HTTP; thread-safe, one keep-alive connection per thread.

    Args:
        host (str): server host. Default ``"127.0.0.1"``.
        port (int): server port. Default 5000.
        timeout (float): seconds to wait for each answer. Default 30.

    Raises (from every request method):
        ServerNotRunning: nothing answers at ``host:port``.
        ClientError: the server rejected the request (HTTP 4xx); ``.status`` and ``.message``
            say why.
        ServerError: the server failed (HTTP 5xx) or did not answer within ``timeout``.

    Example:
        >>> from tinyms.serving import Client
        >>> client = Client("127.0.0.1", 5000)
        >>> client.predict("7.png", "lenet5", strategy="TOP5_CLASS")   # doctest: +SKIP
    """

    def __init__(self, host="127.0.0.1", port=5000, timeout=30.0):
        self.host = host
        self.port = int(port)
        self.timeout = float(timeout)
        self._local = threading.local()
        self._tasks = {}  # servable name -> task, asked once when a string could be a text or a path

    @property
    def url(self):
        """Base URL of the server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # ------------------------------------------------------------------ HTTP plumbing
    def _connection(self, fresh=False):
        conn = getattr(self._local, "conn", None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
            self._local.used = False
        return conn

    def request(self, method, path, body=None, headers=None):
        """Send one request; returns ``(status, headers, body_bytes)`` for any status.

        Raises:
            ServerNotRunning: the connection was refused or the host is unknown.
            ServerError: no answer within ``timeout`` (status 504).
        """
        for attempt in (0, 1):
            conn = self._connection(fresh=attempt == 1)
            reused = self._local.used
            try:
                conn.request(method, path, body=body, headers=headers or {})
                response = conn.getresponse()
                data = response.read()
                self._local.used = True
                if response.will_close:
                    conn.close()
                    self._local.conn = None
                return response.status, dict(response.getheaders()), data
            except socket.timeout:
                conn.close()
                self._local.conn = None
                raise ServerError(504, f"no answer within {self.timeout:g} s", self.url + path) from None
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                self._local.conn = None
                if reused and attempt == 0:
                    continue  # the server closed an idle keep-alive connection: retry once
                raise ServerNotRunning(f"the server at {self.url} closed the connection; "
                                       "is it shutting down?") from None
            except (ConnectionRefusedError, socket.gaierror, OSError) as err:
                conn.close()
                self._local.conn = None
                raise ServerNotRunning(f"no TinyMS server answers at {self.url} ({err.strerror or err}); start one "
                                       "with tinyms.serving.start_server() or `tinyms serve`") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _call(self, method, path, body=None, headers=None):
        status, resp_headers, data = self.request(method, path, body, headers)
        check_answer(status, data, self.url + path)
        return resp_headers, data

    def _json(self, method, path, payload=None):
        body = None if payload is None else json.dumps(payload).encode("utf-8")
        headers = {"Content-Type": "application/json"} if body is not None else {}
        _, data = self._call(method, path, body, headers)
        return loads(data, "the server's answer")

    def close(self):
        """Close this thread's connection (a new one opens on the next request)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # ------------------------------------------------------------------ API
    def server_started(self):
        """True if the server answers its readiness check (never raises).

        Example:
            >>> Client(port=5000).server_started()               # doctest: +SKIP
            True
        """
        try:
            status, _, _ = self.request("GET", "/v2/health/ready")
        except (ServerNotRunning, ServerError):
            return False
        return status == 200

    def list_servables(self):
        """Describe every servable: name, description, model facts, ``ready`` (and ``error``).

        Returns:
            list of dict: one per servable in ``servable.json``, in file order; servables that
            failed to load have ``"ready": False`` and an ``"error"``.

        Example:
            >>> [s["name"] for s in Client().list_servables()]      # doctest: +SKIP
            ['lenet5']
        """
        return self._json("GET", "/servables")["servables"]

    def metadata(self, servable_name):
        """The Open Inference Protocol metadata of a servable.

        Args:
            servable_name (str): the servable.

        Returns:
            dict: ``name``, ``versions``, ``platform``, and ``inputs``/``outputs`` with their
            names, datatypes and shapes (-1 for the batch dimension).

        Raises:
            ClientError: unknown servable (404).
        """
        return self._json("GET", f"/v2/models/{servable_name}")

    def task(self, servable_name):
        """The task of a servable (``"classification"``, ``"detection"``, ``"text_classification"``,
        ``"image_to_image"``, ``"tabular"``), asked once.

        Raises:
            ClientError: unknown servable (404).
        """
        if servable_name not in self._tasks:
            self._tasks[servable_name] = self._json("GET", f"/servables/{servable_name}").get("task",
                                                                                              "classification")
        return self._tasks[servable_name]

    def predict(self, data, servable_name, dataset_name=None, strategy="TOP1_CLASS", *, score_threshold=None,
                iou_threshold=None, max_detections=None, output_size=None):
        """Classify an image, a preprocessed tensor or a text with a servable, find the objects in an image,
        or translate an image.

        Args:
            data: the input. An image: a file path (str or pathlib.Path), the bytes of an image
                file, a PIL image, or a uint8 array shaped (H, W) / (H, W, C). Or a preprocessed
                float32 tensor shaped like one sample (e.g. (1, 32, 32)) or a batch (N, 1, 32, 32).
                For a text servable: a string, or a list of strings (a str is sent as text to a
                text servable and read as an image path otherwise: the client asks the servable's
                task once). For a tabular servable: one row, a dict of column -> value (a column
                left out or None is a missing value), or a list of them, or a pandas DataFrame
                (each row sent; NaN as a missing value).
            servable_name (str): which servable, e.g. ``"lenet5"``.
            dataset_name (str): optional check that the servable fits this dataset (``"mnist"``).
            strategy (str): ``"TOP1_CLASS"`` (default) or ``"TOP5_CLASS"``; for a detection
                servable ``"TOP1_CLASS"`` (each box named by its best class) or ``"ALL_CLASSES"``.
            score_threshold (float): detection only: the lowest score kept, 0..1 (default: the
                servable's, e.g. 0.3).
            iou_threshold (float): detection only: non-maximum suppression's overlap limit.
            max_detections (int): detection only: most objects per image, 1..1000.
            output_size (str): image_to_image only: ``"network"`` (default: the picture at the
                network's size) or ``"original"`` (resized to the size of the image sent).

        Returns:
            tinyms.vision.Prediction: for one image, sample or text, with ``label``, ``score``,
            ``labels``, ``scores``, ``indices``. For a batch tensor or a list of texts, a
            ``tinyms.vision.Predictions`` list with one entry per row. A detection servable
            returns :class:`Detections` (boxes in pixels of the image sent), a list of them for
            a batch tensor. A text longer than the servable's ``max_length`` tokens is
            truncated by the server, which says so: a ``tinyms.text.TruncationWarning``. An
            image_to_image servable returns a :class:`TranslatedImage` (``.image``, ``.array``,
            ``.save(path)``), a list of them for a batch tensor. A tabular servable returns one
            dict per row (a list of them for a list of rows or a DataFrame): binary
            ``{"label": class, "probability": p}`` (``p`` the probability of the second class),
            regression ``{"value": v}``, multiclass ``{"label": class, "probabilities":
            {class: p, ...}}``; a category never seen in training is answered with a
            ``tinyms.serving.UnseenValueWarning`` naming it.

        Raises:
            FileNotFoundError: ``data`` is a path to a file that does not exist.
            TypeError: ``data`` is of an unsupported type.
            ValueError: ``strategy`` is unknown.
            ClientError: the server rejected the input (HTTP 4xx, e.g. unknown servable 404,
                image too large 413, a threshold out of range 400, too many texts 413).

        Example:
            >>> Client().predict("a fine, warm film", "reviews").label   # doctest: +SKIP
            'pos'
            >>> pred = Client().predict("7.png", "lenet5", "mnist")    # doctest: +SKIP
            >>> pred.label, round(pred.score, 3)                       # doctest: +SKIP
            ('7', 0.998)
            >>> found = Client().predict("street.jpg", "ssd", score_threshold=0.5)   # doctest: +SKIP
            >>> [(d.label, round(d.score, 2)) for d in found]                        # doctest: +SKIP
            [('car', 0.91), ('person', 0.64)]
            >>> Client().predict({"age": 39, "city": "Lyon"}, "clicks")              # doctest: +SKIP
            {'label': 1, 'probability': 0.73}
        """
        task = self.task(servable_name) if isinstance(data, str) or table_rows(data) is not None else None
        payload = predict_payload(data, dataset_name, strategy, (score_threshold, iou_threshold, max_detections), task,
                                  output_size)
        reply = self._json("POST", f"/servables/{servable_name}", payload)
        return _predictions(reply)

    def infer(self, servable_name, array, binary=True):
        """Run a servable on a float32 batch (or texts) with the Open Inference Protocol; returns its outputs.

        Args:
            servable_name (str): the servable.
            array: array-like of shape (N, *input_shape), converted to float32 (for a text
                servable, an integer array is sent as int32 token ids). For a text servable also a
                list of strings, sent as the BYTES input ``text``. For a tabular servable a list
                of row dicts (or a DataFrame), sent as the BYTES input ``rows``, one JSON object each.
            binary (bool): send and receive raw tensor bytes (the binary tensor data
                extension) instead of JSON number lists. Default True.

        Returns:
            numpy.ndarray or dict: a classifier's float32 logits of shape (N, classes). For a
            servable with several outputs, a dict by output name: a detector's ``boxes`` (N, A,
            4) and ``scores`` (N, A, C) as the network computed them, and ``detections``, one
            :class:`Detections` per row (boxes in pixels of the network input); a text
            servable's ``logits`` and ``predictions`` (a ``tinyms.vision.Prediction`` per text); an
            image_to_image servable's ``output`` (N, C, S, S), the network's values, and ``png``,
            one :class:`TranslatedImage` per row; a tabular servable's ``output`` (N, K), the
            network's logits (values for regression), and ``predictions``, one answer dict per row.

        Example:
            >>> Client().infer("lenet5", np.zeros((2, 1, 32, 32))).shape    # doctest: +SKIP
            (2, 10)
            >>> Client().infer("reviews", ["great", "dull"])["predictions"][0].label   # doctest: +SKIP
            'pos'
        """
        import numpy as np

        path = f"/v2/models/{servable_name}/infer"
        table = table_rows(array)
        if table is not None:
            texts = [json.dumps(row, allow_nan=False).encode("utf-8") for row in (table if isinstance(table, list)
                                                                                   else [table])]
            tensor = {"name": "rows", "shape": [len(texts)], "datatype": "BYTES"}
            arr, raw, array = None, b"".join(len(t).to_bytes(4, "little") + t for t in texts), \
                [t.decode("utf-8") for t in texts]
        elif isinstance(array, (list, tuple)) and array and all(isinstance(t, str) for t in array):
            texts = [t.encode("utf-8") for t in array]
            tensor = {"name": "text", "shape": [len(texts)], "datatype": "BYTES"}
            arr, raw = None, b"".join(len(t).to_bytes(4, "little") + t for t in texts)
        else:
            arr = np.asarray(array)
            ids = np.issubdtype(arr.dtype, np.integer) and self.task(servable_name) == "text_classification"
            kind = ("<i4", "INT32") if ids else ("<f4", "FP32")
            arr = np.ascontiguousarray(arr, dtype=kind[0])
            tensor = {"name": "input", "shape": list(arr.shape), "datatype": kind[1]}
            raw = arr.tobytes()
        if not binary:
            tensor["data"] = list(array) if arr is None else arr.reshape(-1).tolist()
            outputs, rest = self._json("POST", path, {"inputs": [tensor]})["outputs"], b""
        else:
            tensor["parameters"] = {"binary_data_size": len(raw)}
            head = json.dumps({"inputs": [tensor], "parameters": {"binary_data_output": True}}).encode("utf-8")
            headers = {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(head))}
            resp_headers, data = self._call("POST", path, head + raw, headers)
            size = int({k.lower(): v for k, v in resp_headers.items()}["inference-header-content-length"])
            outputs, rest = loads(data[:size], "the server's answer")["outputs"], data[size:]
        values = {}
        for out in outputs:
            chunk = None
            if "binary_data_size" in (out.get("parameters") or {}):
                size = int(out["parameters"]["binary_data_size"])
                chunk, rest = rest[:size], rest[size:]
            values[out["name"]] = _output_value(out, chunk)
        return next(iter(values.values())) if len(values) == 1 else values

    def __repr__(self):
        return f"Client({self.url})"


def check_answer(status, data, url=""):
    """Raise ClientError (4xx) or ServerError (5xx) with the ``error`` of an answer's JSON body."""
    if status >= 400:
        try:
            message = loads(data, "the server's answer")["error"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            message = data.decode("utf-8", "replace").strip()[:500] or http.client.responses.get(status, "")
        error = ClientError if status < 500 else ServerError
        raise error(status, message, url)


def table_rows(data):
    """``data`` as JSON-ready table rows when it is some: a row dict, a list of them or a DataFrame, else None.

    Numpy scalars become Python numbers and NaN (pandas' missing value) becomes None.
    """
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # a pandas DataFrame
        data = data.to_dict("records")
    if isinstance(data, dict):
        return _plain_row(data)
    if isinstance(data, (list, tuple)) and data and all(isinstance(row, dict) for row in data):
        return [_plain_row(row) for row in data]
    return None


def _plain_row(row):
    out = {}
    for key, value in row.items():
        if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalar
            value = value.item()
        if isinstance(value, float) and value != value:  # NaN: a missing value
            value = None
        out[str(key)] = value
    return out


def predict_payload(data, dataset_name, strategy, detection_options=(None, None, None), task=None, output_size=None):
    """The JSON body of ``POST /servables/<name>`` (what :meth:`Client.predict` sends).

    ``detection_options`` are ``(score_threshold, iou_threshold, max_detections)``, None for
    the servable's defaults. ``task`` is the servable's when known: a text servable's input is
    sent as ``text`` (a list of strings always is). ``output_size`` (image_to_image servables):
    ``"network"`` or ``"original"``, None for the default. Raises ValueError for an unknown strategy
    or output size,
    TypeError for a text servable's input that is not a string or list of strings, and what
    :func:`_encode_input` raises for the input.
    """
    if not isinstance(strategy, str) or strategy.upper() not in _STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; valid strategies are {', '.join(_STRATEGIES)}")
    payload = {"strategy": strategy.upper()}
    if dataset_name:
        payload["dataset"] = str(dataset_name)
    for key, value in zip(_DETECTION_OPTIONS, detection_options):
        if value is not None:
            payload[key] = value
    if output_size is not None:
        if not isinstance(output_size, str) or output_size.lower() not in _OUTPUT_SIZES:
            raise ValueError(f"output_size must be one of {', '.join(_OUTPUT_SIZES)}, got {output_size!r}")
        payload["output_size"] = output_size.lower()
    rows = table_rows(data)
    if rows is not None and task not in (None, "tabular"):
        raise TypeError(f"cannot send an object of type {type(data).__name__} to a {task} servable: rows (dicts of "
                        "column -> value) are for tabular servables")
    if task == "tabular" or rows is not None:
        if rows is None:
            raise TypeError(f"a tabular servable takes a row (a dict of column -> value), a list of them or a "
                            f"DataFrame, got {type(data).__name__}")
        return {"rows": rows}
    texts = isinstance(data, (list, tuple)) and bool(data) and all(isinstance(t, str) for t in data)
    if task == "text_classification" or texts:
        if not (isinstance(data, str) or texts):
            raise TypeError(f"a text servable takes a string or a list of strings, got {type(data).__name__}")
        payload["text"] = data if isinstance(data, str) else list(data)
        return payload
    kind, value = _encode_input(data)
    payload[kind] = value
    return payload


def _encode_input(data):
    """('image', base64 of an encoded image) or ('tensor', {...}) for the predict JSON body."""
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no image file at {path!r} (relative to {os.getcwd()}); pass the path of an "
                                    "existing image, its bytes, a PIL image or an array")
        with open(path, "rb") as f:
            return "image", base64.b64encode(f.read()).decode("ascii")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return "image", base64.b64encode(bytes(data)).decode("ascii")
    if hasattr(data, "asnumpy"):  # mindspore Tensor
        data = data.asnumpy()
    if type(data).__module__.startswith("PIL."):
        return "image", _png(data)
    if hasattr(data, "__array__") or isinstance(data, (list, tuple)):
        import numpy as np

        arr = np.asarray(data)
        is_image = arr.ndim == 2 or (arr.ndim == 3 and arr.dtype == np.uint8 and arr.shape[2] in (1, 3, 4))
        if is_image:
            return "image", _png(_as_uint8_image(arr))
        arr = np.ascontiguousarray(arr, dtype="<f4")
        return "tensor", {"shape": list(arr.shape), "dtype": "float32",
                          "data": base64.b64encode(arr.tobytes()).decode("ascii")}
    raise TypeError(f"cannot send an object of type {type(data).__name__}; pass an image file path, image bytes, "
                    "a PIL image, a uint8 image array, or a preprocessed float32 tensor")


def _as_uint8_image(arr):
    import numpy as np

    if arr.dtype == np.uint8:
        return arr
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 255:
        raise ValueError("image values must be finite and lie in 0..1 or 0..255")
    if arr.max() <= 1.0:
        arr = arr * 255.0
    return np.clip(np.rint(arr), 0, 255).astype(np.uint8)


def _png(image):
    from PIL import Image

    if not isinstance(image, Image.Image):
        arr = image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image
        image = Image.fromarray(arr)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _output_value(out, chunk):
    """One v2 output as Python values: FP32 -> float32 array; BYTES -> text (detections -> Detections)."""
    import numpy as np

    if out["datatype"] != "BYTES":
        data = np.frombuffer(chunk, dtype="<f4") if chunk is not None else np.asarray(out["data"], np.float32)
        return data.astype(np.float32).reshape(out["shape"])
    if out["name"] == "png":  # an image_to_image servable's pictures
        return [TranslatedImage(base64.b64decode(item) if chunk is None else item) for item in _items(out, chunk)]
    items = [item if chunk is None else item.decode("utf-8") for item in _items(out, chunk)]
    if out["name"] == "detections":
        return [Detections.from_dict(loads(item, "a detections answer")) for item in items]
    if out["name"] == "predictions":
        answers = [loads(item, "a predictions answer") for item in items]
        if answers and "top" not in answers[0]:  # a tabular servable's answers are plain dicts
            return answers
        return [_prediction(answer) for answer in answers]
    return items


def _items(out, chunk):
    """The elements of a v2 BYTES output: JSON strings, or bytes of the binary form (4-byte length + bytes each)."""
    if chunk is None:
        return list(out["data"])
    items, at = [], 0
    while at < len(chunk):
        size = int.from_bytes(chunk[at:at + 4], "little")
        items.append(bytes(chunk[at + 4:at + 4 + size]))
        at += 4 + size
    return items


def _prediction(p):
    from ..vision.predictions import Prediction

    return Prediction(labels=tuple(t["label"] for t in p["top"]), scores=tuple(float(t["score"]) for t in p["top"]),
                      indices=tuple(int(t["index"]) for t in p["top"]))


def _predictions(reply):
    from ..vision.predictions import Predictions

    if reply.get("task") == "detection":
        found = [Detections.from_dict(item) for item in reply["predictions"]]
        return found if reply.get("batch") else found[0]
    if reply.get("task") == "image_to_image":
        pictures = [TranslatedImage.from_dict(item) for item in reply["predictions"]]
        return pictures if reply.get("batch") else pictures[0]
    if reply.get("task") == "tabular":
        if reply.get("notes"):  # categories never seen in training, read as the unknown value
            import warnings

            from .errors import UnseenValueWarning

            for note in reply["notes"]:
                warnings.warn(f"{reply.get('servable', 'the servable')}: {note}", UnseenValueWarning, stacklevel=3)
        return reply["predictions"] if reply.get("batch") else reply["predictions"][0]
    if reply.get("notes"):  # texts the server truncated, said as in-process transforms say it
        import warnings

        from ..text.transforms import TruncationWarning

        for note in reply["notes"]:
            warnings.warn(f"{reply.get('servable', 'the servable')}: {note}", TruncationWarning, stacklevel=3)
    rows = [_prediction(p) for p in reply["predictions"]]
    if reply.get("batch"):
        return Predictions(rows, strategy=reply["strategy"])
    return rows[0]


def predict(data, servable_name, dataset_name=None, strategy="TOP1_CLASS", host="127.0.0.1", port=5000, **options):
    """Classify an image with a servable of the server at ``host:port`` (or find its objects).

    Args:
        data: an image file path, image bytes, a PIL image, a uint8 image array, or a
            preprocessed float32 tensor (see :meth:`Client.predict`).
        servable_name (str): e.g. ``"lenet5"``.
        dataset_name (str): optional check that the servable fits this dataset, e.g. ``"mnist"``.
        strategy (str): ``"TOP1_CLASS"`` (default) or ``"TOP5_CLASS"``.
        host (str): server host. Default ``"127.0.0.1"``.
        port (int): server port. Default 5000.
        **options: for a detection servable, ``score_threshold``, ``iou_threshold``,
            ``max_detections`` (see :meth:`Client.predict`).

    Returns:
        tinyms.vision.Prediction: labels and scores, most likely first (a detection servable:
        :class:`Detections`).

    Raises:
        ServerNotRunning: no server answers at ``host:port``.
        ClientError: the server rejected the request (the message says why).

    Example:
        >>> from tinyms.serving import predict
        >>> print(predict("7.png", "lenet5", "mnist"))                  # doctest: +SKIP
        7 (99.8%)
    """
    return Client(host, port).predict(data, servable_name, dataset_name, strategy, **options)


def list_servables(host="127.0.0.1", port=5000):
    """Describe the servables of the server at ``host:port``.

    Args:
        host (str): server host. Default ``"127.0.0.1"``.
        port (int): server port. Default 5000.

    Returns:
        list of dict: one per servable (see :meth:`Client.list_servables`).

    Raises:
        ServerNotRunning: no server answers at ``host:port``.

    Example:
        >>> from tinyms.serving import list_servables
        >>> [s["name"] for s in list_servables()]                        # doctest: +SKIP
        ['lenet5']
    """
    return Client(host, port).list_servables()
