"""Criteo (issue 19): registry entry and download through a 127.0.0.1 mirror, streamed statistics
checked against a plain Python computation, the feature spec, the MindRecord conversion and its
split, kill-and-resume of both passes, malformed lines, loading."""

import collections
import json
import math
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tinyms.data import (DatasetFile, KaggleDisplayAdvertisingDataset, dataset_spec,
                         download_dataset, write_synthetic_criteo)
from tinyms.data import _criteo_stream as cs
from tinyms.errors import ChecksumError, DatasetError

import formats
from _data_paths import REPO

LINES = 3000
THRESHOLD = 5
SMALL = dict(threshold=THRESHOLD, verbose=False, chunk_lines=500, part_lines=1000, checkpoint_lines=500)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A synthetic train.txt (3,000 lines) with five malformed lines put in."""
    folder = tmp_path_factory.mktemp("criteo_src")
    write_synthetic_criteo(str(folder / "clean.txt"), LINES, seed=7)
    lines = (folder / "clean.txt").read_bytes().split(b"\n")[:-1]
    good = lines[10].split(b"\t")
    bad = {
        100: b"\t".join(good[:-1]),                                   # 39 fields
        777: b"\t".join(good[:3] + [b"12x"] + good[4:]),              # I3 not an integer
        1500: b"\t".join([b"2"] + good[1:]),                          # label 2
        2222: b"\t".join(good[:20] + [b"ABCDEF12"] + good[21:]),      # C7 upper-case hex
        2999: b"",                                                    # an empty line
    }
    for number, text in bad.items():
        lines[number] = text
    (folder / "train.txt").write_bytes(b"\n".join(lines) + b"\n")
    return folder / "train.txt", {n + 1 for n in bad}


def fresh(tmp_path, synthetic, name="run"):
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy2(synthetic[0], folder / "train.txt")
    return folder


def reference(path):
    """Plain Python statistics of a Criteo file: the well-formed rows' fields, the malformed line numbers."""
    ints = [[] for _ in range(13)]
    cats = [collections.Counter() for _ in range(26)]
    missing = [0] * 26
    bad, rows = [], []
    with open(path, encoding="ascii") as f:
        for number, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            try:
                assert len(parts) == 40 and parts[0] in ("0", "1")
                values = [int(v) if v else None for v in parts[1:14]]
                assert all(len(c) in (0, 8) and c == c.lower() and (not c or int(c, 16) >= 0) for c in parts[14:])
            except (AssertionError, ValueError):
                bad.append(number)
                continue
            rows.append((number - 1, int(parts[0]), values, parts[14:]))
            for j, v in enumerate(values):
                if v is not None:
                    ints[j].append(math.copysign(math.log1p(abs(v)), v) if v else 0.0)
            for j, c in enumerate(parts[14:]):
                if c:
                    cats[j][c] += 1
                else:
                    missing[j] += 1
    return ints, cats, missing, bad, rows


def spec_dict(criteo):
    return criteo.feature_spec.to_dict()


def as_row(values, cats):
    """One parsed line as the row dict a user (or serving) gives FeatureSpec.encode."""
    row = {f"I{j + 1}": v for j, v in enumerate(values)}
    row.update({f"C{j + 1}": c or None for j, c in enumerate(cats)})
    return row


def batches(dataset):
    return [tuple(np.asarray(c) for c in b) for b in dataset.create_tuple_iterator(output_numpy=True)]


