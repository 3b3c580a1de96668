"""Text servables end to end: write_servable(text_transform=...), the TinyMS and v2 routes, the page, Predictor.

A tiny bag-of-embeddings classifier (Embedding, masked mean, Dense; task "text_classification"
by its ModelConfig) is trained a few steps on a toy review corpus and written twice: as ONNX
(served on onnxruntime in the front end) and as MindIR (served by a MindSpore executor process,
int32 token ids over the executor's socket). Every served answer is compared with the library's
own ``transform.postprocess(Model(net).predict(texts, transform))``.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import requests

POS = ["a good film", "great fun and warm", "i loved it", "wonderful acting", "a good good story",
       "warm and wonderful", "loved the acting", "great story"]
NEG = ["a bad film", "dull and boring", "i hated it", "awful acting", "a bad bad story",
       "boring and awful", "hated the acting", "dull story"]
MAX_LENGTH = 8
QUERIES = ["what a good film", "Boring, dull AND awful!", "unseen words only", "", "loved it, great fun"]
LONG = "a " * 40 + "bad film"  # 42 tokens: truncated to the first 8 ("a a a ...")


def _network(vocab_size):
    import mindspore as ms
    from mindspore import nn, ops

    from tinyms.model.registry import ModelConfig

    class BagOfWords(nn.Cell):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, 8)
            self.head = nn.Dense(8, 2)
            self.default_cfg = ModelConfig(name="toy_bow", input_shape=(MAX_LENGTH,), mean=(), std=(),
                                           labels=("neg", "pos"), task="text_classification")

        def construct(self, input_ids):
            mask = ops.cast(input_ids != 0, ms.float32)
            summed = (self.embedding(input_ids) * ops.expand_dims(mask, -1)).sum(axis=1)
            return self.head(summed / ops.maximum(mask.sum(axis=1, keepdims=True), 1.0))

    return BagOfWords()


@pytest.fixture(scope="module")
def trained():
    """(network, transform, expected(texts, k) -> Predictions computed in this process)."""
    import mindspore as ms
    from mindspore import nn

    from tinyms.model import Model
    from tinyms.text import text_transform

    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(3)
    transform = text_transform("word", texts=POS + NEG, max_length=MAX_LENGTH, labels=["neg", "pos"])
    net = _network(transform.tokenizer.vocab_size)
    loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    step = nn.TrainOneStepCell(nn.WithLossCell(net, loss), nn.Adam(net.trainable_params(), 0.05))
    step.set_train()
    ids, labels = ms.Tensor(transform(POS + NEG)), ms.Tensor(np.array([1] * len(POS) + [0] * len(NEG), np.int32))
    for _ in range(40):
        step(ids, labels)
    net.set_train(False)
    model = Model(net)

    def expected(texts, k=2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return transform.postprocess(model.predict(texts, transform), top_k=k)
    assert [p.label for p in expected(["a good film", "dull story"])] == ["pos", "neg"]  # it learned
    return net, transform, expected, model


@pytest.fixture(scope="module")
def serving(tmp_path_factory, trained):
    from tinyms.serving import write_servable

    net, transform, _, _ = trained
    folder = str(tmp_path_factory.mktemp("text_serving"))
    write_servable(folder, "reviews", net, "toy reviews on onnxruntime", formats=("onnx",), text_transform=transform)
    # given as transform= (what tinyms train passes), served by a MindSpore executor
    write_servable(folder, "reviews_ms", net, "toy reviews on MindSpore", formats=("mindir",), transform=transform,
                   max_batch_size=4)
    return folder


@pytest.fixture(scope="module")
def server(serving):
    from tinyms.serving import Server

    with Server(port=0, serving_path=serving) as srv:
        yield srv


def _same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert list(g.labels) == list(w.labels) and list(g.indices) == list(w.indices)
        np.testing.assert_allclose(g.scores, w.scores, atol=1e-5)


def _post(server, name, **kwargs):
    return requests.post(f"{server.url}/servables/{name}", timeout=30, **kwargs)


# ---------------------------------------------------------------------------- writing
def test_entry_records_the_text_recipe_and_its_vocabulary(serving, trained):
    import onnxruntime as ort

    _, transform, _, _ = trained
    with open(os.path.join(serving, "servable.json"), encoding="utf-8") as f:
        entries = {e["name"]: e for e in json.load(f)}
    model = entries["reviews"]["model"]
    assert model["task"] == "text_classification" and model["labels"] == ["neg", "pos"]
    assert model["input_shape"] == [MAX_LENGTH] and model["text"]["max_length"] == MAX_LENGTH
    vocab = model["text"]["tokenizer"]["files"]["vocab"]
    path = os.path.join(serving, "reviews", vocab["path"])
    from tinyms._fileio import sha256_of
    assert os.path.isfile(path) and sha256_of(path) == vocab["sha256"]
    session = ort.InferenceSession(os.path.join(serving, "reviews", model["files"]["onnx"]))
    (given,) = session.get_inputs()
    assert given.type == "tensor(int32)" and given.shape == [1, MAX_LENGTH]  # fixed batch 1, fixed length
    assert entries["reviews_ms"]["model"]["text"] == model["text"]


def test_a_text_network_needs_its_transform(tmp_path, trained):
    from tinyms.model import create_model
    from tinyms.serving import ServableConfigError, write_servable

    net, transform, _, _ = trained
    with pytest.raises(ServableConfigError, match="text_classification network: pass text_transform="):
        write_servable(str(tmp_path), "bad", net, formats=("onnx",))
    with pytest.raises(ServableConfigError, match="text_transform is for text_classification networks"):
        write_servable(str(tmp_path), "bad", create_model("lenet5", class_num=2), formats=("onnx",),
                       text_transform=transform)
    assert not os.path.exists(tmp_path / "servable.json")


# ---------------------------------------------------------------------------- the TinyMS route
@pytest.mark.parametrize("name", ["reviews", "reviews_ms"])
def test_strings_are_classified_as_in_process(server, trained, name):
    _, _, expected, _ = trained
    client = server.client()
    one = client.predict("what a good film", name, strategy="TOP5_CLASS")
    _same([one], expected(["what a good film"]))
    many = client.predict(QUERIES, name, strategy="TOP5_CLASS")
    assert many.strategy == "TOP5_CLASS"
    _same(many, expected(QUERIES))
    top1 = client.predict(QUERIES[:2], name)
    _same(top1, expected(QUERIES[:2], 1))


def test_a_long_text_is_truncated_with_a_note(server, trained):
    from tinyms.text import TruncationWarning

    _, _, expected, _ = trained
    reply = _post(server, "reviews", json={"text": ["a good film", LONG], "strategy": "TOP5_CLASS"})
    assert reply.status_code == 200
    body = reply.json()
    assert body["task"] == "text_classification" and body["batch"] is True and body["max_length"] == MAX_LENGTH
    assert [p["truncated"] for p in body["predictions"]] == [False, True]
    assert body["predictions"][1]["dropped_tokens"] == 42 - MAX_LENGTH
    assert body["notes"] == [f"text 1 had {42 - MAX_LENGTH} more tokens than this servable's max_length="
                             f"{MAX_LENGTH}; they were dropped (its start was kept)"]
    want = expected(["a good film", LONG])
    assert [p["label"] for p in body["predictions"]] == [w.label for w in want]
    with pytest.warns(TruncationWarning, match="had 34 more tokens"):
        got = server.client().predict(LONG, "reviews")
    _same([got], expected([LONG], 1))
    plain = _post(server, "reviews", data="a good film".encode("utf-8"),
                  headers={"Content-Type": "text/plain; charset=utf-8"})
    assert plain.status_code == 200 and plain.json()["notes"] == [] and plain.json()["batch"] is False


@pytest.mark.parametrize("send, status, words", [
    ({"data": b"\xffa bad \xfe film", "headers": {"Content-Type": "text/plain"}}, 400,
     ["not UTF-8", "byte 0"]),
    ({"json": {"text": 5}}, 400, ["'text' must be a string, got int"]),
    ({"json": {"text": ["fine", None]}}, 400, ["'text[1]' must be a string, got null"]),
    ({"json": {"text": []}}, 400, ["empty list"]),
    ({"json": {"text": ["a"] * 257}}, 413, ["257 strings", "256"]),
    ({"json": {"text": "a" * 100_001}}, 413, ["100,001 bytes", "100,000"]),
    ({"data": b'{"text": "bad \\ud800 surrogate"}', "headers": {"Content-Type": "application/json"}}, 400,
     ["not valid Unicode"]),
    ({"json": {"image": base64.b64encode(b"\x89PNG").decode()}}, 400, ["classifies text, not images"]),
    ({"json": {"strategy": "TOP1_CLASS"}}, 400, ["needs a 'text' field"]),
    ({"json": {"text": "fine", "strategy": "ALL_OF_THEM"}}, 400, ["unknown strategy"]),
    ({"data": b"\x00\x01", "headers": {"Content-Type": "application/pdf"}}, 415, ["text/plain"]),
])
def test_bad_text_requests_get_a_4xx_naming_the_problem(server, serving, send, status, words):
    reply = _post(server, "reviews", **send)
    assert reply.status_code == status, reply.text
    message = reply.json()["error"]
    for word in words:
        assert word in message, message
    assert serving not in reply.text and "Traceback" not in reply.text


def test_text_sent_to_an_image_servable_is_refused(tmp_path):
    from tinyms.model import create_model
    from tinyms.serving import ClientError, Predictor, write_servable

    write_servable(str(tmp_path), "digits", create_model("lenet5", class_num=10), formats=("onnx",))
    with pytest.raises(ClientError, match="classification servable: it takes images or tensors, not text"):
        Predictor(str(tmp_path / "digits"))(["a text", "another"])


def test_servable_description_and_openapi(server):
    item = requests.get(f"{server.url}/servables/reviews", timeout=30).json()
    assert item["task"] == "text_classification" and item["inputs"] == ["text", "tensor"]
    assert item["text"]["max_length"] == MAX_LENGTH and item["text"]["tokenizer"] == "word"
    doc = requests.get(f"{server.url}/openapi.json", timeout=30).json()
    schemas = doc["components"]["schemas"]
    assert "text" in schemas["PredictRequest"]["properties"]
    assert schemas["TextClassificationResponse"]["properties"]["task"]["const"] == "text_classification"
    assert "text/plain" in doc["paths"]["/servables/{name}"]["post"]["requestBody"]["content"]


# ---------------------------------------------------------------------------- Open Inference Protocol
@pytest.mark.parametrize("name", ["reviews", "reviews_ms"])
def test_oip_bytes_round_trip(server, trained, name):
    from tinyms.text import TruncationWarning

    _, transform, expected, model = trained
    meta = requests.get(f"{server.url}/v2/models/{name}", timeout=30).json()
    assert {"name": "text", "datatype": "BYTES", "shape": [-1]} in meta["inputs"]
    assert [o["name"] for o in meta["outputs"]] == ["logits", "predictions"]
    texts = QUERIES + [LONG]
    with pytest.warns(TruncationWarning):
        logits = model.predict(texts, transform).asnumpy()
    # JSON: strings in, logits and predictions (JSON text per row) out
    reply = requests.post(f"{server.url}/v2/models/{name}/infer", timeout=30, json={
        "id": "r1", "inputs": [{"name": "text", "datatype": "BYTES", "shape": [len(texts)], "data": texts}],
        "parameters": {"strategy": "TOP5_CLASS"}})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["id"] == "r1" and body["parameters"]["notes"][0].startswith(f"text {len(texts) - 1} had 34 more")
    out = {o["name"]: o for o in body["outputs"]}
    assert out["logits"]["shape"] == [len(texts), 2] and out["predictions"]["shape"] == [len(texts)]
    np.testing.assert_allclose(np.reshape(out["logits"]["data"], (len(texts), 2)), logits, atol=1e-5)
    rows = [json.loads(p) for p in out["predictions"]["data"]]
    assert [r["label"] for r in rows] == [p.label for p in expected(texts)]
    assert rows[-1]["truncated"] and not rows[0]["truncated"]
    # binary: length-prefixed UTF-8 strings (Client.infer)
    answer = server.client().infer(name, texts)
    np.testing.assert_allclose(answer["logits"], logits, atol=1e-5)
    _same(answer["predictions"], expected(texts, 1))
    # token ids as an INT32 tensor give the same logits; ids outside the vocabulary are refused
    with pytest.warns(TruncationWarning):
        ids = transform(texts)
    np.testing.assert_allclose(server.client().infer(name, ids)["logits"], logits, atol=1e-5)
    ids[0, 0] = 10_000
    bad = requests.post(f"{server.url}/v2/models/{name}/infer", timeout=30, json={
        "inputs": [{"name": "input", "datatype": "INT32", "shape": list(ids.shape), "data": ids.ravel().tolist()}]})
    assert bad.status_code == 400 and "token ids must lie in 0.." in bad.json()["error"]


def test_oip_refuses_bad_strings(server):
    url = f"{server.url}/v2/models/reviews/infer"
    head = json.dumps({"inputs": [{"name": "text", "datatype": "BYTES", "shape": [2],
                                   "parameters": {"binary_data_size": 12}}]}).encode()
    raw = (3).to_bytes(4, "little") + b"abc" + (1).to_bytes(4, "little") + b"\xff"
    reply = requests.post(url, data=head + raw, timeout=30, headers={
        "Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(head))})
    assert reply.status_code == 400 and "'text[1]' is not UTF-8 text" in reply.json()["error"]
    for tensor, words in [
            ({"name": "text", "datatype": "BYTES", "shape": [2], "data": ["one"]}, "holds 1 text(s)"),
            ({"name": "text", "datatype": "BYTES", "shape": [1], "data": [7]}, "'text[0]' must be a string"),
            ({"name": "text", "datatype": "FP32", "shape": [1], "data": ["x"]}, "takes BYTES"),
            ({"name": "text", "datatype": "BYTES", "shape": [300], "data": ["x"] * 300}, "300 texts"),
            ({"name": "image", "datatype": "BYTES", "shape": [1], "data": ["x"]}, "inputs named 'text'")]:
        reply = requests.post(url, json={"inputs": [tensor]}, timeout=30)
        assert 400 <= reply.status_code < 500 and words in reply.json()["error"], reply.text


# ---------------------------------------------------------------------------- loading, Predictor, no MindSpore
def test_a_changed_vocabulary_is_refused_at_load(tmp_path, serving):
    from tinyms.serving import Predictor, ServableConfigError
    from tinyms.serving._config import load_servables
    from tinyms.serving._front import Servable

    folder = tmp_path / "copy"
    shutil.copytree(serving, folder)
    vocab = folder / "reviews" / "vocab.txt"
    lines = vocab.read_text(encoding="utf-8").splitlines()
    lines[2], lines[3] = lines[3], lines[2]  # two words swap ids: the network would read the wrong rows
    vocab.write_text("\n".join(lines) + "\n", encoding="utf-8")
    specs, problems = load_servables(str(folder))
    assert [p.servable for p in problems] == ["reviews"] and [s.name for s in specs] == ["reviews_ms"]
    assert "vocab.txt has SHA-256" in problems[0].reason and "the vocab file was changed" in problems[0].reason
    with pytest.raises(ServableConfigError, match="the vocab file was changed after the recipe was written; .*a "
                                                  "changed vocabulary gives the network other token ids"):
        Predictor(str(folder / "reviews"))
    # a vocabulary linked from outside the servable's folder is refused, even with the recorded content
    outside = tmp_path / "vocab.txt"
    shutil.copy(os.path.join(serving, "reviews_ms", "vocab.txt"), outside)
    os.remove(folder / "reviews_ms" / "vocab.txt")
    os.symlink(outside, folder / "reviews_ms" / "vocab.txt")
    problems = load_servables(str(folder))[1]
    assert [p.servable for p in problems] == ["reviews", "reviews_ms"]
    assert "is a link leading out of its folder" in problems[1].reason
    # the front end checks again when it builds the tokenizer (a file changed after the entry was read)
    spec = load_servables(serving)[0][0]
    spec.root = str(folder)
    with pytest.raises(ValueError, match="was changed after the recipe was written"):
        Servable(spec, {"input_shape": [MAX_LENGTH], "labels": ["neg", "pos"], "task": "text_classification"},
                 None, 1, None)


def test_predictor_answers_a_text(serving, trained):
    from tinyms.serving import Predictor

    _, _, expected, _ = trained
    with Predictor(os.path.join(serving, "reviews")) as predict:
        _same([predict("a good film")], expected(["a good film"], 1))
        _same(predict(QUERIES, strategy="TOP5_CLASS"), expected(QUERIES))
        assert predict.info["task"] == "text_classification"


def test_a_zoo_text_network_serves_from_onnx_and_from_its_checkpoint(tmp_path, trained):
    """sentimentnet as tinyms train writes it (ONNX + checkpoint, transform=): both answer as the network does."""
    from tinyms.model import Model, create_model
    from tinyms.serving import Predictor, write_servable

    _, transform, _, _ = trained
    net = create_model("sentimentnet", vocab_size=transform.tokenizer.vocab_size, embed_size=8, num_hiddens=8,
                       num_layers=1, num_classes=2)
    net.set_train(False)
    entry = write_servable(str(tmp_path), "senti", net, formats=("onnx", "ckpt"), transform=transform)
    assert sorted(entry["model"]["files"]) == ["ckpt", "onnx"] and entry["model"]["build_args"]["vocab_size"] == \
        transform.tokenizer.vocab_size
    write_servable(str(tmp_path), "senti_ckpt", net, formats=("ckpt",), transform=transform)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = transform.postprocess(Model(net).predict(QUERIES + [LONG], transform), top_k=2)
        for name in ("senti", "senti_ckpt"):  # onnxruntime; the checkpoint rebuilt from build_args on MindSpore
            with Predictor(str(tmp_path), name) as predict:
                _same(predict(QUERIES + [LONG], strategy="TOP5_CLASS"), want)


NO_MINDSPORE = textwrap.dedent("""
    import json, sys
    sys.modules["mindspore"] = None  # any import of MindSpore fails
    from tinyms.serving import Predictor
    predict = Predictor(sys.argv[1])
    print(json.dumps([predict(t).label for t in sys.argv[2:]]))
