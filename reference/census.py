"""Build an S1SP database shaped like LIVE, for the SECMP0107 Requirement 2 data fix.

By default it holds the FIA's census of SMETS1 devices whose NetworkOperator anchor slot holds
another Network Operator's certificates (FIA 4.2.2: IOC 9,024 ESMEs and 18,905 GPFs, MOC 125 ESMEs
and 1,226 GPFs, FOC none), hidden among correct devices up to the total asked for, with
Registration Data and the NO certificate repository (14 Electricity Distributors and 8 Gas
Transporters, each with a DigitalSigning and a KeyAgreement certificate). Around them, things the
fix must leave alone: Supplier slots, SMETS2 devices and SMETS1 GSMEs holding a wrong NO
certificate ("decoys"), GSMEs and CHFs, correct devices holding their NO's previous certificate.
Optionally (0 by default, so the FIA table reproduces exactly) devices it cannot fix: no
Registration Data, and a registered NO with no (or half a) certificate pair in the repository.

Certificates are real X.509 (ECDSA P-256, shaped like ZAZ1 Organisation certificates: issuer
OU=07, subject OU=03 (NO) or 02 (supplier) and x500UniqueIdentifier = the Entity Identifier, key
usage digitalSignature or keyAgreement), made here from keys derived from the seed and signed
deterministically, so the same seed gives the same database byte for byte. A small pool per
organisation (current + previous) is reused across devices.

    python -m reference census --db sqlite:///s1sp.db --devices 1000000 [--seed 107]
    python -m reference census --db sqlite:///s1sp-{cohort}.db --devices 300000   # one DB per cohort
"""
from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID, ObjectIdentifier

from reference.datafix.db import Database, DatabaseError, DatabaseURL, connect, create_pg_database, pg_database_exists
from reference.s1sp_db import create_schema

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
            x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, b"\x00" + bytes.fromhex(org.entity_id.replace("-", "")),
                               _type=_ASN1Type.BitString),
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


_WRONG, _UNREG, _MISSING, _DECOY = 1, 2, 3, 4
_DEVICE_COLS = ("device_id", "device_type", "smets", "mpxn", "cohort", "smi_status")
_DEVICE_TYPES = ("text", "text", "int4", "text", "text", "text")
_SLOT_COLS = ("device_id", "remote_party_role", "usage", "entity_id", "certificate_serial", "certificate", "floor_seq")
_SLOT_TYPES = ("text", "text", "text", "text", "text", "bytea", "int4")
_REG_COLS = ("mpxn", "fuel", "supplier_id", "network_operator_id")
_REG_TYPES = ("text", "text", "text", "text")
_NOCERT_COLS = ("entity_id", "usage", "certificate_serial", "certificate")
_NOCERT_TYPES = ("text", "text", "text", "bytea")
BATCH = 50_000
PROGRESS_EVERY = 100_000


