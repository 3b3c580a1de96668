"""Training runs layers in training mode, evaluation in inference mode, and looking at a network
changes neither: BatchNorm statistics move while training and only then, Dropout drops only while
training, on every way into training (train, lr_find, resume, validation between epochs,
``tinyms train``; msrun in tests/model/test_distributed.py)."""

import os

import numpy as np
import pytest

from tinyms import layers
from tinyms.callbacks import Callback
from tinyms.data import NumpySlicesDataset
from tinyms.model import Model
from tinyms.model._modes import layer_modes, untouched
from tinyms.model.registry import ModelConfig
from tinyms.optimizers import SGD


class DenseBN(layers.Layer):
    """The reviewer's network: a user's own layer with no zoo config."""

    def __init__(self):
        super().__init__()
        self.fc = layers.Dense(4, 3)
        self.bn = layers.BatchNorm1d(3)

    def construct(self, x):
        return self.bn(self.fc(x))


class DenseDropout(layers.Layer):
    def __init__(self):
        super().__init__()
        self.fc = layers.Dense(8, 3)
        self.drop = layers.Dropout(p=0.5)

    def construct(self, x):
        return self.drop(self.fc(x))


class ConvBN(layers.Layer):
    """A small image network ending in global pooling, so it runs at any image size."""

    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2d(1, 4, 3)
        self.bn = layers.BatchNorm2d(4)
        self.fc = layers.Dense(4, 3)

    def construct(self, x):
        return self.fc(self.bn(self.conv(x)).mean(axis=(2, 3)))


def _configured_convbn():
    """ConvBN with a zoo-like config saying 12x12 inputs and three labels."""
    net = ConvBN()
    net.default_cfg = ModelConfig(name="convbn", input_shape=(1, 12, 12), mean=(0.5,), std=(0.5,),
                                  labels=("a", "b", "c"))
    return net


