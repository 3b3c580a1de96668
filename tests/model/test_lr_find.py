"""Model.lr_find: an exponential learning-rate sweep that leaves the model exactly as it was."""

import math
import os
import struct

import numpy as np
import pytest

import tinyms as ts
from tinyms.data import MnistDataset, sample_dataset
from tinyms.errors import LearningRateError, NotCompiledError
from tinyms.model import Model, lenet5
from tinyms.model._lr_find import LRFinderResult
from tinyms.optimizers import Momentum, warmup_cosine_lr
from tinyms.vision import mnist_transform


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    old = os.environ.get("TINYMS_HOME")
    os.environ["TINYMS_HOME"] = str(tmp_path_factory.mktemp("home"))
    try:
        return sample_dataset("mnist")
    finally:
        if old is None:
            os.environ.pop("TINYMS_HOME", None)
        else:
            os.environ["TINYMS_HOME"] = old


def _data(mnist, n=320):
    ds = MnistDataset(os.path.join(mnist, "train"), shuffle=False, num_samples=n)
    return mnist_transform.apply_ds(ds, batch_size=32)  # n / 32 batches


def _model(optimizer="adam", lr=1e-3):
    ts.context.set_seed(0)
    return Model(lenet5()).compile(loss_fn="cross_entropy", optimizer=optimizer, metrics=["accuracy"],
                                   learning_rate=lr)


def _state(model):
    """Every value of the network and the optimizer (moments, step count, learning rate), by name."""
    params = {}
    for p in list(model.network.get_parameters()) + list(model.optimizer.get_parameters()):
        params[p.name] = p.asnumpy().copy()
    return params


def _assert_identical(before, after):
    assert before.keys() == after.keys()
    for name in before:
        assert before[name].dtype == after[name].dtype, name
        assert before[name].tobytes() == after[name].tobytes(), name  # bit for bit


def test_sweep_records_an_increasing_curve_and_restores_everything(mnist):
    model = _model("adam")
    model.train(1, _data(mnist, 96), verbose=0)  # moments and step count are no longer zero
    before = _state(model)
    assert np.any(before["moment1.conv1.weight"] != 0) and before["global_step"].item() == 3
    result = model.lr_find(_data(mnist), start_lr=1e-6, end_lr=1.0, num_steps=25)  # 10 batches, cycled
    assert isinstance(result, LRFinderResult) and not result.diverged
    assert len(result.lrs) == len(result.losses) == len(result.smoothed) == 25
    assert result.lrs[0] == pytest.approx(1e-6) and result.lrs[-1] == pytest.approx(1.0)
    assert all(b > a for a, b in zip(result.lrs, result.lrs[1:]))
    ratios = np.diff(np.log(result.lrs))
    assert np.allclose(ratios, ratios[0])  # exponential: a constant factor per step
    assert all(math.isfinite(v) for v in result.losses)
    assert result.smoothed[0] == pytest.approx(result.losses[0])  # bias correction: no pull to 0
    for name in ("steepest", "valley"):
        value = result.suggestions[name]
        assert result.lrs[0] <= value <= result.lrs[-1] and value in result.lrs
    assert result.valley <= result.minimum
    _assert_identical(before, _state(model))
    assert "steepest=" in repr(result)


def test_training_after_a_sweep_is_the_training_without_it(mnist):
    with_sweep, without = _model("momentum", 0.01), _model("momentum", 0.01)
    for model in (with_sweep, without):
        model.train(1, _data(mnist, 64), verbose=0)
    with_sweep.lr_find(_data(mnist), num_steps=12)
    a = with_sweep.train(2, _data(mnist, 128), verbose=0, initial_epoch=1).history["loss"]
    b = without.train(2, _data(mnist, 128), verbose=0, initial_epoch=1).history["loss"]
    assert a == b
    _assert_identical(_state(without), _state(with_sweep))


def test_a_huge_end_lr_stops_the_sweep_early(mnist):
    model = _model("momentum", 0.01)
    before = _state(model)
    result = model.lr_find(_data(mnist), start_lr=1e-4, end_lr=1e5, num_steps=60)
    assert result.diverged and len(result.lrs) < 60
    finite = [s for s in result.smoothed if math.isfinite(s)]
    best = min(finite)
    # stopped at the first smoothed loss above 4x the best, or after non-finite losses
    assert finite[-1] > 4 * best or not math.isfinite(result.losses[-1])
    assert result.lrs[0] <= result.valley <= result.minimum <= result.lrs[-1]
    _assert_identical(before, _state(model))
    assert all(np.isfinite(v).all() for v in _state(model).values())


