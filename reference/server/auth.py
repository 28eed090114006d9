"""Target Interface v1.1 (SPEC §5): who is calling, and where its outcomes may go.

The calls around the service request -- `PUT`/`GET`/`DELETE /api/v1/users/{UserID}/callback` and
`GET /api/v1/responses/{RequestID}` -- carry an HTTP Message Signature (RFC 9421). `Authenticator`
checks it with the `http-message-signatures` library: algorithm `ecdsa-p256-sha256`; `keyid` a
User ID the DCC knows, whose XML-signing certificate (the DSP's user directory) verifies it;
`@method` and `@target-uri` covered; `content-digest` (RFC 9530) covered and matching the body
whenever there is one; `created` present, not older than `Policy.max_age` (5 minutes) and not
later than now plus `Policy.clock_skew`; and not a replay: a signature base (what was signed, its
`created` and `nonce` included) already accepted within its window is refused, so a captured
callback PUT, DELETE or outcome GET cannot be sent again (each user's accepted bases are kept until
they are too old to be accepted anyway, at most `MAX_REMEMBERED` of them). Anything else is
`Refused(401)`, with one answer for every reason (`UNAUTHENTICATED`): an unknown User ID and a
signature that does not verify read the same, so a 401 tells a stranger nothing about who exists;
the reason is logged for the DCC's operator. What the verified user
may do is the app's business (reference/server/app.py: its own callback, its own outcomes; else 403).

`CallbackURLs` decides which callback URLs the DCC will POST outcomes to: http(s) only, and every
address the host resolves to must be public, unless the operator allowed it with
`serve --callback-allow HOST_OR_CIDR` (a host name allows that name whatever it resolves to; an
address or CIDR allows the addresses in it). Loopback, link-local, private, shared, reserved,
unspecified and multicast addresses are refused otherwise.

The reference never imports the harness: the harness signs with its own module
(httpsig/: the one place both sides compute `@target-uri`), against the same RFC.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from http_message_signatures import HTTPMessageVerifier, HTTPSignatureKeyResolver
from http_message_signatures.algorithms import ECDSA_P256_SHA256
from http_message_signatures.exceptions import HTTPMessageSignaturesException

import httpsig
from duis.errors import DuisValueError
from duis.types import EUI64

log = logging.getLogger(__name__)

ALGORITHM = ECDSA_P256_SHA256
REQUIRED = httpsig.COVERED
MAX_AGE = dt.timedelta(minutes=5)
CLOCK_SKEW = dt.timedelta(seconds=30)
MAX_REMEMBERED = 50_000
"""signature bases remembered per user within the window; beyond it, that user's calls are refused"""
UNAUTHENTICATED = ("not authenticated: expected an HTTP Message Signature (RFC 9421) by the calling user's "
                   "XML-signing key that verifies (ecdsa-p256-sha256, keyid = the User ID; covering @method, "
                   "@target-uri, content-digest when there is a body; created within 5 minutes), not sent before")
_HOST_NAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")


