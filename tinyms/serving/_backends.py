"""How a front-end process runs a servable's model, and how it batches requests for it.

- :class:`OnnxBackend` runs an ONNX export in-process on onnxruntime (thread-safe, releases
  the GIL, no MindSpore anywhere).
- :class:`ExecutorBackend` sends batches to the servable's MindSpore executor process over a
  Unix socket and waits for the outputs; a probe thread pings the executor so that the front
  end knows, without waiting on any request, whether the model process is running and
  answering (:attr:`ExecutorBackend.ready`).
- :class:`Batcher` merges concurrent requests for one servable into batched model calls
  (``max_batch_size`` rows at most), run by the request threads themselves: no extra thread
  and no hand-off for a lone request. It waits up to ``max_delay_ms`` for more rows only
  while other requests for the same servable are still being parsed. Every request has its
  own deadline: past it, the request gets a 504 whether it is queued or inside a model call.
"""

import collections
import contextlib
import logging
import socket
import struct
import threading
import time

import numpy as np

from .._text import first_sentence
from ._rows import run_padded, take_rows
from ._tabular import packed_shape, unpack_rows
from ._tasks import OUTPUT_NAMES, input_dtype, model_facts
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

    The model's outputs are taken in their order: a classifier's first output (logits), a
    detector's first two (boxes, scores), as ``servable.json``'s ``model.task`` says.

    Args:
        spec (ServableSpec): a servable with ``format == "onnx"``.
        threads (int): onnxruntime intra-op threads.

    Raises:
        ValueError: the file cannot be loaded or its outputs do not fit the servable's task.
    """

    platform = "onnxruntime_onnx"

    ready = True  # in-process: ready for as long as the front end answers
    state_reason = ""

    def __init__(self, spec, threads=1):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        data = spec.read_weights()  # the bytes checked are the bytes loaded
        try:
            self.session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ValueError(f"cannot load ONNX file {spec.path}: {first_sentence(err)}") from None
        del data
        _release_model_bytes(self.session)
        inputs = self.session.get_inputs()
        self.tabular = spec.task == "tabular"
        if self.tabular:  # feat_ids and feat_vals: a packed (N, 2, F) batch is split for them
            inputs = _tabular_inputs(inputs, spec.path)
            self.input_names = [i.name for i in inputs]
            self.ids_type = np.int64 if inputs[0].type == "tensor(int64)" else np.int32
            self.input_name, self.input_type = inputs[0].name, np.float32
        else:
            # a text network takes int32 token ids (int64 where an exporter widened them), others float32
            wanted_types = {"tensor(int32)": np.int32, "tensor(int64)": np.int64} \
                if input_dtype(spec.task) == "int32" else {"tensor(float)": np.float32}
            if len(inputs) != 1 or inputs[0].type not in wanted_types:
                kind = "integer token ids" if input_dtype(spec.task) == "int32" else "float32"
                raise ValueError(f"ONNX file {spec.path} must take one {kind} input, it takes "
                                 f"{[(i.name, i.type) for i in inputs]}")
            self.input_name = inputs[0].name
            self.input_type = wanted_types[inputs[0].type]
        wanted = len(OUTPUT_NAMES[spec.task])
        outputs = self.session.get_outputs()
        if len(outputs) < wanted:
            raise ValueError(f"ONNX file {spec.path} has {len(outputs)} output(s); a {spec.task} servable needs "
                             f"{wanted} ({', '.join(OUTPUT_NAMES[spec.task])})")
        self.output_names = [out.name for out in outputs[:wanted]]
        dims = list(inputs[0].shape)
        self.fixed_batch = dims[0] if isinstance(dims[0], int) else None
        file_shape = tuple(dims[1:]) if all(isinstance(d, int) for d in dims[1:]) else None
        self.input_shape = tuple(spec.input_shape or file_shape or ())
        if not self.input_shape:
            raise ValueError("model.input_shape is needed: the ONNX file does not fix one sample's shape")
        if file_shape and file_shape != self.input_shape:
            raise ValueError(f"model.input_shape {list(self.input_shape)} differs from the ONNX file's "
                             f"{list(file_shape)}")
        row_shape = packed_shape(self.input_shape[0]) if self.tabular else self.input_shape
        try:
            out = self.run(np.zeros((1,) + row_shape, self.input_type))
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ValueError(f"the ONNX model cannot run on a {list(self.input_shape)} input: "
                             f"{first_sentence(err)}") from None
        self.meta = {"input_shape": list(self.input_shape),
                     **model_facts(spec.task, out, spec.labels, background=spec.background),
                     "dataset": spec.dataset, "transform": spec.transform,
                     "mean": list(spec.mean) if spec.mean else None, "std": list(spec.std) if spec.std else None,
                     "recipe": spec.recipe}

    def _session_run(self, batch):
        if self.tabular:
            ids, vals = unpack_rows(batch)
            feed = dict(zip(self.input_names, (ids.astype(self.ids_type, copy=False), vals)))
            return tuple(self.session.run(self.output_names, feed))
        return tuple(self.session.run(self.output_names, {self.input_name: batch.astype(self.input_type,
                                                                                         copy=False)}))

    def run(self, batch, timeout=None):
        """(N, *input_shape) float32 (int32 token ids for text) -> the outputs, a tuple of (N, ...) float32 arrays.

        ``timeout`` is not needed in-process.
        """
        if self.fixed_batch is None:
            return self._session_run(batch)
        return run_padded(self._session_run, batch, [self.fixed_batch])

    def close(self):
        self.session = None


def _tabular_inputs(inputs, path):
    """A tabular ONNX model's inputs in order (ids, values): by name when named so, else by type."""
    ints = [i for i in inputs if i.type in ("tensor(int32)", "tensor(int64)")]
    floats = [i for i in inputs if i.type == "tensor(float)"]
    if len(inputs) != 2 or len(ints) != 1 or len(floats) != 1 or len(ints[0].shape) != 2 \
            or len(floats[0].shape) != 2:
        raise ValueError(f"ONNX file {path} must take two (batch, fields) inputs, feat_ids (integers) and "
                         f"feat_vals (float32), as a tabular network does; it takes "
                         f"{[(i.name, i.type, i.shape) for i in inputs]}")
    return [ints[0], floats[0]]