def test_plot_writes_a_png_of_the_expected_size(mnist, tmp_path):
    result = _model("momentum", 0.01).lr_find(_data(mnist, 128), num_steps=16)
    path = result.plot(str(tmp_path / "sweep"))
    assert path == str(tmp_path / "sweep.png")
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    assert struct.unpack(">II", head[16:24]) == (600, 400)
    assert os.listdir(tmp_path) == ["sweep.png"]  # the temporary file was renamed, nothing left
    assert (os.stat(path).st_mode & 0o777) == 0o644
    big = result.plot(tmp_path / "big.png", figsize=(8, 5), dpi=50)
    with open(big, "rb") as f:
        assert struct.unpack(">II", f.read(24)[16:24]) == (400, 250)
    with pytest.raises(ValueError, match="PNG"):
        result.plot(tmp_path / "sweep.jpg")


def test_suggestions_on_a_known_curve_skip_nan():
    lrs = list(np.logspace(-6, 0, 61))  # ten points per decade
    x = np.log10(lrs)
    loss = 2.0 - np.tanh(2 * (x + 3)) + np.where(x > -1, 30 * (x + 1) ** 2, 0.0)  # falls fastest at 1e-3
    smoothed = list(loss)
    smoothed[5] = smoothed[30] = float("nan")  # left out, like non-finite losses
    result = LRFinderResult(lrs, list(loss), smoothed)
    assert result.steepest == pytest.approx(1e-3, rel=0.3)
    assert result.minimum == pytest.approx(lrs[int(np.nanargmin(loss))])
    assert result.valley == pytest.approx(result.minimum / 10, rel=1e-6)
    empty = LRFinderResult([1e-3], [float("nan")], [float("nan")])
    assert empty.steepest is None and empty.valley is None


def test_errors_are_explained(mnist):
    with pytest.raises(NotCompiledError, match="compile"):
        Model(lenet5()).lr_find(_data(mnist, 64))
    net = lenet5()
    scheduled = Model(net).compile(loss_fn="cross_entropy", optimizer=Momentum(
        net.trainable_params(), learning_rate=warmup_cosine_lr(0.01, 40), momentum=0.9))
    with pytest.raises(LearningRateError, match="lr_find.*per-step schedule.*constant learning rate"):
        scheduled.lr_find(_data(mnist, 64))
    model = _model()
    with pytest.raises(ValueError, match="end_lr"):
        model.lr_find(_data(mnist, 64), start_lr=1.0, end_lr=0.1)
    with pytest.raises(ValueError, match="num_steps"):
        model.lr_find(_data(mnist, 64), num_steps=1)
    with pytest.raises(ValueError, match="smooth"):
        model.lr_find(_data(mnist, 64), smooth=1.0)
    with pytest.raises(ValueError, match="diverge"):
        model.lr_find(_data(mnist, 64), diverge=0.5)


def test_steepest_is_not_fooled_by_noise_between_neighbouring_steps():
    # 100 steps over 8 decades: neighbours are 0.08 decade apart, so a 0.05 wobble between two
    # of them is a steeper point-to-point "slope" than the real fall centred at 1e-2
    lrs = list(np.logspace(-7, 1, 100))
    x = np.log10(lrs)
    loss = 2.3 - 0.9 * (np.tanh(1.2 * (x + 2)) + 1) + np.random.default_rng(0).normal(0, 0.02, 100)
    loss[1] = loss[0] - 0.2  # the first, barely smoothed steps jump about
    loss = np.where(x > -0.5, loss + 20 * (x + 0.5) ** 2, loss)
    result = LRFinderResult(lrs, list(loss), list(loss))
    assert 1e-2 / 3 < result.steepest < 1e-2 * 3, result


class _OwnLabels(Model):
    """A step over images alone (one-column data): it makes its own labels, every image class 0."""

    def train_step(self, data):
        import mindspore as ms
        return super().train_step(data, ms.ops.zeros((data.shape[0],), ms.int32))


def test_a_custom_train_step_over_one_column_data_sweeps_and_trains(mnist):
    images = _data(mnist, 96).project(["image"])  # 3 batches of images, no label column
    ts.context.set_seed(0)
    model = _OwnLabels(lenet5()).compile(loss_fn="cross_entropy", optimizer="adam", learning_rate=1e-3)
    before = _state(model)
    result = model.lr_find(images, start_lr=1e-5, end_lr=1e-1, num_steps=8)
    assert len(result.lrs) == 8 and all(math.isfinite(v) for v in result.losses)
    _assert_identical(before, _state(model))
    # train() takes the same data through the same check (one helper for both)
    loss = model.train(3, images, verbose=0).history["loss"]
    assert loss[-1] < loss[0] < 2.5  # it learns the labels its step makes
