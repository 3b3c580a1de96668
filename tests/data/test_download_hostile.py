"""download_dataset against misbehaving or hostile mirrors: every one is a real server on 127.0.0.1.

Each test checks what a user sees: a typed error naming the URL and what happened, within a
bounded time and size, and no half-written file left in the dataset folder.
"""

import dataclasses
import gzip
import os
import queue
import re
import select
import socket

import pytest

from tinyms import _download
from tinyms.data import _registry, dataset_spec, download, download_dataset
from tinyms.errors import ChecksumError, DownloadError

from _data_paths import LAYOUT, visible_files

IMAGES = "/mnist/train-images-idx3-ubyte.gz"
LABELS = "/mnist/t10k-labels-idx1-ubyte.gz"


def item(remote):
    """The registry entry of ``remote`` (after sample_registry, the sample's sizes)."""
    return {i.name: i for i in dataset_spec("mnist").files}[remote]


def leftovers(root):
    """Every file under ``root`` except the lock, the verification record and complete IDX files."""
    found = []
    for folder, _, files in os.walk(root):
        for name in files:
            if name not in (".tinyms-lock", ".tinyms-verified"):
                found.append(os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/"))
    return sorted(f for f in found if f not in LAYOUT)


def fetch_fails(exc_type, tmp_path, mirror, **kwargs):
    """Call download_dataset expecting ``exc_type``; return its message."""
    with pytest.raises(exc_type) as info:
        download_dataset("mnist", tmp_path, mirror=mirror, progress=False, **kwargs)
    return str(info.value)


def stall(srv, sock, outcomes, trickle=None, ticks=120):
    """Keep ``sock`` waiting for ``ticks`` quarter-seconds (30 s), sending ``trickle`` each tick if given.

    Puts on the queue ``outcomes`` how the stall ended: "client left" when the client closed
    its end while the server still had stalling to do, "server gave up" when the 30 s ran out.
    """
    for _ in range(ticks):
        readable, _, _ = select.select([sock], [], [], 0.25)
        if readable and not sock.recv(1, socket.MSG_PEEK):
            outcomes.put("client left")
            return
        if srv.stop.is_set():
            return
        if trickle is not None and not srv.send(sock, trickle):
            outcomes.put("client left")
            return
    outcomes.put("server gave up")


def http_head(status="200 OK", **headers):
    lines = [f"HTTP/1.1 {status}"] + [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# --------------------------------------------------------------------------- size bounds
@pytest.mark.parametrize("framing", ["close-delimited", "chunked"])
def test_endless_body_is_cut_at_the_expected_size(raw_server, sample_registry, tmp_path, framing):
    def respond(srv, sock, request):
        if framing == "chunked":
            srv.send(sock, http_head(Transfer_Encoding="chunked"))
            block = b"10000\r\n" + b"\0" * 0x10000 + b"\r\n"
        else:
            srv.send(sock, http_head(Connection="close"))
            block = b"\0" * 0x10000
        while not srv.stop.is_set() and srv.send(sock, block):
            pass

    srv = raw_server(respond)
    bound = item("train-images-idx3-ubyte.gz").max_download
    message = fetch_fails(DownloadError, tmp_path, srv.url, timeout=60)

    assert f"{srv.url}/mnist/train-images-idx3-ubyte.gz: the server sent more than {bound} bytes" in message
    assert "deleted the partial file" in message
    assert len(srv.requests) == 1  # not retried: a bigger file is not a transient problem
    assert leftovers(tmp_path / "mnist") == []
    assert srv.sent < bound + (32 << 20)  # stopped reading; only socket buffers beyond the bound


def test_content_length_announcing_too_much_is_refused_before_reading(raw_server, sample_registry,
                                                                       tmp_path):
    def respond(srv, sock, request):
        srv.send(sock, http_head(Content_Length=10**12))
        while not srv.stop.is_set() and srv.send(sock, b"\0" * 0x10000):
            pass

    srv = raw_server(respond)
    message = fetch_fails(DownloadError, tmp_path, srv.url, timeout=60)
    assert "announces 1000000000000 bytes (Content-Length)" in message
    assert f"{srv.url}/mnist/train-images-idx3-ubyte.gz" in message
    assert len(srv.requests) == 1
    assert leftovers(tmp_path / "mnist") == []


def gzip_bomb(total):
    """A gzip file of about total/1000 bytes that decompresses to ``total`` zero bytes."""
    member = gzip.compress(b"\0" * (64 << 20), compresslevel=9)
    return member * (total // (64 << 20))  # gzip readers concatenate members


def test_gzip_bomb_from_a_mirror_stops_at_the_official_size(sample_mirror, tmp_path):
    bomb = gzip_bomb(2 << 30)  # 2 GiB of zeros in about 2 MB
    assert len(bomb) < item("train-images-idx3-ubyte.gz").max_download
    sample_mirror.files[IMAGES] = bomb
    size = item("train-images-idx3-ubyte.gz").unpacked_size

    message = fetch_fails(ChecksumError, tmp_path, sample_mirror.url, timeout=120)

    assert f"{sample_mirror.url}{IMAGES}: train-images-idx3-ubyte.gz.part decompresses to more " \
           f"than {size} bytes" in message
    assert "removed" in message
    assert leftovers(tmp_path / "mnist") == []
    assert not (tmp_path / "mnist" / "train" / "train-images-idx3-ubyte").exists()


def test_gzip_bomb_placed_by_hand_is_rejected_and_removed(sample_registry, tmp_path, dead_url):
    folder = tmp_path / "mnist" / "train"
    folder.mkdir(parents=True)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip_bomb(1 << 30))

    message = fetch_fails(ChecksumError, tmp_path, dead_url)

    assert "placed by hand" in message and "decompresses to more than 4704016 bytes" in message
    assert not (folder / "train-images-idx3-ubyte.gz").exists()
    assert not (folder / "train-images-idx3-ubyte").exists()
    assert leftovers(tmp_path / "mnist") == []


# --------------------------------------------------------------------------- deadline
def test_body_trickling_one_byte_at_a_time_is_abandoned_at_the_deadline(raw_server, sample_registry,
                                                                         tmp_path, monkeypatch):
    outcomes = queue.Queue()

    def respond(srv, sock, request):
        srv.send(sock, http_head(Content_Length=1_000_000))
        stall(srv, sock, outcomes, trickle=b"\0")  # one byte every 0.25 s, for 30 s at most

    srv = raw_server(respond)
    monkeypatch.setenv(_download.TIMEOUT_ENV, "2")
    message = fetch_fails(DownloadError, tmp_path, srv.url)

    # the deadline's own error (not the 10 s read timeout: a byte arrives every 0.25 s), after
    # part of the body, and the client hung up while the server was still trickling
    got = re.search(r"abandoned the transfer after (\d+) of 1000000 bytes", message)
    assert f"{srv.url}/mnist/train-images-idx3-ubyte.gz: abandoned the transfer after" in message
    assert "the 2 s deadline for this file passed" in message and _download.TIMEOUT_ENV in message
    assert got and 0 < int(got[1]) < 120, message
    assert outcomes.get(timeout=40) == "client left" and len(srv.requests) == 1
    assert not (tmp_path / "mnist" / "train" / "train-images-idx3-ubyte").exists()


@pytest.mark.parametrize("behaviour", ["never answers", "trickles its headers"])
def test_server_stuck_before_the_body_is_abandoned_at_the_deadline(raw_server, sample_registry,
                                                                   tmp_path, behaviour):
    outcomes = queue.Queue()

    def respond(srv, sock, request):
        if behaviour == "never answers":
            stall(srv, sock, outcomes)
        else:
            srv.send(sock, b"HTTP/1.1 200 OK\r\nX-Slow: ")
            stall(srv, sock, outcomes, trickle=b"a")

    srv = raw_server(respond)  # the per-read timeout (10 s in these tests) never fires first
    message = fetch_fails(DownloadError, tmp_path, srv.url, timeout=2)
    assert f"{srv.url}/mnist/train-images-idx3-ubyte.gz: abandoned " in message
    assert "the 2 s deadline for this file passed" in message
    assert outcomes.get(timeout=40) == "client left"  # the client hung up on a server still stalling
    assert len(srv.requests) == 1


def test_slow_source_is_abandoned_for_the_next_one(raw_server, server, sample_registry, monkeypatch,
                                                   tmp_path):
    def respond(srv, sock, request):
        srv.send(sock, http_head(Content_Length=1_000_000))
        for _ in range(120):
            if srv.stop.wait(0.25) or not srv.send(sock, b"\0"):
                return

    slow = raw_server(respond)
    for name, data in sample_registry.items():
        server.files[f"/good/{name}"] = data
    spec = dataset_spec("mnist")
    monkeypatch.setitem(_registry._table(), "mnist",
                        dataclasses.replace(spec, urls=(slow.url + "/", server.url + "/good/")))

    path = download_dataset("mnist", tmp_path, progress=False, timeout=1.5)

    assert visible_files(path) == LAYOUT
    assert len(slow.requests) == 4  # each file tried there first, then taken from the next source


# --------------------------------------------------------------------------- wrong answers
def test_html_page_instead_of_the_file_is_a_checksum_error(raw_server, sample_registry, tmp_path):
    page = b"<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>\n"

    def respond(srv, sock, request):
        srv.send(sock, http_head(Content_Type="text/html", Content_Length=len(page)) + page)

    srv = raw_server(respond)
    message = fetch_fails(ChecksumError, tmp_path, srv.url)
    assert f"{srv.url}/mnist/train-images-idx3-ubyte.gz: checksum mismatch" in message
    assert f"got {len(page)} bytes" in message
    assert leftovers(tmp_path / "mnist") == []


@pytest.mark.parametrize("answer, why", [
    (b"SSH-2.0-OpenSSH_9.6\r\n", "BadStatusLine"),
    (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n", "LineTooLong"),
    (b"HTTP/1.1 200 OK\r\n" + b"X-Many: 1\r\n" * 200 + b"\r\n", "HTTPException"),
])
def test_answer_that_is_not_http_fails_at_once(raw_server, sample_registry, tmp_path, answer, why):
    srv = raw_server(lambda srv, sock, request: srv.send(sock, answer))
    message = fetch_fails(DownloadError, tmp_path, srv.url, timeout=60)
    assert f"{srv.url}/mnist/train-images-idx3-ubyte.gz: the server's answer is not valid HTTP ({why}" \
        in message
    assert len(srv.requests) == 1  # a broken server is not retried


def test_content_length_shorter_than_the_body_is_a_checksum_error(sample_mirror, tmp_path):
    sample_mirror.lengths[LABELS] = len(sample_mirror.files[LABELS]) // 2
    message = fetch_fails(ChecksumError, tmp_path, sample_mirror.url)
    assert f"{sample_mirror.url}{LABELS}: t10k-labels-idx1-ubyte.gz.part is not a valid gzip" in message
    assert leftovers(tmp_path / "mnist") == []


def test_content_length_longer_than_the_body_resumes_and_completes(sample_mirror, tmp_path):
    data = sample_mirror.files[LABELS]
    sample_mirror.lengths[LABELS] = len(data) + 1000
    path = download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)
    ranges = [h.get("Range") for p, h in sample_mirror.requests if p == LABELS]
    assert ranges == [None, f"bytes={len(data)}-"]  # the server then says the file is complete
    assert visible_files(path) == LAYOUT


def test_connection_reset_mid_body_resumes(sample_mirror, tmp_path):
    sample_mirror.reset_after[IMAGES] = 200_000
    path = download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)
    ranges = [h.get("Range") for p, h in sample_mirror.requests if p == IMAGES]
    assert len(ranges) == 2 and ranges[0] is None and ranges[1].startswith("bytes=")
    with open(os.path.join(path, "train", "train-images-idx3-ubyte"), "rb") as f:
        assert f.read() == gzip.decompress(sample_mirror.files[IMAGES])


# --------------------------------------------------------------------------- redirects
@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://127.0.0.1/mnist.gz",
                                      "gopher://127.0.0.1:70/1", "http://127.0.0.1:99999/x"])
