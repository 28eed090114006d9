"""The harness's cast: DCC Users (with test-SMKI credentials) in each role the scenarios speak of,
and a factory for fresh devices with their Registration Data and anchor slots. Harness-side data:
the reference never sees this module, only the fixtures it produces."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Mapping

from duis import signing
from duis.types import mpan_with_check_digit
from smki import Credential, TestSMKI, UserCredentials, remote_party_role_for
from smki import inspect as cert_inspect

from .fixtures import DeviceFixture, Fixture, NoCertificateFixture, RegistrationFixture, SlotFixture, UserFixture

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


def role_for(label: str, fuel: str | None) -> str:
    """The user role a party needs: e.g. the wrong network operator on gas is a GT."""
    if label in ROLELESS_PARTIES:
        return ROLELESS_PARTIES[label][0]
    kind = PARTIES[label][0]
    return SUPPLIER_ROLE[fuel] if kind == "supplier" else NETWORK_OPERATOR_ROLE[fuel]


@dataclass(frozen=True)
class SuppliedUser:
    """A user a target profile names for a party instead of a generated one.

    `xml_signing` None: the harness SMKI issues one for this User ID (the target must then be
    provisioned with it). `organisation_pair` None: the harness SMKI issues the Organisation
    certificates (digital signing, key agreement; DER) for this User ID. `organisation_key`: the
    private key of the given digital-signing certificate, where the profile gives it (it signs GBCS
    Pre-Commands on the DCC's own interface)."""
    user_id: str
    roles: frozenset[str]
    xml_signing: Credential | None = None
    organisation_pair: tuple[bytes, bytes] | None = None
    organisation_key: object = None


@dataclass(frozen=True)
class Party:
    label: str
    fuel: str | None
    credentials: UserCredentials
    supplied: bool = False
    """True when the target already knows this user (its XML-signing credential came from the
    profile); False for one the harness made, which the target must be provisioned with."""
    organisation_pair: tuple[bytes, bytes] | None = None
    """The profile's Organisation certificates, when it gives them instead of the harness SMKI."""
    supplied_organisation_key: object = None
    """The profile's private key of `organisation_pair`'s digital-signing certificate, if it gives one."""

    @property
    def user_id(self) -> str:
        return self.credentials.user_id

    @property
    def signer(self) -> signing.Signer:
        xml = self.credentials.xml_signing
        return signing.Signer(xml.key, xml.cert)

    @property
    def organisation_key(self):
        """The private key of this party's Organisation digital-signing certificate (the one
        `certificate_pair()` starts with): it signs GBCS Pre-Commands on the DCC's own interface.
        None when the profile names the certificates without the key, or the party holds none."""
        if self.organisation_pair is not None:
            return self.supplied_organisation_key
        org = self.credentials.organisation
        return org.digital_signing.key if org is not None else None

    def certificate_pair(self) -> tuple[bytes, bytes]:
        if self.organisation_pair is not None:
            return self.organisation_pair
        org = self.credentials.organisation
        if org is None:
            raise ValueError(f"{self.label} ({self.user_id}) holds no Organisation certificates")
        return org.der_pair()

    def slot_entries(self) -> dict[str, tuple[str, str]]:
        """What a 6.24.1 shows for a slot holding this party's certificates: per key usage, the owner's
        Entity Identifier and the certificate's SHA-1 (ExistingRemotePartyID, ExistingCertificateHash)."""
        return {usage: (self.user_id, cert_inspect.sha1_hex(der))
                for usage, der in zip(("DigitalSigning", "KeyAgreement"), self.certificate_pair())}

    def __str__(self) -> str:
        return f"{self.label} {self.user_id}"


def party_keys() -> list[tuple[str | None, str]]:
    """Every (fuel, label) the cast has: per fuel each of PARTIES, and (None, label) for ROLELESS_PARTIES."""
    return [(fuel, label) for fuel in FUELS for label in PARTIES] + [(None, label) for label in ROLELESS_PARTIES]


class Cast:
    """`overrides` puts a profile's users in place of generated ones, per (fuel, label) (fuel None
    for the roleless parties); `certification_path` (DER, issuing CA first) replaces the harness
    SMKI's in the requests when the profile's Organisation certificates come from another SMKI.
    `namespace` (0-255) is the seventh byte of the generated users' IDs: workers of one run sharing a
    target provisioned with test support each load users of their own (adapters/leases.py)."""

    def __init__(self, smki: TestSMKI | None = None, overrides: Mapping[tuple[str | None, str], SuppliedUser] | None = None,
                 *, certification_path: tuple[bytes, ...] | None = None, namespace: int = 0) -> None:
        if not 0 <= namespace <= 0xFF:
            raise ValueError(f"namespace {namespace}: expected 0-255 (one byte of the generated User IDs)")
        self.smki = smki or TestSMKI.generate(name="ZH")
        self._certification_path = certification_path
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(party_keys()), key=str)
        if unknown:
            raise ValueError(f"no party {unknown[0]!r} in the cast; expected (fuel, label) among {party_keys()}")
        self._issued: dict[str, UserCredentials] = {}
        self._parties: dict[tuple[str | None, str], Party] = {}
        for fuel_index, fuel in enumerate(FUELS):
            for label, (kind, suffix) in PARTIES.items():
                user_id = f"90-B3-D5-1F-30-0{fuel_index + 1}-{namespace:02X}-{suffix:02X}"
                self._parties[(fuel, label)] = self._make(label, fuel, user_id, overrides.get((fuel, label)))
        for label, (role, suffix) in ROLELESS_PARTIES.items():
            user_id = f"90-B3-D5-1F-30-03-{namespace:02X}-{suffix:02X}"
            self._parties[(None, label)] = self._make(label, None, user_id, overrides.get((None, label)))

    def _make(self, label: str, fuel: str | None, user_id: str, supplied: SuppliedUser | None) -> Party:
        role = role_for(label, fuel)
        if supplied is None:
            return Party(label, fuel, self.smki.issue_user(user_id, {role}))
        if role not in supplied.roles:
            raise ValueError(f"user {supplied.user_id} is to play the {label}"
                             f"{f' ({fuel})' if fuel else ''}, which needs user role {role}; it holds "
                             f"{sorted(supplied.roles)}")
        issued = self._issued.get(supplied.user_id)
        if issued is None:   # one set per User ID, however many parties it plays
            issued = self.smki.issue_user(supplied.user_id, supplied.roles)
            self._issued[supplied.user_id] = issued
        if supplied.xml_signing is None:
            return Party(label, fuel, issued, organisation_pair=supplied.organisation_pair,
                         supplied_organisation_key=supplied.organisation_key)
        credentials = UserCredentials(issued.user_id, frozenset(supplied.roles), supplied.xml_signing,
                                      issued.organisation if remote_party_role_for(supplied.roles) else None)
        return Party(label, fuel, credentials, supplied=True, organisation_pair=supplied.organisation_pair,
                     supplied_organisation_key=supplied.organisation_key)

    def certification_path(self) -> tuple[bytes, ...]:
        """DER of the CA certificates above the Organisation certificates in the requests."""
        return self._certification_path or self.smki.certification_path()

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
        """The users to provision a target with (one per User ID) and the harness SMKI's trust anchor."""
        users: dict[str, UserFixture] = {}
        for p in self.parties:
            users.setdefault(p.user_id, UserFixture(p.user_id, p.credentials.roles, p.credentials.xml_signing.cert_der()))
        return Fixture(users=list(users.values()), trust_anchors_der=[self.smki.issuing.cert_der()],
                       no_certificates=self.no_certificate_repository())

    def no_certificate_repository(self) -> list[NoCertificateFixture]:
        """The Network Operators' published certificates (ERM31), as the data fix reads them."""
        seen: dict[tuple[str, str], NoCertificateFixture] = {}
        for p in self.parties:
            if p.label.endswith("network operator") and p.credentials.organisation is not None:
                for usage, der in zip(("DigitalSigning", "KeyAgreement"), p.certificate_pair()):
                    seen.setdefault((p.user_id, usage), NoCertificateFixture(p.user_id, usage, der))
        return list(seen.values())


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


def with_wrong_network_operator(cast: Cast, setup: DeviceSetup) -> DeviceSetup:
    """The same device with the wrong network operator's certificates in its NetworkOperator slot (as
    a 6.21 by mistake leaves it): the state the Requirement 2 data fix is for."""
    wrong = cast.party("wrong network operator", setup.fuel)
    slots = [SlotFixture(s.device_id, s.remote_party_role, *wrong.certificate_pair())
             if s.remote_party_role == "NetworkOperator" else s for s in setup.fixture.slots]
    fixture = Fixture(devices=setup.fixture.devices, registrations=setup.fixture.registrations, slots=slots)
    return DeviceSetup(setup.device, setup.fuel, setup.registration, fixture)