def generate(db: Database, spec: CensusSpec, *, progress: Callable[[str], None] | None = None) -> CensusResult:
    """Fill an empty S1SP database (the schema is created if absent) and say what is in it."""
    t0 = time.perf_counter()
    bad = [c for c in spec.cohorts if c not in COHORTS]
    if bad or not spec.cohorts:
        raise ValueError(f"unknown cohort(s) {bad}: expected some of {COHORTS}")
    wrong = spec.cell_counts(spec.wrong)
    unregistered = spec.cell_counts(spec.unregistered)
    missing = spec.cell_counts(spec.missing_repo)
    special = sum(wrong.values()) + sum(unregistered.values()) + sum(missing.values())
    if spec.devices < special:
        raise ValueError(f"{spec.devices:,} devices is too few for this census: it needs at least {special:,} "
                         f"(wrong {sum(wrong.values()):,}, unregistered {sum(unregistered.values()):,}, "
                         f"missing from repository {sum(missing.values()):,})")
    rest = spec.devices - special
    decoys = min(rest, spec.decoys if spec.decoys is not None else rest // 100)

    create_schema(db.conn, db.dialect)
    existing = db.scalar("SELECT count(*) FROM device")
    if existing:
        raise DatabaseError(f"{db.url} already holds {existing:,} devices: the census needs an empty S1SP database")

    rng = random.Random(spec.seed)
    maker = CertificateMaker(spec.seed)
    eds, gts = network_operators()
    sups = suppliers()
    pools = {org.entity_id: {u: [maker.organisation_certificate(org, u, g) for g in (0, 1)] for u in USAGES}
             for org in eds + gts}
    sup_certs = {org.entity_id: {u: maker.organisation_certificate(org, u, 0) for u in USAGES} for org in sups}
    repository = [pools[o.entity_id][u][0] for o in eds + gts for u in USAGES]
    if any(k[1] == "GPF" for k in missing):
        half = maker.organisation_certificate(HALF_PUBLISHED_GT, "DigitalSigning", 0)
        repository.append(half)

    result = CensusResult(spec, network_operators=eds + gts)
    for cells, key in ((wrong, "fixed"), (unregistered, "no_registration"), (missing, "no_certificate")):
        for cell, n in cells.items():
            e = result.expected.setdefault(cell, {"found": 0, "fixed": 0, "no_registration": 0, "no_certificate": 0})
            e[key] += n
            e["found"] += n

    # The plan: one entry per device, specials first, then shuffled among the rest.
    plan: list = []
    for kind, cells in ((_WRONG, wrong), (_UNREG, unregistered), (_MISSING, missing)):
        for (cohort, dtype), n in sorted(cells.items()):
            plan.extend([(kind, cohort, dtype)] * n)
    decoy_kinds = (("ESME", 2), ("GPF", 2), ("GSME", 1))
    plan.extend((_DECOY, None, decoy_kinds[k % 3]) for k in range(decoys))
    plan.extend([None] * (rest - decoys))
    rng.shuffle(plan)

    cohorts = list(spec.cohorts)
    weights = [spec.cohort_weights.get(c, 0.0) or 0.0 for c in cohorts]
    if sum(weights) <= 0:
        weights = [1.0] * len(cohorts)
    cum_w = [sum(weights[: k + 1]) / sum(weights) for k in range(len(cohorts))]
    # Other devices: SMETS1 ESME / GPF / GSME / CHF, or SMETS2 of any type.
    filler_kinds = (("ESME", 0.36), ("GPF", 0.24), ("GSME", 0.24), ("CHF", 0.16))
    filler_cum = []
    acc = 0.0
    for t, w in filler_kinds:
        acc += w
        filler_cum.append((acc, t))

    rnd = rng.random
    choice = rng.choice
    randrange = rng.randrange
    devices, slots, regs = [], [], []
    unreg_seen = 0

    def no_slot_rows(did: str, ds: Cert, ka: Cert) -> None:
        slots.append((did, "NetworkOperator", "DigitalSigning", ds.entity_id, ds.serial, ds.der, randrange(0, 5000)))
        slots.append((did, "NetworkOperator", "KeyAgreement", ka.entity_id, ka.serial, ka.der, randrange(0, 5000)))

    def other_no(fuel_nos: list[Organisation], registered: str) -> Organisation:
        pool = fuel_nos if rnd() < 0.9 else eds + gts
        while True:
            o = choice(pool)
            if o.entity_id != registered:
                return o

    def flush() -> None:
        db.bulk_insert("device", _DEVICE_COLS, _DEVICE_TYPES, devices)
        db.bulk_insert("anchor_slot", _SLOT_COLS, _SLOT_TYPES, slots)
        db.bulk_insert("registration", _REG_COLS, _REG_TYPES, regs)
        result.slot_rows += len(slots)
        result.registrations += len(regs)
        devices.clear(); slots.clear(); regs.clear()

    sqlite_fast = db.dialect == "sqlite"
    if sqlite_fast:
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "foreign_keys = OFF", "cache_size = -262144"):
            db.execute("PRAGMA " + pragma)
    db.begin()
    try:
        db.bulk_insert("no_certificate", _NOCERT_COLS, _NOCERT_TYPES,
                       [(c.entity_id, c.usage, c.serial, c.der) for c in repository])
        for i, entry in enumerate(plan):
            did = device_id(i)
            smets = 1
            if entry is None:
                r = rnd()
                cohort = cohorts[next(k for k, cw in enumerate(cum_w) if r <= cw or k == len(cum_w) - 1)]
                r = rnd()
                dtype = next(t for acc_w, t in filler_cum if r <= acc_w or t == "CHF")
                if rnd() < spec.smets2:
                    smets = 2
                kind = 0
            elif entry[0] == _DECOY:
                kind = _DECOY
                cohort = cohorts[randrange(len(cohorts))]
                dtype, smets = entry[2]
            else:
                kind, cohort, dtype = entry
            status = "Commissioned" if rnd() < 0.97 else choice(("InstalledNotCommissioned", "Decommissioned"))

            if dtype == "CHF":
                devices.append((did, dtype, smets, None, cohort, status))
                continue
            electric = dtype == "ESME"
            fuel_nos = eds if electric else gts
            no = choice(fuel_nos)
            supplier = choice(sups)
            if kind == _MISSING:
                no_reg = UNPUBLISHED_ED if electric else HALF_PUBLISHED_GT
            else:
                no_reg = no
            mpxn = mpan(no_reg.distributor_id, i) if electric else mprn(i)
            registered = True
            if kind == _UNREG:
                registered = False
                if unreg_seen % 2:
                    mpxn = None  # no MPxN at all; otherwise an MPxN that Registration Data does not know
                unreg_seen += 1
            devices.append((did, dtype, smets, mpxn, cohort, status))
            if registered:
                regs.append((mpxn, "electricity" if electric else "gas", supplier.entity_id, no_reg.entity_id))

            if dtype in ("ESME", "GPF") or kind == _DECOY:
                if kind == 0:
                    gen = 1 if rnd() < spec.stale else 0
                    no_slot_rows(did, pools[no.entity_id]["DigitalSigning"][gen], pools[no.entity_id]["KeyAgreement"][gen])
                else:
                    other = other_no(fuel_nos, no_reg.entity_id)
                    gen = 1 if rnd() < 0.2 else 0
                    ds = pools[other.entity_id]["DigitalSigning"][gen]
                    ka = pools[other.entity_id]["KeyAgreement"][gen]
                    if kind == _WRONG and rnd() < spec.half_wrong:
                        ds = pools[no.entity_id]["DigitalSigning"][0]
                        result.half_wrong_ids.add(did)
                    no_slot_rows(did, ds, ka)
                    {_WRONG: result.wrong_ids, _UNREG: result.unregistered_ids,
                     _MISSING: result.missing_repo_ids, _DECOY: result.decoy_ids}[kind].add(did)
            if rnd() < spec.supplier_slots:
                for usage in USAGES:
                    c = sup_certs[supplier.entity_id][usage]
                    slots.append((did, "Supplier", usage, c.entity_id, c.serial, c.der, randrange(0, 5000)))

            if len(devices) >= BATCH:
                flush()
            if progress and (i + 1) % PROGRESS_EVERY == 0:
                progress(f"census: {i + 1:>11,} / {spec.devices:,} devices  {time.perf_counter() - t0:7.1f} s")
        flush()
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        if sqlite_fast:
            for pragma in ("journal_mode = DELETE", "synchronous = FULL", "foreign_keys = ON"):
                db.execute("PRAGMA " + pragma)
    if db.dialect == "postgresql":
        for table in ("device", "anchor_slot", "registration", "no_certificate"):
            db.execute(f"VACUUM ANALYZE {table}")
    result.devices = spec.devices
    result.seconds = time.perf_counter() - t0
    if progress:
        progress(f"census: {spec.devices:,} devices, {result.slot_rows:,} slot rows, "
                 f"{result.registrations:,} registrations in {result.seconds:.1f} s")
    return result


