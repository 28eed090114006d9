"""uvicorn's HTTP/1.1 protocol (h11), hardened against what a stranger can do before any check of
who it is (issue 20). Every rule here is per connection and needs no authentication to trip:

- **head deadline**: uvicorn bounds an idle kept-alive connection (`timeout_keep_alive`) but not a
  request line and headers that never finish (the "slowloris" attack). Here the head of every
  request -- the first on a connection, and each next one after an answer -- must be complete within
  `head_timeout` seconds, or the connection is closed. Data arriving does not extend the deadline. The
  body has its own deadline, in the app (reference/server/app.py, --body-timeout);
- **connection cap**: at most `max_connections` at once. A connection beyond it closes the oldest one
  that is waiting for a request head (idle, or slow to send one), or, if every connection is busy with
  a request, is closed itself. So idle connections, however many, can never hold the file descriptors
  (25,000 of them once did) nor keep out a client that sends its request at once;
- **no tiny body pieces**: a request body that comes in more than `MIN_PIECES` pieces (chunks, or
  reads of a Content-Length body) averaging under `MIN_PIECE_BYTES` bytes is refused (HTTP 400,
  connection closed): parsing one byte per piece cost the server so much that 16 such clients held a
  valid request back 10 s;
- **mutual TLS, end-entity certificates only**: with client certificates required, a client whose
  certificate is a CA's (basicConstraints CA:TRUE; the client CA's own was accepted) is closed at once.
- the TLS handshake itself is bounded by the server (cli.py passes `ssl_handshake_timeout`), and the
  head's size and the request's framing by the app (reference/server/app.py `_HeadChecks`).

This subclasses `uvicorn.protocols.http.h11_impl.H11Protocol` (the protocol `uvicorn.Config(http=
"h11")` names), overriding hooks it documents by name and wrapping its h11 connection's
`next_event`; tests/test_server_robustness.py and tests/test_reference_hardening.py show each rule
holding, so a uvicorn that changes them fails there rather than silently.
"""
from __future__ import annotations

import asyncio
import logging
import time

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 2048
MIN_PIECES = 32
"""body pieces allowed before their average size is checked"""
MIN_PIECE_BYTES = 256
"""the smallest average size of a body's pieces beyond MIN_PIECES of them"""


class _Hardened(H11Protocol):
    head_timeout: float = 10.0
    max_connections: int = MAX_CONNECTIONS
    _head_task: asyncio.TimerHandle | None = None
    _waiting_since: float = 0.0
    _evicted_note = {"count": 0, "logged": 0.0}     # shared: one log line per 10 s, however many

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._pieces = self._piece_bytes = 0
        self._wrap_next_event()
        if self._ca_as_client(transport):
            return
        self._arm()
        if len(self.connections) > self.max_connections:
            self._make_room()

    # --- the connection cap ------------------------------------------------------------------------

    def _make_room(self) -> None:
        waiting = [c for c in self.connections if c is not self and getattr(c, "_head_task", None) is not None
                   and not c.transport.is_closing()]
        victim = min(waiting, key=lambda c: c._waiting_since) if waiting else self
        victim.transport.close()
        note = self._evicted_note
        note["count"] += 1
        now = time.monotonic()
        if now - note["logged"] >= 10.0:
            log.warning("%d connection(s) closed to stay within %d at once (the oldest waiting for a request head "
                        "go first)", note["count"], self.max_connections)
            note["count"], note["logged"] = 0, now

    # --- mutual TLS: end-entity certificates only ------------------------------------------------

    def _ca_as_client(self, transport) -> bool:
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return False
        der = ssl_object.getpeercert(binary_form=True)
        if not der:
            return False
        from cryptography import x509
        try:
            constraints = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(
                x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            return False
        except ValueError:
            constraints = None
        if constraints is None or constraints.ca:
            self.logger.warning("closed a TLS connection from %s: its client certificate is a CA's, not an "
                                "end entity's", (self.client or ("?",))[0])
            transport.close()
            return True
        return False

    # --- body pieces ---------------------------------------------------------------------------

    def _wrap_next_event(self) -> None:
        next_event = self.conn.next_event

        def counted():
            event = next_event()
            if type(event) is h11.Data:
                self._pieces += 1
                self._piece_bytes += len(event.data)
                if self._pieces > MIN_PIECES and self._piece_bytes < self._pieces * MIN_PIECE_BYTES:
                    self._refuse_pieces()
                    return h11.NEED_DATA
            elif isinstance(event, h11.Request):
                self._pieces = self._piece_bytes = 0
            return event
        self.conn.next_event = counted

    def _refuse_pieces(self) -> None:
        self.logger.info("closed a connection from %s: a request body in %d pieces of %d bytes on average",
                         (self.client or ("?",))[0], self._pieces, self._piece_bytes // max(1, self._pieces))
        try:
            self.send_400_response(f"request body in pieces averaging under {MIN_PIECE_BYTES} bytes: send "
                                   "it whole, or in larger chunks")
        except h11.LocalProtocolError:        # an answer had begun: just close
            self.transport.close()

    # --- the head deadline --------------------------------------------------------------------

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:          # a request's head is complete: its cycle has begun
            self._disarm()

    def on_response_complete(self) -> None:
        self._arm()                          # before: a pipelined request started inside disarms it
        super().on_response_complete()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._waiting_since = time.monotonic()
        self._head_task = self.loop.call_later(self.head_timeout, self._head_late)

    def _disarm(self) -> None:
        if self._head_task is not None:
            self._head_task.cancel()
            self._head_task = None

    def _head_late(self) -> None:
        self._head_task = None
        if not self.transport.is_closing():
            self.logger.info("closed a connection whose request head did not arrive within %g s", self.head_timeout)
            self.transport.close()


def with_head_deadline(seconds: float, *, max_connections: int = MAX_CONNECTIONS) -> type[H11Protocol]:
    """The protocol class for `uvicorn.Config(http=...)`, closing connections whose request head
    takes longer than `seconds`, and keeping at most `max_connections` open (see the module's doc)."""
    if not 0 < seconds < float("inf"):
        raise ValueError(f"head deadline: expected a positive number of seconds, got {seconds!r}")
    if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
        raise ValueError(f"max_connections: expected a positive number, got {max_connections!r}")
    return type("HardenedH11Protocol", (_Hardened,), {"head_timeout": float(seconds),
                                                      "max_connections": max_connections})
