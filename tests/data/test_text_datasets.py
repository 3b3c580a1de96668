"""Text datasets (issue 17): download_dataset('imdb') from a 127.0.0.1 mirror through the real
download code, ImdbDataset, TextFolderDataset, CsvTextDataset, is_text_folder and load_glove."""

import dataclasses
import os

import numpy as np
import pytest

from tinyms.data import (CsvTextDataset, ImdbDataset, TextFolderDataset, _registry, dataset_spec,
                         download, download_dataset, is_text_folder, load_glove)
from tinyms.errors import ArchiveError, DatasetError

import formats

ARCHIVE = "aclImdb_v1.tar.gz"


def imdb_files():
    """A tiny aclImdb: train 3 neg + 4 pos (+ unsup), test 2 neg + 2 pos, each text unique."""
    files = {"aclImdb/README": b"readme", "aclImdb/imdb.vocab": b"the\nmovie\n",
             "aclImdb/train/labeledBow.feat": b"0 0:1\n", "aclImdb/train/unsup/0_0.txt": b"unlabelled"}
    counts = {("train", "neg"): 3, ("train", "pos"): 4, ("test", "neg"): 2, ("test", "pos"): 2}
    for (split, label), n in counts.items():
        for i in range(n):
            text = f"{split} {label} review {i}: caf\u00e9 <br /> ok".encode()
            files[f"aclImdb/{split}/{label}/{i}_{7 if label == 'pos' else 2}.txt"] = text
    return files


def serve_imdb(monkeypatch, server, payload):
    spec = dataset_spec("imdb")
    files = (dataclasses.replace(spec.files[0], size=len(payload), sha256=formats.sha256(payload)),)
    monkeypatch.setitem(_registry._table(), "imdb", dataclasses.replace(spec, files=files))
    server.files[f"/imdb/{ARCHIVE}"] = payload
    monkeypatch.setenv(download.MIRROR_ENV, server.url)


def rows(dataset):
    return [(str(r["text"]), int(r["label"])) for r in dataset.create_dict_iterator(output_numpy=True)]


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# --------------------------------------------------------------------------- IMDB
def test_imdb_spec_is_the_official_archive():
    spec = dataset_spec("imdb")
    assert spec.files[0].name == ARCHIVE and spec.files[0].size == 84125825
    assert download._source_urls(spec, None)[ARCHIVE] == [
        "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"]
    assert spec.labels == ("neg", "pos") and spec.loader == "ImdbDataset"


def test_imdb_downloads_from_mirror_and_yields_every_review_once(server, monkeypatch, tmp_path):
    files = imdb_files()
    serve_imdb(monkeypatch, server, formats.tar_bytes(files))
    path = download_dataset("imdb", tmp_path, progress=False)
    assert server.paths() == [f"/imdb/{ARCHIVE}"]
    assert os.path.isfile(os.path.join(path, "aclImdb", "train", "pos", "3_7.txt"))

    expected = {split: sorted((data.decode(), int(name.split("/")[2] == "pos"))
                              for name, data in files.items()
                              if name.startswith(f"aclImdb/{split}/") and name.split("/")[2] in ("neg", "pos"))
                for split in ("train", "test")}
    train = ImdbDataset(path, usage="train", shuffle=True)
    assert train.class_names == ("neg", "pos") and train.get_dataset_size() == 7
    got = rows(train)
    assert sorted(got) == expected["train"]  # every document exactly once (unsup left out)
    assert all(f"{('neg', 'pos')[label]} review" in text for text, label in got)
    assert sorted(rows(ImdbDataset(os.path.join(path, "aclImdb"), usage="test"))) == expected["test"]
    assert len(rows(ImdbDataset(path, usage="all"))) == 11
    shards = [rows(ImdbDataset(path, num_shards=2, shard_id=i, shuffle=False)) for i in range(2)]
    # MindSpore's sharding gives every shard the same size (4 + 4 for 7 reviews, one repeated)
    assert [len(s) for s in shards] == [4, 4] and sorted(set(shards[0] + shards[1])) == expected["train"]
    batch = next(ImdbDataset(path).batch(4).create_dict_iterator(output_numpy=True))
    assert batch["text"].shape == (4,) and batch["label"].dtype == np.int32

    assert download_dataset("imdb", tmp_path, progress=False) == path
    assert len(server.requests) == 1  # verified: no second download