class ExecutorBackend:
    """Runs one MindSpore servable through its executor process.

    A daemon thread keeps a separate connection to the executor and pings it every
    ``probe_interval`` seconds. The backend is *down* while the executor cannot be reached (it
    died and the supervisor is restarting it) and *hung* once a ping has waited more than
    ``hang_timeout`` seconds for its answer (the process is stopped, or one model call takes
    that long); :attr:`ready` is True otherwise. While hung, requests fail at once with 503
    instead of queueing behind the stuck call, and ``on_hung`` is told once, so that the
    supervisor replaces the process.

    Args:
        name (str): the servable name (for messages).
        fmt (str): "ckpt" or "mindir".
        socket_path (str): the executor's Unix socket.
        timeout (float): default seconds to wait for one batch's outputs.
        hang_timeout (float): seconds a ping may wait before the executor counts as hung.
        probe_interval (float): seconds between pings (0 disables the probe thread).
        on_hung (callable): ``on_hung(name, pid)`` when the executor becomes hung; ``pid`` is the
            process that holds the socket (None where the system does not tell).
    """

    platform_by_format = {"ckpt": "mindspore_checkpoint", "mindir": "mindspore_mindir"}

    def __init__(self, name, fmt, socket_path, timeout, hang_timeout=10.0, probe_interval=0.5, on_hung=None):
        self.name = name
        self.platform = self.platform_by_format[fmt]
        self.socket_path = socket_path
        self.timeout = timeout
        self.hang_timeout = float(hang_timeout)
        self._sock = None
        self._next_id = 0
        self.state = "ready"  # "ready", "down" or "hung"
        self.state_reason = ""
        self.on_hung = on_hung
        self._closed = threading.Event()
        if probe_interval:
            threading.Thread(target=self._probe_loop, args=(float(probe_interval),), daemon=True,
                             name=f"tinyms-probe-{name}").start()

    @property
    def ready(self):
        """True while the executor process runs and answers its pings in time."""
        return self.state == "ready"

    def _set_state(self, state, reason=""):
        if state != self.state:
            (log.info if state == "ready" else log.warning)(
                "servable %r: model process %s%s", self.name, state, f" ({reason})" if reason else "")
        self.state, self.state_reason = state, reason

    def _open(self, timeout):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            return None
        return sock

    def _probe_loop(self, interval):
        sock, waiting_since, seq, pid = None, None, 0, None
        while not self._closed.wait(interval if waiting_since is None else 0):
            if sock is None:
                sock = self._open(interval)
                if sock is None:
                    self._set_state("down", "its model process is not running; it is being restarted")
                    continue
                pid = _peer_pid(sock)
            try:
                if waiting_since is None:
                    seq += 1
                    send_message(sock, {"ping": seq})
                    waiting_since = time.monotonic()
                sock.settimeout(interval)
                header, _ = recv_message(sock)
                if header.get("pong") == seq:
                    waiting_since = None
                    self._set_state("ready")
            except socket.timeout:
                if time.monotonic() - waiting_since > self.hang_timeout and self.state != "hung":
                    self._set_state("hung", f"its model process has not answered for more than "
                                            f"{self.hang_timeout:g} s")
                    if self.on_hung is not None:
                        self.on_hung(self.name, pid)
            except (OSError, EOFError, ValueError):
                sock.close()
                sock, waiting_since = None, None
                self._set_state("down", "its model process stopped; it is being restarted")
        if sock is not None:
            sock.close()

    def _connect(self):
        sock = self._open(self.timeout)
        if sock is None:
            raise BackendError(503, f"servable {self.name!r} is restarting after a failure; "
                                    "retry in a few seconds")
        self._sock = sock

    def _drop(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def run(self, batch, timeout=None):
        """(N, *input_shape) float32 or int32 -> the outputs (a tuple of float32 arrays), computed by the executor.

        Args:
            batch (numpy.ndarray): the rows.
            timeout (float): seconds to wait for the outputs; default: the backend's ``timeout``.

        Raises:
            BackendError: 503 when the executor is down or hung, 504 when it did not answer
                in time, 500 when the model failed on this input.
        """
        if self.state == "hung":
            raise BackendError(503, f"servable {self.name!r} is not ready: {self.state_reason}; retry later")
        timeout = self.timeout if timeout is None else max(0.001, timeout)
        if self._sock is None:
            self._connect()
        self._next_id += 1
        try:
            self._sock.settimeout(timeout)
            send_message(self._sock, {"id": self._next_id, "shape": list(batch.shape), "dtype": batch.dtype.name},
                         batch)
            header, payload = recv_message(self._sock)
        except socket.timeout:
            self._drop()
            raise BackendError(504, f"servable {self.name!r} did not answer within {timeout:.3g} s") from None
        except (OSError, EOFError, ValueError):
            self._drop()
            raise BackendError(503, f"the process running servable {self.name!r} stopped; it is being "
                                    "restarted, retry in a few seconds") from None
        if header.get("error"):
            raise BackendError(500, f"servable {self.name!r} failed on this input: {header['error']}")
        return split_outputs(header["shapes"], payload)

    def close(self):
        self._closed.set()
        self._drop()


def _peer_pid(sock):
    """The process id at the other end of a connected Unix socket (Linux), else None."""
    try:
        return struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[0]
    except (AttributeError, OSError):
        return None


def split_outputs(shapes, payload):
    """The float32 arrays of ``shapes`` packed one after the other in ``payload`` (an executor's reply)."""
    outputs, start = [], 0
    for shape in shapes:
        count = int(np.prod(shape, dtype=np.int64))
        outputs.append(np.frombuffer(payload, dtype=np.float32, count=count, offset=start * 4).reshape(shape))
        start += count
    if start * 4 != len(payload):
        raise BackendError(500, f"the model process sent {len(payload)} bytes for outputs of shapes {shapes}")
    return tuple(outputs)


class _Job:
    __slots__ = ("rows", "deadline", "event", "state", "result", "error")

    def __init__(self, rows, deadline):
        self.rows = rows
        self.deadline = deadline
        self.event = threading.Event()
        # "queued" -> "lead" (its thread runs the next batch) -> "running" (in a model call) -> "done"
        self.state = "queued"
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
    servable are still being parsed (announced with :meth:`reserve`).

    Args:
        name (str): servable name.
        backend: an object with ``run(batch, timeout) -> outputs``; called by one thread at a time.
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

    @contextlib.contextmanager
    def reserve(self):
        """Announce a request that is about to submit rows; yields its ``submit(rows, timeout)``.

        While the block runs (the request is being parsed) a leader may wait for its rows; if
        the block ends without submitting (a bad request), the announcement is withdrawn.

        Example:
            >>> with batcher.reserve() as submit:       # doctest: +SKIP
            ...     outputs = submit(parse(request), timeout=30)
        """
        with self._cond:
            self._preparing += 1
        pending = [True]

        def submit(rows, timeout):
            if not pending[0]:
                raise RuntimeError("one reservation submits once")
            pending[0] = False
            return self._submit(rows, timeout, reserved=True)

        try:
            yield submit
        finally:
            if pending[0]:
                with self._cond:
                    self._preparing -= 1
                    self._cond.notify()

    def submit(self, rows, timeout):
        """Queue ``rows`` (N, *input_shape) and return their outputs once computed.

        Raises:
            BackendError: the model call failed, or no output came within ``timeout`` seconds (504).
        """
        return self._submit(rows, timeout, reserved=False)

    def _submit(self, rows, timeout, reserved):
        job = _Job(rows, time.monotonic() + timeout)
        with self._cond:
            if reserved:
                self._preparing -= 1
            self._queue.append(job)
            if self._busy:
                self._cond.notify()  # a leader may be waiting for more rows
            else:
                self._busy = True
                job.state = "lead"
        while True:
            if job.state == "lead":
                self._lead()
            elif not job.event.wait(max(0.0, job.deadline - time.monotonic())):
                with self._cond:
                    if job.state in ("queued", "running"):
                        if job.state == "queued":
                            self._queue.remove(job)
                        job.state = "done"  # a running call's outputs for it are dropped
                        raise BackendError(504, f"servable {self.name!r} did not answer within {timeout:g} s; "
                                                "the server is overloaded or the model is stuck, retry later")
            if job.state == "done":
                if job.error is not None:
                    raise job.error
                return job.result
            job.event.clear()

    def _expire(self, job):
        job.error = BackendError(504, f"servable {self.name!r} did not answer in time; the server is overloaded "
                                      "or the model is stuck, retry later")
        job.state = "done"
        job.event.set()

    def _take(self):
        with self._cond:
            jobs, count, deadline = [], 0, None
            while count < self.max_batch_size:
                if self._queue:
                    if count and count + self._queue[0].rows.shape[0] > self.max_batch_size:
                        break
                    job = self._queue.popleft()
                    if job.deadline <= time.monotonic():  # nobody waits for it any more
                        self._expire(job)
                        continue
                    jobs.append(job)
                    count += job.rows.shape[0]
                    continue
                if not jobs:
                    break
                if self._preparing <= 0 or self.max_delay <= 0:
                    break
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.max_delay
                if now >= deadline:
                    break
                self._cond.wait(deadline - now)
            for job in jobs:
                job.state = "running"
            return jobs

    def _lead(self):
        jobs = self._take()
        if not jobs:
            with self._cond:
                self._pass_lead()
            return
        batch = jobs[0].rows if len(jobs) == 1 else np.concatenate([job.rows for job in jobs])
        started = time.perf_counter()
        error, out = None, None
        try:
            out = self.backend.run(batch, max(job.deadline for job in jobs) - time.monotonic())
        except BackendError as err:
            error = err
        except Exception as err:  # noqa: BLE001 - answer the requests with a 500
            log.exception("servable %r: model call failed", self.name)
            error = BackendError(500, f"servable {self.name!r} failed on this input: {first_sentence(err)}")
        if error is None and self.on_batch is not None:
            self.on_batch(batch.shape[0], time.perf_counter() - started)
        start = 0
        with self._cond:
            for job in jobs:
                n = job.rows.shape[0]
                if job.state == "running":  # not given up on meanwhile
                    if error is None:
                        job.result = take_rows(out, start, start + n)
                    else:
                        job.error = error
                    job.state = "done"
                    job.event.set()
                start += n
            self._pass_lead()

    def _pass_lead(self):
        if self._queue:
            successor = self._queue[0]
            successor.state = "lead"
            successor.event.set()
        else:
            self._busy = False


def _release_model_bytes(session):
    """Give back the memory of the ONNX file's bytes once a session is built from them.

    onnxruntime's Python session keeps the bytes it was built from (to rebuild itself for other
    execution providers, which TinyMS never asks for), and glibc keeps the freed parse buffers:
    together 2-3 times the file's size (MobileNetV2: 14 MB file, 30 MiB resident). Dropping the
    reference and trimming the heap keeps a serving worker's memory near what the model needs.
    """
    import ctypes

    if getattr(session, "_model_bytes", None) is not None:
        session._model_bytes = None
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
