"""Fixtures for tinyms.data tests: an isolated TINYMS_HOME, a local HTTP file server and a
raw TCP server whose answers a test writes byte by byte (for misbehaving mirrors)."""

import contextlib
import dataclasses
import gzip
import hashlib
import http.server
import os
import re
import socket
import struct
import threading
from urllib.parse import urlsplit

import pytest

from tinyms import _download
from tinyms.data import _registry, dataset_spec, download

from _data_paths import MNIST_DIR, MNIST_GZ, sample_gz_path


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Every test gets its own TINYMS_HOME, no mirror, no proxy, and fast retries."""
    monkeypatch.setenv("TINYMS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(download.MIRROR_ENV, raising=False)
    monkeypatch.delenv(_download.TIMEOUT_ENV, raising=False)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(_download, "BACKOFF", 0.01)
    monkeypatch.setattr(_download, "CONNECT_TIMEOUT", 2.0)
    monkeypatch.setattr(_download, "READ_TIMEOUT", 10.0)
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._table()))  # registrations end with the test


class FileServer:
    """State of the local server: what it serves, what it was asked, how it misbehaves."""

    def __init__(self):
        self.files = {}         # URL path -> bytes
        self.requests = []      # (URL path, headers dict), in arrival order
        self.cut_after = {}     # URL path -> bytes sent before the first answer is cut
        self.reset_after = {}   # URL path -> bytes sent before the first answer is reset (RST)
        self.redirects = {}     # URL path -> Location answered with 302
        self.lengths = {}       # URL path -> Content-Length announced instead of the true one
        self.statuses = {}      # URL path -> HTTP error statuses to answer first, in order
        self.ignore_range = False
        self.url = None

    def paths(self):
        return [path for path, _ in self.requests]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):  # noqa: N802
        state = self.server.state
        path = urlsplit(self.path).path
        state.requests.append((path, dict(self.headers)))
        if path in state.redirects:
            self.send_response(302)
            self.send_header("Location", state.redirects[path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        pending = state.statuses.get(path)
        if pending:
            self.send_error(pending.pop(0))
            return
        data = state.files.get(path)
        if data is None:
            self.send_error(404)
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if match and not state.ignore_range:
            start = int(match[1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(state.lengths.get(path, len(body))))
        self.end_headers()
        cut = state.cut_after.pop(path, None)
        reset = state.reset_after.pop(path, None)
        try:
            if reset is not None:
                body = body[:reset]
            self.wfile.write(body if cut is None else body[:cut])
            self.wfile.flush()
            if reset is not None:  # close with a TCP reset instead of a clean end
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
        except OSError:
            pass  # the client went away


@pytest.fixture
def server():
    """A threaded HTTP server on 127.0.0.1 (free port) serving ``state.files``, with Range."""
    state = FileServer()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.state = state
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def dead_url():
    """An http URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def sample_registry(monkeypatch):
    """Make 'mnist' expect the bundled sample's files, so tests download 1 MB, not 11 MB.

    Returns a dict: official file name -> the sample's gzip bytes.
    """
    spec = dataset_spec("mnist")
    files, payloads = [], {}
    for item in spec.files:
        with open(sample_gz_path(item.name), "rb") as f:
            payloads[item.name] = f.read()
        raw = gzip.decompress(payloads[item.name])
        files.append(dataclasses.replace(item, unpacked_size=len(raw),
                                         unpacked_sha256=hashlib.sha256(raw).hexdigest()))
    monkeypatch.setitem(_registry._table(), "mnist", dataclasses.replace(spec, files=tuple(files)))
    return payloads


@pytest.fixture
def sample_mirror(server, sample_registry):
    """The local server acting as a mirror of the sample files; returns the server state."""
    for name, data in sample_registry.items():
        server.files[f"/mnist/{name}"] = data
    return server


@pytest.fixture
def real_mnist_dir():
    """Folder with the four official MNIST .gz files (skips the test when absent)."""
    if not all(os.path.isfile(os.path.join(MNIST_DIR, name)) for name in MNIST_GZ):
        pytest.skip(f"the official MNIST files are not in {MNIST_DIR}; provided in CI (../shared beside "
                    f"the clone)")
    return MNIST_DIR


class RawServer:
    """A TCP server on 127.0.0.1 whose answer to each request is written by a test function.

    ``respond(server, sock, request)`` gets this server, the connected socket and the request
    head (str); it may send anything, as slowly as it likes, with ``server.send`` (which
    counts the bytes in ``server.sent``), and should return once ``server.stop`` is set.
    """

    def __init__(self, respond):
        self.respond = respond
        self.requests = []
        self.sent = 0
        self.stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._clients, self._threads = [], []
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    def send(self, sock, data):
        """Send ``data`` on ``sock``, counting it; False when the client has gone."""
        try:
            sock.sendall(data)
        except OSError:
            return False
        self.sent += len(data)
        return True

    def _accept(self):
        while not self.stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self._clients.append(sock)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock):
        sock.settimeout(5)
        head = b""
        try:
            while b"\r\n\r\n" not in head and len(head) < 65536:
                data = sock.recv(4096)
                if not data:
                    return
                head += data
            request = head.decode("latin-1")
            self.requests.append(request)
            self.respond(self, sock, request)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def close(self):
        self.stop.set()
        self._accepter.join(5)
        self._listener.close()
        for sock in self._clients:
            with contextlib.suppress(OSError):
                sock.close()
        for thread in self._threads:
            thread.join(5)


@pytest.fixture
def raw_server():
    """Factory: ``raw_server(respond)`` starts a RawServer; all are stopped after the test."""
    servers = []

    def start(respond):
        servers.append(RawServer(respond))
        return servers[-1]

    yield start
    for srv in servers:
        srv.close()
