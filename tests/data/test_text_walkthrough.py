"""The text classification guide's walkthrough (docs/guides/text.md), run as written against a 127.0.0.1 mirror serving a small IMDB-format
aclImdb_v1.tar.gz (the registry's digest patched to it): the Python block (one epoch instead of three), then
its commands through `tinyms train / eval / predict` (`tinyms serve` blocks: its servable answers the same through
tinyms.serving.Predictor instead)."""

import json
import os
import shlex
import sys

import formats
from test_text_datasets import serve_imdb

from tinyms.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import _toy_text  # noqa: E402

MARKER = "tests/data/test_text_walkthrough.py runs this block"
TRAIN, TEST = 80, 24


def _imdb_archive():
    """aclImdb in the official layout: train/{neg,pos,unsup}, test/{neg,pos}, toy reviews of 8-40 words."""
    files = {"aclImdb/README": b"readme", "aclImdb/imdb.vocab": b"the\n", "aclImdb/train/unsup/0_0.txt": b"unlabelled"}
    for split, count, seed in (("train", TRAIN, 1), ("test", TEST, 2)):
        texts, labels = _toy_text.reviews(count, seed=seed, words=(8, 40))
        for i, (text, label) in enumerate(zip(texts, labels)):
            files[f"aclImdb/{split}/{('neg', 'pos')[label]}/{i}_{7 if label else 2}.txt"] = text.encode()
    return formats.tar_bytes(files)


def _blocks():
    text = open(os.path.join(ROOT, "docs", "guides", "text.md"), encoding="utf-8").read()   # docs/guides/text.md
    after = text[text.index(MARKER):]
    start = after.index("```python\n") + len("```python\n")
    python = after[start:after.index("```", start)]
    start = after.index("```bash\n", start) + len("```bash\n")
    commands = [line.split("#")[0].strip() for line in after[start:after.index("```", start)].splitlines()]
    return python, [shlex.split(c) for c in commands if c]


def test_the_guide_text_walkthrough_runs_against_a_local_imdb_mirror(server, monkeypatch, tmp_path, capsys):
    serve_imdb(monkeypatch, server, _imdb_archive())
    monkeypatch.chdir(tmp_path)
    python, commands = _blocks()
    assert "model.train(3," in python
    names = {}
    exec(compile(python.replace("model.train(3,", "model.train(1,"), "docs/guides/text.md", "exec"), names)  # noqa: S102
    out = capsys.readouterr().out
    assert "'accuracy'" in out and names["model"].eval_samples == TEST          # every test review, once
    assert out.strip().splitlines()[-1].split()[0] in ("neg", "pos")             # 'pos (73.1%)'
    with open(os.path.join("serving", "servable.json"), encoding="utf-8") as f:
        assert json.load(f)[0]["model"]["task"] == "text_classification"
    assert server.paths() == ["/imdb/aclImdb_v1.tar.gz"]

    assert [c[:2] for c in commands] == [["tinyms", "train"], ["tinyms", "eval"], ["tinyms", "predict"],
                                         ["tinyms", "serve"]]
    train = [("1" if word == "3" else word) for word in commands[0][1:]]       # one epoch instead of three
    assert main(train) == 0
    said = capsys.readouterr().out
    assert f"{TRAIN:,} training documents, 2 classes (neg, pos)" in said and "text_cnn" in said
    assert main(commands[1][1:]) == 0
    assert f"{TEST} documents, the IMDB test reviews" in capsys.readouterr().out
    assert main(commands[2][1:]) == 0
    label, score = capsys.readouterr().out.split()
    assert label in ("neg", "pos") and 0.5 <= float(score) <= 1
    from tinyms.serving import Predictor

    served = Predictor(os.path.join(commands[3][2], "text_cnn"))([commands[2][2]])[0]   # what `tinyms serve` runs
    assert served.label == label and abs(served.score - float(score)) < 1e-3
    assert len(server.paths()) == 2   # tinyms train downloads into the TinyMS cache, not ./imdb
