"""CS02b Update Security Credentials: the command and response content, ASN.1 DER.

Where the facts come from
-------------------------
GBCS's own ASN.1 module is not in the public DCC repositories, so :data:`ASN1_MODULE` below is
reconstructed, and every component of it is pinned by public material:

* the components, their order and which are optional: SmartDCCInnovation/gbcs-parser,
  ``src/asn1.ts`` (``parseUpdateSecurityCredentialsCommand`` / ``...Response``,
  ``parseAuthorisingRemotePartyControl`` with the optional tags 0x80, 0x81, 0xA2, 0x84, 0xA5,
  0xA6, ``parseTrustAnchorReplacement``, ``parseTrustAnchorCellIdentifier``,
  ``parseReplacementOutcome``, ``parseRemotePartySeqNumberChange``, ``parseSpecialistSeqNumber``,
  and the value names of ``parseRemotePartyRole``, ``parseKeyUsage``, ``parseCellUsage``
  (``CellUsage ::= INTEGER { management (0), prePaymentTopUp (1) } DEFAULT management``),
  ``parseCredentialsReplacementMode``, ``parseStatusCode``, Apply Time Based CPV Checks
  ``{0: Apply, 1: Disapply}``);
* the universal and context tags of every component: the RTDS 4.5.0 vectors in the same
  repository, ``test/rtds/RTDS-4.5.0/6.15.1_CS02bNOByNO/`` and ``6.15.1_CS02bSupplierBySupplier/``
  (e.g. ``3013 020103 A207020103 03020780 830204B0 840100`` for the NO-by-NO control). Checked
  when this was written: the codec decodes all 41 CS02b files of RTDS 4.5.0 there (commands,
  Pre-Commands and responses; the 0x00CB alerts as generic APDUs) and re-encodes every command
  byte for byte; ``tests/test_gbcs.py`` carries ten of them;
* message codes 0x0100-0x0109 (``src/util.ts`` ``messageCodes``); the RTDS and DUIS-template
  pairs (duis-templates ``CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML`` with RequestID counter
  1200 and ``ApplyTimeBasedCPVChecks`` true <-> RTDS Pre-Command with Originator Counter and
  Authorising Remote Party Seq Number 0x04B0 and no [1] component; the supplier template with
  ``false`` <-> ``81 01 01``, disapply) show how DUIS maps onto it.

The component names follow the parser's labels; credentials replacement modes 0 and 1 are not
named by the parser and are inferred from the message codes (mode = message code - 0x0100 for
every named mode 2-9).

Why asn1tools
-------------
asn1tools (PyPI, maintained, releases through 2026) compiles an ASN.1 module from its text, so the
structure above is one readable block that can be checked against GBCS line by line, and it
provides both BER and DER codecs. Decoding uses its BER codec because real devices are looser than
DER: the RTDS responses encode a length ``82 0083`` that DER would write ``81 83``; encoding uses
DER. pyasn1 would have needed the same module hand-written as Python classes. The library's own
exceptions never leave this module: every failure is a :class:`~gbcs.errors.MalformedGbcs` or
:class:`~gbcs.errors.GbcsValueError`.

Certificates travel as opaque DER (``ANY``): the codec checks they are one well-formed
SEQUENCE, not that they are valid X.509 (a harness must be able to send a bad certificate).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import IntEnum, IntFlag
from typing import Any, Optional, Union

from .errors import GbcsValueError, MalformedGbcs

# --------------------------------------------------------------------------- message codes

#: CS02b message codes (gbcs-parser ``src/util.ts``); the low byte is the replacement mode.
MESSAGE_CODES: dict[int, str] = {
    0x0100: "CS02b Update Security Credentials (rootBySupplier)",
    0x0101: "CS02b Update Security Credentials (rootByWanProvider)",
    0x0102: "CS02b Update Security Credentials (supplierBySupplier)",
    0x0103: "CS02b Update Security Credentials (networkOperatorByNetworkOperator)",
    0x0104: "CS02b Update Security Credentials (accessControlBrokerByACB)",
    0x0105: "CS02b Update Security Credentials (wanProviderByWanProvider)",
    0x0106: "CS02b Update Security Credentials (transCoSByTransCoS)",
    0x0107: "CS02b Update Security Credentials (supplierByTransCoS)",
    0x0108: "CS02b Update Security Credentials (anyExceptAbnormalRootByRecovery)",
    0x0109: "CS02b Update Security Credentials (anyByContingency)",
}
MESSAGE_CODE_NETWORK_OPERATOR_BY_NETWORK_OPERATOR = 0x0103
MESSAGE_CODE_SUPPLIER_BY_SUPPLIER = 0x0102
#: Execution date-time meaning "cancel the future-dated command" (RTDS 4.5.0
#: ``CS02bSupplierBySupplier_6.15.1_CANCELLATION_SUCCESS_PRECOMMAND_GBCS.HEX``: 99991231235959Z).
CANCELLATION_DATE_TIME = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


def is_cs02b(message_code: int) -> bool:
    return message_code in MESSAGE_CODES


# --------------------------------------------------------------------------- enumerations

class RemotePartyRole(IntEnum):
    """gbcs-parser ``parseRemotePartyRole``. 8 (load controller) is inferred: dccboxed-keystore
    ``keystore.json`` gives its ``Z1-loadController`` certificates role code 8. Unknown values
    decode as plain ints."""

    ROOT = 0
    RECOVERY = 1
    SUPPLIER = 2
    NETWORK_OPERATOR = 3
    ACCESS_CONTROL_BROKER = 4
    TRANSITIONAL_COS = 5
    WAN_PROVIDER = 6
    ISSUING_AUTHORITY = 7
    LOAD_CONTROLLER = 8
    OTHER = 127


class KeyUsage(IntFlag):
    """X.509 KeyUsage named bits (bit n is value 1 << n); a trust anchor cell holds one of
    digitalSignature or keyAgreement (``03020780`` / ``03020308`` in the RTDS vectors)."""

    DIGITAL_SIGNATURE = 1 << 0
    NON_REPUDIATION = 1 << 1
    KEY_ENCIPHERMENT = 1 << 2
    DATA_ENCIPHERMENT = 1 << 3
    KEY_AGREEMENT = 1 << 4
    KEY_CERT_SIGN = 1 << 5
    CRL_SIGN = 1 << 6
    ENCIPHER_ONLY = 1 << 7
    DECIPHER_ONLY = 1 << 8


class CellUsage(IntEnum):
    MANAGEMENT = 0
    PREPAYMENT_TOP_UP = 1


class CredentialsReplacementMode(IntEnum):
    """gbcs-parser ``parseCredentialsReplacementMode`` (2-9); 0 and 1 inferred from the
    message codes 0x0100 rootBySupplier and 0x0101 rootByWanProvider."""

    ROOT_BY_SUPPLIER = 0
    ROOT_BY_WAN_PROVIDER = 1
    SUPPLIER_BY_SUPPLIER = 2
    NETWORK_OPERATOR_BY_NETWORK_OPERATOR = 3
    ACB_BY_ACB = 4
    WAN_PROVIDER_BY_WAN_PROVIDER = 5
    TRANSCOS_BY_TRANSCOS = 6
    SUPPLIER_BY_TRANSCOS = 7
    ANY_EXCEPT_ABNORMAL_ROOT_BY_RECOVERY = 8
    ANY_BY_CONTINGENCY = 9


class ApplyTimeBasedCpvChecks(IntEnum):
    """``[1]`` of the control. Absent in the RTDS Pre-Command of the DUIS template that says
    ``ApplyTimeBasedCPVChecks`` true; ``DISAPPLY`` where the template says false."""

    APPLY = 0
    DISAPPLY = 1


class SeqNumberUsage(IntEnum):
    PREPAYMENT_TOP_UP = 0


class StatusCode(IntEnum):
    """gbcs-parser ``parseStatusCode`` (an ENUMERATED, tag 0A in the RTDS responses)."""

    SUCCESS = 0
    BAD_CERTIFICATE = 5
    NO_TRUST_ANCHOR = 10
    INSUFFICIENT_MEMORY = 17
    TRUST_ANCHOR_NOT_FOUND = 25
    RESOURCES_BUSY = 30
    OTHER = 127


# --------------------------------------------------------------------------- the ASN.1 module

ASN1_MODULE = r"""
GBCS-UpdateSecurityCredentials DEFINITIONS IMPLICIT TAGS ::= BEGIN

