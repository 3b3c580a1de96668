"""A Model that is no longer referenced is freed, with its network, optimizer and compiled graphs.

A notebook or a server that builds one model after another must not keep the ones it dropped:
measured before the fix, every trained Model stayed in memory for the life of the process
(MindSpore 2.10's graph compiler held the ``nn.TrainOneStepCell``, whose ``construct`` takes
``*inputs``, from C++): 1 GB per VGG-11 trained with Momentum, 95 MB per 32x32 ResNet-18
``tinyms train`` run. Every way into a training step is covered: ``train`` with validation,
``lr_find``, an overridden ``train_step``. The step that replaced MindSpore's must compute
what MindSpore's computes.
"""

import gc
import weakref

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from tinyms import layers
from tinyms.data import NumpySlicesDataset
from tinyms.model import Model
from tinyms.model._train_step import TrainStep
from tinyms.optimizers import Momentum

ROUNDS = 3


class SmallNet(layers.Layer):
    """A user's own small network with mode-dependent layers (BatchNorm, Dropout)."""

    def __init__(self, dropout=True):
        super().__init__()
        self.features = layers.SequentialLayer([layers.Conv2d(1, 6, 3, pad_mode="valid"), layers.ReLU(),
                                                layers.BatchNorm2d(6)])
        self.drop = layers.Dropout(p=0.1) if dropout else layers.Identity()
        self.head = layers.Dense(6, 3)

    def construct(self, x):
        return self.head(self.drop(self.features(x).max(axis=(2, 3))))


class Clipped(Model):
    """A Model whose own step clips its inputs, then runs TinyMS's step."""

    def train_step(self, data, label):
        return super().train_step(ms.ops.clip(data, -3.0, 3.0), label)


def _data(rows=32, batch=8):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, rows).astype(np.int32)
    return NumpySlicesDataset({"image": x, "label": y}, shuffle=False).batch(batch)


def _train(model):
    model.train(1, _data(), valid_dataset=_data(), verbose=0)
    model.eval(_data())
    model.predict(np.zeros((2, 1, 8, 8), np.float32))


def _lr_find(model):
    result = model.lr_find(_data(), num_steps=4)
    assert len(result.lrs) == 4


RUNS = {"train": (Model, _train), "lr_find": (Model, _lr_find), "overridden train_step": (Clipped, _train)}


@pytest.mark.parametrize("run", list(RUNS))
def test_models_built_and_dropped_one_after_another_are_freed(run):
    model_class, use = RUNS[run]
    networks_before = _live(SmallNet)
    kept = []
    for _ in range(ROUNDS):
        net = SmallNet()
        model = model_class(net).compile("cross_entropy", "momentum", ["accuracy"])
        use(model)
        assert ms.get_context("mode") == ms.GRAPH_MODE  # where MindSpore held compiled cells
        kept.append((weakref.ref(net), weakref.ref(model), weakref.ref(model._train_net)))
        del net, model
        gc.collect()
    alive = [[ref() is not None for ref in refs] for refs in kept]
    assert alive == [[False, False, False]] * ROUNDS, f"[network, Model, train step] still alive per round: {alive}"
    assert _live(SmallNet) == networks_before


def _live(cls):
    return sum(1 for o in gc.get_objects() if type(o) is cls)


@pytest.fixture
def graph_mode():
    mode = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    yield
    ms.set_context(mode=mode)


@pytest.mark.parametrize("scale", [1.0, 8.0])
def test_the_train_step_updates_weights_as_mindspores_own(scale, graph_mode):
    """TinyMS's step against nn.TrainOneStepCell from the same weights on the same batches,
    with and without a fixed loss scale (the optimizer divides by what the step multiplies)."""
    batches = [(ms.Tensor(x.asnumpy()), ms.Tensor(y.asnumpy())) for x, y in _data().create_tuple_iterator()]
    weights, losses = [], []
    for step_class in (TrainStep, nn.TrainOneStepCell):
        ms.set_seed(0)
        net = SmallNet(dropout=False)  # no random masks: both steps must agree exactly
        initial = {p.name: p.asnumpy().copy() for p in net.trainable_params()}
        loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
        optimizer = Momentum(net.trainable_params(), 0.01, 0.9, loss_scale=scale)
        step = step_class(nn.WithLossCell(net, loss), optimizer, sens=scale)
        step.set_train()
        losses.append([float(step(x, y).asnumpy()) for x, y in batches])
        weights.append({p.name: p.asnumpy().copy() for p in net.get_parameters()})
        assert all(not np.array_equal(initial[name], weights[-1][name]) for name in initial)  # it trained
    assert losses[0] == losses[1]
    assert weights[0].keys() == weights[1].keys()
    for name in weights[0]:
        np.testing.assert_array_equal(weights[0][name], weights[1][name], err_msg=name)
