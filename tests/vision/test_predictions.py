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
    preds = mnist_transform.postprocess(logits, strategy="TOP5_CLASS", as_text=False)
    probs = softmax(logits.astype(np.float64))
    for row, p in zip(preds, probs):
        assert len(row.labels) == 5
        assert list(row.scores) == sorted(row.scores, reverse=True)
        assert 0 < sum(row.scores) <= 1 + 1e-6
        assert [row.labels[i] for i in range(5)] == [str(i) for i in row.indices]
        # float32 logits become probabilities in float32, as TinyMS 0.3's texts were computed
        np.testing.assert_allclose(row.scores, p[list(row.indices)], rtol=1e-6)
        assert (row.label, row.score) == (row.labels[0], row.scores[0])


def test_top5_with_fewer_classes_returns_every_class():
    preds = mnist_transform.postprocess([0.1, 2.0, -1.0], "top5_class", labels=("cat", "dog", "eel"),
                                        as_text=False)
    assert preds[0].labels == ("dog", "cat", "eel")
    assert sum(preds[0].scores) == pytest.approx(1.0)


def test_one_dimensional_logits_give_one_row(logits):
    preds = mnist_transform.postprocess(logits[0])
    assert len(preds) == 1 and preds[0].label == "7"


def test_str_is_readable(logits):
    assert str(mnist_transform.postprocess(np.eye(10)[7] * 8)) == "7 (99.7%)"
    table = str(mnist_transform.postprocess(logits[0], "TOP5_CLASS", as_text=False))
    lines = table.splitlines()
    assert len(lines) == 6 and "label" in lines[0] and "score" in lines[0]
    assert lines[1].split()[0] == "7" and lines[1].endswith("%")
    rows = str(mnist_transform.postprocess(logits)).splitlines()
    assert len(rows) == 4 and rows[0].startswith("[0] 7 (")


def test_to_dict_is_json_ready(logits):
    data = json.loads(json.dumps(mnist_transform.postprocess(logits, "TOP5_CLASS", as_text=False).to_dict()))
    assert data["strategy"] == "TOP5_CLASS" and len(data["predictions"]) == 4
    first = data["predictions"][0]
    assert first["label"] == "7" and first["index"] == 7 and 0.99 < first["score"] <= 1
    assert [t["label"] for t in first["top"]][0] == "7" and len(first["top"]) == 5


@pytest.mark.parametrize("as_text", [None, False])
def test_unknown_strategy_lists_valid_ones(logits, as_text):
    with pytest.raises(UnknownNameError) as info:
        mnist_transform.postprocess(logits, strategy="TOP3_CLASS", as_text=as_text)
    assert "TOP1_CLASS" in str(info.value) and "TOP5_CLASS" in str(info.value)


# ------------------------------------------------------------------ TinyMS 0.3 text form
ORIGINAL = np.array([[10, 1, 4, 2, 5, 18, -10, -4, 3, 7]], np.float32)
ORIGINAL_TOP1 = "TOP1: 5, score: 0.99964"
ORIGINAL_TOP5 = ("TOP1: 5, score: 0.9996444\tTOP2: 0, score: 0.0003353\tTOP3: 9, score: 0.0000167\t"
                 "TOP4: 4, score: 0.0000023\tTOP5: 2, score: 0.0000008\t")


@pytest.mark.parametrize("strategy", ["TOP1_CLASS", "top1_class"])
def test_explicit_top1_strategy_returns_the_original_text(strategy):
    assert mnist_transform.postprocess(ORIGINAL, strategy=strategy) == ORIGINAL_TOP1
    assert type(mnist_transform.postprocess(ORIGINAL, strategy)) is str


@pytest.mark.parametrize("strategy", ["TOP5_CLASS", "Top5_Class"])
def test_explicit_top5_strategy_returns_the_original_text(strategy):
    assert mnist_transform.postprocess(ORIGINAL, strategy=strategy) == ORIGINAL_TOP5
    assert mnist_transform.postprocess(Tensor(ORIGINAL[0]), strategy) == ORIGINAL_TOP5


def test_default_result_is_structured_and_equals_the_original_text():
    preds = mnist_transform.postprocess(ORIGINAL)
    assert preds == ORIGINAL_TOP1 and ORIGINAL_TOP1 == preds and not preds != ORIGINAL_TOP1
    assert preds != "TOP1: 0, score: 0.99964" and preds[0] != "TOP1: 0, score: 0.99964"
    assert isinstance(preds, Predictions) and preds.text == ORIGINAL_TOP1
    assert preds[0] == ORIGINAL_TOP1 and preds[0].text == ORIGINAL_TOP1
    assert (preds[0].label, preds[0].index) == ("5", 5) and preds[0].score == pytest.approx(0.9996444, abs=1e-7)
    assert preds.to_dict()["predictions"][0]["label"] == "5"
    assert preds == [preds[0]] and len({preds[0], preds[0]}) == 1  # still a list of hashable rows
    top5 = mnist_transform.postprocess(ORIGINAL, "TOP5_CLASS", as_text=False)
    assert top5 == ORIGINAL_TOP5 and top5[0].labels == ("5", "0", "9", "4", "2")
    assert top5[0].to_text("top1_class") == ORIGINAL_TOP1
    assert mnist_transform.postprocess(ORIGINAL, as_text=True) == ORIGINAL_TOP1


def test_text_of_several_rows_has_one_line_per_row(logits):
    both = np.concatenate([ORIGINAL, logits[:1]])
    lines = mnist_transform.postprocess(both, "TOP1_CLASS").split("\n")
    assert lines[0] == ORIGINAL_TOP1 and len(lines) == 2
    assert lines[1].startswith("TOP1: 7, score: 0.9")
    top5 = mnist_transform.postprocess(both, "TOP5_CLASS").split("\n")
    assert top5[0] == ORIGINAL_TOP5 and top5[1].count("\t") == 5 and top5[1].startswith("TOP1: 7,")
    assert mnist_transform.postprocess(both) == "\n".join(lines)


def test_as_text_must_be_a_bool():
    with pytest.raises(TypeError, match="as_text must be True or False"):
        mnist_transform.postprocess(ORIGINAL, as_text="yes")


@pytest.mark.parametrize("bad", [np.zeros((2, 3, 10)), np.float32(1.0), np.zeros((2, 0))])
def test_wrong_rank_raises_input_shape_error(bad):
    with pytest.raises(InputShapeError, match=r"\(N, classes\)"):
        mnist_transform.postprocess(bad)


def test_class_count_must_match_labels():
    with pytest.raises(InputShapeError, match="pass labels="):
        mnist_transform.postprocess(np.zeros((1, 5)))
    preds = mnist_transform.postprocess(np.eye(5)[2], labels=list("abcde"))
    assert preds[0].label == "c"


def test_tinyms_03_texts_match_digit_for_digit_for_float32_scores():
    # TinyMS 0.3's tests/ut/vision/test_transforms.py, imagefolder case: 9 float32 logits
    from tinyms.vision import imagefolder_transform

    logits = np.array([[10, 4, 2, 5, 18, -10, -4, 3, 7]], np.float32)
    text = imagefolder_transform.postprocess(logits, strategy="TOP5_CLASS")
    assert ", score: 0.9996444\tTOP2: " in text and ", score: 0.0003353\tTOP3: " in text
