"""History: per-epoch and per-step records of real training runs, plots, CSV, and the CSVLogger callback."""

import csv
import math
import os

import numpy as np
import pytest
from PIL import Image

import mindspore as ms
from mindspore import nn
from mindspore.train import Model as MsModel

import tinyms as ts
from tinyms.callbacks import Callback, CSVLogger
from tinyms.data import MnistDataset, sample_dataset
from tinyms.model import History, Model, lenet5
from tinyms.optimizers import Momentum, warmup_cosine_lr
from tinyms.vision import mnist_transform

TRAIN_SAMPLES, BATCH = 320, 32
STEPS = TRAIN_SAMPLES // BATCH  # 10 steps per epoch


def _mnist(split, samples=None, batch=BATCH):
    folder = os.path.join(sample_dataset("mnist"), split)
    if split == "train":
        return mnist_transform.apply_ds(MnistDataset(folder, num_samples=samples, shuffle=True), batch_size=batch)
    return mnist_transform.apply_ds(MnistDataset(folder, num_samples=samples, shuffle=False), batch_size=batch,
                                    is_training=False)


def _model(optimizer="adam", lr=0.003):
    ts.context.set_seed(0)
    net = lenet5()
    model = Model(net)
    if isinstance(optimizer, str):
        model.compile("cross_entropy", optimizer, ["accuracy"], learning_rate=lr)
    else:
        model.compile("cross_entropy", optimizer(net), ["accuracy"])
    return model


@pytest.fixture(scope="module")
def trained():
    """Two epochs of LeNet-5 on 320 MNIST sample images, validated on 200 test images."""
    model = _model()
    history = model.train(2, _mnist("train", TRAIN_SAMPLES), verbose=0, valid_dataset=_mnist("test", 200, 100))
    return model, history


def _read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def _png_size(path):
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


# ------------------------------------------------------------------- records
def test_train_records_epochs_and_every_step(trained):
    _, history = trained
    assert history.epoch == [1, 2]
    assert list(history.history) == ["loss", "lr", "val_loss", "val_accuracy"]
    assert history.history["lr"] == [0.003, 0.003]  # the compiled rate, as the user wrote it
    steps = history.steps
    assert steps["epoch"] == [1] * STEPS + [2] * STEPS
    assert steps["step"] == list(range(1, 2 * STEPS + 1))
    assert steps["lr"] == [0.003] * (2 * STEPS)
    for e in (1, 2):
        per_step = [l for l, ep in zip(steps["loss"], steps["epoch"]) if ep == e]
        assert np.mean(per_step) == pytest.approx(history.history["loss"][e - 1], rel=1e-12)
        times = [t for t, ep in zip(steps["time"], steps["epoch"]) if ep == e]
        assert all(b >= a for a, b in zip(times, times[1:]))
        assert times[-1] <= history.seconds[e - 1]
    # it learned something, and the per-step record shows it
    assert np.mean(steps["loss"][-3:]) < np.mean(steps["loss"][:3])


def test_per_step_schedule_rates_are_recorded():
    rates = warmup_cosine_lr(0.01, total_steps=2 * STEPS, warmup_steps=4)
    model = _model(lambda net: Momentum(net.trainable_params(), learning_rate=rates, momentum=0.9))
    history = model.train(2, _mnist("train", TRAIN_SAMPLES), verbose=0)
    expected = [float(np.float32(r)) for r in np.asarray(rates).ravel()]
    assert history.steps["lr"] == pytest.approx(expected, rel=1e-6)
    assert history.history["lr"] == pytest.approx([expected[STEPS - 1], expected[-1]], rel=1e-6)


def test_learning_rate_schedule_cell_rates_are_recorded():
    schedule = nn.ExponentialDecayLR(0.01, 0.5, decay_steps=STEPS)
    model = _model(lambda net: Momentum(net.trainable_params(), learning_rate=schedule, momentum=0.9))
    history = model.train(1, _mnist("train", TRAIN_SAMPLES), verbose=0)
    assert history.steps["lr"] == pytest.approx([0.01 * 0.5 ** (i / STEPS) for i in range(STEPS)], rel=1e-5)


# ---------------------------------------------------------------------- plot
def test_plot_writes_a_png_of_the_documented_size(trained, tmp_path):
    _, history = trained
    out = history.plot(tmp_path / "curves.png")
    assert out == str(tmp_path / "curves.png")
    # panels: loss, accuracy (the rate did not change, so no rate panel); 5 x 4 inches each at 100 dpi
    assert _png_size(out) == (1000, 400)
    assert os.listdir(tmp_path) == ["curves.png"]  # no temporary file left behind
    out = history.plot(tmp_path / "big", metrics=["accuracy", "lr"], figsize=(6, 3), dpi=50)
    assert out.endswith("big.png") and _png_size(out) == (300, 150)


def test_plot_draws_the_rate_panel_when_the_rate_changes(tmp_path):
    history = History()
    for e in (1, 2, 3):
        for i in range(4):
            history._record_step(e, 4 * (e - 1) + i + 1, {"loss": 1.0 / (e + i), "lr": 0.1 / e}, 0.1 * i)
        history._record(e, {"loss": 1.0 / e, "lr": 0.1 / e, "accuracy": 0.5 + 0.1 * e}, 1.0)
    assert _png_size(history.plot(tmp_path / "c.png")) == (1500, 400)


