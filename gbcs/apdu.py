"""The General Signing APDU: the GBCS grouping header around a command, response or alert.

Layout, byte by byte, as the DCC's public GBCS parser reads it (SmartDCCInnovation/gbcs-parser,
``src/parser.ts`` ``parseGeneralSigning``, with ``src/common.ts`` ``parseLength`` /
``parseCraFlag`` / ``parseCounter`` and ``src/dlms.ts`` ``parseDlmsOctetString``), and as every
RTDS 4.5.0 vector in its ``test/rtds/`` carries it::

    DF                   general-signing tag
    09                   transaction-id length: always 9, then
      cc                   CRA flag: 01 command, 02 response, 03 alert
      nn x 8               Originator Counter, 8 bytes big-endian
    08 + 8 bytes         Originator System Title (EUI-64)
    08 + 8 bytes         Recipient System Title (EUI-64)
    00 | 0C + 12 bytes   Date Time, a DLMS octet string: empty in commands, a 12-byte DLMS
                         date-time in responses (e.g. 07DF0101FF000000008000FF)
    L + bytes            Other Information: the 2-byte Message Code (0x0103 = CS02b
                         networkOperatorByNetworkOperator), then optional supplementary
                         remote-party data (parser: 8-byte ID, counters, a certificate)
    L + bytes            Content (ASN.1 DER for CS02b)
    [L + bytes]          Signature: absent, ``00`` (a Pre-Command awaiting its signature), or
                         ``40`` + 64 bytes (ECDSA P-256 r||s)

``L`` is a BER-style definite length: one byte below 0x80, or 0x81 / 0x82 / 0x83 followed by one
to three big-endian bytes (``parseLength``: "Multi-byte length, limit to 3 bytes"). The signed
data runs from the byte after the DF tag to the end of the content (``signedDataStart = index +
1`` ... ``signedDataEnd``).

A command as the DCC sends it to a device is further wrapped in a General Ciphering "MAC header"
(``parseGeneralCiphering``): ``DD`` + six zero bytes, a length, a 5-byte security header
(``11 00000000``), the General Signing APDU, and a 12-byte GMAC. :func:`unwrap_general_ciphering`
returns the inner APDU (the MAC is not checked: that needs the device's key-agreement keys).

The codec reads hostile input: every length is bounded by what remains and the whole payload by
:data:`MAX_PAYLOAD_LENGTH`; anything malformed raises :class:`~gbcs.errors.MalformedGbcs`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import IntEnum
from typing import NamedTuple, Optional

from .errors import GbcsValueError, MalformedGbcs, OversizedGbcs, clip

GENERAL_SIGNING_TAG = 0xDF
GENERAL_CIPHERING_TAG = 0xDD
TRANSACTION_ID_LENGTH = 9
SYSTEM_TITLE_LENGTH = 8
DLMS_DATE_TIME_LENGTH = 12
SIGNATURE_LENGTH = 64
#: The largest payload the codec reads. A CS02b command with two replacements and one path
#: certificate is about 1.4 kB (RTDS 4.5.0); the bound leaves a wide margin and no more.
MAX_PAYLOAD_LENGTH = 64 * 1024
#: Longest length field read: 0x83 + 3 bytes (gbcs-parser ``parseLength``).
_MAX_LENGTH_OCTETS = 3
#: General Ciphering (MAC header): tag + 6 empty fields, a 5-byte security header, a 12-byte MAC
#: (gbcs-parser ``parseGeneralCiphering``; e.g. ``DD000000000000 820582 1100000000 DF... MAC``).
_CIPHERING_HEADER = bytes([GENERAL_CIPHERING_TAG, 0, 0, 0, 0, 0, 0])
_SECURITY_HEADER_LENGTH = 5
_MAC_LENGTH = 12


class CraFlag(IntEnum):
    """The CRA flag, the first byte of the transaction id (gbcs-parser ``parseCraFlag``)."""

    COMMAND = 1
    RESPONSE = 2
    ALERT = 3


# --------------------------------------------------------------------------- EUI-64

_HEX16 = re.compile(r"[0-9A-Fa-f]{16}")


def eui64_bytes(value: str | bytes) -> bytes:
    """``"90-B3-D5-1F-30-02-00-00"`` (or without separators, or 8 bytes) -> 8 bytes."""
    if isinstance(value, (bytes, bytearray)):
        if len(value) != SYSTEM_TITLE_LENGTH:
            raise GbcsValueError(f"expected an 8-byte EUI-64, got {len(value)} bytes")
        return bytes(value)
    if not isinstance(value, str):
        raise GbcsValueError(f"expected an EUI-64 string or 8 bytes, got {type(value).__name__}")
    compact = value.replace("-", "").replace(":", "").replace(" ", "")
    if not _HEX16.fullmatch(compact):
        raise GbcsValueError(f"expected an EUI-64 of 16 hex digits, got {clip(value)!r}")
    return bytes.fromhex(compact)


def eui64_text(value: bytes) -> str:
    """8 bytes -> ``"90-B3-D5-1F-30-02-00-00"`` (the DUIS spelling)."""
    return "-".join(f"{b:02X}" for b in bytes(value))


# --------------------------------------------------------------------------- lengths

def encode_length(n: int) -> bytes:
    """Shortest definite length: one byte below 0x80, else 0x81-0x83 and 1-3 bytes."""
    if not isinstance(n, int) or n < 0:
        raise GbcsValueError(f"expected a non-negative length, got {n!r}")
    if n < 0x80:
        return bytes([n])
    size = (n.bit_length() + 7) // 8
    if size > _MAX_LENGTH_OCTETS:
        raise GbcsValueError(f"expected a length below 2**24, got {n}")
    return bytes([0x80 | size]) + n.to_bytes(size, "big")


def read_length(data: bytes, pos: int, what: str) -> tuple[int, int]:
    """Read a definite length at ``pos``; return (length, position after it). The length is
    checked against what remains of ``data``."""
    if pos >= len(data):
        raise MalformedGbcs(f"expected the {what} length at offset {pos}, got the end of the payload")
    first = data[pos]
    pos += 1
    if first < 0x80:
        n = first
    else:
        size = first & 0x7F
        if not 1 <= size <= _MAX_LENGTH_OCTETS:
            raise MalformedGbcs(
                f"expected a {what} length of 1-{_MAX_LENGTH_OCTETS} length bytes, got 0x{first:02X}"
            )
        if pos + size > len(data):
            raise MalformedGbcs(f"expected {size} bytes of {what} length, got the end of the payload")
        n = int.from_bytes(data[pos:pos + size], "big")
        pos += size
    if n > len(data) - pos:
        raise MalformedGbcs(f"{what} length {n} runs past the end of the payload ({len(data) - pos} bytes left)")
    return n, pos


def _as_bytes(payload: object) -> bytes:
    if isinstance(payload, (bytes, bytearray, memoryview)):
        data = bytes(payload)
    else:
        raise MalformedGbcs(f"expected GBCS bytes, got {type(payload).__name__}")
    if len(data) > MAX_PAYLOAD_LENGTH:
        raise OversizedGbcs(len(data), MAX_PAYLOAD_LENGTH)
    return data


# --------------------------------------------------------------------------- DLMS date-time

@dataclass(frozen=True)
class DlmsDateTime:
    """A DLMS/COSEM 12-byte date-time, every field kept as sent so that it re-encodes exactly.

    Fields (DLMS Blue Book; the parser's ``getDlmsLongDate`` reads deviation 0x8000 with clock
    status 0xFF as "not specified"): year (2 bytes, 0xFFFF unspecified), month, day of month,
    day of week (1 = Monday .. 7, 0xFF unspecified), hour, minute, second, hundredths, deviation
    (2 bytes, 0x8000 unspecified) and clock status. The RTDS 4.5.0 responses carry
    ``07DF0101FF000000008000FF`` (2015-01-01 00:00:00, other fields unspecified).
    """

    year: int
    month: int
    day: int
    hour: int
    minute: int
    second: int
    day_of_week: int = 0xFF
    hundredths: int = 0
    deviation: int = 0x8000
    clock_status: int = 0xFF

    @classmethod
    def from_datetime(cls, value: datetime) -> "DlmsDateTime":
        """UTC date-time with the other fields as the RTDS responses carry them (day of week
        0xFF, hundredths 0, deviation 0x8000, clock status 0xFF)."""
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise GbcsValueError("expected a timezone-aware datetime")
        u = value.astimezone(timezone.utc)
        return cls(u.year, u.month, u.day, u.hour, u.minute, u.second)

    def to_datetime(self) -> datetime:
        """The instant, in UTC (GBCS date-times are UTC); GbcsValueError when a field is
        unspecified or out of range."""
        try:
            return datetime(self.year, self.month, self.day, self.hour, self.minute, self.second,
                            0 if self.hundredths == 0xFF else self.hundredths * 10_000,
                            tzinfo=timezone.utc)
        except (ValueError, TypeError, OverflowError) as e:
            raise GbcsValueError(f"DLMS date-time is not a complete date and time: {e}") from None

    def encode(self) -> bytes:
        fields = (("year", self.year, 0xFFFF), ("month", self.month, 0xFF), ("day", self.day, 0xFF),
                  ("day_of_week", self.day_of_week, 0xFF), ("hour", self.hour, 0xFF),
                  ("minute", self.minute, 0xFF), ("second", self.second, 0xFF),
                  ("hundredths", self.hundredths, 0xFF), ("deviation", self.deviation, 0xFFFF),
                  ("clock_status", self.clock_status, 0xFF))
        for name, v, top in fields:
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= top:
                raise GbcsValueError(f"DLMS date-time {name} must be an integer 0..{top}, got {v!r}")
        return (self.year.to_bytes(2, "big")
                + bytes([self.month, self.day, self.day_of_week, self.hour, self.minute,
                         self.second, self.hundredths])
                + self.deviation.to_bytes(2, "big") + bytes([self.clock_status]))

    @classmethod
    def decode(cls, data: bytes) -> "DlmsDateTime":
        if len(data) != DLMS_DATE_TIME_LENGTH:
            raise MalformedGbcs(f"expected a 12-byte DLMS date-time, got {len(data)} bytes")
        return cls(year=int.from_bytes(data[0:2], "big"), month=data[2], day=data[3],
                   day_of_week=data[4], hour=data[5], minute=data[6], second=data[7],
                   hundredths=data[8], deviation=int.from_bytes(data[9:11], "big"),
                   clock_status=data[11])

    def __str__(self) -> str:
        try:
            return self.to_datetime().strftime("%Y-%m-%dT%H:%M:%SZ")
        except GbcsValueError:
            return self.encode().hex().upper()


# --------------------------------------------------------------------------- the APDU

@dataclass(frozen=True)
class GeneralSigningHeader:
    """Everything of a General Signing APDU before its content.

    ``originator_system_title`` / ``recipient_system_title`` are the 8-byte EUI-64s (for a
    command: the DCC User, then the device); ``supplementary`` is whatever Other Information
    carries after the 2-byte message code (empty for CS02b).
    """

    cra_flag: CraFlag
    originator_counter: int
    originator_system_title: bytes
    recipient_system_title: bytes
    message_code: int
    date_time: Optional[DlmsDateTime] = None
    supplementary: bytes = b""


@dataclass(frozen=True)
class GeneralSigningApdu:
    """A whole General Signing APDU with its content left as bytes.

    ``signature``: ``None`` when the payload ends with its content (RTDS Pre-Commands, and DCC
    Boxed before 1.4.1), ``b""`` when it ends in a zero signature-length byte (a Pre-Command as
    GBCS and DCC Boxed 1.4.1+ give it, or a command the ACB sends unsigned), or the 64-byte
    r||s signature.
    """

    header: GeneralSigningHeader
    content: bytes
    signature: Optional[bytes] = None


class ParsedApdu(NamedTuple):
    """A decoded APDU and where its signed data ends in the bytes it was read from."""

    apdu: GeneralSigningApdu
    signed_end: int


def _check_int(name: str, v: object, top: int) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= top:
        raise GbcsValueError(f"{name} must be an integer 0..{top}, got {v!r}")
    return v


def encode_header(header: GeneralSigningHeader) -> bytes:
    """The header bytes, from the DF tag to the end of Other Information."""
    if not isinstance(header, GeneralSigningHeader):
        raise GbcsValueError(f"expected a GeneralSigningHeader, got {type(header).__name__}")
    try:
        cra = CraFlag(header.cra_flag)
    except (ValueError, TypeError):
        raise GbcsValueError(f"CRA flag must be 1, 2 or 3, got {header.cra_flag!r}") from None
    counter = _check_int("originator_counter", header.originator_counter, 2**64 - 1)
    code = _check_int("message_code", header.message_code, 0xFFFF)
    out = bytearray([GENERAL_SIGNING_TAG, TRANSACTION_ID_LENGTH, cra])
    out += counter.to_bytes(8, "big")
    for name in ("originator_system_title", "recipient_system_title"):
        title = getattr(header, name)
        if not isinstance(title, (bytes, bytearray)) or len(title) != SYSTEM_TITLE_LENGTH:
            raise GbcsValueError(f"{name} must be 8 bytes (an EUI-64), got {title!r:.40}")
        out += bytes([SYSTEM_TITLE_LENGTH]) + bytes(title)
    if header.date_time is None:
        out += b"\x00"
    elif isinstance(header.date_time, DlmsDateTime):
        out += bytes([DLMS_DATE_TIME_LENGTH]) + header.date_time.encode()
    else:
        raise GbcsValueError(f"date_time must be a DlmsDateTime or None, got {type(header.date_time).__name__}")
    if not isinstance(header.supplementary, (bytes, bytearray)):
        raise GbcsValueError("supplementary must be bytes")
    other = code.to_bytes(2, "big") + bytes(header.supplementary)
    out += encode_length(len(other)) + other
    return bytes(out)


def encode_apdu(apdu: GeneralSigningApdu) -> bytes:
    """The APDU's bytes; shortest lengths throughout."""
    if not isinstance(apdu, GeneralSigningApdu):
        raise GbcsValueError(f"expected a GeneralSigningApdu, got {type(apdu).__name__}")
    if not isinstance(apdu.content, (bytes, bytearray)):
        raise GbcsValueError("content must be bytes")
    out = encode_header(apdu.header) + encode_length(len(apdu.content)) + bytes(apdu.content)
    sig = apdu.signature
    if sig is not None:
        if not isinstance(sig, (bytes, bytearray)) or len(sig) not in (0, SIGNATURE_LENGTH):
            raise GbcsValueError(f"signature must be None, b'' or {SIGNATURE_LENGTH} bytes, got {sig!r:.40}")
        out += bytes([len(sig)]) + bytes(sig)
    if len(out) > MAX_PAYLOAD_LENGTH:
        raise GbcsValueError(f"the APDU would be {len(out)} bytes, above the {MAX_PAYLOAD_LENGTH}-byte bound")
    return out