UpdateSecurityCredentials ::= SEQUENCE {
    authorisingRemotePartyControl   AuthorisingRemotePartyControl,
    replacements                    SEQUENCE OF TrustAnchorReplacement,
    certificationPathCertificates   SEQUENCE OF Certificate,
    executionDateTime               GeneralizedTime OPTIONAL
}

AuthorisingRemotePartyControl ::= SEQUENCE {
    credentialsReplacementMode                  CredentialsReplacementMode,
    plaintextSymmetricKey                   [0] OCTET STRING OPTIONAL,
    applyTimeBasedCPVChecks                 [1] ApplyTimeBasedCPVChecks OPTIONAL,
    authorisingRemotePartyTACellIdentifier  [2] TrustAnchorCellIdentifier OPTIONAL,
    authorisingRemotePartySeqNumber         [3] SeqNumber,
    newRemotePartyFloorSeqNumber            [4] SeqNumber OPTIONAL,
    newRemotePartySpecialistFloorSeqNumber  [5] SEQUENCE OF SpecialistSeqNumber OPTIONAL,
    otherRemotePartySeqNumberChanges        [6] SEQUENCE OF RemotePartySeqNumberChange OPTIONAL
}

TrustAnchorReplacement ::= SEQUENCE {
    replacingCertificate    Certificate,
    targetTrustAnchorCell   TrustAnchorCellIdentifier
}

