"""Errors raised by the GBCS codec.

Every error is a :class:`GbcsError`, so a caller (the reference DSP or S1SP, an adapter) can turn
any codec failure into a refusal without ever seeing a bare asn1tools, cryptography or IndexError
exception: whatever bytes come in, ``gbcs`` either returns or raises one of these. Messages say
what was expected and what came, and stay short (a hostile payload is never echoed whole).
"""

from __future__ import annotations


class GbcsError(Exception):
    """Base class of every error the ``gbcs`` package raises on purpose."""


class MalformedGbcs(GbcsError, ValueError):
    """The bytes are not a well-formed GBCS message of a kind this codec reads."""


class OversizedGbcs(MalformedGbcs):
    """The payload is longer than the codec's bound (:data:`gbcs.apdu.MAX_PAYLOAD_LENGTH`)."""

    def __init__(self, size: int, limit: int):
        self.size = size
        self.limit = limit
        super().__init__(f"expected a GBCS payload of at most {limit} bytes, got {size} bytes")


class GbcsValueError(GbcsError, ValueError):
    """A dataclass value cannot be encoded: it is outside what GBCS (or this codec) allows."""


class SigningError(GbcsError):
    """A payload cannot be signed or verified as asked: not a General Signing APDU, already
    signed, or a key that is not ECDSA P-256."""


def clip(data: bytes | bytearray | str, limit: int = 24) -> str:
    """A short rendering of (possibly hostile) input for an error message."""
    if isinstance(data, str):
        return data if len(data) <= limit else data[:limit] + "..."
    h = bytes(data[:limit]).hex().upper()
    return h + ("..." if len(data) > limit else "")
