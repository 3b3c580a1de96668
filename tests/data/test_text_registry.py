"""SST-2 and AG News through the dataset registry (issue 17): files checked by their published MD5
(then recorded by SHA-256), zip extraction, Sst2Dataset and AgNewsDataset. A 127.0.0.1 mirror
serves small files in the official layout; the registry's MD5s are patched to theirs."""

import dataclasses
import hashlib
import io
import os
import stat
import zipfile

import numpy as np
import pytest

from tinyms.data import (AgNewsDataset, DatasetFile, Sst2Dataset, _files, _registry, dataset_spec,
                         download, download_dataset, list_datasets)
from tinyms.errors import ArchiveError, ChecksumError, DatasetError, DownloadError

import formats

SST2_TRAIN = ("sentence\tlabel\nhide new secretions from the parental units \t0\n"
              "contains no wit , only labored gags \t0\n"
              'that loves its characters and "communicates" something \t1\n'
              "remains utterly satisfied to remain the same throughout \t0\n")
SST2_DEV = "sentence\tlabel\nit 's a charming and often affecting journey . \t1\nunflinchingly bleak \t0\n"
SST2_TEST = "index\tsentence\n0\tuneasy mishmash of styles and genres .\n1\tthis film 's relationship .\n"
AG_TRAIN = ('"3","Wall St. Bears Claw Back (Reuters)","Reuters - Short-sellers, Wall Street\'s dwindling\\band '
            'of ultra-cynics, are seeing green again."\n'
            '"1","Talks ""stall"" in Geneva","Diplomats left\\\\without a deal."\n'
            '"2","Late goal","A header in the last minute."\n'
            '"4","New chip","Faster,\ncooler."\n')
AG_TEST = '"2","Cup final","Rain stops play."\n"4","Phone","A new phone."\n'


def md5(data):
    return hashlib.md5(data).hexdigest()


