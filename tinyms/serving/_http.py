"""The HTTP layer of a front-end process: waitress, with the limits a public server needs.

waitress parses HTTP on one I/O thread and runs the WSGI application on a pool of worker
threads. Out of the box it stops accepting at a fixed number of connections and closes a
connection only after a period without any byte, so a few hundred clients that each send one
header byte per second lock everyone else out. :class:`GuardedServer` adds:

- **Deadlines per request, not idle timeouts:** the headers must be complete within
  ``header_timeout`` seconds of the request's first byte (of the connection's opening for
  its first request) and the body within ``body_timeout`` seconds of the headers; a keep-alive
  connection may wait ``idle_timeout`` seconds for its next request. A request that misses
  its deadline gets a 408 JSON answer and its connection is closed.
- **Connection caps:** at most ``max_connections`` open connections per front-end process and
  ``max_connections_per_client`` per client IP address; a connection over a cap is answered at
  once (503 or 429 JSON) and closed, and accepting goes on for everyone else.
- **JSON errors from the HTTP layer too:** a body over the size limit (413), headers over
  ``max_header_bytes`` (431), a malformed request (400) are answered with the same
  ``{"error", "type"}`` body as the application's errors. After such an answer the connection
  is half-closed and what the client still sends is read and dropped for up to
  ``_LINGER_SECONDS``, so the client gets to read the answer instead of a reset.
- **Health routes on the I/O thread:** ``GET /v2/health/live``, ``/v2/health/ready`` and
  ``/v2/models/<name>[/versions/<v>]/ready`` are answered by the I/O thread itself, so they
  answer even when every worker thread waits on a model.
"""

import collections
import json
import logging
import re
import socket
import threading
import time
from http import HTTPStatus

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask

log = logging.getLogger("tinyms.serving.front")

__all__ = ["Limits", "GuardedServer", "HEALTH_PATH"]

HEALTH_PATH = re.compile(r"/v2/health/(?:live|ready)|/v2/models/[^/]+(?:/versions/[^/]+)?/ready")
_LINGER_SECONDS = 2.0
_LINGER_BYTES = 1 << 20
_ACCEPTS_PER_EVENT = 64
_CHECK_EVERY = 0.1  # seconds between two deadline sweeps


class Limits:
    """The connection and request limits of one front-end process (see the module docstring).

    Args:
        max_request_bytes (int): largest request body.
        max_header_bytes (int): largest request line + headers.
        header_timeout (float): seconds to receive a request's headers.
        body_timeout (float): seconds to receive a request's body once its headers are in.
        idle_timeout (float): seconds a keep-alive connection may wait for its next request.
        max_connections (int): open connections per front-end process.
        max_connections_per_client (int): open connections per client IP address.
    """

    def __init__(self, max_request_bytes=8 << 20, max_header_bytes=64 << 10, header_timeout=10.0,
                 body_timeout=30.0, idle_timeout=15.0, max_connections=1000, max_connections_per_client=64):
        self.max_request_bytes = int(max_request_bytes)
        self.max_header_bytes = int(max_header_bytes)
        self.header_timeout = float(header_timeout)
        self.body_timeout = float(body_timeout)
        self.idle_timeout = float(idle_timeout)
        self.max_connections = int(max_connections)
        self.max_connections_per_client = int(max_connections_per_client)


def _json_response(status, message, kind, extra_headers=()):
    body = json.dumps({"error": message, "type": kind}, separators=(",", ":")).encode("utf-8")
    head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "Content-Type: application/json",
            f"Content-Length: {len(body)}", "Connection: close", *extra_headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class _Parser(HTTPRequestParser):
    """waitress's request parser, remembering when the request started and its headers ended."""

    def __init__(self, adj):
        super().__init__(adj)
        self.started = time.monotonic()
        self.headers_at = None

    def received(self, data):
        consumed = super().received(data)
        if self.headers_at is None and self.headers_finished:
            self.headers_at = time.monotonic()
        return consumed


