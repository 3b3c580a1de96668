"""The tables guide's walkthrough (docs/guides/tables.md), run as written on a generated click log
(tinyms.data.make_ctr_table written as clicks.csv, more_clicks.csv and an unlabelled new_rows.csv): the Python
block (one epoch instead of five), then its commands through `tinyms train / eval / predict` (the `tinyms serve`
line: its servable answers through tinyms.serving.Predictor instead), and `tinyms train --data criteo` against a
127.0.0.1 mirror serving a small archive in Criteo's format (the registry's size patched to it)."""

import csv
import json
import math
import os
import re
import shlex

import formats

from tinyms.cli import main
from tinyms.data import make_ctr_table

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MARKER = "tests/data/test_tabular_walkthrough.py runs this block"
ROWS, OTHER, NEW = 12000, 3000, 50


def _write_csv(path, table, rows=None, drop=()):
    names = [n for n in table if n not in drop]
    count = len(table[names[0]])
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        for i in range(count if rows is None else rows):
            writer.writerow(["" if v is None or (isinstance(v, float) and math.isnan(v)) else
                             (int(v) if isinstance(v, float) and v.is_integer() and n != "price" else v)
                             for n, v in ((n, table[n][i]) for n in names)])


def _blocks():
    with open(os.path.join(ROOT, "docs", "guides", "tables.md"), encoding="utf-8") as f:   # docs/guides/tables.md
        section = f.read().split(MARKER, 1)[1]
    python = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    bash = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return python, [shlex.split(line.split("#")[0]) for line in bash.splitlines() if line.split("#")[0].strip()]


def test_the_guide_tables_walkthrough_runs_on_a_generated_click_log(server, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    table, _ = make_ctr_table(ROWS + OTHER, seed=3)
    half = {k: v[:ROWS] for k, v in table.items()}
    _write_csv("clicks.csv", half)
    _write_csv("more_clicks.csv", {k: v[ROWS:] for k, v in table.items()})
    _write_csv("new_rows.csv", {k: v[ROWS:] for k, v in table.items()}, rows=NEW, drop=("clicked",))

    python, commands = _blocks()
    assert "model.train(5," in python
    names = {}
    exec(compile(python.replace("model.train(5,", "model.train(1,"), "docs/guides/tables.md", "exec"), names)  # noqa: S102
    out = capsys.readouterr().out
    assert "'auc'" in out and "'log_loss'" in out
    assert names["model"].eval_samples == round(ROWS * 0.2)                    # every held-out row, once
    predicted = out.strip().splitlines()[-1]                                  # [{'label': 0, 'probability': ...}]
    assert "'label'" in predicted and "'probability'" in predicted
    with open(os.path.join("serving", "servable.json"), encoding="utf-8") as f:
        assert json.load(f)[0]["model"]["task"] == "tabular"

    assert [c[:2] for c in commands] == [["tinyms", "train"]] + [["tinyms", "eval"], ["tinyms", "predict"],
                                                                  ["tinyms", "serve"], ["tinyms", "train"]]
    train = [("1" if word == "5" else word) for word in commands[0][1:]]     # one epoch instead of five
    assert main(train) == 0
    said = capsys.readouterr().out
    assert f"{round(ROWS * 0.8):,} training rows" in said and "Training deepfm" in said
    assert main(commands[1][1:]) == 0
    assert f"{OTHER:,} rows, every row of more_clicks.csv" in capsys.readouterr().out
    assert main(commands[2][1:]) == 0
    capsys.readouterr()
    with open("new_rows_predictions.csv", encoding="utf-8") as f:
        written = list(csv.DictReader(f))
    assert len(written) == NEW and all(0 <= float(r["probability"]) <= 1 for r in written)
    from tinyms.serving import Predictor

    rows = [{k: v for k, v in r.items() if k not in ("predicted", "probability")} for r in written[:5]]
    for row in rows:
        for name in ("price", "age", "past_clicks", "dwell"):
            row[name] = float(row[name]) if row[name] else None
        row["region"] = row["region"] or None
    with Predictor(os.path.join(commands[3][2], "deepfm")) as predict:       # what `tinyms serve` runs
        served = predict(rows)
    for answer, row in zip(served, written):
        assert abs(answer["probability"] - float(row["probability"])) < 1e-4

    formats.serve_criteo(server, monkeypatch, tmp_path / "criteo_src", 2500, seed=5)
    assert main(commands[4][1:]) == 0
    said = capsys.readouterr().out
    assert "Criteo: 39 fields" in said and "Training deepfm on criteo" in said
    assert os.path.isfile(os.path.join("runs", "criteo", "feature_spec.json"))
    assert [p.split("/")[1] for p in server.paths()] == ["kaggle_display_advertising"]
