"""postprocess: logits -> named, ranked, JSON-ready predictions."""

import json

import numpy as np
import pytest
from mindspore import Tensor

from tinyms.errors import InputShapeError, UnknownNameError
from tinyms.vision import Prediction, Predictions, mnist_transform


@pytest.fixture
def logits():
    rng = np.random.default_rng(0)
    out = rng.normal(size=(4, 10)).astype(np.float32)
    out[0, 7] = 9.0  # a confident "7"
    return out


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_top1_gives_one_named_result_per_row(logits):
    preds = mnist_transform.postprocess(Tensor(logits))
    assert isinstance(preds, Predictions) and len(preds) == 4
    assert preds.strategy == "TOP1_CLASS"
    probs = softmax(logits.astype(np.float64))
    for row, p in zip(preds, probs):
        assert isinstance(row, Prediction)
        assert len(row.labels) == len(row.scores) == len(row.indices) == 1
        assert row.index == int(p.argmax())
        assert row.label == str(row.index)  # MNIST labels are the digit names
        assert row.score == pytest.approx(p.max())
    assert preds[0].label == "7" and preds[0].score > 0.99


def test_top5_scores_are_descending_probabilities(logits):
    preds = mnist_transform.postprocess(logits, strategy="TOP5_CLASS")
    probs = softmax(logits.astype(np.float64))
    for row, p in zip(preds, probs):
        assert len(row.labels) == 5
        assert list(row.scores) == sorted(row.scores, reverse=True)
        assert 0 < sum(row.scores) <= 1 + 1e-9
        assert [row.labels[i] for i in range(5)] == [str(i) for i in row.indices]
        np.testing.assert_allclose(row.scores, p[list(row.indices)], rtol=1e-9)
        assert (row.label, row.score) == (row.labels[0], row.scores[0])


def test_top5_with_fewer_classes_returns_every_class():
    preds = mnist_transform.postprocess([0.1, 2.0, -1.0], "top5_class", labels=("cat", "dog", "eel"))
    assert preds[0].labels == ("dog", "cat", "eel")
    assert sum(preds[0].scores) == pytest.approx(1.0)


def test_one_dimensional_logits_give_one_row(logits):
    preds = mnist_transform.postprocess(logits[0])
    assert len(preds) == 1 and preds[0].label == "7"


def test_str_is_readable(logits):
    assert str(mnist_transform.postprocess(np.eye(10)[7] * 8)) == "7 (99.7%)"
    table = str(mnist_transform.postprocess(logits[0], "TOP5_CLASS"))
    lines = table.splitlines()
    assert len(lines) == 6 and "label" in lines[0] and "score" in lines[0]
    assert lines[1].split()[0] == "7" and lines[1].endswith("%")
    rows = str(mnist_transform.postprocess(logits)).splitlines()
    assert len(rows) == 4 and rows[0].startswith("[0] 7 (")


def test_to_dict_is_json_ready(logits):
    data = json.loads(json.dumps(mnist_transform.postprocess(logits, "TOP5_CLASS").to_dict()))
    assert data["strategy"] == "TOP5_CLASS" and len(data["predictions"]) == 4
    first = data["predictions"][0]
    assert first["label"] == "7" and first["index"] == 7 and 0.99 < first["score"] <= 1
    assert [t["label"] for t in first["top"]][0] == "7" and len(first["top"]) == 5


def test_unknown_strategy_lists_valid_ones(logits):
    with pytest.raises(UnknownNameError) as info:
        mnist_transform.postprocess(logits, strategy="TOP3_CLASS")
    assert "TOP1_CLASS" in str(info.value) and "TOP5_CLASS" in str(info.value)


@pytest.mark.parametrize("bad", [np.zeros((2, 3, 10)), np.float32(1.0), np.zeros((2, 0))])
def test_wrong_rank_raises_input_shape_error(bad):
    with pytest.raises(InputShapeError, match=r"\(N, classes\)"):
        mnist_transform.postprocess(bad)


def test_class_count_must_match_labels():
    with pytest.raises(InputShapeError, match="pass labels="):
        mnist_transform.postprocess(np.zeros((1, 5)))
    preds = mnist_transform.postprocess(np.eye(5)[2], labels=list("abcde"))
    assert preds[0].label == "c"