# --------------------------------------------------------------------------- statistics and spec
def test_stats_match_a_plain_computation_and_malformed_lines_are_reported(tmp_path, synthetic):
    folder = fresh(tmp_path, synthetic)
    criteo = KaggleDisplayAdvertisingDataset(str(folder), **SMALL)
    with pytest.warns(UserWarning, match="5 malformed lines skipped"):
        summary = criteo.stats_data()
    ints, cats, missing, bad, rows = reference(folder / "train.txt")
    assert sorted(bad) == sorted(synthetic[1])
    assert summary["lines"] == LINES and summary["rows"] == LINES - 5 == len(rows)
    assert summary["malformed"] == 5
    assert sorted(n for n, _ in summary["malformed_examples"]) == sorted(synthetic[1])
    reasons = dict(summary["malformed_examples"])
    assert "39 tab-separated fields" in reasons[101] and "I3" in reasons[778]
    assert "label" in reasons[1501] and "C7" in reasons[2223]
    assert summary["clicks"] == sum(r[1] for r in rows)
    assert summary["distinct"] == [len(c) for c in cats]

    spec = spec_dict(criteo)
    assert json.loads((folder / "feature_spec.json").read_text())  # saved
    fields = spec["fields"]
    assert [f["name"] for f in fields] == [f"I{i}" for i in range(1, 14)] + [f"C{i}" for i in range(1, 27)]
    for j, f in enumerate(fields[:13]):
        assert f["kind"] == "numeric" and f["transform"] == "log"
        assert f["mean"] == pytest.approx(np.mean(ints[j]), rel=1e-9, abs=1e-12)
        assert f["scale"] == pytest.approx(np.std(ints[j]), rel=1e-7)
        assert f["missing_id"] == f["id"] == j and f["missing_value"] == 0.0  # 0.3's encoding of a missing number
    used = set()
    for j, f in enumerate(fields[13:]):
        kept = sorted(v for v, n in cats[j].items() if n > THRESHOLD)
        assert f["kind"] == "categorical" and f["vocab"] == kept          # 0.3's rule: seen more than threshold
        ids = set(range(f["offset"], f["offset"] + len(kept))) | {f["oov_id"], f["missing_id"]}
        assert f["missing_id"] != f["oov_id"] if missing[j] > THRESHOLD else f["missing_id"] == f["oov_id"]
        assert not ids & used - {f["oov_id"]}
        used |= ids
    assert summary["vocab_size"] == criteo.vocab_size == criteo.feature_spec.vocab_size == 1 + max(used)
    assert len(used | set(range(13))) == 1 + max(used)                    # no id left unused
    # 0.3's count: 13 numeric ids, 26 out-of-vocabulary ids, the kept values (the empty string counted as one),
    # so 0.3's scripts' hard-coded vocab_size (184,965 on the real file) stays right
    own_missing = sum(1 for j in range(26) if missing[j] > THRESHOLD)
    assert criteo.vocab_size == 13 + 26 + sum(len(f["vocab"]) for f in fields[13:]) + own_missing
    top = cats[0].most_common(1)[0][0]
    assert top in fields[13]["vocab"]                                      # a frequent category is kept


