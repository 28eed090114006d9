"""The harness's HTTP transport for peers it cannot trust: requests over urllib3 connections that an
overall deadline per exchange can reach, and answers read whole but never beyond a size.

requests' read timeout bounds each socket read only, so a peer dripping one byte at a time would
hold the harness for ever. Here an exchange (`Deadline`, set as `current.deadline` on the calling
thread) starts a watchdog timer; every connection the exchange uses registers with it
(`DeadlineAdapter` mounts connection classes that do), and when the deadline passes the timer
shuts the connection's socket down, so whatever call is blocked returns. `read_answer` reads a
streamed answer in chunks and stops at a size limit. `connection_problem` says in a few words what
went wrong on the wire, TLS refusals included. Used by HttpTarget (adapters/http.py).
"""
from __future__ import annotations

import heapq
import re
import socket
import threading
import time

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

CHUNK = 64 * 1024


def one_line(text: object, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


# --- an overall deadline per exchange ------------------------------------------------------------

current = threading.local()      # .deadline: the exchange this thread is in, if any


class Deadline:
    """One exchange's overall deadline. When it passes, the watchdog (one thread for all exchanges)
    shuts down the socket of whichever connection the exchange is using, so a blocked read or write
    returns whatever the peer does; `finish()` (always, at the end of the exchange) stops it. A
    connection belongs to the last exchange that used it: a late expiry never touches a connection
    another exchange has taken from the pool since."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._done = False
        self._conns: list = []
        self._lock = threading.Lock()
        _WATCHDOG.add(time.monotonic() + seconds, self)

    def attach(self, conn) -> None:
        with self._lock:
            conn._mp107_deadline = self
            if conn not in self._conns:
                self._conns.append(conn)
            if self.expired:
                _shut(conn)

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            for conn in self._conns:
                if getattr(conn, "_mp107_deadline", None) is self:
                    _shut(conn)

    def finish(self) -> None:
        with self._lock:
            self._done = True
            self._conns.clear()


class _Watchdog:
    """One daemon thread for every exchange's deadline (a heap of them), instead of a timer thread
    started per exchange: it wakes at the earliest deadline and expires those that are due (a
    finished exchange's expiry does nothing)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._count = 0

    def add(self, when: float, deadline: "Deadline") -> None:
        with self._wake:
            self._count += 1
            heapq.heappush(self._heap, (when, self._count, deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mp107-exchange-deadlines", daemon=True)
                self._thread.start()
            if self._heap[0][2] is deadline:
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._wake.wait(None if not self._heap else self._heap[0][0] - time.monotonic())
                due = []
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
            for deadline in due:          # outside the lock: expiring shuts sockets down
                deadline._expire()


_WATCHDOG = _Watchdog()


def _shut(conn) -> None:
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _attach(conn) -> None:
    deadline = getattr(current, "deadline", None)
    if deadline is not None:
        deadline.attach(conn)


class _DeadlineConnection:
    """Mixed into urllib3's connections: each tells the exchange in progress on this thread that it
    carries it (before connecting, once connected, before each request on a reused connection).
    A TLS handshake is bounded as a whole by the connect timeout (the ssl module keeps it a deadline)."""

    def connect(self) -> None:
        _attach(self)
        super().connect()
        _attach(self)

    def request(self, *args, **kwargs):
        _attach(self)
        return super().request(*args, **kwargs)


class _HTTPConnection(_DeadlineConnection, HTTPConnection):
    pass


class _HTTPSConnection(_DeadlineConnection, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """No retries, no redirects, and connections the exchange deadline can reach. (A SOCKS proxy's
    own connection classes are left alone; its exchanges are bounded by the read timeout only.)"""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is urllib3.ProxyManager:
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


class TooLarge(Exception):
    pass


def read_answer(answer: requests.Response, limit: int) -> bytes:
    """The whole body of a streamed answer, at most `limit` bytes (else TooLarge, nothing more read)."""
    declared = (answer.headers.get("Content-Length") or "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"it declares {declared} bytes")
    parts, size = [], 0
    while True:
        chunk = answer.raw.read(CHUNK, decode_content=False)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"more than {limit} bytes came")
        parts.append(chunk)
    return b"".join(parts)


def connection_problem(exc: requests.RequestException) -> str:
    """What went wrong on the wire, in a few words."""
    if isinstance(exc, requests.ConnectTimeout):
        return "no connection within the connect timeout"
    if isinstance(exc, requests.ReadTimeout):
        return "no answer within the read timeout (the request was not re-sent)"
    text = str(exc)
    tls = _tls_refusal(text)
    if tls is not None:
        return tls
    if "Connection refused" in text:
        return "connection refused (is the target running?)"
    if any(sign in text for sign in ("RemoteDisconnected", "Connection aborted", "Connection reset")):
        url = getattr(getattr(exc, "request", None), "url", None) or ""
        tls = ("; over TLS 1.3 this is also how a target refuses a missing or untrusted client certificate, "
               "the profile's [tls].client_certificate") if url.startswith("https:") else ""
        return f"the connection was closed before an answer came (the request was not re-sent{tls})"
    return f"{type(exc).__name__}: {one_line(text, 160)}"


_SSL_REASON = re.compile(r"\[SSL(?:: [A-Z0-9_]+)?\][^'\")]*|\[X509: [A-Z0-9_]+\][^'\")]*|"
                         r"certificate verify failed[^'\")]*|tlsv1[0-9]? alert [a-z ]+")


def _tls_refusal(text: str) -> str | None:
    """'TLS refused: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer
    certificate' when `text` (a requests/urllib3 error) is about the TLS handshake or a TLS alert; else None."""
    if "SSL" not in text and "tlsv1" not in text:
        return None
    found = _SSL_REASON.search(text)
    reason = re.sub(r"\s*\(_ssl\.c:\d+\)?", "", found.group(0)).strip() if found else one_line(text, 160)
    hint = ""
    if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate verify failed" in reason:
        hint = (" (the target's certificate is not issued by a CA in the profile's [tls].ca_bundle, "
                "or not for this host)")
    elif any(sign in reason for sign in ("certificate required", "PEER_DID_NOT_RETURN_A_CERTIFICATE",
                                         "handshake failure")):
        hint = " (the target wants a client certificate it trusts: the profile's [tls].client_certificate)"
    elif "unknown ca" in reason or "bad certificate" in reason:
        hint = " (the target does not trust the profile's [tls].client_certificate)"
    return f"TLS refused: {one_line(reason, 160)}{hint}"
