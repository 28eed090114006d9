"""Where final outcomes go: kept by RequestID (GET /api/v1/responses/{RequestID}) and pushed to
whoever the user registered (a callback URL over HTTP, a function in-process)."""
from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self) -> None:
        self._responses: dict[str, bytes] = {}
        self._subscribers: dict[str, list[Callable[[str, bytes], None]]] = {}
        self._cond = threading.Condition()

    def subscribe(self, user_id: str, deliver: Callable[[str, bytes], None]) -> None:
        with self._cond:
            self._subscribers.setdefault(user_id, []).append(deliver)

    def put(self, user_id: str, request_id: str, response: bytes) -> None:
        with self._cond:
            self._responses[request_id] = response
            subscribers = list(self._subscribers.get(user_id, ()))
            self._cond.notify_all()
        for deliver in subscribers:
            try:
                deliver(request_id, response)
            except Exception:  # a subscriber's failure must not lose the outcome: it stays readable
                log.exception("delivering the outcome of %s to %s failed", request_id, user_id)

    def get(self, request_id: str) -> bytes | None:
        with self._cond:
            return self._responses.get(request_id)

    def wait(self, request_id: str, timeout: float) -> bytes | None:
        with self._cond:
            self._cond.wait_for(lambda: request_id in self._responses, timeout=timeout)
            return self._responses.get(request_id)

    def reset(self) -> None:
        with self._cond:
            self._responses.clear()
            self._subscribers.clear()
