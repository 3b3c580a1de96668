"""Model.summary: every layer's output shape from one forward pass, parameter totals, weight memory."""

import re

import mindspore as ms
import numpy as np
import pytest

from tinyms import layers
from tinyms.errors import InputShapeError
from tinyms.model import Model, lenet5, resnet18


def _rows(text):
    """{layer name: (output shape, params)} of the table's body."""
    lines = text.splitlines()
    body = lines[2:lines.index(lines[1], 2)]
    rows = {}
    for line in body:
        match = re.match(r"\s*(\S+)\s+(\S+)\s+(\(.*?\)|\[.*\]|\(not called\))\s+([\d,]+|-)$", line)
        assert match, line
        rows.setdefault(match.group(1), (match.group(3), match.group(4)))
    return rows


def test_lenet5_output_shapes_and_totals(capsys):
    net = lenet5()
    text = Model(net).summary()
    assert capsys.readouterr().out.strip() == text.strip()
    rows = _rows(text)
    assert rows["conv1"] == ("(N, 6, 28, 28)", "150")
    assert rows["conv2"] == ("(N, 16, 10, 10)", "2,400")
    assert rows["flatten"][0] == "(N, 400)"
    assert rows["fc1"] == ("(N, 120)", "48,120")
    assert rows["fc3"] == ("(N, 10)", "850")
    assert "Output shape: (N, 10)" in text and "Input shape: (N, 1, 32, 32)" in text
    trainable = sum(int(np.prod(p.shape)) for p in net.trainable_params())
    assert f"Total params: {trainable:,}   Trainable: {trainable:,}   Non-trainable: 0" in text
    assert f"Weight memory: {4 * trainable:,} bytes" in text
    # the Params column adds up to the total
    assert sum(int(p.replace(",", "")) for _, p in rows.values() if p != "-") == trainable


def test_summary_runs_before_training_and_changes_nothing():
    net = lenet5()
    before = {p.name: p.asnumpy().copy() for p in net.get_parameters()}
    mode = ms.get_context("mode")
    net.set_train(True)
    Model(net).summary()
    assert ms.get_context("mode") == mode and net.training
    assert all(np.array_equal(before[p.name], p.asnumpy()) for p in net.get_parameters())


def test_frozen_and_statistics_parameters_are_non_trainable():
    net = resnet18(class_num=10)
    for p in net.conv1.get_parameters():
        p.requires_grad = False
    text = Model(net).summary()
    total = sum(int(np.prod(p.shape)) for p in net.get_parameters())
    trainable = sum(int(np.prod(p.shape)) for p in net.trainable_params())
    assert total - trainable > 9408  # conv1's frozen weights plus the batch-norm statistics
    assert f"Total params: {total:,}   Trainable: {trainable:,}   Non-trainable: {total - trainable:,}" in text
    rows = _rows(text)
    assert rows["layer4.1.conv2"][0] == "(N, 512, 7, 7)"
    assert "Output shape: (N, 10)" in text


def test_custom_network_needs_an_input_shape():
    class Tiny(layers.Layer):
        def __init__(self):
            super().__init__()
            self.fc = layers.Dense(8, 3)
            self.unused = layers.Dense(3, 2)

        def construct(self, x):
            return self.fc(x)

    text = Model(Tiny()).summary()
    assert "pass input_shape=" in text and "Total params: 35" in text
    text = Model(Tiny()).summary(input_shape=(8,))
    rows = _rows(text)
    assert rows["fc"] == ("(N, 3)", "27") and rows["unused"] == ("(not called)", "8")
    with pytest.raises(InputShapeError, match=r"\(N, 5\)"):
        Model(Tiny()).summary(input_shape=(5,))
    with pytest.raises(ValueError, match="one sample"):
        Model(Tiny()).summary(input_shape=(0, 8))
