"""TabularDataset: a user's CSV/TSV/Parquet table read, checked, encoded and batched; the generated CTR table."""

import os
import time

import numpy as np
import pytest

from tinyms.data import FeatureSpec, TabularDataset, make_ctr_table
from tinyms.data.tabular import read_table
from tinyms.errors import DatasetError

MIXED = ("user_id,plan,age,visits,spend,member,city,churned\n"
         + "".join(f"u{i},{['free', 'pro', 'team'][i % 3]},{20 + (i * 7) % 50}.{i % 10},{i % 4},"
                   f"{(i * 37) % 1000 * (10 if i % 9 == 0 else 1)},{['true', 'false'][i % 2]},"
                   f"{['Lyon', 'Oslo', '', 'Rome', 'NA'][i % 5]},{['no', 'yes'][(i % 3 == 0) or (i % 7 == 0)]}\n"
                   for i in range(60)))


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _auc(labels, scores):
    """ROC AUC by ranks (ties averaged)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    positives = labels == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return (ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def test_mixed_csv_inference_summary_and_encoding(tmp_path, capsys):
    path = _write(tmp_path / "customers.csv", MIXED)
    table = TabularDataset(path, "churned", min_freq=1)
    out = capsys.readouterr().out
    kinds = {f["name"]: f["kind"] for f in table.spec.fields}
    assert kinds == {"plan": "categorical", "age": "numeric", "visits": "categorical", "spend": "numeric",
                     "member": "categorical", "city": "categorical"}
    assert "user_id" in out and "ID-like" in out and "40.0%" in out  # city: '' and 'NA' are missing
    assert table.spec.objective == "binary" and table.spec.label_classes == ["no", "yes"]
    assert table.num_rows == len(table) == 60 and table.columns == ("feat_ids", "feat_vals", "label")
    ids, vals, labels = table.arrays()
    assert ids.shape == vals.shape == (60, 6) and ids.dtype == np.int32 and vals.dtype == np.float32
    assert labels.shape == (60, 1) and labels.dtype == np.float32 and labels[0, 0] == 1.0
    again = table.spec.encode(read_table(path))
    assert np.array_equal(again[0], ids) and np.array_equal(again[1], vals)
    city = table.spec.fields[table.spec.columns.index("city")]
    assert ids[2, table.spec.columns.index("city")] == city["missing_id"]


def test_tsv_quoted_fields_and_named_kinds(tmp_path):
    rows = "".join(f'"{c}, inc"\t{v}\t{y}\n' for c, v, y in [("a", 1, 0), ("b", 2, 1), ("a", 3, 1), ("b", 4, 0)] * 3)
    path = _write(tmp_path / "t.tsv", "company\tscore\ty\n" + rows)
    table = TabularDataset(path, "y", categorical=["score"], numeric=[], verbose=False, min_freq=1)
    assert table.spec.columns == ("company", "score")
    assert sorted(table.spec.fields[0]["vocab"]) == ["a, inc", "b, inc"]
    semi = _write(tmp_path / "t.txt", "a;b;y\n1.5;x;0\n2.5;y;1\n")
    assert TabularDataset(semi, "y", verbose=False, min_freq=1).spec.columns == ("a", "b")


@pytest.mark.parametrize("content,message", [
    (b"", "is empty"),
    (b"a,b,y\x00\x01\x02", "binary"),
    (b"caf\xe9,y\n1,2\n", "not UTF-8"),
    (b"a,b,y\n", "no rows"),
    (b"just some words\nmore words\n", "single column"),
    (b"a,b,y\n1,2,0\n1,2\n", "data row 2 has 2 fields"),
    (b"a,b,y\n1,2,0\n3,4,\n", "label column 'y' is missing in 1 row"),
    (b"a,b,c\n1,2,0\n", "no label column 'y'"),
    (b"a,a,y\n1,2,0\n", "names column 'a' twice"),
])
def test_bad_files_are_named(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=message) as err:
        TabularDataset(path, "y", verbose=False)
    assert str(path) in str(err.value)


def test_missing_file_folder_size_limit_and_usage(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        TabularDataset(tmp_path / "none.csv", "y")
    with pytest.raises(DatasetError, match="is a folder"):
        TabularDataset(tmp_path, "y")
    path = _write(tmp_path / "train.csv", MIXED)
    with pytest.raises(DatasetError, match="more than max_file_bytes=100.*larger max_file_bytes="):
        TabularDataset(path, "churned", max_file_bytes=100)
    assert TabularDataset(tmp_path, "churned", usage="train", verbose=False).path == str(path)
    with pytest.raises(DatasetError, match="no test.csv"):
        TabularDataset(tmp_path, "churned", usage="test")


def test_given_spec_checks_columns_and_encodes_like_it(tmp_path):
    path = _write(tmp_path / "train.csv", MIXED)
    train = TabularDataset(path, "churned", verbose=False)
    spec_path = train.spec.save(tmp_path / "feature_spec.json")
    lines = MIXED.splitlines()
    other = _write(tmp_path / "other.csv", "\n".join(lines[:1] + lines[30:]) + "\nu99,gold,33.5,2,10,true,Paris,no\n")
    test = TabularDataset(other, "churned", spec=spec_path)
    assert test.spec == train.spec and test.num_rows == 32
    plan = train.spec.fields[train.spec.columns.index("plan")]
    assert test.feat_ids[-1, train.spec.columns.index("plan")] == plan["oov_id"]  # 'gold' never seen
    assert np.array_equal(test.feat_ids[:31], train.feat_ids[29:])
    dropped = _write(tmp_path / "less.csv", "plan,churned,extra\nfree,no,1\n")
    with pytest.raises(DatasetError, match="less.csv lacks the spec's column.*'age'.*'visits'"):
        TabularDataset(dropped, "churned", spec=train.spec)
    with pytest.raises(DatasetError, match="predicts column 'churned'"):
        TabularDataset(path, "plan", spec=train.spec)


def test_split_is_seeded_and_fits_on_training_rows_only(tmp_path):
    rs = np.random.RandomState(3)
    cities = [f"c{k}" for k in rs.zipf(1.3, 400) % 60]
    frame = {"city": cities, "x": rs.randn(400), "y": (rs.rand(400) < 0.4).astype(int)}
    whole = TabularDataset.from_frame(frame, "y", min_freq=1, verbose=False)
    train, valid = whole.split(0.25, seed=7)
    assert (train.num_rows, valid.num_rows) == (300, 100)
    again, _ = whole.split(0.25, seed=7)
    assert np.array_equal(again.feat_ids, train.feat_ids)
    train_cities = set(train._table["city"].tolist())
    vocab = train.spec.fields[0]["vocab"]
    assert set(vocab) <= train_cities and set(vocab) == train_cities
    assert valid.spec is train.spec
    unseen = [i for i, c in enumerate(valid._table["city"].tolist()) if c not in train_cities]
    assert unseen, "the test table should have validation-only cities"
    assert (valid.feat_ids[unseen, 0] == train.spec.fields[0]["oov_id"]).all()
    x = train.spec.fields[1]
    assert x["mean"] == pytest.approx(float(np.mean(train._table["x"].astype(float))))
    assert sorted(train._table["x"].tolist() + valid._table["x"].tolist()) == sorted(frame["x"].tolist())
    with pytest.raises(DatasetError, match="fraction"):
        whole.split(1.5)


def test_batches_cover_every_row_each_epoch_and_shard(tmp_path):
    frame = {"c": [f"k{i % 7}" for i in range(50)], "x": np.arange(50) * 0.5 + 0.25, "y": [i % 3 for i in range(50)]}
    table = TabularDataset.from_frame(frame, "y", min_freq=1, verbose=False)
    assert table.spec.objective == "multiclass"
    rows = {tuple(r) for r in table.feat_vals.tolist()}
    dataset = table.batch(16, shuffle=True, seed=1)
    assert dataset.get_dataset_size() == 4 and dataset.get_col_names() == ["feat_ids", "feat_vals", "label"]
    orders = []
    for _ in range(2):
        seen = []
        for ids, vals, label in dataset.create_tuple_iterator(output_numpy=True, num_epochs=1):
            assert ids.dtype == np.int32 and vals.dtype == np.float32 and label.dtype == np.int32
            assert label.shape == (len(ids),)
            seen += [tuple(v) for v in vals.tolist()]
        assert len(seen) == 50 and set(seen) == rows
        orders.append(seen)
    assert orders[0] != orders[1]
    plain = [b[1] for b in table.batch(16, shuffle=False).create_tuple_iterator(output_numpy=True, num_epochs=1)]
    assert np.array_equal(np.concatenate(plain), table.feat_vals)
    shards = [table.batch(10, shard_id=k, num_shards=2, seed=3) for k in range(2)]
    got = [np.concatenate([b[1] for b in s.create_tuple_iterator(output_numpy=True, num_epochs=1)]) for s in shards]
    assert {tuple(r) for g in got for r in g.tolist()} == rows and len(got[0]) == len(got[1]) == 25
    assert table.apply_ds(16, is_training=True).get_dataset_size() == 3  # drops the last 2 rows
    with pytest.raises(DatasetError, match="batch_size"):
        table.batch(0)


def test_parquet_round_trip(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table, _ = make_ctr_table(300, seed=2)
    path = tmp_path / "ctr.parquet"
    pq.write_table(pa.table({k: list(v.tolist()) for k, v in table.items()}), path)
    from_file = TabularDataset(path, "clicked", verbose=False)
    from_frame = TabularDataset.from_frame(table, "clicked", verbose=False)
    assert from_file.spec == from_frame.spec
    assert np.array_equal(from_file.feat_ids, from_frame.feat_ids)
    assert np.allclose(from_file.feat_vals, from_frame.feat_vals)


def test_parquet_without_pyarrow_names_the_fix(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    path = tmp_path / "t.csv"  # recognised by its first bytes, whatever its name
    path.write_bytes(b"PAR1" + b"\x00" * 20 + b"PAR1")
    with pytest.raises(DatasetError, match="Parquet file; reading it needs pyarrow.*pip install 'pyarrow"):
        TabularDataset(path, "y")


def test_generated_ctr_table_is_seeded_fast_and_has_a_known_best_auc():
    start = time.perf_counter()
    table, probs = make_ctr_table(100000, seed=0)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.5, elapsed  # < 1 s unloaded; some slack for a busy machine
    again, probs_again = make_ctr_table(100000, seed=0)
    assert np.array_equal(probs, probs_again) and np.array_equal(table["clicked"], again["clicked"])
    assert table["site"].tolist()[:50] == again["site"].tolist()[:50]
    other, probs_other = make_ctr_table(1000, seed=1)
    assert not np.array_equal(probs[:1000], probs_other)
    labels = table["clicked"]
    assert 0.17 < labels.mean() < 0.23 and abs(labels.mean() - probs.mean()) < 0.01
    best = _auc(labels, probs)
    assert 0.8 < best < 0.9
    # a model without the pairwise interactions is clearly worse: the interactions matter
    spec = FeatureSpec.fit(table, "clicked", verbose=False)
    ids, _ = spec.encode(table)
    assert spec.field_size == 10 and np.isnan(table["price"]).mean() > 0.02
    main_only = np.zeros(len(labels))
    for j in range(ids.shape[1]):  # per-id click rates of single fields, summed as logits
        counts = np.bincount(ids[:, j], minlength=spec.vocab_size)
        clicks = np.bincount(ids[:, j], weights=labels, minlength=spec.vocab_size)
        rate = (clicks + 1) / (counts + 5)
        main_only += np.log(rate / (1 - rate))[ids[:, j]]
    assert _auc(labels, main_only) < best - 0.03
