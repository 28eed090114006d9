"""The harness's callback receiver: where a target POSTs final outcomes (SPEC §5).

A small threaded HTTP server (stdlib) on a loopback ephemeral port by default. Anyone who can reach
it can POST to it, so nothing it receives is trusted:

- a POST must declare its length (`Content-Length`, digits only, at most `MAX_BODY`); a missing,
  doubled, negative, non-numeric or too large one, or a chunked body, is refused (411/400/413)
  before a byte of the body is read, and never more than the declared length is read;
- at most `MAX_CONNECTIONS` connections at once (one more is closed unread), and at most
  `READING_BYTES` of bodies being read at once (a POST that would go beyond is answered 503 unread):
  whatever reaches the receiver, what it holds is bounded (400 stalled 4 MiB POSTs once held 1.5 GB).
  A client that goes mid-request is one line in `refused`, never a traceback;
- every connection has a per-read socket timeout and an overall deadline (request line, headers
  and body together): a client that stalls or drips is dropped. After an accepted outcome the
  connection stays open (HTTP/1.1 keep-alive: the DCC's next outcome costs no new connection, nor
  a new thread here); an idle one is closed, quietly, after the per-read timeout, and the next
  request's deadline runs from its first byte. A refusal is answered with HTTP/1.0 and closes;
- each body must be a DUIS `Response`; its RequestID is read from the Response itself (a response
  correlates to its request by RequestID alone). Bodies that are not a readable Response are
  answered 400 and remembered in `refused`, so that an outcome that never arrives can say what
  came instead;
- the **first verified** outcome for a RequestID wins. "Verified" is what the `verify` callable
  says (the target adapter passes one that checks the DSP's signature with the same certificate it
  uses for every other answer); without one, the first readable Response wins. Anything else that
  arrives for that RequestID, before or after, that does not verify, or that comes after the
  verified one, is kept as evidence (`evidence(request_id)`, bounded) and never replaces it.
  Answers: 204 accepted (or a byte-identical re-delivery of the accepted one), 403 does not verify,
  409 another outcome after the verified one;
- a verified answer that is not a final outcome (`verify` raises `NotFinal`: the DSP's acknowledgement,
  the Transform's Pre-Command) is answered 202 and kept as evidence: it is never taken, and never makes
  the real outcome that follows (or came before) look like a second one.

HTTPS (`tls`, an ssl.SSLContext from `server_tls_context`; the profile's [tls], adapters/profile.py):
the TLS handshake runs in the connection's own thread, never in the accepting one, and is bounded
as a whole by the read timeout and within the request's overall deadline; with a client CA, a
client without a certificate issued by it is refused in the handshake, before any HTTP is read, and so
is one whose certificate is a CA's own (end-entity certificates only). A
failed handshake is remembered in `refused` like any other refusal. The limits above are unchanged.
"""
from __future__ import annotations

import hashlib
import io
import logging
import re
import socket
import ssl
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from duis import codec, errors
from duis.messages import ServiceResponse

log = logging.getLogger(__name__)

MAX_BODY = 4 * 1024 * 1024
PATH = "/outcomes"
READ_TIMEOUT = 10.0
"""seconds a connection may stay silent (each socket read)"""
REQUEST_DEADLINE = 30.0
"""seconds for a whole request: request line, headers and body"""
EVIDENCE_PER_REQUEST = 8
"""outcomes kept as evidence per RequestID (the oldest go first)"""
EVIDENCE_REQUESTS = 256
"""RequestIDs with evidence kept (the oldest go first)"""
ARRIVALS = 64
"""Responses remembered by RequestID and time of arrival, for saying what came while an outcome was awaited"""
EVIDENCE_BODY_BYTES = 16 * 1024
"""bytes of each evidence body kept (its full size is recorded)"""
MAX_CONNECTIONS = 128
"""connections served at once; beyond it a new one is closed unread (each holds a thread)"""
READING_BYTES = 64 * 1024 * 1024
"""bytes of POST bodies being read at once, over all connections (each POST reserves its declared length
before a byte is read); beyond it a POST is answered 503 unread"""
PENDING_BYTES = 64 * 1024 * 1024
"""bytes of verified outcomes held until awaited; beyond it, new ones are refused (503)"""
SETTLED_REQUESTS = 100_000
"""RequestIDs whose verified outcome is remembered after it was taken (the oldest are forgotten)"""
_DIGITS = re.compile(r"[0-9]{1,20}")


