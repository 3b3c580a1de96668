"""Private, MindSpore-free verified download of one file over HTTP(S).

:func:`fetch` is the single implementation behind ``tinyms.data.download_dataset`` (and any
later user such as pretrained weights). For one file it:

- tries each source URL in order (a host that cannot be reached is skipped for the rest of
  the call when the caller shares a ``dead_hosts`` dict between files);
- resumes an interrupted transfer with an HTTP ``Range`` request and retries transient
  failures (connection lost, HTTP 5xx/408/429) with exponential back-off;
- bounds everything a server controls: the body may not exceed ``max_bytes`` (nor may a
  ``Content-Length`` announce more), each source gets an overall deadline per file that
  also covers connecting, waiting for headers and a body trickling in byte by byte, a
  source slower than a minimum throughput over a window (as curl's ``--speed-limit`` /
  ``--speed-time``) is abandoned for the next one long before that deadline, at most
  ``MAX_REDIRECTS`` redirects are followed and only to http(s) URLs;
- verifies the result (SHA-256, or a caller-supplied ``install`` step such as decompressing
  and checking) and moves it into place atomically (fsync, mode 0644, rename).

It uses only the standard library (``http.client``) so that the deadline can shut the
socket down from a watchdog thread whatever phase the transfer is in, plus ``tqdm`` for the
progress bar. Proxies come from the usual ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY``
variables (http:// proxies; HTTPS goes through a CONNECT tunnel).
"""

import base64
import collections
import contextlib
import errno
import http.client
import math
import numbers
import os
import re
import shutil
import socket
import ssl
import sys
import threading
import time
import urllib.request
from urllib.parse import unquote, urljoin, urlsplit

from ._checks import positive_int
from ._fileio import atomic_path, sha256_of, sweep_stale_temps
from .errors import ChecksumError, DownloadError

__all__ = ["fetch", "check_url", "url_problem", "resolve_timeout", "resolve_min_speed", "TIMEOUT_ENV",
           "DEFAULT_TIMEOUT", "MIN_SPEED_ENV", "SPEED_TIME_ENV", "DEFAULT_MIN_SPEED", "DEFAULT_SPEED_TIME"]

TIMEOUT_ENV = "TINYMS_DOWNLOAD_TIMEOUT"
DEFAULT_TIMEOUT = 900.0  # seconds one source may take for one file, retries included
# Minimum throughput: a source delivering fewer than MIN_SPEED bytes/s over SPEED_TIME seconds is
# abandoned (curl's --speed-limit/--speed-time), so a trickling server costs half a minute, not 15.
MIN_SPEED_ENV = "TINYMS_DOWNLOAD_MIN_SPEED"
SPEED_TIME_ENV = "TINYMS_DOWNLOAD_SPEED_TIME"
DEFAULT_MIN_SPEED = 1024.0  # bytes per second; 0 turns the rule off
DEFAULT_SPEED_TIME = 30.0   # seconds the average is taken over

# Network policy: an unreachable host must fail in seconds, a flaky one should recover.
CONNECT_TIMEOUT = 4.0    # seconds to open a connection; then the host counts as unreachable
READ_TIMEOUT = 30.0      # seconds without a byte before a transfer counts as stalled
RETRIES = 3              # extra attempts per URL after a transient failure
BACKOFF = 0.5            # seconds before the first retry, doubled after each one
MAX_REDIRECTS = 5
MAX_URL_LENGTH = 2048
_CHUNK = 1 << 16
_REDIRECTS = (301, 302, 303, 307, 308)
_USER_AGENT = "tinyms-download"


