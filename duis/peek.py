"""A few fields of a DUIS message read back from evidence, without the DUIS schema.

Re-reading a run's evidence (evidence/legs.py) needs only what decides whether a leg agrees with the
run: the code an answer carries and the GBCS payload of a Signed Pre-Command. The reader may have no
copy of the DCC's schema, and the bytes may be hostile on purpose, so these parse safely
(safexml), validate nothing, and answer None for anything they cannot read.
"""
from __future__ import annotations

import base64
import binascii

from . import safexml
from .codec import SR_NS
from .errors import DuisError

_SR = f"{{{SR_NS}}}"


def _root(xml: bytes):
    try:
        return safexml.parse(xml)
    except DuisError:
        return None


def outcome_code(xml: bytes) -> str | None:
    """What `codec.decode_response(xml).outcome_code` says, unvalidated: the S1SP alert's code if the
    Response carries one, else its header's ResponseCode; None if it is no readable Response."""
    root = _root(xml)
    if root is None or root.tag != _SR + "Response":
        return None
    alert = root.find(f"{_SR}Body/{_SR}DCCAlertMessage/{_SR}DCCAlert/{_SR}S1SPAlertDSP/{_SR}S1SPAlert/{_SR}S1SPAlertCode")
    if alert is not None and (alert.text or "").strip():
        return alert.text.strip()
    code = root.find(f"{_SR}Header/{_SR}ResponseCode")
    return code.text.strip() if code is not None and code.text else None


def signed_pre_command_payload(xml: bytes) -> bytes | None:
    """The GBCS payload of a Request whose body is a SignedPreCommand (Command Variant 5), else None."""
    root = _root(xml)
    if root is None or root.tag != _SR + "Request":
        return None
    payload = root.find(f"{_SR}Body/{_SR}SignedPreCommand/{_SR}GBCSPayload")
    if payload is None or not (payload.text or "").strip():
        return None
    try:
        return base64.b64decode("".join(payload.text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