TrustAnchorCellIdentifier ::= SEQUENCE {
    trustAnchorCellRemotePartyRole  RemotePartyRole,
    trustAnchorCellKeyUsage         KeyUsage,
    trustAnchorCellUsage            CellUsage DEFAULT management
}

SpecialistSeqNumber ::= SEQUENCE {
    seqNumberUsage  SeqNumberUsage,
    seqNumber       SeqNumber
}

RemotePartySeqNumberChange ::= SEQUENCE {
    remotePartyRole             RemotePartyRole,
    floorSeqNumber              SeqNumber,
    specialistFloorSeqNumber    SEQUENCE OF SpecialistSeqNumber OPTIONAL
}

UpdateSecurityCredentialsResponse ::= SEQUENCE {
    commandAccepted     NULL,
    executionOutcome    UpdateSecurityCredentialsExecutionOutcome OPTIONAL
}

UpdateSecurityCredentialsExecutionOutcome ::= SEQUENCE {
    authorisingRemotePartySeqNumber SeqNumber,
    credentialsReplacementMode      CredentialsReplacementMode,
    remotePartySeqNumberChanges     SEQUENCE OF RemotePartySeqNumberChange,
    replacementOutcomes             SEQUENCE OF ReplacementOutcome
}

ReplacementOutcome ::= SEQUENCE {
    affectedTrustAnchorCell     TrustAnchorCellIdentifier,
    statusCode                  StatusCode,
    existingSubjectUniqueID     OCTET STRING,
    existingSubjectKeyID        OCTET STRING,
    replacingSubjectUniqueID    OCTET STRING,
    replacingSubjectKeyID       OCTET STRING
}

CredentialsReplacementMode ::= INTEGER
ApplyTimeBasedCPVChecks ::= INTEGER { apply (0), disapply (1) }
RemotePartyRole ::= INTEGER
KeyUsage ::= BIT STRING
CellUsage ::= INTEGER { management (0), prePaymentTopUp (1) }
SeqNumberUsage ::= INTEGER
SeqNumber ::= INTEGER
StatusCode ::= ENUMERATED {
    success (0), badCertificate (5), noTrustAnchor (10), insufficientMemory (17),
    trustAnchorNotFound (25), resourcesBusy (30), other (127)
}
Certificate ::= ANY  -- an X.509 certificate, kept as its DER bytes

END
"""


@functools.lru_cache(maxsize=None)
def _compiled(codec: str):
    import asn1tools  # the one place the library is imported

    return asn1tools.compile_string(ASN1_MODULE, codec)


_STATUS_NAMES = {
    "success": StatusCode.SUCCESS, "badCertificate": StatusCode.BAD_CERTIFICATE,
    "noTrustAnchor": StatusCode.NO_TRUST_ANCHOR, "insufficientMemory": StatusCode.INSUFFICIENT_MEMORY,
    "trustAnchorNotFound": StatusCode.TRUST_ANCHOR_NOT_FOUND, "resourcesBusy": StatusCode.RESOURCES_BUSY,
    "other": StatusCode.OTHER,
}
_STATUS_BY_VALUE = {v: k for k, v in _STATUS_NAMES.items()}
_NAMED_INTEGERS = {"management": 0, "prePaymentTopUp": 1, "apply": 0, "disapply": 1}

#: Bounds the codec applies on both sides (none is reached by a real CS02b).
MAX_SEQ_NUMBER = 2**64 - 1   # sequence numbers are compared with 8-byte originator counters
MAX_SMALL_INTEGER = 0xFFFF   # roles, modes, usages
MAX_KEY_USAGE_BITS = 16


# --------------------------------------------------------------------------- dataclasses

@dataclass(frozen=True)
class TrustAnchorCell:
    """A Trust Anchor Cell Identifier: which of the device's cells a certificate fills."""

    remote_party_role: int
    key_usage: KeyUsage
    cell_usage: int = CellUsage.MANAGEMENT