def test_plot_errors_say_what_is_wrong(trained, tmp_path):
    _, history = trained
    with pytest.raises(ValueError, match="empty"):
        History().plot(tmp_path / "x.png")
    with pytest.raises(ValueError, match="no metric 'f1'.*accuracy"):
        history.plot(tmp_path / "x.png", metrics=["f1"])
    with pytest.raises(ValueError, match=r"\.png"):
        history.plot(tmp_path / "x.jpg")
    assert os.listdir(tmp_path) == []


def test_plot_on_screen_returns_the_figure(trained, monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    shown = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(True))
    fig = trained[1].plot()
    try:
        assert shown == [True]
        assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
        labels = fig.axes[0].get_legend_handles_labels()[1]
        assert labels == ["train (per step)", "train", "validation"]
    finally:
        plt.close(fig)


# ----------------------------------------------------------------------- CSV
def test_to_csv_rows_are_the_history_values(trained, tmp_path):
    _, history = trained
    path = history.to_csv(tmp_path / "sub" / "history.csv")
    header, rows = _read_csv(path)
    assert header == ["epoch", "loss", "lr", "val_loss", "val_accuracy", "seconds"]
    assert [int(r[0]) for r in rows] == history.epoch
    for i, key in enumerate(header[1:-1], start=1):
        assert [float(r[i]) for r in rows] == history.history[key]  # full precision
    assert [float(r[-1]) for r in rows] == history.seconds
    back = History.from_csv(path)
    assert back.epoch == history.epoch and back.history == history.history and back.seconds == history.seconds
    header, rows = _read_csv(history.to_csv(tmp_path / "steps.csv", steps=True))
    assert header == ["epoch", "step", "loss", "lr", "time"]
    assert [float(r[2]) for r in rows] == history.steps["loss"]
    assert sorted(os.listdir(tmp_path / "sub")) == ["history.csv"]


def test_to_csv_of_an_empty_history_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        History().to_csv(tmp_path / "h.csv")
    assert not (tmp_path / "h.csv").exists()


def test_keys_missing_in_some_epochs_stay_aligned(tmp_path):
    history = History()
    history._record(1, {"loss": 1.0}, 1.0)
    history._record(2, {"loss": 0.5, "val_loss": 0.7}, 1.0)
    assert history.history["val_loss"][1] == 0.7 and math.isnan(history.history["val_loss"][0])
    _, rows = _read_csv(history.to_csv(tmp_path / "h.csv"))
    assert rows[0] == ["1", "1.0", "", "1.0"]


class _FileWatcher(Callback):
    """Reads the CSVLogger's file at each epoch end (it runs after the logger)."""

    def __init__(self, path):
        super().__init__()
        self.path, self.seen = path, []

    def on_train_epoch_end(self, run_context):
        self.seen.append(_read_csv(self.path)[1])


def test_csv_logger_writes_each_row_while_training(tmp_path):
    path = tmp_path / "run" / "log.csv"
    watcher = _FileWatcher(path)
    model = _model()
    history = model.train(2, _mnist("train", TRAIN_SAMPLES), callbacks=[CSVLogger(path), watcher], verbose=0,
                          valid_dataset=_mnist("test", 100, 100))
    assert [len(rows) for rows in watcher.seen] == [1, 2]  # the row was on disk when epoch 1 ended
    header, rows = _read_csv(path)
    assert header == ["epoch", "loss", "lr", "val_loss", "val_accuracy", "seconds"]
    for i, key in enumerate(header[1:-1], start=1):
        assert [float(r[i]) for r in rows] == history.history[key]
    # each epoch's own duration (not a running total), timed by the logger around the same interval
    assert [float(r[-1]) for r in rows] == pytest.approx(history.seconds, rel=0.01, abs=0.05)
    # append: a resumed run adds rows under the same header
    model.train(3, _mnist("train", TRAIN_SAMPLES), callbacks=[CSVLogger(path, append=True)], verbose=0,
                initial_epoch=2, valid_dataset=_mnist("test", 100, 100))
    header2, rows = _read_csv(path)
    assert header2 == header and [int(r[0]) for r in rows] == [1, 2, 3]
    with pytest.raises(ValueError, match="one character"):
        CSVLogger(path, separator=";;")


def test_history_and_csv_logger_under_mindspore_model(tmp_path):
    ts.context.set_seed(0)
    net = lenet5()
    loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    rates = warmup_cosine_lr(0.01, total_steps=2 * STEPS, warmup_steps=3)
    opt = nn.Momentum(net.trainable_params(), learning_rate=rates, momentum=0.9)
    history = History()
    path = tmp_path / "ms.csv"
    ms.set_context(mode=ms.GRAPH_MODE)
    MsModel(net, loss, opt, metrics={"accuracy": nn.Accuracy()}).fit(
        2, _mnist("train", TRAIN_SAMPLES), valid_dataset=_mnist("test", 100, 100),
        callbacks=[history, CSVLogger(path)], dataset_sink_mode=False)
    assert history.epoch == [1, 2]
    assert set(history.history) == {"loss", "lr", "val_loss", "val_accuracy"}
    assert len(history.steps["loss"]) == 2 * STEPS and history.steps["step"][-1] == 2 * STEPS
    expected = [float(np.float32(r)) for r in np.asarray(rates).ravel()]
    assert history.steps["lr"] == pytest.approx(expected, rel=1e-6)
    header, rows = _read_csv(path)
    assert header == ["epoch", *history.history, "seconds"]
    for i, key in enumerate(header[1:-1], start=1):
        assert [float(r[i]) for r in rows] == history.history[key]
