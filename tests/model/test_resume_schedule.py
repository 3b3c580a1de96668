"""Resuming a run for another number of epochs: every learning-rate schedule TinyMS offers.

A run checkpointed after epoch 1 is continued by ``Model.train(..., resume_from=...)`` with an
optimizer built for a longer or a shorter run. The continued run must follow the new schedule
from the step the file holds: it ends with the weights of an uninterrupted run whose per-step
rates are the first schedule's up to that step and the new schedule's after it. LeNet5 on 96
shuffled images of the bundled MNIST sample, 3 steps of 32 per epoch.
"""

import os

import numpy as np
import pytest

import tinyms
from tinyms.data import MnistDataset, sample_dataset
from tinyms.errors import LearningRateError
from tinyms.model import Model, lenet5, load
from tinyms.optimizers import CosineDecayLR, Momentum, mobilenetv2_lr, step_decay_lr, warmup_cosine_lr
from tinyms.vision import mnist_transform

SEED = 5
STEPS = 3  # per epoch


def _data():
    path = os.path.join(sample_dataset("mnist"), "train")
    return mnist_transform.apply_ds(MnistDataset(path, shuffle=True, num_samples=96), batch_size=32)


# each schedule for a run of `epochs` epochs, as a user of that function would build it
SCHEDULES = {
    "constant": lambda epochs: 0.03,
    "warmup_cosine_lr": lambda epochs: warmup_cosine_lr(0.05, epochs * STEPS, warmup_steps=2),
    "step_decay_lr": lambda epochs: step_decay_lr(0.05, epochs * STEPS, [epochs * STEPS // 2, epochs * STEPS * 3 // 4],
                                                  warmup_steps=1),
    "mobilenetv2_lr": lambda epochs: mobilenetv2_lr(0, 0.005, 0.0, 0.05, warmup_epochs=1, total_epochs=epochs,
                                                    steps_per_epoch=STEPS),
    "CosineDecayLR": lambda epochs: CosineDecayLR(0.0, 0.05, epochs * STEPS),
}


def _rates(schedule, total):
    """The rate of each of the first ``total`` steps under ``schedule`` (a number, list, Tensor or cell)."""
    from mindspore import Tensor, int32

    if isinstance(schedule, float):
        return [schedule] * total
    if callable(schedule):  # a LearningRateSchedule cell: evaluate it step by step
        return [float(v) for v in schedule(Tensor(np.arange(total, dtype=np.int32), int32)).asnumpy()]
    values = np.asarray(schedule.asnumpy() if hasattr(schedule, "asnumpy") else schedule, np.float64)
    assert values.size >= total
    return [float(v) for v in values[:total]]


def _model(lr):
    tinyms.set_seed(SEED)
    net = lenet5()
    return Model(net).compile(loss_fn="cross_entropy", optimizer=Momentum(net.trainable_params(), lr, 0.9))


def _weights(model):
    return {p.name: p.asnumpy().copy() for p in model.network.get_parameters()}


# every schedule extended; shortening takes the same path (another table length), shown once
@pytest.mark.parametrize("name, first, then", [(name, 2, 4) for name in SCHEDULES] + [("warmup_cosine_lr", 4, 2)],
                         ids=[f"{name}-extended" for name in SCHEDULES] + ["warmup_cosine_lr-shortened"])
def test_a_resumed_run_follows_the_new_schedule_from_the_step_it_reached(tmp_path, name, first, then):
    build = SCHEDULES[name]
    run = _model(build(first))
    run.train(1, _data(), verbose=0)
    path = run.save_checkpoint(tmp_path / "after1.ckpt")

    new = build(then)
    resumed = _model(new)
    history = resumed.train(then, _data(), verbose=0, resume_from=path)
    assert history.epoch == list(range(2, then + 1))
    assert int(resumed.optimizer.global_step.asnumpy()[0]) == then * STEPS

    # what the resumed run must have done: the first schedule's rates for the steps of epoch 1,
    # the new schedule's for every later step
    rates = _rates(build(first), STEPS) + _rates(new, then * STEPS)[STEPS:]
    reference = _model([float(r) for r in rates])
    reference.train(then, _data(), verbose=0)
    expected = _weights(reference)
    got = _weights(resumed)
    for param in expected:
        np.testing.assert_allclose(got[param], expected[param], rtol=1e-5, atol=1e-7, err_msg=param)
    # the rates the History shows for the resumed steps are the new schedule's
    assert history.steps["lr"] == pytest.approx(rates[STEPS:], rel=1e-5)


def test_a_schedule_shorter_than_the_training_is_refused_before_any_step(tmp_path):
    model = _model(warmup_cosine_lr(0.05, 2 * STEPS))
    before = _weights(model)
    with pytest.raises(LearningRateError, match=r"has 6 per-step rates, but training to epoch 3 runs 9 steps "
                                                 r"\(3 per epoch\).*total_steps=9"):
        model.train(3, _data(), verbose=0)
    for param, value in _weights(model).items():
        np.testing.assert_array_equal(value, before[param], err_msg=param)  # nothing trained

    # continuing a run for more epochs with the optimizer of the first run is the same mistake
    model.train(1, _data(), verbose=0)
    path = model.save_checkpoint(tmp_path / "after1.ckpt")
    with pytest.raises(LearningRateError, match=r"runs 12 steps.*total_steps=12"):
        _model(warmup_cosine_lr(0.05, 2 * STEPS)).train(4, _data(), verbose=0, resume_from=path)
    # a schedule cut to start at the step reached (TinyMS 0.3's way of continuing) is too short too
    with pytest.raises(LearningRateError, match=r"has 9 per-step rates"):
        cut = mobilenetv2_lr(STEPS, 0.005, 0.0, 0.05, warmup_epochs=1, total_epochs=4, steps_per_epoch=STEPS)
        _model(cut).train(4, _data(), verbose=0, resume_from=path)


def test_parameter_groups_with_their_own_schedules_save_resume_and_load(tmp_path):
    def model(epochs):
        tinyms.set_seed(SEED)
        net = lenet5()
        params = net.trainable_params()
        groups = [{"params": params[:4], "lr": warmup_cosine_lr(0.05, epochs * STEPS)}, {"params": params[4:]}]
        opt = Momentum(groups, step_decay_lr(0.03, epochs * STEPS, [epochs * STEPS // 2]), 0.9)
        return Model(net).compile(loss_fn="cross_entropy", optimizer=opt)

    first = model(2)
    first.train(1, _data(), verbose=0)
    path = first.save_checkpoint(tmp_path / "groups.ckpt")
    resumed = model(3)
    history = resumed.train(3, _data(), verbose=0, resume_from=path)
    assert history.epoch == [2, 3] and np.isfinite(history.history["loss"]).all()
    # the file also loads for inference, and predicts as the network that wrote it
    x = np.random.default_rng(0).normal(size=(2, 1, 32, 32)).astype(np.float32)
    np.testing.assert_allclose(load(str(path), network=lenet5()).predict(x).asnumpy(),
                               first.predict(x).asnumpy(), rtol=1e-5, atol=1e-6)
