"""Certificate inspection helpers: pure functions, no state.

Every function takes a ``cryptography.x509.Certificate`` or its DER (PEM is accepted too).
The shapes read here are those of the public ZAZ1 test SMKI (``duis/smki/`` in the shared
data) and of the certificates :mod:`smki.ca` issues:

* subject OU = role code (``02`` supplier, ``03`` network operator, ``87`` XML signing,
  ``89`` DSP XML signing; the DSP certificate before DCC Boxed 1.4.1 carries ``137``, the
  same code written in decimal);
* subject x500UniqueIdentifier (2.5.4.45) = the Entity Identifier, a BIT STRING holding the
  8-byte EUI-64;
* Key Usage (critical) digitalSignature or keyAgreement.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Iterable, Union

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID

CertLike = Union[x509.Certificate, bytes, bytearray, memoryview]

#: Remote party role -> GBCS Organisation certificate role code (subject OU).
ORGANISATION_ROLE_CODES: dict[str, str] = {"Supplier": "02", "NetworkOperator": "03"}
#: role code -> remote party role
REMOTE_PARTY_ROLES: dict[str, str] = {v: k for k, v in ORGANISATION_ROLE_CODES.items()}
ROLE_CODE_ROOT_CA = "00"
ROLE_CODE_ISSUING_CA = "07"
ROLE_CODE_XML_SIGNING = "87"
ROLE_CODE_DSP_XML_SIGNING = "89"

DIGITAL_SIGNING = "DigitalSigning"
KEY_AGREEMENT = "KeyAgreement"
USAGES = (DIGITAL_SIGNING, KEY_AGREEMENT)

_KU_FLAGS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


# --------------------------------------------------------------------------- basics

def as_certificate(cert: CertLike) -> x509.Certificate:
    """A ``Certificate`` from a ``Certificate``, DER bytes or PEM bytes."""
    if isinstance(cert, x509.Certificate):
        return cert
    data = bytes(cert)
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def as_der(cert: CertLike) -> bytes:
    """The DER of a certificate given as ``Certificate``, DER or PEM."""
    if isinstance(cert, x509.Certificate):
        from cryptography.hazmat.primitives.serialization import Encoding

        return cert.public_bytes(Encoding.DER)
    data = bytes(cert)
    if data.lstrip().startswith(b"-----BEGIN"):
        return as_der(x509.load_pem_x509_certificate(data))
    return data


def normalise_eui64(value: str | bytes) -> str:
    """``XX-XX-XX-XX-XX-XX-XX-XX`` upper-case from 8 bytes or from text with or without
    separators (``-``, ``:``, space). ValueError otherwise.

    Local on purpose: the canonical type is ``duis.types.EUI64``; smki does not depend on duis.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
    else:
        text = "".join(ch for ch in str(value) if ch not in "-: ")
        if len(text) != 16:
            raise ValueError(f"not an EUI-64: {value!r}")
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise ValueError(f"not an EUI-64: {value!r}") from None
    if len(raw) != 8:
        raise ValueError(f"not an EUI-64: {value!r}")
    return "-".join(f"{b:02X}" for b in raw)


def eui64_bytes(value: str | bytes) -> bytes:
    """The 8 bytes of an EUI-64 given as text or bytes."""
    return bytes.fromhex(normalise_eui64(value).replace("-", ""))


# --------------------------------------------------------------------------- fields

def entity_id(cert: CertLike) -> str:
    """The Entity Identifier (subject x500UniqueIdentifier) as ``90-B3-D5-1F-30-02-00-00``.

    The attribute is a BIT STRING; ``cryptography`` hands its content back as bytes that start
    with the unused-bits octet (``00`` + 8 bytes). Plain 8 bytes, or text (hex, with or without
    separators), are accepted too. ValueError when absent or not 64 bits.
    """
    c = as_certificate(cert)
    attrs = c.subject.get_attributes_for_oid(NameOID.X500_UNIQUE_IDENTIFIER)
    if not attrs:
        raise ValueError("subject has no x500UniqueIdentifier (2.5.4.45)")
    value = attrs[0].value
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) == 9:
            if raw[0] != 0:
                raise ValueError(f"x500UniqueIdentifier BIT STRING has {raw[0]} unused bits")
            raw = raw[1:]
        return normalise_eui64(raw)
    return normalise_eui64(str(value))


def role_code(cert: CertLike) -> str:
    """The subject OU (the SMKI role code, e.g. ``02``, ``03``, ``87``). ValueError if absent."""
    c = as_certificate(cert)
    attrs = c.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    if not attrs:
        raise ValueError("subject has no OU (role code)")
    return str(attrs[0].value)


