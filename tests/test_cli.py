"""The ``tinyms`` command line: quickstart end to end on the bundled sample, offline fallback, errors."""

import json
import os
import subprocess
import sys

import pytest


def _tinyms(*args, env=None, timeout=600, cwd=None):
    return subprocess.run([sys.executable, "-m", "tinyms", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, cwd=cwd)


@pytest.fixture(scope="module")
def sample_folder(tmp_path_factory):
    from tinyms.data import sample_dataset
    os.environ.setdefault("TINYMS_HOME", str(tmp_path_factory.mktemp("home")))
    return sample_dataset("mnist")


def test_quickstart_on_the_bundled_sample(sample_folder, tmp_path):
    out = tmp_path / "serving"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    run = _tinyms("quickstart", "--data", sample_folder, "--out", str(out), cwd=cwd)
    assert run.returncode == 0, run.stderr
    assert list(cwd.iterdir()) == []  # nothing written into the current directory
    text = run.stdout
    assert "Test accuracy:" in text and "(same accuracy)" in text
    digits = [line for line in text.splitlines() if line.strip().startswith("digit ")]
    assert len(digits) == 8 and all("predicted" in d and "truth" in d for d in digits)
    summary = text.strip().splitlines()[-1]
    assert summary.startswith("Done: test accuracy") and str(out) in summary
    accuracy = float(summary.split("test accuracy ")[1].split("%")[0]) / 100
    assert accuracy >= 0.95
    # ten sample epochs by default, one plain line each when stderr is not a terminal
    assert "training 10 epoch(s)" in text
    assert "Epoch 1/10" in run.stderr and "Epoch 10/10" in run.stderr
    # the serving folder tinyms serve reads
    entries = json.loads((out / "servable.json").read_text())
    assert [e["name"] for e in entries] == ["lenet5"]
    assert (out / "lenet5" / "lenet5.ckpt").is_file() and (out / "lenet5" / "lenet5.onnx").is_file()
    assert entries[0]["model"]["format"] == "onnx"  # served by onnxruntime
    # ... and serves what it trained: a real test digit over HTTP
    from PIL import Image
    from tinyms.data import MnistDataset
    from tinyms.serving import Server
    image, label = next(MnistDataset(sample_folder, usage="test", shuffle=False)
                        .create_tuple_iterator(output_numpy=True))
    png = tmp_path / "digit.png"
    Image.fromarray(image[:, :, 0]).save(png)
    with Server(port=0, serving_path=str(out)) as server:
        result = server.client().predict(str(png), "lenet5", "mnist")
    assert result.label == str(int(label)) and result.score > 0.5


def test_quickstart_offline_falls_back_to_the_sample(tmp_path):
    # a mirror on a closed port: every source fails at once, the sample is used
    env = {"TINYMS_HOME": str(tmp_path / "home"), "TINYMS_DATASET_MIRROR": "http://127.0.0.1:9/data"}
    run = _tinyms("quickstart", "--quiet", "--out", str(tmp_path / "serving"), env=env)
    assert run.returncode == 0, run.stderr
    fallback = [line for line in run.stdout.splitlines() if "bundled MNIST sample instead" in line]
    assert len(fallback) == 1
    assert "bundled MNIST sample" in run.stdout.strip().splitlines()[-1]


def test_models_lists_the_zoo():
    run = _tinyms("models", "--source", "tinyms")
    lines = run.stdout.splitlines()
    assert run.returncode == 0 and lines == sorted(lines)
    names = {line.split("\t")[0] for line in lines}
    assert {"lenet5", "alexnet", "resnet50", "mobilenetv2", "densenet100", "vgg16_bn"} <= names
    lenet = next(line for line in lines if line.startswith("lenet5\t"))
    assert "input (1, 32, 32)" in lenet and "weights mnist" in lenet


def test_models_output_piped_into_a_reader_that_leaves_is_not_an_error():
    import subprocess
    import sys

    cmd = f"{sys.executable} -m tinyms models | head -n 1"
    run = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "GLOG_v": "3"})
    assert run.returncode == 0 and "Traceback" not in run.stderr and run.stdout.count("\n") == 1


def test_bad_arguments_and_errors_are_one_line(tmp_path):
    run = _tinyms("quickstart", "--epochs", "0")
    assert run.returncode == 2 and "must be at least 1" in run.stderr
    run = _tinyms("quickstart", "--data", str(tmp_path / "nope"))
    assert run.returncode == 1
    assert run.stderr.startswith("error: ") and "Traceback" not in run.stderr
    run = _tinyms("download", "cifar1000")
    assert run.returncode == 1 and "mnist" in run.stderr and "Traceback" not in run.stderr


def test_serve_onnx_on_a_free_port_without_loading_mindspore(tmp_path):
    import re
    import signal

    import requests
    from tinyms.model import create_model
    from tinyms.serving import write_servable

    serving = tmp_path / "serving"
    write_servable(str(serving), "lenet5", create_model("lenet5", class_num=10), formats=("onnx",))
    proc = subprocess.Popen([sys.executable, "-m", "tinyms", "serve", str(serving), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TINYMS_HOME": str(tmp_path / "home")})
    try:
        url = None
        for line in proc.stderr:
            found = re.search(r"at (http://127\.0\.0\.1:(\d+))/", line)
            if found:
                url, port = found.group(1), int(found.group(2))
                break
        assert url is not None and port not in (0, 5000)
        assert requests.get(url + "/v2/health/ready", timeout=10).status_code == 200
        with open(f"/proc/{proc.pid}/maps") as f:
            assert "_c_expression" not in f.read()  # the CLI process never loaded MindSpore
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "server stopped" in err and "Traceback" not in err


def test_serve_rejects_a_bad_port():
    run = _tinyms("serve", "--port", "70000")
    assert run.returncode == 2 and "0 (any free port) to 65535" in run.stderr


def test_the_command_line_loads_neither_numpy_nor_mindspore_before_a_command_runs():
    # tinyms train blocks Ctrl-C in every thread before MindSpore starts any; a library that starts
    # threads at import (numpy's OpenBLAS) while the parser is built would take the signal first, and the
    # run would die by SIGTERM instead of stopping at a step end (tests/test_train_cli.py's Ctrl-C test)
    code = ("import sys\nfrom tinyms import cli\ncli._build_parser()\n"
            "print(sorted(m for m in ('numpy', 'mindspore', 'cv2') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
