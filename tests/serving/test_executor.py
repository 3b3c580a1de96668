"""A servable whose network fails in MindSpore (GRAPH compile, or a model call): answers, the Python
API and ``tinyms serve`` report MindSpore's first sentence only, never its C++ stack, its
construct traceback, its analyze_fail pointer or server paths."""

import json
import os
import re
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest
import requests

from tinyms.serving import Server, write_servable

# A MindSpore 2.10 GRAPH-compile failure as its RuntimeError reads (paths shortened).
COMPILE_ERROR = (
    "For 'Conv2D', 'C_in' of input 'x' shape divide by parameter 'group' must be equal to 'C_in' of input "
    "'weight' shape: 3, but got 'C_in' of input 'x' shape: 1, and 'group': 1.\n\n"
    "----------------------------------------------------\n- C++ Call Stack: (For framework developers)\n"
    "----------------------------------------------------\nmindspore/ops/infer//conv2d.cc:240 Conv2dInferShape\n\n"
    "----------------------------------------------------\n- The Traceback of Net Construct Code:\n"
    "----------------------------------------------------\n# 0 In file /srv/app/tinyms/model/zoo/lenet.py:40, 32~45\n"
    "        x = self.pool(self.relu(self.conv1(x)))\n"
    " (See file '/root/.tinyms/debug/rank_0/om/analyze_fail.ir' for more details. Get instructions about "
    "`analyze_fail.ir` at https://www.mindspore.cn/search?inputValue=analyze_fail.ir)")
FIRST_SENTENCE = COMPILE_ERROR.split("\n")[0]
LEAKS = ("C++", "analyze_fail", "Net Construct Code", "conv2d.cc", "lenet.py", "----")


def _clean(text):
    """True when ``text`` carries none of MindSpore's detail and no absolute path."""
    return not any(leak in text for leak in LEAKS) and not re.search(r"(^|[\s'\"(])/\w", text)


def test_first_sentence_keeps_what_went_wrong_only():
    from tinyms._text import first_sentence

    assert first_sentence(RuntimeError(COMPILE_ERROR)) == FIRST_SENTENCE
    assert first_sentence(ValueError("Failed to read the checkpoint file a.ckpt. The file may be corrupted.")) \
        == "Failed to read the checkpoint file a.ckpt."
    assert first_sentence(RuntimeError("\n----\nbad shape (2, 3)\nmore")) == "bad shape (2, 3)"
    assert first_sentence(RuntimeError("")) == "RuntimeError"
    assert first_sentence("x: " + COMPILE_ERROR) == "x: " + FIRST_SENTENCE


def test_a_model_call_that_fails_in_mindspore_answers_its_first_sentence():
    from tinyms.serving._executor import _answer

    class Failing:
        spec = type("Spec", (), {"name": "broken"})()

        def run(self, batch):
            raise RuntimeError(COMPILE_ERROR)

    ours, theirs = socket.socketpair()
    try:
        from tinyms.serving._wire import recv_message

        _answer(Failing(), [(theirs, {"id": 1, "shape": [1, 2]}, np.zeros(2, np.float32).tobytes())], [theirs],
                lambda rows: None)
        header, _ = recv_message(ours)
    finally:
        ours.close()
        theirs.close()
    assert header["error"] == FIRST_SENTENCE


@pytest.fixture(scope="module")
def broken_dir(tmp_path_factory):
    """'broken': a 3-channel LeNet5 checkpoint whose entry says it takes 1-channel images, so that its
    network fails in MindSpore's GRAPH compile when the executor first runs it."""
    from tinyms.model import create_model

    path = tmp_path_factory.mktemp("broken")
    write_servable(str(path), "broken", create_model("lenet5", class_num=10, num_channel=3), formats=("ckpt",))
    entries = json.loads((path / "servable.json").read_text())
    entries[0]["model"]["input_shape"] = [1, 32, 32]
    (path / "servable.json").write_text(json.dumps(entries))
    return str(path)


def test_answers_about_a_servable_that_fails_to_compile_carry_one_sentence(broken_dir):
    with Server(port=0, serving_path=broken_dir) as server:
        assert list(server.unavailable) == ["broken"] and _clean(server.unavailable["broken"])
        assert "For 'Conv2D'" in server.unavailable["broken"]
        listing = requests.get(server.url + "/servables", timeout=10)
        (item,) = listing.json()["servables"]
        assert item["ready"] is False and "For 'Conv2D'" in item["error"] and _clean(item["error"])
        for answer in (requests.post(server.url + "/servables/broken", data=b"\x89PNG", timeout=30),
                       requests.get(server.url + "/v2/models/broken/ready", timeout=10),
                       requests.get(server.url + "/servables/broken", timeout=10)):
            assert answer.status_code == 503 and answer.json()["error"], answer.text
            assert _clean(answer.text), answer.text


def test_tinyms_serve_reports_a_servable_that_fails_to_compile_in_one_sentence(broken_dir, tmp_path):
    # GLOG_v=4: MindSpore's own ERROR log lines off, so that stderr holds what TinyMS reports
    env = {**os.environ, "TINYMS_HOME": str(tmp_path / "home"), "GLOG_v": "4"}
    proc = subprocess.Popen([sys.executable, "-m", "tinyms", "serve", broken_dir, "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    try:
        for line in proc.stderr:
            lines.append(line)
            if "TinyMS serving" in line:
                break
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = "".join(lines) + rest
    assert proc.returncode == 0, err
    reports = [line for line in err.splitlines() if "broken" in line]
    assert reports and any("For 'Conv2D'" in line for line in reports), err
    assert not any(leak in err for leak in LEAKS), err


def test_tinyms_serve_prints_a_mindspore_error_it_did_not_expect_in_one_line(monkeypatch, capsys, tmp_path):
    import tinyms.serving
    from tinyms import cli

    def fails(*args, **kwargs):
        raise RuntimeError(COMPILE_ERROR)

    monkeypatch.setattr(tinyms.serving, "run_server", fails)
    assert cli.main(["serve", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == f"error: RuntimeError: {FIRST_SENTENCE}\n"
