"""BERT (issue 17): trains from random weights in GRAPH mode, padding never changes its answer, and a
checkpoint in the published layout (written here: safetensors and a PyTorch zip built without torch)
comes through the hub's verified download into the right parameters and fine-tunes."""

import functools
import hashlib
import http.server
import io
import pickle
import struct
import threading
import zipfile

import numpy as np
import pytest

import mindspore as ms
import mindspore.dataset as ds
from mindspore import nn

from tinyms import _download
from tinyms import _hub_store
from tinyms.errors import CheckpointError, InputShapeError
from tinyms.model import (BertConfig, Model, bert_pretrained, bert_pretrained_files, bert_tiny, create_model, load,
                          load_bert_weights, read_bert_checkpoint)
from tinyms.model._bert_weights import PRETRAINED_BERT

VOCAB = 100
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = [f"w{i}" for i in range(VOCAB - len(SPECIALS))]  # ids 5..99


@pytest.fixture(scope="module", autouse=True)
def graph_mode():
    ms.set_context(mode=ms.GRAPH_MODE)


def toy(n, seed, length=16):
    """Token ids: class 1 texts hold token 5 ("w0"), class 0 texts token 6 ("w1"), among random words."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((n, length), np.int32)
    labels = np.arange(n, dtype=np.int32) % 2
    for i in range(n):
        size = rng.integers(4, length - 1)
        ids[i, 0], ids[i, 1:size] = 2, rng.integers(7, VOCAB, size - 1)
        ids[i, rng.integers(1, size)] = 5 if labels[i] else 6
        ids[i, size] = 3
    return ids, labels


def batches(ids, labels, batch=16):
    return ds.NumpySlicesDataset({"input_ids": ids, "label": labels}, shuffle=False).batch(batch)


# ------------------------------------------------------------------ the network


def test_builders_are_registered_with_the_published_sizes_and_the_text_contract():
    net = create_model("bert_tiny", num_classes=3, vocab_size=VOCAB, max_length=32)
    cfg = net.default_cfg
    assert (cfg.task, cfg.input_shape, cfg.labels, cfg.dataset) == ("text_classification", (32,), ("0", "1", "2"), "")
    assert net.max_positions == 512 and net.class_num == 3
    assert create_model("bert_mini", class_num=4, vocab_size=VOCAB).class_num == 4  # tinyms train's name
    sizes = {name: BertConfig.sized(name) for name in ("bert_tiny", "bert_mini", "bert_small", "bert_base")}
    assert [(c.num_layers, c.hidden_size, c.num_heads, c.intermediate_size) for c in sizes.values()] == [
        (2, 128, 2, 512), (4, 256, 4, 1024), (4, 512, 8, 2048), (12, 768, 12, 3072)]
    assert (sizes["bert_base"].vocab_size, sizes["bert_base"].max_position, sizes["bert_base"].layer_norm_eps) == (
        30522, 512, 1e-12)
    params = dict(net.parameters_and_names())
    assert params["layers.1.ffn_in.weight"].shape == (512, 128) and "layers.2.query.weight" not in params


def test_bert_tiny_trains_from_random_weights_through_model_in_graph_mode():
    ms.set_seed(1)
    net = bert_tiny(num_classes=2, vocab_size=VOCAB, max_length=16)
    model = Model(net).compile(loss_fn="cross_entropy", optimizer=nn.Adam(net.trainable_params(), 1e-3),
                               metrics=["accuracy"])
    ids, labels = toy(96, 0)
    history = model.train(6, batches(ids, labels), verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    test_ids, test_labels = toy(40, 1)
    assert model.eval(batches(test_ids, test_labels), verbose=0)["accuracy"] >= 0.9


def test_gelu_is_exact_and_bert_exports_to_onnx_with_the_same_logits(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from tinyms.model.zoo.bert import ExactGELU  # noqa: PLC0415

    x = np.linspace(-8, 8, 4001).astype(np.float32)
    np.testing.assert_allclose(ExactGELU()(ms.Tensor(x)).asnumpy(),
                               nn.GELU(approximate=False)(ms.Tensor(x)).asnumpy(), atol=2e-6)
    ms.set_seed(4)
    net = bert_tiny(num_classes=2, vocab_size=VOCAB, max_length=16)
    net.set_train(False)
    ids, _ = toy(3, 5)
    path = Model(net).export(ids[:1], str(tmp_path / "bert"), file_format="ONNX")
    session = ort.InferenceSession(str(path))
    feed = session.get_inputs()[0].name
    for row in ids:
        np.testing.assert_allclose(session.run(None, {feed: row[None]})[0], net(ms.Tensor(row[None])).asnumpy(),
                                   atol=1e-4)


def test_padding_does_not_change_the_logits_and_too_long_inputs_are_refused():
    ms.set_seed(2)
    net = bert_tiny(num_classes=3, vocab_size=VOCAB, max_length=16)
    net.set_train(False)
    ids, _ = toy(4, 3, length=12)
    short = net(ms.Tensor(ids)).asnumpy()
    longer = net(ms.Tensor(np.pad(ids, ((0, 0), (0, 20))))).asnumpy()
    np.testing.assert_allclose(longer, short, atol=1e-5)
    one = net(ms.Tensor(ids[:1, :ids[0].nonzero()[0][-1] + 1])).asnumpy()  # no padding at all
    np.testing.assert_allclose(one, short[:1], atol=1e-5)
    assert np.abs(short[0] - short[1]).max() > 1e-4  # and the ids do matter
    with pytest.raises(InputShapeError, match="at most 512 tokens"):
        net(ms.Tensor(np.ones((1, 513), np.int32)))
    with pytest.raises(InputShapeError, match="at most 512"):
        Model(net).predict(np.ones((1, 513), np.int32))


# ------------------------------------------------------------------ a checkpoint in the published layout

LAYER = [("attention.self.query", "query"), ("attention.self.key", "key"), ("attention.self.value", "value"),
         ("attention.output.dense", "attn_out"), ("intermediate.dense", "ffn_in"), ("output.dense", "ffn_out")]
NORMS = [("attention.output.LayerNorm", "attn_norm"), ("output.LayerNorm", "ffn_norm")]


def published(seed=0, vocab=VOCAB, layers=2, hidden=128, classes=None, prefix="bert.", old_norm=False):
    """{Hugging Face name: array} of a BERT-Tiny-shaped pre-training checkpoint with distinct random values,
    and {TinyMS parameter name: Hugging Face name} saying where each belongs (written out here, not taken
    from the importer)."""
    rng = np.random.default_rng(seed)
    tensors, slots = {}, {}

    def put(name, shape, ours=None):
        # distinct values at the scale of trained BERT weights (LayerNorm scales near 1), so fine-tuning starts sane
        centre = 1.0 if name.endswith(("LayerNorm.weight", "LayerNorm.gamma")) else 0.0
        tensors[name] = (centre + 0.05 * rng.standard_normal(shape)).astype(np.float32)
        if ours:
            slots[ours] = name

    gamma, beta = ("gamma", "beta") if old_norm else ("weight", "bias")
    put(f"{prefix}embeddings.word_embeddings.weight", (vocab, hidden), "embeddings.word_embeddings")
    put(f"{prefix}embeddings.position_embeddings.weight", (512, hidden), "embeddings.position_embeddings")
    put(f"{prefix}embeddings.token_type_embeddings.weight", (2, hidden), "embeddings.token_type_embeddings")
    put(f"{prefix}embeddings.LayerNorm.{gamma}", (hidden,), "embeddings.norm.gamma")
    put(f"{prefix}embeddings.LayerNorm.{beta}", (hidden,), "embeddings.norm.beta")
    for i in range(layers):
        for theirs, ours in LAYER:
            rows, cols = {"ffn_in": (4 * hidden, hidden), "ffn_out": (hidden, 4 * hidden)}.get(ours, (hidden, hidden))
            put(f"{prefix}encoder.layer.{i}.{theirs}.weight", (rows, cols), f"layers.{i}.{ours}.weight")
            put(f"{prefix}encoder.layer.{i}.{theirs}.bias", (rows,), f"layers.{i}.{ours}.bias")
        for theirs, ours in NORMS:
            put(f"{prefix}encoder.layer.{i}.{theirs}.{gamma}", (hidden,), f"layers.{i}.{ours}.gamma")
            put(f"{prefix}encoder.layer.{i}.{theirs}.{beta}", (hidden,), f"layers.{i}.{ours}.beta")
    put(f"{prefix}pooler.dense.weight", (hidden, hidden), "pooler.weight")
    put(f"{prefix}pooler.dense.bias", (hidden,), "pooler.bias")
    if classes:
        put("classifier.weight", (classes, hidden), "classifier.weight")
        put("classifier.bias", (classes,), "classifier.bias")
    else:  # the pre-training heads a published checkpoint carries
        put("cls.predictions.bias", (vocab,))
        put("cls.predictions.transform.dense.weight", (hidden, hidden))
        put("cls.predictions.transform.dense.bias", (hidden,))
        put(f"cls.predictions.transform.LayerNorm.{gamma}", (hidden,))
        put(f"cls.predictions.transform.LayerNorm.{beta}", (hidden,))
        put("cls.seq_relationship.weight", (2, hidden))
        put("cls.seq_relationship.bias", (2,))
        tensors[f"{prefix}embeddings.position_ids"] = np.arange(512, dtype=np.int64)[None]
    return tensors, slots


def safetensors_bytes(tensors):
    from safetensors.numpy import save

    return save(tensors)


class _Ops:
    """Pickle protocol-2 opcodes, enough to write what torch.save writes for a state dict."""

    @staticmethod
    def text(s):
        data = s.encode()
        return b"X" + struct.pack("<I", len(data)) + data

    @staticmethod
    def integer(n):
        return b"J" + struct.pack("<i", n)

    @classmethod
    def tup(cls, items):
        return b"(" + b"".join(cls.integer(n) for n in items) + b"t"


def state_pickle(tensors, forbidden=None, legacy=False):
    """What torch.save pickles for a state dict (protocol 2), written by hand, and each storage's bytes."""
    storage = {np.dtype(np.float32): b"FloatStorage", np.dtype(np.int64): b"LongStorage"}
    ops = _Ops
    pkl = [b"\x80\x02", b"ccollections\nOrderedDict\n", b")R", b"("]
    blobs = {}
    for key, (name, value) in enumerate(tensors.items()):
        value = np.ascontiguousarray(value)
        blobs[str(key)] = value
        strides = [s // value.itemsize for s in value.strides]
        pkl += [ops.text(name), b"ctorch._utils\n_rebuild_tensor_v2\n", b"(",
                b"(", ops.text("storage"), b"ctorch\n" + storage[value.dtype] + b"\n", ops.text(str(key)),
                ops.text("cpu"), ops.integer(value.size), b"N" if legacy else b"", b"tQ",
                ops.integer(0), ops.tup(value.shape), ops.tup(strides), b"\x89",
                b"ccollections\nOrderedDict\n", b")R", b"tR"]
    if forbidden:
        pkl += [ops.text("evil"), b"cos\nsystem\n", b"(", ops.text(forbidden), b"tR"]
    pkl += [b"u", b"."]
    return b"".join(pkl), blobs


def torch_zip_bytes(tensors, forbidden=None):
    """A PyTorch >= 1.6 ``pytorch_model.bin`` (zip: archive/data.pkl + archive/data/<key>), written by hand."""
    pkl, blobs = state_pickle(tensors, forbidden)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("archive/data.pkl", pkl)
        for key, value in blobs.items():
            zf.writestr(f"archive/data/{key}", value.tobytes())
        zf.writestr("archive/version", b"3\n")
    return out.getvalue()


def torch_legacy_bytes(tensors):
    """A PyTorch < 1.6 state dict: pickles of magic number, version, sys info, the dict, the storage keys,
    then each storage as int64 element count + bytes."""
    pkl, blobs = state_pickle(tensors, legacy=True)
    head = b"".join(pickle.dumps(x, protocol=2) for x in (0x1950a86a20f9469cfc6c, 1001, {"little_endian": True}))
    keys = sorted(blobs)
    data = b"".join(struct.pack("<q", blobs[k].size) + blobs[k].tobytes() for k in keys)
    return head + pkl + pickle.dumps(keys, protocol=2) + data


def vocab_bytes(size=VOCAB):
    return ("\n".join((SPECIALS + WORDS)[:size]) + "\n").encode()


def assert_landed(net, tensors, slots):
    params = {name: p.asnumpy() for name, p in net.parameters_and_names()}
    for ours, theirs in slots.items():
        np.testing.assert_array_equal(params[ours], tensors[theirs], err_msg=f"{theirs} -> {ours}")


@pytest.mark.parametrize("kind", ["safetensors", "pytorch", "pytorch-legacy"])
def test_a_published_layout_file_loads_every_tensor_into_its_own_parameter(tmp_path, kind, caplog):
    tensors, slots = published(seed=3, prefix="" if kind == "safetensors" else "bert.", old_norm=kind != "pytorch")
    path = tmp_path / ("model.safetensors" if kind == "safetensors" else "pytorch_model.bin")
    writer = {"safetensors": safetensors_bytes, "pytorch": torch_zip_bytes, "pytorch-legacy": torch_legacy_bytes}
    path.write_bytes(writer[kind](tensors))
    read, fmt = read_bert_checkpoint(path)
    assert fmt == kind and sorted(read) == sorted(tensors)
    net = bert_tiny(num_classes=2, vocab_size=VOCAB)
    fresh_classifier = net.classifier.weight.asnumpy().copy()
    with caplog.at_level("WARNING", logger="tinyms.model"):
        report = load_bert_weights(net, path)
    assert_landed(net, tensors, slots)
    assert len(report.loaded) == len(slots) == 5 + 2 * 16 + 2
    ignored = dict(report.ignored)
    assert sorted(ignored) == sorted(set(tensors) - set(slots.values()))  # every other tensor is listed
    assert "pre-training" in ignored["cls.seq_relationship.weight"]
    assert report.fresh == ("classifier.bias", "classifier.weight")
    np.testing.assert_array_equal(net.classifier.weight.asnumpy(), fresh_classifier)
    assert "initialised fresh" in caplog.text and "classifier" in str(report)


def test_a_fine_tuned_file_loads_its_classifier_and_mismatches_are_named(tmp_path):
    tensors, slots = published(seed=4, classes=3)
    path = tmp_path / "model.safetensors"
    path.write_bytes(safetensors_bytes(tensors))
    net = bert_tiny(num_classes=3, vocab_size=VOCAB)
    assert load_bert_weights(net, path).fresh == ()
    assert_landed(net, tensors, slots)
    with pytest.raises(CheckpointError, match=r"classifier.weight has shape \(3, 128\).*num_classes=3"):
        load_bert_weights(bert_tiny(num_classes=2, vocab_size=VOCAB), path)
    two = bert_tiny(num_classes=2, vocab_size=VOCAB)
    before = two.embeddings.word_embeddings.asnumpy().copy()
    with pytest.raises(CheckpointError, match=r"vocab_size=100"):
        load_bert_weights(bert_tiny(num_classes=2, vocab_size=120), path)
    report = load_bert_weights(two, path, classifier=False)
    assert report.fresh == ("classifier.bias", "classifier.weight") and not np.array_equal(
        two.embeddings.word_embeddings.asnumpy(), before)
    # nothing changes when a shape is wrong: every shape is checked before the first parameter is set
    wrong = dict(tensors, **{"bert.pooler.dense.bias": np.zeros(7, np.float32)})
    path.write_bytes(safetensors_bytes(wrong))
    fresh = bert_tiny(num_classes=3, vocab_size=VOCAB)
    kept = fresh.embeddings.word_embeddings.asnumpy().copy()
    with pytest.raises(CheckpointError, match=r"pooler.dense.bias has shape \(7,\)"):
        load_bert_weights(fresh, path)
    np.testing.assert_array_equal(fresh.embeddings.word_embeddings.asnumpy(), kept)
    missing = {k: v for k, v in tensors.items() if k != "bert.encoder.layer.1.output.dense.weight"}
    path.write_bytes(safetensors_bytes(missing))
    with pytest.raises(CheckpointError, match="lacks tensor encoder.layer.1.output.dense.weight"):
        load_bert_weights(fresh, path)
    extra = dict(tensors, **{"bert.encoder.layer.2.output.dense.bias": np.zeros(128, np.float32)})
    path.write_bytes(safetensors_bytes(extra))
    with pytest.raises(CheckpointError, match="more encoder layers"):
        load_bert_weights(fresh, path)


def test_truncated_corrupted_and_hostile_files_are_typed_errors(tmp_path):
    tensors, _ = published(seed=5, vocab=20, hidden=128, layers=2)
    net = bert_tiny(num_classes=2, vocab_size=20)
    good_bin, good_st = torch_zip_bytes(tensors), safetensors_bytes(tensors)
    cases = {
        "half.bin": (good_bin[:len(good_bin) // 2], "truncated or corrupted"),
        "half.safetensors": (good_st[:len(good_st) // 2], "truncated or corrupted"),
        "flipped.bin": (good_bin.replace(tensors["bert.pooler.dense.bias"].tobytes()[:64], b"\x00" * 64),
                        "truncated or corrupted"),  # the zip's CRC-32 catches it
        "evil.bin": (torch_zip_bytes(tensors, forbidden="echo owned"), "refuses"),
        "half-legacy.bin": (torch_legacy_bytes(tensors)[:-300], "truncated or corrupted"),
        "notes.txt": (b"hello, not a checkpoint", "neither a safetensors file nor a PyTorch state dict"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError, match=message):
            load_bert_weights(net, tmp_path / name)


# ------------------------------------------------------------------ through the hub's verified download


class _Quiet(http.server.SimpleHTTPRequestHandler):
    """Serves the mirror folder's files; records each path asked for instead of logging it."""

    def log_message(self, *args):
        self.server.asked.append(self.path)


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A 127.0.0.1 server of ``<tmp>/served`` as TINYMS_HUB_MIRROR, an empty TINYMS_HOME, no proxies, fast retries."""
    folder = tmp_path / "served"
    (folder / "mirror").mkdir(parents=True)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    httpd.asked, httpd.folder = [], folder / "mirror"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("TINYMS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(_hub_store.MIRROR_ENV, f"http://127.0.0.1:{httpd.server_address[1]}/mirror")
    for var in (_hub_store.OFFLINE_ENV, "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(_download, "BACKOFF", 0.01)
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def serve(mirror, source, weights, vocab):
    (mirror.folder / source.cache_name("weights")).write_bytes(weights)
    (mirror.folder / source.cache_name("vocab")).write_bytes(vocab)


def test_pretrained_bert_tiny_comes_through_the_mirror_verified_loads_and_fine_tunes(mirror, caplog):
    source = PRETRAINED_BERT["bert_tiny"]
    assert source.url("weights") == "https://huggingface.co/google/bert_uncased_L-2_H-128_A-2/resolve/main/" \
                                    "pytorch_model.bin"
    tensors, slots = published(seed=6)
    weights, vocab = torch_zip_bytes(tensors), vocab_bytes()
    serve(mirror, source, weights, vocab)
    with caplog.at_level("WARNING", logger="tinyms.model"):
        net = bert_pretrained("bert_tiny", num_classes=2, max_length=16, progress=False)
    assert "unchecked" in caplog.text  # no published digest: said, not hidden
    assert len(mirror.asked) == 2 and net.default_cfg.input_shape == (16,)
    assert_landed(net, tensors, slots)
    assert net.weights_report.fresh == ("classifier.bias", "classifier.weight")
    with open(net.weights_report.path, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == hashlib.sha256(weights).hexdigest()
    # the registry's spelling builds the same network from the cached files (no new request)
    same = create_model("bert_tiny", pretrained=True, num_classes=2, max_length=16)
    assert len(mirror.asked) == 2 and same.vocab_file == net.vocab_file
    assert_landed(same, tensors, slots)
    with pytest.raises(ValueError, match="drop vocab_size"):
        create_model("bert_tiny", pretrained=True, vocab_size=100)

    # a cached copy changed on disk no longer has the digest recorded at download: fetched again
    with open(net.weights_report.path, "r+b") as f:
        f.seek(100)
        f.write(b"\xff" * 8)
    bert_pretrained_files("bert_tiny", progress=False)
    assert len(mirror.asked) == 3 and read_bert_checkpoint(net.weights_report.path)[1] == "pytorch"

    # fine-tune through the WordPiece tokenizer of the served vocab.txt
    from tinyms.text import text_transform

    transform = text_transform("wordpiece", vocab=net.vocab_file, max_length=16, labels=("neg", "pos"))
    rng = np.random.default_rng(0)
    texts = [" ".join(["w0" if i % 2 else "w1"] + list(rng.choice(WORDS[2:], 5))) for i in range(64)]
    labels = np.arange(64, dtype=np.int32) % 2
    ids = np.asarray(transform(texts), np.int32)
    assert ids.shape == (64, 16) and (ids[:, 0] == 2).all()
    ms.set_seed(0)
    model = Model(net).compile(loss_fn="cross_entropy", optimizer=nn.Adam(net.trainable_params(), 3e-3))
    losses = model.train(4, batches(ids, labels), verbose=0).history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < 0.5 * losses[0], losses
    # the fine-tuned network saves as a TinyMS checkpoint that rebuilds itself
    path = model.save_checkpoint(str(mirror.folder.parent / "tuned.ckpt"))
    again = load(path)
    assert (again.network.default_cfg.input_shape, again.network.class_num) == ((16,), 2)
    np.testing.assert_allclose(again.predict(ids[:4]).asnumpy(), model.predict(ids[:4]).asnumpy(), atol=1e-5)


def test_a_mirror_serving_a_damaged_file_is_a_checkpoint_error(mirror):
    source = PRETRAINED_BERT["bert_tiny"]
    weights = torch_zip_bytes(published(seed=7)[0])
    serve(mirror, source, weights[:-200], vocab_bytes())
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        bert_pretrained("bert_tiny", progress=False)
