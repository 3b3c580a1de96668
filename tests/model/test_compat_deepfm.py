"""TinyMS 0.3's tests/st/deepfm.py runs unchanged against this TinyMS.

The script is vendored as third-party test data in tests/model/tinyms_0_3/ (Apache-2.0, its header
kept; see the README there) and run as a program, as a user would run it, on a small folder in
Criteo's train.txt format (tinyms.data.write_synthetic_criteo): it joins ``kaggle_display_advertising``
to ``--dataset_path``, computes the statistics, converts to MindRecord (``load_mindreocrd_dataset``,
sic), trains 0.3's DeepFM (39 fields, vocabulary 184,965, embedding 80) through DeepFMTrainModel /
DeepFMWithLoss with LossTimeMonitorV2 and ModelCheckpoint, and evaluates DeepFMEvalModel with
AUCMetric (``compile(eval_network=..., amp_level='O0')``).
"""

import ast
import os
import re
import shutil
import subprocess
import sys

import pytest

from tinyms.data import write_synthetic_criteo

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "tinyms_0_3", "deepfm.py")
REPO = os.path.dirname(os.path.dirname(HERE))
ORIGINAL = "/work/.mirror/tinyms-ai+tinyms/repo"   # a bare clone of github:tinyms-ai/tinyms, where present
LINES = 3000


def test_the_deepfm_script_of_tinyms_03_converts_trains_and_prints_an_auc(tmp_path):
    write_synthetic_criteo(str(tmp_path / "kaggle_display_advertising" / "train.txt"), LINES, seed=1)
    shutil.copy(SCRIPT, tmp_path / "deepfm.py")
    env = dict(os.environ, GLOG_v="3", PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run([sys.executable, "deepfm.py", "--dataset_path", str(tmp_path), "--epoch_size", "1",
                          "--batch_size", "500", "--checkpoint_dir", str(tmp_path / "ckpt")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = run.stdout
    assert run.returncode == 0, f"exit {run.returncode}\n{out[-3000:]}\n{run.stderr[-3000:]}"
    assert "====== start train model ======" in out and "====== start eval model ======" in out
    train_rows = int(re.search(r"([\d,]+) train and ([\d,]+) test rows", out).group(1).replace(",", ""))
    steps = re.findall(r"step (\d+)/(\d+): loss", out)              # LossTimeMonitorV2, every step
    assert [int(s) for s, _ in steps] == list(range(1, len(steps) + 1))
    assert int(steps[-1][1]) == len(steps) in (train_rows // 500, -(-train_rows // 500))
    found = re.search(r"====== eval acc: (\{.*\}) ======", out)
    assert found, out[-2000:]
    auc = ast.literal_eval(found.group(1))["auc_metric"]
    assert 0.0 <= auc <= 1.0
    data = tmp_path / "kaggle_display_advertising"
    assert {"feature_spec.json", "mindrecord"} <= set(os.listdir(data))


def test_the_vendored_script_is_the_original():
    if not os.path.isdir(ORIGINAL):
        pytest.skip("no clone of the original TinyMS on this machine")
    original = subprocess.run(["git", "-C", ORIGINAL, "show", "HEAD:tests/st/deepfm.py"], capture_output=True,
                              timeout=60)
    if original.returncode != 0:
        pytest.skip("the clone of the original TinyMS has no tests/st/deepfm.py")
    with open(SCRIPT, "rb") as f:
        assert f.read() == original.stdout
