"""A GBCS message rendered for people: evidence in reports, not an encoding.

``describe(payload)`` decodes a General Signing APDU (or a MAC-header frame around one) and
returns a JSON-friendly dict: message code and name, CRA flag, counter, system titles, and for
CS02b the control fields and each replacement with its certificate's subject, serial, entity,
role and key usage, then whether the payload is signed and, given a key or certificate, whether
the signature verifies. Raises only :class:`~gbcs.errors.GbcsError` (for a malformed payload);
an unreadable certificate inside a well-formed message is rendered as such, not raised.
"""

from __future__ import annotations

import warnings
from enum import IntEnum
from typing import Any, Optional

from .apdu import CraFlag, GeneralSigningApdu, eui64_text, unwrap_general_ciphering
from .codec import Cs02bCommand, Cs02bResponse, decode
from .cs02b import (
    MESSAGE_CODES,
    ApplyTimeBasedCpvChecks,
    CellUsage,
    CredentialsReplacementMode,
    KeyUsage,
    RemotePartyRole,
    RemotePartySeqNumberChange,
    SeqNumberUsage,
    SpecialistSeqNumber,
    TrustAnchorCell,
)
from .signing import PublicKeyLike, verify

_KEY_USAGE_NAMES = {
    KeyUsage.DIGITAL_SIGNATURE: "digitalSignature", KeyUsage.NON_REPUDIATION: "nonRepudiation",
    KeyUsage.KEY_ENCIPHERMENT: "keyEncipherment", KeyUsage.DATA_ENCIPHERMENT: "dataEncipherment",
    KeyUsage.KEY_AGREEMENT: "keyAgreement", KeyUsage.KEY_CERT_SIGN: "keyCertSign",
    KeyUsage.CRL_SIGN: "cRLSign", KeyUsage.ENCIPHER_ONLY: "encipherOnly",
    KeyUsage.DECIPHER_ONLY: "decipherOnly",
}
_X500_UNIQUE_IDENTIFIER = "2.5.4.45"
_OU = "2.5.4.11"
_CLIP = 64


def _named(enum: type[IntEnum], value: Optional[int]) -> Optional[str]:
    if value is None:
        return None
    try:
        return f"{enum(value).name.replace('_', ' ').lower()} ({int(value)})"
    except ValueError:
        return f"unknown ({int(value)})"


def _key_usage(value: int) -> str:
    names = [n for bit, n in _KEY_USAGE_NAMES.items() if value & bit]
    return " ".join(names) or "none"


def _cell(cell: Optional[TrustAnchorCell]) -> Optional[dict]:
    if cell is None:
        return None
    return {"remote_party_role": _named(RemotePartyRole, cell.remote_party_role),
            "key_usage": _key_usage(cell.key_usage),
            "cell_usage": _named(CellUsage, cell.cell_usage)}


def _specialists(items) -> Optional[list]:
    if items is None:
        return None
    return [{"usage": _named(SeqNumberUsage, s.usage), "seq_number": s.seq_number}
            for s in items if isinstance(s, SpecialistSeqNumber)]


def _changes(items) -> Optional[list]:
    if items is None:
        return None
    return [{"remote_party_role": _named(RemotePartyRole, c.remote_party_role),
             "floor_seq_number": c.floor_seq_number,
             "specialist_floor_seq_numbers": _specialists(c.specialist_floor_seq_numbers)}
            for c in items if isinstance(c, RemotePartySeqNumberChange)]


def certificate_summary(der: bytes) -> dict:
    """Subject, serial, entity (x500UniqueIdentifier), role code (OU), key usage and validity
    of a DER certificate; ``{"error": ...}`` when it cannot be read."""
    from cryptography import x509

    out: dict[str, Any] = {"der_length": len(der)}
    try:
        with warnings.catch_warnings():   # e.g. a non-positive serial: rendered, not warned about
            warnings.simplefilter("ignore")
            cert = x509.load_der_x509_certificate(bytes(der))
            serial = cert.serial_number
        out["subject"] = cert.subject.rfc4514_string()
        out["issuer"] = cert.issuer.rfc4514_string()
        out["serial"] = f"{serial:X}"
        for attr in cert.subject:
            oid = attr.oid.dotted_string
            if oid == _X500_UNIQUE_IDENTIFIER and isinstance(attr.value, bytes):
                raw = attr.value[1:] if len(attr.value) == 9 and attr.value[0] == 0 else attr.value
                out["entity_id"] = eui64_text(raw) if len(raw) == 8 else raw.hex().upper()
            elif oid == _OU:
                out["role_code"] = str(attr.value)
        try:
            ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
            out["key_usage"] = " ".join(n for n, on in (("digitalSignature", ku.digital_signature),
                                                        ("keyAgreement", ku.key_agreement),
                                                        ("keyCertSign", ku.key_cert_sign)) if on) or "none"
        except x509.ExtensionNotFound:
            out["key_usage"] = "absent"
        out["not_before"] = cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        out["not_after"] = cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    except Exception as e:  # noqa: BLE001 - evidence renders what it can
        out["error"] = f"not a readable X.509 certificate ({type(e).__name__})"
    return out


