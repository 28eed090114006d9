"""The DUIS codec: the only place in the project that knows XML.

Modules, one job each: ``errors`` (exception types), ``types`` (EUI-64, RequestID, MPAN),
``messages`` (frozen dataclasses), ``safexml`` (the one untrusted-XML parser), ``schema``
(DUIS Schema V5.4 validation, folder from ``DUIS_SCHEMA_DIR``), ``signing`` (XML signatures),
``codec`` (encode/decode of Request and Response), ``wire`` (the form everything is signed and sent in:
no whitespace-only text between elements; an indented copy for reading).
"""

from . import codec, errors, messages, safexml, schema, signing, types, wire
from .errors import (
    DuisConfigError,
    DuisError,
    DuisValueError,
    HostileXML,
    MalformedXML,
    OversizedXML,
    SchemaInvalid,
    SignatureInvalid,
    UnsupportedServiceRequest,
)

__all__ = [
    "codec",
    "errors",
    "messages",
    "safexml",
    "schema",
    "signing",
    "types",
    "wire",
    "DuisError",
    "DuisValueError",
    "DuisConfigError",
    "MalformedXML",
    "HostileXML",
    "OversizedXML",
    "SchemaInvalid",
    "UnsupportedServiceRequest",
    "SignatureInvalid",
]