@dataclass(frozen=True)
class Evidence:
    """Something POSTed for a RequestID that was not taken as its outcome."""
    request_id: str
    reason: str
    body: bytes
    """its first EVIDENCE_BODY_BYTES bytes"""
    size: int
    sender: str
    at: float
    """time.time() when it arrived"""


class NotFinal(Exception):
    """Raised by a receiver's `verify` for an answer that verifies but is not a final outcome (the
    DSP's acknowledgement, the Transform's answer): `response` the decoded answer, the message why."""

    def __init__(self, reason: str, response: ServiceResponse) -> None:
        super().__init__(reason)
        self.response = response


class _DeadlineReader(io.RawIOBase):
    """A socket read with a per-read timeout and an overall deadline: each read waits at most
    min(per_read, what is left), so neither a silent nor a dripping client holds the thread.

    Between two requests on a kept-alive connection (`between()`), the wait for the next request's
    first byte is bounded by the per-read timeout alone, and ends it quietly (as if the client had
    closed: an idle connection is nothing to report); the next request's deadline runs from its first
    byte."""

    def __init__(self, sock: socket.socket, per_read: float, deadline: float, seconds: float) -> None:
        self._sock, self._per_read, self._deadline, self._seconds = sock, per_read, deadline, seconds
        self._idle = False

    def readable(self) -> bool:
        return True

    def between(self) -> None:
        self._idle = True

    def readinto(self, buffer) -> int:
        if self._idle:
            self._sock.settimeout(self._per_read)
            try:
                count = self._sock.recv_into(buffer)
            except (TimeoutError, ConnectionError):
                return 0
            self._idle = False
            self._deadline = time.monotonic() + self._seconds
            return count
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no complete request within {self._seconds:g} s")
        self._sock.settimeout(min(self._per_read, left))
        try:
            return self._sock.recv_into(buffer)
        except TimeoutError:
            if self._deadline - time.monotonic() <= 0:
                raise TimeoutError(f"no complete request within {self._seconds:g} s") from None
            raise TimeoutError(f"stalled: nothing for {self._per_read:g} s") from None


class CallbackReceiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, public_url: str | None = None,
                 verify: Callable[[bytes], object] | None = None, read_timeout: float = READ_TIMEOUT,
                 request_deadline: float = REQUEST_DEADLINE, tls: ssl.SSLContext | None = None) -> None:
        """`verify(body)` raises a `duis.errors.DuisError` saying why when `body` is not a verified
        final outcome; it may return the body decoded (a `duis.messages.ServiceResponse`, whose
        RequestID is then taken), else the body is decoded here. It is called on every body that
        arrives whole (a body that is not a readable DUIS Response is refused all the same). `tls`:
        serve HTTPS with this server context (`server_tls_context`); None: HTTP."""
        self._verify = verify
        self._outcomes: dict[str, bytes] = {}                      # verified, not yet taken
        self._pending_bytes = 0
        self._settled: OrderedDict[str, str] = OrderedDict()       # RequestID -> sha256 of its verified outcome
        self._evidence: OrderedDict[str, deque[Evidence]] = OrderedDict()
        self.arrivals: deque[tuple[float, str, str]] = deque(maxlen=ARRIVALS)
        """(time.time(), RequestID, what) of every Response POSTed, newest last: what came (adapters/silence.py)"""
        self._cond = threading.Condition()
        self._connections: set = set()                             # open connections (kept alive between POSTs)
        self._reading = 0                                          # bytes reserved by POSTs being read
        self.refused: deque[str] = deque(maxlen=20)
        self.received = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = read_timeout          # StreamRequestHandler sets it on the socket (writes too)
            # HTTP/1.1: an accepted outcome's connection stays open for the next one (the DCC's delivery
            # client keeps its connections), so each outcome costs neither side a new connection and
            # this side no new thread. A refusal is answered HTTP/1.0 and closes (CallbackReceiver._refuse).
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                deadline = time.monotonic() + request_deadline
                self.handshake_failed = False
                self.requests_read = 0
                self.plain_socket = self.request
                with receiver._cond:
                    receiver._connections.add(self.plain_socket)
                if tls is not None:         # in this connection's thread, bounded as a whole
                    self.request = self._handshake(self.request, deadline)
                super().setup()
                self.rfile.close()          # replaced by one that keeps the deadline
                self.reader = _DeadlineReader(self.connection, read_timeout, deadline, request_deadline)
                self.rfile = io.BufferedReader(self.reader)

            def handle_one_request(self) -> None:
                if self.requests_read:      # kept alive: wait quietly for the next one, its deadline from its start
                    self.reader.between()
                self.requests_read += 1
                super().handle_one_request()

            def _handshake(self, sock: socket.socket, deadline: float) -> socket.socket:
                try:
                    wrapped = tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                except (OSError, ValueError) as exc:
                    self.handshake_failed = True
                    receiver._note(f"from {self.client_address[0]}: TLS refused: {_tls_reason(exc)}")
                    return sock
                wrapped.settimeout(max(0.001, min(read_timeout, deadline - time.monotonic())))
                try:
                    wrapped.do_handshake()      # the ssl module keeps the timeout a deadline for the whole
                except (OSError, ValueError) as exc:
                    self.handshake_failed = True
                    receiver._note(f"from {self.client_address[0]}: TLS refused: {_tls_reason(exc)}")
                    return wrapped
                if tls.verify_mode == ssl.CERT_REQUIRED and _is_ca(wrapped.getpeercert(binary_form=True)):
                    self.handshake_failed = True     # mutual TLS: end-entity client certificates only
                    receiver._note(f"from {self.client_address[0]}: TLS refused: the client certificate is a "
                                   "CA's, not an end entity's")
                return wrapped

            def handle(self) -> None:
                if not self.handshake_failed:
                    super().handle()

            def finish(self) -> None:
                try:
                    super().finish()
                finally:
                    with receiver._cond:
                        receiver._connections.discard(self.plain_socket)
                    if isinstance(self.request, ssl.SSLSocket):   # the server shuts down the plain socket only
                        try:
                            self.request.close()
                        except OSError:
                            pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                receiver._handle(self)

            def log_message(self, fmt, *args) -> None:   # quiet: the harness's output is the verdicts
                log.debug("callback receiver: " + fmt, *args)

            def log_error(self, fmt, *args) -> None:     # timeouts, bad request lines: remembered
                receiver._note(f"from {self.client_address[0]}: " + (fmt % args))

        self._server = _BoundedServer((host, port), Handler, receiver=self)
        bound_host, bound_port = self._server.server_address[:2]
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        scheme = "https" if tls is not None else "http"
        self.url = public_url or f"{scheme}://{shown}:{bound_port}{PATH}"
        self._path = PATH if public_url is None else (_path_of(public_url) or PATH)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="callback-receiver", daemon=True)
        self._thread.start()

    # --- receiving ------------------------------------------------------------------------------

    def _note(self, problem: str) -> None:
        problem = " ".join(problem.split())[:300]
        self.refused.append(problem)
        log.warning("callback receiver: %s", problem)

    def _refuse(self, handler: BaseHTTPRequestHandler, status: int, problem: str) -> None:
        self._note(f"HTTP {status} to {handler.client_address[0]}: {problem}")
        handler.close_connection = True
        handler.protocol_version = "HTTP/1.0"      # and the connection closes after it
        self._answer(handler, status, problem)

    def _length(self, handler: BaseHTTPRequestHandler) -> int | None:
        """The declared body length, or None after refusing the request (nothing of the body read)."""
        if handler.headers.get("Transfer-Encoding") is not None:
            self._refuse(handler, 411, "expected a Content-Length, got Transfer-Encoding")
            return None
        values = handler.headers.get_all("Content-Length") or []
        if not values:
            self._refuse(handler, 411, "expected a Content-Length")
            return None
        if len(values) > 1 or not _DIGITS.fullmatch(values[0].strip()):
            self._refuse(handler, 400, f"expected one Content-Length of digits, got {values!r:.80}")
            return None
        length = int(values[0].strip())
        if length > MAX_BODY:
            self._refuse(handler, 413, f"expected at most {MAX_BODY} bytes, got a Content-Length of {length}")
            return None
        return length

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        reserved = [0]
        try:
            self._handle_post(handler, reserved)
        finally:
            if reserved[0]:
                with self._cond:
                    self._reading -= reserved[0]

    def _handle_post(self, handler: BaseHTTPRequestHandler, reserved: list) -> None:
        if handler.path.split("?")[0] != self._path:
            self._refuse(handler, 404, f"POST final outcomes to {self._path}")
            return
        length = self._length(handler)
        if length is None:
            return
        sender = handler.client_address[0]
        with self._cond:
            if self._reading + length > READING_BYTES:
                busy = self._reading
            else:
                busy, self._reading = None, self._reading + length
                reserved[0] = length
        if busy is not None:
            self._refuse(handler, 503, f"{busy} bytes of other POSTs are being read; try again")
            return
        try:
            body = _read_exactly(handler.rfile, length)
        except TimeoutError as exc:
            self._note(f"from {sender}: dropped a POST after {exc}")
            handler.close_connection = True
            handler.protocol_version = "HTTP/1.0"
            try:
                self._answer(handler, 408, f"dropped: {exc}")
            except OSError:
                pass
            return
        except OSError as exc:          # the client went (reset): one line, the connection is closed
            self._note(f"from {sender}: the connection was lost while reading a POST: {type(exc).__name__}")
            handler.close_connection = True
            return
        if len(body) < length:
            self._refuse(handler, 400, f"the body ended after {len(body)} of {length} bytes")
            return
        # Verified first: a verifier that hands back the decoded Response (the target adapter's does)
        # saves decoding the body a second time to read its RequestID; a body that does not verify is
        # decoded without verification, to tell a Response that does not verify (403, kept as
        # evidence) from something that is not a readable Response at all (400).
        problem, response, not_final = None, None, None
        if self._verify is not None:
            try:
                verified = self._verify(body)
            except NotFinal as exc:
                not_final, response = str(exc), exc.response
            except Exception as exc:    # noqa: BLE001 - a DuisError saying why, or anything else: not verified
                text = " ".join(str(exc).split())[:300]
                problem = text if isinstance(exc, errors.DuisError) and text else f"{type(exc).__name__}: {text}"
            else:
                response = verified if isinstance(verified, ServiceResponse) else None
        try:
            if response is None:
                response = codec.decode_response(body)
            if response.request_id is None:
                raise errors.DuisValueError("the Response carries no RequestID")
        except Exception as exc:    # noqa: BLE001 - hostile input must never take the handler down
            self._refuse(handler, 400, f"expected a DUIS Response, got {type(exc).__name__}: {exc}")
            return
        rid = str(response.request_id)
        status, text = self._file(rid, body, problem, sender, not_final)
        if status >= 400:
            self._note(f"HTTP {status} to {sender} for {rid}: {text}")
        self._answer(handler, status, text)

    def _file(self, rid: str, body: bytes, problem: str | None, sender: str,
              not_final: str | None = None) -> tuple[int, str | None]:
        """Take `body` as the outcome for `rid` if it is the first verified one; else keep it as evidence."""
        digest = hashlib.sha256(body).hexdigest()
        with self._cond:
            settled = self._settled.get(rid)
            if not_final is not None:
                reason, status = not_final, 202
            elif problem is not None:
                reason = problem
                status = 403
            elif settled is None:
                if self._pending_bytes + len(body) > PENDING_BYTES:
                    return 503, f"{self._pending_bytes} bytes of outcomes are waiting to be taken; try later"
                self._settled[rid] = digest
                if len(self._settled) > SETTLED_REQUESTS:
                    self._settled.popitem(last=False)
                self._outcomes[rid] = body
                self._pending_bytes += len(body)
                self.received += 1
                self.arrivals.append((time.time(), rid, "a verified outcome"))
                self._cond.notify_all()
                return 204, None
            elif settled == digest:
                reason, status = "arrived after the verified outcome (a byte-identical re-delivery)", 204
            else:
                reason, status = "arrived after the verified outcome, and differs from it (the first is kept)", 409
            self.arrivals.append((time.time(), rid, f"an outcome not taken ({reason[:120]})"))
            kept = self._evidence.pop(rid, None) or deque(maxlen=EVIDENCE_PER_REQUEST)
            kept.append(Evidence(rid, reason, body[:EVIDENCE_BODY_BYTES], len(body), sender, time.time()))
            self._evidence[rid] = kept                      # most recent last
            while len(self._evidence) > EVIDENCE_REQUESTS:
                self._evidence.popitem(last=False)
        return status, (None if status == 204 else f"not taken as the outcome for {rid}: {reason}")

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, text: str | None) -> None:
        data = (text or "").encode("utf-8")
        try:
            handler.send_response(status)
            if data:
                handler.send_header("Content-Type", "text/plain; charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            if data:
                handler.wfile.write(data)
        except OSError:                 # the client went before its answer: nothing to tell it
            handler.close_connection = True

    # --- for the target adapter -----------------------------------------------------------------

    def wait(self, request_id: str, timeout: float) -> bytes | None:
        """The verified outcome for `request_id` (taken: each is handed out once), waiting at most `timeout` s."""
        with self._cond:
            self._cond.wait_for(lambda: request_id in self._outcomes, timeout=max(0.0, timeout))
            body = self._outcomes.pop(request_id, None)
            if body is not None:
                self._pending_bytes -= len(body)
            return body

    def evidence(self, request_id: str) -> list[Evidence]:
        """What came for `request_id` and was not taken as its outcome, oldest first (bounded)."""
        with self._cond:
            return list(self._evidence.get(request_id, ()))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._cond:
            kept = list(self._connections)
        for sock in kept:                   # connections kept alive: their threads end now, not at a timeout
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)


