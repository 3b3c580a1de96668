"""tinyms.data.download: the real download code against a local HTTP server."""

import dataclasses
import gzip
import os
import shutil

import numpy as np
import pytest

from tinyms import _download
from tinyms.data import _registry, dataset_spec, download, download_dataset, list_datasets
from tinyms.errors import ChecksumError, DownloadError, UnknownNameError

from _data_paths import LAYOUT, MNIST_GZ, sample_gz_path, visible_files


def all_files(root):
    return sorted(os.path.relpath(os.path.join(folder, f), root)
                  for folder, _, files in os.walk(root) for f in files)


def labels_of(path):
    with open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=8)


def use_sources(monkeypatch, *bases):
    """Replace mnist's official base URLs by ``bases`` (tried in that order)."""
    spec = dataset_spec("mnist")
    monkeypatch.setitem(_registry._table(), "mnist", dataclasses.replace(spec, urls=tuple(bases)))


# --------------------------------------------------------------------------- the real files
def test_real_mnist_download_verifies_official_checksums(server, real_mnist_dir, tmp_path):
    for name in MNIST_GZ:
        with open(os.path.join(real_mnist_dir, name), "rb") as f:
            server.files[f"/mirror/mnist/{name}"] = f.read()

    path = download_dataset("mnist", local_path=tmp_path, mirror=server.url + "/mirror", progress=False)

    assert path == str(tmp_path / "mnist")
    assert visible_files(path) == LAYOUT
    for item in MNIST_GZ.values():
        assert os.path.getsize(os.path.join(path, item.path)) == item.unpacked_size
    train = labels_of(os.path.join(path, "train", "train-labels-idx1-ubyte"))
    test = labels_of(os.path.join(path, "test", "t10k-labels-idx1-ubyte"))
    assert len(train) == 60000 and len(test) == 10000
    assert np.bincount(train).tolist()[:2] == [5923, 6742]
    assert sorted(server.paths()) == sorted(f"/mirror/mnist/{name}" for name in MNIST_GZ)

    requests_before = len(server.requests)
    assert download_dataset("mnist", local_path=tmp_path, mirror=server.url + "/mirror") == path
    assert len(server.requests) == requests_before


def test_result_layout_and_default_location(sample_mirror, monkeypatch, tmp_path):
    monkeypatch.setenv(download.MIRROR_ENV, sample_mirror.url)
    path = download_dataset("MNIST", progress=False)
    assert path == os.path.join(str(tmp_path / "home"), "datasets", "mnist")
    assert visible_files(path) == LAYOUT
    assert not [f for f in all_files(path) if ".part" in f or ".tmp" in f]
    with open(os.path.join(path, "train", "train-images-idx3-ubyte"), "rb") as f:
        assert f.read() == gzip.decompress(sample_mirror.files["/mnist/train-images-idx3-ubyte.gz"])


def test_second_call_does_no_network_io(sample_mirror, tmp_path):
    path = download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)
    assert len(sample_mirror.requests) == 4
    assert download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False) == path
    assert len(sample_mirror.requests) == 4


def test_existing_files_without_record_are_rehashed_not_downloaded(sample_mirror, tmp_path):
    path = download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)
    os.remove(os.path.join(path, ".tinyms-verified"))
    download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)
    assert len(sample_mirror.requests) == 4


def test_damaged_file_is_downloaded_again(sample_mirror, tmp_path):
    path = download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)
    labels = os.path.join(path, "train", "train-labels-idx1-ubyte")
    good = open(labels, "rb").read()
    with open(labels, "r+b") as f:  # same size, different content
        f.seek(100)
        f.write(bytes([good[100] ^ 0xFF]))
    download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)
    assert sample_mirror.paths()[4:] == ["/mnist/train-labels-idx1-ubyte.gz"]
    assert open(labels, "rb").read() == good


def test_mirror_from_environment_variable(sample_mirror, monkeypatch, tmp_path):
    monkeypatch.setenv(download.MIRROR_ENV, sample_mirror.url + "/")
    download_dataset("mnist", tmp_path, progress=False)
    assert sorted(sample_mirror.paths()) == sorted(f"/mnist/{name}" for name in MNIST_GZ)


