"""`tinyms train` on tables (issue 19): a .csv file with --label is a table of rows (without it, or with
--text-column, a table of documents, as before), the objective and the default network follow from the label
column, a seeded share of rows is held out, the run folder keeps feature_spec.json and a tabular servable,
`tinyms eval RUN --data other.csv` scores another file with the run's spec, `tinyms predict rows.csv --run RUN`
writes a CSV of predictions; bad tables are named, not crashed on."""

import csv
import importlib.util
import json
import os
import re

import numpy as np
import pytest
import yaml

from tinyms import _train_cli
from tinyms.cli import main

CITIES = ("paris", "lyon", "nice", "lille")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _rows(count, seed):
    """Rows of a small click table: the city and the hour's effects, plus a price effect; 'clicked' yes/no."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        city, hour, price = CITIES[rng.integers(4)], int(rng.integers(0, 24)), float(rng.gamma(2.0, 20.0))
        logit = (1.5 if city in ("paris", "nice") else -1.5) + (1.0 if 8 <= hour < 18 else -1.0) - price / 40 + 1
        clicked = "yes" if rng.random() < 1 / (1 + np.exp(-logit)) else "no"
        spend = 3.0 * (city == "paris") + 0.1 * price + rng.normal(0, 0.5)
        rows.append({"city": city, "hour": hour, "price": round(price, 2), "clicked": clicked,
                     "spend": round(spend, 3), "note": "x"})
    return rows


def _write_parquet(path, rows, columns):
    """Write a Parquet file (pyarrow, a dependency of TinyMS; the test is skipped without it)."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({c: [r[c] for r in rows] for c in columns}), str(path))
    return str(path)


def _write(path, rows, columns=None):
    columns = columns or list(rows[0])
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    root = tmp_path_factory.mktemp("tables")
    (root / "spending").mkdir()
    rows = _rows(1000, seed=1)
    other = _rows(300, seed=2)
    _write(root / "spending" / "test.csv", rows[800:], ["city", "hour", "price", "spend"])
    return {"clicks": _write(root / "clicks.csv", rows, ["city", "hour", "price", "clicked"]),
            "spend": _write(root / "spend.csv", rows, ["city", "hour", "price", "spend"]),
            "other": _write(root / "other.csv", other, ["note", "city", "hour", "price", "clicked"]),
            "unlabelled": _write(root / "unlabelled.csv", other[:40], ["city", "hour", "price"]),
            "folder": os.path.dirname(_write(root / "spending" / "train.csv", rows[:800], ["city", "hour", "price",
                                                                                           "spend"])),
            "root": root}


def test_a_csv_with_label_is_a_table_of_rows_and_takes_the_table_defaults(tables):
    cfg = _train_cli.resolve_config({"data": tables["clicks"], "label": "clicked"})
    assert _train_cli.data_task(cfg["data"], cfg) == "tabular"
    assert (cfg["model"], cfg["objective"], cfg["monitor"]) == ("deepfm", "binary", "val_auc")
    assert (cfg["image_size"], cfg["augment"]) == (None, None)
    defaults = _train_cli.TASK_DEFAULTS["tabular"]
    assert {k: cfg[k] for k in defaults} == defaults
    cfg = _train_cli.resolve_config({"data": tables["spend"], "label": "spend"})
    assert (cfg["model"], cfg["objective"], cfg["monitor"]) == ("tabular_mlp", "regression", "val_rmse")
    cfg = _train_cli.resolve_config({"data": tables["clicks"], "label": "city"})
    assert (cfg["model"], cfg["objective"], cfg["monitor"]) == ("tabular_mlp", "multiclass", "val_accuracy")
    with pytest.raises(_train_cli.ConfigError, match="has several classes, which deepfm does not predict"):
        _train_cli.resolve_config({"data": tables["clicks"], "label": "city", "model": "deepfm"})
    # without --label (or with --text-column) a .csv stays a table of documents
    assert _train_cli.data_task(tables["clicks"], {}) == "text_classification"
    assert _train_cli.data_task(tables["clicks"], {"label": "clicked", "text_column": "city"}) == \
        "text_classification"


@pytest.mark.parametrize("values, words", [
    ({"label": "click"}, "clicks.csv has no column 'click' (its header: city, hour, price, clicked)"),
    ({"label": "clicked", "image_size": 32}, "image_size is for images"),
    ({"label": "clicked", "model": "lenet5"}, "lenet5 is a classification model"),
    ({"label": "clicked", "categorical": "town"}, "categorical: clicks.csv has no column 'town'"),
])
def test_bad_table_keys_are_named(tables, values, words):
    with pytest.raises(_train_cli.ConfigError, match=re.escape(words)):
        _train_cli.resolve_config({"data": tables["clicks"], **values})


def test_the_table_example_file_resolves(tmp_path, monkeypatch):
    from tinyms.data import make_ctr_table    # (the example names make_ctr_table's columns)

    table, _ = make_ctr_table(60, seed=1)
    _write(tmp_path / "clicks.csv", [{k: ("" if v is None else v) for k, v in zip(table, row)}
                                     for row in zip(*table.values())])
    monkeypatch.chdir(tmp_path)
    cfg = _train_cli.resolve_config(_train_cli.load_config_file(os.path.join(ROOT, "examples", "train",
                                                                             "table.yaml")))
    assert (cfg["model"], cfg["label"], cfg["objective"], cfg["monitor"]) == ("deepfm", "clicked", "binary",
                                                                              "val_auc")
    assert cfg["categorical"][0] == "site" and cfg["numeric"][-1] == "dwell"


