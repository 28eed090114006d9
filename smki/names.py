"""Name attributes that need a chosen ASN.1 type: the project's one use of a private API.

ZAZ1-shaped certificates carry the Entity Identifier as x500UniqueIdentifier (2.5.4.45), a BIT
STRING holding the 8-byte EUI-64 (``#03090090B3D51F30020000``), and their CA names (``OU=07,
CN=Z1``) as PrintableString. ``cryptography`` offers no public way to choose an attribute's ASN.1
type: ``x509.NameAttribute`` takes it only as its private ``_type`` argument, a member of the
private enum ``cryptography.x509.name._ASN1Type``, and ``x509.Name.from_rfc4514_string`` reads a
``#hex`` value as UTF8String text. So ``_typed_attribute`` below is the one place in the project
that touches the private API; everything else (smki/ca.py, the reference's census, the hostile
certificates of the adapters) calls ``entity_identifier_attribute`` or ``printable_attribute``.
``tests/test_smki.py`` fails once ``cryptography`` offers a public way, so that the workaround
is removed then.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID

from .inspect import eui64_bytes


def _typed_attribute(oid: x509.ObjectIdentifier, value: str | bytes, asn1_type: str) -> x509.NameAttribute:
    """``NameAttribute(oid, value)`` encoded as the ASN.1 type named ``asn1_type`` (``BitString``,
    ``PrintableString``): THE private-API workaround (module docstring)."""
    try:
        from cryptography.x509.name import _ASN1Type   # private: no public way to choose the type
    except ImportError as exc:                           # pragma: no cover - a future cryptography
        raise ImportError("cryptography no longer has x509.name._ASN1Type: use its public way to choose a name "
                          "attribute's ASN.1 type in smki/names.py _typed_attribute") from exc
    return x509.NameAttribute(oid, value, _ASN1Type[asn1_type])


def entity_identifier_attribute(entity_id: str | bytes) -> x509.NameAttribute:
    """The subject's x500UniqueIdentifier (2.5.4.45) for an Entity Identifier (EUI-64 as text or 8
    bytes): a BIT STRING of 64 bits, given to cryptography as its content, the unused-bits octet (0)
    then the 8 bytes (``smki.inspect.entity_id`` reads it back)."""
    return _typed_attribute(NameOID.X500_UNIQUE_IDENTIFIER, b"\x00" + eui64_bytes(entity_id), "BitString")


def printable_attribute(oid: x509.ObjectIdentifier, value: str) -> x509.NameAttribute:
    """A name attribute encoded as PrintableString (as the ZAZ1 CA names are), not cryptography's
    default UTF8String."""
    return _typed_attribute(oid, value, "PrintableString")