def test_imdb_archive_with_path_traversal_is_refused(server, monkeypatch, tmp_path):
    evil = formats.tar_bytes(imdb_files(), extra=[formats.member("aclImdb/../../evil.txt", data=b"x")])
    serve_imdb(monkeypatch, server, evil)
    with pytest.raises(ArchiveError, match=r"evil\.txt.*'\.\.'"):
        download_dataset("imdb", tmp_path, progress=False)
    assert not os.path.exists(tmp_path / "evil.txt") and not os.path.exists(tmp_path.parent / "evil.txt")
    assert not os.path.exists(tmp_path / "imdb" / "aclImdb")


def test_imdb_errors_name_the_problem(tmp_path):
    with pytest.raises(DatasetError, match="no train/ or test/ folder.*download_dataset\\('imdb'\\)"):
        ImdbDataset(tmp_path)
    with pytest.raises(DatasetError, match="usage must be one of"):
        ImdbDataset(tmp_path, usage="unsup")
    write(str(tmp_path / "aclImdb" / "train" / "neg" / "0_1.txt"), b"bad")
    with pytest.raises(DatasetError, match="class_names names 'pos'"):
        ImdbDataset(tmp_path)


# --------------------------------------------------------------------------- folders of .txt files
@pytest.fixture
def text_folder(tmp_path):
    root = tmp_path / "tickets"
    write(str(root / "billing" / "a.txt"), "double charge \u20ac".encode())
    write(str(root / "billing" / "B.TXT"), b"\xef\xbb\xbfrefund please")  # BOM dropped
    write(str(root / "billing" / "notes.md"), b"ignored")
    write(str(root / "tech" / "c.txt"), b"app crashes")
    write(str(root / ".cache" / "x.txt"), b"hidden")
    return root


def test_text_folder_reads_classes_in_sorted_order(text_folder):
    ds = TextFolderDataset(text_folder, shuffle=False)
    assert ds.class_names == ("billing", "tech") and ds.bad_files == ()
    assert rows(ds) == [("refund please", 0), ("double charge \u20ac", 0), ("app crashes", 1)]
    given = TextFolderDataset(text_folder, class_names=["tech", "billing"], shuffle=False)
    assert rows(given)[0] == ("app crashes", 0) and given.class_names == ("tech", "billing")
    assert is_text_folder(text_folder) and not is_text_folder(text_folder / "tech")
    assert not is_text_folder(text_folder / "missing")


def test_text_folder_with_usage_sub_folders(tmp_path):
    write(str(tmp_path / "train" / "neg" / "1.txt"), b"bad film")
    write(str(tmp_path / "train" / "pos" / "1.txt"), b"good film")
    write(str(tmp_path / "test" / "pos" / "2.txt"), b"great")
    write(str(tmp_path / "test" / "neg" / "2.txt"), b"awful")
    assert rows(TextFolderDataset(tmp_path, usage="test", shuffle=False)) == [("awful", 0), ("great", 1)]
    assert is_text_folder(tmp_path)
    with pytest.raises(DatasetError, match="'val'.*does not exist"):
        TextFolderDataset(tmp_path, usage="val")


def test_image_folder_is_not_a_text_folder(tmp_path):
    write(str(tmp_path / "cat" / "1.jpg"), b"\xff\xd8")
    assert not is_text_folder(tmp_path)


