"""Learning-rate schedules as plain lists, and the one-call training callbacks of the zoo families."""

import os

import mindspore.dataset as ds
import numpy as np
import pytest

from tinyms import Tensor
from tinyms.callbacks import LossTimeMonitor, ModelCheckpoint, mobilenetv2_cb, resnet_cb
from tinyms.model import Model, lenet5
from tinyms.optimizers import Momentum, step_decay_lr, warmup_cosine_lr


def test_warmup_cosine_climbs_then_decays_to_the_final_rate():
    lrs = warmup_cosine_lr(0.1, total_steps=100, warmup_steps=10, final_lr=0.001)
    assert len(lrs) == 100
    assert lrs[:10] == pytest.approx([0.01 * (i + 1) for i in range(10)])
    assert lrs[10] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    assert 0.001 < lrs[-1] < 0.0011
    assert warmup_cosine_lr(0.1, total_steps=4) == pytest.approx([0.1, 0.1 * (2 + 2 ** 0.5) / 4, 0.05,
                                                                  0.1 * (2 - 2 ** 0.5) / 4])


def test_step_decay_multiplies_by_gamma_at_each_milestone():
    lrs = step_decay_lr(0.1, total_steps=10, milestones=[4, 7], gamma=0.5, warmup_steps=2)
    assert lrs == pytest.approx([0.05, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025])
    assert step_decay_lr(0.2, total_steps=3, milestones=[]) == [0.2, 0.2, 0.2]


@pytest.mark.parametrize("kwargs, message", [
    (dict(milestones=[5, 5]), "increasing"),
    (dict(milestones=[10]), "increasing"),
    (dict(milestones=[1], warmup_steps=2), "increasing"),
    (dict(milestones=[2.5]), "increasing"),
    (dict(milestones=[5], gamma=0), "gamma"),
    (dict(milestones=[5], warmup_steps=10), "warmup_steps"),
])
def test_step_decay_refuses_impossible_schedules(kwargs, message):
    with pytest.raises(ValueError, match=message):
        step_decay_lr(0.1, total_steps=10, **kwargs)


def test_schedules_refuse_non_positive_rates():
    with pytest.raises(ValueError, match="base_lr"):
        step_decay_lr(0, total_steps=10, milestones=[5])
    with pytest.raises(ValueError, match="peak_lr"):
        warmup_cosine_lr(-1, total_steps=10)


def _digits(n=24, batch=8):
    rng = np.random.default_rng(0)
    return ds.NumpySlicesDataset({"image": rng.standard_normal((n, 1, 32, 32)).astype(np.float32),
                                  "label": rng.integers(0, 10, n).astype(np.int32)}, shuffle=False).batch(batch)


def test_mobilenetv2_cb_prints_each_epoch_and_saves_checkpoints_as_the_seed_did(tmp_path, capsys):
    lr = step_decay_lr(0.01, total_steps=6, milestones=[3])
    callbacks = mobilenetv2_cb("CPU", Tensor(np.array(lr, np.float32)), True, 1, 3, directory=str(tmp_path))
    assert [type(cb) for cb in callbacks] == [LossTimeMonitor, ModelCheckpoint]
    net = lenet5()
    model = Model(net).compile("cross_entropy", Momentum(net.trainable_params(), lr, 0.9))
    model.train(2, _digits(), callbacks=callbacks, verbose=0)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2 and "epoch 1/2" in lines[0] and "ms/step" in lines[0] and "mean loss" in lines[0]
    assert lines[0].endswith("lr 0.01") and lines[1].endswith("lr 0.001")
    saved = sorted(f for f in os.listdir(tmp_path) if f.endswith(".ckpt"))
    assert saved == ["mobilenetv2_cifar10-1_3.ckpt", "mobilenetv2_cifar10-2_3.ckpt"]


def test_family_callbacks_check_their_arguments():
    assert [type(cb) for cb in resnet_cb("CPU", 0.1, False, 1, 100)] == [LossTimeMonitor]
    with pytest.raises(ValueError, match="device_target"):
        resnet_cb("TPU", 0.1, False, 1, 100)
    with pytest.raises(ValueError, match="step_size"):
        resnet_cb("CPU", 0.1, True, 1, 0)
    with pytest.raises(TypeError, match="save_checkpoint_epochs"):
        resnet_cb("CPU", 0.1, True, 1.5, 10)
