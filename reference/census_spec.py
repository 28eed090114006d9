"""What a census of an S1SP database is, apart from any database: the FIA's figures, the Network
Operators and Suppliers, their certificates, what to build (`CensusSpec`) and what was built
(`CensusResult`). `reference/census.py` writes one into a database; this module only describes it.

The FIA's census (FIA 4.2.2) counts SMETS1 devices whose NetworkOperator anchor slot holds
another Network Operator's certificates: IOC 9,024 ESMEs and 18,905 GPFs, MOC 125 ESMEs and 1,226
GPFs, FOC none. The NO certificate repository holds 14 Electricity Distributors and 8 Gas
Transporters, each with a DigitalSigning and a KeyAgreement certificate.

Certificates are real X.509 (ECDSA P-256, shaped like ZAZ1 Organisation certificates: issuer
OU=07, subject OU=03 (NO) or 02 (supplier) and x500UniqueIdentifier = the Entity Identifier, key
usage digitalSignature or keyAgreement), made here from keys derived from the seed and signed
deterministically, so the same seed gives the same certificates byte for byte.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

from smki import entity_identifier_attribute

COHORTS = ("IOC", "MOC", "FOC")
CELLS = tuple((c, t) for c in COHORTS for t in ("ESME", "GPF"))

# FIA SECMP0107 v0.5, 4.2.2: SMETS1 devices whose NO anchor slot holds a non-registered NO's certificate.
FIA_CENSUS = {("IOC", "ESME"): 9_024, ("IOC", "GPF"): 18_905, ("MOC", "ESME"): 125, ("MOC", "GPF"): 1_226,
              ("FOC", "ESME"): 0, ("FOC", "GPF"): 0}

# The 14 GB electricity distribution areas (the MPAN's first two digits) and 8 gas networks.
ELECTRICITY_DISTRIBUTORS = (
    (10, "Eastern"), (11, "East Midlands"), (12, "London"), (13, "Merseyside and North Wales"),
    (14, "West Midlands"), (15, "North Eastern"), (16, "North Western"), (17, "North Scotland"),
    (18, "South Scotland"), (19, "South Eastern"), (20, "Southern"), (21, "South Wales"),
    (22, "South Western"), (23, "Yorkshire"),
)
GAS_TRANSPORTERS = (
    "East of England", "London", "North West", "West Midlands", "North East and Yorkshire",
    "Scotland", "Southern", "Wales and West",
)
SUPPLIER_COUNT = 6
USAGES = ("DigitalSigning", "KeyAgreement")
ROLE_CODE = {"ED": "03", "GT": "03", "SUP": "02"}
ORG_CERT_POLICY = ObjectIdentifier("1.2.826.0.1.8641679.1.2.1.4")  # as on the ZAZ1 Organisation certificates
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@dataclass(frozen=True)
class Organisation:
    entity_id: str
    role: str          # ED, GT or SUP
    name: str
    distributor_id: int | None = None  # ED: the MPAN's first two digits


@dataclass(frozen=True)
class Cert:
    entity_id: str
    usage: str
    serial: str        # lower-case hex, no leading zeros
    der: bytes


def _eui(*octets: int) -> str:
    return "-".join(f"{o:02X}" for o in octets)


def network_operators() -> tuple[list[Organisation], list[Organisation]]:
    eds = [Organisation(_eui(0x90, 0xB3, 0xD5, 0x1F, 0x3C, 0x01, 0x00, dd), "ED", f"{name} electricity distributor", dd)
           for dd, name in ELECTRICITY_DISTRIBUTORS]
    gts = [Organisation(_eui(0x90, 0xB3, 0xD5, 0x1F, 0x3C, 0x02, 0x00, j + 1), "GT", f"{name} gas transporter")
           for j, name in enumerate(GAS_TRANSPORTERS)]
    return eds, gts


def suppliers() -> list[Organisation]:
    return [Organisation(_eui(0x90, 0xB3, 0xD5, 0x1F, 0x3C, 0x00, 0x00, k + 1), "SUP", f"Supplier {k + 1}")
            for k in range(SUPPLIER_COUNT)]


# Registered for some devices when missing_repo > 0: not (or only half) in the repository.
UNPUBLISHED_ED = Organisation(_eui(0x90, 0xB3, 0xD5, 0x1F, 0x3C, 0x0F, 0x00, 0x01), "ED", "unpublished distributor", 24)
HALF_PUBLISHED_GT = Organisation(_eui(0x90, 0xB3, 0xD5, 0x1F, 0x3C, 0x0F, 0x00, 0x02), "GT", "half-published transporter")


class CertificateMaker:
    """Deterministic ZAZ1-shaped Organisation certificates: keys derived from (seed, label),
    RFC 6979 signatures, fixed validity, so the same seed gives the same DER."""

    def __init__(self, seed: int):
        self.seed = seed
        self.ca_key = self._key("issuing-ca")
        self.ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "07"),
                                  x509.NameAttribute(NameOID.COMMON_NAME, "MP107 census CA")])
        self.ca_key_id = self._key_id(self.ca_key.public_key())

    def _digest(self, label: str) -> bytes:
        return hashlib.sha256(f"mp107-census|{self.seed}|{label}".encode()).digest()

    def _key(self, label: str) -> ec.EllipticCurvePrivateKey:
        value = int.from_bytes(self._digest("key|" + label), "big") % (_P256_ORDER - 1) + 1
        return ec.derive_private_key(value, ec.SECP256R1())

    @staticmethod
    def _key_id(public_key) -> bytes:
        point = public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return hashlib.sha1(point).digest()[:8]

    def organisation_certificate(self, org: Organisation, usage: str, generation: int = 0) -> Cert:
        label = f"{org.entity_id}|{usage}|{generation}"
        key = self._key(label)
        serial = (int.from_bytes(self._digest("serial|" + label)[:16], "big") >> 1) | (1 << 120)
        years = (2023, 2033) if generation == 0 else (2016 - generation, 2026 - generation)
        # As ZAZ1: a supplier's subject is CN, OU=02, x500UniqueIdentifier; a network operator's
        # OU=03, x500UniqueIdentifier. The identifier is a BIT STRING: 0 unused bits, the EUI-64.
        attributes = [] if org.role in ("ED", "GT") else [x509.NameAttribute(NameOID.COMMON_NAME, org.name[:64])]
        attributes += [
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ROLE_CODE[org.role]),
            entity_identifier_attribute(org.entity_id),
        ]
        subject = x509.Name(attributes)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.ca_name)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(datetime(years[0], 1, 1, tzinfo=timezone.utc))
            .not_valid_after(datetime(years[1], 1, 1, tzinfo=timezone.utc))
            .add_extension(x509.KeyUsage(
                digital_signature=usage == "DigitalSigning", content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=usage == "KeyAgreement", key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier(self._key_id(key.public_key())), critical=False)
            .add_extension(x509.CertificatePolicies([x509.PolicyInformation(ORG_CERT_POLICY, None)]), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier(self.ca_key_id, None, None), critical=False)
            .sign(self.ca_key, hashes.SHA256(), ecdsa_deterministic=True)
        )
        return Cert(org.entity_id, usage, format(serial, "x"), cert.public_bytes(serialization.Encoding.DER))


@dataclass
class CensusSpec:
    """What to build. Counts are per (cohort, device type) cell; cells of cohorts not in
    `cohorts` are left out (a per-S1SP database holds one cohort)."""
    devices: int
    seed: int = 107
    cohorts: tuple[str, ...] = COHORTS
    wrong: dict = field(default_factory=lambda: dict(FIA_CENSUS))   # fixable wrong devices
    unregistered: dict = field(default_factory=dict)   # wrong-looking, no Registration Data
    missing_repo: dict = field(default_factory=dict)   # registered NO not (fully) in the repository
    half_wrong: float = 0.10      # share of wrong devices where only the KeyAgreement row is wrong
    stale: float = 0.05           # share of correct devices holding their NO's previous certificates
    supplier_slots: float = 0.30  # share of metering devices with a Supplier slot
    smets2: float = 0.10          # share of the other devices that are SMETS2
    decoys: int | None = None     # SMETS2 ESME/GPF and SMETS1 GSME with a wrong NO; default 1% of the rest
    cohort_weights: dict = field(default_factory=lambda: {"IOC": 0.55, "MOC": 0.35, "FOC": 0.10})

    def cell_counts(self, counts: dict) -> dict:
        unknown = [k for k in counts if k not in CELLS]
        if unknown:
            raise ValueError(f"unknown census cell(s) {unknown}: expected (cohort, ESME|GPF) with cohort in {COHORTS}")
        return {k: int(v) for k, v in counts.items() if k[0] in self.cohorts and int(v) > 0}


@dataclass
class CensusResult:
    """What was built, and what the data fix should therefore report."""
    spec: CensusSpec
    devices: int = 0
    slot_rows: int = 0
    registrations: int = 0
    seconds: float = 0.0
    expected: dict = field(default_factory=dict)   # (cohort, type) -> {found, fixed, no_registration, no_certificate}
    wrong_ids: set = field(default_factory=set)    # fixable wrong devices
    half_wrong_ids: set = field(default_factory=set)
    unregistered_ids: set = field(default_factory=set)
    missing_repo_ids: set = field(default_factory=set)
    decoy_ids: set = field(default_factory=set)
    network_operators: list = field(default_factory=list)

    def expected_cell(self, cohort: str, device_type: str) -> dict:
        return self.expected.get((cohort, device_type), {"found": 0, "fixed": 0, "no_registration": 0, "no_certificate": 0})


def device_id(i: int) -> str:
    v = (0x00DB_1200_0000_0000 + i).to_bytes(8, "big")
    return "-".join(f"{b:02X}" for b in v)


def mpan(distributor_id: int, i: int) -> str:
    """A 13-digit MPAN core (distributor id, unique number, check digit)."""
    body = f"{distributor_id:02d}{i:010d}"
    primes = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)
    return body + str(sum(int(d) * p for d, p in zip(body, primes)) % 11 % 10)


def mprn(i: int) -> str:
    return str(1_000_000_000 + i)