class Refused(Exception):
    """A call the DCC will not serve: `status` (401, 403, 400) and why, in one line."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Policy:
    """How the v1.1 interface is guarded. `callback_allow`: the operator's exceptions to the
    callback-URL rule (host names, addresses, CIDRs)."""
    callback_allow: tuple[str, ...] = ()
    max_age: dt.timedelta = MAX_AGE
    clock_skew: dt.timedelta = CLOCK_SKEW

    def __post_init__(self) -> None:
        for entry in self.callback_allow:
            allowed_entry(entry)      # raises ValueError for an entry that is neither


def allowed_entry(entry: str):
    """An --callback-allow entry as an ip_network, or a lower-case host name; ValueError if neither."""
    text = entry.strip()
    try:
        return ipaddress.ip_network(text.strip("[]"), strict=False)
    except ValueError:
        pass
    if _HOST_NAME.fullmatch(text):
        return text.lower().rstrip(".")
    raise ValueError(f"expected a host name, an IP address or a CIDR like 10.0.0.0/8, got {entry!r}")


def request_url(scope: dict, headers) -> str:
    """The absolute URL of an ASGI request as its client addressed it: scheme, the Host field
    (else the server's address), the path as sent (`raw_path`), the query."""
    host = headers.get("host")
    if not host:
        server = scope.get("server") or ("localhost", None)
        host = f"{server[0]}:{server[1]}" if server[1] else server[0]
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope.get("path", "/")
    query = scope.get("query_string", b"").decode("latin-1")
    return httpsig.target_uri(f"{scope.get('scheme', 'http')}://{host}{path}" + (f"?{query}" if query else ""))


class _Fields:
    """Header field lines as received, in order, read-only (what the library's verifier reads)."""

    def __init__(self, lines) -> None:
        self._lines = [(str(name), str(value)) for name, value in lines]

    def items(self) -> list[tuple[str, str]]:
        return list(self._lines)

    def __iter__(self):
        return iter(dict.fromkeys(name for name, _ in self._lines))

    def __contains__(self, name: str) -> bool:
        return any(field.lower() == name.lower() for field, _ in self._lines)


@dataclass
class _Message:
    method: str
    url: str
    headers: _Fields


class _UserKeys(HTTPSignatureKeyResolver):
    """keyid -> the public key of that user's XML-signing certificate (None: no such user)."""

    def __init__(self, users) -> None:
        self.users = users
        self.unknown: str | None = None

    def resolve_public_key(self, key_id: str):
        try:
            user = self.users.get(str(EUI64.parse(key_id)))
        except (DuisValueError, TypeError):
            user = None
        if user is None:
            self.unknown = key_id
            return None
        return user.xml_signing_certificate.public_key()

    def resolve_private_key(self, key_id: str):
        raise NotImplementedError("the DCC verifies; it never signs as a user")


class Authenticator:
    """Verifies the RFC 9421 signature of a v1.1 call against the DSP's user directory."""

    def __init__(self, users, policy: Policy) -> None:
        self.users = users
        self.policy = policy
        self._seen: dict[str, dict[bytes, float]] = {}      # user -> signature base digest -> when it expires
        self._lock = threading.Lock()

    def authenticate(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> str:
        """The verified User ID (canonical EUI-64) of the caller; Refused(401) if none (one answer
        whatever the reason; the reason is logged)."""
        try:
            return self._authenticate(method, url, headers, body)
        except Refused as exc:
            log.info("%s %s: 401: %s", method, url[:200], exc.reason)
            raise Refused(401, UNAUTHENTICATED) from None

    def _authenticate(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> str:
        names = {name.lower() for name, _ in headers}
        if "signature" not in names or "signature-input" not in names:
            raise Refused(401, "no HTTP Message Signature (RFC 9421): expected Signature-Input and Signature "
                               f"fields by the user's XML-signing key ({ALGORITHM.algorithm_id}, keyid = the User ID)")
        keys = _UserKeys(self.users)
        verifier = HTTPMessageVerifier(signature_algorithm=ALGORITHM, key_resolver=keys)
        verifier.max_clock_skew = self.policy.clock_skew
        try:
            results = verifier.verify(_Message(method.upper(), url, _Fields(headers)), max_age=self.policy.max_age,
                                      require_components=REQUIRED, body=body)
        except HTTPMessageSignaturesException as exc:
            if keys.unknown is not None:
                raise Refused(401, f"the signature's keyid {keys.unknown!r} is not a User ID the DCC knows") from None
            raise Refused(401, f"the HTTP Message Signature does not verify: {_one_line(exc)}") from None
        params = results[0].parameters
        created = dt.datetime.fromtimestamp(params["created"], dt.timezone.utc)
        age = dt.datetime.now(dt.timezone.utc) - created
        if age > self.policy.max_age:
            raise Refused(401, f"the signature was created {age.total_seconds():.0f} s ago; at most "
                               f"{self.policy.max_age.total_seconds():.0f} s is accepted")
        user = str(EUI64.parse(params["keyid"]))
        self._first_time(user, results[0], params["created"])
        return user

    def _first_time(self, user: str, result, created: float) -> None:
        """Remember what `user` signed (the whole signature base: every covered value and every parameter,
        `created` and `nonce` among them) until it is too old to be accepted; Refused if it was seen.
        The base, not the signature's bytes: an ECDSA signature has a second valid form (s and n - s), so
        a replay could change the bytes but never the base."""
        base = "\n".join(f"{name}: {value}" for name, value in result.covered_components.items())
        digest = hashlib.sha256(base.encode("utf-8", "surrogatepass")).digest()
        now = time.time()
        expires = created + (self.policy.max_age + self.policy.clock_skew).total_seconds() + 1
        with self._lock:
            seen = self._seen.setdefault(user, {})
            if digest in seen and seen[digest] > now:
                raise Refused(401, "a replay: this signature base was accepted before (send a new signature, "
                                   "with its own created or nonce, for every call)")
            if len(seen) >= MAX_REMEMBERED:
                for key in [k for k, until in seen.items() if until <= now]:
                    del seen[key]
                if len(seen) >= MAX_REMEMBERED:
                    raise Refused(401, f"more than {MAX_REMEMBERED} signed calls from {user} within "
                                       f"{self.policy.max_age.total_seconds():.0f} s")
            seen[digest] = expires


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


@dataclass(frozen=True)
class Pinned:
    """A callback delivery's connection: the URL to connect to (its host an address that was
    checked), the Host header and the httpx extensions (TLS server name) that keep it the URL the
    user registered."""
    url: str
    headers: dict = field(default_factory=dict)
    extensions: dict = field(default_factory=dict)


class CallbackURLs:
    """Which callback URLs the DCC POSTs to (see the module's doc). `resolve` is getaddrinfo's
    shape, for tests."""

    def __init__(self, allow: tuple[str, ...] = (), *, resolve=socket.getaddrinfo) -> None:
        entries = [allowed_entry(e) for e in allow]
        self.networks = [e for e in entries if not isinstance(e, str)]
        self.hosts = {e for e in entries if isinstance(e, str)}
        self.allow = tuple(allow)
        self._resolve = resolve

    def check(self, url: str) -> None:
        """None if the DCC may POST to `url`; else Refused(400) saying why. Resolves the host
        (blocking: run it off the event loop)."""
        self.pinned(url)

    def pinned(self, url: str) -> "Pinned":
        """Where to POST `url`'s callback now, checked now: the address its host resolves to at this
        moment, with the URL's host sent as Host (and as the TLS server name). Called again at each
        delivery, so a name that resolved to a public address when it was registered and to an
        internal one later (DNS rebinding) is refused then, and the connection goes to the address
        that was checked, not to whatever a second lookup returns. Refused(400) saying why."""
        if not isinstance(url, str) or not url.isascii() or any(c <= " " or c == "\x7f" for c in url):
            raise Refused(400, f"callback URL {url!r}: expected printable ASCII, without white space or control "
                               "characters")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Refused(400, f"callback URL {url!r}: expected an http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            raise Refused(400, f"callback URL {url!r}: expected no user name or password in it")
        try:
            port = parts.port or httpsig.DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise Refused(400, f"callback URL {url!r}: the port is not a number from 0 to 65535") from None
        host = parts.hostname.lower().rstrip(".")
        if host in self.hosts:
            return Pinned(url)                  # the operator trusts this name, whatever it resolves to
        try:
            addresses = [ipaddress.ip_address(host)]
            literal = True
        except ValueError:
            literal = False
            try:
                infos = self._resolve(host, port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as exc:
                raise Refused(400, f"callback URL {url!r}: its host {host!r} does not resolve ({exc})") from None
            addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos))
            if not addresses:
                raise Refused(400, f"callback URL {url!r}: its host {host!r} resolves to no address")
        for address in sorted(addresses, key=str):
            why = self._not_allowed(address)
            if why:
                shown = host if str(address) == host else f"{host} ({address})"
                raise Refused(400, f"callback URL {url!r}: {shown} is {why}, and the DCC's operator has not "
                                   f"allowed it (serve --callback-allow; allowed: {list(self.allow) or 'nothing'})")
        if literal:
            return Pinned(url)
        address = addresses[0]
        shown = f"[{address}]" if address.version == 6 else str(address)
        netloc = f"{shown}:{port}"
        return Pinned(urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")),
                      headers={"Host": parts.netloc.rsplit("@", 1)[-1]},
                      extensions={"sni_hostname": host} if parts.scheme == "https" else {})

    def _not_allowed(self, address) -> str | None:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address.version == net.version and address in net for net in self.networks):
            return None
        for attribute, words in (("is_loopback", "a loopback address"), ("is_link_local", "a link-local address"),
                                 ("is_unspecified", "the unspecified address"), ("is_multicast", "a multicast address"),
                                 ("is_private", "a private address"), ("is_reserved", "a reserved address")):
            if getattr(address, attribute):
                return words
        if not address.is_global:
            return "not a public address"
        return None
