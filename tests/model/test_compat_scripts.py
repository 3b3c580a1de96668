"""What TinyMS 0.3's training scripts and mindspore.train.Model code call: the Model constructor's
MindSpore order, loss scale managers, label smoothing, mobilenetv2_lr, tinyms.utils.train, 0.3 names."""

import math

import mindspore as ms
import mindspore.dataset as ds
import numpy as np
import pytest

from tinyms.callbacks import LossTimeMonitor, ModelCheckpoint
from tinyms.errors import InputShapeError
from tinyms.losses import CrossEntropyWithLabelSmooth, SoftmaxCrossEntropyWithLogits
from tinyms.metrics import Accuracy
from tinyms.model import Model, alexnet, densenet100, densenetBC_100, lenet5, mobilenetv2
from tinyms.optimizers import Momentum, mobilenetv2_lr

from _by_hand import by_hand
from _stripes import stripe_digits


def _dataset(n=64, batch=16, channels=1):
    images, labels = stripe_digits(n, channels=channels)
    return ds.NumpySlicesDataset({"image": images, "label": labels}, shuffle=False).batch(batch)


def _weights(net):
    return {p.name: p.asnumpy().copy() for p in net.trainable_params()}


def _trained(loss_scale, manager=None, seed=0):
    ms.set_seed(seed)
    net = lenet5()
    opt = Momentum(net.trainable_params(), 0.05, 0.9, loss_scale=loss_scale)
    model = Model(net, SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"), opt, {"acc": Accuracy()},
                  loss_scale_manager=manager)
    history = model.train(2, _dataset(n=160), verbose=0)
    return model, history


def test_model_takes_mindspores_positional_order_and_trains():
    model, history = _trained(1.0)
    assert set(model.metrics) == {"acc"}  # Model(net, loss, optimizer, metrics): each in its place
    assert isinstance(model.loss_fn, SoftmaxCrossEntropyWithLogits) and isinstance(model.optimizer, Momentum)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.eval(_dataset(n=160))["acc"] > 0.3  # chance is 0.1
    with pytest.raises(ValueError, match="amp_level"):
        Model(lenet5(), amp_level="O2")


def test_a_fixed_loss_scale_gives_the_unscaled_training():
    from tinyms.utils.train.loss_manager import FixedLossScaleManager

    plain, _ = _trained(1.0)
    scaled, _ = _trained(1024.0, FixedLossScaleManager(1024, drop_overflow_update=False))
    for name, value in _weights(plain.network).items():
        np.testing.assert_allclose(_weights(scaled.network)[name], value, rtol=1e-4, atol=1e-5)
    # without the manager the optimizer's loss_scale would divide unscaled gradients by 1024:
    # the weights would hardly move, which is why 0.3's scripts pass both
    unmanaged, _ = _trained(1024.0)
    moved = [np.abs(_weights(unmanaged.network)[n] - v).max() for n, v in _weights(plain.network).items()]
    assert max(moved) > 1e-3


def test_loss_scales_that_need_overflow_detection_are_refused_as_on_mindspore_cpu():
    from tinyms.utils.train.loss_manager import DynamicLossScaleManager, FixedLossScaleManager

    for manager in (DynamicLossScaleManager(), FixedLossScaleManager(128, drop_overflow_update=True)):
        with pytest.raises(ValueError, match="cannot run on CPU.*drop_overflow_update=False"):
            Model(lenet5()).compile("cross_entropy", "momentum", loss_scale_manager=manager)
    with pytest.raises(TypeError, match="LossScaleManager"):
        Model(lenet5()).compile("cross_entropy", "momentum", loss_scale_manager=1024)


def test_label_smoothing_loss_matches_its_definition():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 5)).astype(np.float32)
    labels = np.array([0, 1, 2, 3, 4, 1], np.int32)
    loss = CrossEntropyWithLabelSmooth(smooth_factor=0.2, num_classes=5)
    log_p = logits - logits.max(1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(1, keepdims=True))
    target = np.full((6, 5), 0.2 / 4)
    target[np.arange(6), labels] = 0.8
    expected = float(-(target * log_p).sum(1).mean())
    assert float(loss(ms.Tensor(logits), ms.Tensor(labels)).asnumpy()) == pytest.approx(expected, rel=1e-5)
    plain = SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")(ms.Tensor(logits), ms.Tensor(labels))
    none = CrossEntropyWithLabelSmooth(0.0, 5)(ms.Tensor(logits), ms.Tensor(labels))
    assert float(none.asnumpy()) == pytest.approx(float(plain.asnumpy()), rel=1e-5)
    for bad in ({"smooth_factor": 1.0}, {"smooth_factor": -0.1}, {"num_classes": 1}):
        with pytest.raises(ValueError):
            CrossEntropyWithLabelSmooth(**bad)


