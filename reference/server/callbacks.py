"""Pushing final outcomes to the callback URL each user registered (SPEC §5).

The S1SP worker that produced an outcome only hands it over (`CallbackDelivery.deliver` queues and
returns at once); a small pool of delivery threads POSTs it, each attempt bounded by a timeout,
a few attempts with a short pause between, every failure logged. A delivery that never succeeds
loses nothing: the outcome stays readable at GET /api/v1/responses/{RequestID}."""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)


def is_callback_url(url) -> bool:
    """An http:// or https:// URL with a host."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class CallbackDelivery:
    def __init__(self, *, connect_timeout: float = 2.0, read_timeout: float = 5.0, attempts: int = 3,
                 pause: float = 0.5, workers: int = 4) -> None:
        self.attempts = attempts
        self.pause = pause
        self._client = httpx.Client(timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
                                    follow_redirects=False)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="callback")
        self._lock = threading.Lock()
        self._closed = False
        self.stats = {"delivered": 0, "failed": 0}

    def deliver(self, url: str, request_id: str, response_xml: bytes) -> None:
        """Queue one delivery; never blocks the caller on the network."""
        with self._lock:
            if self._closed:
                return
            self._pool.submit(self._post, url, request_id, response_xml)

    def _post(self, url: str, request_id: str, response_xml: bytes) -> None:
        problem = "not attempted"
        for attempt in range(1, self.attempts + 1):
            try:
                answer = self._client.post(url, content=response_xml,
                                           headers={"Content-Type": "application/xml"})
                if 200 <= answer.status_code < 300:
                    self._count("delivered")
                    return
                problem = f"HTTP {answer.status_code}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            except RuntimeError as exc:   # the client was closed while shutting down
                problem = str(exc)
                break
            log.warning("callback for %s to %s, attempt %d of %d: %s", request_id, url, attempt, self.attempts, problem)
            if attempt < self.attempts and not self._closed:
                time.sleep(self.pause * attempt)
        self._count("failed")
        log.error("gave up delivering the outcome of %s to %s (%s); it stays readable at "
                  "GET /api/v1/responses/%s", request_id, url, problem, request_id)

    def _count(self, what: str) -> None:
        with self._lock:
            self.stats[what] += 1

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()
