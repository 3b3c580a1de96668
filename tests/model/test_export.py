"""One export path for Model.export and servables: verified ONNX, named unsupported operators."""

import os

import numpy as np
import onnxruntime as ort
import pytest

from tinyms.errors import ExportError, UnknownNameError
from tinyms.layers import AdaptiveAvgPool2d, Conv2d, Dense, Flatten, Layer
from tinyms.model import Model, lenet5, load


class _PoolNet(Layer):
    def __init__(self):
        super().__init__()
        self.conv = Conv2d(1, 4, 3)
        self.pool = AdaptiveAvgPool2d(1)
        self.flat = Flatten()
        self.fc = Dense(4, 3)

    def construct(self, x):
        return self.fc(self.flat(self.pool(self.conv(x))))


def test_onnx_export_has_a_dynamic_batch_and_matches_the_network(tmp_path):
    model = Model(lenet5())
    x = np.random.default_rng(0).standard_normal((5, 1, 32, 32)).astype(np.float32)
    for i in range(2):  # MindSpore alone fails on a second ONNX export of one network
        path = model.export(np.zeros((1, 1, 32, 32), np.float32), tmp_path / f"net{i}", "onnx")
        assert path.endswith(f"net{i}.onnx") and os.stat(path).st_mode & 0o777 == 0o644
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: x})[0]
        np.testing.assert_allclose(got, model.predict(x).asnumpy(), rtol=1e-4, atol=1e-4)
    assert sorted(os.listdir(tmp_path)) == ["net0.onnx", "net1.onnx"]  # no temporary leftovers


def test_unsupported_onnx_operator_is_named_and_mindir_is_suggested(tmp_path):
    model = Model(_PoolNet())
    with pytest.raises(ExportError, match=r"AdaptiveAvgPool2D.*MINDIR"):
        model.export(np.zeros((1, 1, 8, 8), np.float32), tmp_path / "pool", "ONNX")
    assert os.listdir(tmp_path) == []
    path = model.export(np.zeros((1, 1, 8, 8), np.float32), tmp_path / "pool", "MINDIR")
    x = np.ones((1, 1, 8, 8), np.float32)
    np.testing.assert_allclose(load(path).predict(x).asnumpy(), model.predict(x).asnumpy(), atol=1e-6)


def test_unknown_format_lists_the_valid_ones(tmp_path):
    with pytest.raises(UnknownNameError, match="MINDIR, ONNX"):
        Model(lenet5()).export(np.zeros((1, 1, 32, 32), np.float32), tmp_path / "x", "tflite")


def test_mindir_above_mindspores_split_size_is_an_export_error_and_leaves_nothing(tmp_path, monkeypatch):
    # Above 1 GiB of weights MindSpore writes <name>_graph.mindir plus a folder; shrink that limit
    # to LeNet5's 240 KiB instead of building a 1 GiB network.
    from mindspore.train import serialization

    monkeypatch.setattr(serialization, "TOTAL_SAVE", 100)  # KiB
    model = Model(lenet5())
    with pytest.raises(ExportError, match=r"0\.00 GiB.*save_checkpoint"):
        model.export(np.zeros((1, 1, 32, 32), np.float32), tmp_path / "big", "MINDIR")
    assert os.listdir(tmp_path) == []


def test_onnx_agreement_is_measured_against_the_outputs_scale():
    from tinyms.model._export import _agrees

    big = np.array([[2.8e8, -1.5e8, 3.0]], np.float32)
    assert _agrees(big + np.array([[128.0, -64.0, 100.0]], np.float32), big)   # 5e-7 of the scale
    assert not _agrees(big * 1.001, big)                                         # 1e-3 of it
    small = np.array([[0.5, -0.2]], np.float32)
    assert _agrees(small + 5e-5, small) and not _agrees(small + 5e-4, small)     # scale at least 1
    assert not _agrees(small[:, :1], small)                                      # shapes differ
    assert not _agrees(np.array([[np.nan, 1.0]], np.float32), np.array([[0.0, 1.0]], np.float32))


class _FixedBatch(Layer):
    """Reshapes to its export batch size, so its ONNX graph cannot take another batch size."""

    def __init__(self):
        super().__init__()
        self.fc = Dense(16, 3)

    def construct(self, x):
        return self.fc(x.reshape(2, 16))


def test_onnx_batch_stays_fixed_when_another_batch_size_would_compute_wrong_outputs(tmp_path):
    model = Model(_FixedBatch())
    x = np.random.default_rng(0).standard_normal((2, 1, 4, 4)).astype(np.float32)
    path = model.export(x, tmp_path / "fixed", "ONNX")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert [d.dim_value for d in _onnx_input_dims(path)] == [2, 1, 4, 4]  # not the symbolic "batch"
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, model.predict(x).asnumpy(), rtol=1e-5, atol=1e-5)
    assert os.listdir(tmp_path) == ["fixed.onnx"]  # the tried dynamic file is gone too


def _onnx_input_dims(path):
    import onnx

    return onnx.load(path).graph.input[0].type.tensor_type.shape.dim
