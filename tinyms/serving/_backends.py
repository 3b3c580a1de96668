"""How a front-end process runs a servable's model, and how it batches requests for it.

- :class:`OnnxBackend` runs an ONNX export in-process on onnxruntime (thread-safe, releases
  the GIL, no MindSpore anywhere).
- :class:`ExecutorBackend` sends batches to the servable's MindSpore executor process over a
  Unix socket and waits for the outputs.
- :class:`Batcher` merges concurrent requests for one servable into batched model calls
  (``max_batch_size`` rows at most), run by the request threads themselves: no extra thread
  and no hand-off for a lone request. It waits up to ``max_delay_ms`` for more rows only
  while other requests for the same servable are still being parsed.
"""

import collections
import logging
import socket
import threading
import time

import numpy as np

from .._text import first_line as _first_line
from ._wire import recv_message, send_message

log = logging.getLogger("tinyms.serving.front")


class BackendError(Exception):
    """A model call failed; ``status`` is the HTTP status to answer with."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class OnnxBackend:
    """Runs one ONNX servable on onnxruntime.

    Args:
        spec (ServableSpec): a servable with ``format == "onnx"``.
        threads (int): onnxruntime intra-op threads.

    Raises:
        ValueError: the file cannot be loaded or does not look like a classifier.
    """

    platform = "onnxruntime_onnx"

    def __init__(self, spec, threads=1):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(spec.path, options, providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ValueError(f"cannot load ONNX file {spec.path}: {_first_line(err)}") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or inputs[0].type != "tensor(float)":
            raise ValueError(f"ONNX file {spec.path} must take one float32 input, it takes "
                             f"{[(i.name, i.type) for i in inputs]}")
        self.input_name = inputs[0].name
        self.output_name = self.session.get_outputs()[0].name
        dims = list(inputs[0].shape)
        self.fixed_batch = dims[0] if isinstance(dims[0], int) else None
        file_shape = tuple(dims[1:]) if all(isinstance(d, int) for d in dims[1:]) else None
        self.input_shape = tuple(spec.input_shape or file_shape or ())
        if not self.input_shape:
            raise ValueError("model.input_shape is needed: the ONNX file does not fix one sample's shape")
        if file_shape and file_shape != self.input_shape:
            raise ValueError(f"model.input_shape {list(self.input_shape)} differs from the ONNX file's "
                             f"{list(file_shape)}")
        try:
            out = self.run(np.zeros((1,) + self.input_shape, np.float32))
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ValueError(f"the ONNX model cannot run on a {list(self.input_shape)} input: "
                             f"{_first_line(err)}") from None
        if out.ndim != 2:
            raise ValueError(f"the ONNX model returns an output of shape {out.shape}; serving needs (batch, classes)")
        classes = int(out.shape[1])
        labels = spec.labels or tuple(str(i) for i in range(classes))
        if len(labels) != classes:
            raise ValueError(f"model.labels has {len(labels)} names but the model has {classes} outputs")
        self.meta = {"input_shape": list(self.input_shape), "classes": classes, "labels": list(labels),
                     "dataset": spec.dataset, "transform": spec.transform,
                     "mean": list(spec.mean) if spec.mean else None, "std": list(spec.std) if spec.std else None}

    def run(self, batch):
        """(N, *input_shape) float32 -> (N, classes) float32."""
        if self.fixed_batch is None:
            return self.session.run([self.output_name], {self.input_name: batch})[0]
        outputs, size = [], self.fixed_batch
        for start in range(0, batch.shape[0], size):
            chunk = batch[start:start + size]
            k = chunk.shape[0]
            if k != size:
                padded = np.zeros((size,) + chunk.shape[1:], np.float32)
                padded[:k] = chunk
                chunk = padded
            outputs.append(self.session.run([self.output_name], {self.input_name: chunk})[0][:k])
        return np.concatenate(outputs)

    def close(self):
        self.session = None


class ExecutorBackend:
    """Runs one MindSpore servable through its executor process.

    Args:
        name (str): the servable name (for messages).
        socket_path (str): the executor's Unix socket.
        timeout (float): seconds to wait for one batch's outputs.
    """

    platform_by_format = {"ckpt": "mindspore_checkpoint", "mindir": "mindspore_mindir"}

    def __init__(self, name, fmt, socket_path, timeout):
        self.name = name
        self.platform = self.platform_by_format[fmt]
        self.socket_path = socket_path
        self.timeout = timeout
        self._sock = None
        self._next_id = 0

    def _connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise BackendError(503, f"servable {self.name!r} is restarting after a failure; "
                                    "retry in a few seconds") from None
        self._sock = sock

    def _drop(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def run(self, batch):
        """(N, *input_shape) float32 -> (N, classes) float32, computed by the executor process."""
        if self._sock is None:
            self._connect()
        self._next_id += 1
        try:
            send_message(self._sock, {"id": self._next_id, "shape": list(batch.shape)}, batch)
            header, payload = recv_message(self._sock)
        except socket.timeout:
            self._drop()
            raise BackendError(504, f"servable {self.name!r} did not answer within {self.timeout:g} s") from None
        except (OSError, EOFError, ValueError):
            self._drop()
            raise BackendError(503, f"the process running servable {self.name!r} stopped; it is being "
                                    "restarted, retry in a few seconds") from None
        if header.get("error"):
            raise BackendError(500, f"servable {self.name!r} failed on this input: {header['error']}")
        return np.frombuffer(payload, dtype=np.float32).reshape(header["shape"])

    def close(self):
        self._drop()


class _Job:
    __slots__ = ("rows", "event", "state", "result", "error")

    def __init__(self, rows):
        self.rows = rows
        self.event = threading.Event()
        self.state = "queued"  # -> "lead" (its thread must run the next batch) -> "done"
        self.result = None
        self.error = None


class Batcher:
    """Merges concurrent requests for one servable into batched model calls.

    There is no batching thread: the request thread that finds the servable idle becomes the
    *leader*, takes whatever rows are queued (up to ``max_batch_size``), calls the backend and
    hands the outputs out; if more requests queued up meanwhile, it passes the lead to the
    oldest one. A lone request therefore runs on its own thread with no hand-off, and under
    load each model call serves every request that arrived while the previous call ran. The
    leader waits up to ``max_delay_ms`` for more rows, but only while other requests for this
    servable are still being parsed.

    Args:
        name (str): servable name.
        backend: an object with ``run(batch) -> outputs``; called by one thread at a time.
        max_batch_size (int): most rows per model call; 1 turns batching off.
        max_delay_ms (float): longest wait for more rows while other requests are on their way.
        on_batch (callable): ``on_batch(rows, seconds)`` after each successful model call.
    """

    def __init__(self, name, backend, max_batch_size, max_delay_ms, on_batch=None):
        self.name = name
        self.backend = backend
        self.max_batch_size = max_batch_size
        self.max_delay = max_delay_ms / 1000.0
        self.on_batch = on_batch
        self._cond = threading.Condition()
        self._queue = collections.deque()
        self._busy = False
        self._preparing = 0

    def expect(self):
        """Announce a request that will soon :meth:`submit` rows (lets a leader wait for it)."""
        with self._cond:
            self._preparing += 1

    def abandon(self):
        """Withdraw an :meth:`expect` whose request failed before submitting."""
        with self._cond:
            self._preparing -= 1
            self._cond.notify()

    def submit(self, rows, timeout):
        """Queue ``rows`` (N, *input_shape) and return their outputs once computed.

        Raises:
            BackendError: the model call failed, or no output came within ``timeout`` seconds.
        """
        job = _Job(rows)
        with self._cond:
            self._preparing -= 1
            self._queue.append(job)
            if self._busy:
                self._cond.notify()  # a leader may be waiting for more rows
            else:
                self._busy = True
                job.state = "lead"
        deadline = time.monotonic() + timeout
        while True:
            if job.state == "lead":
                self._lead()
            elif not job.event.wait(max(0.0, deadline - time.monotonic())):
                with self._cond:
                    if job.state == "queued":
                        self._queue.remove(job)
                        raise BackendError(504, f"servable {self.name!r} did not answer within {timeout:g} s; "
                                                "the server is overloaded, retry later")
            if job.state == "done":
                if job.error is not None:
                    raise job.error
                return job.result
            job.event.clear()

    def _take(self):
        with self._cond:
            jobs = [self._queue.popleft()]
            count = jobs[0].rows.shape[0]
            deadline = None
            while count < self.max_batch_size:
                if self._queue:
                    if count + self._queue[0].rows.shape[0] > self.max_batch_size:
                        break
                    jobs.append(self._queue.popleft())
                    count += jobs[-1].rows.shape[0]
                    continue
                if self._preparing <= 0 or self.max_delay <= 0:
                    break
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.max_delay
                if now >= deadline:
                    break
                self._cond.wait(deadline - now)
            return jobs

    def _lead(self):
        jobs = self._take()
        batch = jobs[0].rows if len(jobs) == 1 else np.concatenate([job.rows for job in jobs])
        started = time.perf_counter()
        error, out = None, None
        try:
            out = self.backend.run(batch)
        except BackendError as err:
            error = err
        except Exception as err:  # noqa: BLE001 - answer the requests with a 500
            log.exception("servable %r: model call failed", self.name)
            error = BackendError(500, f"servable {self.name!r} failed on this input: {_first_line(err)}")
        if error is None and self.on_batch is not None:
            self.on_batch(batch.shape[0], time.perf_counter() - started)
        start = 0
        with self._cond:
            for job in jobs:
                n = job.rows.shape[0]
                if error is None:
                    job.result = out[start:start + n]
                else:
                    job.error = error
                start += n
                job.state = "done"
                job.event.set()
            if self._queue:
                successor = self._queue[0]
                successor.state = "lead"
                successor.event.set()
            else:
                self._busy = False
