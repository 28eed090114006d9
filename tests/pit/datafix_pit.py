"""Pre-Integration Testing of the Requirement 2 data fix: an S1SP database built from a census,
the script run on it, and the evidence (checksums, slots, audit) a PIT report needs. The script
under test is the reference's (`reference.datafix`); steps see only this module."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from reference.census_spec import CensusSpec
from reference.datafix import DatafixReport, InjectedFailure, RunFailed, connect, dry_run, run
from reference.datafix.evidence import table_digest
from reference.datafix.scratch import PG_REQUIRE_ENV, PG_SKIP_REASON, CensusCopies, pg_server_url

S1SP_TABLES = ("device", "anchor_slot", "registration", "no_certificate")
USAGES = ("DigitalSigning", "KeyAgreement")


class DatabaseUnavailable(Exception):
    """The database kind a scenario asks for is not available here (say why; skip, never pass)."""


def check_available(dialect: str) -> None:
    if dialect == "postgresql" and pg_server_url() is None:
        raise DatabaseUnavailable(PG_SKIP_REASON + (f" ({PG_REQUIRE_ENV}=1: required)" if os.environ.get(PG_REQUIRE_ENV) == "1" else ""))


def required(dialect: str) -> bool:
    return dialect == "postgresql" and os.environ.get(PG_REQUIRE_ENV) == "1"


@dataclass
class S1SPDatabase:
    """One fresh copy of a census database, and what we know about it."""
    copies: CensusCopies
    dialect: str
    spec: CensusSpec
    url: object = None
    census: object = None
    before: dict = field(default_factory=dict)
    slots_before: dict = field(default_factory=dict)
    report: DatafixReport | None = None
    failure: Exception | None = None

    def __post_init__(self) -> None:
        self.url, self.census = self.copies.fresh(self.dialect, self.spec)
        self.snapshot()

    def connect(self):
        return connect(self.url)

    def snapshot(self) -> None:
        with self.connect() as db:
            self.before = {t: table_digest(db, t) for t in S1SP_TABLES}
            self.slots_before = self.slots(db)

    @staticmethod
    def slots(db) -> dict:
        return {(d, r, u): (e, s, bytes(c)) for d, r, u, e, s, c in db.query(
            "SELECT device_id, remote_party_role, usage, entity_id, certificate_serial, certificate FROM anchor_slot")}

    def digests(self) -> dict:
        with self.connect() as db:
            return {t: table_digest(db, t) for t in S1SP_TABLES}

    def dry_run(self) -> DatafixReport:
        with self.connect() as db:
            self.report = dry_run(db)
        return self.report

    def run(self, *, fail_after: str | None = None) -> DatafixReport | None:
        with self.connect() as db:
            try:
                self.report = run(db, fail_after=fail_after)
            except (RunFailed, InjectedFailure) as exc:
                self.failure = exc
                self.report = None
        return self.report

    def changed_rows(self) -> set:
        with self.connect() as db:
            after = self.slots(db)
        return {k for k in set(after) | set(self.slots_before) if after.get(k) != self.slots_before.get(k)}

    def registered_pairs(self) -> dict:
        """device -> {usage: (entity, serial, der)} of the NO registered for its supply, from the repository."""
        with self.connect() as db:
            rows = db.query(
                "SELECT d.device_id, n.usage, n.entity_id, n.certificate_serial, n.certificate FROM device d "
                "JOIN registration r ON r.mpxn = d.mpxn JOIN no_certificate n ON n.entity_id = r.network_operator_id")
        out: dict = {}
        for device, usage, entity, serial, der in rows:
            out.setdefault(device, {})[usage] = (entity, serial, bytes(der))
        return out

    def no_slot_now(self, device_ids) -> dict:
        with self.connect() as db:
            after = self.slots(db)
        return {d: {u: after.get((d, "NetworkOperator", u)) for u in USAGES} for d in device_ids}

    def audit(self) -> list[tuple]:
        with self.connect() as db:
            return db.query("SELECT device_id, usage, old_entity_id, old_certificate_serial, new_entity_id, "
                            "new_certificate_serial, changed_at FROM datafix_audit WHERE run_id = :run_id",
                            {"run_id": self.report.run_id})