# --------------------------------------------------------------------------- configuration
def url_problem(url, base=False):
    """Why ``url`` cannot be downloaded from (a short phrase), or None when it is usable.

    Usable means: a string of at most ``MAX_URL_LENGTH`` printable ASCII characters without
    whitespace, scheme http or https, a host, and a port (if any) from 1 to 65535. With
    ``base=True`` (a base URL that file names are appended to) a ``?query`` or ``#fragment``
    is refused too.
    """
    if not isinstance(url, str):
        return f"it is a {type(url).__name__}, not a string"
    if not url:
        return "it is empty"
    if len(url) > MAX_URL_LENGTH:
        return f"it is longer than {MAX_URL_LENGTH} characters"
    for position, char in enumerate(url):
        if char.isspace() or not char.isprintable() or not char.isascii():
            kind = ("whitespace" if char.isspace() else
                    "a control character" if not char.isprintable() else "a non-ASCII character")
            return (f"it contains {kind} ({char!r}) at position {position}; such characters "
                    f"must be percent-encoded")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        if "port" in str(exc).lower():
            return "its port is not a number from 1 to 65535"
        return f"it is not a well-formed URL ({exc})"
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        if not scheme or "//" not in url:
            return "it does not start with http:// or https://"
        return f"its scheme {parts.scheme!r} is not supported (only http and https)"
    if not parts.hostname:
        return "it names no host"
    if port == 0:
        return "its port is not a number from 1 to 65535"
    if base and (parts.query or parts.fragment):
        return "a base URL cannot have a ?query or #fragment"
    return None


def check_url(url, name, example, base=False, fix=None):
    """Return ``url`` if it is a usable http(s) URL, else raise DownloadError.

    Args:
        url: the URL to check.
        name: where the URL came from, named in the error (an environment variable or an
            argument such as ``"mirror="``).
        example: a valid value, shown in the error.
        base: ``url`` is a base URL that file names are appended to.
        fix: the advice ending the error; default "set <name> to an http(s) URL such as
            <example>".

    Returns:
        str: ``url`` unchanged.

    Raises:
        DownloadError: ``url`` is not usable; the message names ``name``, the problem and
            ``example``. Nothing has touched the network.

    Example:
        >>> check_url("ftp://x", "TINYMS_DATASET_MIRROR", "http://127.0.0.1:8000/datasets")
        Traceback (most recent call last):
        ...
        tinyms.errors.DownloadError: TINYMS_DATASET_MIRROR='ftp://x' is not a usable download URL: its scheme 'ftp' is not supported (only http and https). Fix: set TINYMS_DATASET_MIRROR to an http(s) URL such as http://127.0.0.1:8000/datasets
    """
    problem = url_problem(url, base=base)
    if problem is not None:
        raise DownloadError(f"{name}={_shown(url)} is not a usable download URL: {problem}. "
                            f"Fix: {fix or f'set {name} to an http(s) URL such as {example}'}")
    return url


def resolve_timeout(timeout=None):
    """The per-file, per-source deadline in seconds: ``timeout``, else ``$TINYMS_DOWNLOAD_TIMEOUT``, else 900.

    Args:
        timeout: seconds (a positive, finite number), or None for the environment/default.

    Returns:
        float: the deadline in seconds.

    Raises:
        TypeError: ``timeout`` is not a number.
        ValueError: ``timeout`` is not positive and finite.
        DownloadError: ``$TINYMS_DOWNLOAD_TIMEOUT`` is set but is not a positive number.

    Example:
        >>> resolve_timeout(2)
        2.0
    """
    return _setting(timeout, "timeout", TIMEOUT_ENV, DEFAULT_TIMEOUT, zero_ok=False, example=600, unit="seconds")


def resolve_min_speed(min_speed=None, speed_time=None):
    """The minimum-throughput rule ``(bytes per second, seconds)``: arguments, else environment, else defaults.

    A source that delivers fewer than ``min_speed`` bytes per second on average over any
    ``speed_time`` seconds of a transfer (waiting for the server's answer included) is
    abandoned and the next source is tried, as curl's ``--speed-limit``/``--speed-time`` do.
    ``min_speed=0`` turns the rule off (only the per-file deadline remains).

    Args:
        min_speed: bytes per second (a number >= 0), or None for ``$TINYMS_DOWNLOAD_MIN_SPEED``,
            else 1024.
        speed_time: the window in seconds (a positive number), or None for
            ``$TINYMS_DOWNLOAD_SPEED_TIME``, else 30.

    Returns:
        tuple: ``(min_speed, speed_time)`` as floats.

    Raises:
        TypeError: an argument is not a number.
        ValueError: ``min_speed`` is negative or ``speed_time`` not positive (or not finite).
        DownloadError: one of the environment variables is set to something else than such a
            number.

    Example:
        >>> resolve_min_speed(100, 5)
        (100.0, 5.0)
    """
    return (_setting(min_speed, "min_speed", MIN_SPEED_ENV, DEFAULT_MIN_SPEED, zero_ok=True, example=1024,
                     unit="bytes per second"),
            _setting(speed_time, "speed_time", SPEED_TIME_ENV, DEFAULT_SPEED_TIME, zero_ok=False, example=30,
                     unit="seconds"))


