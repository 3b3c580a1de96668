"""A hung model process: the front end reports it (with its pid), the supervisor kills and restarts it.

Fake processes stand in for the workers (``sleep`` forever), so that these tests need neither
MindSpore nor a model; tests/serving/test_health.py does the same with a real server.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from tinyms.serving import _supervisor
from tinyms.serving._backends import ExecutorBackend
from tinyms.serving._wire import StatusReader

SLEEP_FOREVER = [sys.executable, "-c", "import time; time.sleep(3600)"]


def _eventually(check, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_the_front_end_reports_a_hung_model_process_once_with_its_pid(tmp_path):
    path = str(tmp_path / "executor.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(4)
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()  # never answers
    reports = []
    backend = ExecutorBackend("lenet5", "ckpt", path, timeout=5, hang_timeout=0.4, probe_interval=0.1,
                              on_hung=lambda name, pid: reports.append((name, pid)))
    try:
        assert _eventually(lambda: backend.state == "hung", 10)
        time.sleep(0.5)  # still hung: no second report
        assert reports == [("lenet5", os.getpid())]  # the pid of the process holding the socket
    finally:
        backend.close()
        listener.close()
        for conn, _ in accepted:
            conn.close()


@pytest.fixture
def fake_workers(monkeypatch, tmp_path):
    """Workers that sleep forever; ``writers[role]`` holds the write ends of their status pipes."""
    writers, procs = {"executor": [], "front": []}, []

    def spawn(role, config, pass_fds=(), env=None, lifeline=True, **kwargs):
        read_fd, write_fd = os.pipe()
        proc = subprocess.Popen(SLEEP_FOREVER, stdin=subprocess.DEVNULL)
        writers[role].append(write_fd)
        procs.append(proc)
        return proc, StatusReader(read_fd), None

    monkeypatch.setattr(_supervisor, "spawn", spawn)
    stop = threading.Event()
    supervisor = _supervisor.Supervisor({"hang_timeout": 1.0}, lambda *a, **k: None, stop)
    executor = _supervisor._Child("executor", "lenet5", {}, (), None, str(tmp_path))
    front = _supervisor._Child("front", "0", {}, (), None, str(tmp_path))
    for child in (executor, front):
        child.start()
        child.ready = True
    supervisor.executors, supervisor.fronts = [executor], [front]
    watcher = threading.Thread(target=supervisor._watch)
    watcher.start()
    yield executor, writers["front"][0]
    stop.set()
    watcher.join(10)
    for proc in procs:
        proc.kill()
        proc.wait()
    for fd in writers["executor"] + writers["front"]:
        os.close(fd)


def _report(fd, **event):
    os.write(fd, (json.dumps({"event": "hung", **event}) + "\n").encode())


def test_the_supervisor_restarts_a_hung_executor_once_it_is_reported(fake_workers):
    executor, front_status = fake_workers
    hung = executor.proc
    time.sleep(0.5)
    assert hung.poll() is None and executor.proc is hung  # nothing happens before a report
    _report(front_status, servable="lenet5", pid=hung.pid)
    assert _eventually(lambda: hung.poll() is not None, 10), "the hung executor was not stopped"
    assert _eventually(lambda: executor.proc is not hung and executor.alive, 10), "no new executor started"


def test_a_report_about_an_executor_already_replaced_is_ignored(fake_workers):
    executor, front_status = fake_workers
    current = executor.proc
    _report(front_status, servable="lenet5", pid=current.pid + 100000)  # a pid that was restarted away
    _report(front_status, servable="other", pid=current.pid)  # a servable this supervisor does not run
    time.sleep(1.0)
    assert current.poll() is None and executor.proc is current
