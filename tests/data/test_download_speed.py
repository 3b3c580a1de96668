"""The minimum-throughput rule: a source that trickles is dropped in seconds, not at the 15-minute deadline.

Every server is real, on 127.0.0.1. The rule's window is configured small (a second or less)
so the tests are fast; each also sets a per-file deadline of several seconds, which a source
that trickles would only reach without the rule (the tests then fail on time, not by hanging).
"""

import dataclasses
import hashlib
import os
import queue
import time

import pytest

from tinyms import _download
from tinyms.data import _registry, dataset_spec, download_dataset
from tinyms.errors import DownloadError

from _data_paths import LAYOUT, visible_files

PAYLOAD = os.urandom(200_000)
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()
DEADLINE = 8.0  # seconds: what a trickling source would cost without the rule
MIN_SPEED, SPEED_TIME = "TINYMS_DOWNLOAD_MIN_SPEED", "TINYMS_DOWNLOAD_SPEED_TIME"  # as documented


@pytest.fixture(autouse=True)
def no_speed_settings(monkeypatch):
    monkeypatch.delenv(MIN_SPEED, raising=False)
    monkeypatch.delenv(SPEED_TIME, raising=False)


CLOSE_DELIMITED = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"  # no size announced
ANNOUNCED = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n"


def trickle(outcomes, head=CLOSE_DELIMITED, byte=b"\0", every=0.3, seconds=20.0):
    """A raw_server answer: ``head``, then ``byte`` every ``every`` seconds.

    Puts "client left" on ``outcomes`` when the client hangs up before ``seconds`` run out.
    """

    def respond(srv, sock, request):
        if not srv.send(sock, head):
            outcomes.put("client left")
            return
        for _ in range(int(seconds / every)):
            if srv.stop.wait(every):
                return
            if not srv.send(sock, byte):
                outcomes.put("client left")
                return
        outcomes.put("server gave up")

    return respond


def fetch(urls, dest, **kwargs):
    return _download.fetch(urls, dest, max_bytes=10**6, sha256=DIGEST, progress=False, timeout=DEADLINE,
                           **kwargs)


def test_trickling_source_fails_over_to_the_next_one(raw_server, server, tmp_path):
    outcomes = queue.Queue()
    slow = raw_server(trickle(outcomes))
    server.files["/w.ckpt"] = PAYLOAD
    started = time.monotonic()

    got = fetch([slow.url + "/w.ckpt", server.url + "/w.ckpt"], tmp_path / "w.ckpt", min_speed=100,
                speed_time=1)

    assert time.monotonic() - started < 4  # about a second on the slow source, not the 8 s deadline
    assert open(got, "rb").read() == PAYLOAD
    assert set(server.paths()) == {"/w.ckpt"}  # resumed from the trickled bytes, or started over
    assert outcomes.get(timeout=10) == "client left"  # it hung up on the trickling server
    assert len(slow.requests) == 1  # not retried: slowness is not a transient failure


@pytest.mark.parametrize("head", [CLOSE_DELIMITED, ANNOUNCED], ids=["close-delimited", "content-length"])
def test_trickling_only_source_is_a_typed_error_naming_the_source_and_the_setting(raw_server, tmp_path, head):
    outcomes = queue.Queue()
    slow = raw_server(trickle(outcomes, head=head))
    started = time.monotonic()

    with pytest.raises(DownloadError) as info:
        fetch([slow.url + "/w.ckpt"], tmp_path / "w.ckpt", min_speed=100, speed_time=1)

    assert time.monotonic() - started < 4
    message = str(info.value)
    assert f"{slow.url}/w.ckpt: too slow: " in message
    assert "below the minimum of 100 bytes/s over 1 s" in message
    for setting in ("min_speed=", MIN_SPEED, "speed_time=", SPEED_TIME):
        assert setting in message
    assert "deadline" not in message and len(slow.requests) == 1
    assert outcomes.get(timeout=10) == "client left"
    assert not (tmp_path / "w.ckpt").exists()


def test_headers_trickling_in_count_as_no_progress(raw_server, tmp_path):
    outcomes = queue.Queue()
    slow = raw_server(trickle(outcomes, head=b"HTTP/1.1 200 OK\r\nX-Slow: ", byte=b"a", every=0.2))
    started = time.monotonic()
    with pytest.raises(DownloadError, match="too slow: 0 bytes in the last"):
        fetch([slow.url + "/w.ckpt"], tmp_path / "w.ckpt", min_speed=1, speed_time=1)
    assert time.monotonic() - started < 4
    assert outcomes.get(timeout=10) == "client left"


