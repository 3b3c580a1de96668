"""A script or command that keeps networks alive until Python exits ends quietly.

Networks kept in a script's globals used to be freed after MindSpore's modules had been torn
down, and every cell printed "Exception ignored in: <function Cell.__del__ ...>" (about 70 for
a ResNet-18). Each case runs in a fresh interpreter, as a user would.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

NETWORKS_AT_MODULE_LEVEL = """
    from tinyms.model import Model, create_model, lenet5

    net = create_model("resnet18")
    small = lenet5()
    model = Model(lenet5()).compile(loss_fn="cross_entropy", optimizer="momentum")
    print(type(net).__name__, type(small).__name__, type(model.network).__name__)
"""


def _run(args, tmp_path):
    env = dict(os.environ, GLOG_v="3", TINYMS_HOME=str(tmp_path / "home"), TINYMS_OFFLINE="1")
    return subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)


def _assert_quiet(result):
    assert result.returncode == 0, result.stderr[-3000:]
    for noise in ("Exception ignored", "Traceback"):
        assert noise not in result.stderr, f"{result.stderr.count(noise)} x {noise!r}:\n{result.stderr[-3000:]}"


# "multiprocessing first" is the order that made the script's globals outlive MindSpore (it
# registers the script again as __mp_main__ when imported): checked on purpose, whatever TinyMS
# happens to import first.
@pytest.mark.parametrize("first_line", ["", "import multiprocessing\n"], ids=["as_written", "multiprocessing_first"])
def test_a_script_keeping_networks_in_its_globals_exits_quietly(tmp_path, first_line):
    script = tmp_path / "script.py"
    script.write_text(first_line + textwrap.dedent(NETWORKS_AT_MODULE_LEVEL))
    result = _run([sys.executable, str(script)], tmp_path)
    _assert_quiet(result)
    assert result.stdout.split() == ["ResNet", "LeNet5", "LeNet5"]


def test_the_cli_exits_quietly_after_building_a_network(tmp_path):
    image = tmp_path / "digit.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(image)
    result = _run([sys.executable, "-m", "tinyms", "predict", str(image), "--model", "lenet5_mnist", "--top", "1"],
                  tmp_path)
    _assert_quiet(result)
    assert "lenet5.mnist" in result.stdout and "1." in result.stdout


def test_building_a_yolo_prints_nothing_but_what_the_script_prints(tmp_path):
    # mindyolo 0.5.0 imports pkg_resources, whose deprecation warning TinyMS keeps from the user
    script = tmp_path / "yolo.py"
    script.write_text("from tinyms.model import create_model\n"
                      "net = create_model('yolov8n', class_num=2, image_size=320)\n"
                      "print(type(net).__name__)\n")
    result = _run([sys.executable, str(script)], tmp_path)
    _assert_quiet(result)
    assert result.stdout.split() == ["YOLOv8"] and result.stderr == "", result.stderr[-3000:]
