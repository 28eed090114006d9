"""Errors raised by the DUIS codec.

Every error is a :class:`DuisError`, so a caller (the reference DSP, an adapter) can turn any
codec failure into a DUIS response code without ever seeing a bare lxml/xmlschema/signxml
exception. Messages say what was expected and what came.
"""

from __future__ import annotations


class DuisError(Exception):
    """Base class of every error the ``duis`` package raises on purpose."""


class DuisValueError(DuisError, ValueError):
    """A value (EUI-64, RequestID, MPAN, date, message field) is not what DUIS allows."""


class DuisConfigError(DuisError):
    """The codec is not configured (e.g. no DUIS schema folder given)."""


class MalformedXML(DuisError):
    """The input is not well-formed XML."""


class HostileXML(DuisError):
    """The input carries a DOCTYPE / ENTITY declaration (XXE, entity expansion): refused unread."""


class OversizedXML(DuisError):
    """The input is larger than the configured limit."""

    def __init__(self, size: int, limit: int):
        self.size = size
        self.limit = limit
        super().__init__(f"expected XML of at most {limit} bytes, got {size} bytes")


class SchemaInvalid(DuisError):
    """The document does not validate against DUIS Schema V5.4."""

    def __init__(self, path: str | None, reason: str):
        self.path = path
        self.reason = reason
        where = f" at {path}" if path else ""
        super().__init__(f"expected a document valid against DUIS Schema V5.4; invalid{where}: {reason}")


class UnsupportedServiceRequest(DuisError):
    """The request is valid DUIS, but its Service Reference Variant / body is not one the codec maps."""

    def __init__(self, srv: str | None, detail: str):
        self.srv = srv
        super().__init__(detail)


class SignatureInvalid(DuisError):
    """An XML signature is absent, malformed, made with another key, or does not match the content."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)