# --------------------------------------------------------------------------- conversion and loading
def test_conversion_encodes_with_the_spec_and_splits_by_line(tmp_path, synthetic):
    folder = fresh(tmp_path, synthetic)
    criteo = KaggleDisplayAdvertisingDataset(str(folder), **SMALL)
    with pytest.warns(UserWarning):
        counts = criteo.convert_to_mindrecord()   # computes the statistics first
    _, cats, _, _, rows = reference(folder / "train.txt")
    spec = spec_dict(criteo)
    in_test = cs.test_mask([r[0] for r in rows], criteo.seed, criteo.test_size)
    assert counts == criteo.num_rows == {"train": int((~in_test).sum()), "test": int(in_test.sum())}
    assert 0.07 < counts["test"] / len(rows) < 0.13

    test = batches(criteo.load_mindrecord_dataset(usage="test", batch_size=64))
    assert [b[0].shape for b in test[:1]] == [(64, 39)] and test[-1][0].shape[0] == counts["test"] % 64
    ids = np.concatenate([b[0] for b in test])
    vals = np.concatenate([b[1] for b in test])
    label = np.concatenate([b[2] for b in test])
    assert ids.dtype == np.int32 and vals.dtype == np.float32 and label.shape == (counts["test"], 1)
    expected = [r for r, t in zip(rows, in_test) if t]                    # file order, nothing dropped
    want_ids, want_vals = criteo.feature_spec.encode([as_row(r[2], r[3]) for r in expected])  # the contract
    assert (ids == want_ids).all() and (ids[:, :13] == np.arange(13)).all()  # a number's id, missing or not
    np.testing.assert_allclose(vals, want_vals, rtol=1e-6, atol=1e-6)
    missing_numbers = np.array([[v is None or v == "" for v in as_row(r[2], r[3]).values()][:13] for r in expected])
    assert missing_numbers.any() and (vals[:, :13][missing_numbers] == 0.0).all()  # 0.3's value for a missing one
    assert (label[:, 0] == [r[1] for r in expected]).all()
    assert 0 <= ids.min() and ids.max() < criteo.vocab_size

    top = cats[0].most_common(1)[0][0]
    c1 = spec["fields"][13]
    top_id = c1["offset"] + c1["vocab"].index(top)
    assert top_id != c1["oov_id"] and (ids[:, 13] == top_id).sum() == sum(r[3][0] == top for r in expected) > 0

    train = criteo.load_mindrecord_dataset(usage="train", batch_size=100)
    assert train.get_dataset_size() == counts["train"] // 100
    got = batches(train)
    assert len(got) == counts["train"] // 100 and all(b[0].shape == (100, 39) for b in got)
    again = batches(criteo.load_mindrecord_dataset(usage="train", batch_size=100, shuffle=False,
                                                   drop_remainder=False))
    assert sum(len(b[0]) for b in again) == counts["train"]
    labels = np.concatenate([b[2] for b in again])[:, 0]
    assert labels.sum() == sum(r[1] for r, t in zip(rows, in_test) if not t)
    assert batches(criteo.load_mindreocrd_dataset(usage="test", batch_size=64))[0][0].tolist() == test[0][0].tolist()


def test_split_is_a_seeded_function_of_the_line_number():
    lines = np.arange(200_000)
    mask = cs.test_mask(lines, 20191005, 0.1)
    assert abs(mask.mean() - 0.1) < 0.003
    assert (cs.test_mask(lines[123_456:130_000], 20191005, 0.1) == mask[123_456:130_000]).all()
    assert (cs.test_mask(lines, 1, 0.1) != mask).mean() > 0.1
    assert (cs.test_mask(lines, 20191005, 0.2) >= mask).all()


# --------------------------------------------------------------------------- kill and resume
KILLER = textwrap.dedent("""
    import os, sys
    from tinyms.data import criteo, _criteo_stream as cs
    real, calls = cs.parse_chunk, [0]
    def parse(data, first):
        calls[0] += 1
        if calls[0] > int(sys.argv[3]):
            os._exit(9)                 # dies like a killed process: no cleanup, no finally
        return real(data, first)
    cs.parse_chunk = parse
    ds = criteo.KaggleDisplayAdvertisingDataset(sys.argv[1], threshold=5, verbose=False, chunk_lines=500,
                                                part_lines=1000, checkpoint_lines=500)
    getattr(ds, sys.argv[2])()
""")


