"""A Python client for TinyMS model servers (and the module-level ``predict``/``list_servables``)."""

import base64
import http.client
import io
import json
import os
import socket
import threading

from .errors import ClientError, ServerError, ServerNotRunning

__all__ = ["Client", "predict", "list_servables"]

_STRATEGIES = ("TOP1_CLASS", "TOP5_CLASS")


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
        if status >= 400:
            try:
                message = json.loads(data.decode("utf-8"))["error"]
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                message = data.decode("utf-8", "replace").strip()[:500] or http.client.responses.get(status, "")
            error = ClientError if status < 500 else ServerError
            raise error(status, message, self.url + path)
        return resp_headers, data

    def _json(self, method, path, payload=None):
        body = None if payload is None else json.dumps(payload).encode("utf-8")
        headers = {"Content-Type": "application/json"} if body is not None else {}
        _, data = self._call(method, path, body, headers)
        return json.loads(data.decode("utf-8"))

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

    def predict(self, data, servable_name, dataset_name=None, strategy="TOP1_CLASS"):
        """Classify an image (or a preprocessed tensor) with a servable.

        Args:
            data: the input. An image: a file path (str or pathlib.Path), the bytes of an image
                file, a PIL image, or a uint8 array shaped (H, W) / (H, W, C). Or a preprocessed
                float32 tensor shaped like one sample (e.g. (1, 32, 32)) or a batch (N, 1, 32, 32).
            servable_name (str): which servable, e.g. ``"lenet5"``.
            dataset_name (str): optional check that the servable fits this dataset (``"mnist"``).
            strategy (str): ``"TOP1_CLASS"`` (default) or ``"TOP5_CLASS"``.

        Returns:
            tinyms.vision.Prediction: for one image or sample, with ``label``, ``score``,
            ``labels``, ``scores``, ``indices``. For a batch tensor, a
            ``tinyms.vision.Predictions`` list with one entry per row.

        Raises:
            FileNotFoundError: ``data`` is a path to a file that does not exist.
            TypeError: ``data`` is of an unsupported type.
            ValueError: ``strategy`` is unknown.
            ClientError: the server rejected the input (HTTP 4xx, e.g. unknown servable 404,
                image too large 413).

        Example:
            >>> pred = Client().predict("7.png", "lenet5", "mnist")    # doctest: +SKIP
            >>> pred.label, round(pred.score, 3)                       # doctest: +SKIP
            ('7', 0.998)
        """
        if not isinstance(strategy, str) or strategy.upper() not in _STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; valid strategies are {', '.join(_STRATEGIES)}")
        payload = {"strategy": strategy.upper()}
        if dataset_name:
            payload["dataset"] = str(dataset_name)
        kind, value = _encode_input(data)
        payload[kind] = value
        reply = self._json("POST", f"/servables/{servable_name}", payload)
        return _predictions(reply)

    def infer(self, servable_name, array, binary=True):
        """Run a servable on a float32 batch with the Open Inference Protocol; returns its logits.

        Args:
            servable_name (str): the servable.
            array: array-like of shape (N, *input_shape), converted to float32.
            binary (bool): send and receive raw tensor bytes (the binary tensor data
                extension) instead of JSON number lists. Default True.

        Returns:
            numpy.ndarray: float32 outputs of shape (N, classes).

        Example:
            >>> Client().infer("lenet5", np.zeros((2, 1, 32, 32))).shape    # doctest: +SKIP
            (2, 10)
        """
        import numpy as np

        arr = np.ascontiguousarray(array, dtype="<f4")
        tensor = {"name": "input", "shape": list(arr.shape), "datatype": "FP32"}
        if not binary:
            tensor["data"] = arr.reshape(-1).tolist()
            reply = self._json("POST", f"/v2/models/{servable_name}/infer", {"inputs": [tensor]})
            out = reply["outputs"][0]
            return np.asarray(out["data"], dtype=np.float32).reshape(out["shape"])
        raw = arr.tobytes()
        tensor["parameters"] = {"binary_data_size": len(raw)}
        head = json.dumps({"inputs": [tensor], "outputs": [{"name": "logits", "parameters": {"binary_data": True}}]})
        head = head.encode("utf-8")
        headers = {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(head))}
        resp_headers, data = self._call("POST", f"/v2/models/{servable_name}/infer", head + raw, headers)
        size = int({k.lower(): v for k, v in resp_headers.items()}["inference-header-content-length"])
        out = json.loads(data[:size].decode("utf-8"))["outputs"][0]
        return np.frombuffer(data[size:], dtype="<f4").reshape(out["shape"]).astype(np.float32)

    def __repr__(self):
        return f"Client({self.url})"


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


def _predictions(reply):
    from ..vision.predictions import Prediction, Predictions

    rows = [Prediction(labels=tuple(t["label"] for t in p["top"]), scores=tuple(float(t["score"]) for t in p["top"]),
                       indices=tuple(int(t["index"]) for t in p["top"])) for p in reply["predictions"]]
    if reply.get("batch"):
        return Predictions(rows, strategy=reply["strategy"])
    return rows[0]


def predict(data, servable_name, dataset_name=None, strategy="TOP1_CLASS", host="127.0.0.1", port=5000):
    """Classify an image with a servable of the server at ``host:port``.

    Args:
        data: an image file path, image bytes, a PIL image, a uint8 image array, or a
            preprocessed float32 tensor (see :meth:`Client.predict`).
        servable_name (str): e.g. ``"lenet5"``.
        dataset_name (str): optional check that the servable fits this dataset, e.g. ``"mnist"``.
        strategy (str): ``"TOP1_CLASS"`` (default) or ``"TOP5_CLASS"``.
        host (str): server host. Default ``"127.0.0.1"``.
        port (int): server port. Default 5000.

    Returns:
        tinyms.vision.Prediction: labels and scores, most likely first.

    Raises:
        ServerNotRunning: no server answers at ``host:port``.
        ClientError: the server rejected the request (the message says why).

    Example:
        >>> from tinyms.serving import predict
        >>> print(predict("7.png", "lenet5", "mnist"))                  # doctest: +SKIP
        7 (99.8%)
    """
    return Client(host, port).predict(data, servable_name, dataset_name, strategy)


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
