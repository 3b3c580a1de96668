"""Fixtures for tinyms.hub tests: an isolated TINYMS_HOME, a local 127.0.0.1 file server playing
both the official weights host and a mirror, and registered weights served from it."""

import dataclasses
import functools
import http.server
import os
import threading

import pytest

from tinyms import _download
from tinyms import _hub_store as _store
from tinyms.model import registry


class WeightsServer:
    """Serves ``files`` (URL path -> bytes) and records every path asked for."""

    def __init__(self):
        self.files = {}
        self.requests = []
        self.url = None

    def asked(self, suffix):
        return [p for p in self.requests if p.endswith(suffix)]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):  # noqa: N802 - http.server's naming
        state = self.server.state
        state.requests.append(self.path)
        body = state.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MNIST_DIR = os.path.normpath(os.path.join(REPO, "..", "shared", "datasets", "mnist"))
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@pytest.fixture
def official_mnist(tmp_path):
    """A folder of links to the four official MNIST .gz files kept in ../shared beside the clone
    (links: the loader writes its unpacked copies next to them, here and not there)."""
    if not all(os.path.isfile(os.path.join(MNIST_DIR, name)) for name in MNIST_FILES):
        pytest.skip(f"the official MNIST files are not in {MNIST_DIR}; provided in CI (../shared beside the clone)")
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in MNIST_FILES:
        os.symlink(os.path.join(MNIST_DIR, name), folder / name)
    return str(folder)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Own TINYMS_HOME, no mirror, online, no proxy, fast retries; registrations end with the test."""
    monkeypatch.setenv("TINYMS_HOME", str(tmp_path / "home"))
    for var in (_store.MIRROR_ENV, _store.OFFLINE_ENV, _download.TIMEOUT_ENV, "HTTP_PROXY", "HTTPS_PROXY",
                "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(_download, "BACKOFF", 0.01)
    monkeypatch.setattr(registry, "_EXTRA_WEIGHTS", dict(registry._EXTRA_WEIGHTS))
    monkeypatch.setattr(registry, "_DEFAULT_TAGS", dict(registry._DEFAULT_TAGS))


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.state = WeightsServer()
    httpd.state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.state
    httpd.shutdown()
    httpd.server_close()


@functools.lru_cache(maxsize=None)
def _lenet5_checkpoint(folder, class_num, seed):
    """Bytes of a freshly initialised lenet5 checkpoint (cached per process)."""
    import mindspore as ms

    from tinyms.model import create_model
    from tinyms.model._checkpoint import save_checkpoint

    ms.set_seed(seed)
    path = save_checkpoint(create_model("lenet5", class_num=class_num), os.path.join(folder, f"l{class_num}-{seed}"))
    with open(path, "rb") as f:
        return f.read()


@dataclasses.dataclass
class Served:
    uid: str
    file: str
    data: bytes
    sha256: str


@pytest.fixture
def lenet5_asset(server, tmp_path_factory):
    """lenet5 weights tagged 'local', named ``lenet5-<8 hex of SHA-256>.ckpt`` like mindcv's files,
    served at ``<server>/official/`` (its URL) and ``<server>/mirror/`` (for TINYMS_HUB_MIRROR)."""
    import hashlib

    from tinyms.model import register_weights

    data = _lenet5_checkpoint(str(tmp_path_factory.mktemp("ckpt")), 10, 7)
    digest = hashlib.sha256(data).hexdigest()
    file = f"lenet5-{digest[:8]}.ckpt"
    server.files[f"/official/{file}"] = data
    server.files[f"/mirror/{file}"] = data
    register_weights("lenet5", "local", file=file, hash_prefix=digest[:8], urls=[f"{server.url}/official/{file}"])
    return Served("lenet5.local", file, data, digest)


@pytest.fixture
def five_class_checkpoint(tmp_path_factory):
    """Bytes of a lenet5 checkpoint for 5 classes (fc3 differs from the 10-class network)."""
    return _lenet5_checkpoint(str(tmp_path_factory.mktemp("ckpt5")), 5, 7)
