"""Data-parallel training under msrun with an unchanged user script: tinyms._distributed outside and
inside msrun, and a 2-process run on 127.0.0.1 that matches a 1-process run of the same global batch."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from tinyms import _distributed
from tinyms import _train_cli

ENV = {**os.environ, "GLOG_v": "3"}

# A plain single-process training script: nothing in it mentions processes or ranks, except the
# lines that report what this test checks.
SCRIPT = '''
import json, os, sys
import numpy as np
from mindspore.train import Callback
from tinyms import context
from tinyms.data import MnistDataset, sample_dataset
from tinyms.model import Model, lenet5
from tinyms.vision import mnist_transform

out, batch, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


class StepLosses(Callback):
    def __init__(self):
        self.losses = []

    def on_train_step_end(self, run_context):
        self.losses.append(float(np.mean(run_context.original_args().net_outputs.asnumpy())))


context.set_seed(1)
data = MnistDataset(sample_dataset("mnist"), usage="train", shuffle=False)
train = mnist_transform.apply_ds(data, batch_size=batch, shuffle=False).take(steps)
model = Model(lenet5(class_num=10))
model.compile(loss_fn="cross_entropy", optimizer="momentum", learning_rate=0.05)
record = StepLosses()
history = model.train(2, train, callbacks=[record], verbose=0)

# a network of the user's own with BatchNorm: every step in training mode, statistics moving,
# evaluation leaving them as they are
from tinyms import layers
from tinyms.data import NumpySlicesDataset


class DenseBN(layers.Layer):
    def __init__(self):
        super().__init__()
        self.fc = layers.Dense(4, 3)
        self.bn = layers.BatchNorm1d(3)

    def construct(self, x):
        return self.bn(self.fc(x))


class Modes(Callback):
    def __init__(self, net):
        self.net, self.training, self.means = net, [], []

    def on_train_step_end(self, run_context):
        self.training.append(bool(self.net.training))
        self.means.append(self.net.bn.moving_mean.asnumpy().tolist())


rng = np.random.default_rng(0)
table = NumpySlicesDataset({"x": (rng.normal(size=(64, 4)) + 2).astype(np.float32),
                            "y": rng.integers(0, 3, 64).astype(np.int32)}, shuffle=False).batch(16)
bn_net = DenseBN()
bn_model = Model(bn_net).compile("cross_entropy", "momentum", ["accuracy"])
modes = Modes(bn_net)
bn_model.train(1, table, callbacks=[modes], verbose=0)
after_train = bn_net.bn.moving_mean.asnumpy().tolist()
bn_model.eval(table)
bn = {"training": modes.training, "means": modes.means, "after_eval": bn_net.bn.moving_mean.asnumpy().tolist(),
      "after_train": after_train}

from tinyms.model import _distributed  # what the test checks
rank = _distributed.rank()
np.savez(os.path.join(out, f"weights_{rank}.npz"), **{p.name: p.asnumpy() for p in model.network.trainable_params()})
with open(os.path.join(out, f"run_{rank}.json"), "w") as f:
    json.dump({"size": _distributed.group_size(), "main": _distributed.is_main(), "steps": record.losses,
               "history": history.history["loss"], "rows": data.get_dataset_size(),
               "mean": _distributed.all_mean(float(rank + 1)), "bn": bn}, f)
'''


def test_outside_msrun_everything_is_one_process(monkeypatch):
    for name in _distributed.LAUNCH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert not _distributed.launched() and not _distributed.setup()
    assert (_distributed.rank(), _distributed.group_size(), _distributed.is_main()) == (0, 1, True)
    assert _distributed.all_mean(2.5) == 2.5
    assert _distributed.default_shards(None, None) == (None, None)


def test_a_loader_keeps_the_shards_its_caller_chose(monkeypatch):
    # under msrun's variables, explicit arguments (or a sampler) are used as given, without init()
    for name, value in zip(_distributed.LAUNCH_VARIABLES, ("MS_WORKER", "2", "8118")):
        monkeypatch.setenv(name, value)
    assert _distributed.launched()
    assert _distributed.default_shards(4, 1) == (4, 1)
    assert _distributed.default_shards(None, None, sampler=object()) == (None, None)


def test_the_msrun_command_for_two_machines():
    cfg = _train_cli.resolve_config({"model": "lenet5", "data": "mnist", "nproc": 2, "nnodes": 2, "node_rank": 1,
                                     "master_addr": "10.0.0.1", "master_port": 9000, "out": "/tmp/run"})
    argv, env = _train_cli.launch_command(cfg, "/tmp/run/config.yaml")
    assert argv[0] == sys.executable
    for arg in ("--worker_num=4", "--local_worker_num=2", "--master_addr=10.0.0.1", "--master_port=9000",
                "--node_rank=1", "--log_dir=/tmp/run/msrun_log", "--join=True", "--cluster_time_out=600"):
        assert arg in argv
    assert argv[-4:] == ["train", "/tmp/run/config.yaml", "--out", "/tmp/run"]
    assert argv[-5].endswith(os.path.join("tinyms", "_msrun_entry.py"))
    # msrun starts `python` from PATH: this interpreter's folder comes first
    assert env["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_match_one_process_of_the_same_global_batch(tmp_path):
    script = tmp_path / "train_script.py"
    script.write_text(SCRIPT)
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    single = subprocess.run([sys.executable, str(script), str(one), "32", "6"], env=ENV, capture_output=True,
                            text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]
    env = {**ENV, "PATH": os.path.dirname(sys.executable) + os.pathsep + ENV.get("PATH", "")}
    launched = subprocess.run([sys.executable, "-c", _train_cli._MSRUN_BOOT, "--worker_num=2", "--local_worker_num=2",
                               "--master_addr=127.0.0.1", f"--master_port={_free_port()}",
                               f"--log_dir={tmp_path / 'logs'}", "--join=True", "--cluster_time_out=120",
                               str(script), str(two), "16", "6"],
                              env=env, capture_output=True, text=True, timeout=400)
    logs = "".join(p.read_text() for p in (tmp_path / "logs").glob("worker_*.log"))
    assert launched.returncode == 0, logs[-4000:]

    ref = json.loads((one / "run_0.json").read_text())
    ranks = [json.loads((two / f"run_{r}.json").read_text()) for r in (0, 1)]
    assert ref["size"] == 1 and [r["size"] for r in ranks] == [2, 2]
    assert [r["main"] for r in ranks] == [True, False]
    assert [r["rows"] for r in ranks] == [3000, 3000] and ref["rows"] == 6000   # one shard of the 6,000 each
    assert [r["mean"] for r in ranks] == [1.5, 1.5]
    # shards interleave rows (rank 0: 0, 2, 4...; rank 1: 1, 3, 5...), so the two batches of 16 are
    # the single run's batch of 32; with averaged gradients the weights follow the same path
    w1, w0, w_single = (np.load(two / "weights_1.npz"), np.load(two / "weights_0.npz"), np.load(one / "weights_0.npz"))
    for name in w_single.files:
        np.testing.assert_array_equal(w0[name], w1[name])
        np.testing.assert_allclose(w0[name], w_single[name], rtol=0, atol=1e-5)
    # the loss of the global batch is the mean of the two ranks' losses (tolerance 1e-4)
    steps = np.mean([r["steps"] for r in ranks], axis=0)
    assert len(steps) == 12
    np.testing.assert_allclose(steps, ref["steps"], rtol=0, atol=1e-4)
    # History's epoch loss is already the mean over the workers, on every rank: the history a
    # user's script gets under msrun is the single-process one
    for r in ranks:
        np.testing.assert_allclose(r["history"], ref["history"], rtol=0, atol=1e-4)
    # and training moved: the last steps' loss is below the first
    assert steps[-1] < steps[0]
    # a BatchNorm network trains in training mode on every rank: its statistics move at every
    # step (from exactly 0), and evaluating afterwards leaves them where training put them
    for r in [ref] + ranks:
        bn = r["bn"]
        assert bn["training"] == [True] * 4
        means = np.array(bn["means"])
        assert np.all(means != 0.0) and np.all(np.any(np.diff(means, axis=0) != 0.0, axis=1))
        assert bn["after_eval"] == bn["after_train"] == bn["means"][-1]