""")


def test_text_serving_imports_no_mindspore(serving, trained):
    _, _, expected, _ = trained
    run = subprocess.run([sys.executable, "-c", NO_MINDSPORE, os.path.join(serving, "reviews"), *QUERIES[:3]],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ, GLOG_v="3"))
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == [p.label for p in expected(QUERIES[:3], 1)]


def test_the_browser_page_export_skips_text_servables(serving, tmp_path):
    from tinyms.errors import ExportError
    from tinyms.serving import export_web

    with pytest.raises(ExportError, match="classifies text, which the browser page cannot tokenize"):
        export_web(serving, str(tmp_path / "page"), names=["reviews"])


# ---------------------------------------------------------------------------- the web page in Chromium
from .test_page import CHROMEDRIVER, CHROMIUM, browser  # noqa: E402,F401 - the page tests' headless Chromium


@pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                    reason="needs Debian's chromium and chromium-driver; provided in CI by .ci/run")
def test_the_page_has_a_text_box_for_a_text_servable(browser, server, trained):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    _, _, expected, _ = trained
    browser.get(server.url + "/")
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
    Select(browser.find_element(By.ID, "servable")).select_by_value("reviews")
    assert browser.find_element(By.ID, "text-input").is_displayed()
    assert not browser.find_element(By.ID, "drop-zone").is_displayed()
    browser.find_element(By.ID, "predict-text").click()
    assert "Type a text first" in browser.find_element(By.ID, "status").text

    def classify(text):
        box = browser.find_element(By.ID, "text-input")
        box.clear()
        box.send_keys(text)
        browser.execute_script("window.tinymsLastReply = null")
        browser.find_element(By.ID, "predict-text").click()
        WebDriverWait(browser, 30).until(lambda d: d.execute_script("return window.tinymsLastReply !== null"))
        rows = browser.find_elements(By.CSS_SELECTOR, "#top5 tbody tr")
        return [(r.find_element(By.CSS_SELECTOR, "td.label").text,
                 float(r.find_element(By.CSS_SELECTOR, "td.score").text.rstrip("%"))) for r in rows]

    (want,) = expected(["Boring, dull AND awful!"])
    rows = classify("Boring, dull AND awful!")
    assert [label for label, _ in rows] == list(want.labels)
    assert [score for _, score in rows] == pytest.approx([round(s * 100, 1) for s in want.scores], abs=0.051)
    assert f"from reviews: {want.label}" in browser.find_element(By.ID, "status").text
    assert not browser.find_element(By.ID, "notes").is_displayed()
    classify(LONG)
    notes = browser.find_element(By.ID, "notes")
    assert notes.is_displayed() and "34 more tokens" in notes.text