def key_usage(cert: CertLike) -> str:
    """``"DigitalSigning"`` or ``"KeyAgreement"`` when exactly that bit is set; otherwise a
    description: ``"None"`` (no Key Usage extension) or the comma-joined set bits
    (e.g. ``"digital_signature,key_agreement"``, ``"key_cert_sign,crl_sign"``)."""
    c = as_certificate(cert)
    try:
        ku = c.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
    except x509.ExtensionNotFound:
        return "None"
    bits = [name for name in _KU_FLAGS if getattr(ku, name)]
    if ku.key_agreement:
        if ku.encipher_only:
            bits.append("encipher_only")
        if ku.decipher_only:
            bits.append("decipher_only")
    if bits == ["digital_signature"]:
        return DIGITAL_SIGNING
    if bits == ["key_agreement"]:
        return KEY_AGREEMENT
    return ",".join(bits) if bits else "None"


def sha1_hex(cert: CertLike) -> str:
    """Lower-case hex SHA-1 of the certificate's DER (DUIS ExistingCertificateHash)."""
    return hashlib.sha1(as_der(cert)).hexdigest()


def serial_hex(cert: CertLike) -> str:
    """Serial number as lower-case hex without leading zeros."""
    return format(as_certificate(cert).serial_number, "x")


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)


def is_expired(cert: CertLike, at: datetime | None = None) -> bool:
    """True when ``at`` (default now, UTC; naive means UTC) is after notAfter."""
    at = _aware(at or datetime.now(timezone.utc))
    return at > as_certificate(cert).not_valid_after_utc


def is_not_yet_valid(cert: CertLike, at: datetime | None = None) -> bool:
    """True when ``at`` (default now) is before notBefore."""
    at = _aware(at or datetime.now(timezone.utc))
    return at < as_certificate(cert).not_valid_before_utc


def verify_chain(cert: CertLike, issuer_cert: CertLike) -> bool:
    """True when ``issuer_cert`` directly issued ``cert``: issuer name equals the issuer's
    subject and the signature verifies with the issuer's public key."""
    c, i = as_certificate(cert), as_certificate(issuer_cert)
    try:
        c.verify_directly_issued_by(i)
    except Exception:  # ValueError (names), InvalidSignature, TypeError (key type)
        return False
    return True


# --------------------------------------------------------------------------- validation

def validate_organisation_certificate(
    cert: CertLike,
    expected_role: str,
    expected_usage: str,
    trust: Iterable[CertLike],
    at: datetime | None = None,
    time_checks: bool = True,
) -> list[str]:
    """Problems that stop ``cert`` being a valid GBCS Organisation certificate for
    ``expected_role`` (``"Supplier"``/``"NetworkOperator"``) and ``expected_usage``
    (``"DigitalSigning"``/``"KeyAgreement"``). Empty list = valid.

    Checks: role code (subject OU 02/03), Key Usage (exactly the expected bit, critical),
    Entity Identifier present, ECDSA P-256 key, directly issued by one of ``trust`` (each
    entry is treated as a trusted issuing CA), and, when ``time_checks``, that ``at``
    (default now) lies inside the validity period.
    """
    if expected_role not in ORGANISATION_ROLE_CODES:
        raise ValueError(f"expected_role must be one of {sorted(ORGANISATION_ROLE_CODES)}")
    if expected_usage not in USAGES:
        raise ValueError(f"expected_usage must be one of {USAGES}")
    try:
        c = as_certificate(cert)
    except Exception as exc:  # not a certificate at all
        return [f"not a parsable X.509 certificate: {exc}"]

    problems: list[str] = []
    want_code = ORGANISATION_ROLE_CODES[expected_role]
    try:
        code = role_code(c)
        if code != want_code:
            problems.append(
                f"role code is {code!r}, expected {want_code!r} ({expected_role})"
            )
    except ValueError as exc:
        problems.append(f"{exc}; expected role code {want_code!r} ({expected_role})")

    usage = key_usage(c)
    if usage != expected_usage:
        problems.append(f"key usage is {usage}, expected {expected_usage}")
    else:
        ext = c.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE)
        if not ext.critical:
            problems.append("Key Usage extension is not critical")

    try:
        entity_id(c)
    except ValueError as exc:
        problems.append(f"no valid Entity Identifier: {exc}")

    pub = c.public_key()
    if not (isinstance(pub, ec.EllipticCurvePublicKey) and isinstance(pub.curve, ec.SECP256R1)):
        problems.append("public key is not ECDSA P-256")

    anchors = [as_certificate(t) for t in trust]
    if not any(verify_chain(c, a) for a in anchors):
        problems.append(
            f"does not chain to a trusted issuing CA (issuer {c.issuer.rfc4514_string()})"
        )

    if time_checks:
        when = _aware(at or datetime.now(timezone.utc))
        if is_expired(c, when):
            problems.append(
                f"expired: notAfter {c.not_valid_after_utc.isoformat()} is before "
                f"{when.isoformat()}"
            )
        elif is_not_yet_valid(c, when):
            problems.append(
                f"not yet valid: notBefore {c.not_valid_before_utc.isoformat()} is after "
                f"{when.isoformat()}"
            )
    return problems
