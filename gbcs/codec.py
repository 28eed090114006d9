"""Whole GBCS messages: ``decode(bytes) -> dataclass`` and ``encode(dataclass) -> bytes``.

A CS02b message (message codes 0x0100-0x0109) decodes to :class:`Cs02bCommand` (CRA flag 01) or
:class:`Cs02bResponse` (CRA flag 02) with its content decoded; any other General Signing APDU
decodes to a :class:`~gbcs.apdu.GeneralSigningApdu` with its content left as bytes. A command
wrapped in a General Ciphering MAC header (as the DCC sends it to the device) is unwrapped first.

``decode`` followed by ``encode`` gives back the same bytes for anything this codec wrote, and
for every CS02b command content of the RTDS 4.5.0 set; a payload read with longer-than-needed
lengths re-encodes with the shortest ones (which is why :mod:`gbcs.signing` always works on the
bytes it was given, never on re-encoded ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from .apdu import (
    CraFlag,
    GeneralSigningApdu,
    GeneralSigningHeader,
    encode_apdu,
    parse_apdu,
    unwrap_general_ciphering,
)
from .cs02b import (
    UpdateSecurityCredentials,
    UpdateSecurityCredentialsResponse,
    decode_command_content,
    decode_response_content,
    encode_content,
    is_cs02b,
)
from .errors import GbcsValueError


@dataclass(frozen=True)
class Cs02bCommand:
    """A CS02b Update Security Credentials command (for 6.15.1 on the NetworkOperator slot:
    message code 0x0103). ``signature`` as in :class:`~gbcs.apdu.GeneralSigningApdu`: ``None``
    (no signature field), ``b""`` (a zero signature-length byte) or the 64-byte r||s."""

    header: GeneralSigningHeader
    body: UpdateSecurityCredentials
    signature: Optional[bytes] = None


@dataclass(frozen=True)
class Cs02bResponse:
    """A device's CS02b response (CRA flag 02, same message code as the command)."""

    header: GeneralSigningHeader
    body: UpdateSecurityCredentialsResponse
    signature: Optional[bytes] = None


GbcsMessage = Union[Cs02bCommand, Cs02bResponse, GeneralSigningApdu]


def _to_apdu(message: GbcsMessage) -> GeneralSigningApdu:
    if isinstance(message, GeneralSigningApdu):
        return message
    if isinstance(message, Cs02bCommand):
        if not isinstance(message.body, UpdateSecurityCredentials):
            raise GbcsValueError("a Cs02bCommand's body must be UpdateSecurityCredentials")
        expected = CraFlag.COMMAND
    elif isinstance(message, Cs02bResponse):
        if not isinstance(message.body, UpdateSecurityCredentialsResponse):
            raise GbcsValueError("a Cs02bResponse's body must be UpdateSecurityCredentialsResponse")
        expected = CraFlag.RESPONSE
    else:
        raise GbcsValueError(f"expected a GBCS message dataclass, got {type(message).__name__}")
    header = message.header
    if not isinstance(header, GeneralSigningHeader):
        raise GbcsValueError(f"header must be a GeneralSigningHeader, got {type(header).__name__}")
    if header.cra_flag != expected:
        raise GbcsValueError(f"a {type(message).__name__} carries CRA flag {int(expected)}, got {header.cra_flag!r}")
    if not is_cs02b(header.message_code):
        raise GbcsValueError(f"a CS02b message code is 0x0100-0x0109, got {header.message_code!r}")
    return GeneralSigningApdu(header, encode_content(message.body), message.signature)


def encode(message: GbcsMessage) -> bytes:
    """The message's General Signing APDU bytes (content in ASN.1 DER)."""
    return encode_apdu(_to_apdu(message))


def decode(payload: bytes) -> GbcsMessage:
    """Decode a General Signing APDU (or a MAC-header frame around one). Raises only
    :class:`~gbcs.errors.GbcsError`, whatever the bytes."""
    apdu = parse_apdu(unwrap_general_ciphering(payload)).apdu
    code, cra = apdu.header.message_code, apdu.header.cra_flag
    if is_cs02b(code) and cra == CraFlag.COMMAND:
        return Cs02bCommand(apdu.header, decode_command_content(apdu.content), apdu.signature)
    if is_cs02b(code) and cra == CraFlag.RESPONSE:
        return Cs02bResponse(apdu.header, decode_response_content(apdu.content), apdu.signature)
    return apdu