def test_mirror_argument_overrides_environment(sample_mirror, monkeypatch, tmp_path, dead_url):
    monkeypatch.setenv(download.MIRROR_ENV, dead_url)
    download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)
    assert len(sample_mirror.requests) == 4


def test_official_sources_are_tried_in_order(server, sample_registry, monkeypatch, tmp_path, dead_url):
    for name, data in sample_registry.items():
        server.files[f"/second/{name}"] = data
    use_sources(monkeypatch, dead_url + "/first/", server.url + "/second/", server.url + "/third/")
    path = download_dataset("mnist", tmp_path, progress=False)
    assert visible_files(path) == LAYOUT
    assert all(p.startswith("/second/") for p in server.paths())


def test_progress_bar_goes_to_stderr_unless_disabled(sample_mirror, tmp_path, capsys):
    download_dataset("mnist", tmp_path / "quiet", mirror=sample_mirror.url, progress=False)
    assert capsys.readouterr().err == ""
    download_dataset("mnist", tmp_path / "loud", mirror=sample_mirror.url, progress=True)
    assert "train-images-idx3-ubyte.gz" in capsys.readouterr().err


# --------------------------------------------------------------------------- resume and retries
def test_connection_cut_mid_file_resumes_with_range(sample_mirror, tmp_path):
    target = "/mnist/train-images-idx3-ubyte.gz"
    sample_mirror.cut_after[target] = 300_000

    path = download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)

    asked = [headers for p, headers in sample_mirror.requests if p == target]
    assert len(asked) == 2
    assert "Range" not in asked[0]
    start = int(asked[1]["Range"].removeprefix("bytes=").removesuffix("-"))
    assert 0 < start <= 300_000  # kept what arrived (up to the last whole chunk)
    assert visible_files(path) == LAYOUT
    assert not os.path.exists(os.path.join(path, ".partial"))


def test_partial_file_from_an_earlier_run_is_resumed(sample_mirror, tmp_path):
    data = sample_mirror.files["/mnist/t10k-labels-idx1-ubyte.gz"]
    os.makedirs(tmp_path / "mnist" / ".partial")
    (tmp_path / "mnist" / ".partial" / "t10k-labels-idx1-ubyte.gz.part").write_bytes(data[:200])

    path = download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)

    ranges = [h.get("Range") for p, h in sample_mirror.requests if p.endswith("t10k-labels-idx1-ubyte.gz")]
    assert ranges == ["bytes=200-"]
    assert len(labels_of(os.path.join(path, "test", "t10k-labels-idx1-ubyte"))) == 1000


def test_server_ignoring_range_restarts_from_zero(sample_mirror, tmp_path):
    sample_mirror.ignore_range = True
    sample_mirror.cut_after["/mnist/train-images-idx3-ubyte.gz"] = 100_000
    path = download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)
    with open(os.path.join(path, "train", "train-images-idx3-ubyte"), "rb") as f:
        assert f.read() == gzip.decompress(sample_mirror.files["/mnist/train-images-idx3-ubyte.gz"])


def test_stale_partial_file_from_another_source_is_redone_from_zero(sample_mirror, tmp_path):
    os.makedirs(tmp_path / "mnist" / ".partial")
    (tmp_path / "mnist" / ".partial" / "t10k-labels-idx1-ubyte.gz.part").write_bytes(b"\x1f\x8bjunk")
    path = download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)
    ranges = [h.get("Range") for p, h in sample_mirror.requests if p.endswith("t10k-labels-idx1-ubyte.gz")]
    assert ranges == ["bytes=6-", None]
    assert len(labels_of(os.path.join(path, "test", "t10k-labels-idx1-ubyte"))) == 1000