class _ErrorTask(ErrorTask):
    """Answers waitress's own errors (bad request, too large...) with a JSON body."""

    def execute(self):
        error = self.request.error
        status = int(error.code)
        limits = self.channel.server.limits
        if status == 413:
            length = self.request.content_length
            size = f"has {length:,} bytes, more than" if length else "is larger than"
            message = (f"the request body {size} this server's limit of {limits.max_request_bytes:,}; send a "
                       "smaller image or tensor, or start the server with a larger max_request_bytes")
            kind = "PayloadTooLarge"
        elif status == 431:
            message = f"the request line and headers are larger than {limits.max_header_bytes:,} bytes"
            kind = "HeadersTooLarge"
        elif status == 400:
            message = f"malformed HTTP request: {str(error.body)[:200]}"
            kind = "BadRequest"
        elif status == 501:
            message = f"not supported: {str(error.body)[:200]}; send a plain or chunked body"
            kind = "NotImplemented"
        else:
            status = 500
            message = "internal error while handling the request; the server log has the details"
            kind = "InternalError"
        body = json.dumps({"error": message, "type": kind}, separators=(",", ":")).encode("utf-8")
        self.status = f"{status} {HTTPStatus(status).phrase}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)
        self.channel.linger = True


class _Channel(HTTPChannel):
    """One client connection: waitress's channel plus deadlines, a per-IP count and a lingering close."""

    parser_class = _Parser
    error_task_class = _ErrorTask

    def __init__(self, server, sock, addr, adj, map=None):
        self.opened = time.monotonic()
        self.requests_seen = 0
        self.linger = False
        self.linger_until = None
        self.lingered = 0
        self.client_ip = addr[0] if isinstance(addr, tuple) and addr else str(addr)
        super().__init__(server, sock, addr, adj, map=map)
        server.count_client(self.client_ip, +1)
        self.counted = True

    def del_channel(self, map=None):
        if getattr(self, "counted", False):
            self.counted = False
            self.server.count_client(self.client_ip, -1)
        super().del_channel(map)

    def service(self):
        self.requests_seen += 1
        return super().service()

    def deadline(self):
        """``(when, answer_408)``: the monotonic time this connection is closed at (None: no limit now)."""
        if self.linger_until is not None:
            return self.linger_until, False
        if self.requests or self.will_close:
            return None, False  # the application has the request (the model call has its own timeout)
        limits = self.server.limits
        request = self.request
        if request is not None and not request.completed:
            if request.headers_at is not None:
                return request.headers_at + limits.body_timeout, True
            # A new connection's first request is timed from the connection's opening.
            began = self.opened if self.requests_seen == 0 else request.started
            return began + limits.header_timeout, True
        if self.requests_seen == 0 and not self.total_outbufs_len:  # connected, nothing sent yet
            return self.opened + limits.header_timeout, False
        # Waiting for the next request on a keep-alive connection, or for the client to read an answer.
        return time.monotonic() + limits.idle_timeout - (time.time() - self.last_activity), False

    def expire(self, answer):
        """Close a connection that missed its deadline, with a 408 when a request was under way."""
        if self.linger_until is not None or not answer or self.requests:
            self.linger = False
            self.will_close = True
            return
        limits = self.server.limits
        in_body = self.request is not None and self.request.headers_at is not None
        what = (f"body within {limits.body_timeout:g} s of its headers" if in_body
                else f"headers within {limits.header_timeout:g} s")
        self.request = None
        try:
            self.socket.send(_json_response(408, f"the request did not send its {what}; this server bounds "
                                                 "the time to receive a request", "RequestTimeout"))
        except OSError:
            pass
        self.will_close = True

    # ---- lingering close: after an error answer, drop what the client still sends for a while
    def handle_close(self):
        if self.linger and self.will_close and self.linger_until is None and self.connected:
            try:
                self.socket.shutdown(socket.SHUT_WR)
            except OSError:
                return super().handle_close()
            self.will_close = False
            self.linger_until = time.monotonic() + _LINGER_SECONDS
            return None
        return super().handle_close()

    def readable(self):
        return True if self.linger_until is not None else super().readable()

    def writable(self):
        if self.linger_until is not None:
            return False
        if self.requests and self.total_outbufs_len <= self.adj.outbuf_high_watermark and not (
                self.will_close or self.close_when_flushed):
            # A worker thread is answering: it sends its output itself and wakes the loop when it
            # is done (it waits for the loop only above the high watermark). Polling for
            # "writable" meanwhile spins the I/O thread on the worker's output lock, and the
            # spinning thread starves the worker of the GIL: 5x fewer requests/s at 32 clients.
            return False
        return super().writable()

    def handle_read(self):
        if self.linger_until is None:
            return super().handle_read()
        try:
            data = self.socket.recv(65536)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            data = b""
        self.lingered += len(data)
        if not data or self.lingered > _LINGER_BYTES:
            self.linger = False
            super().handle_close()
        return None


