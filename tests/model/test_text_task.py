"""The text_classification task: Model trains, evaluates and predicts on token ids and raw strings.

A bag-of-embeddings stand-in keeps these tests fast; the real text networks have their own tests.
"""

import numpy as np
import pytest

import mindspore as ms
from mindspore import nn, ops

from tinyms.errors import DatasetError, InputShapeError
from tinyms.model import Model
from tinyms.model.registry import ModelConfig
from tinyms.model.tasks import get_task, list_tasks, task_of
from tinyms.text import text_transform

LABELS = ("neg", "pos")
GOOD = ("good", "great", "fine", "lovely", "superb")
BAD = ("bad", "awful", "dull", "poor", "boring")


class MeanBag(nn.Cell):
    """Masked mean of word embeddings, then a dense layer: (N, L) int32 ids -> (N, 2) logits."""

    def __init__(self, vocab_size, max_positions=None):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, 16)
        self.dense = nn.Dense(16, len(LABELS))
        self.max_positions = max_positions
        self.default_cfg = ModelConfig(name="mean_bag", input_shape=(12,), mean=(), std=(), labels=LABELS,
                                       task="text_classification")

    def construct(self, input_ids):
        mask = ops.cast(input_ids != 0, ms.float32)[:, :, None]
        total = (self.embedding(input_ids) * mask).sum(axis=1)
        return self.dense(total / ops.maximum(mask.sum(axis=1), 1.0))


def corpus(n, seed):
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        words = list(rng.choice(GOOD if label else BAD, size=3)) + list(rng.choice(["the", "film", "was"], size=2))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return texts, np.array(labels, np.int32)


@pytest.fixture(scope="module")
def trained():
    ms.set_context(mode=ms.GRAPH_MODE)
    texts, labels = corpus(64, 0)
    transform = text_transform("word", texts=texts, max_length=12, labels=LABELS)
    net = MeanBag(transform.tokenizer.vocab_size)
    model = Model(net).compile(loss_fn="cross_entropy", optimizer=nn.Adam(net.trainable_params(), 0.05),
                               metrics=["accuracy"])
    ids = transform(texts)
    import mindspore.dataset as ds  # noqa: PLC0415

    data = ds.NumpySlicesDataset({"input_ids": ids.astype(np.int64), "label": labels}, shuffle=False).batch(16)
    history = model.train(8, data, verbose=0)
    return model, transform, history


def test_the_task_is_registered_and_named_by_the_config():
    assert "text_classification" in list_tasks()
    task = get_task("text_classification")
    assert task.columns == ("input_ids", "label") and task.output == "classes"
    assert task_of(MeanBag(10)).name == "text_classification"


def test_training_on_int64_ids_learns_and_eval_counts_every_text(trained):
    model, transform, history = trained
    losses = history.history["loss"]
    assert losses[-1] < losses[0] * 0.7
    texts, labels = corpus(30, 1)  # 30: the last batch of 8 is partial
    import mindspore.dataset as ds  # noqa: PLC0415

    data = ds.NumpySlicesDataset({"input_ids": transform(texts), "label": labels}, shuffle=False).batch(8)
    result = model.eval(data, confusion_matrix=True)
    assert model.eval_samples == 30
    assert result["accuracy"] >= 0.9
    report = result["confusion_matrix"]
    assert int(report.matrix.sum()) == 30 and report.labels == list(LABELS)


def test_predict_takes_strings_through_the_transform(trained):
    model, transform, _ = trained
    one = model.predict("a superb and lovely film", transform=transform).asnumpy()
    assert one.shape == (1, 2)
    ids = transform(["a superb and lovely film", "dull, boring and awful"])
    both = model.predict(["a superb and lovely film", "dull, boring and awful"], transform=transform).asnumpy()
    np.testing.assert_allclose(both, model.predict(ids).asnumpy(), rtol=1e-6)
    np.testing.assert_allclose(both[:1], one, rtol=1e-6)
    assert [p.label for p in transform.postprocess(both)] == ["pos", "neg"]
    model.transform = transform
    try:
        np.testing.assert_allclose(model.predict(["a superb and lovely film"]).asnumpy(), one, rtol=1e-6)
    finally:
        model.transform = None


def test_padding_and_length_do_not_change_the_answer(trained):
    model, transform, _ = trained
    short = transform("great film")[None]
    padded = np.zeros((1, 40), np.int32)
    padded[0, :short.shape[1]] = short
    np.testing.assert_allclose(model.predict(short).asnumpy(), model.predict(padded).asnumpy(), rtol=1e-5)


def test_wrong_inputs_get_errors_that_say_what_to_do(trained):
    model, transform, _ = trained
    with pytest.raises(InputShapeError, match="no text transform"):
        model.predict("a fine film")
    with pytest.raises(InputShapeError, match="int32 token ids"):
        model.predict(np.zeros((2, 12), np.float32))
    with pytest.raises(InputShapeError, match=r"Add the batch dimension"):
        model.predict(transform("a fine film"))
    limited = Model(MeanBag(transform.tokenizer.vocab_size, max_positions=8))
    with pytest.raises(InputShapeError, match="at most 8 tokens.*max_length=8"):
        limited.predict(transform(["a fine film"]))


def test_a_dataset_of_raw_text_is_refused_with_the_fix():
    import mindspore.dataset as ds  # noqa: PLC0415

    model = Model(MeanBag(20)).compile(loss_fn="cross_entropy", optimizer="adam", metrics=["accuracy"])
    three = ds.NumpySlicesDataset({"input_ids": np.ones((4, 5), np.int32), "label": np.zeros(4, np.int32),
                                   "extra": np.zeros(4, np.int32)}, shuffle=False).batch(2)
    with pytest.raises(DatasetError, match="apply_ds"):
        model.train(1, three, verbose=0)
    floats = ds.NumpySlicesDataset({"input_ids": np.ones((4, 5), np.float32), "label": np.zeros(4, np.int32)},
                                   shuffle=False).batch(2)
    with pytest.raises(InputShapeError, match="token ids"):
        model.eval(floats)
