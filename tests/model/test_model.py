"""tinyms.model.Model: compile, train with callbacks, eval, predict, checkpoints, export, errors."""

import numpy as np
import pytest

import mindspore.dataset as ds

import tinyms as ts
from tinyms.callbacks import (Callback, CheckpointConfig, EarlyStopping, History as CbHistory,
                              LossMonitor, ModelCheckpoint, TimeMonitor)
from tinyms.errors import (CheckpointError, DatasetError, InputShapeError, NotCompiledError,
                           UnknownNameError)
from tinyms.model import History, Model, lenet5, load
from tinyms.optimizers import Momentum

from _by_hand import by_hand


def _digits_like(n=96, seed=0, classes=10):
    """A learnable toy problem: the class is written as a bright bar at a class-specific row."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n).astype(np.int32)
    images = rng.normal(0, 0.1, (n, 1, 32, 32)).astype(np.float32)
    for i, y in enumerate(labels):
        images[i, 0, 3 * y: 3 * y + 2, 4:28] += 2.0
    return images, labels


def _dataset(n=96, batch=16, seed=0, label_dtype=np.int32):
    images, labels = _digits_like(n, seed)
    return ds.NumpySlicesDataset({"image": images, "label": labels.astype(label_dtype)},
                                 shuffle=False).batch(batch, drop_remainder=True)


@pytest.fixture
def model():
    ts.context.set_seed(0)
    m = Model(lenet5())
    m.compile(loss_fn="cross_entropy", optimizer="adam", metrics=["accuracy"], learning_rate=0.003)
    return m


def test_train_learns_and_returns_history(model):
    history = model.train(6, _dataset(), verbose=0)
    assert isinstance(history, History)
    assert history.epoch == [1, 2, 3, 4, 5, 6]
    losses = history.history["loss"]
    assert losses[-1] < losses[0] * 0.5
    result = model.eval(_dataset(seed=1))
    assert set(result) == {"loss", "accuracy"}
    assert result["accuracy"] > 0.9


def test_train_with_valid_dataset_records_val_metrics(model):
    history = model.train(2, _dataset(), verbose=0, valid_dataset=_dataset(seed=1))
    assert set(history.history) == {"loss", "lr", "val_loss", "val_accuracy"}
    assert len(history.history["val_accuracy"]) == 2


def test_compile_with_seed_objects():
    net = lenet5(class_num=10)
    m = Model(net)
    m.compile(loss_fn=ts.losses.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"),
              optimizer=Momentum(net.trainable_params(), learning_rate=0.01, momentum=0.9),
              metrics={"acc": ts.metrics.Accuracy()})
    history = m.train(1, _dataset(), verbose=0)
    assert np.isfinite(history.last("loss"))
    assert "acc" in m.eval(_dataset())


@pytest.mark.parametrize("kwargs, name", [
    ({"loss_fn": "crossentropy"}, "cross_entropy"),
    ({"optimizer": "adamm"}, "momentum"),
    ({"metrics": ["acuracy"]}, "accuracy"),
])
def test_unknown_names_list_valid_ones(kwargs, name):
    with pytest.raises(UnknownNameError) as info:
        Model(lenet5()).compile(**kwargs)
    assert name in str(info.value)


def test_train_before_compile_says_what_to_do():
    with pytest.raises(NotCompiledError, match=r"model.compile\(loss_fn="):
        Model(lenet5()).train(1, _dataset())
    with pytest.raises(NotCompiledError, match="metrics"):
        Model(lenet5()).eval(_dataset())


def test_metrics_only_compile_is_enough_for_eval():
    m = Model(lenet5())
    m.compile(metrics=["accuracy"])
    result = m.eval(_dataset())
    assert set(result) == {"accuracy"}


def test_empty_dataset_is_a_dataset_error(model):
    empty = _dataset(n=8, batch=16)  # drop_remainder leaves no batch
    with pytest.raises(DatasetError, match="empty"):
        model.train(1, empty)


def test_int64_labels_are_accepted(model):
    history = model.train(1, _dataset(label_dtype=np.int64), verbose=0)
    assert np.isfinite(history.last("loss"))


def test_wrong_image_size_for_training_names_the_fix(model):
    images = np.zeros((32, 1, 28, 28), np.float32)
    data = ds.NumpySlicesDataset({"image": images, "label": np.zeros(32, np.int32)}).batch(16)
    with pytest.raises(InputShapeError, match=r"\(N, 1, 32, 32\).*mnist_transform"):
        model.train(1, data)


class _Recorder(Callback):
    def __init__(self):
        self.steps, self.epochs, self.losses = [], [], []

    def on_train_step_end(self, run_context):
        args = run_context.original_args()
        self.steps.append((args.cur_epoch_num, args.cur_step_num))
        self.losses.append(float(args.net_outputs.asnumpy()))

    def on_train_epoch_end(self, run_context):
        args = run_context.original_args()
        self.epochs.append((args.cur_epoch_num, args.epoch_num, args.batch_num))


def test_user_callback_sees_epoch_step_and_loss(model):
    rec = _Recorder()
    history = model.train(2, _dataset(), callbacks=rec, verbose=0)
    assert rec.steps == [(1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6),
                         (2, 7), (2, 8), (2, 9), (2, 10), (2, 11), (2, 12)]
    assert rec.epochs == [(1, 2, 6), (2, 2, 6)]
    assert np.isclose(np.mean(rec.losses[:6]), history.history["loss"][0], rtol=1e-5)


def test_mindspore_callbacks_work(model, tmp_path, capsys):
    ckpt = ModelCheckpoint(prefix="lenet5", directory=str(tmp_path),
                           config=CheckpointConfig(save_checkpoint_steps=4, keep_checkpoint_max=2))
    cb_history = CbHistory()
    returned = model.train(2, _dataset(), callbacks=[ckpt, LossMonitor(per_print_times=3), TimeMonitor(), cb_history],
                           verbose=0)
    saved = sorted(p.name for p in tmp_path.glob("*.ckpt"))
    # saved at global steps 4, 8, 12 = epoch 1 step 4, epoch 2 steps 2 and 6; only the last 2 kept
    assert saved == ["lenet5-2_2.ckpt", "lenet5-2_6.ckpt"]
    out = capsys.readouterr().out
    assert "epoch: 1 step: 3, loss is" in out
    assert "step time" in out or "epoch time" in out
    assert CbHistory is History and returned is cb_history
    assert cb_history.epoch == [1, 2] and len(cb_history.history["loss"]) == 2
    # a ModelCheckpoint file (with optimizer state) loads back into a fresh model
    fresh = Model(lenet5())
    fresh.load_checkpoint(str(tmp_path / "lenet5-2_6.ckpt"))
    x = _digits_like(4)[0]
    assert np.array_equal(fresh.predict(x).asnumpy(), model.predict(x).asnumpy())


def test_early_stopping_stops_training(model):
    stop = EarlyStopping(monitor="eval_loss", patience=0, min_delta=10.0)
    history = model.train(10, _dataset(), callbacks=stop, valid_dataset=_dataset(seed=1), verbose=0)
    assert len(history.epoch) < 10
    assert history.stopped_early


def test_progress_output(model, capsys):
    model.train(1, _dataset(), verbose=2)
    err = capsys.readouterr().err
    assert "Epoch 1/1" in err and "loss:" in err
    model.train(1, _dataset(), verbose=0)
    assert capsys.readouterr().err == ""


def test_predict_shapes_and_bad_inputs():
    m = Model(lenet5())
    out = m.predict(np.zeros((3, 1, 32, 32), np.float64))
    assert isinstance(out, ts.Tensor) and out.shape == (3, 10)
    with pytest.raises(InputShapeError, match=r"\(N, 1, 32, 32\), got \(1, 1, 28, 28\).*mnist_transform"):
        m.predict(np.zeros((1, 1, 28, 28), np.float32))
    with pytest.raises(InputShapeError, match=r"got \(1, 3, 32, 32\)"):
        m.predict(np.zeros((1, 3, 32, 32), np.float32))
    with pytest.raises(InputShapeError, match="expand_dims"):
        m.predict(np.zeros((1, 32, 32), np.float32))


def test_checkpoint_round_trip_is_exact(model, tmp_path):
    model.train(1, _dataset(), verbose=0)
    path = model.save_checkpoint(tmp_path / "sub" / "net")
    assert path.endswith("net.ckpt")
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["net.ckpt"]  # no temp files left
    fresh = Model(lenet5())
    fresh.load_checkpoint(path)
    x = _digits_like(8)[0]
    assert np.array_equal(fresh.predict(x).asnumpy(), model.predict(x).asnumpy())


def test_checkpoint_errors(model, tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        model.load_checkpoint(tmp_path / "missing.ckpt")
    path = model.save_checkpoint(tmp_path / "net.ckpt")
    data = open(path, "rb").read()
    (tmp_path / "half.ckpt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt"):
        model.load_checkpoint(tmp_path / "half.ckpt")
    (tmp_path / "empty.ckpt").write_bytes(b"")
    with pytest.raises(CheckpointError):
        model.load_checkpoint(tmp_path / "empty.ckpt")
    other = Model(lenet5(class_num=5))
    with pytest.raises(CheckpointError, match=r"fc3.weight is \(10, 84\) Float32 in the file but \(5, 84\)"):
        other.load_checkpoint(path)


def test_checkpoint_of_a_different_network_names_parameters(tmp_path):
    from tinyms.layers import Dense, Layer

    class Other(Layer):
        def __init__(self):
            super().__init__()
            self.alpha = Dense(4, 2)

        def construct(self, x):
            return self.alpha(x)

    path = Model(Other()).save_checkpoint(tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match=r"conv1.weight is missing from the file \(and 9 more\)"):
        Model(lenet5()).load_checkpoint(path)


def test_export_mindir_and_load_give_same_outputs(model, tmp_path):
    x = _digits_like(2)[0]
    path = model.export(ts.Tensor(x), tmp_path / "lenet5", file_format="MINDIR")
    assert path.endswith("lenet5.mindir")
    loaded = load(path)
    assert np.allclose(loaded.predict(x).asnumpy(), model.predict(x).asnumpy(), atol=1e-6)
    onnx_path = model.export(x[:1], tmp_path / "lenet5.onnx", file_format="onnx")
    assert onnx_path.endswith("lenet5.onnx")
    import onnxruntime as ort
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    (out,) = sess.run(None, {sess.get_inputs()[0].name: x[:1]})
    assert np.allclose(out, model.predict(x[:1]).asnumpy(), atol=1e-4)
    # a second ONNX export in the same process works too (MindSpore alone fails on it)
    again = model.export(x[:1], tmp_path / "again", file_format="ONNX")
    sess2 = ort.InferenceSession(again, providers=["CPUExecutionProvider"])
    assert np.array_equal(sess2.run(None, {sess2.get_inputs()[0].name: x[:1]})[0], out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.onnx", "lenet5.mindir", "lenet5.onnx"]
    with pytest.raises(UnknownNameError, match="MINDIR, ONNX"):
        model.export(x, tmp_path / "x", file_format="AIR")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.mindir")


def test_summary_counts_parameters(capsys):
    text = Model(lenet5()).summary()
    assert "Total params: 61,684" in text
    assert "conv1" in text and "fc3" in text and "(N, 1, 32, 32)" in text
    assert "Total params" in capsys.readouterr().out


def test_a_network_ending_in_global_pooling_trains_at_another_image_size(tmp_path):
    # ResNet-18's configuration says 224x224 (ImageNet); CIFAR's 32x32 is a legitimate size for it
    from tinyms.serving.errors import ServableConfigError
    from tinyms.model import create_model
    from tinyms.serving import write_servable
    from tinyms.vision import cifar10_transform

    rng = np.random.default_rng(0)
    images = rng.standard_normal((16, 3, 32, 32)).astype(np.float32)
    labels = rng.integers(0, 10, 16).astype(np.int32)
    data = ds.NumpySlicesDataset({"image": images, "label": labels}, shuffle=False).batch(8)
    model = Model(create_model("resnet18", class_num=10))
    model.compile(loss_fn="cross_entropy", optimizer="momentum", metrics=["accuracy"], learning_rate=0.01)
    history = model.train(1, data, verbose=0)
    assert np.isfinite(history.last("loss"))
    assert model.network.default_cfg.input_shape == (3, 32, 32)        # the size it was trained on
    assert model.predict(images[:2]).shape == (2, 10)
    with pytest.raises(InputShapeError, match=r"\(N, 3, 32, 32\), got \(1, 3, 224, 224\)"):
        model.predict(np.zeros((1, 3, 224, 224), np.float32))         # prediction stays strict
    results = model.eval(data)
    loss, accuracy = by_hand(model, images, labels)  # the same 16 images through predict and NumPy
    assert model.eval_samples == 16 and results["accuracy"] == accuracy
    assert results["loss"] == pytest.approx(loss, rel=1e-5)
    # the config's own preprocessing still makes 224x224: a servable needs the training transform
    with pytest.raises(ServableConfigError):
        write_servable(str(tmp_path / "no"), "resnet18", model.network, formats=("ckpt",))
    write_servable(str(tmp_path / "yes"), "resnet18", model.network, formats=("ckpt",), transform=cifar10_transform)
    assert (tmp_path / "yes" / "servable.json").is_file()


def test_a_network_that_cannot_take_another_size_says_what_it_takes(model):
    images = np.zeros((16, 1, 28, 28), np.float32)
    data = ds.NumpySlicesDataset({"image": images, "label": np.zeros(16, np.int32)}).batch(8)
    with pytest.raises(InputShapeError, match=r"\(N, 1, 32, 32\), got \(8, 1, 28, 28\).*mnist_transform.*"
                                              r"cannot run on that size either"):
        model.eval(data)
