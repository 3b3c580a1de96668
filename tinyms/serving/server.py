"""Starting and stopping a TinyMS model server.

:class:`Server` runs the server as a child process (a supervisor with its worker processes,
see ``_supervisor``) and returns once it answers its health check; :func:`run_server` runs
the same supervisor in the foreground until Ctrl-C or SIGTERM (what ``tinyms serve`` calls).
"""

import atexit
import itertools
import logging
import os
import signal
import subprocess
import threading
import time

from .._checks import non_negative_int, positive_int
from .._fileio import write_json_atomic
from .._jsonread import load_file
from .._home import tinyms_home
from . import _supervisor
from .client import Client
from .errors import (MindSporeRequiredError, PortInUseError, ServableConfigError, ServerNotRunning, ServerStartError,
                     ServingError)

__all__ = ["Server", "start_server", "shutdown", "server_started", "run_server", "default_serving_path"]

log = logging.getLogger("tinyms.serving")

_SERVERS = {}  # (host, port) -> Server started by this process
_AUTO_LOGS = itertools.count(1)
_LOCK = threading.Lock()


def default_serving_path():
    """The serving directory used when none is given: ``$TINYMS_HOME/serving``.

    Returns:
        str: an absolute path (it may not exist yet).

    Example:
        >>> import os
        >>> from tinyms.serving import default_serving_path
        >>> path = default_serving_path()     # e.g. /home/me/.tinyms/serving
        >>> os.path.isabs(path), os.path.basename(path)
        (True, 'serving')
    """
    return os.path.join(tinyms_home(), "serving")


def _resolve_path(serving_path):
    path = default_serving_path() if serving_path is None else os.fspath(serving_path)
    return os.path.abspath(os.path.expanduser(path))


def _check_port(port):
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an integer from 0 to 65535 (0 picks a free port), got {port!r}")