def test_server_errors_are_retried(sample_mirror, tmp_path):
    sample_mirror.statuses["/mnist/train-labels-idx1-ubyte.gz"] = [503, 500]
    path = download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)
    assert sample_mirror.paths().count("/mnist/train-labels-idx1-ubyte.gz") == 3
    assert visible_files(path) == LAYOUT


def test_persistent_server_error_gives_up(sample_mirror, tmp_path):
    sample_mirror.statuses["/mnist/train-images-idx3-ubyte.gz"] = [503] * 10
    with pytest.raises(DownloadError, match="HTTP 503.*gave up after 4 attempts"):
        download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)


# --------------------------------------------------------------------------- failures
def test_corrupt_download_raises_checksum_error_and_leaves_nothing(sample_mirror, tmp_path):
    raw = bytearray(gzip.decompress(sample_mirror.files["/mnist/train-labels-idx1-ubyte.gz"]))
    raw[50] ^= 0xFF  # a valid gzip file with the wrong content
    sample_mirror.files["/mnist/train-labels-idx1-ubyte.gz"] = gzip.compress(bytes(raw))

    with pytest.raises(ChecksumError) as info:
        download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)

    message = str(info.value)
    assert "train-labels-idx1-ubyte" in message and "removed" in message
    assert "SHA-256" in message
    leftovers = all_files(tmp_path / "mnist")
    assert not [f for f in leftovers if "train-labels" in f or ".tmp" in f or ".part" in f]


def test_broken_gzip_raises_checksum_error(sample_mirror, tmp_path):
    data = bytearray(sample_mirror.files["/mnist/t10k-labels-idx1-ubyte.gz"])
    data[len(data) // 2] ^= 0xFF
    sample_mirror.files["/mnist/t10k-labels-idx1-ubyte.gz"] = bytes(data)
    with pytest.raises(ChecksumError, match="not a valid gzip file"):
        download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)
    assert not [f for f in all_files(tmp_path / "mnist") if "t10k-labels" in f]


def test_uncompressed_file_on_a_mirror_is_accepted(sample_mirror, tmp_path):
    name = "/mnist/t10k-labels-idx1-ubyte.gz"
    sample_mirror.files[name] = gzip.decompress(sample_mirror.files[name])
    path = download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)
    assert len(labels_of(os.path.join(path, "test", "t10k-labels-idx1-ubyte"))) == 1000


def test_404_everywhere_names_every_url_and_the_fixes(server, sample_registry, monkeypatch, tmp_path):
    bases = [f"{server.url}/{letter}/" for letter in "abc"]
    use_sources(monkeypatch, *bases)

    with pytest.raises(DownloadError) as info:
        download_dataset("mnist", tmp_path, progress=False)

    message = str(info.value)
    for base in bases:
        assert f"{base}train-images-idx3-ubyte.gz: HTTP 404" in message
    assert download.MIRROR_ENV in message
    assert os.path.join(str(tmp_path), "mnist", "train") in message
    assert os.path.join(str(tmp_path), "mnist", "test") in message
    assert not isinstance(info.value, ChecksumError)
    assert len(server.requests) == 3  # gave up at the first missing file


def test_unreachable_server_fails_fast_with_download_error(dead_url, tmp_path):
    with pytest.raises(DownloadError, match="cannot connect") as info:
        download_dataset("mnist", tmp_path, mirror=dead_url, progress=False)
    assert f"{dead_url}/mnist/train-images-idx3-ubyte.gz" in str(info.value)


def test_unreachable_host_is_tried_once_then_skipped(server, sample_registry, monkeypatch, tmp_path,
                                                     dead_url):
    use_sources(monkeypatch, dead_url + "/a/", server.url + "/b/")
    with pytest.raises(DownloadError) as info:
        download_dataset("mnist", tmp_path, progress=False)
    assert "cannot connect" in str(info.value)
    assert "HTTP 404" in str(info.value)


def test_unwritable_destination(sample_mirror, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DownloadError) as info:
        download_dataset("mnist", blocker, mirror=sample_mirror.url, progress=False)
    assert str(blocker) in str(info.value) and "local_path" in str(info.value)
    assert sample_mirror.requests == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root ignores folder permissions")