def _setting(value, arg, env, default, zero_ok, example, unit):
    """One number from an argument, else an environment variable, else ``default``."""
    kind = "a number >= 0" if zero_ok else "a positive number"
    if value is None:
        raw = os.environ.get(env, "")
        if not raw.strip():
            return default
        try:
            number = float(raw)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and (number > 0 or (zero_ok and number == 0))):
            raise DownloadError(f"{env}={_shown(raw)} is not {kind} of {unit}. Fix: set it to e.g. "
                                f"{env}={example}, or unset it for the default of {default:g} {unit}")
        return number
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{arg} must be {kind} of {unit}, got {value!r}; pass e.g. {arg}={example}")
    number = float(value)
    if not (math.isfinite(number) and (number > 0 or (zero_ok and number == 0))):
        raise ValueError(f"{arg} must be {kind} of {unit}, got {value!r}; pass e.g. {arg}={example}")
    return number


def _shown(value):
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


# --------------------------------------------------------------------------- public entry
def fetch(urls, dest, *, max_bytes, sha256=None, install=None, part=None, timeout=None,
          progress=True, label=None, what=None, dead_hosts=None, fix=None, checksum_fix=None,
          min_speed=None, speed_time=None):
    """Download one file from the first of ``urls`` that works, verify it, place it at ``dest``.

    Exactly one of ``sha256`` and ``install`` says how the download is verified. With
    ``sha256`` the downloaded bytes must have that digest and are then moved to ``dest``
    atomically (fsync'ed, mode 0644). With ``install`` the callable ``install(part, dest)``
    verifies the downloaded file ``part`` and writes ``dest`` itself (e.g. decompressing);
    it returns None on success or a short text saying why the content is wrong.

    Args:
        urls: source URLs, tried in order (each must be http or https).
        dest: final path of the file.
        max_bytes: the largest download accepted; a server sending more, or announcing more
            in ``Content-Length``, is cut off at once and its partial file deleted.
        sha256: expected SHA-256 (hex) of the downloaded bytes.
        install: callable ``install(part, dest) -> None or str`` replacing the SHA-256 check.
        part: where the partial download is kept between attempts and calls (for resuming);
            default ``.<name of dest>.part`` next to ``dest``.
        timeout: seconds each source gets for this file, connecting, retries and back-off
            included; default ``$TINYMS_DOWNLOAD_TIMEOUT`` or 900. When it passes the source
            is abandoned (its partial file is kept for a later resume).
        progress: show a progress bar on stderr.
        label: name shown on the progress bar; default the file name of ``dest``.
        what: how the file is named in errors; default ``label``.
        dead_hosts: dict shared between calls; hosts that could not be reached are recorded
            there and skipped by later calls.
        fix: the advice ending a DownloadError; a generic one by default.
        checksum_fix: the advice ending a ChecksumError; a generic one by default.
        min_speed: bytes per second a source must deliver on average over ``speed_time``
            seconds, or it is abandoned for the next source (its partial file is kept, so the
            next source resumes it) and its host is skipped for the rest of the call (and by
            later calls sharing ``dead_hosts``); 0 turns this off. Default
            ``$TINYMS_DOWNLOAD_MIN_SPEED`` or 1024.
        speed_time: the window of ``min_speed`` in seconds; default
            ``$TINYMS_DOWNLOAD_SPEED_TIME`` or 30.

    Returns:
        str: ``dest``, absolute.

    Raises:
        DownloadError: a URL or a setting is not usable (raised before any network access),
            every source failed (the message lists each URL and why, e.g. too slow naming the
            setting), or a file cannot be written.
        ChecksumError: a source delivered content that failed verification; nothing is left
            at ``dest`` or ``part``.
        TypeError: not exactly one of ``sha256`` and ``install`` was given.

    Example:
        >>> fetch(["http://127.0.0.1:8000/weights.ckpt"], "/tmp/weights.ckpt",  # doctest: +SKIP
        ...       max_bytes=50_000_000, sha256="9f86d081884c7d65...")
        '/tmp/weights.ckpt'
    """
    if (sha256 is None) == (install is None):
        raise TypeError("fetch() needs exactly one of sha256= (check the downloaded bytes) or "
                        "install= (a callable that checks and places them)")
    urls = [check_url(url, "url", "https://example.org/file.gz") for url in urls]
    if not urls:
        raise DownloadError(f"no source URL given for {what or dest}")
    max_bytes = positive_int(max_bytes, "max_bytes", example=10_000_000)
    seconds = resolve_timeout(timeout)
    speed = resolve_min_speed(min_speed, speed_time)
    dest = os.path.abspath(os.fspath(dest))
    label = label or os.path.basename(dest)
    what = what or label
    part = os.path.abspath(os.fspath(part)) if part is not None else os.path.join(
        os.path.dirname(dest), f".{os.path.basename(dest)}.part")
    if install is None:
        def install(downloaded, final):
            return _place_verified(downloaded, final, sha256)
    for folder in {os.path.dirname(dest), os.path.dirname(part)}:
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise DownloadError(f"cannot create {folder}: {exc.strerror or exc}. Fix: choose a "
                                f"folder you can write to") from exc
        sweep_stale_temps(folder)
    dead_hosts = {} if dead_hosts is None else dead_hosts

    reasons = []
    bad_content = False
    for url in urls:
        host = urlsplit(url).netloc.lower()
        if host in dead_hosts:
            reasons.append(f"{url}: skipped, host {dead_hosts[host]}")
            continue
        transfer = _Transfer(url, part, max_bytes, seconds, progress, label, speed)
        for fresh_start in (False, True):
            if fresh_start:
                _discard(part)
            try:
                resumed = transfer.run()
            except _Unreachable as exc:
                dead_hosts[host] = f"unreachable ({exc})"
                reasons.append(f"{url}: {exc}")
                break
            except _TooSlow as exc:
                dead_hosts[host] = "too slow earlier in this download"
                reasons.append(f"{url}: {exc}")
                break
            except _Failed as exc:
                reasons.append(f"{url}: {exc}")
                break
            try:
                problem = install(part, dest)
            finally:
                _discard(part)
            if problem is None:
                return dest
            if resumed and not fresh_start:
                continue  # the kept .part may come from another source: try once from zero
            bad_content = True
            reasons.append(f"{url}: {problem}")
            break
    tried = "\n".join(f"  - {reason}" for reason in reasons)
    if bad_content:
        raise ChecksumError(
            f"could not get a valid copy of {what}; the bad download has been removed:\n{tried}\n"
            + (checksum_fix or "Fix: try again later or use another source"))
    raise DownloadError(
        f"could not download {what} from any source:\n{tried}\n"
        + (fix or "Fix: check the network connection (and HTTPS_PROXY if you need a proxy), "
                  f"or allow more time with {TIMEOUT_ENV}"))


