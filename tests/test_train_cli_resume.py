"""`tinyms train --resume`: runs extended or shortened under each schedule, and runs interrupted at
any point (Ctrl-C during validation, the process dying around the checkpoint or the servable)
continue to the same end as an uninterrupted run.

Runs happen in this process: LeNet5 on the first 64 training and 64 test images of the bundled
MNIST sample (2 steps per epoch; a small test set keeps each epoch's validation short).
A death is simulated by raising an exception that nothing in TinyMS catches, at the moment named;
the files on disk are then what a killed process leaves, since every file is written atomically.
"""

import csv
import os
import struct

import numpy as np
import pytest

from tinyms import _train_cli
from tinyms.data import sample_dataset
from tinyms.model import Model
from tinyms.model._checkpoint import read_checkpoint
from tinyms.model._state import state_from_entries
from tinyms.optimizers import step_decay_lr, warmup_cosine_lr

STEPS = 2  # per epoch: 64 images, batch 32
IMAGES = 64
BASE = {"model": "lenet5", "data": "mnist", "batch_size": 32, "lr": 0.05, "seed": 1}


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    """The first 64 images of each split of the bundled MNIST sample, as MNIST's IDX files."""
    sample, root = sample_dataset("mnist"), tmp_path_factory.mktemp("mnist64")
    for split, prefix in (("train", "train"), ("test", "t10k")):
        os.makedirs(root / split)
        for kind, header, size in (("images-idx3", 16, 28 * 28), ("labels-idx1", 8, 1)):
            name = f"{prefix}-{kind}-ubyte"
            with open(os.path.join(sample, split, name), "rb") as f:
                head, body = bytearray(f.read(header)), f.read(IMAGES * size)
            head[4:8] = struct.pack(">I", IMAGES)  # the item count
            (root / split / name).write_bytes(bytes(head) + body)
    return str(root)


def _train(data_dir, run, **keys):
    """Run `tinyms train` in this process; return (exit status, the lines it said)."""
    lines = []
    code = _train_cli.train(None, {**BASE, "data_dir": data_dir, "out": str(run), **keys}, say=lines.append)
    return code, lines


def _resume(run, **keys):
    lines = []
    code = _train_cli.train(None, {"resume": str(run), **keys}, say=lines.append)
    return code, lines