def _command(body) -> dict:
    c = body.control
    return {
        "credentials_replacement_mode": _named(CredentialsReplacementMode, c.credentials_replacement_mode),
        "authorising_remote_party_seq_number": c.authorising_remote_party_seq_number,
        "apply_time_based_cpv_checks": _named(ApplyTimeBasedCpvChecks, c.apply_time_based_cpv_checks) or "absent",
        "authorising_remote_party_ta_cell": _cell(c.authorising_remote_party_ta_cell),
        "plaintext_symmetric_key": "present" if c.plaintext_symmetric_key is not None else None,
        "new_remote_party_floor_seq_number": c.new_remote_party_floor_seq_number,
        "new_remote_party_specialist_floor_seq_numbers": _specialists(c.new_remote_party_specialist_floor_seq_numbers),
        "other_remote_party_seq_number_changes": _changes(c.other_remote_party_seq_number_changes),
        "replacements": [{"target": _cell(r.target), "certificate": certificate_summary(r.certificate)}
                         for r in body.replacements],
        "certification_path_certificates": [certificate_summary(x) for x in body.certification_path_certificates],
        "execution_date_time": (body.execution_date_time.strftime("%Y-%m-%dT%H:%M:%SZ")
                                if body.execution_date_time is not None else None),
    }


def _response(body) -> dict:
    o = body.execution_outcome
    out: dict[str, Any] = {"command_accepted": True, "execution_outcome": None}
    if o is None:
        return out
    out["execution_outcome"] = {
        "authorising_remote_party_seq_number": o.authorising_remote_party_seq_number,
        "credentials_replacement_mode": _named(CredentialsReplacementMode, o.credentials_replacement_mode),
        "remote_party_seq_number_changes": _changes(o.remote_party_seq_number_changes),
        "replacement_outcomes": [{
            "affected_cell": _cell(r.affected_cell),
            "status_code": f"{r.status_code.name.lower()} ({int(r.status_code)})",
            "existing_subject_unique_id": r.existing_subject_unique_id.hex().upper(),
            "existing_subject_key_id": r.existing_subject_key_id.hex().upper(),
            "replacing_subject_unique_id": r.replacing_subject_unique_id.hex().upper(),
            "replacing_subject_key_id": r.replacing_subject_key_id.hex().upper(),
        } for r in o.replacement_outcomes],
    }
    return out


def describe(payload: bytes, key: Optional[PublicKeyLike] = None) -> dict:
    """The message, human-readably. ``key``: the signer's public key or digital-signing
    certificate; ``signature.verified`` is None without one."""
    inner = unwrap_general_ciphering(payload)
    message = decode(inner)
    header = message.header
    sig = message.signature
    state = "absent" if sig is None else ("empty" if len(sig) == 0 else "present")
    out: dict[str, Any] = {
        "frame": ("General Signing APDU" if inner == bytes(payload)
                  else "General Ciphering MAC header (MAC not checked) around a General Signing APDU"),
        "cra_flag": _named(CraFlag, header.cra_flag),
        "message_code": f"0x{header.message_code:04X}",
        "message": MESSAGE_CODES.get(header.message_code, "not a CS02b message"),
        "originator_counter": header.originator_counter,
        "originator_system_title": eui64_text(header.originator_system_title),
        "recipient_system_title": eui64_text(header.recipient_system_title),
        "date_time": str(header.date_time) if header.date_time is not None else None,
        "supplementary_other_information": header.supplementary.hex().upper() or None,
        "signature": {
            "state": state,
            "present": state == "present",
            "verified": None if key is None else verify(inner, key),
        },
    }
    if isinstance(message, Cs02bCommand):
        out["command"] = _command(message.body)
    elif isinstance(message, Cs02bResponse):
        out["response"] = _response(message.body)
    elif isinstance(message, GeneralSigningApdu):
        content = message.content.hex().upper()
        out["content"] = content[:2 * _CLIP] + ("..." if len(content) > 2 * _CLIP else "")
    return out