def test_bad_files_are_named_or_skipped_with_a_warning(text_folder):
    write(str(text_folder / "tech" / "bin.txt"), b"PK\x03\x04\x00\x00binary")
    write(str(text_folder / "tech" / "latin1.txt"), "caf\u00e9".encode("latin-1"))
    write(str(text_folder / "tech" / "empty.txt"), b"  \n")
    write(str(text_folder / "tech" / "huge.txt"), b"x" * 101)
    with pytest.raises(DatasetError) as info:
        TextFolderDataset(text_folder, max_file_bytes=100)
    message = str(info.value)
    assert message.startswith("4 bad document(s)")
    for name, why in (("bin.txt", "is binary"), ("latin1.txt", "is not UTF-8 (byte 0xe9 at offset 3)"),
                      ("empty.txt", "is empty"), ("huge.txt", "is larger than 100 bytes")):
        assert f"{name} {why}" in message.replace(str(text_folder / "tech") + os.sep, "")
    assert "bad_files='skip'" in message

    with pytest.warns(UserWarning, match="skipped 4 bad document") as caught:
        ds = TextFolderDataset(text_folder, max_file_bytes=100, bad_files="skip", shuffle=False)
    assert "bin.txt" in str(caught[0].message)
    assert rows(ds) == [("refund please", 0), ("double charge \u20ac", 0), ("app crashes", 1)]
    assert sorted(os.path.basename(p) for p in ds.bad_files) == ["bin.txt", "empty.txt", "huge.txt", "latin1.txt"]


def test_text_folder_structural_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        TextFolderDataset(tmp_path / "nope")
    (tmp_path / "flat").mkdir()
    write(str(tmp_path / "flat" / "a.txt"), b"text")
    with pytest.raises(DatasetError, match="no class sub-folders"):
        TextFolderDataset(tmp_path / "flat")
    (tmp_path / "flat" / "empty_class").mkdir()
    with pytest.raises(DatasetError, match="empty_class holds no .txt files"):
        TextFolderDataset(tmp_path / "flat")
    with pytest.raises(DatasetError, match="bad_files must be"):
        TextFolderDataset(tmp_path / "flat", bad_files="ignore")


