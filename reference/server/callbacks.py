"""Pushing final outcomes to the callback URL each user registered (SPEC §5).

The S1SP worker that produced an outcome only hands it over (`CallbackDelivery.deliver` queues and
returns at once). The deliveries run on one asyncio loop in a thread of their own, with an
asynchronous HTTP client, so a slow endpoint holds a coroutine, never a thread; and whatever an
endpoint does, it is bounded:

- every attempt has one overall deadline (`deadline`: resolving the host, connecting, sending and the
  answer's status line and headers together), not only a per-read timeout, so an endpoint that answers
  a byte at a time is cut off like a silent one;
- the answer's body is never read: its status says whether the outcome was taken, and the connection
  is closed unread, so an endpoint that answers a gigabyte, or a gzip bomb, costs nothing (the client
  asks for `Accept-Encoding: identity` and decodes nothing);
- each user's deliveries queue on their own (at most `per_user_pending` waiting, at most
  `per_user_in_flight` at once; `concurrency` over all users): one user whose endpoint stalls delays
  its own outcomes only, never another user's;
- a few attempts with a short pause between; every failure is logged; an outcome that is given up, or
  that could not even be queued, is counted (`stats`: delivered, failed, dropped) and logged as lost
  to the push. It loses nothing else: the outcome stays readable at GET /api/v1/responses/{RequestID}.

An https:// callback URL is verified like any HTTPS server: against the system's CAs, or the CA
bundle given (`tls_context`, from `python -m reference serve --callback-ca`, else --tls-client-ca);
when the DCC serves HTTPS itself (--tls-certificate/--tls-key) it presents that certificate as its
client certificate, so a receiver that asks for mutual TLS (SPEC §5) can tell the DCC from anyone.

Every delivery carries the header `LOOP_HEADER` with a value secret to this process: the app refuses
any request that carries it (reference/server/app.py), so a callback URL that leads back to this DCC
by whatever way (its own address, a name, a redirect elsewhere) is answered 403 and does nothing."""
from __future__ import annotations

import asyncio
import logging
import secrets
import ssl
import threading
from collections import deque
from urllib.parse import urlsplit

import httpx

from .auth import Refused

log = logging.getLogger(__name__)

DEADLINE = 10.0
"""seconds for one delivery attempt as a whole"""
CONCURRENCY = 32
"""deliveries in flight at once, over all users"""
PER_USER_IN_FLIGHT = 2
PER_USER_PENDING = 1000
"""a user's outcomes waiting for delivery; beyond it new ones are dropped (and counted, and logged)"""
LOOP_HEADER = "X-MP107-Delivery"
LOOP_TOKEN = secrets.token_urlsafe(24)
"""the value every delivery of this process carries (a request arriving with it is this DCC calling itself)"""


