"""Pushing final outcomes to the callback URL each user registered (SPEC §5).

The S1SP worker that produced an outcome only hands it over (`CallbackDelivery.deliver` queues and
returns at once); a small pool of delivery threads POSTs it, each attempt bounded by a timeout,
a few attempts with a short pause between, every failure logged. A delivery that never succeeds
loses nothing: the outcome stays readable at GET /api/v1/responses/{RequestID}.

An https:// callback URL is verified like any HTTPS server: against the system's CAs, or the CA
bundle given (`tls_context`, from `python -m reference serve --callback-ca`, else --tls-client-ca);
when the DCC serves HTTPS itself (--tls-certificate/--tls-key) it presents that certificate as its
client certificate, so a receiver that asks for mutual TLS (SPEC §5) can tell the DCC from anyone."""
from __future__ import annotations

import logging
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx

from .auth import Refused

log = logging.getLogger(__name__)


def is_callback_url(url) -> bool:
    """An http:// or https:// URL with a host."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class CallbackDelivery:
    def __init__(self, *, connect_timeout: float = 2.0, read_timeout: float = 5.0, attempts: int = 3,
                 pause: float = 0.5, workers: int = 4, tls_context: ssl.SSLContext | None = None) -> None:
        """`tls_context`: how https:// callback URLs are verified, and the client certificate presented
        to them (`client_tls_context`); None: the system's CAs, no client certificate."""
        self.attempts = attempts
        self.pause = pause
        self._client = httpx.Client(timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
                                    follow_redirects=False, verify=tls_context or True)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="callback")
        self._lock = threading.Lock()
        self._closed = False
        self.stats = {"delivered": 0, "failed": 0}
        self.pin = None
        """Where each attempt connects (auth.CallbackURLs.pinned, set by the app under Target Interface
        v1.1): the URL is re-checked against the operator's policy at every attempt and the
        connection goes to the address checked; a URL that is no longer allowed is not POSTed to."""

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
                target, headers, extensions = url, {}, {}
                if self.pin is not None:
                    pinned = self.pin(url)
                    target, headers, extensions = pinned.url, pinned.headers, pinned.extensions
                answer = self._client.post(target, content=response_xml, extensions=extensions,
                                           headers={**headers, "Content-Type": "application/xml"})
                if 200 <= answer.status_code < 300:
                    self._count("delivered")
                    return
                problem = f"HTTP {answer.status_code}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            except RuntimeError as exc:   # the client was closed while shutting down
                problem = str(exc)
                break
            except Refused as exc:         # the URL is no longer one the DCC may POST to
                problem = f"refused at delivery: {exc.reason}"
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


def client_tls_context(ca_bundle: str | None = None, certificate: str | None = None,
                       key: str | None = None) -> ssl.SSLContext:
    """A TLS client context for delivering outcomes: trusting `ca_bundle` (PEM; None: the system's
    CAs), and presenting `certificate` with `key` (both or neither) when the receiver asks for one.
    Raises OSError or ssl.SSLError when a file cannot be used."""
    context = ssl.create_default_context(cafile=ca_bundle)
    if certificate is not None:
        context.load_cert_chain(certificate, key)
    return context
