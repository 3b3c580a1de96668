"""tinyms._download.fetch, the verified download shared by datasets and (later) weights.

Tested here because tinyms.data is its first user; every server is real, on 127.0.0.1.
"""

import hashlib
import os
import stat

import pytest

from tinyms import _download
from tinyms.errors import ChecksumError, DownloadError

PAYLOAD = os.urandom(300_000)
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


def test_fetch_places_the_verified_file_atomically(server, tmp_path):
    server.files["/weights/lenet5.ckpt"] = PAYLOAD
    dest = tmp_path / "hub" / "lenet5.ckpt"

    got = _download.fetch([server.url + "/weights/lenet5.ckpt"], dest, max_bytes=len(PAYLOAD),
                          sha256=DIGEST, progress=False)

    assert got == str(dest) and dest.read_bytes() == PAYLOAD
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o644
    assert os.listdir(dest.parent) == ["lenet5.ckpt"]  # no .part, no temporary file


def test_fetch_with_wrong_digest_leaves_nothing(server, tmp_path):
    server.files["/w.ckpt"] = PAYLOAD
    with pytest.raises(ChecksumError) as info:
        _download.fetch([server.url + "/w.ckpt"], tmp_path / "w.ckpt", max_bytes=10**6,
                        sha256="0" * 64, progress=False)
    assert f"{server.url}/w.ckpt: checksum mismatch: got {len(PAYLOAD)} bytes with SHA-256 " \
           f"{DIGEST}, expected SHA-256 {'0' * 64}" in str(info.value)
    assert os.listdir(tmp_path) == []


def test_fetch_refuses_a_file_larger_than_max_bytes(server, tmp_path):
    server.files["/w.ckpt"] = PAYLOAD
    with pytest.raises(DownloadError, match=f"announces {len(PAYLOAD)} bytes .* more than the "
                                            f"100000 this file can have"):
        _download.fetch([server.url + "/w.ckpt"], tmp_path / "w.ckpt", max_bytes=100_000,
                        sha256=DIGEST, progress=False)
    assert os.listdir(tmp_path) == []


def test_fetch_tries_the_next_source(server, dead_url, tmp_path):
    server.files["/b/w.ckpt"] = PAYLOAD
    _download.fetch([dead_url + "/a/w.ckpt", server.url + "/missing/w.ckpt", server.url + "/b/w.ckpt"],
                    tmp_path / "w.ckpt", max_bytes=10**6, sha256=DIGEST, progress=False)
    assert (tmp_path / "w.ckpt").read_bytes() == PAYLOAD
    assert server.paths() == ["/missing/w.ckpt", "/b/w.ckpt"]


def test_fetch_needs_exactly_one_way_to_verify(server, tmp_path):
    with pytest.raises(TypeError, match="exactly one of sha256= .* or install="):
        _download.fetch([server.url + "/w"], tmp_path / "w", max_bytes=10)
    with pytest.raises(TypeError, match="exactly one"):
        _download.fetch([server.url + "/w"], tmp_path / "w", max_bytes=10, sha256=DIGEST,
                        install=lambda part, dest: None)
    assert server.requests == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://", "http://127.0.0.1:70000/w"])
def test_fetch_refuses_a_bad_url_before_any_network_work(tmp_path, url):
    with pytest.raises(DownloadError, match="is not a usable download URL"):
        _download.fetch([url], tmp_path / "w", max_bytes=10, sha256=DIGEST, progress=False)
    assert os.listdir(tmp_path) == []


def test_default_deadline_and_environment_override(monkeypatch):
    assert _download.resolve_timeout() == _download.DEFAULT_TIMEOUT == 900.0
    monkeypatch.setenv(_download.TIMEOUT_ENV, "2.5")
    assert _download.resolve_timeout() == 2.5
    assert _download.resolve_timeout(7) == 7.0  # the argument wins
