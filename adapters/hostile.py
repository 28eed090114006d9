"""Deliberately bad requests for MP107-R4: each starts from a correct, signed request made by the
codec and spoils exactly one thing, so that a refusal can only be for that thing."""
from __future__ import annotations

import re

OVERSIZE_BYTES = 2 * 1024 * 1024


def alter_after_signing(signed: bytes) -> bytes:
    """Change one certificate character inside the signed body; the signature no longer verifies."""
    m = re.search(rb"(<(?:\w+:)?DigitalSigningCertificate>)(.)", signed)
    if not m:
        raise ValueError("no DigitalSigningCertificate in the request to alter")
    replacement = b"B" if m.group(2) != b"B" else b"C"
    return signed[:m.start(2)] + replacement + signed[m.end(2):]


def not_well_formed(signed: bytes) -> bytes:
    return signed[: len(signed) // 2]


def unknown_srv(signed: bytes) -> bytes:
    return re.sub(rb"(ServiceReferenceVariant>)[0-9.]+(<)", rb"\g<1>99.99.9\g<2>", signed, count=1)


def bad_eui64(signed: bytes) -> bytes:
    return re.sub(rb"(RequestID>)([0-9A-F]{2})", rb"\g<1>ZZ", signed, count=1)


def oversized(signed: bytes) -> bytes:
    padding = b"<!--" + b"x" * OVERSIZE_BYTES + b"-->"
    return signed.replace(b"?>", b"?>" + padding, 1) if signed.startswith(b"<?xml") else padding + signed


def external_entity(signed: bytes) -> bytes:
    doctype = b'<!DOCTYPE r [ <!ENTITY xxe SYSTEM "file:///etc/hostname"> ]>'
    body = re.sub(rb"^<\?xml[^>]*\?>\s*", b"", signed)
    body = re.sub(rb"(RemotePartyRole>)NetworkOperator(<)", rb"\g<1>&xxe;\g<2>", body, count=1)
    return b'<?xml version="1.0" encoding="UTF-8"?>' + doctype + body


MALFORMATIONS = {
    "a request that is not well-formed XML": not_well_formed,
    "a request with an unknown Service Reference Variant": unknown_srv,
    "a request whose RequestID holds a bad EUI-64": bad_eui64,
    "a request larger than the DSP accepts": oversized,
    "a request declaring an external entity": external_entity,
}
