"""Plumbing shared by the serving processes (standard library only).

- Framed messages over a stream socket: a JSON header plus an optional raw payload, used
  between a front-end process and a model executor process.
- Status lines: one JSON object per line written to a pipe, from a child process to the
  process that started it ("listening", "ready", "error"...).
- Lifelines: a pipe whose write end the parent keeps open; when the parent dies the child
  reads end-of-file and shuts itself down.
"""

import json
import os
import select
import socket
import struct
import sys
import threading
import time

_FRAME = struct.Struct("!II")
MAX_HEADER = 1 << 20
REUSEPORT = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def bind_socket(host, port, listen=True, reuseport=False):
    """Bind (host, port) and, if ``listen``, listen on it.

    Raises:
        OSError: as ``socket.bind`` raises it (``errno.EADDRINUSE`` when the port is taken).
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuseport:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        if listen:
            sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


def send_message(sock, header, payload=b""):
    """Send one framed message: ``header`` (a JSON-able dict) and raw ``payload`` bytes."""
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    payload = memoryview(payload).cast("B")
    sock.sendall(_FRAME.pack(len(head), len(payload)) + head)
    if len(payload):
        sock.sendall(payload)


def _recv_exact(sock, size):
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:], size - got)
        if n == 0:
            raise EOFError("the peer closed the connection")
        got += n
    return buf


def recv_message(sock):
    """Receive one framed message; returns ``(header, payload_bytearray)``.

    Raises:
        EOFError: the peer closed the connection.
        ValueError: the frame is malformed.
    """
    head_len, payload_len = _FRAME.unpack(_recv_exact(sock, _FRAME.size))
    if head_len > MAX_HEADER:
        raise ValueError(f"message header of {head_len} bytes is too large")
    header = json.loads(_recv_exact(sock, head_len).decode("utf-8"))
    payload = _recv_exact(sock, payload_len) if payload_len else bytearray()
    return header, payload


class StatusWriter:
    """Writes JSON status lines to a pipe file descriptor (no-op when ``fd`` is None)."""

    def __init__(self, fd):
        self.fd = fd
        self._lock = threading.Lock()

    def __call__(self, event, **fields):
        if self.fd is None:
            return
        line = (json.dumps(dict(event=event, **fields), separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            try:
                os.write(self.fd, line)
            except OSError:  # the reader is gone; nothing else to tell
                pass


class StatusReader:
    """Reads JSON status lines from the read end of a pipe without ever blocking for long."""

    def __init__(self, fd):
        self.fd = fd
        self._buf = b""
        self.closed = False
        os.set_blocking(fd, False)

    def read(self, timeout=0.0):
        """Return the status events that arrived within ``timeout`` seconds (maybe none)."""
        if self.closed:
            if timeout:
                time.sleep(timeout)
            return []
        ready, _, _ = select.select([self.fd], [], [], timeout)
        events = []
        if ready:
            while True:
                try:
                    chunk = os.read(self.fd, 65536)
                except BlockingIOError:
                    break
                except OSError:
                    chunk = b""
                if not chunk:
                    self.closed = True
                    break
                self._buf += chunk
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            try:
                events.append(json.loads(line.decode("utf-8")))
            except ValueError:
                continue
        return events

    def close(self):
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None
            self.closed = True


def watch_lifeline(fd, on_parent_gone):
    """Call ``on_parent_gone()`` from a daemon thread once the pipe ``fd`` reaches end-of-file."""

    def watch():
        while True:
            try:
                data = os.read(fd, 1)
            except InterruptedError:
                continue
            except OSError:
                data = b""
            if not data:
                on_parent_gone()
                return

    thread = threading.Thread(target=watch, name="tinyms-lifeline", daemon=True)
    thread.start()
    return thread