def _place_verified(part, dest, sha256):
    """Move ``part`` to ``dest`` atomically if its digest is ``sha256``; else return why not."""
    digest = sha256_of(part)
    if digest != sha256.lower():
        return (f"checksum mismatch: got {os.path.getsize(part)} bytes with SHA-256 {digest}, "
                f"expected SHA-256 {sha256.lower()}")
    try:
        with atomic_path(dest) as tmp:
            try:
                os.replace(part, tmp)
            except OSError:  # another file system
                shutil.copyfile(part, tmp)
    except OSError as exc:
        raise DownloadError(f"cannot write {dest}: {exc.strerror or exc}. Fix: free disk space "
                            f"or choose a folder you can write to") from exc
    return None


def _discard(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _has_data(path):
    return os.path.exists(path) and os.path.getsize(path) > 0


# --------------------------------------------------------------------------- one source
class _Transient(Exception):
    """Worth retrying the same URL (connection cut, 5xx, stalled)."""


class _Failed(Exception):
    """This URL will not work now (4xx, too big, deadline, not HTTP); try the next source."""


class _Unreachable(_Failed):
    """The host cannot be reached at all (DNS, refused, connect timeout); skip it from now on."""


class _TooSlow(_Failed):
    """The source delivered less than the minimum throughput; skip its host from now on."""


class _Throughput:
    """Bytes received in one attempt, judged by the minimum-throughput rule.

    The rule is broken when, once ``window`` seconds of the attempt have passed, the bytes of
    the last ``window`` seconds (or slightly more: progress is sampled every ``window / 16``
    seconds) average less than ``min_speed`` per second. Both the reading thread (after each
    chunk) and the watchdog (while a read or the answer's headers keep it blocked) check it.
    """

    def __init__(self, min_speed, window):
        self.min_speed, self.window = min_speed, window
        self.start = time.monotonic()
        self.total = 0
        self.verdict = None  # why the rule was broken, once it was
        self._marks = collections.deque([(self.start, 0)])  # (time, total) samples
        self._lock = threading.Lock()

    @property
    def active(self):
        return self.min_speed > 0

    def add(self, count):
        now = time.monotonic()
        with self._lock:
            self.total += count
            if now - self._marks[-1][0] >= self.window / 16:
                self._marks.append((now, self.total))
            while len(self._marks) > 1 and self._marks[1][0] <= now - self.window:
                self._marks.popleft()  # the newest sample a window old is all the rule needs

    def check(self):
        """None while fast enough, else (and from then on) why the source is too slow."""
        if not self.active or self.verdict is not None:
            return self.verdict
        now = time.monotonic()
        if now - self.start < self.window:
            return None
        with self._lock:
            since, base = self._marks[0]
            for when, total in self._marks:
                if when > now - self.window:
                    break
                since, base = when, total
            got, total = self.total - base, self.total
        seconds = now - since
        if got >= self.min_speed * seconds:
            return None
        self.verdict = (f"too slow: {got} bytes in the last {seconds:.1f} s ({got / seconds:.4g} bytes/s, "
                        f"{total} bytes in all), below the minimum of {self.min_speed:g} bytes/s over "
                        f"{self.window:g} s; source abandoned (lower the minimum with "
                        f"min_speed= or {MIN_SPEED_ENV}, 0 turns it off, or lengthen the window with "
                        f"speed_time= or {SPEED_TIME_ENV})")
        return self.verdict

    def next_check(self):
        """Seconds until the watchdog should look again (inf when the rule is off)."""
        return min(1.0, self.window / 8) if self.active else math.inf


class _Watchdog:
    """Shuts a connection's socket down once the deadline passes or the source proves too slow.

    Shutting the socket down wakes any blocked read, whatever phase the transfer is in.
    """

    def __init__(self, conn, deadline, meter):
        self._conn = conn
        self._deadline = deadline
        self._meter = meter
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tinyms-download-deadline",
                                        daemon=True)
        self._thread.start()

    def _run(self):
        while True:
            left = self._deadline - time.monotonic()
            wait = min(max(0.0, left), self._meter.next_check(), threading.TIMEOUT_MAX)
            if self._stop.wait(wait):
                return
            if left <= wait or self._meter.check() is not None:
                break
        while True:  # the socket may appear later (connect in progress): keep trying
            sock = self._conn.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the raw socket, also for TLS
            if self._stop.wait(0.05):
                return

    def stop(self):
        self._stop.set()
        self._thread.join(5)