@dataclass(frozen=True)
class TrustAnchorReplacement:
    """One replacement: a certificate (DER) and the cell it goes to."""

    certificate: bytes
    target: TrustAnchorCell


@dataclass(frozen=True)
class SpecialistSeqNumber:
    usage: int
    seq_number: int


@dataclass(frozen=True)
class RemotePartySeqNumberChange:
    remote_party_role: int
    floor_seq_number: int
    specialist_floor_seq_numbers: Optional[tuple[SpecialistSeqNumber, ...]] = None


@dataclass(frozen=True)
class AuthorisingRemotePartyControl:
    credentials_replacement_mode: int
    authorising_remote_party_seq_number: int
    plaintext_symmetric_key: Optional[bytes] = None
    apply_time_based_cpv_checks: Optional[int] = None
    authorising_remote_party_ta_cell: Optional[TrustAnchorCell] = None
    new_remote_party_floor_seq_number: Optional[int] = None
    new_remote_party_specialist_floor_seq_numbers: Optional[tuple[SpecialistSeqNumber, ...]] = None
    other_remote_party_seq_number_changes: Optional[tuple[RemotePartySeqNumberChange, ...]] = None


@dataclass(frozen=True)
class UpdateSecurityCredentials:
    """The CS02b command content."""

    control: AuthorisingRemotePartyControl
    replacements: tuple[TrustAnchorReplacement, ...]
    certification_path_certificates: tuple[bytes, ...] = ()
    execution_date_time: Optional[datetime] = None


@dataclass(frozen=True)
class ReplacementOutcome:
    affected_cell: TrustAnchorCell
    status_code: StatusCode
    existing_subject_unique_id: bytes
    existing_subject_key_id: bytes
    replacing_subject_unique_id: bytes
    replacing_subject_key_id: bytes


@dataclass(frozen=True)
class ExecutionOutcome:
    authorising_remote_party_seq_number: int
    credentials_replacement_mode: int
    remote_party_seq_number_changes: tuple[RemotePartySeqNumberChange, ...]
    replacement_outcomes: tuple[ReplacementOutcome, ...]


@dataclass(frozen=True)
class UpdateSecurityCredentialsResponse:
    """The CS02b response content: the command accepted, and for an immediate command its
    execution outcome (a future-dated command's response is ``3002 0500``, accepted only)."""

    execution_outcome: Optional[ExecutionOutcome] = None


Cs02bContent = Union[UpdateSecurityCredentials, UpdateSecurityCredentialsResponse]


def _known(enum: type[IntEnum], value: int) -> int:
    """The enum member for a known value, the plain int otherwise (equal either way)."""
    try:
        return enum(value)
    except ValueError:
        return value


def replacement_for_certificate(
    certificate: bytes, remote_party_role: int, cell_usage: int = CellUsage.MANAGEMENT
) -> TrustAnchorReplacement:
    """A replacement whose target cell's key usage is read from the certificate's own Key
    Usage extension (digitalSignature or keyAgreement). GbcsValueError when it has neither,
    or is not a certificate."""
    from cryptography import x509

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cert = x509.load_der_x509_certificate(bytes(certificate))
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except Exception as e:  # noqa: BLE001 - any parse failure is a bad certificate here
        raise GbcsValueError(f"expected a DER certificate with a Key Usage extension: {type(e).__name__}") from None
    if ku.digital_signature and not ku.key_agreement:
        usage = KeyUsage.DIGITAL_SIGNATURE
    elif ku.key_agreement and not ku.digital_signature:
        usage = KeyUsage.KEY_AGREEMENT
    else:
        raise GbcsValueError("expected a certificate for exactly one of digitalSignature or keyAgreement")
    return TrustAnchorReplacement(bytes(certificate), TrustAnchorCell(remote_party_role, usage, cell_usage))


