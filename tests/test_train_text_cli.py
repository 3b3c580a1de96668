"""`tinyms train` on text (issue 17): a folder of .txt documents (split into train/ and test/, or not) and a
.csv file are recognised, the word vocabulary comes from the training documents only, the default text
classifier trains without --model, the run folder keeps the text transform, `tinyms eval` counts every test
document, `tinyms predict TEXT --run` prints a label and a score; bad data is named, not crashed on."""

import csv
import os
import subprocess
import sys

import pytest
import yaml

import _toy_text
from tinyms import _train_cli, _train_text
from tinyms.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "GLOG_v": "3"}
DEFAULT = _train_cli.DEFAULT_MODELS["text_classification"]


def _tinyms(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "tinyms", *args], capture_output=True, text=True,
                          timeout=timeout, env=ENV, cwd=ROOT)


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    """reviews/train: 120 toy reviews, reviews/test: 30 (one test word never seen in training); a plain
    folder of 60 per class; the same 150 reviews as a CSV with its own column names."""
    root = tmp_path_factory.mktemp("text")
    train, test = _toy_text.reviews(120, seed=1, words=(8, 40)), _toy_text.reviews(30, seed=2, words=(8, 40))
    test[0][0] = "Zanzibarish " + test[0][0]
    _toy_text.write_folder(str(root / "reviews" / "train"), *train)
    _toy_text.write_folder(str(root / "reviews" / "test"), *test)
    _toy_text.write_folder(str(root / "plain"), *train)
    _toy_text.write_csv(str(root / "tickets.csv"), train[0] + test[0], train[1] + test[1],
                        text_column="body", label_column="sentiment")
    return root


def test_text_data_is_recognised_and_takes_the_text_defaults(reviews):
    for data in (reviews / "reviews", reviews / "plain", reviews / "tickets.csv", "imdb"):
        cfg = _train_cli.resolve_config({"data": str(data)})
        assert _train_cli.data_task(cfg["data"]) == "text_classification"
        assert cfg["model"] == DEFAULT and cfg["monitor"] == "val_accuracy"
        assert (cfg["image_size"], cfg["augment"]) == (None, None)
        defaults = _train_cli.TASK_DEFAULTS["text_classification"]
        assert {k: cfg[k] for k in defaults} == defaults
    assert _train_cli.resolve_config({"data": "imdb", "max_length": 64, "model": "sentimentnet"})["max_length"] == 64


@pytest.mark.parametrize("values, words", [
    ({"data": "imdb", "model": "lenet5"}, "lenet5 is a classification model and imdb is text_classification data"),
    ({"data": "mnist", "model": "lenet5", "max_length": 64}, "max_length is for text data"),
    ({"data": "imdb", "image_size": 32}, "image_size is for images"),
    ({"data": "imdb", "text_column": "body"}, "text_column names a column of a .csv/.tsv file"),
    ({"data": "imdb", "pretrained": True}, "published weights for the BERT models only"),
])
def test_keys_of_another_kind_of_data_are_refused(values, words):
    with pytest.raises(_train_cli.ConfigError, match=words):
        _train_cli.resolve_config(values)


