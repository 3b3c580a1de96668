"""MindSpore and TinyMS 0.3 calling conventions; exact evaluation; beginner errors are sentences."""

import os
import subprocess
import sys
import textwrap

import mindspore.dataset as ds
import numpy as np
import pytest

import tinyms as ts
from tinyms.callbacks import Callback
from tinyms.data import MnistDataset, sample_dataset
from tinyms.errors import DatasetError, InputShapeError, NotCompiledError
from tinyms.losses import SoftmaxCrossEntropyWithLogits
from tinyms.metrics import Accuracy
from tinyms.model import Model, lenet5
from tinyms.optimizers import Momentum
from tinyms.vision import mnist_transform

from _by_hand import by_hand
from _stripes import stripe_digits as _arrays


def _dataset(n=64, seed=0, batch=16, drop=False, shuffle=False, classes=10, image_dtype=np.float32):
    images, labels = _arrays(n, seed, classes)
    return ds.NumpySlicesDataset({"image": images.astype(image_dtype), "label": labels},
                                 shuffle=shuffle).batch(batch, drop_remainder=drop)


class _Counter(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_step_end(self, run_context):
        p = run_context.original_args()
        self.calls.append(("train_step", p.cur_epoch_num, p.cur_step_num))

    def on_eval_begin(self, run_context):
        self.calls.append(("eval_begin",))

    def on_eval_step_end(self, run_context):
        self.calls.append(("eval_step", run_context.original_args().cur_step_num))

    def on_eval_end(self, run_context):
        self.calls.append(("eval_end", dict(run_context.original_args().metrics)))


@pytest.fixture
def model():
    ts.context.set_seed(0)
    net = lenet5()
    m = Model(net)
    m.compile(SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"), Momentum(net.trainable_params(), 0.01, 0.9),
              metrics={"Accuracy": Accuracy()})
    return m


def test_mindspore_positional_order_for_train_and_eval(model):
    cb = _Counter()
    history = model.train(2, _dataset(drop=True), [cb], False, -1)
    assert [c for c in cb.calls if c[0] == "train_step"][-1] == ("train_step", 2, 8)
    assert history.epoch == [1, 2]
    cb.calls.clear()
    results = model.eval(_dataset(n=40), [cb], False)
    # callbacks run during eval, over all 3 batches (16 + 16 + 8)
    assert cb.calls[0] == ("eval_begin",)
    assert [c[1] for c in cb.calls if c[0] == "eval_step"] == [1, 2, 3]
    assert cb.calls[-1] == ("eval_end", results)
    assert set(results) == {"loss", "Accuracy"}


def test_tinyms_options_are_keyword_only(model):
    with pytest.raises(TypeError):
        model.eval(_dataset(), None, False, 1)
    model.train(1, _dataset(), verbose=0, valid_dataset=_dataset(seed=1))


def test_sink_size_sets_the_steps_per_epoch_as_in_mindspore(model):
    cb = _Counter()
    model.train(3, _dataset(drop=True), callbacks=[cb], dataset_sink_mode=True, sink_size=3, verbose=0)
    steps = [c[1:] for c in cb.calls if c[0] == "train_step"]
    assert steps == [(1, 1), (1, 2), (1, 3), (2, 4), (2, 5), (2, 6), (3, 7), (3, 8), (3, 9)]
    with pytest.raises(ValueError, match="sink_size"):
        model.train(1, _dataset(), dataset_sink_mode=True, sink_size=0)


def test_initial_epoch_continues_the_count(model):
    cb = _Counter()
    history = model.train(3, _dataset(drop=True), callbacks=[cb], initial_epoch=1, verbose=0)
    assert history.epoch == [2, 3]
    assert [c[1] for c in cb.calls if c[0] == "train_step"] == [2] * 4 + [3] * 4
    with pytest.raises(ValueError, match="initial_epoch"):
        model.train(2, _dataset(), initial_epoch=2)


def _expected_accuracy(model, n, seed):
    images, labels = _arrays(n, seed)
    logits = model.predict(images).asnumpy()
    return float(np.mean(logits.argmax(1) == labels))


def test_eval_scores_every_sample_once_whatever_the_pipeline(model):
    model.train(2, _dataset(drop=True), verbose=0)
    expected = _expected_accuracy(model, 100, seed=4)
    # a training-style pipeline: shuffled, repeated, remainder dropped
    training_style = _dataset(n=100, seed=4, batch=32, drop=True, shuffle=True).repeat(2)
    first = model.eval(training_style)
    assert model.eval_samples == 100
    second = model.eval(training_style)
    assert first == second
    assert first["Accuracy"] == pytest.approx(expected, abs=1e-12)
    exact = model.eval(_dataset(n=100, seed=4, batch=32))
    assert exact["Accuracy"] == first["Accuracy"]
    assert exact["loss"] == pytest.approx(first["loss"], rel=1e-6)
    # the user's pipeline itself is untouched: it still drops the remainder
    assert training_style.get_dataset_size() == 6


def test_original_tinyms_lenet5_evaluation_script_runs_and_is_exact():
    path = sample_dataset("mnist")
    net = lenet5()
    model = Model(net)
    model.compile(SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"), Momentum(net.trainable_params(), 0.01, 0.9),
                  metrics={"Accuracy": Accuracy()})

    def create_dataset(data_path, batch_size=32, repeat_size=1, num_parallel_workers=1):
        mnist_ds = MnistDataset(data_path, num_parallel_workers=num_parallel_workers, shuffle=True)
        return mnist_transform.apply_ds(mnist_ds, repeat_size=repeat_size, batch_size=batch_size,
                                        num_parallel_workers=num_parallel_workers)

    ds_eval = create_dataset(os.path.join(path, "test"))
    acc = model.eval(ds_eval, dataset_sink_mode=False)
    assert set(acc) == {"loss", "Accuracy"}
    assert model.eval_samples == 1000  # not 992: the partial batch counts
    assert model.eval(ds_eval, dataset_sink_mode=False) == acc


def test_labels_outside_class_num_are_dataset_errors():
    model = Model(lenet5(class_num=10))
    model.compile(loss_fn="cross_entropy", optimizer="momentum", metrics=["accuracy"])
    with pytest.raises(DatasetError, match=r"label 1[0-9] is outside the network's 10 classes.*class_num"):
        model.train(1, _dataset(n=64, classes=12), verbose=0)
    with pytest.raises(DatasetError, match="outside the network's 10 classes"):
        model.eval(_dataset(n=64, classes=12))


def test_wrong_dtypes_are_explained_and_float64_is_accepted():
    model = Model(lenet5())
    model.compile(loss_fn="cross_entropy", optimizer="momentum", metrics=["accuracy"])
    with pytest.raises(InputShapeError, match="UInt8.*tinyms.vision transform"):
        model.train(1, _dataset(image_dtype=np.uint8), verbose=0)
    history = model.train(1, _dataset(image_dtype=np.float64), verbose=0)
    assert np.isfinite(history.last("loss"))
    results = model.eval(_dataset(image_dtype=np.float64))
    images, labels = _arrays(64, 0, 10)
    loss, accuracy = by_hand(model, images, labels)           # float32 through predict, then NumPy
    assert model.eval_samples == 64 and results["accuracy"] == accuracy
    assert results["loss"] == pytest.approx(loss, rel=1e-5)
    assert model.eval(_dataset())["accuracy"] == accuracy     # float64 evaluates as its float32 copy


def test_loss_metric_without_a_loss_is_a_clear_error():
    model = Model(lenet5())
    model.compile(metrics=["loss"])
    with pytest.raises(NotCompiledError, match="loss function"):
        model.eval(_dataset())
    model.compile(loss_fn="cross_entropy", metrics=["loss", "accuracy"])
    results = model.eval(_dataset(n=70))                       # 4 full batches of 16 and one of 6
    loss, accuracy = by_hand(model, *_arrays(70, 0, 10))
    assert model.eval_samples == 70 and results["accuracy"] == accuracy
    assert results["loss"] == pytest.approx(loss, rel=1e-5)    # the mean over samples, not over batches


def test_a_confidently_wrong_network_has_a_finite_loss_in_evaluation_and_training():
    # MindSpore's sparse cross-entropy kernel says inf once a true class's logit is ~88 below the
    # largest; TinyMS's "cross_entropy" reports the real loss (and training is not "diverged")
    ts.context.set_seed(0)
    net = lenet5()
    net.fc3.weight.set_data(net.fc3.weight * 3000.0)             # logits thousands apart
    model = Model(net)
    model.compile(loss_fn="cross_entropy", optimizer="momentum", metrics=["accuracy"], learning_rate=1e-6)
    images, labels = _arrays(40, 0, 10)
    loss, accuracy = by_hand(model, images, labels)
    assert 100 < loss < 1e6                                      # finite, and far beyond the untrained ln 10
    results = model.eval(_dataset(n=40))
    assert results["loss"] == pytest.approx(loss, rel=1e-4) and results["accuracy"] == accuracy
    history = model.train(1, _dataset(n=40), verbose=0)
    assert np.isfinite(history.last("loss")) and history.last("loss") > 100


def test_a_graph_compile_failure_writes_nothing_into_the_working_directory(tmp_path):
    code = textwrap.dedent("""
        import numpy as np, os
        from tinyms.layers import Layer, Dense
        from tinyms.model import Model
        from tinyms.errors import InputShapeError
        class Net(Layer):
            def __init__(self):
                super().__init__()
                self.d = Dense(4, 2)
            def construct(self, x):
                return self.d(x)
        try:
            Model(Net()).predict(np.zeros((2, 5), np.float32))
        except InputShapeError as err:
            print("InputShapeError")
        print(sorted(os.listdir(".")))
    """)
    env = dict(os.environ, TINYMS_HOME=str(tmp_path / "home"))
    env.pop("MS_OM_PATH", None)
    cwd = tmp_path / "work"
    cwd.mkdir()
    script = tmp_path / "script.py"  # MindSpore compiles only code that lives in a file
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["InputShapeError", "[]"]
    assert list((tmp_path / "home" / "debug").rglob("analyze_fail.ir"))


def test_setting_the_device_in_use_again_after_a_model_ran_is_accepted():
    # every TinyMS 0.3 test and script starts with set_context(mode=GRAPH_MODE, device_target="CPU"); a
    # pytest process runs many of them, after MindSpore's runtime started on the first
    import numpy as np
    from tinyms import context
    from tinyms.model import Model, lenet5

    Model(lenet5()).predict(np.zeros((1, 1, 32, 32), np.float32))
    context.set_context(mode=context.GRAPH_MODE, device_target="CPU")
    assert context.get_context("device_target") == "CPU"
    with pytest.raises(ValueError, match="must be set before anything runs"):
        context.set_context(device_target="GPU")
