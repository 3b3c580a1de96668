"""A hung or dead model process: clean 503/504 answers, health routes that answer and tell the truth."""

import os
import signal
import threading
import time

import pytest
import requests

from tinyms.serving import Server

from .conftest import process_tree, role_of


def _executor(server):
    (pid,) = [p for p in process_tree(server.pid) if role_of(p) == "executor"]
    return pid


def _eventually(check, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result is not None and result is not False:
            return result
        time.sleep(0.1)
    return check()


def _answer_with(url, path, status):
    """The response to GET ``path`` if its status is ``status``, else None."""
    response = requests.get(url + path, timeout=5)
    return response if response.status_code == status else None


def _status(url, path):
    return requests.get(url + path, timeout=10).status_code


@pytest.fixture(scope="module")
def model_server(serving_dir):
    # Two request threads, both of which the stuck model will hold.
    with Server(port=0, serving_path=serving_dir, threads=2, request_timeout=3.0, hang_timeout=1.5) as server:
        yield server


def test_a_stopped_model_process_answers_503_then_is_restarted_once_reported(model_server, digit_png):
    url = model_server.url
    assert _status(url, "/v2/health/ready") == 200 and _status(url, "/v2/models/lenet5/ready") == 200
    pid = _executor(model_server)
    answers = []

    def predict():
        answers.append(requests.post(url + "/servables/lenet5", data=digit_png, timeout=30))
    os.kill(pid, signal.SIGSTOP)  # hung: alive, but it never answers again
    try:
        stuck = [threading.Thread(target=predict) for _ in range(3)]
        for thread in stuck:
            thread.start()
        time.sleep(0.5)  # both request threads now wait on the stopped model
        # The health routes answer although no request thread is free.
        assert requests.get(url + "/v2/health/live", timeout=5).json() == {"live": True}
        ready = _eventually(lambda: _answer_with(url, "/v2/health/ready", 503))
        assert ready is not None and ready.headers["Content-Type"] == "application/json"
        # not answering, then (once the front end reported it) stopped and being restarted
        assert "'lenet5' is not ready" in ready.json()["error"]
        assert "not answered" in ready.json()["error"] or "restart" in ready.json()["error"]
        assert _status(url, "/v2/models/lenet5_onnx/ready") == 200
        assert requests.post(url + "/servables/lenet5_onnx", data=digit_png, timeout=30).status_code == 200
        for thread in stuck:
            thread.join(30)
        assert sorted(a.status_code for a in answers) and all(a.status_code in (503, 504) for a in answers)
        assert all(a.headers["Content-Type"] == "application/json" and a.json()["error"] for a in answers)
        # The supervisor replaces the hung process: a later request succeeds, within a bounded time.
        started = time.monotonic()
        answer = _eventually(lambda: requests.post(url + "/servables/lenet5", data=digit_png, timeout=30)
                             .status_code == 200, timeout=90)
        assert answer, f"still not answering {time.monotonic() - started:.0f} s after the hang was reported"
        assert _executor(model_server) != pid
        assert _eventually(lambda: _status(url, "/v2/health/ready") == 200)  # its probe follows within 0.5 s
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:  # killed by the supervisor, as it should be
            pass


def test_a_killed_model_process_reads_not_ready_until_restarted(model_server, digit_png):
    url = model_server.url
    assert _status(url, "/v2/models/lenet5/ready") == 200
    pid = _executor(model_server)
    os.kill(pid, signal.SIGKILL)
    down = _eventually(lambda: _answer_with(url, "/v2/models/lenet5/ready", 503))
    assert down is not None and "restart" in down.json()["error"]
    answer = requests.post(url + "/servables/lenet5", data=digit_png, timeout=30)
    assert answer.status_code in (200, 503), answer.text  # 200 once the new process is up
    if answer.status_code == 503:
        assert "restart" in answer.json()["error"] and answer.headers["Retry-After"]
    assert _eventually(lambda: _status(url, "/v2/health/ready") == 200, timeout=120)
    assert _executor(model_server) != pid
    assert requests.post(url + "/servables/lenet5", data=digit_png, timeout=30).status_code == 200
