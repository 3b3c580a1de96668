"""The supervisor: binds the port, spawns and watches the worker processes, stops them in order.

Process model of one server::

    supervisor (this module; standard library only, never imports MindSpore or numpy)
    ├── executor per checkpoint/MindIR servable (MindSpore, one thread of execution each)
    └── front end x ``workers`` (waitress + the WSGI app; numpy, PIL, onnxruntime; no MindSpore)

Every worker is a fresh interpreter started with ``subprocess`` (fork + exec), never a fork of
a process that ran MindSpore. The supervisor holds the port; on Linux each front end listens on
its own ``SO_REUSEPORT`` socket so the kernel spreads connections evenly over them (elsewhere
they share the supervisor's listening socket). Each worker gets a status pipe (JSON lines back to the
supervisor) and a lifeline pipe (end-of-file means the supervisor died: the worker exits).
A worker that dies is restarted, at most five times a minute. So is an executor that a front end
reports hung (a health ping unanswered for ``hang_timeout`` seconds): the supervisor kills it
first.
"""

import errno
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from ._config import load_servables
from ._edge import runnable_here
from ._wire import REUSEPORT, StatusReader, bind_socket
from .errors import ServableConfigError

log = logging.getLogger("tinyms.serving")

BOOT_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_boot.py")
_RESTARTS_PER_MINUTE = 5

DEFAULTS = {
    "serving_path": None,
    "host": "127.0.0.1",
    "port": 5000,
    "workers": 1,
    "threads": 4,
    "max_request_bytes": 8 * 1024 * 1024,
    "max_image_pixels": 4096 * 4096,
    "request_timeout": 30.0,
    "start_timeout": 300.0,
    "grace_seconds": 10.0,
    "onnx_threads": 1,
    "model_threads": 1,
    "hang_timeout": 10.0,
    "max_header_bytes": 64 * 1024,
    "header_timeout": 10.0,
    "body_timeout": 30.0,
    "idle_timeout": 15.0,
    "max_connections": 1000,
    "max_connections_per_client": 64,
}
_FRONT_KEYS = ("serving_path", "threads", "max_request_bytes", "max_image_pixels", "request_timeout", "grace_seconds",
               "onnx_threads", "hang_timeout", "max_header_bytes", "header_timeout", "body_timeout", "idle_timeout",
               "max_connections", "max_connections_per_client")


# A front end's memory allocator settings (an environment that sets them wins). glibc keeps what a
# worker freed: its mmap threshold rises to the largest block freed (the ONNX file's bytes), so
# later buffers come from the heap and stay, and each request thread gets its own arena. A fixed
# 1 MiB threshold and two arenas keep a MobileNetV2 worker at 117 instead of 143 MiB resident, for
# about 5 % more CPU per request; one OpenBLAS thread (the model runs on onnxruntime) saves 3 MiB
# more (benchmarks/RESULTS.md, section 15).
FRONT_ENV = {"MALLOC_MMAP_THRESHOLD_": "1048576", "MALLOC_ARENA_MAX": "2", "OPENBLAS_NUM_THREADS": "1"}


def front_env(env):
    """``env`` with :data:`FRONT_ENV`'s settings where it has none."""
    return {**FRONT_ENV, **env}


def child_env(extra=None):
    """Environment for a serving process: MindSpore's quiet log level and AVX2 cap by default."""
    env = dict(os.environ)
    env.setdefault("GLOG_v", "3")
    env.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def spawn(role, config, pass_fds=(), env=None, lifeline=True, **popen_kwargs):
    """Start ``_boot.py role config`` with a status pipe and (unless ``lifeline`` is False) a lifeline pipe.

    Returns:
        tuple: ``(popen, StatusReader, lifeline_write_fd or None)``.
    """
    status_r, status_w = os.pipe()
    life_r, life_w = os.pipe() if lifeline else (None, None)
    config = dict(config, status_fd=status_w, lifeline_fd=life_r)
    inherited = (status_w,) + ((life_r,) if lifeline else ())
    try:
        proc = subprocess.Popen([sys.executable, BOOT_SCRIPT, role, json.dumps(config)],
                                pass_fds=tuple(pass_fds) + inherited, env=env or child_env(),
                                stdin=subprocess.DEVNULL, **popen_kwargs)
    except OSError:
        for fd in (status_r, status_w, life_r, life_w):
            if fd is not None:
                os.close(fd)
        raise
    os.close(status_w)
    if lifeline:
        os.close(life_r)
    return proc, StatusReader(status_r), life_w



