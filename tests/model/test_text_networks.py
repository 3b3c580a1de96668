"""The text networks (tinyms/model/zoo/text.py): they learn, ignore padding, take any length, export to ONNX."""

import random

import numpy as np
import pytest

ms = pytest.importorskip("mindspore")
import mindspore.dataset as ds  # noqa: E402

from tinyms.errors import InputShapeError  # noqa: E402
from tinyms.model import Model, create_model, sentimentnet  # noqa: E402
from tinyms.text import text_transform  # noqa: E402

_GOOD = "good great fine superb lovely".split()
_BAD = "bad awful poor dull horrid".split()
_FILLER = "the a film movie plot it was and so very".split()
# case -> (registry name, builder keywords besides vocab_size): small, so each compiles and trains in seconds
NETWORKS = {
    "text_bow": ("text_bow", {}),
    "text_bow_bigrams": ("text_bow", {"bigram_buckets": 512}),
    "text_cnn": ("text_cnn", {"embed_size": 16, "num_filters": 16}),
    "sentimentnet": ("sentimentnet", {"embed_size": 16, "num_hiddens": 16, "num_layers": 2}),
}


def _doc(rng, label):
    words = [rng.choice(_FILLER) for _ in range(rng.randint(1, 12))]
    words.insert(rng.randrange(len(words) + 1), rng.choice(_GOOD if label else _BAD))
    return " ".join(words)


@pytest.fixture(scope="module")
def corpus():
    rng = random.Random(0)
    return [(_doc(rng, i % 2), i % 2) for i in range(320)]


@pytest.fixture(scope="module")
def transform(corpus):
    return text_transform("word", texts=[t for t, _ in corpus], max_length=16, labels=["neg", "pos"])


@pytest.fixture(autouse=True)
def graph_mode():
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(3)


def _build(case, vocab_size):
    name, kwargs = NETWORKS[case]
    return create_model(name, vocab_size=vocab_size, num_classes=2, **kwargs)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_each_network_learns_a_separable_task_and_predicts_strings(name, corpus, transform):
    data = transform.apply_ds(ds.GeneratorDataset(corpus, ["text", "label"], shuffle=False), batch_size=32)
    model = Model(_build(name, transform.tokenizer.vocab_size))
    model.compile("cross_entropy", "adam", ["accuracy"], learning_rate=0.01)
    before = model.eval(transform.apply_ds(ds.GeneratorDataset(corpus, ["text", "label"], shuffle=False),
                                           is_training=False))
    history = model.train(6, data, verbose=0)
    after = model.eval(transform.apply_ds(ds.GeneratorDataset(corpus, ["text", "label"], shuffle=False),
                                          is_training=False))
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert after["accuracy"] >= 0.95 > before["accuracy"]
    logits = model.predict(["a superb film", "the plot was horrid and dull"], transform=transform)
    assert [p.label for p in transform.postprocess(logits)] == ["pos", "neg"]


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_padding_does_not_change_logits_and_any_length_works(name, transform):
    net = _build(name, transform.tokenizer.vocab_size)
    net.set_train(False)
    texts = ["good", "the film was so very dull and the plot was poor", "a lovely movie"]
    short = text_transform(transform.tokenizer, max_length=12)(texts)
    long = text_transform(transform.tokenizer, max_length=40)(texts)
    a, b = net(ms.Tensor(short)).asnumpy(), net(ms.Tensor(long)).asnumpy()
    assert a.shape == (3, 2)
    np.testing.assert_allclose(a, b, atol=1e-5)
    one = net(ms.Tensor(short[:1, :1])).asnumpy()  # a batch of one text of one token
    np.testing.assert_allclose(one, a[:1], atol=1e-5)


def test_create_model_configs():
    for name in ("text_bow", "text_cnn", "sentimentnet"):
        net = create_model(name, vocab_size=50, class_num=3)
        cfg = net.default_cfg
        assert (net.class_num, cfg.task, cfg.labels, cfg.dataset) == (3, "text_classification", ("0", "1", "2"), "")
        assert create_model(name, vocab_size=50, num_classes=4).class_num == 4
    assert create_model("text_cnn", vocab_size=50, max_length=128).default_cfg.input_shape == (128,)
    assert create_model("sentimentnet", vocab_size=50).default_cfg.input_shape == (500,)


def test_sentimentnet_takes_03_positional_arguments_and_freezes_its_weight_table():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(30, 300)).astype(np.float32)
    net = sentimentnet(30, 300, 100, 2, True, 2, table, 64)
    np.testing.assert_array_equal(net.embedding.embedding_table.asnumpy(), table)
    assert "embedding.embedding_table" not in {p.name for p in net.trainable_params()}
    ids = np.array([[3, 4, 5, 0], [7, 0, 0, 0], [1, 2, 9, 8], [6, 6, 0, 0], [2, 0, 0, 0]], np.int32)
    assert net(ms.Tensor(ids)).shape == (5, 2)  # any batch, whatever batch_size said
    unfrozen = sentimentnet(30, 8, 4, 1, False, 2, None, 64)
    assert "embedding.embedding_table" in {p.name for p in unfrozen.trainable_params()}
    with pytest.raises(InputShapeError, match=r"\(30, 50\)"):
        sentimentnet(30, 50, 100, 2, True, 2, table, 64)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_onnx_export_matches_mindspore(name, transform, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    net = _build(name, transform.tokenizer.vocab_size)
    net.set_train(False)
    ids = transform(["a lovely film", "the plot was poor"])
    path = Model(net).export(ids[:1], str(tmp_path / name), file_format="ONNX")
    session = ort.InferenceSession(str(path))
    feed = session.get_inputs()[0].name
    for row in ids:
        got = session.run(None, {feed: row[None]})[0]
        np.testing.assert_allclose(got, net(ms.Tensor(row[None])).asnumpy(), atol=1e-4)
