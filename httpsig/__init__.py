"""HTTP Message Signatures (RFC 9421) on the calls around the service request (SPEC §5, v1.1).

`PUT`/`GET`/`DELETE {base}/api/v1/users/{UserID}/callback` and `GET {base}/api/v1/responses/{RequestID}`
carry a signature by the calling user's XML-signing key (ECDSA P-256): algorithm
`ecdsa-p256-sha256`, `keyid` = the User ID, covering `@method`, `@target-uri`, `content-digest`
(RFC 9530, sha-256; only when there is a body) and the `created` parameter. The signing itself is
the `http-message-signatures` library's (pyauth); this module only says what is covered and
returns the header fields to send, so any HTTP client can use it:

    headers = signature_headers("PUT", url, key=signer.key, key_id=user_id, body=body)

The signature label is `mp107`. Every signature carries a fresh random `nonce` parameter, so that no
two calls share a signature base even within one second: a target that refuses a signature it has
already accepted (a replay) never refuses a genuine second call. A target that does not check these
signatures ignores the fields.
A package of its own, importing nothing of the project, because both sides use it: the harness to
sign (adapters/), the reference to compute the same `@target-uri` when it verifies
(reference/server/auth.py).
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from cryptography.hazmat.primitives.asymmetric import ec
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, InvalidSignature, MappingKeyResolver
from http_message_signatures.algorithms import ECDSA_P256_SHA256
from http_message_signatures.exceptions import HTTPMessageSignaturesException

ALGORITHM = ECDSA_P256_SHA256
ALGORITHM_ID = ALGORITHM.algorithm_id          # "ecdsa-p256-sha256"
LABEL = "mp107"
COVERED = ("@method", "@target-uri")
"""always covered; `content-digest` is added when there is a body, `created` is always a parameter"""
DEFAULT_PORTS = {"http": 80, "https": 443}

__all__ = ["ALGORITHM_ID", "LABEL", "COVERED", "target_uri", "signature_headers", "verify", "InvalidSignature"]


def target_uri(url: str) -> str:
    """The `@target-uri` both sides compute: scheme and host in lower case, the default port left
    out, an empty path as "/", path and query as sent (the server rebuilds the URL from the Host
    field and the request line, where requests has already done the same)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


@dataclass
class _Message:
    """What the library reads of a request: method, absolute URL, header fields."""
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


def signature_headers(method: str, url: str, *, key: ec.EllipticCurvePrivateKey, key_id: str,
                      body: bytes | None = None, created: dt.datetime | None = None) -> dict[str, str]:
    """The header fields to add to the request: `Signature-Input`, `Signature` and, when `body` is
    not empty, `Content-Digest`. `created` (default: now) is for tests of stale signatures."""
    message = _Message(method.upper(), target_uri(url))
    signer = HTTPMessageSigner(signature_algorithm=ALGORITHM,
                               key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: key}))
    signer.sign(message, key_id=key_id, label=LABEL, covered_component_ids=COVERED, nonce=secrets.token_urlsafe(16),
                created=created or dt.datetime.now(dt.timezone.utc), body=body or None)
    return dict(message.headers)


def verify(method: str, url: str, headers, *, public_key: ec.EllipticCurvePublicKey, key_id: str,
           body: bytes = b"", max_age: dt.timedelta = dt.timedelta(minutes=5)) -> None:
    """Check a signature made by `signature_headers` (tests and diagnostics; the reference has its
    own verifier in reference/server/auth.py). Raises InvalidSignature saying why."""
    message = _Message(method.upper(), target_uri(url), dict(headers))
    verifier = HTTPMessageVerifier(signature_algorithm=ALGORITHM,
                                   key_resolver=MappingKeyResolver(public_keys={key_id: public_key}, private_keys={}))
    try:
        results = verifier.verify(message, max_age=max_age, require_components=COVERED, body=body)
    except HTTPMessageSignaturesException as exc:
        raise InvalidSignature(str(exc)) from exc
    if results[0].parameters.get("keyid") != key_id:
        raise InvalidSignature(f"keyid {results[0].parameters.get('keyid')!r}, expected {key_id!r}")