def test_slow_but_steady_source_above_the_minimum_is_kept(raw_server, tmp_path):
    data = os.urandom(6000)

    def respond(srv, sock, request):  # 300 bytes every 0.05 s: about 6000 bytes/s for a second
        srv.send(sock, f"HTTP/1.1 200 OK\r\nContent-Length: {len(data)}\r\n\r\n".encode())
        for start in range(0, len(data), 300):
            if srv.stop.wait(0.05) or not srv.send(sock, data[start:start + 300]):
                return

    steady = raw_server(respond)
    got = _download.fetch([steady.url + "/d"], tmp_path / "d", max_bytes=10**6,
                          sha256=hashlib.sha256(data).hexdigest(), progress=False, timeout=DEADLINE,
                          min_speed=500, speed_time=0.4)
    assert open(got, "rb").read() == data


def test_the_rule_is_configured_by_environment_for_every_download(raw_server, server, sample_registry,
                                                                   monkeypatch, tmp_path):
    outcomes = queue.Queue()
    slow = raw_server(trickle(outcomes))
    for name, data in sample_registry.items():
        server.files[f"/good/{name}"] = data
    spec = dataset_spec("mnist")
    monkeypatch.setitem(_registry._table(), "mnist",
                        dataclasses.replace(spec, urls=(slow.url + "/", server.url + "/good/")))
    monkeypatch.setenv(MIN_SPEED, "100")
    monkeypatch.setenv(SPEED_TIME, "1")
    started = time.monotonic()

    path = download_dataset("mnist", tmp_path, progress=False, timeout=DEADLINE)

    assert time.monotonic() - started < 6
    assert visible_files(path) == LAYOUT
    assert len(slow.requests) == 1  # the slow host is not asked for the other three files


def test_zero_turns_the_rule_off(raw_server, tmp_path):
    outcomes = queue.Queue()
    slow = raw_server(trickle(outcomes, every=0.1))
    with pytest.raises(DownloadError) as info:
        _download.fetch([slow.url + "/w"], tmp_path / "w", max_bytes=10**6, sha256=DIGEST, progress=False,
                        timeout=1.5, min_speed=0, speed_time=0.2)
    assert "the 1.5 s deadline for this file passed" in str(info.value)
    assert "too slow" not in str(info.value)


def test_defaults_and_overrides():
    assert _download.resolve_min_speed() == (1024.0, 30.0)
    assert (_download.MIN_SPEED_ENV, _download.SPEED_TIME_ENV) == (MIN_SPEED, SPEED_TIME)
    assert _download.resolve_min_speed(0, 2) == (0.0, 2.0)


def test_environment_overrides_and_arguments_win(monkeypatch):
    monkeypatch.setenv(MIN_SPEED, "50")
    monkeypatch.setenv(SPEED_TIME, "5.5")
    assert _download.resolve_min_speed() == (50.0, 5.5)
    assert _download.resolve_min_speed(10, 2) == (10.0, 2.0)


@pytest.mark.parametrize("name, value", [(MIN_SPEED, "fast"), (MIN_SPEED, "-1"), (SPEED_TIME, "0"),
                                         (SPEED_TIME, "nan")])
def test_malformed_variable_is_refused_before_any_network_work(sample_mirror, monkeypatch, tmp_path,
                                                               name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(DownloadError, match=f"{name}='{value}' is not a .*Fix: set it to e.g. {name}="):
        download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False)
    assert sample_mirror.requests == [] and os.listdir(tmp_path) == []


@pytest.mark.parametrize("kwargs, error", [({"min_speed": -1}, ValueError), ({"min_speed": "1k"}, TypeError),
                                           ({"speed_time": 0}, ValueError), ({"speed_time": True}, TypeError)])
def test_bad_arguments(sample_mirror, tmp_path, kwargs, error):
    with pytest.raises(error, match=f"{next(iter(kwargs))}="):
        download_dataset("mnist", tmp_path, mirror=sample_mirror.url, progress=False, **kwargs)
    assert sample_mirror.requests == []
