"""`tinyms train` / `tinyms eval`: a run from flags or a YAML file, its run directory, Ctrl-C and resume,
config errors as one line, and a 2-process run through msrun on 127.0.0.1 (bundled MNIST sample)."""

import csv
import math
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from tinyms import _train_cli
from tinyms.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples", "train")
ENV = {**os.environ, "GLOG_v": "3"}


def _tinyms(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "tinyms", *args], capture_output=True, text=True,
                          timeout=timeout, env=ENV, cwd=ROOT)


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------ the file format
@pytest.mark.parametrize("name, model, data", [("mnist", "lenet5", "mnist"),
                                               ("fashion_mnist", "lenet5", "fashion_mnist"),
                                               ("cifar10", "densenet100", "cifar10"),
                                               ("cifar100", "resnet18", "cifar100"),
                                               ("imagefolder", "mobilenetv2", os.path.join(ROOT, "photos"))])
def test_each_example_file_parses_and_resolves(name, model, data):
    cfg = _train_cli.resolve_config(_train_cli.load_config_file(os.path.join(EXAMPLES, f"{name}.yaml")))
    assert (cfg["model"], cfg["data"]) == (model, data)
    assert list(cfg) == list(_train_cli.KEYS)            # every key filled in, in the documented order
    with open(os.path.join(EXAMPLES, f"{name}.yaml"), encoding="utf-8") as f:
        written = yaml.safe_load(f)
    kept = ("epochs", "batch_size", "optimizer", "lr", "schedule", "seed")
    assert {k: cfg[k] for k in kept} == {k: written[k] for k in kept}   # the file's values, unchanged
    side = written.get("image_size")
    assert len(cfg["image_size"]) == 2 and (side is None or cfg["image_size"] == [side, side])
    assert os.path.isabs(cfg["out"])


