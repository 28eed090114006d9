"""The test-support API's JSON bodies (SPEC §5): read, checked, and loaded into a ReferenceDCC.

Every body is checked whole before anything is loaded, so a bad body changes nothing. A problem is
a `BadInput` naming the field, what was expected and what came; the app answers it with HTTP 400
and a JSON error. The shapes mirror `adapters/fixtures.py` (the harness side of the same data):

    user          {"user_id": EUI-64, "roles": ["ED", ...], "xml_signing_certificate": PEM or base64 DER}
    trust anchor  {"certificate": PEM or base64 DER}
    device        {"device_id": EUI-64, "device_type": "ESME|GSME|GPF|CHF", "smets": 1|2,
                   "mpxn": "..." | null, "status": "Commissioned", "cohort": "IOC" | "s1sp": "S1SP1"}
    registration  {"mpxn": "...", "fuel": "electricity|gas", "supplier_id": EUI-64,
                   "network_operator_id": EUI-64}
    anchor slot   {"device_id": EUI-64, "remote_party_role": "Supplier|NetworkOperator",
                   "digital_signing_certificate": PEM or base64 DER,
                   "key_agreement_certificate": PEM or base64 DER}
    no certificate {"entity_id": EUI-64, "usage": "DigitalSigning|KeyAgreement",
                   "certificate": PEM or base64 DER}      (the NO certificate repository, ERM31)
    load          {"users": [user], "trust_anchors": [trust anchor], "devices": [device],
                   "registrations": [registration], "anchor_slots": [anchor slot],
                   "no_certificates": [no certificate]}   (all optional)

The `load` shape is also the format of `python -m reference serve --load FILE`.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from duis.errors import DuisValueError
from duis.types import EUI64

from ..anchor_slots import REMOTE_PARTY_ROLES, USAGES
from ..inventory import Device
from ..registration import Registration
from ..users import ALL_ROLES, User

DEVICE_TYPES = ("ESME", "GSME", "GPF", "CHF")
FUELS = ("electricity", "gas")
CERTIFICATE = "a certificate as PEM text or base64 DER"

SHAPES = {
    "user": '{"user_id": "90-B3-D5-1F-30-01-00-03", "roles": ["ED"], "xml_signing_certificate": "<PEM or base64 DER>"}',
    "trust_anchor": '{"certificate": "<PEM or base64 DER>"}',
    "device": ('{"device_id": "00-DB-...", "device_type": "ESME|GSME|GPF|CHF", "smets": 1, "mpxn": "...", '
               '"status": "Commissioned", "cohort": "IOC" (or "s1sp": "S1SP1"; SMETS1 only)}'),
    "registration": ('{"mpxn": "...", "fuel": "electricity|gas", "supplier_id": "<EUI-64>", '
                     '"network_operator_id": "<EUI-64>"}'),
    "anchor_slot": ('{"device_id": "<EUI-64>", "remote_party_role": "Supplier|NetworkOperator", '
                    '"digital_signing_certificate": "<PEM or base64 DER>", '
                    '"key_agreement_certificate": "<PEM or base64 DER>"}'),
    "no_certificate": ('{"entity_id": "<EUI-64>", "usage": "DigitalSigning|KeyAgreement", '
                       '"certificate": "<PEM or base64 DER>"}'),
    "load": ('{"users": [user], "trust_anchors": [trust_anchor], "devices": [device], '
             '"registrations": [registration], "anchor_slots": [anchor_slot], "no_certificates": [no_certificate]}'),
    "datafix": '{"dry_run": false}',  
    "switch": '{"on": true}',
    "implemented": '{"implemented": false}',
    "callback": '{"url": "http://127.0.0.1:9000/outcomes"}',
}


class BadInput(ValueError):
    """A test-support body that is not what the endpoint expects (HTTP 400)."""

    def __init__(self, where: str, expected: str, got: object = None, *, shape: str | None = None) -> None:
        self.where, self.expected, self.shape = where, expected, shape
        got_text = "nothing" if got is None else _show(got)
        super().__init__(f"{where}: expected {expected}, got {got_text}")

    def as_json(self) -> dict:
        out = {"error": str(self), "field": self.where, "expected": self.expected}
        if self.shape:
            out["body"] = SHAPES[self.shape]
        return out


def _show(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- field readers ---------------------------------------------------------------------------

def read_object(value, where: str, fields: dict[str, bool], shape: str) -> dict:
    """`fields`: name -> required."""
    if not isinstance(value, dict):
        raise BadInput(where, f"a JSON object {SHAPES[shape]}", value, shape=shape)
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise BadInput(f"{where}.{unknown[0]}", f"only the fields {sorted(fields)}", "an unknown field", shape=shape)
    for name, required in fields.items():
        if required and value.get(name) is None:
            raise BadInput(f"{where}.{name}", _FIELD_EXPECTATIONS.get(name, "a value"), None, shape=shape)
    return value


_FIELD_EXPECTATIONS = {
    "user_id": "an EUI-64", "roles": f"a list of user roles from {sorted(ALL_ROLES)}",
    "xml_signing_certificate": CERTIFICATE, "certificate": CERTIFICATE, "device_id": "an EUI-64",
    "device_type": f"one of {list(DEVICE_TYPES)}", "smets": "1 or 2", "mpxn": "an MPAN or MPRN",
    "fuel": f"one of {list(FUELS)}", "supplier_id": "an EUI-64", "network_operator_id": "an EUI-64",
    "remote_party_role": f"one of {list(REMOTE_PARTY_ROLES)}", "digital_signing_certificate": CERTIFICATE,
    "key_agreement_certificate": CERTIFICATE, "on": "true or false", "implemented": "true or false",
    "url": "an http:// or https:// URL", "entity_id": "an EUI-64", "usage": f"one of {list(USAGES)}",
    "dry_run": "true or false",
}


def _eui64(value, where: str) -> str:
    try:
        return str(EUI64.parse(value))
    except DuisValueError:
        raise BadInput(where, "an EUI-64 like '90-B3-D5-1F-30-01-00-03'", value) from None


def _text(value, where: str, expected: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadInput(where, expected, value)
    return value.strip()


def _choice(value, where: str, choices) -> str:
    if value not in choices:
        raise BadInput(where, f"one of {list(choices)}", value)
    return value


def boolean(value, where: str) -> bool:
    if not isinstance(value, bool):
        raise BadInput(where, "true or false", value)
    return value


def certificate_der(value, where: str) -> bytes:
    """A certificate given as PEM text or base64 DER, as DER."""
    if not isinstance(value, str) or not value.strip():
        raise BadInput(where, CERTIFICATE, value)
    try:
        if "-----BEGIN" in value:
            cert = x509.load_pem_x509_certificate(value.encode("ascii"))
        else:
            cert = x509.load_der_x509_certificate(base64.b64decode("".join(value.split()), validate=True))
    except (ValueError, binascii.Error, UnicodeEncodeError) as exc:
        raise BadInput(where, CERTIFICATE, f"unreadable text ({exc})") from None
    return cert.public_bytes(serialization.Encoding.DER)


def _list(body: dict, name: str, where: str) -> list:
    value = body.get(name, [])
    if not isinstance(value, list):
        raise BadInput(f"{where}.{name}", f"a JSON list of {name.rstrip('s').replace('_', ' ')} objects", value,
                       shape="load")
    return value


def one_or_many(value) -> list:
    """An endpoint for one kind of thing takes one object or a list of them."""
    return value if isinstance(value, list) else [value]


# --- the things ------------------------------------------------------------------------------

def read_user(value, where: str = "user") -> User:
    body = read_object(value, where, {"user_id": True, "roles": True, "xml_signing_certificate": True}, "user")
    roles = body["roles"]
    if not isinstance(roles, list) or not roles or any(r not in ALL_ROLES for r in roles):
        raise BadInput(f"{where}.roles", f"a non-empty list of user roles from {sorted(ALL_ROLES)}", roles, shape="user")
    der = certificate_der(body["xml_signing_certificate"], f"{where}.xml_signing_certificate")
    return User(_eui64(body["user_id"], f"{where}.user_id"), frozenset(roles), x509.load_der_x509_certificate(der))


def read_trust_anchor(value, where: str = "trust_anchor") -> x509.Certificate:
    body = read_object(value, where, {"certificate": True}, "trust_anchor")
    return x509.load_der_x509_certificate(certificate_der(body["certificate"], f"{where}.certificate"))


def read_device(value, where: str, cohorts: dict[str, str]) -> Device:
    """`cohorts`: cohort -> S1SP, to turn an "s1sp" into its cohort and check a "cohort"."""
    body = read_object(value, where, {"device_id": True, "device_type": True, "smets": True, "mpxn": False,
                                  "status": False, "cohort": False, "s1sp": False}, "device")
    smets = body["smets"]
    if smets not in (1, 2) or isinstance(smets, bool):
        raise BadInput(f"{where}.smets", "1 or 2", smets, shape="device")
    mpxn = body.get("mpxn")
    if mpxn is not None:
        mpxn = _text(mpxn, f"{where}.mpxn", "an MPAN or MPRN as text, or null")
    status = _text(body.get("status", "Commissioned"), f"{where}.status", "an SMI status such as 'Commissioned'")
    cohort = body.get("cohort")
    s1sp = body.get("s1sp")
    if smets == 1:
        if cohort is None and s1sp is None:
            raise BadInput(f"{where}.cohort", f"for a SMETS1 device its cohort (one of {sorted(cohorts)}) "
                           f"or its S1SP (one of {sorted(set(cohorts.values()))})", None, shape="device")
        if s1sp is not None:
            served = [c for c, name in cohorts.items() if name == s1sp]
            if not served:
                raise BadInput(f"{where}.s1sp", f"one of {sorted(set(cohorts.values()))}", s1sp, shape="device")
            if cohort is not None and cohort not in served:
                raise BadInput(f"{where}.cohort", f"a cohort {s1sp} serves ({served})", cohort, shape="device")
            cohort = cohort or served[0]
        cohort = _choice(cohort, f"{where}.cohort", sorted(cohorts))
    elif cohort is not None or s1sp is not None:
        raise BadInput(f"{where}.cohort", "no cohort or s1sp for a SMETS2 device", cohort or s1sp, shape="device")
    return Device(_eui64(body["device_id"], f"{where}.device_id"),
                  _choice(body["device_type"], f"{where}.device_type", DEVICE_TYPES), smets, mpxn, status, cohort)


def read_registration(value, where: str = "registration") -> Registration:
    body = read_object(value, where, {"mpxn": True, "fuel": True, "supplier_id": True, "network_operator_id": True},
                   "registration")
    return Registration(_text(body["mpxn"], f"{where}.mpxn", "an MPAN or MPRN as text"),
                        _choice(body["fuel"], f"{where}.fuel", FUELS),
                        _eui64(body["supplier_id"], f"{where}.supplier_id"),
                        _eui64(body["network_operator_id"], f"{where}.network_operator_id"))


@dataclass(frozen=True)
class Slot:
    device_id: str
    remote_party_role: str
    digital_signing: bytes
    key_agreement: bytes


def read_anchor_slot(value, where: str = "anchor_slot") -> Slot:
    body = read_object(value, where, {"device_id": True, "remote_party_role": True, "digital_signing_certificate": True,
                                  "key_agreement_certificate": True}, "anchor_slot")
    return Slot(_eui64(body["device_id"], f"{where}.device_id"),
                _choice(body["remote_party_role"], f"{where}.remote_party_role", REMOTE_PARTY_ROLES),
                certificate_der(body["digital_signing_certificate"], f"{where}.digital_signing_certificate"),
                certificate_der(body["key_agreement_certificate"], f"{where}.key_agreement_certificate"))


@dataclass(frozen=True)
class NoCertificate:
    entity_id: str
    usage: str
    certificate: bytes


def read_no_certificate(value, where: str = "no_certificate") -> NoCertificate:
    body = read_object(value, where, {"entity_id": True, "usage": True, "certificate": True}, "no_certificate")
    return NoCertificate(_eui64(body["entity_id"], f"{where}.entity_id"),
                         _choice(body["usage"], f"{where}.usage", USAGES),
                         certificate_der(body["certificate"], f"{where}.certificate"))


@dataclass
class Batch:
    """Everything one load brings, checked."""
    users: list[User] = field(default_factory=list)
    trust_anchors: list[x509.Certificate] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    registrations: list[Registration] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)
    no_certificates: list[NoCertificate] = field(default_factory=list)


def read_batch(value, cohorts: dict[str, str], where: str = "load") -> Batch:
    body = read_object(value, where, {"users": False, "trust_anchors": False, "devices": False,
                                  "registrations": False, "anchor_slots": False, "no_certificates": False}, "load")
    return Batch(
        users=[read_user(v, f"{where}.users[{i}]") for i, v in enumerate(_list(body, "users", where))],
        trust_anchors=[read_trust_anchor(v, f"{where}.trust_anchors[{i}]")
                       for i, v in enumerate(_list(body, "trust_anchors", where))],
        devices=[read_device(v, f"{where}.devices[{i}]", cohorts) for i, v in enumerate(_list(body, "devices", where))],
        registrations=[read_registration(v, f"{where}.registrations[{i}]")
                       for i, v in enumerate(_list(body, "registrations", where))],
        slots=[read_anchor_slot(v, f"{where}.anchor_slots[{i}]")
               for i, v in enumerate(_list(body, "anchor_slots", where))],
        no_certificates=[read_no_certificate(v, f"{where}.no_certificates[{i}]")
                         for i, v in enumerate(_list(body, "no_certificates", where))])


def apply(dcc, batch: Batch, where: str = "load") -> dict[str, int]:
    """Load a checked batch: trust anchors, users, devices, registrations, anchor slots (whose
    devices must exist already or come in the same batch), then NO certificates. Returns how many
    of each were loaded."""
    coming = {d.device_id for d in batch.devices}
    for i, slot in enumerate(batch.slots):
        if slot.device_id not in coming and dcc.inventory.get(slot.device_id) is None:
            raise BadInput(f"{where}.anchor_slots[{i}].device_id",
                           "a device already loaded or loaded in the same body", slot.device_id)
    for cert in batch.trust_anchors:
        dcc.load_trust_anchor(cert)
    for user in batch.users:
        dcc.load_user(user.user_id, user.roles, user.xml_signing_certificate)
    for device in batch.devices:
        dcc.load_device(device)
    for registration in batch.registrations:
        dcc.load_registration(registration)
    for slot in batch.slots:
        dcc.load_anchor_slot(slot.device_id, slot.remote_party_role, slot.digital_signing, slot.key_agreement)
    for entry in batch.no_certificates:
        dcc.load_no_certificate(entry.entity_id, entry.usage, entry.certificate)
    return {"users": len(batch.users), "trust_anchors": len(batch.trust_anchors), "devices": len(batch.devices),
            "registrations": len(batch.registrations), "anchor_slots": len(batch.slots),
            "no_certificates": len(batch.no_certificates)}