def test_a_file_that_is_no_table_is_refused(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    assert main(["train", "--data", str(notes)]) == 1
    assert "are .csv/.tsv tables of documents" in capsys.readouterr().err


def test_held_out_documents_are_a_seeded_share_of_each_class():
    labels = [0] * 10 + [1] * 5 + [2] * 1
    train, valid = _train_text.held_out(labels, seed=3)
    assert sorted(train + valid) == list(range(16))
    assert [sum(labels[i] == c for i in valid) for c in (0, 1, 2)] == [2, 1, 0]
    assert _train_text.held_out(labels, seed=3) == (train, valid) != _train_text.held_out(labels, seed=4)


def test_train_a_split_folder_then_eval_counts_every_test_document_and_predict(reviews, tmp_path):
    run = tmp_path / "run"
    done = _tinyms("train", "--data", str(reviews / "reviews"), "--epochs", "2", "--max-length", "48",
                   "--lr", "0.01", "--out", str(run))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Training {DEFAULT} on" in done.stdout and "120 training documents, 2 classes (neg, pos)" in done.stdout
    for name in ("config.yaml", "history.csv", "curves.png", "best.ckpt", "last.ckpt", "run.json",
                 "text_transform/text_recipe.json", "text_transform/vocab.txt"):
        assert (run / name).is_file(), name
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["model"] == DEFAULT and config["max_length"] == 48 and config["epochs"] == 2
    vocab = (run / "text_transform" / "vocab.txt").read_text(encoding="utf-8").split()
    assert "superb" in vocab or "awful" in vocab
    assert "zanzibarish" not in vocab                      # learned from the training documents only
    with open(run / "history.csv", encoding="utf-8") as f:
        best = max(float(row["val_accuracy"]) for row in csv.DictReader(f))

    shown = _tinyms("eval", str(run))
    assert shown.returncode == 0, shown.stderr
    assert "30 documents, the test folder" in shown.stdout    # every test document, once
    accuracy = float(shown.stdout.split("accuracy: ")[1].split()[0])
    assert abs(accuracy - best) < 1e-4                        # best.ckpt's epoch, scored again
    assert abs(accuracy * 30 - round(accuracy * 30)) < 1e-2   # a count of the 30 documents

    said = _tinyms("predict", "A superb, moving and beautiful film.", "--run", str(run), "--top", "2")
    assert said.returncode == 0, said.stderr
    lines = [line.split("\t") for line in said.stdout.strip().splitlines()]
    assert sorted(label for label, _ in lines) == ["neg", "pos"]
    assert abs(sum(float(score) for _, score in lines) - 1) < 1e-3

    from tinyms.serving import Predictor

    assert '"text_classification"' in (run / "servable" / "servable.json").read_text()
    served = Predictor(str(run / "servable" / DEFAULT))(["A superb, moving and beautiful film."],
                                                        strategy="TOP5_CLASS")[0]
    assert [(label, f"{score:.4f}") for label, score in zip(served.labels, served.scores)] == [tuple(x) for x in lines]


def test_train_a_csv_with_its_own_columns_holds_out_a_share_of_each_class(reviews, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)                               # (a default run folder goes under runs/ here)
    table = str(reviews / "tickets.csv")
    assert main(["train", "--data", table]) == 1               # the columns are not text/label
    err = capsys.readouterr().err
    assert "has no column 'text' (its header: sentiment, body)" in err and "--text-column" in err

    run = tmp_path / "run"
    done = _tinyms("train", "--data", table, "--text-column", "body", "--label-column", "sentiment",
                   "--epochs", "1", "--max-length", "48", "--out", str(run))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "120 training documents" in done.stdout          # 150 rows, 20% of each class held out
    shown = _tinyms("eval", str(run))
    assert shown.returncode == 0, shown.stderr
    assert "30 documents, those of tickets.csv held out for validation (20% of each class, seed 1)" in shown.stdout
    other = _tinyms("eval", str(run), "--data", str(reviews / "reviews"))
    assert other.returncode == 0, other.stderr
    assert "30 documents, the test folder" in other.stdout


@pytest.mark.parametrize("name, data, words", [
    ("bin.txt", b"PK\x03\x04\x00\x00", "bin.txt is binary"),
    ("latin.txt", "caf\u00e9 cr\u00e8me".encode("latin-1"), "latin.txt is not UTF-8"),
    ("empty.txt", b"  \n", "empty.txt is empty"),
])
def test_bad_documents_are_named(tmp_path, capsys, name, data, words):
    _toy_text.write_folder(str(tmp_path / "docs"), *_toy_text.reviews(6, seed=0, words=(5, 9)))
    (tmp_path / "docs" / "pos" / name).write_bytes(data)
    assert main(["train", "--data", str(tmp_path / "docs"), "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: 1 bad document(s)") and words in err and "Traceback" not in err


def test_predict_run_of_an_image_run_says_it_takes_text_runs(tmp_path, capsys):
    (tmp_path / "best.ckpt").write_bytes(b"x")
    (tmp_path / "config.yaml").write_text("model: lenet5\ndata: mnist\n")
    assert main(["predict", "hello", "--run", str(tmp_path)]) == 1
    assert "is not a run trained on text" in capsys.readouterr().err


def test_bert_tiny_pretrained_fine_tunes_with_the_published_wordpiece_vocabulary(reviews, tmp_path):
    import functools
    import http.server
    import threading

    sys.path.insert(0, os.path.join(ROOT, "tests", "model"))
    import test_bert  # a BERT-Tiny-shaped checkpoint in the published layout, written by that test's helpers

    from tinyms import _hub_store
    from tinyms.model._bert_weights import PRETRAINED_BERT

    words = sorted(set(" ".join(_toy_text.reviews(150, seed=1)[0]).lower().replace(".", " ").split()))
    vocab = test_bert.SPECIALS + words + ["."]
    source = PRETRAINED_BERT["bert_tiny"]
    served = tmp_path / "served"
    served.mkdir()
    (served / source.cache_name("weights")).write_bytes(
        test_bert.torch_zip_bytes(test_bert.published(seed=1, vocab=len(vocab))[0]))
    (served / source.cache_name("vocab")).write_text("\n".join(vocab) + "\n", encoding="utf-8")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(served)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    env = {**ENV, "TINYMS_HOME": str(tmp_path / "home"), "NO_PROXY": "127.0.0.1,localhost",
           _hub_store.MIRROR_ENV: f"http://127.0.0.1:{httpd.server_address[1]}"}
    env.pop(_hub_store.OFFLINE_ENV, None)
    run = tmp_path / "run"
    try:
        done = subprocess.run([sys.executable, "-m", "tinyms", "train", "--data", str(reviews / "reviews"), "--model",
                               "bert_tiny", "--pretrained", "--epochs", "1", "--max-length", "32", "--out", str(run)],
                              capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert done.returncode == 0, done.stdout + done.stderr
    recipe = yaml.safe_load((run / "text_transform" / "text_recipe.json").read_text())
    assert recipe["tokenizer"]["kind"] == "wordpiece" and recipe["max_length"] == 32
    assert (run / "text_transform" / "vocab.txt").read_text(encoding="utf-8").split() == vocab
    assert yaml.safe_load((run / "config.yaml").read_text())["pretrained"] is True
    shown = _tinyms("eval", str(run), "--data", str(reviews / "tickets.csv"))   # no download: the checkpoint
    assert shown.returncode == 1 and "has no column 'text' (its header: sentiment, body)" in shown.stderr
    shown = _tinyms("eval", str(run), "--data", str(reviews / "tickets.csv"), "--text-column", "body",
                    "--label-column", "sentiment")
    assert shown.returncode == 0 and "150 documents, every document of tickets.csv" in shown.stdout, shown.stderr