# -- command line -------------------------------------------------------------------------------

def parse_cells(text: str, *, cohorts: tuple[str, ...] = COHORTS) -> dict:
    """"IOC/ESME=90,MOC/GPF=122" -> {("IOC","ESME"): 90, ...}; a bare number N is spread round
    robin over the cells of `cohorts` (IOC/ESME, IOC/GPF, MOC/ESME, ...)."""
    text = text.strip()
    if not text:
        return {}
    if text.isdigit():
        n = int(text)
        cells = [c for c in CELLS if c[0] in cohorts]
        out: dict = {}
        for k in range(n):
            out[cells[k % len(cells)]] = out.get(cells[k % len(cells)], 0) + 1
        return out
    out = {}
    for part in text.split(","):
        try:
            cell, n = part.split("=")
            cohort, dtype = cell.strip().upper().split("/")
            out[(cohort, dtype)] = int(n)
        except ValueError:
            raise ValueError(f"bad census cell {part!r}: expected COHORT/TYPE=N, e.g. IOC/ESME=9024") from None
        if (cohort, dtype) not in CELLS:
            raise ValueError(f"bad census cell {part!r}: cohort one of {COHORTS}, type ESME or GPF")
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", required=True, metavar="URL",
                        help="sqlite:///file.db (relative), sqlite:////abs/file.db, or postgresql://user@host:port/db "
                             "(created if absent); put {cohort} in it to build one database per cohort")
    parser.add_argument("--devices", required=True, type=int, metavar="N", help="total devices (per database)")
    parser.add_argument("--seed", type=int, default=107, help="random seed (default 107)")
    parser.add_argument("--cohort", choices=("all",) + COHORTS, default="all",
                        help="which cohort(s) the database holds (default all: the FIA table from one run)")
    parser.add_argument("--wrong", default=None, metavar="CELLS",
                        help="wrong devices, e.g. IOC/ESME=90,IOC/GPF=189 (default: the FIA census)")
    parser.add_argument("--unregistered", default="0", metavar="N|CELLS", help="devices with no Registration Data")
    parser.add_argument("--missing-repo", default="0", metavar="N|CELLS",
                        help="devices whose registered NO has no certificate in the repository")
    parser.add_argument("--decoys", type=int, default=None, metavar="N",
                        help="SMETS2 / GSME devices with a wrong NO, which the fix must not touch (default 1%%)")


