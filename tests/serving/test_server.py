"""Server lifecycle over real processes: start, health, stop, port clashes, crashes, foreground mode."""

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
import requests

from tinyms.serving import (PortInUseError, ServableConfigError, Server, ServerNotRunning, default_serving_path,
                            list_servables, predict, server_started, shutdown, start_server, write_servable)

from .conftest import free_port, loads_mindspore, process_tree, role_of


def _wait_until(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def _gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_the_beginner_lines_with_the_default_serving_path(lenet, digit_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written to the current directory
    write_servable(default_serving_path(), "lenet5", lenet)
    port = free_port()
    server = start_server(port=port)
    assert start_server(port=port) is server  # already running: the same server
    assert [s["name"] for s in list_servables(port=port)] == ["lenet5"]
    assert server_started(port=port)
    res = predict(digit_file, "lenet5", "mnist", port=port)
    assert res.label in [str(i) for i in range(10)]
    pids = process_tree(server.pid)
    assert sorted(role_of(p) for p in pids) == ["executor", "front", "supervisor"]
    shutdown(port=port)
    assert all(_gone(p) for p in pids)  # shutdown returns once the processes are gone
    assert not server_started(port=port)
    assert os.listdir(tmp_path) == []
    with pytest.raises(ServerNotRunning, match="tinyms serve"):
        shutdown(port=port)


def test_context_manager_stops_and_frees_the_port(onnx_dir):
    with Server(port=0, serving_path=onnx_dir) as server:
        port, pid = server.port, server.pid
        assert server.is_running() and server.client().server_started()
    assert _gone(pid) and not server.is_running()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # free again


def test_port_in_use_is_a_clear_error(onnx_dir, server):
    with pytest.raises(PortInUseError, match=f"port {server.port} on 127.0.0.1 is already in use"):
        Server(port=server.port, serving_path=onnx_dir).start()
    assert server.client().server_started()


def test_missing_or_broken_serving_directory(tmp_path):
    with pytest.raises(ServableConfigError, match="does not exist.*quickstart"):
        Server(port=0, serving_path=str(tmp_path / "none")).start()
    (tmp_path / "servable.json").write_text("{")
    with pytest.raises(ServableConfigError, match="not valid JSON"):
        Server(port=0, serving_path=str(tmp_path)).start()
    with pytest.raises(ValueError, match="port must be"):
        Server(port=70000)


def test_onnx_only_server_never_loads_mindspore(onnx_dir, digit_png, expected):
    import numpy as np

    with Server(port=0, serving_path=onnx_dir) as server:
        pids = process_tree(server.pid)
        assert sorted(role_of(p) for p in pids) == ["front", "supervisor"]
        assert not any(loads_mindspore(p) for p in pids)
        res = server.client().predict(digit_png, "lenet5")
        assert res.label == str(int(np.argmax(expected(digit_png))))
        assert not any(loads_mindspore(p) for p in process_tree(server.pid))


def test_a_long_tmpdir_leaves_the_executors_room_for_their_sockets(serving_dir, digit_png, expected, tmp_path,
                                                                   monkeypatch):
    import numpy as np

    # the executors' Unix sockets live in a private folder of the temporary folder; under this TMPDIR
    # their paths would pass the 108 bytes a socket path can have, and every executor failed to start
    long_tmp = tmp_path / ("deep-" * 12) / ("folder-" * 6)
    long_tmp.mkdir(parents=True)
    assert len(os.fsencode(os.path.join(long_tmp, "tinyms-serving-abcdefgh", "executor-0.sock"))) > 108
    monkeypatch.setenv("TMPDIR", str(long_tmp))
    with Server(port=0, serving_path=serving_dir) as server:
        assert "lenet5" in server.servables
        res = server.client().predict(digit_png, "lenet5")
        assert res.label == str(int(np.argmax(expected(digit_png))))
    # the run folder went elsewhere and is gone (onnxruntime writes its session id, .ses, in TMPDIR)
    assert set(os.listdir(long_tmp)) <= {".ses"}


def test_only_the_executor_of_a_checkpoint_server_loads_mindspore(server):
    roles = {p: role_of(p) for p in process_tree(server.pid)}
    assert sorted(roles.values()) == ["executor", "front", "supervisor"]  # wrong_classes' executor has exited
    for pid, role in roles.items():
        assert loads_mindspore(pid) == (role == "executor"), role


def test_several_front_ends_share_the_port_and_the_metrics(onnx_dir, digit_png):
    with Server(port=0, serving_path=onnx_dir, workers=2) as server:
        assert sorted(role_of(p) for p in process_tree(server.pid)) == ["front", "front", "supervisor"]
        with requests.Session() as http:
            for _ in range(20):
                assert http.post(server.url + "/servables/lenet5", data=digit_png, timeout=30).status_code == 200
        for _ in range(10):  # new connections, spread over both front ends
            assert requests.post(server.url + "/servables/lenet5", data=digit_png, timeout=30).status_code == 200
        text = requests.get(server.url + "/metrics", timeout=10).text
        line = next(l for l in text.splitlines() if l.startswith("tinyms_predictions_total{"))
        assert float(line.split()[-1]) == 30.0


def test_a_crashed_worker_is_restarted(onnx_dir, digit_png):
    with Server(port=0, serving_path=onnx_dir) as server:
        (front,) = [p for p in process_tree(server.pid) if role_of(p) == "front"]
        os.kill(front, signal.SIGKILL)
        assert _wait_until(lambda: any(role_of(p) == "front" and p != front for p in process_tree(server.pid)))
        assert _wait_until(server.client().server_started)
        assert server.client().predict(digit_png, "lenet5").label


def test_a_crashed_executor_gives_503_then_recovers(server, digit_png):
    (executor,) = [p for p in process_tree(server.pid) if role_of(p) == "executor"]
    os.kill(executor, signal.SIGKILL)
    assert _wait_until(lambda: _gone(executor))
    first = requests.post(server.url + "/servables/lenet5", data=digit_png, timeout=30)
    assert first.status_code in (200, 503)
    if first.status_code == 503:
        assert "retry" in first.json()["error"]

    def served():
        return requests.post(server.url + "/servables/lenet5", data=digit_png, timeout=30).status_code == 200
    assert _wait_until(served, timeout=120)


def _python(code, **kwargs):
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=dict(os.environ, GLOG_v="3"),
                            stdout=subprocess.PIPE, text=True, **kwargs)


def test_the_server_dies_with_a_crashing_parent(onnx_dir):
    parent = _python(f"""
        import os
        from tinyms.serving import Server
        server = Server(port=0, serving_path={onnx_dir!r}).start()
        print(server.pid, server.port, flush=True)
        os.kill(os.getpid(), 9)
    """)
    pid, port = (int(v) for v in parent.stdout.readline().split())
    parent.wait(60)
    assert _wait_until(lambda: all(_gone(p) for p in [pid]), timeout=30)
    assert not server_started(port=port)


def test_a_detached_server_survives_its_parent_and_shutdown_stops_it(onnx_dir):
    parent = _python(f"""
        from tinyms.serving import Server
        server = Server(port=0, serving_path={onnx_dir!r}, detach=True).start()
        print(server.pid, server.port, flush=True)
    """)
    pid, port = (int(v) for v in parent.stdout.readline().split())
    assert parent.wait(60) == 0
    assert server_started(port=port) and not _gone(pid)
    shutdown(port=port)
    assert _gone(pid) and not server_started(port=port)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_run_server_in_the_foreground_stops_cleanly(onnx_dir, sig):
    port = free_port()
    proc = _python(f"""
        from tinyms.serving import run_server
        raise SystemExit(run_server({onnx_dir!r}, port={port}))
    """, stderr=subprocess.PIPE)
    for line in proc.stderr:  # the ready line names what is served and where
        if "TinyMS serving" in line:
            assert f"lenet5 from {onnx_dir} at http://127.0.0.1:{port}/" in line
            break
    assert server_started(port=port)
    children = process_tree(proc.pid)
    assert len(children) == 2  # run_server itself supervises one front end
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "server stopped" in err
    assert all(_gone(p) for p in children)
