"""The harness's cast: DCC Users (with test-SMKI credentials) in each role the scenarios speak of,
and a factory for fresh devices with their Registration Data and anchor slots. Harness-side data:
the reference never sees this module, only the fixtures it produces."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from duis import signing
from duis.types import mpan_with_check_digit
from smki import TestSMKI, UserCredentials

from .fixtures import DeviceFixture, Fixture, RegistrationFixture, SlotFixture, UserFixture

FUELS = ("electricity", "gas")
SMETS1_DEVICE_TYPE = {"electricity": "ESME", "gas": "GPF"}
SUPPLIER_ROLE = {"electricity": "IS", "gas": "GS"}
NETWORK_OPERATOR_ROLE = {"electricity": "ED", "gas": "GT"}

# who is who, per fuel: label -> (role kind, User ID suffix)
PARTIES = {
    "registered supplier": ("supplier", 0x01),
    "other supplier": ("supplier", 0x02),
    "registered network operator": ("network operator", 0x03),
    "wrong network operator": ("network operator", 0x04),
    "third network operator": ("network operator", 0x05),
}
ROLELESS_PARTIES = {"export supplier": ("ES", 0x06), "other user": ("OU", 0x07)}


@dataclass(frozen=True)
class Party:
    label: str
    fuel: str | None
    credentials: UserCredentials

    @property
    def user_id(self) -> str:
        return self.credentials.user_id

    @property
    def signer(self) -> signing.Signer:
        xml = self.credentials.xml_signing
        return signing.Signer(xml.key, xml.cert)

    def certificate_pair(self) -> tuple[bytes, bytes]:
        org = self.credentials.organisation
        if org is None:
            raise ValueError(f"{self.label} ({self.user_id}) holds no Organisation certificates")
        return org.der_pair()

    def __str__(self) -> str:
        return f"{self.label} {self.user_id}"


class Cast:
    def __init__(self, smki: TestSMKI | None = None) -> None:
        self.smki = smki or TestSMKI.generate(name="ZH")
        self._parties: dict[tuple[str | None, str], Party] = {}
        for fuel_index, fuel in enumerate(FUELS):
            for label, (kind, suffix) in PARTIES.items():
                role = SUPPLIER_ROLE[fuel] if kind == "supplier" else NETWORK_OPERATOR_ROLE[fuel]
                user_id = f"90-B3-D5-1F-30-0{fuel_index + 1}-00-{suffix:02X}"
                self._parties[(fuel, label)] = Party(label, fuel, self.smki.issue_user(user_id, {role}))
        for label, (role, suffix) in ROLELESS_PARTIES.items():
            user_id = f"90-B3-D5-1F-30-03-00-{suffix:02X}"
            self._parties[(None, label)] = Party(label, None, self.smki.issue_user(user_id, {role}))

    def party(self, label: str, fuel: str | None = None) -> Party:
        key = (None, label) if label in ROLELESS_PARTIES else (fuel, label)
        try:
            return self._parties[key]
        except KeyError:
            raise KeyError(f"no party {label!r} for fuel {fuel!r}; known: {sorted(PARTIES) + sorted(ROLELESS_PARTIES)}") from None

    @property
    def parties(self) -> list[Party]:
        return list(self._parties.values())

    def fixture(self) -> Fixture:
        return Fixture(
            users=[UserFixture(p.user_id, p.credentials.roles, p.credentials.xml_signing.cert_der())
                   for p in self.parties],
            trust_anchors_der=[self.smki.issuing.cert_der()])


@dataclass(frozen=True)
class DeviceSetup:
    device: DeviceFixture
    fuel: str
    registration: RegistrationFixture
    fixture: Fixture


def new_device_id() -> str:
    raw = bytes([0x00, 0xDB]) + secrets.token_bytes(6)
    return "-".join(f"{b:02X}" for b in raw)


def new_mpxn(fuel: str) -> str:
    if fuel == "electricity":
        return mpan_with_check_digit("".join(secrets.choice("0123456789") for _ in range(12)))
    return str(secrets.randbelow(9 * 10**9) + 10**9)  # MPRN: 10 digits


def new_device(cast: Cast, *, fuel: str, smets: int, s1sp: str | None, cohort: str | None,
               device_type: str | None = None, status: str = "Commissioned") -> DeviceSetup:
    """A fresh device whose supply is registered to the registered supplier and network operator,
    with their certificates in its Supplier and NetworkOperator slots."""
    supplier = cast.party("registered supplier", fuel)
    operator = cast.party("registered network operator", fuel)
    device = DeviceFixture(new_device_id(), device_type or SMETS1_DEVICE_TYPE[fuel], smets,
                           new_mpxn(fuel), s1sp if smets == 1 else None, cohort if smets == 1 else None, status)
    registration = RegistrationFixture(device.mpxn, fuel, supplier.user_id, operator.user_id)
    slots = [SlotFixture(device.device_id, "Supplier", *supplier.certificate_pair()),
             SlotFixture(device.device_id, "NetworkOperator", *operator.certificate_pair())]
    return DeviceSetup(device, fuel, registration,
                       Fixture(devices=[device], registrations=[registration], slots=slots))
