"""DUIS value types: EUI-64 identifiers, Request IDs, MPAN check digits.

Plain Python, no XML. Everything here validates on construction and raises
:class:`~duis.errors.DuisValueError` saying what was expected and what came.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import DuisValueError

__all__ = ["EUI64", "RequestID", "mpan_is_valid", "mpan_with_check_digit", "MAX_COUNTER"]

MAX_COUNTER = 2**64 - 1

_EUI_HYPHENATED = re.compile(r"[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}")
_EUI_BARE = re.compile(r"[0-9A-Fa-f]{16}")
# DUIS RequestIDType: the counter is a decimal without leading zeros.
_COUNTER = re.compile(r"0|[1-9][0-9]*")


def _show(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class EUI64(str):
    """An EUI-64 in DUIS form: eight upper-case hex octets joined by hyphens.

    ``EUI64("90-b3-d5-1f-30-00-00-01") == "90-B3-D5-1F-30-00-00-01"``. Sixteen bare hex digits
    (as in certificate file names) are accepted too.
    """

    __slots__ = ()

    def __new__(cls, value: str) -> "EUI64":
        if isinstance(value, EUI64):
            return value
        if not isinstance(value, str):
            raise DuisValueError(
                f"expected an EUI-64 as text like '90-B3-D5-1F-30-00-00-01', got {type(value).__name__} {_show(value)}"
            )
        text = value.strip()
        if _EUI_HYPHENATED.fullmatch(text):
            norm = text.upper()
        elif _EUI_BARE.fullmatch(text):
            norm = "-".join(text[i : i + 2] for i in range(0, 16, 2)).upper()
        else:
            raise DuisValueError(
                f"expected an EUI-64 of 8 hex octets joined by '-' (e.g. '90-B3-D5-1F-30-00-00-01'), got {_show(value)}"
            )
        return super().__new__(cls, norm)

    @classmethod
    def parse(cls, value: str) -> "EUI64":
        return cls(value)

    @classmethod
    def from_bytes(cls, raw: bytes) -> "EUI64":
        if not isinstance(raw, (bytes, bytearray, memoryview)) or len(raw) != 8:
            size = len(raw) if isinstance(raw, (bytes, bytearray, memoryview)) else type(raw).__name__
            raise DuisValueError(f"expected exactly 8 bytes for an EUI-64, got {size}")
        return cls(bytes(raw).hex())

    def to_bytes(self) -> bytes:
        return bytes.fromhex(self.replace("-", ""))

    def __repr__(self) -> str:
        return f"EUI64({str.__repr__(self)})"


@dataclass(frozen=True)
class RequestID:
    """``BusinessOriginatorID:BusinessTargetID:OriginatorCounter`` (DUIS RequestIDType)."""

    originator: EUI64
    target: EUI64
    counter: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "originator", EUI64(self.originator))
        object.__setattr__(self, "target", EUI64(self.target))
        counter = self.counter
        if isinstance(counter, bool) or not isinstance(counter, int):
            raise DuisValueError(f"expected an integer OriginatorCounter, got {_show(counter)}")
        if not 0 <= counter <= MAX_COUNTER:
            raise DuisValueError(f"expected an OriginatorCounter in 0..2**64-1, got {counter}")

    def __str__(self) -> str:
        return f"{self.originator}:{self.target}:{self.counter}"

    @classmethod
    def parse(cls, value: str) -> "RequestID":
        if not isinstance(value, str):
            raise DuisValueError(f"expected a RequestID as text, got {type(value).__name__} {_show(value)}")
        parts = value.strip().split(":")
        if len(parts) != 3:
            raise DuisValueError(
                "expected a RequestID 'ORIGINATOR:TARGET:COUNTER' (two EUI-64s and a decimal counter, "
                f"separated by single ':'), got {_show(value)}"
            )
        orig, target, counter = parts
        if not _COUNTER.fullmatch(counter):
            raise DuisValueError(
                f"expected the RequestID counter as a decimal without sign or leading zeros, got {_show(counter)}"
            )
        return cls(EUI64(orig), EUI64(target), int(counter))

    def swapped(self) -> "RequestID":
        """Originator and target exchanged: the ``ResponseID`` the DCC puts on a response."""
        return RequestID(self.target, self.originator, self.counter)


_MPAN_WEIGHTS = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)


def _mpan_check_digit(first12: str) -> int:
    return sum(int(d) * w for d, w in zip(first12, _MPAN_WEIGHTS)) % 11 % 10


def mpan_is_valid(mpan: str) -> bool:
    """True if ``mpan`` is a 13-digit core MPAN whose last digit is the right check digit."""
    if not isinstance(mpan, str) or len(mpan) != 13 or not mpan.isascii() or not mpan.isdigit():
        return False
    return _mpan_check_digit(mpan[:12]) == int(mpan[12])


def mpan_with_check_digit(first12: str) -> str:
    """The 13-digit core MPAN made of ``first12`` and its check digit."""
    if not isinstance(first12, str) or len(first12) != 12 or not first12.isascii() or not first12.isdigit():
        raise DuisValueError(f"expected the first 12 digits of a core MPAN, got {_show(first12)}")
    return first12 + str(_mpan_check_digit(first12))