# --------------------------------------------------------------------------- CSV / TSV
def test_csv_with_quotes_and_sniffed_delimiter(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text('id;review;stars\n1;"Great, really; great";10\n2;"two\nlines";2\n3;meh;2\n\n',
                    encoding="utf-8")
    ds = CsvTextDataset(path, text_column="review", label_column="stars", shuffle=False)
    assert ds.class_names == ("2", "10")  # integers sort numerically
    assert rows(ds) == [("Great, really; great", 1), ("two\nlines", 0), ("meh", 0)]
    by_index = CsvTextDataset(path, text_column=1, label_column=2, class_names=["10", "2"], shuffle=False)
    assert [label for _, label in rows(by_index)] == [0, 1, 1]


def test_tsv_and_label_names(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("label\ttext\npos\tfine, thanks\nneg\tno\n", encoding="utf-8")
    ds = CsvTextDataset(path, shuffle=False)
    assert ds.class_names == ("neg", "pos") and rows(ds) == [("fine, thanks", 1), ("no", 0)]


def test_csv_errors_and_bad_rows(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("text,label\nhello,a\n,b\nworld,\nfine,a\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"2 bad document\(s\).*t\.csv:3 has an empty text.*t\.csv:4 has an empty label"):
        CsvTextDataset(path)
    with pytest.warns(UserWarning, match="skipped 2"):
        ds = CsvTextDataset(path, bad_files="skip", shuffle=False)
    assert rows(ds) == [("hello", 0), ("fine", 0)] and ds.bad_files == (f"{path}:3", f"{path}:4")
    with pytest.raises(DatasetError, match="has no column 'body'.*text, label"):
        CsvTextDataset(path, text_column="body")
    with pytest.raises(DatasetError, match="label 'a' is not one of class_names"):
        CsvTextDataset(path, class_names=["x"], bad_files="skip")
    ragged = tmp_path / "r.csv"
    ragged.write_text("text,label\nok,a\ntoo,many,fields\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"r\.csv:3 has 3 fields, the header 2"):
        CsvTextDataset(ragged)
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"text,label\n\x00\x01,a\n")
    with pytest.raises(DatasetError, match="is binary"):
        CsvTextDataset(binary)
    latin = tmp_path / "l.csv"
    latin.write_bytes("text,label\ncaf\u00e9,a\n".encode("latin-1"))
    with pytest.raises(DatasetError, match="is not UTF-8"):
        CsvTextDataset(latin)
    with pytest.raises(DatasetError, match="larger than 10 bytes"):
        CsvTextDataset(path, max_file_bytes=10)
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(DatasetError, match="is empty"):
        CsvTextDataset(tmp_path / "e.csv")


# --------------------------------------------------------------------------- GloVe
@pytest.fixture
def glove_file(tmp_path):
    path = tmp_path / "glove.tiny.4d.txt"
    path.write_text("the 0.1 0.2 0.3 0.4\nmovie -1 0 1 2\n, 0.5 0.5 0.5 0.5\ngreat 2 2 2 2\n", encoding="utf-8")
    return path


def test_glove_rows_follow_the_vocabulary(glove_file):
    vocab = ["<pad>", "<unk>", "The", "movie", "great", "zzz"]
    weights, hits = load_glove(glove_file, vocab, seed=3)
    assert weights.dtype == np.float32 and weights.shape == (6, 4) and hits == 3
    np.testing.assert_array_equal(weights[2], np.float32([0.1, 0.2, 0.3, 0.4]))  # lower-cased match
    np.testing.assert_array_equal(weights[3], np.float32([-1, 0, 1, 2]))
    assert not weights[0].any()  # padding row zeros
    assert weights[1].any() and weights[5].any() and not np.array_equal(weights[1], weights[5])
    again, _ = load_glove(glove_file, vocab, seed=3)
    np.testing.assert_array_equal(again, weights)  # random OOV rows are seeded
    zeros, hits = load_glove(glove_file, {"movie": 1, "nope": 0}, oov="zeros", dim=4)
    assert hits == 1 and not zeros[0].any() and zeros[1].tolist() == [-1, 0, 1, 2]

    class Tokenizer:
        def get_vocab(self):
            return {"[PAD]": 0, "great": 1}
    weights, hits = load_glove(glove_file, Tokenizer())
    assert hits == 1 and not weights[0].any() and weights[1].tolist() == [2, 2, 2, 2]


def test_glove_errors_are_typed(glove_file, tmp_path):
    with pytest.raises(DatasetError, match=r"glove\.tiny\.4d\.txt:1 has 4 values, dim=50 says 50"):
        load_glove(glove_file, ["the"], dim=50)
    ragged = tmp_path / "ragged.txt"
    ragged.write_text("a 1 2 3\nb 1 2\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"ragged\.txt:2 has 2 values, the first line says 3"):
        load_glove(ragged, ["a"])
    nan = tmp_path / "nan.txt"
    nan.write_text("a 1 x 3\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="not a number"):
        load_glove(nan, ["a"])
    zipped = tmp_path / "glove.6B.zip"
    zipped.write_bytes(b"PK\x03\x04\xff\xfe\n")
    with pytest.raises(DatasetError, match="not UTF-8.*unzip"):
        load_glove(zipped, ["a"])
    with pytest.raises(DatasetError, match=r"glove_6b.glove\.6B\.50d\.txt does not exist.*glove\.6B\.zip"):
        load_glove(50, ["a"])
    with pytest.raises(DatasetError, match="50, 100, 200 and 300"):
        load_glove(64, ["a"])
    with pytest.raises(DatasetError, match="a token twice"):
        load_glove(glove_file, ["a", "a"])
    with pytest.raises(DatasetError, match="oov must be"):
        load_glove(glove_file, ["a"], oov="mean")


def test_glove_by_dimension_from_tinyms_home(tmp_path):
    folder = tmp_path / "home" / "datasets" / "glove_6b"
    folder.mkdir(parents=True)
    (folder / "glove.6B.50d.txt").write_text("movie " + " ".join(["0.5"] * 50) + "\n", encoding="utf-8")
    weights, hits = load_glove(50, ["<pad>", "movie"])
    assert weights.shape == (2, 50) and hits == 1 and weights[1, 0] == 0.5
