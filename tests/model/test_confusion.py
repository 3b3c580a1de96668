"""Confusion matrix and per-class precision/recall/F1: by hand, from Model.eval on MNIST, and plotted."""

import os

import numpy as np
import pytest
from PIL import Image

import tinyms as ts
from tinyms.data import MnistDataset, sample_dataset
from tinyms.errors import DatasetError
from tinyms.metrics import ClassificationReport, classification_report, plot_confusion_matrix
from tinyms.model import Model, lenet5
from tinyms.vision import mnist_transform


def _mnist(split, samples=None, batch=32):
    folder = os.path.join(sample_dataset("mnist"), split)
    training = split == "train"
    return mnist_transform.apply_ds(MnistDataset(folder, num_samples=samples, shuffle=training),
                                    batch_size=batch, is_training=training)


def _png_size(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.load()
        return image.size


# -------------------------------------------------------------------- by hand
def test_report_on_a_hand_made_example():
    # class 0: 3 samples, 2 right; class 1: 2 samples, both right; class 2: 1 sample, predicted 0;
    # class 3: no samples, never predicted (its ratios are 0.0 by definition)
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 1, 0, 1, 1, 0]
    r = classification_report(y_true, y_pred, class_num=4, labels=["a", "b", "c", "d"])
    assert r.matrix.tolist() == [[2, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    assert r.matrix.dtype == np.int64
    assert r.support.tolist() == [3, 2, 1, 0]
    assert r.precision.tolist() == pytest.approx([2 / 3, 2 / 3, 0.0, 0.0])
    assert r.recall.tolist() == pytest.approx([2 / 3, 1.0, 0.0, 0.0])
    assert r.f1.tolist() == pytest.approx([2 / 3, 0.8, 0.0, 0.0])
    assert r.accuracy == pytest.approx(4 / 6)
    assert r.macro["f1"] == pytest.approx((2 / 3 + 0.8) / 4)
    assert r.weighted["recall"] == pytest.approx(r.accuracy)  # support-weighted recall is accuracy
    table = str(r)
    assert table.splitlines()[0].split() == ["class", "precision", "recall", "f1", "support"]
    assert "b" in table and "0.8000" in table and "macro avg" in table
    assert r.to_dict()["b"] == {"precision": pytest.approx(2 / 3), "recall": 1.0, "f1": pytest.approx(0.8),
                                "support": 2}
    assert np.asarray(r).tolist() == r.matrix.tolist()


def test_bad_inputs_are_explained():
    with pytest.raises(ValueError, match="outside 0..2.*class_num"):
        classification_report([0, 3], [0, 1], class_num=3)
    with pytest.raises(ValueError, match="3 samples but y_pred has 2"):
        classification_report([0, 1, 2], [0, 1], class_num=3)
    with pytest.raises(ValueError, match="argmax"):
        classification_report(np.zeros((2, 3)), [0, 1], class_num=3)
    with pytest.raises(ValueError, match="one name per class"):
        classification_report([0, 1], [0, 1], class_num=2, labels=["x"])
    with pytest.raises(ValueError, match="square"):
        ClassificationReport([[1, 2, 3]])


# ----------------------------------------------------------------- Model.eval
@pytest.fixture(scope="module")
def evaluated():
    ts.context.set_seed(0)
    model = Model(lenet5())
    model.compile("cross_entropy", "adam", ["accuracy"], learning_rate=0.003)
    model.train(1, _mnist("train", 640), verbose=0)
    test = _mnist("test", batch=96)  # 1000 images: 10 full batches and a partial one
    return model, model.eval(test, confusion_matrix=True), model.eval(test)


def test_eval_confusion_matrix_counts_every_sample_once(evaluated):
    model, results, plain = evaluated
    report = results["confusion_matrix"]
    assert isinstance(report, ClassificationReport)
    assert set(results) == {"loss", "accuracy", "confusion_matrix"}
    assert {k: results[k] for k in plain} == plain  # the usual metrics are unchanged
    assert report.matrix.shape == (10, 10)
    assert report.matrix.sum() == model.eval_samples == 1000
    assert report.support.tolist() == [100] * 10  # the sample's test split holds 100 of each digit
    assert np.trace(report.matrix) / report.matrix.sum() == pytest.approx(results["accuracy"], abs=1e-12)
    assert report.accuracy == pytest.approx(results["accuracy"], abs=1e-12)
    assert report.labels == list(model.network.default_cfg.labels)


def test_eval_confusion_matches_predictions_by_hand(evaluated):
    model, results, _ = evaluated
    test = _mnist("test", samples=200, batch=64)
    y_true, y_pred = [], []
    for data, label in test.create_tuple_iterator(num_epochs=1):
        y_pred.append(model.predict(data).asnumpy().argmax(axis=1))
        y_true.append(label.asnumpy())
    expected = classification_report(np.concatenate(y_true), np.concatenate(y_pred), class_num=10)
    got = model.eval(test, confusion_matrix=True)["confusion_matrix"]
    assert got.matrix.tolist() == expected.matrix.tolist()


def test_eval_confusion_without_compiled_metrics():
    model = Model(lenet5())
    report = model.eval(_mnist("test", samples=64), confusion_matrix=True)["confusion_matrix"]
    assert report.total == 64


def test_eval_confusion_rejects_labels_beyond_the_classes():
    import mindspore.dataset as ds
    images = np.zeros((8, 1, 32, 32), np.float32)
    labels = np.array([0, 1, 2, 3, 4, 5, 6, 12], np.int32)
    data = ds.NumpySlicesDataset({"image": images, "label": labels}, shuffle=False).batch(4)
    with pytest.raises(DatasetError, match="label 12 is outside"):
        Model(lenet5()).eval(data, confusion_matrix=True)


# ----------------------------------------------------------------------- plot
def test_plot_confusion_matrix_png(evaluated, tmp_path):
    report = evaluated[1]["confusion_matrix"]
    path = plot_confusion_matrix(report, path=tmp_path / "cm.png")
    assert path == str(tmp_path / "cm.png")
    assert _png_size(path) == (700, 700)  # 0.5 inch per class + 2, at 100 dpi
    assert _png_size(report.plot(tmp_path / "norm.png", normalize=True, dpi=50)) == (350, 350)
    assert sorted(os.listdir(tmp_path)) == ["cm.png", "norm.png"]
    small = plot_confusion_matrix([[5, 1], [2, 7]], labels=["cat", "dog"], path=tmp_path / "small.png")
    assert _png_size(small) == (400, 400)  # at least 4 inches
    with pytest.raises(ValueError, match="one name per class"):
        plot_confusion_matrix([[5, 1], [2, 7]], labels=["cat"], path=tmp_path / "x.png")


def test_plot_confusion_matrix_shows_names_and_counts(monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    fig = plot_confusion_matrix([[5, 1], [2, 7]], labels=["cat", "dog"])
    try:
        ax = fig.axes[0]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog"]
        assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog"]
        assert sorted(t.get_text() for t in ax.texts) == ["1", "2", "5", "7"]
    finally:
        plt.close(fig)


def test_import_tinyms_and_metrics_do_not_load_matplotlib():
    import subprocess
    import sys
    code = "import sys, tinyms, tinyms.metrics, tinyms.callbacks; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
