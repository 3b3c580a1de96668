"""tinyms train's defaults for text (issue 17): which optimizer, learning rate, batch and max_length.

Writes a toy review folder (tests/_toy_text.py: sentiment words among filler words, some negated,
12-240 words, 5% of labels flipped): train/ 3,000 documents, test/ 1,000 from another seed. Each
setting is one `tinyms train --data FOLDER --model M --epochs E ...` process; its history.csv gives
validation accuracy per epoch (on test/) and seconds per epoch. A TF-IDF (words and word pairs) +
logistic regression baseline (scikit-learn) is scored on the same split.

    GLOG_v=3 .venv/bin/python benchmarks/bench_text_defaults.py --out /tmp/text_defaults [--models text_cnn]

Measured 2026-12-07 (2 cores shared with other engineers' tests, load 3-8, so seconds are rough), 10 epochs,
best / last validation accuracy: TF-IDF + logistic regression 0.872. text_cnn: adam 0.001 b32 L256 0.928 (epoch 2) /
0.918, 21 s/epoch; adam 0.003 0.924 / 0.908; adam 0.01 0.926 (epoch 1) / 0.900; adam 0.003 b64 0.929 / 0.913;
adam 0.003 L128 0.929 / 0.910, 6 s/epoch; momentum 0.01 0.519 / 0.487 (does not learn). text_bow (no bigrams):
0.800-0.801 with adam 0.003-0.01, 1.5 s/epoch; momentum 0.01 0.513. Separately, text_cnn adam 0.001 with a
5-epoch cosine schedule: 0.927 / 0.925 (constant: 0.928 / 0.924 at epoch 5). tinyms train's text defaults follow:
adam 0.001, batch 32, max_length 256, 5 epochs, constant rate.
"""

import argparse
import csv
import itertools
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import _toy_text  # noqa: E402


def baseline(train, test):
    from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
    x = vectorizer.fit_transform(train[0])
    clf = LogisticRegression(max_iter=2000, C=10.0).fit(x, train[1])
    return float((clf.predict(vectorizer.transform(test[0])) == test[1]).mean())


def run(data, out, model, epochs, optimizer, lr, batch, length, seed):
    argv = [sys.executable, "-m", "tinyms", "train", "--data", data, "--model", model, "--epochs", str(epochs),
            "--optimizer", optimizer, "--lr", str(lr), "--batch-size", str(batch), "--max-length", str(length),
            "--seed", str(seed), "--out", out]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "GLOG_v": "3"}, cwd=ROOT)
    wall = time.perf_counter() - started
    if done.returncode:
        return {"error": (done.stderr or done.stdout).strip().splitlines()[-1]}
    with open(os.path.join(out, "history.csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    acc = [float(r["val_accuracy"]) for r in rows]
    secs = [float(r["seconds"]) for r in rows if r.get("seconds")]
    return {"acc": acc, "best": max(acc), "best_epoch": acc.index(max(acc)) + 1, "last": acc[-1],
            "s_per_epoch": sum(secs[1:]) / max(1, len(secs) - 1) if secs else None, "wall": wall}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--models", default="text_cnn,text_bow")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--train", type=int, default=3000)
    args = parser.parse_args()
    data = os.path.join(args.out, "toy")
    train, test = _toy_text.reviews(args.train, seed=11), _toy_text.reviews(1000, seed=12)
    if not os.path.isdir(data):
        _toy_text.write_folder(os.path.join(data, "train"), *train)
        _toy_text.write_folder(os.path.join(data, "test"), *test)
    print(f"TF-IDF + logistic regression: test accuracy {baseline(train, test):.4f}", flush=True)
    grid = [("adam", 0.001, 32, 256), ("adam", 0.003, 32, 256), ("adam", 0.01, 32, 256), ("adam", 0.003, 64, 256),
            ("adam", 0.003, 32, 128), ("momentum", 0.01, 32, 256)]
    for model, (optimizer, lr, batch, length) in itertools.product(args.models.split(","), grid):
        name = f"{model}-{optimizer}-{lr}-b{batch}-L{length}"
        result = run(data, os.path.join(args.out, name), model, args.epochs, optimizer, lr, batch, length, 1)
        if "error" in result:
            print(f"{name}: {result['error']}", flush=True)
            continue
        print(f"{name}: best {result['best']:.4f} at epoch {result['best_epoch']}, last {result['last']:.4f}, "
              f"{result['s_per_epoch']:.1f} s/epoch, {result['wall']:.0f} s; per epoch "
              f"{' '.join(f'{a:.3f}' for a in result['acc'])}", flush=True)


if __name__ == "__main__":
    main()