def main(args: argparse.Namespace) -> int:
    cohort_sets = [(c,) for c in COHORTS] if "{cohort}" in args.db else [COHORTS if args.cohort == "all" else (args.cohort,)]
    if "{cohort}" in args.db and args.cohort != "all":
        cohort_sets = [(args.cohort,)]

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    for cohorts in cohort_sets:
        url = args.db.replace("{cohort}", cohorts[0].lower()) if "{cohort}" in args.db else args.db
        try:
            spec = CensusSpec(
                devices=args.devices, seed=args.seed, cohorts=cohorts,
                wrong=parse_cells(args.wrong, cohorts=cohorts) if args.wrong else dict(FIA_CENSUS),
                unregistered=parse_cells(args.unregistered, cohorts=cohorts),
                missing_repo=parse_cells(args.missing_repo, cohorts=cohorts),
                decoys=args.decoys)
            parsed = DatabaseURL.parse(url)
            if parsed.dialect == "postgresql" and not pg_database_exists(parsed):
                create_pg_database(parsed)
                say(f"census: created database {parsed}")
            with connect(parsed, mode="rwc") as db:
                result = generate(db, spec, progress=say)
        except (ValueError, DatabaseError) as exc:
            print(f"census: {exc}", file=sys.stderr)
            return 2
        print(format_summary(result, str(parsed)))
    return 0


def format_summary(result: CensusResult, url: str) -> str:
    lines = [f"census {url}: {result.devices:,} devices, {result.slot_rows:,} anchor slot rows, "
             f"{result.registrations:,} registrations (seed {result.spec.seed}, {result.seconds:.1f} s)",
             "", f"{'cohort':<7}{'type':<6}{'wrong':>9}{'no RDP':>9}{'no cert':>9}"]
    for cohort, dtype in CELLS:
        if cohort not in result.spec.cohorts:
            continue
        e = result.expected_cell(cohort, dtype)
        lines.append(f"{cohort:<7}{dtype:<6}{e['fixed']:>9,}{e['no_registration']:>9,}{e['no_certificate']:>9,}")
    lines.append(f"decoys (SMETS2 / GSME with a wrong NO, not to be touched): {len(result.decoy_ids):,}")
    return "\n".join(lines)