def test_redirect_to_another_scheme_is_refused(sample_mirror, tmp_path, location):
    sample_mirror.redirects[IMAGES] = location
    message = fetch_fails(DownloadError, tmp_path, sample_mirror.url)
    assert f"{sample_mirror.url}{IMAGES}: redirected to {location!r}, refused" in message
    assert sample_mirror.paths() == [IMAGES]
    assert leftovers(tmp_path / "mnist") == []


def test_redirect_loop_is_cut(sample_mirror, tmp_path):
    sample_mirror.redirects[IMAGES] = IMAGES  # relative, to itself
    message = fetch_fails(DownloadError, tmp_path, sample_mirror.url)
    assert "more than 5 redirects" in message
    assert sample_mirror.paths() == [IMAGES] * 6


def test_redirect_within_http_is_followed(sample_mirror, tmp_path):
    sample_mirror.files["/elsewhere/labels.gz"] = sample_mirror.files[LABELS]
    sample_mirror.redirects[LABELS] = sample_mirror.url + "/elsewhere/labels.gz"
    path = download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)
    assert visible_files(path) == LAYOUT
    assert "/elsewhere/labels.gz" in sample_mirror.paths()


def test_http_proxy_from_the_environment_is_used(server, sample_registry, monkeypatch, tmp_path):
    for name, data in sample_registry.items():
        server.files[f"/datasets/mnist/{name}"] = data
    monkeypatch.setenv("HTTP_PROXY", server.url)  # the local server acts as the proxy
    monkeypatch.delenv("NO_PROXY")
    path = download_dataset("mnist", tmp_path, mirror="http://mnist-mirror.invalid/datasets",
                            progress=False)
    assert visible_files(path) == LAYOUT
    assert {headers["Host"] for _, headers in server.requests} == {"mnist-mirror.invalid"}


