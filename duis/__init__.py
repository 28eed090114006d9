"""The DUIS codec: the only place in the project that knows XML.

Modules, one job each: ``errors`` (exception types), ``types`` (EUI-64, RequestID, MPAN),
``messages`` (frozen dataclasses), ``safexml`` (the one untrusted-XML parser), ``schema``
(DUIS Schema V5.4 validation, folder from ``DUIS_SCHEMA_DIR``), ``signing`` (XML signatures),
``codec`` (encode/decode of Request and Response).
"""

from . import codec, errors, messages, safexml, schema, signing, types
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