#: the longest Unix socket path this module makes: sun_path holds 108 bytes on Linux and 104 on
#: macOS, its final NUL included, and binding a longer path fails ("AF_UNIX path too long")
_MAX_SOCKET_PATH = 100
#: the longest socket name in the run folder (executor-<index>.sock)
_SOCKET_NAME = "executor-99999.sock"


def _make_rundir():
    """A private folder (mode 0700) for the executors' sockets and the metrics.

    In the temporary folder (``TMPDIR``) when its path leaves room for the sockets' names, else
    in ``/tmp`` or ``/var/tmp``: a long ``TMPDIR`` (deep CI work folders, macOS's) would make
    every executor fail to bind its socket.

    Raises:
        OSError: no folder with a short enough path can be made (the message names ``TMPDIR``).
    """
    rundir = tempfile.mkdtemp(prefix="tinyms-serving-")
    if len(os.fsencode(os.path.join(rundir, _SOCKET_NAME))) <= _MAX_SOCKET_PATH:
        return rundir
    os.rmdir(rundir)
    for parent in ("/tmp", "/var/tmp"):
        if os.path.isdir(parent) and os.access(parent, os.W_OK | os.X_OK):
            return tempfile.mkdtemp(prefix="tinyms-serving-", dir=parent)
    raise OSError(f"the temporary folder {tempfile.gettempdir()!r} is too long for the server's Unix sockets "
                  f"(at most {_MAX_SOCKET_PATH} bytes with their names) and neither /tmp nor /var/tmp is writable; "
                  f"set TMPDIR to a shorter folder")


class _Child:
    """One worker process and what is needed to restart it.

    Workers run in the server's private temporary folder, so files MindSpore may drop in the
    current directory (compile caches, failure dumps) never land in the user's.
    """

    def __init__(self, role, name, config, pass_fds, env, cwd):
        self.role, self.name, self.config = role, name, config
        self.pass_fds, self.env, self.cwd = pass_fds, env, cwd
        self.proc = self.status = self.lifeline = None
        self.started = 0.0
        self.restarts = []
        self.ready = False
        self.events = []

    def start(self):
        self.close_pipes()
        self.ready = False
        self.started = time.monotonic()
        self.proc, self.status, self.lifeline = spawn(self.role, self.config, self.pass_fds, self.env, cwd=self.cwd)

    def poll_events(self):
        events = self.status.read(0) if self.status is not None else []
        for event in events:
            if event.get("event") == "ready":
                self.ready = True
        self.events.extend(events)
        return events

    def close_pipes(self):
        if self.status is not None:
            self.status.close()
            self.status = None
        if self.lifeline is not None:
            try:
                os.close(self.lifeline)
            except OSError:
                pass
            self.lifeline = None

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def can_restart(self):
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if now - t < 60]
        if len(self.restarts) >= _RESTARTS_PER_MINUTE:
            return False
        self.restarts.append(now)
        return True


def _stop_children(children, grace):
    for child in children:
        if child.alive:
            child.proc.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        if child.proc is None:
            continue
        try:
            child.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s %s did not stop within %.0f s; killing it", child.role, child.name, grace)
            child.proc.kill()
            child.proc.wait()
        child.close_pipes()