def test_mobilenetv2_lr_warms_up_then_falls_by_cosine():
    lr = mobilenetv2_lr(0, lr_init=1e-5, lr_end=1e-5, lr_max=1e-3, warmup_epochs=2, total_epochs=10,
                        steps_per_epoch=100).asnumpy()
    assert lr.shape == (1000,) and lr.dtype == np.float32
    assert lr[0] == pytest.approx(1e-5) and lr[100] == pytest.approx(1e-5 + (1e-3 - 1e-5) / 2)
    assert lr[200] == pytest.approx(1e-3) and lr.argmax() == 200
    assert lr[600] == pytest.approx(1e-5 + (1e-3 - 1e-5) / 2, rel=1e-5)   # half-way down the cosine
    assert lr[-1] == pytest.approx(1e-5, rel=1e-3) and np.all(np.diff(lr[200:]) <= 0)
    later = mobilenetv2_lr(250, 1e-5, 1e-5, 1e-3, 2, 10, 100).asnumpy()
    np.testing.assert_array_equal(later, lr[250:])
    # a warm-up as long as training or longer leaves rising rates only, as in TinyMS 0.3
    short = mobilenetv2_lr(0, 0.0, 0.0, 0.3, warmup_epochs=3, total_epochs=2, steps_per_epoch=10).asnumpy()
    np.testing.assert_allclose(short, 0.3 * np.arange(20) / 30, rtol=1e-6)
    with pytest.raises(ValueError, match="no steps"):
        mobilenetv2_lr(0, 0.1, 0.0, 0.1, warmup_epochs=0, total_epochs=0, steps_per_epoch=10)


def test_the_mobilenetv2_script_of_tinyms_03_runs(tmp_path, monkeypatch):
    # tests/st/mobilenetv2.py of TinyMS 0.3, on 32x32 colour stripes instead of CIFAR-10
    from tinyms.utils.train.cb_config import mobilenetv2_cb
    from tinyms.utils.train.loss_manager import FixedLossScaleManager
    from tinyms.utils.train.lr_generator import mobilenetv2_lr as lr_from_utils

    monkeypatch.chdir(tmp_path)
    data = _dataset(n=32, batch=8, channels=3)
    step_size = data.get_dataset_size()
    net = mobilenetv2(10, is_training=True)
    model = Model(net)
    loss = CrossEntropyWithLabelSmooth(smooth_factor=0.1, num_classes=10)
    lr = lr_from_utils(global_step=0, lr_init=1e-5, lr_end=1e-5, lr_max=1e-3, warmup_epochs=1,
                       total_epochs=2, steps_per_epoch=step_size)
    opt = Momentum(filter(lambda x: x.requires_grad, net.get_parameters()), lr, 0.9, 4e-5, 1024)
    model.compile(loss_fn=loss, optimizer=opt, metrics={"Accuracy": Accuracy()},
                  loss_scale_manager=FixedLossScaleManager(1024, drop_overflow_update=False))
    callbacks = mobilenetv2_cb(device_target="CPU", lr=lr, is_saving_checkpoint=True, save_checkpoint_epochs=1,
                               step_size=step_size)
    assert isinstance(callbacks[0], LossTimeMonitor) and isinstance(callbacks[1], ModelCheckpoint)
    history = model.train(2, data, callbacks=callbacks, dataset_sink_mode=False)
    assert all(math.isfinite(v) for v in history.history["loss"])
    assert sorted(p.name for p in tmp_path.glob("mobilenetv2_cifar10-*.ckpt")) == [
        "mobilenetv2_cifar10-1_4.ckpt", "mobilenetv2_cifar10-2_4.ckpt"]
    images, labels = stripe_digits(32, channels=3)
    assert model.eval(data, dataset_sink_mode=False)["Accuracy"] == by_hand(model, images, labels)[1]
    assert model.eval_samples == 32
    with pytest.raises(TypeError, match="is_training"):
        mobilenetv2(10, is_training="yes")


def test_tinyms_03_names_and_the_alexnet_size_hint():
    assert densenetBC_100 is densenet100
    data = _dataset(n=16, batch=8, channels=3)
    model = Model(alexnet(class_num=10))
    model.compile("cross_entropy", "momentum")
    with pytest.raises(InputShapeError, match=r"224, 224\).*Cifar10Transform\(size=\(224, 224\)\)"):
        model.train(1, data, verbose=0)


def test_model_checkpoint_without_a_folder_writes_where_the_script_is_now(tmp_path, monkeypatch):
    # MindSpore's own default is the working directory at the time mindspore was imported
    from tinyms.callbacks import CheckpointConfig

    monkeypatch.chdir(tmp_path)
    model = Model(lenet5())
    model.compile("cross_entropy", "momentum")
    model.train(1, _dataset(n=32), callbacks=[ModelCheckpoint(prefix="here", config=CheckpointConfig(
        save_checkpoint_steps=2))], verbose=0)
    assert sorted(p.name for p in tmp_path.glob("here-*.ckpt")) == ["here-1_2.ckpt"]


def test_tinyms_utils_train_keeps_03s_checkpoint_functions_and_they_read_tinyms_files(tmp_path):
    from tinyms.utils.train import load_checkpoint, load_param_into_net

    model = Model(lenet5())
    model.compile("cross_entropy", "momentum")
    model.train(1, _dataset(n=32), verbose=0)
    path = model.save_checkpoint(str(tmp_path / "net.ckpt"))
    fresh = lenet5()
    not_loaded, _ = load_param_into_net(fresh, load_checkpoint(path))
    assert not_loaded == []
    x = stripe_digits(4)[0]
    np.testing.assert_array_equal(Model(fresh).predict(x).asnumpy(), model.predict(x).asnumpy())
