"""The reference DCC over HTTP: SPEC §5, Target Interface v1, as a Starlette app.

With `dialect="dcc"` (`python -m reference serve --interface dcc`) the DCC's own interface takes the
place of serviceRequest: POST /api/v1/serviceT, /serviceS, /serviceD (reference/server/dcc_interface.py).

Always served (serviceRequest only in the v1 dialect):

    POST   /api/v1/serviceRequest            body: a signed DUIS Request. Answer: the DSP's signed
                                             Response (application/xml), HTTP 200 with I99 or an
                                             E code; HTTP 400 with a signed refusal for input that
                                             cannot be read as a DUIS Request. A body beyond
                                             `max_request_bytes`: HTTP 400 with a signed refusal
                                             (oversize="400"), or HTTP 413 with no body
                                             (oversize="413-empty").
    GET    /api/v1/responses/{RequestID}     the final outcome (signed Response) once it exists;
                                             404 (JSON) until then.
    PUT    /api/v1/users/{UserID}/callback   {"url": "http://..."}: POST this user's final outcomes
    GET    /api/v1/users/{UserID}/callback   there (body: the signed Response, application/xml).
    DELETE /api/v1/users/{UserID}/callback   The user must be known. Cleared by a test-support reset.
                                             With callbacks="501": HTTP 501, no body, for all three
                                             (outcomes are then only polled).

Target Interface v1.1 (`interface=auth.Policy(...)`; `python -m reference serve` always sets it):
the four calls above other than serviceRequest need an HTTP Message Signature (RFC 9421) by the
caller's XML-signing key, keyid = its User ID (reference/server/auth.py); missing, invalid, stale
or from an unknown user: HTTP 401 (JSON {"error"}). A user may register, read and delete only its
own callback and read only the outcomes of its own requests (the RequestID's Business Originator):
else HTTP 403. A callback URL must be http(s) to a public address unless the operator allowed the
host (`--callback-allow`): else HTTP 400. Without `interface` (create_app's default) the calls are
Target Interface v1: unauthenticated, any http(s) callback URL.

Only when created with `test_support=True`, under /test-support/v1 (JSON in and out; shapes in
`test_support.py`; a wrong body is HTTP 400 with {"error", "field", "expected", "body"}):

    POST /load                 users, trust anchors, devices, registrations, anchor slots in one body
    POST /users, /trust-anchors, /devices, /registrations, /anchor-slots, /no-certificates
                               one object or a list of them
    POST /s1sps/{S1SP}/datafix {"dry_run": false}: run the Requirement 2 data fix on that S1SP's
                               database; answers {"report": {...}, "fixed": [device IDs changed]}
    PUT  /switch               {"on": true|false}             the DSP feature switch
    PUT  /s1sps/{S1SP}/implemented  {"implemented": true|false}
    GET  /state                switch, implemented flags, cohorts, broken rules, active defects
                               (reference/defects.py), callbacks, delivery counts
    POST /reset                back to the start state (the --load data, the start switch and flags)
    GET  /dsp-certificate      the DSP's response-signing certificate (PEM)
    GET  /s1sps/{S1SP}/certificate   that S1SP's signing certificate (PEM)

With `test_support_token`, every /test-support/v1 call needs the header `Authorization: Bearer <token>`:
HTTP 401 (JSON {"error"}) otherwise, the token compared in constant time. (`python -m reference serve`
refuses to serve test support on a non-loopback address without one.)

Every request's body must have arrived `body_timeout` seconds (default 10) after the request began:
else HTTP 408 with no body and `Connection: close` (the connection is closed if an answer had begun),
so a body that trickles or never comes holds nothing for long (MP107-R4.2: never a hang).
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import threading
from datetime import datetime, timezone

from cryptography.hazmat.primitives import serialization
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from duis import codec
from duis.errors import DuisValueError
from duis.types import EUI64, RequestID

from .. import codes
from . import auth
from . import test_support as ts
from .callbacks import LOOP_HEADER, LOOP_TOKEN, CallbackDelivery, is_callback_url
from .dcc_interface import DIALECTS, routes as dcc_routes

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 8 * 1024 * 1024
"""Default limit (create_app's `max_request_bytes`) for bodies of POST /api/v1/serviceRequest: beyond
it they are refused unread (the DSP's own XML limit is lower, so anything up to here gets the DSP's
own answer)."""
MAX_JSON_BYTES = 16 * 1024 * 1024
BODY_TIMEOUT = 10.0
"""Default seconds (create_app's `body_timeout`, serve --body-timeout) for a request's whole body to arrive."""
MAX_HEAD_BYTES = 32 * 1024
"""the largest request head (request line and header fields), however it was read (_HeadChecks)"""
MAX_JSON_DEPTH = 32
"""the deepest nesting of a JSON body (test support, callback registration): deeper is HTTP 400"""
MAX_INTERFACE_BYTES = 64 * 1024
"""v1.1: the largest body of a signed callback or responses call (read before the signature is checked)"""
XML = "application/xml"
OVERSIZE_ANSWERS = ("400", "413-empty")
CALLBACK_MODES = ("registration", "501")


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _TooLarge(int(declared))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge(size)
        chunks.append(chunk)
    return b"".join(chunks)


def _bounded_json(raw: bytes, shape: str):
    """A JSON body, nested at most MAX_JSON_DEPTH deep; ts.BadInput (HTTP 400) otherwise. Deeper
    nesting made json, or the error message's repr of it, recurse until a RecursionError (HTTP 500)."""
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else " ".join(str(exc).split())[:120]
        raise ts.BadInput("body", f"JSON {ts.SHAPES[shape]}", f"unreadable JSON ({why})", shape=shape) from None
    level = [value]
    for depth in range(MAX_JSON_DEPTH + 1):
        level = [child for item in level if isinstance(item, (list, dict))
                 for child in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return value
    raise ts.BadInput("body", f"JSON {ts.SHAPES[shape]}, nested at most {MAX_JSON_DEPTH} deep",
                      f"JSON nested deeper than {MAX_JSON_DEPTH}", shape=shape)


def _pem(cert) -> Response:
    return Response(cert.public_bytes(serialization.Encoding.PEM), media_type="application/x-pem-file")


class _BodyTimeout(Exception):
    pass


class _BodyDeadline:
    """ASGI middleware: a request's whole body must arrive within `seconds` of the request's start (not
    per read: a body that trickles in a byte at a time is cut off too). When the deadline passes while the
    app waits for body, the app is stopped and the client gets HTTP 408 with `Connection: close`, or, if
    an answer has begun, the connection is closed. Once the body is in, nothing is timed."""

    def __init__(self, app, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        body_done = False
        answered = False

        async def receive_in_time():
            nonlocal body_done
            if body_done:
                return await receive()
            if loop.time() >= deadline:
                raise _BodyTimeout()
            try:
                # a timer on this task, not a task per read as asyncio.wait_for makes: the same deadline
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _BodyTimeout() from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def send_noting(message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        try:
            await self.app(scope, receive_in_time, send_noting)
        except _BodyTimeout:
            log.info("%s %s: the request body did not arrive within %g s", scope.get("method"), scope.get("path"),
                     self.seconds)
            if not answered:
                await send({"type": "http.response.start", "status": 408,
                            "headers": [(b"content-length", b"0"), (b"connection", b"close")]})
                await send({"type": "http.response.body", "body": b""})


class _HeadChecks:
    """ASGI middleware, outermost: what the request's head alone decides, before anything reads it.

    - one size limit for the head (MAX_HEAD_BYTES: request line and header fields, counted as they
      are written on the wire), whatever the chunks it arrived in: h11 refuses a head still incomplete
      at twice the limit (cli.py), this refuses a complete one over it, so a head passes or not by its
      size alone (a 100 KB head in one read passed while 200 KB in pieces was refused). HTTP 431;
    - Content-Length together with Transfer-Encoding (RFC 9112 §6.1: a request smuggling attempt or a
      broken client): HTTP 400, and the connection is closed, never read on.
    Both answers close the connection."""

    def __init__(self, app, max_head: int = MAX_HEAD_BYTES) -> None:
        self.app = app
        self.max_head = max_head

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            problem = self._problem(scope)
            if problem is not None:
                status, reason = problem
                log.info("%s %s: HTTP %d: %s", scope.get("method"), str(scope.get("path"))[:100], status, reason)
                await JSONResponse({"error": reason}, status_code=status,
                                   headers={"Connection": "close"})(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _problem(self, scope) -> tuple[int, str] | None:
        headers = scope.get("headers", ())
        query = scope.get("query_string", b"")
        size = (len(scope.get("method", "")) + 1 + len(scope.get("raw_path") or b"") + (1 + len(query) if query else 0)
                + len(" HTTP/1.1\r\n") + sum(len(n) + 2 + len(v) + 2 for n, v in headers) + 2)
        if size > self.max_head:
            return 431, f"the request head is {size} bytes; at most {self.max_head} are read"
        names = {n.lower() for n, _ in headers}
        if b"content-length" in names and b"transfer-encoding" in names:
            return 400, "Content-Length together with Transfer-Encoding: refused, and the connection closed"
        return None


class _NoLoop:
    """ASGI middleware: a request carrying this process's own delivery token (callbacks.LOOP_HEADER) is
    one of its own callback deliveries come back to it, by whatever way: HTTP 403, and nothing done."""

    def __init__(self, app) -> None:
        self.app = app
        self._name = LOOP_HEADER.lower().encode()
        self._token = LOOP_TOKEN.encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and any(name == self._name and hmac.compare_digest(value, self._token)
                                           for name, value in scope.get("headers", ())):
            log.warning("%s %s: refused one of this DCC's own callback deliveries (a callback URL leads back to it)",
                        scope.get("method"), scope.get("path"))
            await JSONResponse({"error": "a callback delivery of this DCC came back to it: refused"},
                               status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _points_at_itself(url: str, scope) -> bool:
    """Whether `url` names the address and port this request reached (the DCC itself): its port is the
    server's, and its host is that address, a loopback or unspecified one, or a name resolving to one."""
    import ipaddress
    import socket
    from urllib.parse import urlsplit
    server = scope.get("server") or (None, None)
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    if server[1] is None or port != server[1]:
        return False
    host = (parts.hostname or "").lower()
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            addresses = {ipaddress.ip_address(info[4][0].split("%", 1)[0])
                         for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
        except (OSError, UnicodeError, ValueError):
            return False
    own = {str(server[0])}
    return any(a.is_loopback or a.is_unspecified or str(a) in own for a in addresses)


class _LoopbackOnly:
    """ASGI middleware (the test-support mount's when it has no token, which `serve` allows on loopback
    only): a web page in a browser on the same machine must not be able to drive it. So a call is
    refused (HTTP 403) that carries an `Origin` header (every cross-site request from a page does), or
    whose `Host` is not a loopback address literal (127.0.0.1:PORT, [::1]:PORT: a page on a name that
    rebinds to 127.0.0.1 sends its own name); and a body must be `application/json` (HTTP 415): a page
    can send text/plain or a form without asking, never JSON."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            problem = _not_from_this_machine(scope)
            if problem is not None:
                status, reason = problem
                log.warning("test support: refused %s %s: %s", scope.get("method"), scope.get("path"), reason)
                await JSONResponse({"error": reason}, status_code=status)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _not_from_this_machine(scope) -> tuple[int, str] | None:
    import ipaddress
    headers = {}
    for name, value in scope.get("headers", ()):
        headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    if "origin" in headers:
        return 403, "test support without a token refuses calls that carry an Origin header (a web page's)"
    hosts = headers.get("host", [])
    host = hosts[0].strip() if len(hosts) == 1 else ""
    name = host[1:host.find("]")] if host.startswith("[") and "]" in host else host.rsplit(":", 1)[0]
    try:
        loopback = ipaddress.ip_address(name).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        return 403, (f"test support without a token takes calls addressed to a loopback address only (Host "
                     f"127.0.0.1:PORT or [::1]:PORT), got Host {host[:80]!r}")
    length = headers.get("content-length", ["0"])
    has_body = "transfer-encoding" in headers or any(v.strip() not in ("", "0") for v in length)
    content_type = (headers.get("content-type", [""])[0].split(";")[0].strip().lower())
    if (has_body or content_type) and content_type != "application/json":
        return 415, f"test support takes application/json only, got Content-Type {content_type[:80]!r}"
    return None


class _BearerToken:
    """ASGI middleware (the test-support mount's): every call needs `Authorization: Bearer <token>`,
    compared in constant time (digests of equal length); else HTTP 401."""

    def __init__(self, app, token: str) -> None:
        self.app = app
        self._digest = hashlib.sha256(token.encode()).digest()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and not self._authorised(scope):
            answer = JSONResponse({"error": "test support needs the header 'Authorization: Bearer <token>' with the "
                                            "token this reference was started with"},
                                  status_code=401, headers={"WWW-Authenticate": 'Bearer realm="mp107-test-support"'})
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authorised(self, scope) -> bool:
        given = b""
        for name, value in scope.get("headers", ()):
            if name.lower() == b"authorization":
                scheme, _, credentials = value.strip().partition(b" ")
                if scheme.lower() == b"bearer":
                    given = credentials.strip()
                break
        return hmac.compare_digest(hashlib.sha256(given).digest(), self._digest)


class _Service:
    """The app's state: the DCC, the users' callback URLs, and the start state a reset returns to."""

    def __init__(self, dcc, *, test_support: bool, load: dict | None, delivery: CallbackDelivery,
                 max_request_bytes: int = MAX_REQUEST_BYTES, oversize: str = "400",
                 callbacks: str = "registration", datafix_at_start: bool = False,
                 interface: auth.Policy | None = None) -> None:
        if oversize not in OVERSIZE_ANSWERS:
            raise ValueError(f"oversize: expected one of {list(OVERSIZE_ANSWERS)}, got {oversize!r}")
        if callbacks not in CALLBACK_MODES:
            raise ValueError(f"callbacks: expected one of {list(CALLBACK_MODES)}, got {callbacks!r}")
        if isinstance(max_request_bytes, bool) or not isinstance(max_request_bytes, int) or max_request_bytes < 1:
            raise ValueError(f"max_request_bytes: expected a positive number of bytes, got {max_request_bytes!r}")
        self.dcc = dcc
        self.test_support = test_support
        self.delivery = delivery
        self.load_body = load
        self.max_request_bytes = max_request_bytes
        self.oversize = oversize
        self.callback_mode = callbacks
        self.datafix_at_start = datafix_at_start
        self.datafix_results: dict[str, tuple] = {}
        """S1SP -> (report, IDs of the devices fixed) of the data fix run at start (or after the last reset)."""
        self.start_switch = dcc.config.mp107_switch
        self.start_implemented = dict(dcc.config.s1sp_implemented)
        self.callbacks: dict[str, str] = {}
        self.authenticator = auth.Authenticator(dcc.users, interface) if interface is not None else None
        self.callback_urls = auth.CallbackURLs(interface.callback_allow) if interface is not None else None
        if self.callback_urls is not None and hasattr(delivery, "pin"):
            delivery.pin = self.callback_urls.pinned    # re-checked, and pinned, at every delivery
        self._subscribed: set[str] = set()
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        """The start state's data: the --load body, then (as the DCC's operator would have) the data fix."""
        if self.load_body is not None:
            self._apply(ts.read_batch(self.load_body, self.dcc.config.cohorts, "--load"), "--load")
        if self.datafix_at_start:
            self.datafix_results = {name: self.dcc.run_datafix(name) for name in self.dcc.s1sps}

    # --- Target Interface v1 ------------------------------------------------------------------

    async def service_request(self, request: Request, handle=None) -> Response:
        """POST /api/v1/serviceRequest; with `handle` (bytes -> dsp.Verdict) the DCC interface's
        endpoints (dcc_interface.py) read their bodies the same way."""
        try:
            body = await _read_body(request, self.max_request_bytes)
        except _TooLarge as exc:
            if self.oversize == "413-empty":
                return Response(status_code=413)
            return Response(self._refusal(f"the request body ({exc.args[0]} bytes) exceeds {self.max_request_bytes} "
                                          "bytes"), status_code=400, media_type=XML)
        verdict = await run_in_threadpool(handle or self.dcc.handle_service_request, body)
        return Response(verdict.response, status_code=verdict.http_status, media_type=XML)

    def _refusal(self, reason: str) -> bytes:
        return self.dcc.sign_response(codec.encode_refusal(codes.E1, reason, datetime.now(timezone.utc)))

    async def _caller(self, request: Request) -> tuple[str, bytes]:
        """v1.1: the verified User ID of the caller and the body it sent (auth.Refused if none)."""
        try:
            body = await _read_body(request, MAX_INTERFACE_BYTES)
        except _TooLarge as exc:
            raise auth.Refused(413, f"the body ({exc.args[0]} bytes) exceeds {MAX_INTERFACE_BYTES} bytes") from None
        url = auth.request_url(request.scope, request.headers)
        return self.authenticator.authenticate(request.method, url, request.headers.items(), body), body

    async def response(self, request: Request) -> Response:
        request_id = request.path_params["request_id"]
        if self.authenticator is not None:
            caller, _ = await self._caller(request)
            try:
                originator = str(RequestID.parse(request_id).originator)
            except DuisValueError:
                raise auth.Refused(400, f"{request_id!r} is not a RequestID "
                                        "(BusinessOriginatorID:BusinessTargetID:OriginatorCounter)") from None
            if originator != caller:
                raise auth.Refused(403, f"a user may read only the outcomes of its own requests: RequestID "
                                        f"{request_id} was sent by {originator}, the signature is {caller}'s")
        xml = self.dcc.response(request_id)
        if xml is None:
            return JSONResponse({"error": f"no final outcome for RequestID {request_id} (yet)"}, status_code=404)
        return Response(xml, media_type=XML)

    async def callback(self, request: Request) -> Response:
        if self.callback_mode == "501":      # a DCC without callback registration: outcomes are polled
            return Response(status_code=501)
        caller, signed_body = (await self._caller(request)) if self.authenticator is not None else (None, None)
        try:
            user_id = str(EUI64.parse(request.path_params["user_id"]))
        except DuisValueError:
            raise ts.BadInput("path UserID", "an EUI-64 like '90-B3-D5-1F-30-01-00-03'",
                              request.path_params["user_id"]) from None
        if caller is not None and caller != user_id:
            raise auth.Refused(403, f"a user may register, read and delete only its own callback: the path names "
                                    f"{user_id}, the signature is {caller}'s")
        if self.dcc.users.get(user_id) is None:
            return JSONResponse({"error": f"unknown User ID {user_id}: the DCC must know the user first"},
                                status_code=404)
        if request.method == "GET":
            url = self.callbacks.get(user_id)
            if url is None:
                return JSONResponse({"error": f"no callback URL registered for {user_id}"}, status_code=404)
            return JSONResponse({"user_id": user_id, "url": url})
        if request.method == "DELETE":
            self.callbacks.pop(user_id, None)
            return Response(status_code=204)
        if signed_body is None:
            body = await self._json(request, "callback")
        else:                                # v1.1: the body was read (and its digest checked) already
            body = _bounded_json(signed_body, "callback")
        body = ts.read_object(body, "body", {"url": True}, "callback")
        if not is_callback_url(body["url"]):
            raise ts.BadInput("body.url", "an http:// or https:// URL with a host, in printable ASCII without white "
                                          "space or control characters", body["url"], shape="callback")
        if self.callback_urls is not None:
            await run_in_threadpool(self.callback_urls.check, body["url"])     # resolves the host
        if await run_in_threadpool(_points_at_itself, body["url"], request.scope):
            raise auth.Refused(400, f"callback URL {body['url']!r} leads back to the DCC itself (its own address "
                                    "and port): outcomes are pushed to the user's own endpoint, never into the DCC")
        self._register(user_id, body["url"])
        return JSONResponse({"user_id": user_id, "url": body["url"]})

    def _register(self, user_id: str, url: str) -> None:
        with self._lock:
            self.callbacks[user_id] = url
            new = user_id not in self._subscribed
            self._subscribed.add(user_id)
        if new:
            self.dcc.subscribe(user_id, functools.partial(self._push, user_id))

    def _push(self, user_id: str, request_id: str, response_xml: bytes) -> None:
        """Called by the S1SP worker with a final outcome: queue it, never wait for the network."""
        url = self.callbacks.get(user_id)
        if url:
            self.delivery.deliver(url, request_id, response_xml, user_id)

    # --- test support -------------------------------------------------------------------------

    async def _json(self, request: Request, shape: str):
        try:
            raw = await _read_body(request, MAX_JSON_BYTES)
        except _TooLarge as exc:
            raise ts.BadInput("body", f"at most {MAX_JSON_BYTES} bytes of JSON", f"{exc.args[0]} bytes") from None
        return _bounded_json(raw, shape)

    def _apply(self, batch: ts.Batch, where: str) -> dict:
        try:
            return ts.apply(self.dcc, batch, where)
        except ts.BadInput:
            raise
        except (ValueError, KeyError) as exc:   # e.g. a cohort no S1SP serves
            raise ts.BadInput(where, "data the reference can hold", str(exc)) from None

    def loader(self, kind: str):
        """POST /users, /trust-anchors, ...: one object or a list of them."""
        async def load(request: Request) -> Response:
            body = await self._json(request, kind)
            cohorts = self.dcc.config.cohorts
            batch = ts.Batch()
            for i, item in enumerate(ts.one_or_many(body)):
                where = f"body[{i}]" if isinstance(body, list) else "body"
                if kind == "user":
                    batch.users.append(ts.read_user(item, where))
                elif kind == "trust_anchor":
                    batch.trust_anchors.append(ts.read_trust_anchor(item, where))
                elif kind == "device":
                    batch.devices.append(ts.read_device(item, where, cohorts))
                elif kind == "registration":
                    batch.registrations.append(ts.read_registration(item, where))
                elif kind == "no_certificate":
                    batch.no_certificates.append(ts.read_no_certificate(item, where))
                else:
                    batch.slots.append(ts.read_anchor_slot(item, where))
            return JSONResponse({"loaded": await run_in_threadpool(self._apply, batch, "body")})
        return load

    async def load(self, request: Request) -> Response:
        body = await self._json(request, "load")
        batch = ts.read_batch(body, self.dcc.config.cohorts, "body")
        return JSONResponse({"loaded": await run_in_threadpool(self._apply, batch, "body")})

    async def switch(self, request: Request) -> Response:
        body = ts.read_object(await self._json(request, "switch"), "body", {"on": True}, "switch")
        self.dcc.set_switch(ts.boolean(body["on"], "body.on"))
        return JSONResponse(self.state())

    async def implemented(self, request: Request) -> Response:
        name = request.path_params["s1sp"]
        if name not in self.dcc.s1sps:
            raise ts.BadInput("path S1SP", f"one of {sorted(self.dcc.s1sps)}", name)
        body = ts.read_object(await self._json(request, "implemented"), "body", {"implemented": True}, "implemented")
        self.dcc.set_s1sp_implemented(name, ts.boolean(body["implemented"], "body.implemented"))
        return JSONResponse(self.state())

    def state(self) -> dict:
        return {**self.dcc.state(), "test_support": self.test_support, "callbacks": dict(self.callbacks),
                "deliveries": dict(self.delivery.stats)}

    async def get_state(self, request: Request) -> Response:
        return JSONResponse(self.state())

    async def reset(self, request: Request) -> Response:
        await run_in_threadpool(self._reset)
        return JSONResponse(self.state())

    def _reset(self) -> None:
        with self._lock:
            self.callbacks.clear()
            self._subscribed.clear()      # the outbox forgets its subscribers on reset
        self.dcc.reset()
        self.dcc.set_switch(self.start_switch)
        for name, implemented in self.start_implemented.items():
            self.dcc.set_s1sp_implemented(name, implemented)
        self._start()

    async def datafix(self, request: Request) -> Response:
        name = request.path_params["s1sp"]
        if name not in self.dcc.s1sps:
            raise ts.BadInput("path S1SP", f"one of {sorted(self.dcc.s1sps)}", name)
        body = ts.read_object(await self._json(request, "datafix"), "body", {"dry_run": False}, "datafix")
        dry_run = ts.boolean(body.get("dry_run", False), "body.dry_run")
        report, fixed = await run_in_threadpool(lambda: self.dcc.run_datafix(name, dry_run=dry_run))
        return JSONResponse({"report": report.to_dict(), "fixed": sorted(fixed)})

    async def dsp_certificate(self, request: Request) -> Response:
        return _pem(self.dcc.dsp_certificate)

    async def s1sp_certificate(self, request: Request) -> Response:
        name = request.path_params["s1sp"]
        if name not in self.dcc.s1sps:
            raise ts.BadInput("path S1SP", f"one of {sorted(self.dcc.s1sps)}", name)
        return _pem(self.dcc.s1sp_certificate(name))


async def _gone(request: Request, exc: ClientDisconnect) -> Response:
    """The client closed the connection before its request was whole: nothing to answer, nothing to
    report beyond one line (it was a traceback in the log)."""
    log.info("%s %s: the client closed the connection before its request body was whole", request.method,
             request.url.path[:100])
    return Response(status_code=400)


async def _bad_input(request: Request, exc: Exception) -> Response:
    return JSONResponse(exc.as_json(), status_code=400)


async def _refused(request: Request, exc: auth.Refused) -> Response:
    """v1.1: 401 (who is calling cannot be established; Accept-Signature says what is wanted, RFC
    9421 §5.1), 403 (not this caller's callback or outcome), 400 (a callback URL not allowed)."""
    headers = {}
    if exc.status == 401:
        covered = '"@method" "@target-uri"' + (' "content-digest"' if request.method == "PUT" else "")
        headers["Accept-Signature"] = f'mp107=({covered});alg="{auth.ALGORITHM.algorithm_id}";created'
    return JSONResponse({"error": exc.reason}, status_code=exc.status, headers=headers)


def create_app(dcc, *, test_support: bool, load: dict | None = None,
               delivery: CallbackDelivery | None = None, max_request_bytes: int = MAX_REQUEST_BYTES,
               oversize: str = "400", callbacks: str = "registration",
               datafix_at_start: bool = False, interface: auth.Policy | None = None,
               body_timeout: float | None = BODY_TIMEOUT, test_support_token: str | None = None,
               dialect: str = "v1", test_support_loopback_only: bool = False) -> Starlette:
    """The HTTP face of `dcc` (a reference.dcc.ReferenceDCC). `load`: a test-support `load` body
    applied now and again after each reset. `max_request_bytes` and `oversize` ("400": a signed
    refusal; "413-empty": HTTP 413, no body): how a larger Service Request body is answered.
    `callbacks` "501": no callback registration (HTTP 501, no body). `datafix_at_start`: run the
    Requirement 2 data fix on every S1SP after `load` (and after each reset); the results are in
    `app.state.service.datafix_results`. `interface`: Target Interface v1.1 (signed callback and
    responses calls, own callback and outcomes only, callback URLs as the policy allows; see
    reference/server/auth.py); None: v1, unauthenticated. `body_timeout`: seconds for a request's whole
    body to arrive, else HTTP 408 (None: no deadline). `test_support_token`: every test-support call
    must carry `Authorization: Bearer <token>` (None: no token asked); `test_support_loopback_only` (what
    `serve` sets when there is no token): test support refuses calls with an Origin header, a Host that is
    not a loopback literal, or a body that is not application/json (`_LoopbackOnly`). `dialect` "dcc": the DCC's own
    interface (serviceT / serviceS / serviceD, reference/server/dcc_interface.py) in place of
    serviceRequest. The caller closes `dcc`; the app closes the callback delivery it made when it
    shuts down."""
    if dialect not in DIALECTS:
        raise ValueError(f"dialect: expected one of {list(DIALECTS)}, got {dialect!r}")
    if body_timeout is not None and (isinstance(body_timeout, bool) or not isinstance(body_timeout, (int, float))
                                     or not 0 < body_timeout < float("inf")):
        raise ValueError(f"body_timeout: expected a positive number of seconds or None, got {body_timeout!r}")
    if test_support_token is not None and not test_support_token:
        raise ValueError("test_support_token: expected a non-empty token or None")
    own_delivery = delivery is None
    service = _Service(dcc, test_support=test_support, load=load, delivery=delivery or CallbackDelivery(),
                       max_request_bytes=max_request_bytes, oversize=oversize, callbacks=callbacks,
                       datafix_at_start=datafix_at_start, interface=interface)
    routes = [
        *(dcc_routes(service) if dialect == "dcc" else
          [Route("/api/v1/serviceRequest", service.service_request, methods=["POST"])]),
        Route("/api/v1/responses/{request_id}", service.response, methods=["GET"]),
        Route("/api/v1/users/{user_id}/callback", service.callback, methods=["PUT", "GET", "DELETE"]),
    ]
    if test_support:
        guard = ([Middleware(_BearerToken, token=test_support_token)] if test_support_token else
                 [Middleware(_LoopbackOnly)] if test_support_loopback_only else None)
        routes.append(Mount("/test-support/v1", middleware=guard, routes=[
            Route("/load", service.load, methods=["POST"]),
            Route("/users", service.loader("user"), methods=["POST"]),
            Route("/trust-anchors", service.loader("trust_anchor"), methods=["POST"]),
            Route("/devices", service.loader("device"), methods=["POST"]),
            Route("/registrations", service.loader("registration"), methods=["POST"]),
            Route("/anchor-slots", service.loader("anchor_slot"), methods=["POST"]),
            Route("/no-certificates", service.loader("no_certificate"), methods=["POST"]),
            Route("/s1sps/{s1sp}/datafix", service.datafix, methods=["POST"]),
            Route("/switch", service.switch, methods=["PUT"]),
            Route("/s1sps/{s1sp}/implemented", service.implemented, methods=["PUT"]),
            Route("/s1sps/{s1sp}/certificate", service.s1sp_certificate, methods=["GET"]),
            Route("/state", service.get_state, methods=["GET"]),
            Route("/reset", service.reset, methods=["POST"]),
            Route("/dsp-certificate", service.dsp_certificate, methods=["GET"]),
        ]))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        if own_delivery:
            service.delivery.close()

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={ts.BadInput: _bad_input, auth.Refused: _refused,
                                                                     ClientDisconnect: _gone})
    app.state.service = service
    if body_timeout is not None:
        app.add_middleware(_BodyDeadline, seconds=body_timeout)
    app.add_middleware(_NoLoop)
    app.add_middleware(_HeadChecks)
    return app
