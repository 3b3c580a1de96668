"""The HTTP layer's limits over real sockets: deadlines, connection caps, JSON errors from waitress."""

import json
import socket
import threading

import pytest
import requests

from tinyms.serving import Server


def _connect(port, source="127.0.0.1", timeout=10):
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
    return sock


def _read_response(sock):
    """Read one HTTP response until the server closes or its body is complete: (status, headers, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", 0))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


@pytest.fixture(scope="module")
def strict_server(onnx_dir):
    with Server(port=0, serving_path=onnx_dir, header_timeout=1.0, body_timeout=1.0, idle_timeout=2.0,
                max_connections_per_client=40, max_request_bytes=100_000) as server:
        yield server


def test_dribbled_headers_get_408_at_the_deadline_not_an_idle_reset(strict_server):
    sock = _connect(strict_server.port)
    request = b"GET /servables HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
    sent = 0
    try:
        sock.settimeout(0.2)
        for byte in request:  # one byte every 0.2 s: an idle timeout would never fire
            sock.send(bytes([byte]))
            sent += 1
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break
            except socket.timeout:
                continue
        sock.settimeout(10)
        status, headers, body = _read_response(sock)
    finally:
        sock.close()
    assert sent < len(request)  # cut off while still sending
    assert status == 408 and headers["content-type"] == "application/json"
    assert "headers within 1 s" in json.loads(body)["error"]


def test_a_dribbled_body_gets_408(strict_server):
    sock = _connect(strict_server.port)
    try:
        sock.sendall(b"POST /servables/lenet5 HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                     b"Content-Length: 5000\r\n\r\n")
        sock.settimeout(0.2)
        for _ in range(100):
            sock.send(b"x")
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break
            except socket.timeout:
                continue
        sock.settimeout(10)
        status, _, body = _read_response(sock)
    finally:
        sock.close()
    assert status == 408 and "body within 1 s" in json.loads(body)["error"]


def test_a_silent_connection_is_closed(strict_server):
    sock = _connect(strict_server.port)
    try:
        sock.settimeout(10)
        assert sock.recv(1) == b""  # closed by the server, without a request ever sent
    finally:
        sock.close()


def test_slow_clients_do_not_lock_honest_ones_out(onnx_dir, digit_png):
    """300 connections sending a header byte every 0.25 s (waitress alone stops accepting at 256)."""
    with Server(port=0, serving_path=onnx_dir, header_timeout=5.0) as server:
        # 30 per address: under the per-client cap, so only the connection count is at stake
        slow = [_connect(server.port, source=f"127.0.0.{2 + i % 10}") for i in range(300)]
        stop = threading.Event()

        def dribble():
            while not stop.wait(0.25):
                for sock in slow:
                    try:
                        sock.send(b"a")
                    except OSError:
                        pass
        feeder = threading.Thread(target=dribble, daemon=True)
        feeder.start()
        try:
            answers = []
            for _ in range(10):  # new connections, as new visitors make
                response = requests.post(server.url + "/servables/lenet5", data=digit_png, timeout=10,
                                         headers={"Content-Type": "image/png", "Connection": "close"})
                answers.append(response.status_code)
            assert answers == [200] * 10
        finally:
            stop.set()
            feeder.join(5)
            for sock in slow:
                sock.close()


def test_connections_over_the_per_client_cap_are_refused_with_json(onnx_dir, digit_png):
    with Server(port=0, serving_path=onnx_dir, max_connections_per_client=5) as server:
        held = [_connect(server.port, source="127.0.0.7") for _ in range(5)]
        try:
            for sock in held:  # each connection answered once: all five are open on the server side
                sock.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
                assert _read_response(sock)[0] == 200
            extra = _connect(server.port, source="127.0.0.7")
            try:
                try:
                    extra.sendall(b"GET /servables HTTP/1.1\r\nHost: x\r\n\r\n")
                except OSError:
                    pass
                status, headers, body = _read_response(extra)
            finally:
                extra.close()
            assert status == 429 and headers["content-type"] == "application/json"
            assert "5 open connections" in json.loads(body)["error"]
            ok = requests.post(server.url + "/servables/lenet5", data=digit_png, timeout=10)
            assert ok.status_code == 200  # another address is served
        finally:
            for sock in held:
                sock.close()


RAW_ERRORS = [
    # (what, raw request, status, phrase)
    ("declared body over the limit",
     b"POST /servables/lenet5 HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 900000\r\n\r\n",
     413, "900,000 bytes, more than this server's limit of 100,000"),
    ("chunked body over the limit",
     b"POST /servables/lenet5 HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n"
     + (b"8000\r\n" + b"\0" * 0x8000 + b"\r\n") * 8 + b"0\r\n\r\n", 413, "limit of 100,000"),
    ("headers over the limit",
     b"GET /servables HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", 431, "larger than 65,536"),
    ("malformed request line", b"GARBAGE\r\n\r\n", 400, "malformed HTTP request"),
    ("bad chunk size",
     b"POST /servables/lenet5 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
     400, "malformed HTTP request"),
    ("negative content length", b"POST /servables/lenet5 HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
     400, "malformed HTTP request"),
    ("unknown transfer coding",
     b"POST /servables/lenet5 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
     501, "not supported"),
]


@pytest.mark.parametrize("what, raw, status, phrase", RAW_ERRORS, ids=[r[0] for r in RAW_ERRORS])
def test_errors_of_the_http_layer_are_json(strict_server, what, raw, status, phrase):
    sock = _connect(strict_server.port)
    try:
        try:
            sock.sendall(raw)
        except OSError:
            pass  # the server may answer before the whole body is sent
        got, headers, body = _read_response(sock)
    finally:
        sock.close()
    assert got == status and headers["content-type"] == "application/json"
    doc = json.loads(body)
    assert phrase in doc["error"] and doc["type"]
    assert requests.get(strict_server.url + "/v2/health/live", timeout=10).status_code == 200