def _url(host, port):
    """The URL a browser on this machine opens for a server listening on ``host:port``."""
    host = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _positive_seconds(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def _run_file(host, port):
    safe_host = "".join(c if c.isalnum() or c in ".-" else "_" for c in host)
    return os.path.join(tinyms_home(), "run", f"server-{safe_host}-{port}.json")


class Server:
    """A TinyMS model server running in a child process.

    The child is a supervisor that binds the port, starts one MindSpore executor process per
    checkpoint/MindIR servable and ``workers`` front-end processes (waitress), and restarts any
    that crash. Nothing is written to the current directory; the log goes to
    ``$TINYMS_HOME/logs/``.

    Args:
        host (str): interface to listen on. Default ``"127.0.0.1"`` (this machine only); use
            ``"0.0.0.0"`` to accept other machines.
        port (int): TCP port. Default 5000. 0 picks a free port (read it from :attr:`port`).
        serving_path (str): directory holding ``servable.json``. Default
            ``$TINYMS_HOME/serving``.
        workers (int): front-end processes sharing the port. Default 1. On few cores, more
            front ends with fewer threads each serve more requests (see
            ``benchmarks/bench_serving.py``); each costs about 60 MiB.
        threads (int): request threads per front end. Default 4.
        max_request_bytes (int): largest request body; larger ones get HTTP 413. Default 8 MiB.
        max_image_pixels (int): largest decoded image (width x height); larger get 413. Default
            16,777,216 (4096 x 4096): one request's image takes at most about
            ``10 * max_image_pixels`` bytes (160 MiB) while it is decoded and converted.
        request_timeout (float): seconds a request may wait for its prediction (then 504).
        hang_timeout (float): seconds a model process may leave a health ping unanswered before
            its servable counts as not ready (stuck or stopped); its requests then get 503 at
            once, and the supervisor kills the process and starts a new one. Default 10.
        header_timeout (float): seconds a client has to send a request's headers, counted from
            its first byte (from connecting, for a connection's first request). Default 10.
        body_timeout (float): seconds a client has to send a request's body once its headers
            are in. Default 30.
        idle_timeout (float): seconds a keep-alive connection may wait for its next request.
            Default 15.
        max_connections (int): open connections per front-end process; more are answered 503
            and closed. Default 1000.
        max_connections_per_client (int): open connections per client IP address and front
            end; more are answered 429 and closed. Default 64.
        model_threads (int): MindSpore CPU op threads per executor process; 1 (default) suits
            small models on a machine whose cores also run the front ends; 0 keeps
            MindSpore's own default.
        start_timeout (float): seconds :meth:`start` waits for the server to be ready.
        detach (bool): keep the server running if this Python process dies or exits. Default
            False: the server stops with its parent, even if the parent crashes.

    Raises:
        ValueError: an argument is out of range.
        TypeError: a count is not an integer.

    Example:
        >>> from tinyms.data import MnistDataset, sample_dataset
        >>> from tinyms.model import create_model
        >>> from tinyms.serving import Server, write_servable
        >>> _ = write_servable("serving", "lenet5", create_model("lenet5", pretrained=True), formats=("ckpt",))
        >>> image, label = next(MnistDataset(sample_dataset("mnist"), usage="test", shuffle=False)
        ...                     .create_tuple_iterator(output_numpy=True))
        >>> with Server(port=0, serving_path="serving") as server:     # port 0: any free port
        ...     client = server.client()
        ...     names = [s["name"] for s in client.list_servables()]
        ...     prediction = client.predict(image, "lenet5")
        >>> names, prediction.label, int(label)
        (['lenet5'], '7', 7)
    """

    def __init__(self, host="127.0.0.1", port=5000, serving_path=None, workers=1, *, threads=4,
                 max_request_bytes=8 * 1024 * 1024, max_image_pixels=4096 * 4096, request_timeout=30.0,
                 hang_timeout=10.0, header_timeout=10.0, body_timeout=30.0, idle_timeout=15.0,
                 max_connections=1000, max_connections_per_client=64, model_threads=1, start_timeout=300.0,
                 detach=False):
        _check_port(port)
        counts = {name: positive_int(value, name) for name, value in (
            ("workers", workers), ("threads", threads), ("max_request_bytes", max_request_bytes),
            ("max_image_pixels", max_image_pixels), ("max_connections", max_connections),
            ("max_connections_per_client", max_connections_per_client))}
        model_threads = non_negative_int(model_threads, "model_threads")  # 0: MindSpore's default
        seconds = {name: _positive_seconds(value, name) for name, value in (
            ("request_timeout", request_timeout), ("hang_timeout", hang_timeout), ("header_timeout", header_timeout),
            ("body_timeout", body_timeout), ("idle_timeout", idle_timeout), ("start_timeout", start_timeout))}
        self.host = host
        self.requested_port = port
        self.port = port
        self.serving_path = _resolve_path(serving_path)
        self.workers = workers
        self.detach = bool(detach)
        self.start_timeout = seconds["start_timeout"]
        self._settings = dict(counts, **seconds, serving_path=self.serving_path, host=host, port=port,
                              model_threads=model_threads)
        self._proc = None
        self._status = None
        self._lifeline = None
        self.log_path = None
        self.servables = []
        self.unavailable = {}
        self.problems = []

    # ------------------------------------------------------------------ properties
    @property
    def url(self):
        """Base URL, e.g. ``http://127.0.0.1:5000``."""
        return _url(self.host, self.port)

    @property
    def pid(self):
        """Process id of the server (its supervisor), or None when not started."""
        return self._proc.pid if self._proc is not None else None

    def is_running(self):
        """True while the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def client(self, timeout=30.0):
        """A :class:`~tinyms.serving.Client` for this server.

        Args:
            timeout (float): seconds the client waits for each answer.

        Returns:
            Client: talking to :attr:`url`.
        """
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else ("::1" if self.host == "::" else self.host)
        return Client(host, self.port, timeout=timeout)

    # ------------------------------------------------------------------ start / stop
    def start(self):
        """Start the server and return once it answers its health check.

        It never blocks longer than ``start_timeout``. Servables whose entry or weights are bad
        are logged (see :attr:`problems` and :attr:`unavailable`) and the others are served.

        Returns:
            Server: ``self``.

        Raises:
            ServableConfigError: the serving directory or its ``servable.json`` is unusable.
            PortInUseError: the port is taken.
            ServerStartError: the server exited or did not become ready in time (the message
                includes the end of its log).
        """
        if self.is_running():
            return self
        from ._config import read_entries
        read_entries(self.serving_path)  # fail fast, in this process, on a missing or broken file
        logs = os.path.join(tinyms_home(), "logs")
        os.makedirs(logs, exist_ok=True)
        label = self.requested_port if self.requested_port else f"auto-{os.getpid()}-{next(_AUTO_LOGS)}"
        self.log_path = os.path.join(logs, f"server-{label}.log")
        with open(self.log_path, "wb") as log_file:
            # A detached server gets no lifeline, so it keeps running when this process ends.
            proc, status, lifeline = _supervisor.spawn(
                "supervisor", self._settings, env=_supervisor.child_env(), lifeline=not self.detach,
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True, cwd=logs)
        self._proc, self._status, self._lifeline = proc, status, lifeline
        try:
            self._wait_ready()
        except BaseException:
            self._terminate(5)
            raise
        with _LOCK:
            _SERVERS[(self.host, self.port)] = self
        if self.detach:
            write_json_atomic(_run_file(self.host, self.port),
                               {"pid": self.pid, "host": self.host, "port": self.port, "log": self.log_path})
        for problem in self.problems:
            log.warning("servable.json: %s", problem)
        for name, reason in self.unavailable.items():
            log.warning("servable %r is not served: %s", name, reason)
        return self

    def _log_tail(self, lines=15):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 8192))
                text = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def _wait_ready(self):
        deadline = time.monotonic() + self.start_timeout
        while True:
            for event in self._status.read(0.1):
                kind = event.get("event")
                if kind == "listening":
                    self.port = event["port"]
                elif kind == "ready":
                    self.servables = event.get("servables", [])
                    self.unavailable = event.get("unavailable", {})
                    self.problems = event.get("problems", [])
                    self._check_health(deadline)
                    return
                elif kind == "error":
                    self._raise_start_error(event)
            if self._proc.poll() is not None:
                for event in self._status.read(0):
                    if event.get("event") == "error":
                        self._raise_start_error(event)
                raise ServerStartError(f"the server process exited with code {self._proc.returncode} while "
                                       f"starting; its log {self.log_path} ends with:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                raise ServerStartError(f"the server did not become ready within {self.start_timeout:.0f} s; "
                                       f"see its log {self.log_path}, or raise start_timeout")

    def _raise_start_error(self, event):
        kind, message = event.get("kind"), event.get("message", "unknown error")
        if kind == "port_in_use":
            raise PortInUseError(message)
        if kind == "config":
            raise ServableConfigError(message)
        if kind == "needs_mindspore":
            raise MindSporeRequiredError(message)
        raise ServerStartError(f"{message} (log: {self.log_path})")

    def _check_health(self, deadline):
        client = self.client(timeout=5)
        while True:
            try:
                if client.server_started():
                    return
            except ServingError:
                pass
            if time.monotonic() > deadline or self._proc.poll() is not None:
                raise ServerStartError(f"the server reported ready but does not answer at {self.url}; see its log "
                                       f"{self.log_path}")
            time.sleep(0.05)

    def stop(self, timeout=30.0):
        """Stop the server gracefully and return once its process is gone.

        Requests in progress are answered first (for up to 10 s); after ``timeout`` seconds the
        process is killed. Stopping a server that is not running does nothing.

        Args:
            timeout (float): seconds to wait before killing the server process.
        """
        if self._proc is None:
            return
        self._terminate(timeout)
        with _LOCK:
            if _SERVERS.get((self.host, self.port)) is self:
                del _SERVERS[(self.host, self.port)]
        if self.detach:
            try:
                os.unlink(_run_file(self.host, self.port))
            except OSError:
                pass

    shutdown = stop

    def _terminate(self, timeout):
        proc = self._proc
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._lifeline is not None:
            os.close(self._lifeline)
            self._lifeline = None
        if self._status is not None:
            self._status.close()
            self._status = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def __repr__(self):
        state = "running" if self.is_running() else "stopped"
        return f"Server({self.url}, serving_path={self.serving_path!r}, {state})"


@atexit.register
def _stop_attached_servers():
    for server in list(_SERVERS.values()):
        if not server.detach:
            try:
                server.stop(timeout=10)
            except Exception:  # noqa: BLE001 - best effort at interpreter exit
                pass


def start_server(serving_path=None, host="127.0.0.1", port=5000, workers=1, **kwargs):
    """Start a model server in the background; returns once it answers its health check.

    Calling it again for the same host and port while that server runs returns the running one.

    Args:
        serving_path (str): directory holding ``servable.json``. Default ``$TINYMS_HOME/serving``
            (where ``tinyms quickstart`` saves its model).
        host (str): interface to listen on. Default ``"127.0.0.1"``.
        port (int): TCP port. Default 5000.
        workers (int): front-end processes. Default 1.
        **kwargs: more :class:`Server` options (``detach``, ``max_request_bytes``...).

    Returns:
        Server: the running server.

    Raises:
        ServableConfigError: the serving directory or ``servable.json`` is unusable.
        PortInUseError: the port is taken by another process.
        ServerStartError: the server did not start (the message shows its log).

    Example:
        >>> from tinyms.serving import start_server, list_servables, predict, shutdown
        >>> start_server()                                   # doctest: +SKIP
        >>> predict("7.png", "lenet5", "mnist")              # doctest: +SKIP
        >>> shutdown()                                       # doctest: +SKIP
    """
    with _LOCK:
        running = _SERVERS.get((host, port))
    if running is not None and running.is_running():
        if serving_path is not None and _resolve_path(serving_path) != running.serving_path:
            raise PortInUseError(f"a server started by this process already serves {running.serving_path} on "
                                 f"{host}:{port}; call shutdown() first or pick another port")
        return running
    return Server(host=host, port=port, serving_path=serving_path, workers=workers, **kwargs).start()


def server_started(host="127.0.0.1", port=5000):
    """True if a TinyMS server answers its readiness check at ``host:port``.

    It never raises: a server that is down, starting or unreachable gives False.

    Args:
        host (str): the server's host. Default ``"127.0.0.1"``.
        port (int): the server's port. Default 5000.

    Returns:
        bool: whether ``GET /v2/health/ready`` answered 200 within 5 seconds.

    Example:
        >>> from tinyms.serving import server_started
        >>> server_started()                                 # doctest: +SKIP
        True
    """
    return Client(host, port, timeout=5).server_started()


def shutdown(host="127.0.0.1", port=5000, timeout=30.0):
    """Stop the server on ``host:port`` gracefully; returns once its process is gone.

    Works for servers started by this process, and for ``detach=True`` servers started by an
    earlier one (found through ``$TINYMS_HOME/run``).

    Args:
        host (str): the server's host. Default ``"127.0.0.1"``.
        port (int): the server's port. Default 5000.
        timeout (float): seconds to wait before killing the process.

    Raises:
        ServerNotRunning: no server started by TinyMS is known on ``host:port`` (a server run
            with ``tinyms serve`` stops with Ctrl-C in its terminal).

    Example:
        >>> from tinyms.serving import shutdown
        >>> shutdown()                                       # doctest: +SKIP
    """
    with _LOCK:
        server = _SERVERS.get((host, port))
    if server is not None:
        server.stop(timeout)
        return
    if _stop_detached(host, port, timeout):
        return
    raise ServerNotRunning(f"no server started with start_server() is running on {host}:{port}; a server run "
                           "with `tinyms serve` stops with Ctrl-C (or SIGTERM) in its terminal")


def _is_our_supervisor(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return any(arg.endswith(b"_boot.py") for arg in argv) and b"supervisor" in argv


def _still_running(pid):
    """True while ``pid`` exists and is neither a zombie nor dead (Linux ``/proc``)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _stop_detached(host, port, timeout):
    path = _run_file(host, port)
    try:
        pid = int(load_file(path)["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if not _is_our_supervisor(pid):
        os.unlink(path)
        return False
    os.kill(pid, signal.SIGTERM)
    # Wait on the process state, not its command line: an exiting process loses its
    # command line before it is gone, so "no longer our supervisor" is not "stopped".
    deadline = time.monotonic() + timeout
    while _still_running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _still_running(pid):
        os.kill(pid, signal.SIGKILL)
        while _still_running(pid):
            time.sleep(0.05)
    try:
        os.unlink(path)
    except OSError:
        pass
    return True


def run_server(serving_path=None, host="127.0.0.1", port=5000, workers=1, **kwargs):
    """Run a model server in the foreground until Ctrl-C or SIGTERM, then stop it cleanly.

    This is what ``tinyms serve [PATH] [--host] [--port] [--workers]`` calls. Progress and
    problems are logged to stderr.

    Args:
        serving_path (str): directory holding ``servable.json``. Default ``$TINYMS_HOME/serving``.
        host (str): interface to listen on. Default ``"127.0.0.1"``.
        port (int): TCP port. Default 5000.
        workers (int): front-end processes. Default 1.
        **kwargs: ``threads``, ``max_request_bytes``, ``max_image_pixels``, ``request_timeout``,
            ``hang_timeout``, ``header_timeout``, ``body_timeout``, ``idle_timeout``,
            ``max_connections``, ``max_connections_per_client``, ``model_threads`` (see
            :class:`Server`).

    Returns:
        int: 0 after a clean stop.

    Raises:
        ServableConfigError: the serving directory or ``servable.json`` is unusable.
        PortInUseError: the port is taken.
        ServerStartError: the server could not start.

    Example:
        >>> from tinyms.serving import run_server
        >>> run_server("/tmp/serving", port=5000)       # doctest: +SKIP
    """
    _check_port(port)
    settings = dict(kwargs, serving_path=_resolve_path(serving_path), host=host, port=port, workers=workers)
    if not logging.getLogger().handlers and not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    stop = threading.Event()
    failure = {}

    def emit(event, **fields):
        if event == "error":
            failure.update(fields)
        elif event == "ready":
            names = ", ".join(fields["servables"]) or "no servables"
            log.info("TinyMS serving %s from %s at %s/ (web page there); press Ctrl-C to stop",
                     names, settings["serving_path"], _url(host, fields["port"]))
            for problem in fields.get("problems", []):
                log.warning("servable.json: %s", problem)
        elif event == "stopped":
            log.info("server stopped")

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        code = _supervisor.Supervisor(settings, emit, stop).run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failure:
        kind, message = failure.get("kind"), failure.get("message", "")
        if kind == "port_in_use":
            raise PortInUseError(message)
        if kind == "config":
            raise ServableConfigError(message)
        if kind == "needs_mindspore":
            raise MindSporeRequiredError(message)
        raise ServerStartError(message)
    return code
