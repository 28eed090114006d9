"""duis.types: EUI-64, RequestID, MPAN check digit."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from duis.errors import DuisError, DuisValueError
from duis.types import EUI64, MAX_COUNTER, RequestID, mpan_is_valid, mpan_with_check_digit

eui_bytes = st.binary(min_size=8, max_size=8)
counters = st.integers(min_value=0, max_value=MAX_COUNTER)


# ----------------------------------------------------------------------------- EUI64


def test_eui64_parse_normalises_to_upper_case_with_hyphens():
    eui = EUI64.parse("90-b3-d5-1f-30-00-00-01")
    assert eui == "90-B3-D5-1F-30-00-00-01"
    assert isinstance(eui, EUI64) and isinstance(eui, str)
    assert EUI64("90-b3-d5-1f-30-00-00-01") == eui


def test_eui64_accepts_sixteen_bare_hex_digits():
    assert EUI64.parse("90b3d51f30020000") == "90-B3-D5-1F-30-02-00-00"


def test_eui64_of_an_eui64_is_itself():
    eui = EUI64.parse("90-B3-D5-1F-30-00-00-01")
    assert EUI64(eui) is eui


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "90-B3-D5-1F-30-00-00",  # 7 octets
        "90-B3-D5-1F-30-00-00-01-02",  # 9 octets
        "ZZ-B3-D5-1F-30-00-00-01",  # not hex
        "90:B3:D5:1F:30:00:00:01",  # wrong separator
        "90-B3-D5-1F-30-00-0-001",  # misplaced hyphen
        "90B3D51F3000000",  # 15 digits
    ],
)
def test_eui64_refuses_malformed_text_saying_what_was_expected_and_what_came(bad):
    with pytest.raises(DuisValueError) as info:
        EUI64.parse(bad)
    message = str(info.value)
    assert "expected an EUI-64" in message
    assert repr(bad) in message


def test_eui64_refuses_non_text():
    with pytest.raises(DuisValueError, match="expected an EUI-64 as text.*got int"):
        EUI64.parse(12345)  # type: ignore[arg-type]


def test_eui64_errors_are_duis_errors_and_value_errors():
    with pytest.raises(DuisError):
        EUI64.parse("nope")
    with pytest.raises(ValueError):
        EUI64.parse("nope")


@given(eui_bytes)
def test_eui64_bytes_round_trip(raw):
    eui = EUI64.from_bytes(raw)
    assert eui.to_bytes() == raw
    assert EUI64.parse(eui.lower()) == eui
    assert EUI64.parse(str(eui)) == eui


@pytest.mark.parametrize("raw", [b"", b"\x00" * 7, b"\x00" * 9])
def test_eui64_from_bytes_needs_exactly_eight(raw):
    with pytest.raises(DuisValueError, match=f"expected exactly 8 bytes.*got {len(raw)}"):
        EUI64.from_bytes(raw)


def test_eui64_known_bytes():
    assert EUI64.from_bytes(bytes.fromhex("90b3d51f30010000")) == "90-B3-D5-1F-30-01-00-00"
    assert EUI64("00-DB-12-34-56-78-90-A0").to_bytes() == bytes.fromhex("00db1234567890a0")


# ----------------------------------------------------------------------------- RequestID


def test_request_id_str_and_parse():
    rid = RequestID.parse("90-B3-D5-1F-30-02-00-00:00-db-12-34-56-78-90-a0:1200")
    assert rid.originator == "90-B3-D5-1F-30-02-00-00"
    assert rid.target == "00-DB-12-34-56-78-90-A0"
    assert rid.counter == 1200
    assert str(rid) == "90-B3-D5-1F-30-02-00-00:00-DB-12-34-56-78-90-A0:1200"
    assert isinstance(rid.originator, EUI64) and isinstance(rid.target, EUI64)


def test_request_id_is_frozen_and_hashable():
    rid = RequestID(EUI64("90-B3-D5-1F-30-02-00-00"), EUI64("00-DB-12-34-56-78-90-A0"), 1)
    with pytest.raises(AttributeError):
        rid.counter = 2  # type: ignore[misc]
    assert {rid: 1}[RequestID.parse(str(rid))] == 1


def test_request_id_constructor_normalises_plain_strings():
    rid = RequestID("90-b3-d5-1f-30-02-00-00", "00-db-12-34-56-78-90-a0", 5)  # type: ignore[arg-type]
    assert rid.originator == "90-B3-D5-1F-30-02-00-00" and isinstance(rid.target, EUI64)


def test_request_id_swapped_is_the_response_id():
    rid = RequestID.parse("90-B3-D5-1F-30-01-00-00:88-73-84-57-00-2F-96-1E:1660751141087")
    assert str(rid.swapped()) == "88-73-84-57-00-2F-96-1E:90-B3-D5-1F-30-01-00-00:1660751141087"


@given(eui_bytes, eui_bytes, counters)
def test_request_id_round_trip(a, b, counter):
    rid = RequestID(EUI64.from_bytes(a), EUI64.from_bytes(b), counter)
    assert RequestID.parse(str(rid)) == rid
    assert RequestID.parse(str(rid).lower()) == rid
    assert rid.swapped().swapped() == rid


def test_request_id_counter_bounds():
    o, t = EUI64("90-B3-D5-1F-30-02-00-00"), EUI64("00-DB-12-34-56-78-90-A0")
    assert RequestID(o, t, 0).counter == 0
    assert RequestID(o, t, 2**64 - 1).counter == 2**64 - 1
    with pytest.raises(DuisValueError, match=r"0\.\.2\*\*64-1, got 18446744073709551616"):
        RequestID(o, t, 2**64)
    with pytest.raises(DuisValueError, match="got -1"):
        RequestID(o, t, -1)
    with pytest.raises(DuisValueError, match="integer OriginatorCounter"):
        RequestID(o, t, True)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad, expected",
    [
        ("90-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE::1000", "ORIGINATOR:TARGET:COUNTER"),  # ECS17b sample
        ("90-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE", "ORIGINATOR:TARGET:COUNTER"),
        ("90-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE:01000", "without sign or leading zeros"),
        ("90-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE:-1", "without sign or leading zeros"),
        ("90-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE:1e3", "without sign or leading zeros"),
        ("ZZ-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE:1000", "expected an EUI-64"),
        ("90-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE:18446744073709551616", "0..2**64-1"),
    ],
)
def test_request_id_parse_refuses(bad, expected):
    with pytest.raises(DuisValueError) as info:
        RequestID.parse(bad)
    assert expected in str(info.value)


# ----------------------------------------------------------------------------- MPAN


def test_mpan_check_digit_worked_example():
    # 1*3 + 2*5 + 3*7 + 4*13 + 5*17 + 6*19 + 7*23 + 8*29 + 9*31 + 0*37 + 1*41 + 2*43 = 1084;
    # 1084 mod 11 = 6; 6 mod 10 = 6.
    assert mpan_with_check_digit("123456789012") == "1234567890126"
    assert mpan_is_valid("1234567890126")
    assert not mpan_is_valid("1234567890127")


def test_mpan_check_digit_remainder_ten_becomes_zero():
    # 000000000001 -> 1*43 = 43 = 11*3 + 10: remainder 10, and 10 mod 10 = 0.
    assert mpan_with_check_digit("000000000001") == "0000000000010"
    assert mpan_is_valid("0000000000010")


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_mpan_with_check_digit_is_valid_and_unique(first12):
    mpan = mpan_with_check_digit(first12)
    assert len(mpan) == 13 and mpan.startswith(first12) and mpan_is_valid(mpan)
    for other in "0123456789":
        if other != mpan[-1]:
            assert not mpan_is_valid(first12 + other)


@pytest.mark.parametrize("bad", ["", "123456789012", "12345678901260", "12345678901a6", " 1234567890126", None, 1234567890126])
def test_mpan_is_valid_is_false_for_non_mpans(bad):
    assert mpan_is_valid(bad) is False  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "12345678901", "1234567890123", "12345678901a"])
def test_mpan_with_check_digit_needs_twelve_digits(bad):
    with pytest.raises(DuisValueError, match="expected the first 12 digits"):
        mpan_with_check_digit(bad)