def is_callback_url(url) -> bool:
    """An http:// or https:// URL with a host, and nothing in it that is not printable ASCII (no space,
    tab, line break or other control character: httpx would refuse it at every delivery)."""
    if not isinstance(url, str) or not url.isascii() or any(c <= " " or c == "\x7f" for c in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port                               # raises ValueError for a port that is not one
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class CallbackDelivery:
    def __init__(self, *, connect_timeout: float = 2.0, read_timeout: float = 5.0, attempts: int = 3,
                 pause: float = 0.5, deadline: float = DEADLINE, concurrency: int = CONCURRENCY,
                 per_user_in_flight: int = PER_USER_IN_FLIGHT, per_user_pending: int = PER_USER_PENDING,
                 tls_context: ssl.SSLContext | None = None) -> None:
        """`tls_context`: how https:// callback URLs are verified, and the client certificate presented
        to them (`client_tls_context`); None: the system's CAs, no client certificate."""
        self.attempts = attempts
        self.pause = pause
        self.deadline = deadline
        self.concurrency = concurrency
        self.per_user_in_flight = per_user_in_flight
        self.per_user_pending = per_user_pending
        self._timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self._verify = tls_context or True
        self._lock = threading.Lock()
        self._closed = False
        self.stats = {"delivered": 0, "failed": 0, "dropped": 0}
        self.pin = None
        """Where each attempt connects (auth.CallbackURLs.pinned, set by the app under Target Interface
        v1.1): the URL is re-checked against the operator's policy at every attempt and the
        connection goes to the address checked; a URL that is no longer allowed is not POSTed to."""
        self._queues: dict[str, deque] = {}
        self._in_flight: dict[str, int] = {}
        self._tasks: set[asyncio.Task] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="callback-delivery", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    # --- the caller's side (any thread) --------------------------------------------------------

    def deliver(self, url: str, request_id: str, response_xml: bytes, user_id: str | None = None) -> None:
        """Queue one delivery (for `user_id`'s queue; None: the URL's host's); never blocks the caller."""
        with self._lock:
            closed = self._closed
        if closed:
            self._lost("dropped", url, request_id, "the DCC is shutting down")
            return
        key = user_id or (urlsplit(url).hostname or url)
        try:
            self._loop.call_soon_threadsafe(self._enqueue, key, url, request_id, response_xml)
        except RuntimeError:            # the loop has stopped meanwhile
            self._lost("dropped", url, request_id, "the DCC is shutting down")

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            future.result(timeout=5)
        except Exception:                # noqa: BLE001 - closing: nothing more to do than stop
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    # --- the loop's side -------------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False, verify=self._verify,
                                         headers={"Accept-Encoding": "identity"})
        self._slots = asyncio.Semaphore(self.concurrency)
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def _enqueue(self, key: str, url: str, request_id: str, response_xml: bytes) -> None:
        queue = self._queues.setdefault(key, deque())
        if len(queue) >= self.per_user_pending:
            self._lost("dropped", url, request_id, f"{len(queue)} outcomes for {key} already wait to be delivered")
            return
        queue.append((url, request_id, response_xml))
        if self._in_flight.get(key, 0) < self.per_user_in_flight:
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            task = self._loop.create_task(self._drain(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self, key: str) -> None:
        try:
            queue = self._queues[key]
            while queue and not self._closed:
                url, request_id, response_xml = queue.popleft()
                async with self._slots:
                    await self._post(url, request_id, response_xml)
        finally:
            self._in_flight[key] -= 1
            if not self._in_flight[key]:
                del self._in_flight[key]
                if not self._queues.get(key):
                    self._queues.pop(key, None)

    async def _post(self, url: str, request_id: str, response_xml: bytes) -> None:
        problem = "not attempted"
        for attempt in range(1, self.attempts + 1):
            try:
                async with asyncio.timeout(self.deadline):
                    status = await self._attempt(url, response_xml)
                if 200 <= status < 300:
                    self._count("delivered")
                    return
                problem = f"HTTP {status}"
            except TimeoutError:
                problem = f"no complete answer within {self.deadline:g} s (cut off)"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {_one_line(exc)}"
            except Refused as exc:         # the URL is no longer one the DCC may POST to
                problem = f"refused at delivery: {exc.reason}"
                break
            except asyncio.CancelledError:
                problem = "the DCC shut down"
                self._lost("failed", url, request_id, problem)
                raise
            except Exception as exc:       # noqa: BLE001 - e.g. a URL httpx cannot use: counted, never silent
                problem = f"{type(exc).__name__}: {_one_line(exc)}"
                break
            log.warning("callback for %s to %s, attempt %d of %d: %s", request_id, _shown(url), attempt,
                        self.attempts, problem)
            if attempt < self.attempts and not self._closed:
                await asyncio.sleep(self.pause * attempt)
        self._lost("failed", url, request_id, problem)

    async def _attempt(self, url: str, response_xml: bytes) -> int:
        """One POST; its status. The answer's body is never read (nor decoded): the connection closes."""
        target, headers, extensions = url, {}, {}
        if self.pin is not None:
            pinned = await asyncio.to_thread(self.pin, url)      # resolves the host: off the loop
            target, headers, extensions = pinned.url, pinned.headers, pinned.extensions
        request = self._client.build_request("POST", target, content=response_xml, extensions=extensions,
                                             headers={**headers, "Content-Type": "application/xml",
                                                      LOOP_HEADER: LOOP_TOKEN})
        answer = await self._client.send(request, stream=True)
        try:
            return answer.status_code
        finally:
            await answer.aclose()

    async def _shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=3)
        left = sum(len(q) for q in self._queues.values())
        if left:
            with self._lock:
                self.stats["dropped"] += left
            log.error("%d outcome(s) not pushed: the DCC shut down first; they stay readable at "
                      "GET /api/v1/responses/{RequestID} while it runs", left)
        self._queues.clear()
        await self._client.aclose()

    # --- counting ------------------------------------------------------------------------------

    def _count(self, what: str) -> None:
        with self._lock:
            self.stats[what] += 1

    def _lost(self, what: str, url: str, request_id: str, problem: str) -> None:
        self._count(what)
        log.error("gave up delivering the outcome of %s to %s (%s); it stays readable at "
                  "GET /api/v1/responses/%s", request_id, _shown(url), problem, request_id)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _shown(url: str) -> str:
    """A URL for the log: printable, on one line, bounded (it came from a user)."""
    return repr(url[:200]) if not is_callback_url(url) else url[:200]


def client_tls_context(ca_bundle: str | None = None, certificate: str | None = None,
                       key: str | None = None) -> ssl.SSLContext:
    """A TLS client context for delivering outcomes: trusting `ca_bundle` (PEM; None: the system's
    CAs), and presenting `certificate` with `key` (both or neither) when the receiver asks for one.
    Raises OSError or ssl.SSLError when a file cannot be used."""
    context = ssl.create_default_context(cafile=ca_bundle)
    if certificate is not None:
        context.load_cert_chain(certificate, key)
    return context
