"""TinyMS's training loop: its callback protocol, the MindSpore adapter, train_step, NaN errors, ranks."""

import mindspore as ms
import mindspore.dataset as ds
import numpy as np
import pytest

import tinyms
from tinyms.callbacks import (Callback, CheckpointConfig, LoopCallback, LossMonitor, ModelCheckpoint)
from tinyms.errors import TrainingDivergedError
from tinyms.model import Model, lenet5
from tinyms.model import _loop

from _stripes import stripe_digits as _arrays



def _dataset(n=64, batch=16, seed=0):
    images, labels = _arrays(n, seed)
    return ds.NumpySlicesDataset({"image": images, "label": labels}, shuffle=False).batch(batch)


def _regression(n, batch, nan_batch):
    """Targets for an MSE loss; batch ``nan_batch`` (1-based) holds one NaN target, which makes
    that step's loss NaN (and every later one, through the weights)."""
    images, labels = _arrays(n)
    targets = np.eye(10, dtype=np.float32)[labels]
    targets[(nan_batch - 1) * batch, 0] = np.nan
    return ds.NumpySlicesDataset({"image": images, "target": targets}, shuffle=False).batch(batch)


def _mse_model():
    tinyms.set_seed(0)
    return Model(lenet5()).compile(loss_fn="mse", optimizer="adam", learning_rate=0.003)


def _model(cls=Model, lr=0.003):
    tinyms.set_seed(0)
    return cls(lenet5()).compile(loss_fn="cross_entropy", optimizer="adam", metrics=["accuracy"],
                                 learning_rate=lr)


class _Calls(LoopCallback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin", self.model is not None))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_step_begin(self, step, logs=None):
        self.calls.append(("step_begin", step, tuple(logs["data"][0].shape)))

    def on_step_end(self, step, logs=None):
        self.calls.append(("step_end", step, logs["batch"], float(logs["loss"].asnumpy())))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, dict(logs)))

    def on_train_end(self, logs=None):
        self.calls.append(("train_end",))


def test_protocol_hooks_run_in_order_with_steps_and_epoch_logs():
    model = _model()
    cb = _Calls()
    history = model.train(2, _dataset(), callbacks=[cb], verbose=0, valid_dataset=_dataset(seed=1))
    kinds = [c[0] for c in cb.calls]
    assert kinds == (["train_begin", "epoch_begin"] + ["step_begin", "step_end"] * 4 + ["epoch_end"]
                     + ["epoch_begin"] + ["step_begin", "step_end"] * 4 + ["epoch_end", "train_end"])
    assert cb.calls[0] == ("train_begin", True)
    steps = [c for c in cb.calls if c[0] == "step_end"]
    assert [(s[1], s[2]) for s in steps] == [(1, 1), (2, 2), (3, 3), (4, 4), (5, 1), (6, 2), (7, 3), (8, 4)]
    assert cb.calls[2] == ("step_begin", 1, (16, 1, 32, 32))
    ends = [c for c in cb.calls if c[0] == "epoch_end"]
    for (_, epoch, logs), i in zip(ends, range(2)):
        assert epoch == i + 1
        assert {"loss", "val_loss", "val_accuracy"} <= set(logs)
        assert logs["loss"] == pytest.approx(np.mean([s[3] for s in steps[4 * i: 4 * i + 4]]), rel=1e-6)
        assert logs["loss"] == history.history["loss"][i]


def test_stop_training_flag_ends_after_the_current_step():
    class StopAt(LoopCallback):
        def on_step_end(self, step, logs=None):
            if step == 3:
                self.model.stop_training = True

    model = _model()
    cb = _Calls()
    history = model.train(5, _dataset(), callbacks=[StopAt(), cb], verbose=0)
    assert [c[1] for c in cb.calls if c[0] == "step_end"] == [1, 2, 3]
    assert history.epoch == [1] and history.stopped_early
    assert cb.calls[-1] == ("train_end",)


class _MsRecorder(Callback):
    def __init__(self):
        self.steps, self.fields = [], {}

    def on_train_step_begin(self, run_context):
        p = run_context.original_args()
        self.fields["element"] = tuple(p.train_dataset_element[0].shape)

    def on_train_step_end(self, run_context):
        p = run_context.original_args()
        self.steps.append((p.cur_epoch_num, p.cur_step_num, float(p.net_outputs.asnumpy())))
        if p.cur_step_num == 6:
            run_context.request_stop()

    def on_train_epoch_end(self, run_context):
        p = run_context.original_args()
        self.fields.update(batch_num=p.batch_num, epoch_num=p.epoch_num, logs=dict(p.logs),
                           state_step=p.train_state.step, optimizer=p.optimizer, network=p.network)