def parse_apdu(payload: bytes) -> ParsedApdu:
    """Decode a General Signing APDU and say where its signed data ends."""
    data = _as_bytes(payload)
    if not data:
        raise MalformedGbcs("expected a General Signing APDU (tag DF), got no bytes")
    if data[0] != GENERAL_SIGNING_TAG:
        raise MalformedGbcs(f"expected a General Signing APDU (tag DF), got tag 0x{data[0]:02X}")
    fixed = 2 + TRANSACTION_ID_LENGTH + 2 * (1 + SYSTEM_TITLE_LENGTH)
    if len(data) < fixed:
        raise MalformedGbcs(f"expected at least {fixed} bytes of General Signing header, got {len(data)}")
    if data[1] != TRANSACTION_ID_LENGTH:
        raise MalformedGbcs(f"expected transaction-id length 09, got 0x{data[1]:02X}")
    try:
        cra = CraFlag(data[2])
    except ValueError:
        raise MalformedGbcs(f"expected CRA flag 01, 02 or 03, got 0x{data[2]:02X}") from None
    counter = int.from_bytes(data[3:11], "big")
    pos = 11
    titles = []
    for what in ("originator", "recipient"):
        if data[pos] != SYSTEM_TITLE_LENGTH:
            raise MalformedGbcs(f"expected {what} system title length 08, got 0x{data[pos]:02X}")
        titles.append(data[pos + 1:pos + 1 + SYSTEM_TITLE_LENGTH])
        pos += 1 + SYSTEM_TITLE_LENGTH
    n, pos = read_length(data, pos, "date-time")
    if n == 0:
        date_time = None
    elif n == DLMS_DATE_TIME_LENGTH:
        date_time = DlmsDateTime.decode(data[pos:pos + n])
    else:
        raise MalformedGbcs(f"expected a date-time of 0 or 12 bytes, got {n}")
    pos += n
    n, pos = read_length(data, pos, "other-information")
    if n < 2:
        raise MalformedGbcs(f"expected other information of at least 2 bytes (the message code), got {n}")
    other = data[pos:pos + n]
    pos += n
    n, pos = read_length(data, pos, "content")
    content = data[pos:pos + n]
    pos += n
    signed_end = pos
    if pos == len(data):
        signature = None
    else:
        n, pos = read_length(data, pos, "signature")
        if n not in (0, SIGNATURE_LENGTH):
            raise MalformedGbcs(f"expected a signature of 0 or {SIGNATURE_LENGTH} bytes, got {n}")
        signature = data[pos:pos + n]
        pos += n
        if pos != len(data):
            raise MalformedGbcs(f"expected the payload to end after the signature, got {len(data) - pos} more bytes")
    header = GeneralSigningHeader(
        cra_flag=cra, originator_counter=counter, originator_system_title=titles[0],
        recipient_system_title=titles[1], message_code=int.from_bytes(other[:2], "big"),
        date_time=date_time, supplementary=other[2:])
    return ParsedApdu(GeneralSigningApdu(header, content, signature), signed_end)


