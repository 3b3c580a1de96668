"""Resuming: a run interrupted and resumed ends exactly like an uninterrupted one.

Real training of LeNet5 on 600 shuffled images of the bundled MNIST sample (18 batches of 32
per epoch, remainder dropped), 3 epochs.
"""

import os

import numpy as np
import pytest

import tinyms
from tinyms.callbacks import CheckpointConfig, LoopCallback, ModelCheckpoint
from tinyms.data import MnistDataset, sample_dataset
from tinyms.errors import CheckpointError
from tinyms.model import Model, lenet5, load
from tinyms.model._checkpoint import read_checkpoint
from tinyms.optimizers import Adam, Momentum, warmup_cosine_lr
from tinyms.vision import mnist_transform

SEED = 11
STEPS = 18  # per epoch
EPOCHS = 3


def _data():
    path = os.path.join(sample_dataset("mnist"), "train")
    return mnist_transform.apply_ds(MnistDataset(path, shuffle=True, num_samples=600), batch_size=32)


def _model(optimizer):
    """A fresh model, built as the first run built it (same seed)."""
    tinyms.set_seed(SEED)
    net = lenet5()
    if optimizer == "momentum":  # a per-step schedule: resuming must continue it, not restart it
        opt = Momentum(net.trainable_params(), warmup_cosine_lr(0.02, EPOCHS * STEPS, warmup_steps=10), 0.9)
    else:
        opt = Adam(net.trainable_params(), learning_rate=0.002)
    return Model(net).compile(loss_fn="cross_entropy", optimizer=opt)


class _Batches(LoopCallback):
    """The labels of every batch the loop trains on."""

    def __init__(self):
        self.labels = []

    def on_step_begin(self, step, logs=None):
        self.labels.append(logs["data"][1].asnumpy().copy())


def _weights(model):
    return {p.name: p.asnumpy().copy() for p in model.network.get_parameters()}


def _assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-6, atol=1e-7, err_msg=name)


@pytest.fixture(scope="module", params=["momentum", "adam"])
def uninterrupted(request, tmp_path_factory):
    """3 epochs in one go, with a ModelCheckpoint every 12 steps (mid-epoch and epoch ends)."""
    folder = tmp_path_factory.mktemp(f"resume-{request.param}")
    model = _model(request.param)
    batches = _Batches()
    ckpt = ModelCheckpoint(prefix="run", directory=str(folder),
                           config=CheckpointConfig(save_checkpoint_steps=12, keep_checkpoint_max=10))
    history = model.train(EPOCHS, _data(), callbacks=[batches, ckpt], verbose=0)
    return {"optimizer": request.param, "weights": _weights(model), "labels": batches.labels,
            "history": history, "folder": folder}


def _resume(run, path):
    model = _model(run["optimizer"])
    batches = _Batches()
    history = model.train(EPOCHS, _data(), callbacks=[batches], verbose=0, resume_from=path)
    return model, history, batches.labels


def test_resume_from_save_checkpoint_after_epoch_1_matches_the_uninterrupted_run(uninterrupted, tmp_path):
    first = _model(uninterrupted["optimizer"])
    first.train(1, _data(), verbose=0)  # the run "crashes" after epoch 1
    path = first.save_checkpoint(tmp_path / "after1.ckpt")
    model, history, labels = _resume(uninterrupted, path)
    assert history.epoch == [2, 3]
    # the same batches, in the same order, as epochs 2 and 3 of the uninterrupted run
    assert len(labels) == 2 * STEPS
    for got, expected in zip(labels, uninterrupted["labels"][STEPS:]):
        np.testing.assert_array_equal(got, expected)
    assert history.history["loss"] == pytest.approx(uninterrupted["history"].history["loss"][1:], rel=1e-6)
    _assert_same_weights(_weights(model), uninterrupted["weights"])
    # the optimizer continued counting: 54 steps in all, so the schedule went on, not restarted
    assert int(model.optimizer.global_step.asnumpy()[0]) == EPOCHS * STEPS