def test_mindspore_callbacks_and_tinyms_callbacks_share_one_run():
    model = _model()
    ms_cb, native = _MsRecorder(), _Calls()
    history = model.train(3, _dataset(), callbacks=[ms_cb, native], verbose=0)
    native_steps = [(c[1], c[3]) for c in native.calls if c[0] == "step_end"]
    assert [(s[1], s[2]) for s in ms_cb.steps] == native_steps  # same steps, same losses
    assert [s[0] for s in ms_cb.steps] == [1, 1, 1, 1, 2, 2]
    # request_stop() from a MindSpore callback stops the loop after step 6, in epoch 2
    assert history.epoch == [1, 2] and history.stopped_early
    f = ms_cb.fields
    assert f["element"] == (16, 1, 32, 32)
    assert (f["batch_num"], f["epoch_num"], f["state_step"]) == (4, 3, 6)
    assert f["logs"]["loss"] == history.history["loss"][-1]
    assert f["optimizer"] is model.optimizer and f["network"] is model.network


def test_not_a_callback_is_a_type_error():
    with pytest.raises(TypeError, match="callbacks must be"):
        _model().train(1, _dataset(), callbacks=[lambda: None], verbose=0)


class _Counting(Model):
    calls = 0

    def train_step(self, data, label):
        type(self).calls += 1
        return super().train_step(data, label)


class _Frozen(Model):
    def train_step(self, data, label):
        return ms.Tensor(0.5, ms.float32)  # trains nothing


def test_a_train_step_override_is_used():
    plain = _model()
    plain.train(2, _dataset(), verbose=0)
    counting = _model(_Counting)
    history = counting.train(2, _dataset(), verbose=0)
    assert _Counting.calls == 8
    for name, p in plain.network.parameters_dict().items():  # super() is the usual step
        np.testing.assert_array_equal(p.asnumpy(), counting.network.parameters_dict()[name].asnumpy())
    frozen = _model(_Frozen)
    before = {n: p.asnumpy().copy() for n, p in frozen.network.parameters_dict().items()}
    history = frozen.train(1, _dataset(), verbose=0)
    assert history.history["loss"] == [0.5]
    for name, p in frozen.network.parameters_dict().items():
        np.testing.assert_array_equal(p.asnumpy(), before[name])


def test_nan_loss_names_the_epoch_and_step_and_suggests_a_lower_learning_rate():
    model = _mse_model()
    with pytest.raises(TrainingDivergedError) as info:
        model.train(2, _regression(96, 16, nan_batch=3), verbose=0)
    err = info.value
    assert (err.epoch, err.step) == (1, 3) and np.isnan(err.loss)
    text = str(err)
    assert "epoch 1, step 3 of 6" in text and "learning rate (0.003)" in text and "learning_rate=0.0003" in text
    assert isinstance(err, ArithmeticError)


def test_nan_in_a_long_epoch_stops_training_before_the_epoch_ends():
    steps = _loop.CHECK_EVERY * 3
    cb = _Calls()
    with pytest.raises(TrainingDivergedError, match=f"epoch 1, step 10 of {steps}") as info:
        _mse_model().train(1, _regression(8 * steps, 8, nan_batch=10), callbacks=[cb], verbose=0)
    ran = len([c for c in cb.calls if c[0] == "step_end"])
    assert info.value.step == 10
    assert ran <= _loop.CHECK_EVERY + 2 < steps  # checked while the epoch runs, not only at its end


def test_diverging_learning_rate_is_reported():
    tinyms.set_seed(0)
    model = Model(lenet5()).compile(loss_fn="cross_entropy", optimizer="sgd", learning_rate=1e6)
    with pytest.raises(TrainingDivergedError, match=r"learning rate \(1e\+06\) is probably too high"):
        model.train(3, _dataset(n=256), verbose=0)


def test_only_rank_0_logs_and_writes_checkpoints(monkeypatch, tmp_path, capsys):
    assert _loop.rank_info() == (0, 1)  # communication not initialised: one process
    model = _model()
    assert model.rank == 0 and model.is_main
    monkeypatch.setattr(_loop, "rank_info", lambda: (1, 2))
    ckpt = ModelCheckpoint(prefix="r1", directory=str(tmp_path),
                           config=CheckpointConfig(save_checkpoint_steps=2))
    history = model.train(1, _dataset(), callbacks=[ckpt, LossMonitor(1)], verbose=2)
    assert history.epoch == [1]
    assert not model.is_main
    path = model.save_checkpoint(tmp_path / "net.ckpt")
    assert path == str(tmp_path / "net.ckpt")
    assert list(tmp_path.iterdir()) == []  # neither the callback nor save_checkpoint wrote
    assert "Epoch 1/1" not in capsys.readouterr().err
    monkeypatch.setattr(_loop, "rank_info", lambda: (0, 2))
    model.train(1, _dataset(), callbacks=[ckpt], verbose=2)
    assert "Epoch 1/1" in capsys.readouterr().err
    assert any(p.suffix == ".ckpt" for p in tmp_path.iterdir())
