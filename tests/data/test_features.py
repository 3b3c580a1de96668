"""FeatureSpec: how table rows become (feat_ids, feat_vals), its JSON form, and its checks."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from tinyms.data import FeatureSpec
from tinyms.errors import DatasetError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _table(n=40):
    rs = np.random.RandomState(0)
    return {"city": [["Lyon", "Oslo", "Rome", "Kyiv"][i % 4] for i in range(n)],
            "plan": [["free", "pro"][i % 3 == 0] for i in range(n)],
            "age": (18 + rs.rand(n) * 60).tolist(),
            "visits": rs.poisson(3, n).tolist(),   # few integers -> categorical
            "spend": rs.lognormal(3, 2, n).tolist(),  # skewed, >= 0 -> log
            "clicked": [int(i % 5 == 0) for i in range(n)]}


def _spec(**kwargs):
    kwargs.setdefault("verbose", False)
    return FeatureSpec.fit(_table(), "clicked", **kwargs)


def _field(spec, name):
    return spec.fields[spec.columns.index(name)]


def test_fit_infers_kinds_and_objective_and_prints_summary(capsys):
    spec = FeatureSpec.fit(_table(), "clicked", min_freq=1)
    out = capsys.readouterr().out
    kinds = {f["name"]: f["kind"] for f in spec.fields}
    assert kinds == {"city": "categorical", "plan": "categorical", "age": "numeric", "visits": "categorical",
                     "spend": "numeric"}
    assert _field(spec, "spend")["transform"] == "log" and _field(spec, "age")["transform"] == "standard"
    assert spec.objective == "binary" and spec.label_classes == [0, 1]
    assert spec.field_size == 5 and spec.vocab_size == 1 + max(
        max(f.get("missing_id", 0), f.get("oov_id", 0)) for f in spec.fields)
    for column in ("city", "plan", "age", "visits", "spend", "distinct", "missing"):
        assert column in out
    assert out.strip() == spec.summary.strip()


def test_id_like_constant_and_empty_columns_are_dropped_unless_named():
    n = 30
    table = {"user": [f"u{i}" for i in range(n)], "row": list(range(100, 100 + n)), "same": ["x"] * n,
             "empty": [None] * n, "x": np.linspace(0, 1, n).tolist(), "y": [i % 2 for i in range(n)]}
    spec = FeatureSpec.fit(table, "y", verbose=False)
    assert spec.columns == ("x",)
    for name in ("user", "row", "same", "empty"):
        assert name in spec.summary
    assert "ID-like" in spec.summary
    kept = FeatureSpec.fit(table, "y", categorical=["user"], verbose=False)
    assert "user" in kept.columns and "row" not in kept.columns
    only = FeatureSpec.fit(table, "y", categorical=["user"], numeric=["x"], verbose=False)
    assert only.columns == ("user", "x")


def test_objective_inference_and_override():
    x = (np.arange(30) + 0.5).tolist()
    assert FeatureSpec.fit({"x": x, "y": ["a", "b", "c"] * 10}, "y", verbose=False).objective == "multiclass"
    reg = FeatureSpec.fit({"x": x, "y": [v * 1.5 + 0.25 for v in x]}, "y", verbose=False)
    assert reg.objective == "regression" and reg.label_classes is None
    assert reg.label_mean == pytest.approx(np.mean(x) * 1.5 + 0.25)
    assert reg.label_scale == pytest.approx(np.std(x) * 1.5)
    assert FeatureSpec.fit({"x": x, "y": [0, 1, 2] * 10}, "y", verbose=False).objective == "multiclass"
    forced = FeatureSpec.fit({"x": x, "y": [0, 1, 2] * 10}, "y", objective="regression", verbose=False)
    assert forced.objective == "regression"
    with pytest.raises(DatasetError, match="3 distinct"):
        FeatureSpec.fit({"x": x, "y": [0, 1, 2] * 10}, "y", objective="binary", verbose=False)
    with pytest.raises(DatasetError, match="non-numbers"):
        FeatureSpec.fit({"x": x, "y": ["a", "b", "c"] * 10}, "y", objective="regression", verbose=False)


def test_label_errors_are_named():
    with pytest.raises(DatasetError, match="no label column 'target'.*'x'"):
        FeatureSpec.fit({"x": [1.0, 2.0]}, "target", verbose=False)
    with pytest.raises(DatasetError, match="label column 'y' is missing in 1 row.*row 1"):
        FeatureSpec.fit({"x": [1.0, 2.0, 3.0], "y": [1, None, 0]}, "y", verbose=False)
    with pytest.raises(DatasetError, match="no column 'nope'"):
        FeatureSpec.fit({"x": [1.0, 2.0], "y": [0, 1]}, "y", numeric=["nope"], verbose=False)


def test_every_kind_of_value_encodes_as_documented():
    table = {"c": ["12", "red", "true", "0.5", "red", "12", "true", "0.5"] * 3,
             "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0] * 3, "y": [0, 1] * 12}
    spec = FeatureSpec.fit(table, "y", categorical=["c"], numeric=["x"], min_freq=1, verbose=False)
    c, x = _field(spec, "c"), _field(spec, "x")
    cid = {v: c["offset"] + i for i, v in enumerate(c["vocab"])}
    values = [12, 12.0, "12", " red ", True, "TRUE", 0.5, "0.5", None, float("nan"), "", "NA", "blue", 7]
    want = [cid["12"], cid["12"], cid["12"], cid["red"], cid["true"], cid["true"], cid["0.5"], cid["0.5"],
            c["missing_id"], c["missing_id"], c["missing_id"], c["missing_id"], c["oov_id"], c["oov_id"]]
    ids, vals = spec.encode([{"c": v} for v in values])
    assert ids[:, 0].tolist() == want and (vals[:, 0] == 1.0).all()
    # numeric: ints, floats, bools, number strings; missing -> missing_id with value 1.0
    numbers = [3, 3.5, True, " 2.5 ", None, float("nan"), "", float("inf")]
    ids, vals = spec.encode([{"x": v} for v in numbers])
    expect = [(v - x["mean"]) / x["scale"] for v in (3.0, 3.5, 1.0, 2.5)]
    assert ids[:4, 1].tolist() == [x["id"]] * 4 and vals[:4, 1] == pytest.approx(expect, rel=1e-6)
    assert ids[4:, 1].tolist() == [x["missing_id"]] * 4 and (vals[4:, 1] == 1.0).all()
    assert ids.dtype == np.int32 and vals.dtype == np.float32 and ids.shape == (8, 2)


def test_log_transform_and_same_codes_from_rows_columns_and_arrays():
    spec = _spec(min_freq=1)
    spend = _field(spec, "spend")
    table = _table()
    del table["clicked"]
    ids, vals = spec.encode(table)
    t = np.log1p(np.asarray(table["spend"]))
    assert vals[:, spec.columns.index("spend")] == pytest.approx((t - spend["mean"]) / spend["scale"], rel=1e-5)
    rows = [dict(zip(table, r)) for r in zip(*table.values())]
    arrays = {k: np.asarray(v) for k, v in table.items()}
    for other in (spec.encode(rows), spec.encode(arrays)):
        assert np.array_equal(other[0], ids) and np.array_equal(other[1], vals)


def test_unseen_rare_and_high_cardinality_values_go_to_oov():
    table = {"c": ["a"] * 10 + ["b"] * 6 + ["c"] * 3 + ["d"], "y": [0, 1] * 10}
    spec = FeatureSpec.fit(table, "y", min_freq=2, max_categories=2, verbose=False)
    c = spec.fields[0]
    assert c["vocab"] == ["a", "b"]
    assert "high cardinality" in spec.summary and "OOV" in spec.summary
    ids, _ = spec.encode({"c": ["a", "b", "c", "d", "never seen"]})
    assert ids[:, 0].tolist() == [c["offset"], c["offset"] + 1] + [c["oov_id"]] * 3


def test_save_load_round_trip_gives_identical_arrays(tmp_path):
    spec = _spec()
    path = spec.save(tmp_path / "sub" / "feature_spec.json")
    data = json.loads(open(path, encoding="utf-8").read())
    assert data["format"] == "tinyms.feature_spec" and data["version"] == 1
    assert data["fields"][0]["kind"] == "categorical" and "vocab" in data["fields"][0]
    assert not [n for n in os.listdir(tmp_path / "sub") if n.startswith(".tmp-")]
    loaded = FeatureSpec.load(path)
    assert loaded == spec and FeatureSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    table = _table()
    a, b = spec.encode(table), loaded.encode(table)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert np.array_equal(spec.encode_label(table["clicked"]), loaded.encode_label(table["clicked"]))


def test_load_names_what_is_wrong(tmp_path):
    good = _spec().to_dict()
    cases = [
        (lambda d: d["fields"][0].pop("vocab"), "missing key 'vocab'"),
        (lambda d: d["fields"][1].update(kind="text"), "kind must be"),
        (lambda d: d["fields"][2].update(scale=0), "scale must be > 0"),
        (lambda d: d["fields"][0].update(oov_id=-1), "oov_id must be an integer"),
        (lambda d: d.update(objective="ranking"), "objective must be"),
        (lambda d: d.update(version=99), "version 99"),
        (lambda d: d.update(extra=1), "unknown key 'extra'"),
        (lambda d: d.update(vocab_size=3), "vocab_size is 3"),
        (lambda d: d["fields"][0]["vocab"].append(" spaced "), "not a category key"),
    ]
    for change, message in cases:
        data = json.loads(json.dumps(good))
        change(data)
        path = tmp_path / "spec.json"
        path.write_text(json.dumps(data))
        with pytest.raises(DatasetError, match=message) as err:
            FeatureSpec.load(path)
        assert str(path) in str(err.value)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DatasetError, match="bad.json cannot be read"):
        FeatureSpec.load(tmp_path / "bad.json")
    with pytest.raises(DatasetError, match="does not exist"):
        FeatureSpec.load(tmp_path / "none.json")
    (tmp_path / "big.json").write_text(json.dumps(good))
    with pytest.raises(DatasetError, match="more than"):
        FeatureSpec.load(tmp_path / "big.json", max_bytes=100)


def test_check_row_and_encode_name_unknown_columns_and_wrong_types():
    spec = _spec()
    spec.check_row({"city": "Lyon", "age": "31", "clicked": 1})
    spec.check_row({"age": None})  # a column left out is a missing value
    with pytest.raises(DatasetError, match="unknown column 'cty'.*'city'"):
        spec.check_row({"cty": "Lyon"})
    with pytest.raises(DatasetError, match="column 'age' is numeric, but it holds 'old'"):
        spec.check_row({"age": "old"})
    with pytest.raises(DatasetError, match="column 'city' is categorical, but it holds a list"):
        spec.check_row({"city": ["Lyon"]})
    with pytest.raises(DatasetError, match="object of column name"):
        spec.check_row(["Lyon"])
    with pytest.raises(DatasetError, match="unknown column 'cty'"):
        spec.encode([{"cty": "Lyon"}])
    with pytest.raises(DatasetError, match="column 'age' is numeric, but row 1 holds 'old'"):
        spec.encode([{"age": 3}, {"age": "old"}])
    with pytest.raises(DatasetError, match="no column 'plan'"):
        spec.encode({"city": ["Lyon"], "age": [3.0], "visits": [1], "spend": [2.0]})


def test_labels_encode_decode_and_postprocess():
    binary = FeatureSpec.fit({"x": [1.5, 2.5, 3.5, 4.5], "y": ["no", "yes", "no", "yes"]}, "y", verbose=False)
    assert binary.label_classes == ["no", "yes"]
    target = binary.encode_label(["yes", "no", "yes"])
    assert target.dtype == np.float32 and target.shape == (3, 1) and target.ravel().tolist() == [1, 0, 1]
    with pytest.raises(DatasetError, match="label 'maybe'.*'no', 'yes'"):
        binary.encode_label(["maybe"])
    assert binary.decode_label([[0.8], [0.3]]) == ["yes", "no"]
    assert binary.postprocess([0.0], logits=True) == [{"label": "yes", "probability": 0.5}]
    multi = FeatureSpec.fit({"x": [1.5, 2.5, 3.5] * 3, "y": [3, 1, 2] * 3}, "y", verbose=False)
    assert multi.objective == "multiclass" and multi.label_classes == [1, 2, 3]
    target = multi.encode_label(["3", 1.0, 2])
    assert target.dtype == np.int32 and target.tolist() == [2, 0, 1]
    out = multi.postprocess([[0.1, 0.7, 0.2]])
    assert out[0]["label"] == 2 and out[0]["probabilities"] == pytest.approx([0.1, 0.7, 0.2])
    reg = FeatureSpec.fit({"x": [1.5, 2.5, 3.5, 4.5], "y": [10.5, 20.25, 30.0, 41.5]}, "y", verbose=False)
    assert reg.encode_label([1.5, "2"]).ravel().tolist() == [1.5, 2.0]
    assert reg.postprocess([[12.5]]) == [{"value": 12.5}]
    bools = FeatureSpec.fit({"x": [1.5, 2.5, 3.5, 4.5], "y": [True, False] * 2}, "y", verbose=False)
    assert bools.label_classes == [False, True] and bools.encode_label(["true", False]).ravel().tolist() == [1, 0]


def test_from_dict_built_by_hand_like_a_streaming_converter():
    data = {"label": "label", "objective": "binary", "label_classes": [0, 1],
            "fields": [{"name": "I1", "kind": "numeric", "transform": "log", "mean": 1.0, "scale": 2.0,
                        "id": 0, "missing_id": 1},
                       {"name": "C1", "kind": "categorical", "vocab": ["68fd1e64", "05db9164"], "offset": 2,
                        "oov_id": 4, "missing_id": 5}]}
    spec = FeatureSpec.from_dict(data)
    assert spec.vocab_size == 6 and spec.field_size == 2
    ids, vals = spec.encode([{"I1": 0, "C1": "05db9164"}, {"I1": "", "C1": "ffffffff"}])
    assert ids.tolist() == [[0, 3], [1, 4]]
    assert vals[0].tolist() == [pytest.approx(-0.5), 1.0] and vals[1].tolist() == [1.0, 1.0]


def test_module_imports_numpy_only():
    code = ("import sys; sys.modules['mindspore'] = None\n"
            "from tinyms.data._features import FeatureSpec\n"
            "s = FeatureSpec.fit({'a': ['x', 'y'] * 3, 'y': [0, 1] * 3}, 'y', verbose=False)\n"
            "s.encode([{'a': 'x'}])\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mindspore', 'pandas', 'pyarrow')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['mindspore']"  # only the blocked placeholder


def test_dataframe_input():
    pd = pytest.importorskip("pandas")
    table = _table()
    spec = FeatureSpec.fit(pd.DataFrame(table), "clicked", verbose=False)
    assert spec == FeatureSpec.fit(table, "clicked", verbose=False)
    a, b = spec.encode(pd.DataFrame(table)), spec.encode(table)
    assert np.array_equal(a[0], b[0]) and np.allclose(a[1], b[1])


def test_nan_label_class_and_numeric_mean_are_finite():
    spec = _spec()
    for f in spec.fields:
        if f["kind"] == "numeric":
            assert math.isfinite(f["mean"]) and f["scale"] > 0


def test_number_categories_and_labels_match_whatever_way_they_are_written():
    # a CSV written with NaN in an integer column holds "12.0"; a JSON row may send 12 or "12"
    spec = FeatureSpec.fit({"n": ["1.0", "2.0", "12.0", None] * 5, "y": ["0.0", "1.0"] * 10}, "y", min_freq=1,
                           categorical=["n"], verbose=False)
    n = spec.fields[0]
    assert n["numbers"] is True and sorted(n["vocab"]) == ["1", "12", "2"]
    ids, _ = spec.encode([{"n": v} for v in (12, "12", 12.0, "12.0", " 012 ")])
    assert len(set(ids[:, 0].tolist())) == 1 and ids[0, 0] != n["oov_id"]
    assert spec.label_classes == [0, 1] and spec.encode_label(["1.0", 1, "0"]).ravel().tolist() == [1, 0 + 1, 0]
    strings = FeatureSpec.fit({"s": ["a", "12.0", "b"] * 4, "y": [0, 1] * 6}, "y", min_freq=1, verbose=False)
    assert "numbers" not in strings.fields[0] and "12.0" in strings.fields[0]["vocab"]


def test_given_label_classes_and_infer_objective():
    spec = FeatureSpec.fit({"x": [0.5, 1.5] * 3, "y": ["yes", "no"] * 3}, "y", label_classes=["yes", "no"],
                           verbose=False)
    assert spec.objective == "binary" and spec.encode_label(["no", "yes"]).ravel().tolist() == [1, 0]
    with pytest.raises(DatasetError, match="'maybe', which is not one of label_classes"):
        FeatureSpec.fit({"x": [0.5, 1.5], "y": ["yes", "maybe"]}, "y", label_classes=["yes", "no"], verbose=False)
    assert FeatureSpec.infer_objective(["a", "b", "c"]) == "multiclass"
    assert FeatureSpec.infer_objective([0.25, 1.5, 3.0]) == "regression"
    with pytest.raises(DatasetError, match="missing in 1 row"):
        FeatureSpec.infer_objective([1, None, 0])


def test_a_numeric_field_can_encode_missing_as_its_own_id_with_value_zero(tmp_path):
    """Criteo's spec (TinyMS 0.3's layout): a missing number is the field's id with value 0.0."""
    data = {"label": "label", "objective": "binary", "label_classes": [0, 1],
            "fields": [{"name": "I1", "kind": "numeric", "transform": "log", "mean": 1.0, "scale": 2.0,
                        "id": 0, "missing_id": 0, "missing_value": 0.0},
                       {"name": "C1", "kind": "categorical", "vocab": ["68fd1e64"], "offset": 1,
                        "oov_id": 2, "missing_id": 2}]}
    spec = FeatureSpec.from_dict(data)
    assert spec.vocab_size == 3                                 # no id spent on "missing"
    ids, vals = spec.encode([{"I1": 0, "C1": "68fd1e64"}, {"I1": None, "C1": None}])
    assert ids.tolist() == [[0, 1], [0, 2]] and vals.tolist() == [[pytest.approx(-0.5), 1.0], [0.0, 1.0]]
    spec.save(tmp_path / "spec.json")
    again = FeatureSpec.load(tmp_path / "spec.json")
    assert again.fields[0]["missing_value"] == 0.0 and (again.encode([{"I1": None, "C1": "x"}])[1] == [[0, 1]]).all()
    data["fields"][0]["missing_value"] = float("nan")
    with pytest.raises(DatasetError, match="missing_value must be a finite number"):
        FeatureSpec.from_dict(data)