class Supervisor:
    """Runs one server until ``stop`` is set.

    Args:
        settings (dict): keys of :data:`DEFAULTS`.
        emit (callable): ``emit(event, **fields)`` for "listening", "ready", "error", "stopped".
        stop (threading.Event): set it to shut the server down.
    """

    def __init__(self, settings, emit, stop):
        self.settings = dict(DEFAULTS, **settings)
        self.emit = emit
        self.stop = stop
        self.executors = []
        self.fronts = []

    def run(self):
        """Serve until stopped; returns the process exit code (0 after a clean stop)."""
        s = self.settings
        try:
            specs, problems = load_servables(s["serving_path"])
            specs, refused = runnable_here(specs, s["serving_path"])  # without MindSpore: ONNX models only
        except ServableConfigError as err:
            self.emit("error", kind="config", message=str(err))
            return 2
        for problem in problems:
            log.error("servable.json entry skipped: %s", problem)
        if refused and not specs:
            self.emit("error", kind="needs_mindspore", message=" ".join(refused.values()))
            return 2
        for spec in specs:
            if spec.unchecked:
                log.warning("servable %r: servable.json records no SHA-256 for %s; %s", spec.name,
                            ", ".join(spec.unchecked), "it is served unchecked" if spec.sha256 is None else
                            "the served file is checked")
        try:
            # An exclusive bind first, so that a port any other server listens on (another
            # TinyMS server included) is reported as taken.
            listener = bind_socket(s["host"], s["port"], listen=not REUSEPORT)
            if REUSEPORT:
                # Then hold the port with SO_REUSEPORT without listening: each front end listens
                # on its own SO_REUSEPORT socket and the kernel spreads connections evenly.
                port = listener.getsockname()[1]
                listener.close()
                listener = bind_socket(s["host"], port, listen=False, reuseport=True)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                message = (f"port {s['port']} on {s['host']} is already in use (another server, maybe a TinyMS "
                           "server started earlier); stop it, or pass another port (port=0 picks a free one)")
                self.emit("error", kind="port_in_use", message=message)
            else:
                self.emit("error", kind="bind", message=f"cannot listen on {s['host']}:{s['port']}: {err.strerror}")
            return 3
        host, port = listener.getsockname()[:2]
        self.emit("listening", host=host, port=port)
        try:
            rundir = _make_rundir()
        except OSError as err:
            self.emit("error", kind="rundir", message=str(err))
            return 3
        metrics_dir = os.path.join(rundir, "metrics")
        os.mkdir(metrics_dir)
        env = child_env({"PROMETHEUS_MULTIPROC_DIR": metrics_dir})
        try:
            code = self._serve(specs, problems, listener, rundir, env, host, port, refused)
        finally:
            listener.close()
            _stop_children(self.fronts, s["grace_seconds"] + 5)
            _stop_children(self.executors, 10)
            shutil.rmtree(rundir, ignore_errors=True)
            self.emit("stopped")
        return code

    def _serve(self, specs, problems, listener, rundir, env, host, port, refused=None):
        s = self.settings
        unavailable, served = dict(refused or {}), []
        for index, spec in enumerate(specs):
            if spec.needs_mindspore:
                path = os.path.join(rundir, f"executor-{index}.sock")
                child = _Child("executor", spec.name, {"spec": spec.to_dict(), "socket_path": path,
                                                       "model_threads": s["model_threads"]}, (), env, rundir)
                child.start()
                self.executors.append(child)
        deadline = time.monotonic() + s["start_timeout"]
        waiting = list(self.executors)
        while waiting and not self.stop.is_set():
            if time.monotonic() > deadline:
                for child in waiting:
                    unavailable[child.name] = f"did not load within {s['start_timeout']:.0f} s"
                _stop_children(waiting, 5)
                break
            for child in list(waiting):
                child.poll_events()
                if child.ready:
                    waiting.remove(child)
                elif child.events or not child.alive:
                    failed = [e for e in child.events if e.get("event") == "failed"]
                    reason = failed[0]["reason"] if failed else \
                        f"its process exited with code {child.proc.poll()} while loading; see the server log"
                    unavailable[child.name] = reason
                    waiting.remove(child)
                    _stop_children([child], 10)
            time.sleep(0.05)
        if self.stop.is_set():
            return 0
        by_name = {c.name: c for c in self.executors}
        for spec in specs:
            if not spec.needs_mindspore:
                served.append({"spec": spec.to_dict()})
            elif spec.name not in unavailable:
                child = by_name[spec.name]
                meta = next(e["meta"] for e in child.events if e.get("event") == "ready")
                served.append({"spec": spec.to_dict(), "meta": meta, "socket_path": child.config["socket_path"]})
        self.executors = [c for c in self.executors if c.name not in unavailable]
        front_config = {key: s[key] for key in _FRONT_KEYS}
        front_config.update(servables=served, unavailable=unavailable, problems=[p.to_dict() for p in problems])
        if REUSEPORT:
            front_config.update(bind=[host, port])
            inherited = ()
        else:  # no SO_REUSEPORT: the front ends accept on the supervisor's socket
            front_config.update(listen_fd=listener.fileno())
            inherited = (listener.fileno(),)
        for index in range(max(1, int(s["workers"]))):
            child = _Child("front", str(index), front_config, inherited, front_env(env), rundir)
            child.start()
            self.fronts.append(child)
        failed = {}
        while not all(c.ready for c in self.fronts) and not self.stop.is_set():
            if time.monotonic() > deadline:
                self.emit("error", kind="timeout",
                          message=f"the front ends did not start within {s['start_timeout']:.0f} s")
                return 4
            for child in self.fronts:
                for event in child.poll_events():
                    if event.get("event") == "ready":
                        failed.update(event.get("failed", {}))
                if not child.alive and not child.ready:
                    self.emit("error", kind="front", message=f"a front-end process exited with code "
                                                             f"{child.proc.poll()} while starting; see the server log")
                    return 4
            time.sleep(0.02)
        if self.stop.is_set():
            return 0
        unavailable.update(failed)
        ready = [item["spec"]["name"] for item in served if item["spec"]["name"] not in unavailable]
        for name, reason in unavailable.items():
            log.error("servable %r is not served: %s", name, reason)
        self.emit("ready", host=host, port=port, servables=ready, unavailable=unavailable,
                  problems=[str(p) for p in problems], pid=os.getpid())
        return self._watch()

    def _watch(self):
        while not self.stop.wait(0.2):
            for child in self.executors + self.fronts:
                for event in child.poll_events():
                    if event.get("event") == "hung" and child.role == "front":
                        self._stop_hung(event, child)
                if child.alive or self.stop.is_set():
                    continue
                code = child.proc.poll()
                if not child.can_restart():
                    if child.role == "front" and not any(c.alive for c in self.fronts):
                        self.emit("error", kind="front", message="every front-end process keeps crashing; stopping")
                        return 5
                    continue
                log.error("%s %s exited with code %s; restarting it", child.role, child.name, code)
                child.start()
        return 0

    def _stop_hung(self, event, front):
        """Kill the executor a front end reports hung, so that the watch loop restarts it.

        A report naming another process (an executor already replaced, reported late or by a
        second front end) is ignored; without a pid, an executor younger than ``hang_timeout``
        is kept (it cannot have been silent that long).
        """
        child = next((c for c in self.executors if c.name == event.get("servable")), None)
        if child is None or not child.alive:
            return
        pid = event.get("pid")
        if pid != child.proc.pid if pid is not None else \
                time.monotonic() - child.started < self.settings["hang_timeout"]:
            return
        log.error("executor %s (pid %d) has not answered front end %s for more than %g s; killing it to restart "
                  "it", child.name, child.proc.pid, front.name, self.settings["hang_timeout"])
        child.proc.kill()
        try:
            child.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass


def main(config):
    """Entry point of a background supervisor process (called by ``_boot``)."""
    import threading

    from ._wire import StatusWriter, watch_lifeline

    emit_status = StatusWriter(config.pop("status_fd", None))
    lifeline = config.pop("lifeline_fd", None)
    stop = threading.Event()

    def emit(event, **fields):
        if event == "error":
            log.error("%s", fields.get("message"))
        elif event == "ready":
            log.info("serving %s on http://%s:%s/", ", ".join(fields["servables"]) or "no servables",
                     fields["host"], fields["port"])
        emit_status(event, **fields)

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if lifeline is not None:
        watch_lifeline(lifeline, stop.set)
    return Supervisor(config, emit, stop).run()