# --------------------------------------------------------------------------- configuration
@pytest.mark.parametrize("value, why", [
    ("ftp://x", "its scheme 'ftp' is not supported"),
    ("file:///srv/mirror", "its scheme 'file' is not supported"),
    ("http://", "it names no host"),
    ("not a url", "it contains whitespace (' ') at position 3"),
    ("http://host:99999/", "its port is not a number from 1 to 65535"),
    ("http://host:0/", "its port is not a number from 1 to 65535"),
    ("{server}/data sets", "it contains whitespace"),
    ("{server}/datasets\n", "it contains whitespace ('\\n')"),
    ("{server}/\x07datasets", "it contains a control character ('\\x07')"),
    ("http://exämple.org/", "it contains a non-ASCII character"),
    ("http://[::1/", "it is not a well-formed URL"),
    ("{server}/datasets?token=1", "a base URL cannot have a ?query or #fragment"),
    ("mirror.example.org/datasets", "it does not start with http:// or https://"),
])
def test_malformed_mirror_is_refused_before_any_network_work(sample_mirror, monkeypatch, tmp_path,
                                                             value, why):
    value = value.replace("{server}", sample_mirror.url)
    monkeypatch.setenv(download.MIRROR_ENV, value)
    with pytest.raises(DownloadError) as info:
        download_dataset("mnist", tmp_path, progress=False)
    message = str(info.value)
    assert message.startswith(f"{download.MIRROR_ENV}={value!r} is not a usable download URL: {why}")
    assert "such as http://127.0.0.1:8000/datasets" in message
    assert sample_mirror.requests == [] and os.listdir(tmp_path) == []