# --------------------------------------------------------------------------- to the library's values

def _int(name: str, v: object, top: int) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= top:
        raise GbcsValueError(f"{name} must be an integer 0..{top}, got {v!r:.40}")
    return int(v)


def _octets(name: str, v: object) -> bytes:
    if not isinstance(v, (bytes, bytearray)):
        raise GbcsValueError(f"{name} must be bytes, got {type(v).__name__}")
    return bytes(v)


def _tuple(name: str, v: object) -> tuple:
    if not isinstance(v, (tuple, list)):
        raise GbcsValueError(f"{name} must be a tuple, got {type(v).__name__}")
    return tuple(v)


def _check_tlv(name: str, der: bytes) -> bytes:
    """One DER SEQUENCE with a definite length covering exactly ``der`` (a certificate's shape)."""
    der = _octets(name, der)
    if len(der) < 2 or der[0] != 0x30:
        raise GbcsValueError(f"{name} must be a DER SEQUENCE (a certificate)")
    first = der[1]
    if first < 0x80:
        n, head = first, 2
    else:
        size = first & 0x7F
        if not 1 <= size <= 3 or len(der) < 2 + size:
            raise GbcsValueError(f"{name} has an unusable length")
        n, head = int.from_bytes(der[2:2 + size], "big"), 2 + size
    if head + n != len(der):
        raise GbcsValueError(f"{name}: its DER length says {head + n} bytes, it has {len(der)}")
    return der