def _rows(run):
    with open(os.path.join(run, "history.csv"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _checkpoint(run):
    """(TrainState, network weights) that run/last.ckpt holds."""
    entries = read_checkpoint(os.path.join(run, "last.ckpt"))
    weights = {k: v.asnumpy() for k, v in entries.items() if k.startswith(("conv", "fc"))}
    return state_from_entries(entries), weights


def _record(run):
    return _train_cli._read_state(str(run))


def _ctrl_c_in_validation(monkeypatch, which):
    """Press Ctrl-C (as the SIGINT watcher does) while validation number ``which`` runs."""
    evaluate, calls = Model._evaluate, []

    def pressed(self, dataset):
        calls.append(1)
        if len(calls) == which:
            _train_cli._INTERRUPT.requested = True
        return evaluate(self, dataset)
    monkeypatch.setattr(Model, "_evaluate", pressed)


# ------------------------------------------------------------------------------ extended or shortened
def _expected_lr(schedule, epochs, step):
    """The learning rate of global step ``step`` (1-based) in a run of ``epochs`` epochs."""
    total = epochs * STEPS
    if schedule == "constant":
        return BASE["lr"]
    if schedule == "cosine":
        return warmup_cosine_lr(BASE["lr"], total)[step - 1]
    return step_decay_lr(BASE["lr"], total, [total // 2, total * 3 // 4])[step - 1]


@pytest.mark.parametrize("schedule", ["constant", "cosine", "step"])
def test_resume_with_fewer_then_more_epochs_recomputes_the_schedule(tmp_path, monkeypatch, mnist_dir, schedule):
    run = tmp_path / "run"
    _ctrl_c_in_validation(monkeypatch, 1)
    assert _train(mnist_dir, run, epochs=3, schedule=schedule)[0] == 130  # stopped after epoch 1 of 3
    monkeypatch.undo()
    # Ctrl-C during a validation stops at that epoch's end, and the record says what last.ckpt holds
    state, _ = _checkpoint(run)
    assert (state.epoch, state.step_in_epoch) == (1, 0)
    assert (_record(run)["epochs_done"], _record(run)["status"]) == (1, "interrupted")

    code, lines = _resume(run, epochs=2)  # shorter than planned
    assert code == 0, lines
    rows = _rows(run)
    assert [r["epoch"] for r in rows] == ["1", "2"]
    # epoch 1 ran on the 3-epoch schedule; epoch 2 on the 2-epoch one (its last step: global step 4)
    assert float(rows[0]["lr"]) == pytest.approx(_expected_lr(schedule, 3, 2), rel=1e-6)
    assert float(rows[1]["lr"]) == pytest.approx(_expected_lr(schedule, 2, 4), rel=1e-6, abs=1e-9)
    assert any(f"is that of 2 epoch(s), from step {STEPS + 1}" in line for line in lines) or schedule == "constant"
    assert _record(run)["status"] == "finished" and (run / "servable" / "servable.json").is_file()

    lr = 0.01 if schedule == "constant" else None  # a constant run continued at another rate
    code, lines = _resume(run, epochs=4, lr=lr)  # longer than planned
    assert code == 0, lines
    rows = _rows(run)
    assert [r["epoch"] for r in rows] == ["1", "2", "3", "4"]
    for epoch in (3, 4):
        expected = lr if lr else _expected_lr(schedule, 4, epoch * STEPS)
        assert float(rows[epoch - 1]["lr"]) == pytest.approx(expected, rel=1e-6), epoch
    if lr:
        assert "Learning rate 0.01 from here on (the run trained at 0.05 so far)" in lines
    state, _ = _checkpoint(run)
    assert state.step == 4 * STEPS and _record(run)["epochs_done"] == 4


# ------------------------------------------------------------------------------ interrupted anywhere
class _Died(BaseException):
    """The process dies here (nothing in TinyMS catches it)."""


def _die_before_last_ckpt_of_epoch_2(monkeypatch):
    save = Model.save_checkpoint

    def dying(self, path, **kwargs):
        if str(path).endswith("last.ckpt") and self.train_state.epoch == 2:
            raise _Died
        return save(self, path, **kwargs)
    monkeypatch.setattr(Model, "save_checkpoint", dying)


def _die_between_last_ckpt_and_run_json_of_epoch_2(monkeypatch):
    write = _train_cli._write_state

    def dying(run_dir, *args, **state):
        if state.get("epochs_done") == 2 and "best" in state:  # the epoch end's record of epoch 2
            raise _Died
        return write(run_dir, *args, **state)
    monkeypatch.setattr(_train_cli, "_write_state", dying)


def _die_writing_the_servable(monkeypatch):
    def dying(*args, **kwargs):
        raise _Died
    monkeypatch.setattr(_train_cli, "_write_servable", dying)


# (how the first run ends, its exit, the epochs last.ckpt then holds)
INTERRUPTIONS = {
    "ctrl-c-in-the-last-validation": (lambda mp: _ctrl_c_in_validation(mp, 2), 130, 2),
    # (Ctrl-C in the first validation: every run of the test above)
    "death-before-last.ckpt": (_die_before_last_ckpt_of_epoch_2, _Died, 1),
    "death-after-last.ckpt-before-run.json": (_die_between_last_ckpt_and_run_json_of_epoch_2, _Died, 2),
    "death-writing-the-servable": (_die_writing_the_servable, _Died, 2),
}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, mnist_dir):
    run = tmp_path_factory.mktemp("uninterrupted") / "run"
    code, _ = _train(mnist_dir, run, epochs=2, schedule="cosine")
    assert code == 0
    return {"rows": _rows(run), "weights": _checkpoint(run)[1]}


@pytest.mark.parametrize("how", list(INTERRUPTIONS))
def test_a_run_interrupted_anywhere_resumes_to_the_uninterrupted_end(tmp_path, monkeypatch, mnist_dir, uninterrupted,
                                                                     how):
    interrupt, ends, held = INTERRUPTIONS[how]
    run = tmp_path / "run"
    interrupt(monkeypatch)
    if ends is _Died:
        with pytest.raises(_Died):
            _train(mnist_dir, run, epochs=2, schedule="cosine")
    else:
        code, lines = _train(mnist_dir, run, epochs=2, schedule="cosine")
        assert code == ends
        # the run's record says what its checkpoint holds
        assert _record(run)["epochs_done"] == held and _record(run)["status"] == "interrupted"
        assert "Continue with" in lines[-1] or "Write the servable with" in lines[-1]
    monkeypatch.undo()
    state, _ = _checkpoint(run)
    assert state.epoch == held and state.step_in_epoch == 0

    code, lines = _resume(run)
    assert code == 0, lines
    if held == 2:  # nothing left to train: one line, and the servable the first run did not write
        assert len(lines) == 1 and "already holds 2 epoch(s): nothing to train; servable written to" in lines[0]
    # the same end as the run that was never interrupted: weights, history, record, servable
    state, weights = _checkpoint(run)
    assert state.epoch == 2
    for name, value in uninterrupted["weights"].items():
        np.testing.assert_array_equal(weights[name], value, err_msg=name)
    rows = _rows(run)
    assert [r["epoch"] for r in rows] == ["1", "2"]
    for got, expected in zip(rows, uninterrupted["rows"]):
        assert float(got["loss"]) == pytest.approx(float(expected["loss"]), rel=1e-6)
        assert float(got["val_loss"]) == pytest.approx(float(expected["val_loss"]), rel=1e-6)
    record = _record(run)
    assert (record["status"], record["epochs_done"], record["servable_epochs"]) == ("finished", 2, 2)
    assert (run / "servable" / "servable.json").is_file() and (run / "servable" / "lenet5" / "lenet5.onnx").is_file()

    # resuming the finished run again changes nothing and says so
    code, lines = _resume(run)
    assert code == 0 and len(lines) == 1 and "already holds 2 epoch(s): nothing to train; the servable is" in lines[0]