class GuardedServer(TcpWSGIServer):
    """A waitress server on an already bound socket, with :class:`Limits` enforced.

    Args:
        app: the WSGI application.
        sock (socket.socket): a bound TCP socket (it is put into listening mode).
        limits (Limits): the limits.
        threads (int): worker threads running the application.
    """

    channel_class = _Channel

    def __init__(self, app, sock, limits, threads):
        self.limits = limits
        self.clients = collections.Counter()
        self._inline = collections.deque()
        self._main_thread = threading.get_ident()
        self._next_check = 0.0
        adj = Adjustments(
            sockets=[sock], threads=threads, ident="tinyms", asyncore_use_poll=True,
            # Bodies up to the limit plus room for chunked framing reach the application, which
            # answers a too-large decoded body itself; waitress answers beyond that.
            max_request_body_size=limits.max_request_bytes + (64 << 10),
            max_request_header_size=limits.max_header_bytes,
            channel_timeout=limits.idle_timeout + limits.body_timeout + limits.header_timeout,
            connection_limit=limits.max_connections + 64,
            expose_tracebacks=False, clear_untrusted_proxy_headers=True)
        sockinfo = (sock.family, sock.type, sock.proto, sock.getsockname())
        super().__init__(app, map={}, _sock=sock, adj=adj, bind_socket=False, sockinfo=sockinfo)

    def count_client(self, ip, delta):
        self.clients[ip] += delta
        if self.clients[ip] <= 0:
            del self.clients[ip]

    def handle_accept(self):
        for _ in range(_ACCEPTS_PER_EVENT):
            try:
                conn, addr = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:  # e.g. out of file descriptors: try again on the next event
                log.warning("accept failed: %s", err)
                return
            ip = addr[0] if isinstance(addr, tuple) and addr else str(addr)
            if len(self.active_channels) >= self.limits.max_connections:
                self._refuse(conn, 503, f"the server has {self.limits.max_connections} open connections, its "
                                        "limit; retry in a moment", "TooManyConnections")
                continue
            if self.clients[ip] >= self.limits.max_connections_per_client:
                self._refuse(conn, 429, f"your address already has {self.limits.max_connections_per_client} open "
                                        "connections to this server, its limit per client; reuse them (keep-alive) "
                                        "or close some", "TooManyConnections")
                continue
            try:
                self.set_socket_options(conn)
                self.channel_class(self, conn, addr, self.adj, map=self._map)
            except OSError:
                conn.close()

    @staticmethod
    def _refuse(conn, status, message, kind):
        try:
            conn.setblocking(False)
            try:
                conn.recv(65536)  # what already arrived, so that closing sends no reset
            except OSError:
                pass
            conn.send(_json_response(status, message, kind, ("Retry-After: 1",)))
        except OSError:
            pass
        finally:
            conn.close()

    def add_task(self, channel):
        request = channel.requests[0]
        if request.error is None and request.command in ("GET", "HEAD") and HEALTH_PATH.fullmatch(request.path or ""):
            self._inline.append(channel)
            if threading.get_ident() != self._main_thread:
                self.pull_trigger()
            return
        super().add_task(channel)

    def maintenance(self, now):
        """waitress's idle sweep is replaced by :meth:`tick`'s deadlines."""

    def tick(self):
        """Run on the I/O thread after each poll: answer health requests, enforce deadlines."""
        while self._inline:
            channel = self._inline.popleft()
            if channel.connected and channel.requests:
                channel.service()
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + _CHECK_EVERY
        for channel in list(self.active_channels.values()):
            when, answer = channel.deadline()
            if when is not None and now >= when:
                channel.expire(answer)
                channel.handle_write() if channel.will_close else None

    def serve(self, stop):
        """Serve until the ``stop`` event is set."""
        while not stop.is_set():
            wasyncore.loop(timeout=0.1, map=self._map, use_poll=True, count=1)
            self.tick()

    def drain(self, grace):
        """Stop accepting, let requests in progress finish (up to ``grace`` s), then close."""
        self.del_channel()
        self.socket.close()  # this process's listening socket only; other front ends keep theirs
        deadline = time.monotonic() + grace

        def busy():
            return any(ch.requests or ch.total_outbufs_len for ch in list(self.active_channels.values()))

        while busy() and time.monotonic() < deadline:
            wasyncore.loop(timeout=0.05, map=self._map, use_poll=True, count=1)
            self.tick()
        for channel in list(self.active_channels.values()):
            channel.close()
        self.task_dispatcher.shutdown(cancel_pending=True, timeout=2)