class _Transfer:
    """Download one URL into ``part`` within a deadline, retrying transient failures."""

    def __init__(self, url, part, max_bytes, seconds, progress, label, speed=(0.0, 1.0)):
        self.url = url
        self.part = part
        self.max_bytes = max_bytes
        self.seconds = seconds
        self.progress = progress
        self.label = label
        self.deadline = time.monotonic() + seconds  # one deadline per source, restarts included
        self.speed = speed  # (min bytes/s, window s): each attempt is measured afresh
        self.meter = _Throughput(*speed)
        self._tls = None

    def run(self):
        """Download into ``part``; return True when it resumed an earlier partial file."""
        resumed = _has_data(self.part)
        attempt = 0
        while True:
            try:
                self._once()
                return resumed
            except _Transient as exc:
                attempt += 1
                if attempt > RETRIES:
                    raise _Failed(f"{exc} (gave up after {attempt} attempts)") from None
                pause = BACKOFF * 2 ** (attempt - 1)
                if time.monotonic() + pause >= self.deadline:
                    raise _Failed(f"{exc}; no time left for a retry within the "
                                  f"{self.seconds:g} s deadline ({self._raise_hint()})") from None
                time.sleep(pause)
                resumed = resumed or _has_data(self.part)

    # ----------------------------------------------------------------- helpers
    def _raise_hint(self):
        return f"allow more with timeout= or {TIMEOUT_ENV}"

    def _overdue(self, doing):
        return _Failed(f"abandoned {doing}: the {self.seconds:g} s deadline for this file passed "
                       f"({self._raise_hint()})")

    def _past_deadline(self):
        return time.monotonic() >= self.deadline

    def _too_slow(self):
        """The _TooSlow error once the minimum-throughput rule is broken, else None."""
        verdict = self.meter.check()
        return None if verdict is None else _TooSlow(verdict)

    def _op_timeout(self, limit):
        return max(0.01, min(limit, self.deadline - time.monotonic()))

    def _tls_context(self):
        if self._tls is None:
            cafile = None
            if not (os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR")):
                with contextlib.suppress(ImportError):
                    import certifi  # noqa: PLC0415 - the CA bundle requests would use
                    cafile = certifi.where()
            self._tls = ssl.create_default_context(cafile=cafile)
        return self._tls

    # ----------------------------------------------------------------- connection
    def _connection(self, parts):
        """An unconnected http.client connection for ``parts`` (through a proxy if configured).

        Returns (connection, request target, extra headers, proxy shown in errors or None).
        """
        scheme = parts.scheme.lower()
        https = scheme == "https"
        port = parts.port or (443 if https else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        proxy = _proxy_for(scheme, parts.hostname, port)
        connect_timeout = self._op_timeout(CONNECT_TIMEOUT)
        if proxy is None:
            if https:
                conn = http.client.HTTPSConnection(parts.hostname, port, timeout=connect_timeout,
                                                   context=self._tls_context())
            else:
                conn = http.client.HTTPConnection(parts.hostname, port, timeout=connect_timeout)
            return conn, target, {}, None
        p_host, p_port, auth, shown = proxy
        extra = {"Proxy-Authorization": auth} if auth else {}
        if https:
            conn = http.client.HTTPSConnection(p_host, p_port, timeout=connect_timeout,
                                               context=self._tls_context())
            conn.set_tunnel(parts.hostname, port, headers=extra)
            return conn, target, {}, shown
        conn = http.client.HTTPConnection(p_host, p_port, timeout=connect_timeout)
        absolute = f"http://{parts.netloc.rpartition('@')[2]}{target}"
        return conn, absolute, extra, shown

    def _connect_failure(self, exc, via, connected):
        where = f" (through proxy {via})" if via else ""
        if self._past_deadline():
            return self._overdue("connecting")
        if (slow := self._too_slow()) is not None:
            return slow
        if isinstance(exc, ssl.SSLError):
            return _Failed(f"TLS/SSL error{where}: {_short(exc)}")
        if isinstance(exc, socket.gaierror):
            return _Unreachable(f"cannot resolve the host name{where}: {_short(exc)}")
        if isinstance(exc, TimeoutError):
            if connected:  # TCP is up; the TLS handshake or the proxy tunnel is stuck
                return _Unreachable(f"connected, but no TLS/proxy handshake within "
                                    f"{CONNECT_TIMEOUT:g} s{where}")
            return _Unreachable(f"no connection within {CONNECT_TIMEOUT:g} s{where}")
        if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) in (
                errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
            return _Unreachable(f"cannot connect{where}: {_short(exc)}")
        if isinstance(exc, http.client.HTTPException) or "Tunnel connection failed" in str(exc):
            return _Failed(f"proxy refused the connection{where}: {_short(exc)}")
        return _Transient(f"connection error{where}: {_short(exc)}")

    def _answer_failure(self, exc):
        if self._past_deadline():
            return self._overdue("waiting for the server's answer")
        if (slow := self._too_slow()) is not None:
            return slow
        if isinstance(exc, TimeoutError):
            return _Transient(f"no answer within {READ_TIMEOUT:g} s")
        if isinstance(exc, (http.client.RemoteDisconnected, ConnectionError)):
            return _Transient(f"connection closed before an answer ({_short(exc)})")
        if isinstance(exc, http.client.HTTPException):
            return _Failed(f"the server's answer is not valid HTTP ({type(exc).__name__}: "
                           f"{_short(exc)})")
        return _Transient(f"connection error: {_short(exc)}")

    def _open(self, headers):
        """Send the request, following redirects; return (connection, response, watchdog)."""
        url = self.url
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            conn, target, extra, via = self._connection(parts)
            dog = _Watchdog(conn, self.deadline, self.meter)
            try:
                try:
                    conn.connect()
                except Exception as exc:
                    raise self._connect_failure(exc, via, conn.sock is not None) from None
                try:
                    conn.sock.settimeout(self._op_timeout(READ_TIMEOUT))
                    conn.request("GET", target, headers={**headers, **extra})
                    response = conn.getresponse()
                except Exception as exc:
                    raise self._answer_failure(exc) from None
            except BaseException:
                dog.stop()
                conn.close()
                raise
            if response.status not in _REDIRECTS:
                return conn, response, dog
            location = response.getheader("Location")
            dog.stop()
            conn.close()
            if not location:
                raise _Failed(f"HTTP {response.status} redirect without a Location")
            new = urljoin(url, location.strip())
            problem = url_problem(new)
            if problem is not None:
                raise _Failed(f"redirected to {_shown(new)}, refused: {problem}")
            url = new
        raise _Failed(f"more than {MAX_REDIRECTS} redirects; refused to follow more")

    # ----------------------------------------------------------------- one attempt
    def _once(self):
        offset = os.path.getsize(self.part) if os.path.exists(self.part) else 0
        if offset > self.max_bytes:  # not from a source that honours the bound: start over
            _discard(self.part)
            offset = 0
        headers = {"Accept-Encoding": "identity", "User-Agent": _USER_AGENT,
                   "Connection": "close"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        self.meter = _Throughput(*self.speed)
        conn, response, dog = self._open(headers)
        try:
            self._receive(response, offset)
        finally:
            dog.stop()
            response.close()  # the response owns the socket ("Connection: close"): hang up now, not at GC
            conn.close()

    def _receive(self, response, offset):
        status = response.status
        if status == 416 and offset:
            total = (response.getheader("Content-Range") or "").rpartition("/")[2]
            if total == str(offset):
                return  # the kept .part is already complete
            _discard(self.part)
            raise _Transient("server could not resume the partial file; restarting from zero")
        if status >= 500 or status in (408, 429):
            raise _Transient(f"HTTP {status} {response.reason}")
        if status not in (200, 206):
            raise _Failed(f"HTTP {status} {response.reason}")
        if status == 206:
            match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)",
                                 (response.getheader("Content-Range") or "").strip())
            if not match or int(match[1]) != offset:
                _discard(self.part)
                raise _Transient("server resumed at the wrong offset; restarting from zero")
            if match[3] != "*" and int(match[3]) > self.max_bytes:
                _discard(self.part)
                raise _Failed(f"the server says the file has {int(match[3])} bytes "
                              f"(Content-Range), more than the {self.max_bytes} it can have; "
                              f"refused, partial file deleted")
            mode = "ab"
        else:  # 200: a full body, even if we asked for a range
            offset, mode = 0, "wb"
        expected = offset + response.length if response.length is not None else None
        if expected is not None and expected > self.max_bytes:
            _discard(self.part)
            raise _Failed(f"the server announces {expected} bytes (Content-Length), more than "
                          f"the {self.max_bytes} this file can have; refused, partial file deleted")
        self._stream(response, mode, offset, expected)

    def _stream(self, response, mode, offset, expected):
        from tqdm import tqdm  # noqa: PLC0415

        try:
            f = open(self.part, mode)  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            raise DownloadError(f"cannot write {self.part}: {exc.strerror or exc}. Fix: free "
                                f"disk space or choose a folder you can write to") from exc
        bar = tqdm(total=expected, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                   desc=self.label, file=sys.stderr, disable=not self.progress, leave=False)
        written, too_big = offset, False
        with f, bar:
            while True:
                try:
                    chunk = response.read1(min(_CHUNK, self.max_bytes - written + 1))
                except (OSError, http.client.HTTPException, ValueError) as exc:
                    if self._past_deadline():
                        raise self._overdue(f"the transfer after {written} bytes") from None
                    if (slow := self._too_slow()) is not None:
                        raise slow from None
                    if isinstance(exc, TimeoutError):
                        raise _Transient(f"transfer stalled: no data for {READ_TIMEOUT:g} s "
                                         f"after {written} bytes") from None
                    raise _Transient(f"connection lost after {written} bytes "
                                     f"({_short(exc) or type(exc).__name__})") from None
                if not chunk:
                    break
                if written + len(chunk) > self.max_bytes:
                    too_big = True
                    break
                try:
                    f.write(chunk)
                except OSError as exc:
                    raise DownloadError(f"cannot write {self.part}: {exc.strerror or exc}. Fix: "
                                        f"free disk space or choose another folder") from exc
                written += len(chunk)
                bar.update(len(chunk))
                self.meter.add(len(chunk))
                if self._past_deadline() and written != expected:
                    raise self._overdue(f"the transfer after {written} bytes")
                if written != expected and (slow := self._too_slow()) is not None:
                    raise slow
        if too_big:
            _discard(self.part)
            raise _Failed(f"the server sent more than {self.max_bytes} bytes, more than this "
                          f"file can have; stopped there and deleted the partial file")
        if expected is None and self._past_deadline():  # cut by the watchdog, or truly complete?
            raise self._overdue(f"the transfer after {written} bytes")
        if expected is None and self.meter.verdict is not None:  # cut for being too slow
            raise _TooSlow(self.meter.verdict)
        if expected is not None and written != expected:
            if self._past_deadline():
                raise self._overdue(f"the transfer after {written} of {expected} bytes")
            if (slow := self._too_slow()) is not None:
                raise slow
            raise _Transient(f"connection lost after {written} of {expected} bytes")


# --------------------------------------------------------------------------- proxies
def _proxy_for(scheme, host, port):
    """(host, port, Proxy-Authorization value or None, shown) of the proxy for a URL, or None."""
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or urllib.request.proxy_bypass(f"{host}:{port}") or urllib.request.proxy_bypass(host):
        return None
    if "://" not in proxy:
        proxy = "http://" + proxy
    variable = f"{scheme.upper()}_PROXY"
    check_url(proxy, variable, "http://proxy.example.org:3128")
    parts = urlsplit(proxy)
    if parts.scheme.lower() != "http":
        raise DownloadError(f"{variable}={_shown(proxy)}: only http:// proxies are supported. "
                            f"Fix: set {variable} to e.g. http://proxy.example.org:3128")
    auth = None
    if parts.username is not None:
        token = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        auth = "Basic " + base64.b64encode(token).decode("ascii")
    shown = f"{parts.hostname}:{parts.port or 80}"
    return parts.hostname, parts.port or 80, auth, shown


def _short(exc):
    text = str(exc)
    if text.startswith("<") and ">: " in text:  # drop "<connection object at 0x..>: "
        text = text.split(">: ", 1)[1]
    return text if len(text) <= 200 else text[:197] + "..."