def killed(folder, method, after_chunks):
    env = dict(os.environ, PYTHONPATH=REPO, GLOG_v="3")
    proc = subprocess.run([sys.executable, "-c", KILLER, str(folder), method, str(after_chunks)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 9, proc.stderr[-2000:]


def test_statistics_resume_after_a_kill_and_equal_an_uninterrupted_run(tmp_path, synthetic):
    whole, cut = fresh(tmp_path, synthetic, "whole"), fresh(tmp_path, synthetic, "cut")
    killed(cut, "stats_data", 3)
    state, _ = cs.Stats.load(str(cut / "stats_dict" / "checkpoint.npz"))
    assert state.lines == 1500 and not (cut / "feature_spec.json").exists()
    with pytest.warns(UserWarning):
        KaggleDisplayAdvertisingDataset(str(cut), **SMALL).stats_data()
    with pytest.warns(UserWarning):
        KaggleDisplayAdvertisingDataset(str(whole), **SMALL).stats_data()
    assert (cut / "feature_spec.json").read_bytes() == (whole / "feature_spec.json").read_bytes()
    a, _ = cs.Stats.load(str(cut / "stats_dict" / "stats.npz"))
    b, _ = cs.Stats.load(str(whole / "stats_dict" / "stats.npz"))
    for key in ("lines", "offset", "rows", "clicks", "bad_count", "bad_reasons", "bad_examples"):
        assert getattr(a, key) == getattr(b, key)
    for key in ("num_count", "num_sum", "num_sumsq", "num_min", "num_max", "cat_missing"):
        assert np.array_equal(getattr(a, key), getattr(b, key))
    assert all(np.array_equal(x, y) for x, y in zip(a.values + a.counts, b.values + b.counts))
    assert not (cut / "stats_dict" / "checkpoint.npz").exists()


def test_conversion_resumes_at_the_first_incomplete_part_and_equals_an_uninterrupted_run(tmp_path, synthetic):
    whole, cut = fresh(tmp_path, synthetic, "whole"), fresh(tmp_path, synthetic, "cut")
    for folder in (whole, cut):
        with pytest.warns(UserWarning):
            KaggleDisplayAdvertisingDataset(str(folder), **SMALL).stats_data()
    killed(cut, "convert_to_mindrecord", 5)         # parts 0 and 1 done, part 2 half written
    marker = json.loads((cut / "mindrecord" / "parts.json").read_text())
    assert [p["index"] for p in marker["parts"]] == [0, 1] and not marker["complete"]
    done = {n: os.stat(cut / "mindrecord" / n).st_mtime_ns for p in marker["parts"] for n in p["files"]}
    resumed = KaggleDisplayAdvertisingDataset(str(cut), **SMALL)
    assert resumed.convert_to_mindrecord() == KaggleDisplayAdvertisingDataset(str(whole), **SMALL).convert_to_mindrecord()
    assert {n: os.stat(cut / "mindrecord" / n).st_mtime_ns for n in done} == done   # not rewritten
    assert not [n for n in os.listdir(cut / "mindrecord") if n.startswith(".tmp-")]
    for usage in ("train", "test"):
        a = batches(resumed.load_mindrecord_dataset(usage, 256, shuffle=False, drop_remainder=False))
        b = batches(KaggleDisplayAdvertisingDataset(str(whole), **SMALL).load_mindrecord_dataset(
            usage, 256, shuffle=False, drop_remainder=False))
        assert len(a) == len(b) and all(np.array_equal(x, y) for p, q in zip(a, b) for x, y in zip(p, q))


# --------------------------------------------------------------------------- errors
def test_clear_errors(tmp_path, synthetic):
    with pytest.raises(DatasetError, match="no train.txt"):
        KaggleDisplayAdvertisingDataset(str(tmp_path), verbose=False).stats_data()
    with pytest.raises(DatasetError, match="multiple of chunk_lines"):
        KaggleDisplayAdvertisingDataset(str(tmp_path), chunk_lines=300, part_lines=1000)
    with pytest.raises(DatasetError, match="test_size"):
        KaggleDisplayAdvertisingDataset(str(tmp_path), test_size=1.5)
    folder = fresh(tmp_path, synthetic)
    criteo = KaggleDisplayAdvertisingDataset(str(folder), **SMALL)
    with pytest.raises(DatasetError, match="convert_to_mindrecord"):
        criteo.load_mindrecord_dataset("train")
    with pytest.raises(DatasetError, match="stats_data"):
        _ = criteo.vocab_size
    with pytest.raises(DatasetError, match="usage"):
        criteo.load_mindrecord_dataset("validation")
    with pytest.raises(DatasetError, match="3,000 lines, expected line_count=45,840,617"):
        KaggleDisplayAdvertisingDataset(str(folder), line_count=45_840_617, **SMALL).stats_data()


# --------------------------------------------------------------------------- registry and download
def test_registry_entry_is_the_official_archive_checked_by_size():
    spec = dataset_spec("kaggle_display_advertising")
    assert dataset_spec("criteo") is spec
    (item,) = spec.files
    assert item.name == "criteo-research-kaggle-display-advertising-challenge-dataset.tar.gz"
    assert item.size == 4_576_820_670 and item.size_only and item.sha256 is None and item.md5 is None
    assert item.action == "extract" and item.unpacked_size == 11_147_184_845 + 1_460_246_311 + 1_927
    assert spec.urls[0] == "https://go.criteo.net/" and spec.num_images["train"] == 45_840_617
    with pytest.raises(ValueError, match="size_only"):
        DatasetFile("a.tar.gz", size_only=True, action="extract", path="x", unpacked_size=10)
    with pytest.raises(ValueError, match="size_only"):
        DatasetFile("a.gz", size=10, size_only=True, action="gunzip", unpacked_size=10)


def test_download_through_a_mirror_resumes_extracts_and_loads(server, monkeypatch, tmp_path):
    url = formats.serve_criteo(server, monkeypatch, tmp_path / "src", 1200, seed=3)
    archive = server.files[url]
    server.cut_after[url] = len(archive) // 2

    path = download_dataset("criteo", str(tmp_path / "data"), progress=False)
    assert path == str(tmp_path / "data" / "kaggle_display_advertising")
    ranges = [h.get("Range") for _, h in server.requests]
    assert ranges[0] is None and ranges[1].startswith("bytes=") and len(ranges) == 2   # resumed
    assert sorted(os.listdir(os.path.join(path, "dac"))) == ["readme.txt", "test.txt", "train.txt"]
    assert download_dataset("kaggle_display_advertising", str(tmp_path / "data"), progress=False) == path
    assert len(server.requests) == 2                                                    # verified, no I/O

    criteo = KaggleDisplayAdvertisingDataset(path, **SMALL)
    assert criteo.train_file == os.path.join(path, "dac", "train.txt")
    assert criteo.convert_to_mindrecord()["train"] > 900
    assert download_dataset("criteo", str(tmp_path / "data"), progress=False) == path  # outputs beside dac/

    server.files[url] = archive[:-1]                                                    # a wrong size is refused
    with pytest.raises(ChecksumError, match="size mismatch"):
        download_dataset("criteo", str(tmp_path / "other"), progress=False)


def test_parser_edge_values():
    def line(ints, cats, label="1"):
        return "\t".join([label] + ints + cats).encode() + b"\n"

    cats = ["00000000", "ffffffff", ""] + ["0123abcd"] * 23
    good = line(["-3", "123456789012", "0", "", "99999999", "100000000", "-12345678901"] + ["7"] * 6, cats)
    bad = [line(["-"] + ["1"] * 12, cats), line(["1"] * 13, ["1g234567"] + cats[1:]),
           line(["1"] * 13, ["0123abc"] + cats[1:]), line(["+1"] + ["1"] * 12, cats), line(["1"] * 13, cats, "")]
    parsed = cs.parse_chunk(good + b"".join(bad), 10)
    assert parsed.ints[0, :7].tolist() == [-3, 123456789012, 0, 0, 99999999, 100000000, -12345678901]
    assert parsed.int_missing[0].tolist() == [False] * 3 + [True] + [False] * 9
    assert parsed.cats[0, :3].tolist() == [0, 0xFFFFFFFF, 0] and parsed.cat_missing[0, :3].tolist() == [0, 0, 1]
    assert parsed.cats[0, 3] == 0x0123ABCD
    assert [n for n, _ in parsed.bad] == [11, 12, 13, 14, 15] and len(parsed.label) == 1