def test_read_only_destination(sample_mirror, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(DownloadError, match="cannot write"):
            download_dataset("mnist", folder, mirror=sample_mirror.url, progress=False)
    finally:
        folder.chmod(0o755)


def test_bad_mirror_url(tmp_path):
    with pytest.raises(DownloadError, match=download.MIRROR_ENV):
        download_dataset("mnist", tmp_path, mirror="ftp.example.org/datasets", progress=False)


def test_unknown_name_lists_valid_names(tmp_path):
    with pytest.raises(UnknownNameError, match="mnist") as info:
        download_dataset("imagenet-42", tmp_path)
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    assert not os.listdir(tmp_path)
    assert list_datasets() == ["ag_news", "cifar10", "cifar100", "cityscapes", "facades", "fashion_mnist",
                               "horse2zebra", "imdb", "kaggle_display_advertising", "mnist", "sst2", "voc2007"]


# --------------------------------------------------------------------------- by hand
def test_files_placed_by_hand_are_used_without_network(sample_registry, tmp_path, dead_url):
    for item in MNIST_GZ.values():
        folder = tmp_path / "mnist" / os.path.dirname(item.path)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(sample_gz_path(item.name), folder / item.name)

    path = download_dataset("mnist", tmp_path, mirror=dead_url, progress=False)

    assert visible_files(path) == LAYOUT  # the .gz copies are gone
    assert len(labels_of(os.path.join(path, "train", "train-labels-idx1-ubyte"))) == 6000


def test_wrong_file_placed_by_hand_raises_checksum_error(sample_registry, tmp_path, dead_url):
    folder = tmp_path / "mnist" / "train"
    folder.mkdir(parents=True)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01" + b"\x00" * 20))
    shutil.copy(sample_gz_path("train-images-idx3-ubyte.gz"), folder)
    with pytest.raises(ChecksumError, match="placed by hand") as info:
        download_dataset("mnist", tmp_path, mirror=dead_url, progress=False)
    assert str(folder / "train-labels-idx1-ubyte.gz") in str(info.value)
    assert not (folder / "train-labels-idx1-ubyte.gz").exists()


def test_host_that_never_answers_is_left_for_the_next_source(server, sample_registry, monkeypatch,
                                                             tmp_path):
    import socket
    monkeypatch.setattr(_download, "CONNECT_TIMEOUT", 0.3)
    monkeypatch.setattr(_download, "READ_TIMEOUT", 0.5)
    for name, data in sample_registry.items():
        server.files[f"/good/{name}"] = data
    with socket.socket() as silent:  # a full accept queue: new connections get no answer
        silent.bind(("127.0.0.1", 0))
        silent.listen(0)
        port = silent.getsockname()[1]
        queued = []
        for _ in range(3):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            queued.append(s)
        use_sources(monkeypatch, f"http://127.0.0.1:{port}/", server.url + "/good/")
        try:
            path = download_dataset("mnist", tmp_path, progress=False)
        finally:
            for s in queued:
                s.close()
    assert visible_files(path) == LAYOUT


def test_correct_files_copied_by_hand_are_kept_and_only_missing_ones_fetched(sample_mirror, tmp_path):
    source = download_dataset("mnist", tmp_path / "first", mirror=sample_mirror.url, progress=False)
    shutil.copytree(os.path.join(source, "train"), tmp_path / "second" / "mnist" / "train")
    download_dataset("mnist", tmp_path / "second", mirror=sample_mirror.url, progress=False)
    assert sorted(sample_mirror.paths()[4:]) == ["/mnist/t10k-images-idx3-ubyte.gz",
                                                 "/mnist/t10k-labels-idx1-ubyte.gz"]


def test_concurrent_calls_download_once(sample_mirror, tmp_path):
    import threading

    results, errors = [], []

    def call():
        try:
            results.append(download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(results) == 2 and results[0] == results[1]
    assert len(sample_mirror.requests) == 4
    assert visible_files(results[0]) == LAYOUT