def _bits_from_usage(usage: object) -> tuple[bytes, int]:
    value = _int("key_usage", usage, (1 << MAX_KEY_USAGE_BITS) - 1)
    nbits = value.bit_length()  # DER named bit list: trailing zero bits removed
    out = bytearray((nbits + 7) // 8)
    for i in range(nbits):
        if value >> i & 1:
            out[i // 8] |= 0x80 >> (i % 8)
    return bytes(out), nbits


def _usage_from_bits(value: Any) -> KeyUsage:
    data, nbits = value
    if nbits > MAX_KEY_USAGE_BITS:
        raise MalformedGbcs(f"expected a key usage of at most {MAX_KEY_USAGE_BITS} bits, got {nbits}")
    usage = 0
    for i in range(nbits):
        if data[i // 8] & (0x80 >> (i % 8)):
            usage |= 1 << i
    return KeyUsage(usage)


def _cell_out(cell: object) -> dict:
    if not isinstance(cell, TrustAnchorCell):
        raise GbcsValueError(f"expected a TrustAnchorCell, got {type(cell).__name__}")
    out = {
        "trustAnchorCellRemotePartyRole": _int("remote_party_role", cell.remote_party_role, MAX_SMALL_INTEGER),
        "trustAnchorCellKeyUsage": _bits_from_usage(cell.key_usage),
    }
    usage = _int("cell_usage", cell.cell_usage, MAX_SMALL_INTEGER)
    if usage != CellUsage.MANAGEMENT:  # DER: a DEFAULT value is left out
        out["trustAnchorCellUsage"] = usage
    return out


def _specialists_out(name: str, items: object) -> list:
    out = []
    for s in _tuple(name, items):
        if not isinstance(s, SpecialistSeqNumber):
            raise GbcsValueError(f"{name} must hold SpecialistSeqNumber, got {type(s).__name__}")
        out.append({"seqNumberUsage": _int("usage", s.usage, MAX_SMALL_INTEGER),
                    "seqNumber": _int("seq_number", s.seq_number, MAX_SEQ_NUMBER)})
    return out


def _changes_out(name: str, items: object) -> list:
    out = []
    for c in _tuple(name, items):
        if not isinstance(c, RemotePartySeqNumberChange):
            raise GbcsValueError(f"{name} must hold RemotePartySeqNumberChange, got {type(c).__name__}")
        d = {"remotePartyRole": _int("remote_party_role", c.remote_party_role, MAX_SMALL_INTEGER),
             "floorSeqNumber": _int("floor_seq_number", c.floor_seq_number, MAX_SEQ_NUMBER)}
        if c.specialist_floor_seq_numbers is not None:
            d["specialistFloorSeqNumber"] = _specialists_out("specialist_floor_seq_numbers",
                                                             c.specialist_floor_seq_numbers)
        out.append(d)
    return out


def _time_out(value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise GbcsValueError("execution_date_time must be a timezone-aware datetime")
    u = value.astimezone(timezone.utc)
    if u.microsecond:
        raise GbcsValueError("execution_date_time must be whole seconds")
    if u.year < 1000:
        raise GbcsValueError("execution_date_time must have a four-digit year")
    return u


def _command_out(cmd: UpdateSecurityCredentials) -> dict:
    c = cmd.control
    if not isinstance(c, AuthorisingRemotePartyControl):
        raise GbcsValueError(f"control must be an AuthorisingRemotePartyControl, got {type(c).__name__}")
    ctl: dict[str, Any] = {
        "credentialsReplacementMode": _int("credentials_replacement_mode", c.credentials_replacement_mode,
                                           MAX_SMALL_INTEGER),
        "authorisingRemotePartySeqNumber": _int("authorising_remote_party_seq_number",
                                                c.authorising_remote_party_seq_number, MAX_SEQ_NUMBER),
    }
    if c.plaintext_symmetric_key is not None:
        ctl["plaintextSymmetricKey"] = _octets("plaintext_symmetric_key", c.plaintext_symmetric_key)
    if c.apply_time_based_cpv_checks is not None:
        ctl["applyTimeBasedCPVChecks"] = _int("apply_time_based_cpv_checks", c.apply_time_based_cpv_checks,
                                              MAX_SMALL_INTEGER)
    if c.authorising_remote_party_ta_cell is not None:
        ctl["authorisingRemotePartyTACellIdentifier"] = _cell_out(c.authorising_remote_party_ta_cell)
    if c.new_remote_party_floor_seq_number is not None:
        ctl["newRemotePartyFloorSeqNumber"] = _int("new_remote_party_floor_seq_number",
                                                   c.new_remote_party_floor_seq_number, MAX_SEQ_NUMBER)
    if c.new_remote_party_specialist_floor_seq_numbers is not None:
        ctl["newRemotePartySpecialistFloorSeqNumber"] = _specialists_out(
            "new_remote_party_specialist_floor_seq_numbers", c.new_remote_party_specialist_floor_seq_numbers)
    if c.other_remote_party_seq_number_changes is not None:
        ctl["otherRemotePartySeqNumberChanges"] = _changes_out(
            "other_remote_party_seq_number_changes", c.other_remote_party_seq_number_changes)
    replacements = []
    for r in _tuple("replacements", cmd.replacements):
        if not isinstance(r, TrustAnchorReplacement):
            raise GbcsValueError(f"replacements must hold TrustAnchorReplacement, got {type(r).__name__}")
        replacements.append({"replacingCertificate": _check_tlv("replacement certificate", r.certificate),
                             "targetTrustAnchorCell": _cell_out(r.target)})
    out = {
        "authorisingRemotePartyControl": ctl,
        "replacements": replacements,
        "certificationPathCertificates": [_check_tlv("certification path certificate", c)
                                          for c in _tuple("certification_path_certificates",
                                                          cmd.certification_path_certificates)],
    }
    if cmd.execution_date_time is not None:
        out["executionDateTime"] = _time_out(cmd.execution_date_time)
    return out


def _response_out(rsp: UpdateSecurityCredentialsResponse) -> dict:
    out: dict[str, Any] = {"commandAccepted": None}
    o = rsp.execution_outcome
    if o is None:
        return out
    if not isinstance(o, ExecutionOutcome):
        raise GbcsValueError(f"execution_outcome must be an ExecutionOutcome, got {type(o).__name__}")
    outcomes = []
    for r in _tuple("replacement_outcomes", o.replacement_outcomes):
        if not isinstance(r, ReplacementOutcome):
            raise GbcsValueError(f"replacement_outcomes must hold ReplacementOutcome, got {type(r).__name__}")
        try:
            status = _STATUS_BY_VALUE[StatusCode(r.status_code)]
        except (ValueError, KeyError, TypeError):
            raise GbcsValueError(f"status_code must be a StatusCode, got {r.status_code!r:.40}") from None
        outcomes.append({
            "affectedTrustAnchorCell": _cell_out(r.affected_cell),
            "statusCode": status,
            "existingSubjectUniqueID": _octets("existing_subject_unique_id", r.existing_subject_unique_id),
            "existingSubjectKeyID": _octets("existing_subject_key_id", r.existing_subject_key_id),
            "replacingSubjectUniqueID": _octets("replacing_subject_unique_id", r.replacing_subject_unique_id),
            "replacingSubjectKeyID": _octets("replacing_subject_key_id", r.replacing_subject_key_id),
        })
    out["executionOutcome"] = {
        "authorisingRemotePartySeqNumber": _int("authorising_remote_party_seq_number",
                                                o.authorising_remote_party_seq_number, MAX_SEQ_NUMBER),
        "credentialsReplacementMode": _int("credentials_replacement_mode", o.credentials_replacement_mode,
                                           MAX_SMALL_INTEGER),
        "remotePartySeqNumberChanges": _changes_out("remote_party_seq_number_changes",
                                                    o.remote_party_seq_number_changes),
        "replacementOutcomes": outcomes,
    }
    return out


def encode_content(content: Cs02bContent) -> bytes:
    """DER of a CS02b command or response content."""
    if isinstance(content, UpdateSecurityCredentials):
        type_name, value = "UpdateSecurityCredentials", _command_out(content)
    elif isinstance(content, UpdateSecurityCredentialsResponse):
        type_name, value = "UpdateSecurityCredentialsResponse", _response_out(content)
    else:
        raise GbcsValueError(f"expected CS02b content, got {type(content).__name__}")
    try:
        return bytes(_compiled("der").encode(type_name, value))
    except Exception as e:  # noqa: BLE001 - the library's errors never leave the codec
        raise GbcsValueError(f"cannot encode {type_name}: {str(e)[:200]}") from None


# --------------------------------------------------------------------------- from the library's values

def _dec_int(name: str, v: Any, top: int) -> int:
    if isinstance(v, str) and v in _NAMED_INTEGERS:
        v = _NAMED_INTEGERS[v]
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= top:
        raise MalformedGbcs(f"expected {name} 0..{top}, got {str(v)[:40]}")
    return v


def _role_in(v: Any) -> int:
    return _known(RemotePartyRole, _dec_int("a remote party role", v, MAX_SMALL_INTEGER))


def _mode_in(v: Any) -> int:
    return _known(CredentialsReplacementMode, _dec_int("a credentials replacement mode", v, MAX_SMALL_INTEGER))


def _seq_in(v: Any) -> int:
    return _dec_int("a seq number", v, MAX_SEQ_NUMBER)


def _cell_in(d: dict) -> TrustAnchorCell:
    return TrustAnchorCell(
        remote_party_role=_role_in(d["trustAnchorCellRemotePartyRole"]),
        key_usage=_usage_from_bits(d["trustAnchorCellKeyUsage"]),
        cell_usage=_known(CellUsage, _dec_int("a cell usage", d.get("trustAnchorCellUsage", 0), MAX_SMALL_INTEGER)),
    )


def _specialists_in(items: list) -> tuple[SpecialistSeqNumber, ...]:
    return tuple(SpecialistSeqNumber(
        usage=_known(SeqNumberUsage, _dec_int("a seq number usage", s["seqNumberUsage"], MAX_SMALL_INTEGER)),
        seq_number=_seq_in(s["seqNumber"])) for s in items)


def _changes_in(items: list) -> tuple[RemotePartySeqNumberChange, ...]:
    return tuple(RemotePartySeqNumberChange(
        remote_party_role=_role_in(c["remotePartyRole"]),
        floor_seq_number=_seq_in(c["floorSeqNumber"]),
        specialist_floor_seq_numbers=(_specialists_in(c["specialistFloorSeqNumber"])
                                      if "specialistFloorSeqNumber" in c else None),
    ) for c in items)


def _certificate_in(v: Any) -> bytes:
    try:
        return _check_tlv("certificate", bytes(v))
    except GbcsValueError as e:
        raise MalformedGbcs(str(e)) from None


def _command_in(d: dict) -> UpdateSecurityCredentials:
    c = d["authorisingRemotePartyControl"]
    control = AuthorisingRemotePartyControl(
        credentials_replacement_mode=_mode_in(c["credentialsReplacementMode"]),
        authorising_remote_party_seq_number=_seq_in(c["authorisingRemotePartySeqNumber"]),
        plaintext_symmetric_key=bytes(c["plaintextSymmetricKey"]) if "plaintextSymmetricKey" in c else None,
        apply_time_based_cpv_checks=(_known(ApplyTimeBasedCpvChecks, _dec_int(
            "apply time based CPV checks", c["applyTimeBasedCPVChecks"], MAX_SMALL_INTEGER))
            if "applyTimeBasedCPVChecks" in c else None),
        authorising_remote_party_ta_cell=(_cell_in(c["authorisingRemotePartyTACellIdentifier"])
                                          if "authorisingRemotePartyTACellIdentifier" in c else None),
        new_remote_party_floor_seq_number=(_seq_in(c["newRemotePartyFloorSeqNumber"])
                                           if "newRemotePartyFloorSeqNumber" in c else None),
        new_remote_party_specialist_floor_seq_numbers=(
            _specialists_in(c["newRemotePartySpecialistFloorSeqNumber"])
            if "newRemotePartySpecialistFloorSeqNumber" in c else None),
        other_remote_party_seq_number_changes=(_changes_in(c["otherRemotePartySeqNumberChanges"])
                                               if "otherRemotePartySeqNumberChanges" in c else None),
    )
    when = d.get("executionDateTime")
    if when is not None:
        if not isinstance(when, datetime) or when.tzinfo is None:
            raise MalformedGbcs("expected the execution date-time in UTC (GeneralizedTime ending Z)")
        when = when.astimezone(timezone.utc)
    return UpdateSecurityCredentials(
        control=control,
        replacements=tuple(TrustAnchorReplacement(_certificate_in(r["replacingCertificate"]),
                                                  _cell_in(r["targetTrustAnchorCell"]))
                           for r in d["replacements"]),
        certification_path_certificates=tuple(_certificate_in(x) for x in d["certificationPathCertificates"]),
        execution_date_time=when,
    )


def _response_in(d: dict) -> UpdateSecurityCredentialsResponse:
    o = d.get("executionOutcome")
    if o is None:
        return UpdateSecurityCredentialsResponse()
    outcomes = []
    for r in o["replacementOutcomes"]:
        status = r["statusCode"]
        if status not in _STATUS_NAMES:
            raise MalformedGbcs(f"expected a known status code, got {str(status)[:40]}")
        outcomes.append(ReplacementOutcome(
            affected_cell=_cell_in(r["affectedTrustAnchorCell"]),
            status_code=_STATUS_NAMES[status],
            existing_subject_unique_id=bytes(r["existingSubjectUniqueID"]),
            existing_subject_key_id=bytes(r["existingSubjectKeyID"]),
            replacing_subject_unique_id=bytes(r["replacingSubjectUniqueID"]),
            replacing_subject_key_id=bytes(r["replacingSubjectKeyID"]),
        ))
    return UpdateSecurityCredentialsResponse(ExecutionOutcome(
        authorising_remote_party_seq_number=_seq_in(o["authorisingRemotePartySeqNumber"]),
        credentials_replacement_mode=_mode_in(o["credentialsReplacementMode"]),
        remote_party_seq_number_changes=_changes_in(o["remotePartySeqNumberChanges"]),
        replacement_outcomes=tuple(outcomes),
    ))


def _decode(type_name: str, data: bytes, build) -> Any:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise MalformedGbcs(f"expected content bytes, got {type(data).__name__}")
    data = bytes(data)
    try:
        value, length = _compiled("ber").decode_with_length(type_name, data)
    except Exception as e:  # noqa: BLE001 - the library's errors never leave the codec
        raise MalformedGbcs(f"expected {type_name} in ASN.1: {str(e)[:200]}") from None
    if length != len(data):
        raise MalformedGbcs(f"expected {type_name} to fill the content, {len(data) - length} bytes follow it")
    try:
        return build(value)
    except MalformedGbcs:
        raise
    except Exception as e:  # noqa: BLE001 - an unexpected shape is malformed input
        raise MalformedGbcs(f"unexpected {type_name} value: {type(e).__name__}: {str(e)[:120]}") from None


def decode_command_content(data: bytes) -> UpdateSecurityCredentials:
    """The CS02b command content (BER accepted, as devices and the DSP send it)."""
    return _decode("UpdateSecurityCredentials", data, _command_in)


def decode_response_content(data: bytes) -> UpdateSecurityCredentialsResponse:
    """The CS02b response content (BER accepted: the RTDS responses use ``30 82 0083``)."""
    return _decode("UpdateSecurityCredentialsResponse", data, _response_in)