def test_malformed_mirror_argument_names_the_argument(sample_mirror, tmp_path):
    with pytest.raises(DownloadError) as info:
        download_dataset("mnist", tmp_path, mirror="http://", progress=False)
    assert str(info.value).startswith("mirror='http://' is not a usable download URL: it names no host")
    assert download.MIRROR_ENV in str(info.value) and os.listdir(tmp_path) == []


@pytest.mark.parametrize("value", ["soon", "-1", "0", "nan", "inf"])
def test_malformed_timeout_variable_is_refused_before_any_network_work(sample_mirror, monkeypatch,
                                                                       tmp_path, value):
    monkeypatch.setenv(_download.TIMEOUT_ENV, value)
    with pytest.raises(DownloadError, match=f"{_download.TIMEOUT_ENV}='{value}' is not a positive "
                                            f"number of seconds.*{_download.TIMEOUT_ENV}=600"):
        download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)
    assert sample_mirror.requests == [] and os.listdir(tmp_path) == []


@pytest.mark.parametrize("value, error", [("2", TypeError), (True, TypeError), (0, ValueError),
                                          (-5, ValueError), (float("inf"), ValueError)])
def test_bad_timeout_argument(sample_mirror, tmp_path, value, error):
    with pytest.raises(error, match="timeout=600"):
        download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False, timeout=value)
    assert sample_mirror.requests == []