@pytest.mark.parametrize("name, done", [("run-2_6.ckpt", 24), ("run-1_12.ckpt", 12), ("run-2_18.ckpt", 36)])
def test_resume_from_model_checkpoint_files_mid_epoch_and_at_epoch_end(uninterrupted, name, done):
    path = uninterrupted["folder"] / name
    model, history, labels = _resume(uninterrupted, path)
    assert len(labels) == EPOCHS * STEPS - done
    for got, expected in zip(labels, uninterrupted["labels"][done:]):
        np.testing.assert_array_equal(got, expected)
    assert history.epoch == list(range(done // STEPS + 1, EPOCHS + 1))
    _assert_same_weights(_weights(model), uninterrupted["weights"])


def test_without_resume_the_continuation_differs(uninterrupted, tmp_path):
    """The control: loading only the weights and training on does NOT reproduce the run."""
    first = _model(uninterrupted["optimizer"])
    first.train(1, _data(), verbose=0)
    path = first.save_checkpoint(tmp_path / "after1.ckpt")
    model = _model(uninterrupted["optimizer"])
    model.load_checkpoint(path)
    model.train(EPOCHS, _data(), verbose=0, initial_epoch=1)
    diff = max(np.abs(model.network.parameters_dict()[n].asnumpy() - w).max()
               for n, w in uninterrupted["weights"].items())
    assert diff > 1e-4


def test_checkpoint_files_carry_the_train_state_and_still_load_for_inference(uninterrupted):
    path = uninterrupted["folder"] / "run-2_6.ckpt"
    from tinyms.model._state import state_from_entries
    state = state_from_entries(read_checkpoint(str(path)))
    assert (state.step, state.epoch, state.step_in_epoch, state.steps_per_epoch) == (24, 1, 6, STEPS)
    assert state.data_step == 24 and state.data_seed == SEED
    assert set(state.rng) >= {"python", "numpy", "mindspore"}
    # inference loads take the weights only, from either writer
    loaded = load(str(path), network=lenet5())
    x = np.zeros((2, 1, 32, 32), np.float32)
    assert loaded.predict(x).shape == (2, 10)
    Model(lenet5()).load_checkpoint(path)


def test_resume_errors_are_explained(uninterrupted, tmp_path):
    done = _model(uninterrupted["optimizer"])
    done.train(1, _data(), verbose=0)
    path = done.save_checkpoint(tmp_path / "one.ckpt")
    with pytest.raises(ValueError, match=r"already completed 1 epoch.*greater than 1"):
        _model(uninterrupted["optimizer"]).train(1, _data(), verbose=0, resume_from=path)
    with pytest.raises(ValueError, match="either resume_from= or initial_epoch="):
        _model(uninterrupted["optimizer"]).train(3, _data(), initial_epoch=1, verbose=0, resume_from=path)
    weights = done.save_checkpoint(tmp_path / "weights.ckpt", weights_only=True)
    with pytest.raises(CheckpointError, match="cannot resume"):
        _model(uninterrupted["optimizer"]).train(3, _data(), verbose=0, resume_from=weights)
    other_batch = mnist_transform.apply_ds(
        MnistDataset(os.path.join(sample_dataset("mnist"), "train"), shuffle=True, num_samples=600), batch_size=64)
    with pytest.raises(CheckpointError, match="18 steps per epoch.*gives 9"):
        _model(uninterrupted["optimizer"]).train(3, other_batch, verbose=0, resume_from=path)
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        _model(uninterrupted["optimizer"]).train(3, _data(), verbose=0, resume_from=tmp_path / "missing.ckpt")


def test_resume_from_a_mindspore_model_checkpoint_file(tmp_path):
    """A file from MindSpore's own ModelCheckpoint resumes from its optimizer's global_step."""
    from mindspore import train as ms_train
    model = _model("adam")
    ms_cb = ms_train.ModelCheckpoint(prefix="ms", directory=str(tmp_path),
                                     config=ms_train.CheckpointConfig(save_checkpoint_steps=STEPS))
    model.train(1, _data(), callbacks=[ms_cb], verbose=0)
    resumed = _model("adam")
    history = resumed.train(2, _data(), verbose=0, resume_from=ms_cb.latest_ckpt_file_name)
    assert history.epoch == [2]
    assert int(resumed.optimizer.global_step.asnumpy()[0]) == 2 * STEPS