class _BoundedServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a cap on connections served at once (MAX_CONNECTIONS; one beyond it is
    closed unread, noted once per 10 s) and errors noted in one line, never printed as a traceback."""
    daemon_threads = True
    request_queue_size = 128          # the listen backlog: a burst of deliveries is not made to retry its SYNs

    def __init__(self, address, handler, *, receiver: "CallbackReceiver") -> None:
        self.receiver = receiver
        self.active = 0
        self.turned_away = 0
        self._noted_at = 0.0
        self._count_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        with self._count_lock:
            full = self.active >= MAX_CONNECTIONS
            if full:
                self.turned_away += 1
                note = time.monotonic() - self._noted_at >= 10.0
                if note:
                    self._noted_at, count, self.turned_away = time.monotonic(), self.turned_away, 0
            else:
                self.active += 1
        if full:
            if note:
                self.receiver._note(f"closed {count} connection(s) unread: {MAX_CONNECTIONS} connections at once "
                                    f"is the most the receiver serves")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._done()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._done()

    def _done(self) -> None:
        with self._count_lock:
            self.active -= 1

    def handle_error(self, request, client_address) -> None:
        import sys
        exc = sys.exc_info()[1]
        self.receiver._note(f"from {client_address[0]}: the connection ended with {type(exc).__name__}: {exc}")


def _read_exactly(rfile, length: int) -> bytes:
    """Up to `length` bytes (fewer only if the sender closed); never more."""
    parts, left = [], length
    while left > 0:
        chunk = rfile.read1(min(left, 65536))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def server_tls_context(certificate: str, key: str, *, client_ca: str | None = None) -> ssl.SSLContext:
    """The receiver's TLS server context: it presents `certificate` with `key` (PEM); with `client_ca`
    (a PEM CA bundle) every client must present a certificate issued by one of those CAs (mutual TLS).
    Raises OSError (ssl.SSLError) when a file cannot be used."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, key)
    if client_ca is not None:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def _is_ca(der: bytes | None) -> bool:
    """Whether a certificate (DER) says it is a CA's (basicConstraints CA:TRUE), or cannot be read."""
    if not der:
        return False
    from cryptography import x509
    try:
        return x509.load_der_x509_certificate(der).extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False
    except ValueError:
        return True


def _tls_reason(exc: Exception) -> str:
    """'[SSL: PEER_DID_NOT_RETURN_A_CERTIFICATE] peer did not return a certificate', in one short line."""
    if isinstance(exc, TimeoutError):
        return "no complete TLS handshake within the read timeout"
    text = re.sub(r"\s*\(_ssl\.c:\d+\)", "", str(exc))
    return " ".join(text.split())[:200] or type(exc).__name__


def _path_of(url: str) -> str | None:
    from urllib.parse import urlsplit
    return urlsplit(url).path or None
