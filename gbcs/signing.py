"""Signing and verifying a General Signing APDU (a DCC Pre-Command) with an Organisation key.

The rule, as the DCC's public tooling applies it (SmartDCCInnovation/gbcs-parser, ``src/crypto.ts``
``signGroupingHeader``, its tests ``test/crypto.test.ts`` "nominal/missing-signature",
"nominal/null-signature" and "already-signed"; and ``src/parser.ts`` ``parseGeneralSigning`` for
verification):

* the payload must start with 0xDF (General Signing);
* if it ends in a zero signature-length byte, that byte is dropped ("From green book ... remove
  last byte as it will be replaced with signature but Boxed < 1.4.1 does not currently follow
  specification"): whether the byte is there is decided by parsing the APDU, never by looking
  at the last byte alone (a content may itself end in 00);
* the bytes after the 0xDF tag up to the end of the content are signed with ECDSA P-256 /
  SHA-256 and the user's Organisation **digital-signing** private key;
* the signature is IEEE P1363 (r||s, 32 bytes each) and is appended after a length byte 0x40;
* a payload that already carries a signature is refused.

Checked on public data: the RTDS 4.5.0 command ``CS02bNOByNO_6.15.1_SUCCESS_COMMAND_GBCS.HEX``
(gbcs-parser ``test/rtds/``) is exactly its Pre-Command, 0x40 and a signature that verifies with
the ZAZ1 network operator's digital-signing certificate (``Z1-networkOperator-ds.pem``).

Keys and certificates are ``cryptography`` objects; all work is on the bytes given (a payload
decoded and re-encoded might differ in length encodings, and the signature covers the bytes).
"""

from __future__ import annotations

from typing import Union

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from .apdu import SIGNATURE_LENGTH, parse_apdu, unwrap_general_ciphering
from .errors import SigningError

_HALF = SIGNATURE_LENGTH // 2
PublicKeyLike = Union[ec.EllipticCurvePublicKey, x509.Certificate]


def _check_curve(key: object, what: str) -> None:
    curve = getattr(key, "curve", None)
    if not isinstance(curve, ec.SECP256R1):
        raise SigningError(f"expected an ECDSA P-256 {what}, got {type(key).__name__}"
                           + (f" on {curve.name}" if curve is not None else ""))


def _public_key(key: PublicKeyLike) -> ec.EllipticCurvePublicKey:
    if isinstance(key, x509.Certificate):
        key = key.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise SigningError(f"expected an EC public key or certificate, got {type(key).__name__}")
    _check_curve(key, "public key")
    return key


def signature_state(payload: bytes) -> str:
    """``"absent"`` (no signature field), ``"empty"`` (a zero signature-length byte) or
    ``"present"``. MalformedGbcs for a payload that is not a General Signing APDU (a MAC
    header around one is unwrapped)."""
    sig = parse_apdu(unwrap_general_ciphering(payload)).apdu.signature
    return "absent" if sig is None else ("empty" if len(sig) == 0 else "present")


def signed_data(payload: bytes) -> bytes:
    """The bytes a signature covers: after the DF tag, to the end of the content."""
    data = unwrap_general_ciphering(payload)
    return data[1:parse_apdu(data).signed_end]


def to_p1363(der_signature: bytes) -> bytes:
    r, s = decode_dss_signature(der_signature)
    return r.to_bytes(_HALF, "big") + s.to_bytes(_HALF, "big")


def from_p1363(signature: bytes) -> bytes:
    if len(signature) != SIGNATURE_LENGTH:
        raise SigningError(f"expected a {SIGNATURE_LENGTH}-byte r||s signature, got {len(signature)} bytes")
    return encode_dss_signature(int.from_bytes(signature[:_HALF], "big"), int.from_bytes(signature[_HALF:], "big"))


def sign(payload: bytes, private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """The signed payload: the Pre-Command (less a trailing zero signature-length byte), 0x40
    and the P1363 signature. SigningError if it is already signed or the key is not P-256;
    MalformedGbcs if it is not a General Signing APDU."""
    if not isinstance(private_key, ec.EllipticCurvePrivateKey):
        raise SigningError(f"expected an EC private key, got {type(private_key).__name__}")
    _check_curve(private_key, "private key")
    parsed = parse_apdu(payload)
    if parsed.apdu.signature:
        raise SigningError("the payload is already signed")
    base = bytes(payload)[:parsed.signed_end]
    signature = to_p1363(private_key.sign(base[1:], ec.ECDSA(hashes.SHA256())))
    return base + bytes([SIGNATURE_LENGTH]) + signature


def verify(payload: bytes, key: PublicKeyLike) -> bool:
    """True when the payload carries a signature that verifies with ``key`` (a public key, or
    the signer's digital-signing certificate); False when it is unsigned or does not verify.
    A command inside a General Ciphering MAC header is unwrapped first.
    MalformedGbcs for a payload that is not a General Signing APDU; SigningError for a key
    that is not P-256."""
    public_key = _public_key(key)
    data = unwrap_general_ciphering(payload)
    parsed = parse_apdu(data)
    sig = parsed.apdu.signature
    if not sig:
        return False
    try:
        public_key.verify(from_p1363(sig), data[1:parsed.signed_end], ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True