def zip_bytes(files, extra=()):
    """A zip of ``files`` (name -> bytes; names ending in / are folders) plus ZipInfo/bytes pairs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        for info, data in extra:
            zf.writestr(info, data)
    return buffer.getvalue()


def sst2_files():
    return {"SST-2/": b"", "SST-2/train.tsv": SST2_TRAIN.encode(), "SST-2/dev.tsv": SST2_DEV.encode(),
            "SST-2/test.tsv": SST2_TEST.encode(), "SST-2/original/README.txt": b"Stanford Sentiment Treebank"}


def serve(monkeypatch, server, name, payloads, **changes):
    """Serve ``payloads`` (file name -> bytes) as dataset ``name``, its registry MD5s patched to theirs."""
    spec = dataset_spec(name)
    files = tuple(dataclasses.replace(f, md5=md5(payloads[f.name]), **changes) for f in spec.files)
    monkeypatch.setitem(_registry._table(), name, dataclasses.replace(spec, files=files))
    for file_name, data in payloads.items():
        server.files[f"/{name}/{file_name}"] = data
    monkeypatch.setenv(download.MIRROR_ENV, server.url)


def rows(dataset):
    return [(str(r["text"]), int(r["label"])) for r in dataset.create_dict_iterator(output_numpy=True)]


def leftovers(folder):
    """Every name under ``folder`` except the lock file (what a failed download left)."""
    found = []
    for parent, dirs, names in os.walk(folder):
        found += [os.path.relpath(os.path.join(parent, n), folder) for n in dirs + names]
    return sorted(n for n in found if n != ".tinyms-lock")


# --------------------------------------------------------------------------- specs
def test_specs_name_the_official_files_and_their_published_md5s():
    sst2, ag = dataset_spec("sst2"), dataset_spec("ag_news")
    assert download._source_urls(sst2, None)["SST-2.zip"] == ["https://dl.fbaipublicfiles.com/glue/data/SST-2.zip"]
    zipped = sst2.files[0]
    assert (zipped.md5, zipped.sha256, zipped.size) == ("9f81648d4199384278b86e315dac217c", None, None)
    assert zipped.action == "extract" and zipped.max_download == zipped.max_size
    assert [(f.name, f.md5) for f in ag.files] == [("train.csv", "b1a00f826fdfbd249f79597b59e1dc12"),
                                                   ("test.csv", "d52ea96a97a2d943681189a97654912d")]
    assert download._source_urls(ag, None)["test.csv"] == [
        "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/test.csv"]
    assert ag.labels == ("World", "Sports", "Business", "Sci/Tech") and sst2.labels == ("negative", "positive")
    assert dict(sst2.num_images) == {"train": 67349, "dev": 872, "test": 1821}
    names = list_datasets()
    assert "sst2" in names and "ag_news" in names
    table = {row["name"]: row for row in names.rows()}
    assert table["sst2"]["download"].startswith("up to") and table["ag_news"]["classes"] == 4


@pytest.mark.parametrize("kwargs, why", [
    (dict(md5="xyz", max_size=10), "MD5 as 32 hex digits"),
    (dict(md5="a" * 32), "needs max_size"),
    (dict(md5="a" * 32, max_size=10, size=10, sha256="b" * 64), "not both"),
    (dict(max_size=10, size=10, sha256="b" * 64), "max_size bounds a file checked by md5"),
    (dict(md5="a" * 32, max_size=10, action="gunzip"), "md5 is for keep and extract"),
    (dict(md5="a" * 32, max_size=10, action="extract", path="x"), "needs unpacked_size"),
])
def test_md5_file_entries_are_checked(kwargs, why):
    name = "a.zip" if kwargs.get("action") == "extract" else "a.csv"
    with pytest.raises(ValueError, match=why):
        DatasetFile(name, **kwargs)


# --------------------------------------------------------------------------- SST-2
def test_sst2_downloads_from_mirror_and_reads_every_split(server, monkeypatch, tmp_path):
    payload = zip_bytes(sst2_files())
    serve(monkeypatch, server, "sst2", {"SST-2.zip": payload})
    path = download_dataset("sst2", tmp_path, progress=False)
    assert server.paths() == ["/sst2/SST-2.zip"]
    assert sorted(os.listdir(os.path.join(path, "SST-2"))) == ["dev.tsv", "original", "test.tsv", "train.tsv"]
    assert not os.path.exists(os.path.join(path, "SST-2.zip"))
    entry = _files.read_marker(path)["SST-2"]
    assert entry["md5"] == md5(payload) and entry["sha256"] == formats.sha256(payload)  # recorded by SHA-256

    train = Sst2Dataset(path, shuffle=False)
    assert train.class_names == ("negative", "positive") and train.labelled
    assert rows(train) == [("hide new secretions from the parental units ", 0),
                           ("contains no wit , only labored gags ", 0),
                           ('that loves its characters and "communicates" something ', 1),  # no CSV quoting
                           ("remains utterly satisfied to remain the same throughout ", 0)]
    assert rows(Sst2Dataset(os.path.join(path, "SST-2"), usage="dev", shuffle=False)) == [
        ("it 's a charming and often affecting journey . ", 1), ("unflinchingly bleak ", 0)]
    test = Sst2Dataset(path, usage="test", shuffle=False)
    assert not test.labelled and rows(test) == [("uneasy mishmash of styles and genres .", -1),
                                                ("this film 's relationship .", -1)]
    batch = next(train.batch(2).create_dict_iterator(output_numpy=True))
    assert batch["text"].shape == (2,) and batch["label"].dtype == np.int32

    assert download_dataset("sst2", tmp_path, progress=False) == path
    assert len(server.requests) == 1  # verified through the recorded SHA-256: nothing fetched again


def test_sst2_placed_by_hand_is_verified_by_md5(monkeypatch, server, tmp_path, dead_url):
    payload = zip_bytes(sst2_files())
    serve(monkeypatch, server, "sst2", {"SST-2.zip": payload})
    (tmp_path / "sst2").mkdir()
    (tmp_path / "sst2" / "SST-2.zip").write_bytes(payload)
    path = download_dataset("sst2", tmp_path, mirror=dead_url, progress=False)
    assert len(rows(Sst2Dataset(path, usage="dev"))) == 2 and not os.path.exists(tmp_path / "sst2" / "SST-2.zip")


def hostile(kind):
    files = sst2_files()
    if kind == "dotdot":
        files["SST-2/../../evil.txt"] = b"x"
    elif kind == "absolute":
        files["/tmp/evil.txt"] = b"x"
    elif kind == "outside":
        files["__MACOSX/SST-2/._train.tsv"] = b"x"
    elif kind == "symlink":
        info = zipfile.ZipInfo("SST-2/link.tsv")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        return zip_bytes(files, extra=[(info, b"/etc/passwd")])
    elif kind == "many":
        files.update({f"SST-2/original/{i}.txt": b"x" for i in range(10)})
    elif kind == "big":
        files["SST-2/original/big.txt"] = b"0" * 5000  # deflates to a few bytes, unpacks past the bound
    return zip_bytes(files)


@pytest.mark.parametrize("kind, why", [
    ("dotdot", r"evil\.txt.*'\.\.'"), ("absolute", r"/tmp/evil\.txt.*absolute path"),
    ("outside", "outside the expected folder 'SST-2/'"), ("symlink", "link.tsv.*symbolic link"),
    ("many", "more than 8 members"), ("big", "more than 4000 bytes"),
])
def test_hostile_zip_is_refused_and_nothing_is_extracted(server, monkeypatch, tmp_path, kind, why):
    serve(monkeypatch, server, "sst2", {"SST-2.zip": hostile(kind)}, max_members=8, unpacked_size=4000)
    with pytest.raises(ArchiveError, match=why):
        download_dataset("sst2", tmp_path, progress=False)
    assert leftovers(tmp_path / "sst2") == []  # no folder, no archive, no temporary, no record
    assert not os.path.exists(tmp_path.parent / "evil.txt")


def test_zip_member_larger_than_its_header_is_refused(server, monkeypatch, tmp_path):
    payload = bytearray(zip_bytes({"SST-2/dev.tsv": SST2_DEV.encode()}))
    central = payload.rindex(b"PK\x01\x02")  # the central directory's entry: declare 10 bytes
    payload[central + 24:central + 28] = (10).to_bytes(4, "little")
    serve(monkeypatch, server, "sst2", {"SST-2.zip": bytes(payload)})
    with pytest.raises(ArchiveError, match="dev.tsv"):
        download_dataset("sst2", tmp_path, progress=False)
    assert leftovers(tmp_path / "sst2") == []


def test_sst2_bad_rows_are_named_or_skipped(tmp_path):
    folder = tmp_path / "SST-2"
    folder.mkdir()
    (folder / "train.tsv").write_text("sentence\tlabel\ngood \t1\nno label here\n \t0\nfine \t2\nbad \t0\n",
                                      encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        Sst2Dataset(tmp_path)
    message = str(info.value)
    assert message.startswith("3 bad document(s)") and "bad_files='skip'" in message
    for line, why in ((3, "has 1 tab-separated fields, the header 2"), (4, "has an empty sentence"),
                      (5, "has label '2', not 0 (negative) or 1 (positive)")):
        assert f"train.tsv:{line} {why}" in message
    with pytest.warns(UserWarning, match="skipped 3 bad document"):
        ds = Sst2Dataset(tmp_path, bad_files="skip", shuffle=False)
    assert rows(ds) == [("good ", 1), ("bad ", 0)] and len(ds.bad_files) == 3
    (folder / "dev.tsv").write_text("text\tlabel\nx\t1\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="does not start with SST-2's header"):
        Sst2Dataset(tmp_path, usage="dev")
    with pytest.raises(DatasetError, match="has no test.tsv.*download_dataset\\('sst2'\\)"):
        Sst2Dataset(tmp_path, usage="test")
    with pytest.raises(DatasetError, match="usage must be one of 'train', 'dev', 'test'"):
        Sst2Dataset(tmp_path, usage="validation")
    with pytest.raises(DatasetError, match="nothing does not exist"):
        Sst2Dataset(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="holds no train.tsv or dev.tsv or test.tsv"):
        Sst2Dataset(tmp_path / "empty")


# --------------------------------------------------------------------------- AG News
def test_ag_news_downloads_from_mirror_and_reads_both_splits(server, monkeypatch, tmp_path):
    payloads = {"train.csv": AG_TRAIN.encode(), "test.csv": AG_TEST.encode()}
    serve(monkeypatch, server, "ag_news", payloads)
    path = download_dataset("ag_news", tmp_path, progress=False)
    assert sorted(server.paths()) == ["/ag_news/test.csv", "/ag_news/train.csv"]
    marker = _files.read_marker(path)
    assert marker["train.csv"]["sha256"] == formats.sha256(payloads["train.csv"])

    train = AgNewsDataset(path, shuffle=False)
    assert train.class_names == ("World", "Sports", "Business", "Sci/Tech")
    assert rows(train) == [
        ("Wall St. Bears Claw Back (Reuters) Reuters - Short-sellers, Wall Street's dwindling band of "
         "ultra-cynics, are seeing green again.", 2),  # the backslash line break became a space
        ('Talks "stall" in Geneva Diplomats left without a deal.', 0),
        ("Late goal A header in the last minute.", 1),
        ("New chip Faster,\ncooler.", 3)]
    assert rows(AgNewsDataset(path, usage="test", shuffle=False)) == [
        ("Cup final Rain stops play.", 1), ("Phone A new phone.", 3)]

    assert download_dataset("ag_news", tmp_path, progress=False) == path
    assert len(server.requests) == 2  # both verified: nothing fetched again
    with open(os.path.join(path, "test.csv"), "ab") as f:
        f.write(b'"1","Changed","by hand"\n')
    download_dataset("ag_news", tmp_path, progress=False)
    assert server.paths()[2:] == ["/ag_news/test.csv"]  # only the changed file is fetched again
    assert len(rows(AgNewsDataset(path, usage="test"))) == 2


def test_wrong_md5_is_refused_and_nothing_is_left_in_place(server, monkeypatch, tmp_path):
    payloads = {"train.csv": AG_TRAIN.encode(), "test.csv": AG_TEST.encode()}
    serve(monkeypatch, server, "ag_news", payloads)
    server.files["/ag_news/train.csv"] = AG_TRAIN.encode() + b'"1","Tampered","row"\n'
    with pytest.raises(ChecksumError, match=r"train\.csv.*MD5 .*expected MD5 " + md5(payloads["train.csv"])):
        download_dataset("ag_news", tmp_path, progress=False)
    assert leftovers(tmp_path / "ag_news") == []


def test_download_larger_than_max_size_is_cut_off(server, monkeypatch, tmp_path):
    payloads = {"train.csv": AG_TRAIN.encode(), "test.csv": AG_TEST.encode()}
    serve(monkeypatch, server, "ag_news", payloads, max_size=100)
    with pytest.raises(DownloadError, match="announces 284 bytes.*more than the 100 this file can have"):
        download_dataset("ag_news", tmp_path, progress=False)
    assert leftovers(tmp_path / "ag_news") == []


def test_ag_news_bad_rows_are_named_or_skipped(tmp_path):
    (tmp_path / "ag_news_csv").mkdir()
    (tmp_path / "ag_news_csv" / "test.csv").write_text(
        '"1","Fine","Text"\n"5","Odd","class"\n"2","only two"\n"3"," ","\\\\"\n', encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        AgNewsDataset(tmp_path, usage="test")
    message = str(info.value)
    for line, why in ((2, "has class index '5', not 1-4"), (3, "has 2 fields, not 3"),
                      (4, "has an empty title and description")):
        assert f"test.csv:{line} {why}" in message
    with pytest.warns(UserWarning, match="skipped 3"):
        assert rows(AgNewsDataset(tmp_path, usage="test", bad_files="skip")) == [("Fine Text", 0)]
    with pytest.raises(DatasetError, match="has no train.csv.*download_dataset\\('ag_news'\\)"):
        AgNewsDataset(tmp_path)
    (tmp_path / "ag_news_csv" / "train.csv").write_bytes(b'"1","\x00","x"\n')
    with pytest.raises(DatasetError, match="is binary"):
        AgNewsDataset(tmp_path)
