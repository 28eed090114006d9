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
        self._early: dict[str, bytes] = {}
        """RequestID -> a signed answer that is not its outcome, published as if it were one (only the
        defect acknowledgements-published does that): answered until the outcome replaces it"""
        self._subscribers: dict[str, list[Callable[[str, bytes], None]]] = {}
        self._cond = threading.Condition()

    def subscribe(self, user_id: str, deliver: Callable[[str, bytes], None]) -> None:
        with self._cond:
            self._subscribers.setdefault(user_id, []).append(deliver)

    def publish_early(self, user_id: str, request_id: str, answer: bytes) -> None:
        """Push `answer` (not a final outcome) to `user_id`'s subscribers and answer it to a read of
        `request_id` until its outcome is put (reference/defects.py acknowledgements-published)."""
        with self._cond:
            if request_id not in self._responses:
                self._early[request_id] = answer
            subscribers = list(self._subscribers.get(user_id, ()))
        for deliver in subscribers:
            try:
                deliver(request_id, answer)
            except Exception:
                log.exception("delivering an answer for %s to %s failed", request_id, user_id)

    def put(self, user_id: str, request_id: str, response: bytes) -> None:
        with self._cond:
            self._early.pop(request_id, None)
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
            return self._responses.get(request_id) or self._early.get(request_id)

    def wait(self, request_id: str, timeout: float) -> bytes | None:
        with self._cond:
            self._cond.wait_for(lambda: request_id in self._responses, timeout=timeout)
            return self._responses.get(request_id)

    def reset(self) -> None:
        with self._cond:
            self._responses.clear()
            self._early.clear()
            self._subscribers.clear()