def test_a_flag_beats_the_file_and_defaults_fill_the_rest(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("model: lenet5\ndata: mnist\nepochs: 5\nbatch-size: 16\n")
    cfg = _train_cli.config_from_args(str(path), {"epochs": 2, "lr": None})
    assert cfg["epochs"] == 2 and cfg["batch_size"] == 16        # flag wins; file kept where no flag
    assert cfg["lr"] == 0.01 and cfg["optimizer"] == "momentum"  # momentum's usual rate
    assert cfg["image_size"] == [32, 32] and cfg["monitor"] == "val_accuracy"


@pytest.mark.parametrize("text, words", [
    ("model: lenet5\ndata: mnist\nepoch: 3\n", ["unknown key 'epoch'", "valid keys are: model, data"]),
    ("model: lenet6\ndata: mnist\n", ["lenet6"]),
    ("model: lenet5\ndata: mnsit\n", ["'mnsit' is neither a dataset name", "mnist"]),
    ("model: lenet5\ndata: voc2007\n", ["lenet5 is a classification model and voc2007 is detection data"]),
    ("model: lenet5\ndata: mnist\nepochs: 0\n", ["epochs must be at least 1"]),
    ("model: lenet5\ndata: mnist\nlr: fast\n", ["lr must be a number"]),
    ("model: lenet5\ndata: mnist\nschedule: linear\n", ["unknown schedule 'linear'", "cosine"]),
    ("model: [lenet5\n", ["not valid YAML"]),
    ("- model\n- data\n", ["key: value"]),
])
def test_a_bad_config_is_one_line_naming_the_problem(tmp_path, capsys, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main(["train", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    for word in words:
        assert word in err


def test_missing_model_is_reported(capsys):
    assert main(["train", "--data", "mnist"]) == 1
    assert "no model given" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ a whole run
def test_train_writes_the_run_directory_and_eval_prints_its_accuracy(tmp_path):
    config = tmp_path / "mnist.yaml"
    config.write_text("model: lenet5\ndata: mnist\ndata_dir: sample\nepochs: 3\nlr: 0.05\nnum_samples: 2560\n")
    run = tmp_path / "run"
    done = _tinyms("train", str(config), "--epochs", "1", "--out", str(run))
    assert done.returncode == 0, done.stderr + done.stdout
    for name in ("config.yaml", "history.csv", "curves.png", "best.ckpt", "last.ckpt", "run.json",
                 "servable/servable.json", "servable/lenet5/lenet5.onnx"):
        assert (run / name).is_file(), name
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    assert resolved["epochs"] == 1 and resolved["lr"] == 0.05 and resolved["batch_size"] == 32
    assert set(resolved) == set(_train_cli.KEYS)
    rows = _rows(run / "history.csv")
    assert [r["epoch"] for r in rows] == ["1"]
    accuracy = float(rows[0]["val_accuracy"])
    assert accuracy > 0.3                                   # chance is 0.1: 80 steps learned something
    png = (run / "curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000

    shown = _tinyms("eval", str(run))
    assert shown.returncode == 0, shown.stderr
    assert f"accuracy: {accuracy:.4f}" in shown.stdout and "1,000 images" in shown.stdout

    from tinyms.serving._config import read_entries
    entry = read_entries(str(run / "servable"))[0]
    assert entry["name"] == "lenet5" and entry["model"]["files"]["onnx"] == "lenet5.onnx"

    again = _tinyms("eval", str(run / "last.ckpt"))
    assert again.returncode == 0 and "last.ckpt" in again.stdout


def _epochs_saved(run):
    """Epochs the run's last.ckpt holds, as its run.json records them (0 before the first epoch end)."""
    try:
        with open(run / "run.json", encoding="utf-8") as f:
            return int(yaml.safe_load(f).get("epochs_done") or 0)
    except (OSError, ValueError, yaml.YAMLError):  # not written yet
        return 0


def test_ctrl_c_stops_at_a_step_end_leaving_a_checkpoint_that_resume_continues(tmp_path):
    # a per-step schedule (warm-up then cosine over 40 epochs of 10 steps), stopped by a real SIGINT
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "tinyms", "train", "--model", "lenet5", "--data", "mnist",
                             "--data-dir", "sample", "--epochs", "40", "--num-samples", "320", "--lr", "0.05",
                             "--schedule", "cosine", "--warmup-epochs", "1", "--out", str(run)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV, cwd=ROOT)
    try:  # wait for the event the test needs, a first epoch end saved; then press Ctrl-C
        deadline = time.monotonic() + 900
        while _epochs_saved(run) < 1:
            if proc.poll() is not None:
                pytest.fail(f"tinyms train ended before its first epoch end:\n{proc.stdout.read()}")
            if time.monotonic() > deadline:
                pytest.fail("no epoch end within 900 s")
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, out
    assert "Ctrl-C: stopping at the end of this step" in out and "Traceback" not in out
    assert (run / "curves.png").is_file()
    # the run's record says what its checkpoint holds, wherever the signal landed (a step or a validation)
    from tinyms.model._checkpoint import read_checkpoint
    from tinyms.model._state import state_from_entries
    state = state_from_entries(read_checkpoint(str(run / "last.ckpt")))
    record = yaml.safe_load((run / "run.json").read_text())
    assert record["status"] == "interrupted" and 1 <= state.epoch < 40
    assert (record["epochs_done"], record["step_in_epoch"]) == (state.epoch, state.step_in_epoch or None)
    assert f"last.ckpt in {run} holds {state.epoch} epoch(s)" in out

    # continued for fewer epochs than planned: the cosine schedule becomes that of the new total
    epochs = state.epoch + 1
    resumed = _tinyms("train", "--resume", str(run), "--epochs", str(epochs))
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert "Resuming from" in resumed.stdout and "Traceback" not in resumed.stdout + resumed.stderr
    rows = _rows(run / "history.csv")
    assert [int(r["epoch"]) for r in rows] == list(range(1, epochs + 1))
    from tinyms.optimizers import warmup_cosine_lr
    last_rate = warmup_cosine_lr(0.05, epochs * 10, warmup_steps=10)[-1]
    assert float(rows[-1]["lr"]) == pytest.approx(last_rate, rel=1e-6)
    assert yaml.safe_load((run / "run.json").read_text())["status"] == "finished"
    assert (run / "servable" / "servable.json").is_file()


# ------------------------------------------------------------------------------------ msrun
def test_two_processes_through_msrun_train_and_only_rank_0_writes(tmp_path):
    run = tmp_path / "run"
    done = _tinyms("train", "--model", "lenet5", "--data", "mnist", "--data-dir", "sample", "--epochs", "1",
                   "--batch-size", "16", "--num-samples", "160", "--lr", "0.05", "--out", str(run),
                   "--nproc", "2", "--master-port", str(_free_port()), "--cluster-timeout", "120", timeout=400)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    logs = run / "msrun_log"
    rank0, rank1 = (logs / "worker_0.log").read_text(), (logs / "worker_1.log").read_text()
    assert "batch 16 x 2 workers" in rank0 and "Epoch 1/1" in rank0 and "Done:" in rank0
    assert "Training" not in rank1 and "Epoch" not in rank1 and "Done:" not in rank1
    assert "Traceback" not in rank0 + rank1
    rows = _rows(run / "history.csv")
    # 10 steps leave LeNet5 near its untrained loss, ln 10 = 2.303 (measured 2.302): the epoch loss is a
    # mean over the steps of both workers (a sum over the 2 workers would read 4.6)
    assert len(rows) == 1 and float(rows[0]["loss"]) == pytest.approx(math.log(10), abs=0.1)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["nproc"] == 2 and cfg["out"] == str(run)
    for name in ("best.ckpt", "last.ckpt", "curves.png", "servable/servable.json"):
        assert (run / name).is_file(), name
    # 160 images per process, 16 per step: 10 steps each (each worker read its own shard)
    assert "1 epoch(s) of 10 step(s)" in rank0


# ------------------------------------------------------------------------------------ every example trains
def _cifar_root(tmp_path, name):
    sys.path.insert(0, os.path.join(ROOT, "tests", "data"))
    import formats  # noqa: PLC0415 - the test suite's writer of real-format dataset files

    files = formats.cifar10_files() if name == "cifar10" else formats.cifar100_files()
    root = tmp_path / name
    for member, data in files.items():
        path = root / member
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _photo_root(tmp_path):
    from PIL import Image  # noqa: PLC0415

    rng = np.random.default_rng(0)
    root = tmp_path / "photos"
    for split, count in (("train", 12), ("val", 4)):
        for k, name in enumerate(("cat", "dog")):
            (root / split / name).mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 80, (40 + 8 * i % 3, 48, 3)) + 150 * k
                Image.fromarray(pixels.astype(np.uint8)).save(root / split / name / f"{i}.jpg")
    return root


def _validation_by_hand(run, folder=None):
    """``(images, loss, accuracy)`` of the run's last.ckpt on its validation images, without Model.eval.

    Each distinct image goes once through the run's transform and Model.predict, weighted by how
    often it occurs: the CIFAR test files of these tests repeat 10 (or 100) images 1,000 (or 100)
    times. ``folder`` is an image folder's validation folder (its files are read by path).
    """
    cfg = _train_cli.resolve_config(_train_cli.load_config_file(str(run / "config.yaml")))
    data = _train_cli.build_data(cfg, say=lambda *args: None, train=False)
    model = _train_cli.build_model(cfg, data)
    model.load_checkpoint(str(run / "last.ckpt"))
    counts, inputs, labels = {}, {}, {}
    if folder is not None:
        samples = [(str(path), data.labels.index(path.parent.name)) for path in sorted(folder.glob("*/*"))]
    else:
        from tinyms import data as tdata  # noqa: PLC0415

        loader = getattr(tdata, {"cifar10": "Cifar10Dataset", "cifar100": "Cifar100Dataset"}[cfg["data"]])
        column = "fine_label" if cfg["data"] == "cifar100" else "label"
        raw = loader(cfg["data_dir"], usage="test", shuffle=False).project(["image", column]).batch(1000)
        samples = [(image, int(label)) for images, labels in raw.create_tuple_iterator(output_numpy=True)
                   for image, label in zip(images, labels)]
    for image, label in samples:
        key = (image if isinstance(image, str) else image.tobytes(), label)
        counts[key] = counts.get(key, 0) + 1
        if key not in inputs:
            inputs[key], labels[key] = data.transform(image), label
    keys = list(counts)
    logits = model.predict(np.stack([inputs[k] for k in keys])).asnumpy().astype(np.float64)
    weights = np.array([counts[k] for k in keys], np.float64)
    target = np.array([labels[k] for k in keys])
    shifted = logits - logits.max(axis=1, keepdims=True)
    losses = np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(len(keys)), target]
    correct = (logits.argmax(axis=1) == target).astype(np.float64)
    total = weights.sum()
    return int(total), float((losses * weights).sum() / total), float((correct * weights).sum() / total)


# cifar10.yaml's DenseNet-BC-100 evaluates the 10,000 test images at ~40 images/s here (4 minutes),
# so its run swaps in ResNet-18 at 32x32; DenseNet-100 itself is trained in tests/model/test_zoo.py
@pytest.mark.parametrize("name, swap", [("cifar10", ["--model", "resnet18", "--image-size", "32"]),
                                        ("cifar100", []), ("imagefolder", [])])
def test_each_example_file_trains_a_real_epoch_on_local_data(tmp_path, name, swap):
    # the example's schedule and optimizer (and model, but for cifar10); the data location and budget change
    data = ["--data", str(_photo_root(tmp_path))] if name == "imagefolder" else \
        ["--data-dir", str(_cifar_root(tmp_path, name))]
    run = tmp_path / "run"
    done = _tinyms("train", os.path.join(EXAMPLES, f"{name}.yaml"), *data, "--epochs", "1", "--num-samples", "32",
                   "--batch-size", "8", "--warmup-epochs", "0.5", "--out", str(run), *swap, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-2000:]
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    example = yaml.safe_load(open(os.path.join(EXAMPLES, f"{name}.yaml")).read())
    assert resolved["model"] == (swap[1] if swap else example["model"])
    assert resolved["schedule"] == example["schedule"] and resolved["optimizer"] == example["optimizer"]
    rows = _rows(run / "history.csv")
    assert [r["epoch"] for r in rows] == ["1"] and np.isfinite(float(rows[0]["loss"]))
    count, loss, accuracy = _validation_by_hand(run, tmp_path / "photos" / "val" if name == "imagefolder" else None)
    assert count == (8 if name == "imagefolder" else 10000)
    assert float(rows[0]["val_accuracy"]) == pytest.approx(accuracy, abs=1e-9)
    assert float(rows[0]["val_loss"]) == pytest.approx(loss, rel=1e-4)
    for file in ("best.ckpt", "last.ckpt", "curves.png", "servable/servable.json"):
        assert (run / file).is_file(), file
