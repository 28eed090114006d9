"""Anchor slots: per remote party role, one digital-signing and one key-agreement certificate.
SMETS1 slots are virtual (held by the S1SP); SMETS2 devices hold them themselves."""
from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from smki import inspect as cert_inspect

USAGES = ("DigitalSigning", "KeyAgreement")
REMOTE_PARTY_ROLES = ("Supplier", "NetworkOperator")


@dataclass(frozen=True)
class SlotCertificate:
    entity_id: str
    serial: str
    der: bytes
    floor_seq: int = 0

    @classmethod
    def from_der(cls, der: bytes, floor_seq: int = 0) -> "SlotCertificate":
        cert = x509.load_der_x509_certificate(der)
        return cls(cert_inspect.entity_id(cert), cert_inspect.serial_hex(cert), der, floor_seq)

    @property
    def sha1(self) -> str:
        return cert_inspect.sha1_hex(self.der)


def slot_from_pair(digital_signing: bytes, key_agreement: bytes, floor_seq: int = 0) -> dict[str, SlotCertificate]:
    return {
        "DigitalSigning": SlotCertificate.from_der(digital_signing, floor_seq),
        "KeyAgreement": SlotCertificate.from_der(key_agreement, floor_seq),
    }


def slot_owner(slot: dict[str, SlotCertificate] | None) -> str | None:
    """The Entity Identifier of the organisation whose digital-signing certificate is in the slot:
    the Known Remote Party that may replace it."""
    if not slot or "DigitalSigning" not in slot:
        return None
    return slot["DigitalSigning"].entity_id
