"""The GBCS codec: the only place in the project that knows GBCS.

What a DCC User handles of GBCS on the DCC's own interface (issue 12): the Pre-Command the DSP
answers a Critical (Command Variant 4) request with, signed by the user and sent back with
Command Variant 5; for SRV 6.15.1 on the NetworkOperator slot that is CS02b Update Security
Credentials (networkOperatorByNetworkOperator), message code 0x0103.

Modules, one job each: ``errors`` (the GbcsError family), ``apdu`` (the General Signing APDU
header, lengths, DLMS date-time, the MAC-header unwrap), ``cs02b`` (the CS02b command and
response content in ASN.1, via asn1tools), ``codec`` (whole messages: ``encode`` / ``decode``),
``signing`` (ECDSA P-256 signing and verifying of Pre-Commands), ``describe`` (a decoded message
for evidence). It imports nothing of the project: only the standard library, ``asn1tools`` and
``cryptography``.

Public facts it rests on come from the DCC's public repositories (GPL; read for facts, no code
taken): SmartDCCInnovation/gbcs-parser (``src/parser.ts``, ``src/asn1.ts``, ``src/common.ts``,
``src/crypto.ts``, ``src/util.ts`` and the RTDS 4.5.0 vectors in ``test/rtds/``),
SmartDCCInnovation/duis-templates and SmartDCCInnovation/dccboxed-keystore; each module says
which fact came from where.
"""

from . import apdu, codec, cs02b, errors, signing
from .apdu import (
    CraFlag,
    DlmsDateTime,
    GeneralSigningApdu,
    GeneralSigningHeader,
    decode_apdu,
    encode_apdu,
    eui64_bytes,
    eui64_text,
    unwrap_general_ciphering,
)
from .codec import Cs02bCommand, Cs02bResponse, GbcsMessage, decode, encode
from .cs02b import (
    MESSAGE_CODE_NETWORK_OPERATOR_BY_NETWORK_OPERATOR,
    MESSAGE_CODES,
    ApplyTimeBasedCpvChecks,
    AuthorisingRemotePartyControl,
    CellUsage,
    CredentialsReplacementMode,
    ExecutionOutcome,
    KeyUsage,
    RemotePartyRole,
    RemotePartySeqNumberChange,
    ReplacementOutcome,
    SeqNumberUsage,
    SpecialistSeqNumber,
    StatusCode,
    TrustAnchorCell,
    TrustAnchorReplacement,
    UpdateSecurityCredentials,
    UpdateSecurityCredentialsResponse,
    replacement_for_certificate,
)
from .describe import certificate_summary, describe
from .errors import GbcsError, GbcsValueError, MalformedGbcs, OversizedGbcs, SigningError
from .signing import sign, signature_state, signed_data, verify

__all__ = [
    "apdu", "codec", "cs02b", "errors", "signing",
    "CraFlag", "DlmsDateTime", "GeneralSigningApdu", "GeneralSigningHeader", "decode_apdu",
    "encode_apdu", "eui64_bytes", "eui64_text", "unwrap_general_ciphering",
    "Cs02bCommand", "Cs02bResponse", "GbcsMessage", "decode", "encode",
    "MESSAGE_CODE_NETWORK_OPERATOR_BY_NETWORK_OPERATOR", "MESSAGE_CODES", "ApplyTimeBasedCpvChecks",
    "AuthorisingRemotePartyControl", "CellUsage", "CredentialsReplacementMode", "ExecutionOutcome",
    "KeyUsage", "RemotePartyRole", "RemotePartySeqNumberChange", "ReplacementOutcome",
    "SeqNumberUsage", "SpecialistSeqNumber", "StatusCode", "TrustAnchorCell",
    "TrustAnchorReplacement", "UpdateSecurityCredentials", "UpdateSecurityCredentialsResponse",
    "replacement_for_certificate",
    "certificate_summary", "describe",
    "GbcsError", "GbcsValueError", "MalformedGbcs", "OversizedGbcs", "SigningError",
    "sign", "signature_state", "signed_data", "verify",
]