def decode_apdu(payload: bytes) -> GeneralSigningApdu:
    """Decode a General Signing APDU (content left as bytes)."""
    return parse_apdu(payload).apdu


def unwrap_general_ciphering(frame: bytes) -> bytes:
    """The General Signing APDU inside a General Ciphering (MAC header) frame, as the DCC sends
    a command to a device (the RTDS ``*_COMMAND_GBCS.HEX`` vectors). A General Signing APDU is
    returned as it is. The MAC is not checked."""
    data = _as_bytes(frame)
    if not data:
        raise MalformedGbcs("expected a General Signing APDU (tag DF), got no bytes")
    if data[:1] == bytes([GENERAL_SIGNING_TAG]):
        return data
    if data[:len(_CIPHERING_HEADER)] != _CIPHERING_HEADER:
        raise MalformedGbcs(
            f"expected a General Ciphering MAC header (DD000000000000) or a General Signing APDU, got {clip(data, 8)}"
        )
    n, pos = read_length(data, len(_CIPHERING_HEADER), "ciphered-service")
    if pos + n != len(data):
        raise MalformedGbcs(f"expected the frame to end after its {n}-byte ciphered service")
    if n < _SECURITY_HEADER_LENGTH + _MAC_LENGTH + 1:
        least = _SECURITY_HEADER_LENGTH + _MAC_LENGTH + 1
        raise MalformedGbcs(f"expected a ciphered service of at least {least} bytes, got {n}")
    inner = data[pos + _SECURITY_HEADER_LENGTH:len(data) - _MAC_LENGTH]
    if inner[0] != GENERAL_SIGNING_TAG:
        raise MalformedGbcs(f"expected a General Signing APDU inside the MAC header, got tag 0x{inner[0]:02X}")
    return inner
