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
organisation (current + previous) is reused across devices. What a census is (the FIA's figures,
the organisations, their certificates, `CensusSpec`, `CensusResult`) is `reference/census_spec.py`;
this module writes one into a database, and is the `census` command.

    python -m reference census --db sqlite:///s1sp.db --devices 1000000 [--seed 107]
    python -m reference census --db sqlite:///s1sp-{cohort}.db --devices 300000   # one DB per cohort
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from typing import Callable

from reference.census_spec import (CELLS, COHORTS, FIA_CENSUS, HALF_PUBLISHED_GT, UNPUBLISHED_ED, USAGES, Cert,
                                   CensusResult, CensusSpec, CertificateMaker, Organisation, device_id, mpan, mprn,
                                   network_operators, suppliers)
from reference.datafix.db import Database, DatabaseError, DatabaseURL, connect, create_pg_database, pg_database_exists
from reference.s1sp_db import create_schema

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
