"""uvicorn's HTTP/1.1 protocol (h11) with a deadline for each request's head.

uvicorn bounds an idle kept-alive connection (`timeout_keep_alive`) but not a request line and
headers that never finish: a client that connects and sends nothing, or half a header, or drips
one header line a second, holds its connection for ever (the "slowloris" attack), and enough of
them exhaust the server. Here the head of every request -- the first on a connection, and each
next one after an answer -- must be complete within `head_timeout` seconds, or the connection is
closed. Data arriving does not extend the deadline. The body has its own deadline, in the app
(reference/server/app.py, --body-timeout).

This subclasses `uvicorn.protocols.http.h11_impl.H11Protocol` (the protocol `uvicorn.Config(http=
"h11")` names), overriding four hooks it documents by name; tests/test_server_robustness.py shows
the deadline holding, so a uvicorn that changes them fails there rather than silently.
"""
from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol


class _HeadDeadline(H11Protocol):
    head_timeout: float = 10.0
    _head_task: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

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


def with_head_deadline(seconds: float) -> type[H11Protocol]:
    """The protocol class for `uvicorn.Config(http=...)`, closing connections whose request head
    takes longer than `seconds`."""
    if not 0 < seconds < float("inf"):
        raise ValueError(f"head deadline: expected a positive number of seconds, got {seconds!r}")
    return type("HeadDeadlineH11Protocol", (_HeadDeadline,), {"head_timeout": float(seconds)})
