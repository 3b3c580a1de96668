"""A small, bounded HTTP load generator for the serving benchmark (127.0.0.1 only).

``clients`` threads each hold one keep-alive connection and send their share of a fixed
number of identical requests back to back (a closed loop: a client sends its next request
when the previous answer arrived). Requests are pre-encoded bytes and answers are parsed
with a minimal HTTP/1.1 reader, so the generator spends little CPU of the 2 cores it
shares with the server. Every answer's status is checked, and optionally its body.
"""

import socket
import threading
import time

__all__ = ["LoadResult", "run_load"]


class LoadResult:
    """Outcome of one load run: counts, wall time and per-request latencies (seconds)."""

    def __init__(self, latencies, failures, seconds, first_error):
        self.latencies = sorted(latencies)
        self.failures = failures
        self.seconds = seconds
        self.first_error = first_error

    @property
    def ok(self):
        return len(self.latencies)

    @property
    def rps(self):
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, q):
        if not self.latencies:
            return float("nan")
        index = min(len(self.latencies) - 1, max(0, int(round(q / 100.0 * (len(self.latencies) - 1)))))
        return self.latencies[index]


def build_request(host, port, method, path, body=b"", headers=None):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Conn:
    def __init__(self, host, port, timeout=30.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = None
        self.buf = b""

    def open(self):
        self.close()
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def roundtrip(self, request):
        if self.sock is None:
            self.open()
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        while len(self.buf) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection mid-body")
            self.buf += chunk
        body, self.buf = self.buf[:length], self.buf[length:]
        if close:
            self.close()
        return status, body


def run_load(host, port, requests, total, clients, fresh=False, timeout=30.0, duration=None):
    """Send ``total`` requests from ``clients`` threads, each on its own keep-alive connection.

    Args:
        requests: pre-encoded request bytes, or a list of ``(request_bytes, expected)`` pairs
            sent in turn (each client starts at a different one); an answer counts as failed
            unless its status is 200 and, when ``expected`` is given, its body contains it.
        total (int): requests to send in all.
        clients (int): concurrent connections.
        fresh (bool): open a new connection for every request (as new visitors do) instead
            of keeping one per client; the latency then includes connecting.
        timeout (float): seconds a client waits to connect or for an answer (then: failed).
        duration (float): stop sending after this many seconds even if ``total`` is not reached.

    Returns:
        LoadResult
    """
    if isinstance(requests, (bytes, bytearray)):
        requests = [(bytes(requests), None)]
    per_client = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    latencies, failures, errors = [], [0], []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client(index, count):
        conn = _Conn(host, port, timeout)
        mine, bad = [], 0
        start.wait()
        stop_at = time.perf_counter() + duration if duration else None
        for i in range(count):
            if stop_at is not None and time.perf_counter() > stop_at:
                break
            request, expected = requests[(index + i * clients) % len(requests)]
            t0 = time.perf_counter()
            try:
                if fresh:
                    conn.open()
                status, body = conn.roundtrip(request)
                good = status == 200 and (expected is None or expected in body)
                if not good and not errors:
                    errors.append(f"status {status}: {body[:200]!r}")
            except (OSError, ValueError, IndexError) as err:
                conn.close()
                good = False
                if not errors:
                    errors.append(repr(err))
            if good:
                mine.append(time.perf_counter() - t0)
            else:
                bad += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            failures[0] += bad

    threads = [threading.Thread(target=client, args=(i, n), daemon=True) for i, n in enumerate(per_client)]
    for thread in threads:
        thread.start()
    start.wait()
    t0 = time.perf_counter()
    for thread in threads:
        thread.join()
    return LoadResult(latencies, failures[0], time.perf_counter() - t0, errors[0] if errors else None)
