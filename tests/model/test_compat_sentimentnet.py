"""TinyMS 0.3's tests/st/sentimentnet/sentimentnet.py runs unchanged against this TinyMS.

The script is vendored as third-party test data in tests/model/tinyms_0_3/ (Apache-2.0, its
header kept; see the README there) and run as a program, as a user would run it, on a tiny
aclImdb folder and a 50-dimensional GloVe file written here: first ``--preprocess true`` and
one epoch of training, then ``--do_eval True`` from the checkpoint that wrote.
"""

import ast
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from _tiny_imdb import write_glove, write_imdb

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "tinyms_0_3", "sentimentnet.py")
REPO = os.path.dirname(os.path.dirname(HERE))
ORIGINAL = "/work/.mirror/tinyms-ai+tinyms/repo"   # a bare clone of github:tinyms-ai/tinyms, where present
SMALL = ["--batch_size", "4", "--embed_size", "50", "--num_hiddens", "8", "--num_layers", "1"]


def run_script(cwd, *args):
    env = dict(os.environ, GLOG_v="3", PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run([sys.executable, "sentimentnet.py", *args], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run.stdout


def test_the_sentimentnet_script_of_tinyms_03_preprocesses_trains_and_evaluates(tmp_path):
    write_imdb(str(tmp_path), per_class={"train": 12, "test": 6})
    vectors = write_glove(str(tmp_path / "glove"), 50)
    shutil.copy(SCRIPT, tmp_path / "sentimentnet.py")

    out = run_script(tmp_path, "--preprocess", "true", "--epoch_size", "1", *SMALL)
    assert "Starting Data Pre-processing" in out
    losses = [float(x) for x in re.findall(r"epoch: 1 step: \d+, loss is ([0-9.]+)", out)]
    assert len(losses) == 24 // 4 and all(np.isfinite(losses))          # LossMonitor: every step
    pre = tmp_path / "preprocess"
    assert {"aclImdb_train.mindrecord", "aclImdb_test.mindrecord", "weight.txt"} <= set(os.listdir(pre))
    weight = np.loadtxt(pre / "weight.txt")
    assert weight.shape[1] == 50 and not weight[0].any()
    assert any(np.allclose(weight[1], v) for v in vectors.values())      # a GloVe vector, not noise
    checkpoints = sorted(tmp_path.glob("SentimentNet_imdb-*.ckpt"))
    assert [p.name for p in checkpoints] == ["SentimentNet_imdb-1_6.ckpt"]

    out = run_script(tmp_path, "--do_eval", "True", "--checkpoint_path", str(checkpoints[0]), *SMALL)
    found = re.search(r"Accuracy:(\{.*\})", out)
    assert found, out
    accuracy = ast.literal_eval(found.group(1))["Accuracy"]
    assert 0.0 <= accuracy <= 1.0 and abs(accuracy * 12 - round(accuracy * 12)) < 1e-6  # 12 test reviews

    # once pre-processed, the script reuses the files
    assert "Data has been preprocessed" in run_script(tmp_path, "--preprocess", "true", "--epoch_size", "1", *SMALL)


def test_the_vendored_script_is_the_original():
    if not os.path.isdir(ORIGINAL):
        pytest.skip("no clone of the original TinyMS on this machine")
    original = subprocess.run(["git", "-C", ORIGINAL, "show", "HEAD:tests/st/sentimentnet/sentimentnet.py"],
                              capture_output=True, timeout=60)
    if original.returncode != 0:
        pytest.skip("the clone of the original TinyMS has no tests/st/sentimentnet/sentimentnet.py")
    with open(SCRIPT, "rb") as f:
        assert f.read() == original.stdout