def test_a_parquet_file_is_always_a_table_of_rows(tables):
    path = _write_parquet(tables["root"] / "clicks.parquet", _rows(50, seed=4), ["city", "hour", "price", "clicked"])
    with pytest.raises(_train_cli.ConfigError, match="is a table of rows: name the column to predict with --label"):
        _train_cli.resolve_config({"data": path})
    cfg = _train_cli.resolve_config({"data": path, "label": "clicked"})
    assert (_train_cli.data_task(cfg["data"], cfg), cfg["model"], cfg["objective"]) == ("tabular", "deepfm", "binary")


def test_table_keys_are_refused_for_other_data():
    with pytest.raises(_train_cli.ConfigError, match="label is for tables"):
        _train_cli.resolve_config({"data": "mnist", "model": "lenet5", "label": "y"})


def test_a_csv_without_its_text_column_names_both_flags(tables, tmp_path, capsys):
    assert main(["train", "--data", tables["clicks"], "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "has no column 'text'" in err and "--text-column" in err and "--label COLUMN" in err


def test_train_a_csv_then_eval_other_rows_and_predict(tables, tmp_path, capsys):
    run = str(tmp_path / "run")
    assert main(["train", "--data", tables["clicks"], "--label", "clicked", "--epochs", "2", "--batch-size", "32",
                 "--out", run]) == 0
    said = capsys.readouterr().out
    assert "800 training rows" in said and "200 rows" in said and "predicting 'clicked'" in said
    files = set(os.listdir(run))
    assert {"config.yaml", "feature_spec.json", "history.csv", "best.ckpt", "last.ckpt", "servable"} <= files
    with open(os.path.join(run, "config.yaml"), encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    assert (cfg["label"], cfg["model"], cfg["monitor"], cfg["objective"]) == ("clicked", "deepfm", "val_auc",
                                                                              "binary")
    with open(os.path.join(run, "history.csv"), encoding="utf-8") as f:
        history = list(csv.DictReader(f))
    assert len(history) == 2 and float(history[-1]["val_auc"]) > 0.75    # the city and the hour are learned
    with open(os.path.join(run, "servable", "servable.json"), encoding="utf-8") as f:
        entry = json.load(f)[0]
    assert entry["model"]["task"] == "tabular"

    results = _train_cli.evaluate(run)                           # the same 200 held-out rows
    shown = capsys.readouterr().out
    assert "200 rows, the rows of clicks.csv held out for validation (20%, seed 1)" in shown
    assert results["auc"] == pytest.approx(float(history[int(np.argmax([float(r["val_auc"]) for r in history]))]
                                                  ["val_auc"]), abs=1e-5)
    assert main(["eval", run, "--data", tables["other"]]) == 0
    shown = capsys.readouterr().out
    assert "'note'" in shown or "note" in shown and "ignored" in shown
    assert "300 rows, every row of other.csv" in shown
    if importlib.util.find_spec("pyarrow"):                           # Parquet, its numbers typed
        other = _write_parquet(tables["root"] / "other.parquet", _rows(120, seed=5),
                               ["city", "hour", "price", "clicked"])
        assert main(["eval", run, "--data", other]) == 0
        assert "120 rows, every row of other.parquet" in capsys.readouterr().out
    assert main(["eval", run, "--data", tables["unlabelled"]]) == 1
    assert "has no column 'clicked'" in capsys.readouterr().err
    partial = _write(tables["root"] / "partial.csv", _rows(20, seed=6), ["city", "price", "clicked"])
    assert main(["eval", run, "--data", partial]) == 1
    assert "lacks the run's feature column(s) hour" in capsys.readouterr().err

    assert main(["predict", tables["unlabelled"], "--run", run]) == 0
    out = os.path.join(os.path.dirname(tables["unlabelled"]), "unlabelled_predictions.csv")
    assert out in capsys.readouterr().out
    with open(out, encoding="utf-8") as f:
        predicted = list(csv.DictReader(f))
    assert len(predicted) == 40 and {"city", "predicted", "probability"} <= set(predicted[0])
    probs = np.array([float(r["probability"]) for r in predicted])
    assert ((probs >= 0) & (probs <= 1)).all() and {r["predicted"] for r in predicted} <= {"yes", "no"}
    # the probability is that of 'yes' (the label's second class), and follows the generating effects
    paris = probs[[r["city"] == "paris" for r in predicted]].mean()
    lyon = probs[[r["city"] == "lyon" for r in predicted]].mean()
    assert paris > lyon


def test_train_a_regression_folder_of_train_and_test_tables_then_resume(tables, tmp_path, capsys):
    run = str(tmp_path / "run")
    assert main(["train", "--data", tables["folder"], "--label", "spend", "--epochs", "2", "--batch-size", "32",
                 "--out", run]) == 0
    said = capsys.readouterr().out
    assert "800 training rows" in said and "200 rows, the rows of test.csv" in said and "Training tabular_mlp" in said
    results = _train_cli.evaluate(run)
    assert set(results) >= {"rmse", "mae"} and results["rmse"] < 2.0     # spend's spread is about 2.3
    assert "200 rows, the rows of test.csv" in capsys.readouterr().out
    assert main(["predict", os.path.join(tables["folder"], "test.csv"), "--run", run,
                 "--out", str(tmp_path / "spend.csv")]) == 0
    with open(tmp_path / "spend.csv", encoding="utf-8") as f:
        predicted = list(csv.DictReader(f))
    assert len(predicted) == 200 and "probability" not in predicted[0]
    errors = [abs(float(r["predicted"]) - float(r["spend"])) for r in predicted]   # values in spend's units
    assert np.mean(errors) == pytest.approx(results["mae"], rel=1e-3)
    assert main(["train", "--resume", run, "--epochs", "3"]) == 0          # the run's own spec, one more epoch
    with open(os.path.join(run, "history.csv"), encoding="utf-8") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [1, 2, 3]