def _data(features=4, rows=64, batch=16, seed=0, repeat_first=False):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(rows, features)) + 2.0).astype(np.float32)
    if repeat_first:  # every batch identical: with a learning rate of 0 only Dropout changes the loss
        x = np.tile(x[:batch], (rows // batch, 1))
    y = rng.integers(0, 3, rows).astype(np.int32)
    if repeat_first:
        y = np.tile(y[:batch], rows // batch)
    return NumpySlicesDataset({"x": x, "y": y}, shuffle=False).batch(batch)


class Spy(Callback):
    """Records, at every step end, whether the network was in training mode and its BN mean."""

    def __init__(self, net):
        self.net, self.training, self.means = net, [], []

    def on_train_step_end(self, run_context):
        self.training.append(bool(self.net.training))
        bn = getattr(self.net, "bn", None)
        if bn is not None:
            self.means.append(bn.moving_mean.asnumpy().copy())


def test_a_users_own_batchnorm_network_trains_in_training_mode_from_its_first_step():
    net = DenseBN()
    model = Model(net).compile("cross_entropy", "momentum", ["accuracy"])
    spy = Spy(net)
    model.train(2, _data(), callbacks=[spy], verbose=0)
    assert spy.training == [True] * 8
    # the statistics move at every step of both epochs (they started at exactly 0)
    assert not np.any(spy.means[0] == 0.0)
    assert all(not np.array_equal(a, b) for a, b in zip(spy.means, spy.means[1:]))


def test_evaluation_and_validation_do_not_move_the_statistics():
    net = DenseBN()
    model = Model(net).compile("cross_entropy", "momentum", ["accuracy"])
    spy = Spy(net)
    model.train(2, _data(), callbacks=[spy], verbose=0, valid_dataset=_data(seed=1))
    assert spy.training == [True] * 8  # validation after epoch 1 did not leave epoch 2 in inference mode
    assert not np.array_equal(spy.means[3], spy.means[4])  # epoch 2 still updates the statistics
    before = {p.name: p.asnumpy().copy() for p in net.get_parameters()}
    first = model.eval(_data(seed=2))
    second = model.eval(_data(seed=2))
    assert first == second
    assert all(np.array_equal(before[p.name], p.asnumpy()) for p in net.get_parameters())
    assert net.training is False and model.eval_samples == 64


def test_dropout_drops_while_training_and_not_while_evaluating():
    net = DenseDropout()
    model = Model(net)
    model.compile("cross_entropy", SGD(net.trainable_params(), learning_rate=0.0), ["accuracy"])
    history = model.train(1, _data(features=8, repeat_first=True), verbose=0)
    losses = history.steps["loss"]
    assert len(losses) == 4
    # the same batch and unchanged weights: only an active Dropout makes the losses differ
    assert len({round(v, 6) for v in losses}) > 1
    once, again = model.eval(_data(features=8)), model.eval(_data(features=8))
    assert once == again


def test_inspecting_a_network_leaves_each_layers_mode_and_its_config():
    net = _configured_convbn()
    cfg = net.default_cfg
    net.set_train(True)
    net.bn.set_train(False)  # a frozen BatchNorm inside a training network
    modes = layer_modes(net)
    model = Model(net)
    model.summary()
    assert layer_modes(net) == modes and net.default_cfg is cfg
    with untouched(net):
        net.set_train(False)
        net.default_cfg = None
    assert layer_modes(net) == modes and net.default_cfg is cfg


def test_lr_find_trains_in_training_mode_and_puts_back_modes_and_statistics():
    seen = []

    class Watching(Model):  # an overridden step sees what the sweep's steps see
        def train_step(self, data, label):
            loss = super().train_step(data, label)
            seen.append((bool(self.network.training), self.network.bn.moving_mean.asnumpy().copy()))
            return loss

    net = DenseBN()  # no config: the sweep counts the classes with an inference pass first
    net.set_train(False)
    modes = layer_modes(net)
    stats = net.bn.moving_mean.asnumpy().copy()
    result = Watching(net).compile("cross_entropy", "momentum").lr_find(_data(), num_steps=6)
    assert len(result.lrs) == 6
    assert [training for training, _ in seen] == [True] * 6
    assert not np.array_equal(seen[0][1], stats) and not np.array_equal(seen[-1][1], seen[0][1])
    # afterwards the statistics and every layer's flag are as they were
    assert np.array_equal(net.bn.moving_mean.asnumpy(), stats)
    assert layer_modes(net) == modes


def test_lr_find_on_another_image_size_leaves_the_config_as_it_was():
    net = _configured_convbn()
    cfg = net.default_cfg
    net.set_train(True)
    net.bn.set_train(False)  # a frozen BatchNorm: the sweep trains it, and its flag comes back after
    modes = layer_modes(net)
    stats = {p.name: p.asnumpy().copy() for p in net.get_parameters()}
    rng = np.random.default_rng(0)
    images = (rng.random((32, 1, 8, 8)) + 1.0).astype(np.float32)  # not the config's 12x12
    ds = NumpySlicesDataset({"x": images, "y": rng.integers(0, 3, 32).astype(np.int32)}, shuffle=False).batch(8)
    model = Model(net).compile("cross_entropy", "momentum")
    assert len(model.lr_find(ds, num_steps=5).lrs) == 5
    assert net.default_cfg is cfg and net.default_cfg.input_shape == (1, 12, 12)
    assert layer_modes(net) == modes
    assert all(np.array_equal(stats[p.name], p.asnumpy()) for p in net.get_parameters())
    # training itself adopts the size it trained on, as before
    model.train(1, ds, verbose=0)
    assert net.default_cfg.input_shape == (1, 8, 8)


def test_the_plain_lr_find_step_also_trains_in_training_mode():
    net = DenseBN()
    model = Model(net).compile("cross_entropy", "momentum")
    model.lr_find(_data(), num_steps=4)
    # the sweep compiled the train step; training now reuses it: in training mode, or the
    # statistics would stay at 0
    spy = Spy(net)
    model.train(1, _data(), callbacks=[spy], verbose=0)
    assert spy.training == [True] * 4
    assert not np.any(spy.means[0] == 0.0)


def test_a_resumed_run_trains_in_training_mode(tmp_path):
    first = Model(DenseBN()).compile("cross_entropy", "momentum", ["accuracy"])
    first.train(1, _data(), verbose=0)
    path = first.save_checkpoint(str(tmp_path / "one.ckpt"))
    net = DenseBN()
    resumed = Model(net).compile("cross_entropy", "momentum", ["accuracy"])
    spy = Spy(net)
    resumed.train(2, _data(), callbacks=[spy], verbose=0, resume_from=path)
    assert spy.training == [True] * 4
    assert not np.array_equal(spy.means[0], first.network.bn.moving_mean.asnumpy())
    assert all(not np.array_equal(a, b) for a, b in zip(spy.means, spy.means[1:]))


def test_tinyms_train_updates_batchnorm_statistics_and_evaluation_does_not(tmp_path):
    from PIL import Image

    from tinyms import _train_cli
    from tinyms.model import load

    rng = np.random.default_rng(0)
    root = tmp_path / "digits"
    for split, count in (("train", 8), ("val", 4)):
        for k, name in enumerate(("a", "b")):
            (root / split / name).mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 60, (32, 32, 3)) + 150 * k
                Image.fromarray(pixels.astype(np.uint8)).save(root / split / name / f"{i}.png")
    run = tmp_path / "run"
    _train_cli.train(overrides={"model": "resnet18", "data": str(root), "image_size": 32, "epochs": 1,
                                "batch_size": 8, "out": str(run)}, say=lambda *a, **k: None)
    model = load(os.fspath(run / "last.ckpt"))
    means = [p for p in model.network.get_parameters() if p.name.endswith("moving_mean")]
    assert means and all(np.any(p.asnumpy() != 0.0) for p in means)  # every BatchNorm trained
    before = [p.asnumpy().copy() for p in means]
    model.compile(metrics=["accuracy"])
    from tinyms.vision import ImageFolderTransform
    from tinyms.data import ImageFolderDataset
    val = ImageFolderTransform(size=32).apply_ds(ImageFolderDataset(str(root / "val")), is_training=False)
    model.eval(val)
    assert model.eval_samples == 8
    assert all(np.array_equal(b, p.asnumpy()) for b, p in zip(before, means))


def test_calling_train_step_yourself_trains_in_training_mode_even_after_predict():
    net = DenseBN()
    model = Model(net).compile("cross_entropy", "momentum")
    x, y = next(_data().create_tuple_iterator())
    model.train_step(x, y)
    model.predict(x.asnumpy())                        # inference mode in between
    before = net.bn.moving_mean.asnumpy().copy()
    model.train_step(x, y)
    assert net.training and not np.array_equal(net.bn.moving_mean.asnumpy(), before)
