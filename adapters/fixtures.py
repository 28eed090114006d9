"""Test data a target is provisioned with (through its test-support capability): plain values,
the same whether the target is in-process or across HTTP."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class UserFixture:
    user_id: str
    roles: frozenset[str]
    xml_signing_cert_der: bytes


@dataclass(frozen=True)
class DeviceFixture:
    device_id: str
    device_type: str        # ESME, GSME, GPF, CHF
    smets: int
    mpxn: str | None
    s1sp: str | None        # SMETS1: which S1SP serves it
    cohort: str | None      # SMETS1: its cohort (the target's mapping of S1SP to cohort)
    status: str = "Commissioned"


@dataclass(frozen=True)
class RegistrationFixture:
    mpxn: str
    fuel: str
    supplier_id: str
    network_operator_id: str


@dataclass(frozen=True)
class SlotFixture:
    device_id: str
    remote_party_role: str
    digital_signing_der: bytes
    key_agreement_der: bytes


@dataclass(frozen=True)
class NoCertificateFixture:
    """One entry of the NO certificate repository (the published NO certificates, ERM31)."""
    entity_id: str
    usage: str              # DigitalSigning | KeyAgreement
    certificate_der: bytes


@dataclass
class Fixture:
    users: list[UserFixture] = field(default_factory=list)
    trust_anchors_der: list[bytes] = field(default_factory=list)
    devices: list[DeviceFixture] = field(default_factory=list)
    registrations: list[RegistrationFixture] = field(default_factory=list)
    slots: list[SlotFixture] = field(default_factory=list)
    no_certificates: list[NoCertificateFixture] = field(default_factory=list)
