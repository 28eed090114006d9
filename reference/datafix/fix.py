"""The SECMP0107 Requirement 2 data fix on one S1SP database (SPEC MP107-R2.1 ... R2.4).

Three entry points, one per mode:

    dry_run(db)          find and count; changes nothing (its one transaction is rolled back)
    run(db)              find, audit and fix, in one transaction: all or nothing
    past_run(db, run_id) the report of an earlier run, from the audit tables (latest if None)

Each returns a `DatafixReport`. All SQL is in `sql.py`; this module only sequences it.

`defects`: names of deliberate defects (reference/defects.py, "Data fix") to run the script with,
for the harness's own tests; None takes them from $MP107_REFERENCE_DEFECTS (none if unset).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable

from .. import defects as _defects
from . import sql
from .db import Database, DatabaseError

STANDARD_COHORTS = ("IOC", "MOC", "FOC")
DEVICE_TYPES = ("ESME", "GPF")

# The steps of a run, in order. `fail_after=<step>` raises InjectedFailure right after that step
# (the test hook that proves a failure half-way leaves the database as it was).
STEPS = ("candidates", "audit", "update", "unfixable", "record")


class InjectedFailure(RuntimeError):
    """Raised by the `fail_after` test hook."""


class RunFailed(RuntimeError):
    """The run failed and was rolled back; the database is as it was before the run."""


@dataclass
class CellCount:
    cohort: str
    device_type: str
    found: int = 0
    fixed: int = 0            # in a dry run: would fix
    no_registration: int = 0  # unfixable: no Registration Data
    no_certificate: int = 0   # unfixable: registered NO has no certificate in the repository

    @property
    def unfixable(self) -> int:
        return self.no_registration + self.no_certificate


@dataclass
class Unfixable:
    device_id: str
    device_type: str
    cohort: str
    mpxn: str | None
    registered_no: str | None
    reason: str


@dataclass
class DatafixReport:
    mode: str                     # "dry-run", "run" or "report"
    database: str                 # URL, password redacted
    cells: list[CellCount]
    unfixable: list[Unfixable]
    slot_rows: int                # NetworkOperator rows changed (or that would change)
    run_id: int | None = None
    started_at: str | None = None
    finished_at: str | None = None
    seconds: float | None = None
    steps: list[tuple[str, float]] = field(default_factory=list)

    def cell(self, cohort: str, device_type: str) -> CellCount:
        for c in self.cells:
            if c.cohort == cohort and c.device_type == device_type:
                return c
        return CellCount(cohort, device_type)

    @property
    def total(self) -> CellCount:
        t = CellCount("total", "")
        for c in self.cells:
            t.found += c.found
            t.fixed += c.fixed
            t.no_registration += c.no_registration
            t.no_certificate += c.no_certificate
        return t

    def counts(self) -> dict:
        """What datafix_run.counts holds (JSON)."""
        return {
            "cells": [asdict(c) for c in self.cells],
            "found": self.total.found,
            "fixed": self.total.fixed,
            "unfixable": self.total.unfixable,
            "slot_rows": self.slot_rows,
        }

    def to_dict(self) -> dict:
        d = asdict(self)
        d["total"] = asdict(self.total)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


Progress = Callable[[str], None]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _check_s1sp(db: Database) -> None:
    missing = [t for t in sql.S1SP_TABLES if not db.table_exists(t)]
    if missing:
        raise DatabaseError(f"{db.url} is not an S1SP database: table(s) {', '.join(missing)} missing")


def _reason_params() -> dict:
    return {"no_registration": sql.NO_REGISTRATION, "no_certificate": sql.NO_CERTIFICATE}


def _cells(rows: list[tuple]) -> list[CellCount]:
    by_key = {(r[0], r[1]): CellCount(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows}
    cohorts = list(STANDARD_COHORTS) + sorted({k[0] for k in by_key} - set(STANDARD_COHORTS))
    return [by_key.get((c, t), CellCount(c, t)) for c in cohorts for t in DEVICE_TYPES]


class _Timer:
    def __init__(self, progress: Progress | None):
        self.progress = progress
        self.steps: list[tuple[str, float]] = []
        self.t0 = time.perf_counter()
        self.last = self.t0

    def done(self, step: str, detail: str = "") -> None:
        now = time.perf_counter()
        self.steps.append((step, now - self.last))
        if self.progress:
            self.progress(f"datafix: {step:<10} {detail:<40} {now - self.last:7.2f} s")
        self.last = now

    @property
    def total(self) -> float:
        return time.perf_counter() - self.t0


def _find(db: Database, timer: _Timer, switched: _defects.Switched, *,
          after_audit: bool = False) -> tuple[list[CellCount], list[Unfixable], int]:
    tmp = sql.DIALECT[db.dialect]["temp_schema"]
    db.execute(sql.DROP_CANDIDATE.format(temp_schema=tmp))
    find, count = sql.FIND_CANDIDATES, sql.COUNT_BY_CELL
    if switched.defects:
        find = sql.find_candidates(
            every_device=_defects.active(switched, "datafix-touches-correct-devices"),
            with_audited=after_audit and _defects.active(switched, "datafix-not-idempotent"))
        if _defects.active(switched, "datafix-report-ignores-cohort"):
            count = sql.COUNT_BY_TYPE_ONLY
    db.execute(find, _reason_params())
    db.execute(sql.ANALYZE_CANDIDATE)
    cells = _cells(db.query(count, _reason_params()))
    unfixable = [Unfixable(*r) for r in db.query(sql.LIST_UNFIXABLE)]
    found, fixable = sum(c.found for c in cells), sum(c.fixed for c in cells)
    timer.done("candidates", f"{found:,} found, {fixable:,} fixable")
    return cells, unfixable, found


def dry_run(db: Database, *, progress: Progress | None = None,
            defects: Iterable[str] | None = None) -> DatafixReport:
    """Find and count what a run would fix. Reads only: the work table is a temporary table and
    the transaction is rolled back, so the database is unchanged (MP107-R2.3)."""
    switched = _defects.Switched(defects)
    _check_s1sp(db)
    timer = _Timer(progress)
    started = _now()
    db.begin(write=False)
    try:
        for setting in sql.DIALECT[db.dialect]["settings"]:
            db.execute(setting)
        cells, unfixable, _ = _find(db, timer, switched)
        slot_rows = int(db.scalar(sql.COUNT_CHANGES))
        timer.done("count", f"{slot_rows:,} slot rows would change")
    finally:
        db.rollback()  # also drops the work table: it was created inside this transaction
    return DatafixReport("dry-run", str(db.url), cells, unfixable, slot_rows,
                         started_at=started, finished_at=_now(), seconds=timer.total, steps=timer.steps)


def run(db: Database, *, progress: Progress | None = None, fail_after: str | None = None,
        update_from: bool | None = None, defects: Iterable[str] | None = None) -> DatafixReport:
    """Fix every fixable device in one transaction, writing the audit trail; all or nothing.

    fail_after: test hook, one of STEPS: raise InjectedFailure after that step (then roll back).
    update_from: use UPDATE ... FROM (default where the database supports it) or the portable
    correlated-subquery UPDATE (SQLite < 3.33).
    Raises RunFailed (database unchanged) if anything goes wrong after the transaction began."""
    if fail_after is not None and fail_after not in STEPS:
        raise ValueError(f"fail_after must be one of {', '.join(STEPS)}, not {fail_after!r}")
    switched = _defects.Switched(defects)
    _check_s1sp(db)
    if update_from is None:
        update_from = db.dialect == "postgresql" or sql.sqlite_has_update_from()
    timer = _Timer(progress)
    started = _now()

    def checkpoint(step: str) -> None:
        if fail_after == step:
            raise InjectedFailure(f"injected failure after step {step!r} (test hook)")

    db.begin(write=True)
    try:
        for setting in sql.DIALECT[db.dialect]["settings"]:
            db.execute(setting)
        lock = sql.DIALECT[db.dialect]["lock_slots"]
        if lock:
            db.execute(lock)
        for statement in sql.audit_ddl(db.dialect):
            db.execute(statement)
        run_id = int(db.scalar(sql.NEXT_RUN_ID))
        db.execute(sql.START_RUN, {"run_id": run_id, "started_at": started, "mode": "run"})
        cells, unfixable, _ = _find(db, timer, switched, after_audit=True)
        checkpoint("candidates")

        if _defects.active(switched, "datafix-not-atomic"):
            audited, updated = _apply_per_device(db, run_id, started, update_from, fail_after, timer)
        elif _defects.active(switched, "datafix-touches-supplier-slots"):
            audited, updated = _apply_any_role(db, run_id, started, update_from, checkpoint, timer)
        else:
            audited = db.execute(sql.INSERT_AUDIT, {"run_id": run_id, "changed_at": started}).rowcount
            timer.done("audit", f"{audited:,} audit rows")
            checkpoint("audit")

            apply = sql.APPLY_CHANGES if update_from else sql.APPLY_CHANGES_PORTABLE
            updated = db.execute(apply, {"run_id": run_id}).rowcount
            timer.done("update", f"{updated:,} slot rows updated")
            if updated != audited:
                raise RunFailed(f"updated {updated} NetworkOperator rows but audited {audited}: rolled back")
            checkpoint("update")

        db.execute(sql.INSERT_UNFIXABLE, {"run_id": run_id})
        timer.done("unfixable", f"{len(unfixable):,} devices listed")
        checkpoint("unfixable")

        report = DatafixReport("run", str(db.url), cells, unfixable, updated, run_id=run_id,
                               started_at=started)
        report.finished_at = _now()
        db.execute(sql.FINISH_RUN, {"run_id": run_id, "finished_at": report.finished_at,
                                    "counts": json.dumps(report.counts(), sort_keys=True)})
        checkpoint("record")
        db.execute(sql.DROP_CANDIDATE.format(temp_schema=sql.DIALECT[db.dialect]["temp_schema"]))
        db.commit()
        timer.done("commit")
    except BaseException as exc:
        db.rollback()
        if isinstance(exc, (RunFailed, KeyboardInterrupt)):
            raise
        raise RunFailed(f"data fix failed and was rolled back, the database is unchanged: {exc}") from exc
    report.seconds = timer.total
    report.steps = timer.steps
    return report


def _apply_per_device(db: Database, run_id: int, started: str, update_from: bool, fail_after: str | None,
                      timer: _Timer) -> tuple[int, int]:
    """(Defect datafix-not-atomic.) Audit and fix one device at a time, committing each: a failure
    half-way (fail_after "audit" or "update" strikes after half the devices) leaves those fixed."""
    apply = sql.APPLY_CHANGES_ONE if update_from else sql.APPLY_CHANGES_PORTABLE_ONE
    devices = [row[0] for row in db.query(sql.DEVICES_TO_FIX)]
    audited = updated = 0
    for n, device_id in enumerate(devices):
        if fail_after in ("audit", "update") and n == len(devices) // 2:
            raise InjectedFailure(f"injected failure after {n} of {len(devices)} devices (test hook)")
        params = {"run_id": run_id, "changed_at": started, "device_id": device_id}
        audited += db.execute(sql.INSERT_AUDIT_ONE, params).rowcount
        updated += db.execute(apply, params).rowcount
        db.commit()                      # DEFECT: one transaction per device
        db.begin(write=True)
    timer.done("update", f"{updated:,} slot rows updated, device by device")
    return audited, updated


def _apply_any_role(db: Database, run_id: int, started: str, update_from: bool, checkpoint,
                    timer: _Timer) -> tuple[int, int]:
    """(Defect datafix-touches-supplier-slots.) The update matches slot rows by device and usage, not
    by role, so the Supplier rows of each fixed device get the NO's certificates too; its row-count
    check was relaxed to "at least as many as audited" when the numbers did not match."""
    audited = db.execute(sql.INSERT_AUDIT, {"run_id": run_id, "changed_at": started}).rowcount
    timer.done("audit", f"{audited:,} audit rows")
    checkpoint("audit")
    apply = sql.APPLY_CHANGES_ANY_ROLE if update_from else sql.APPLY_CHANGES_PORTABLE_ANY_ROLE
    updated = db.execute(apply, {"run_id": run_id}).rowcount
    timer.done("update", f"{updated:,} slot rows updated")
    if updated < audited:
        raise RunFailed(f"updated {updated} slot rows but audited {audited}: rolled back")
    checkpoint("update")
    return audited, updated


def list_runs(db: Database) -> list[tuple[int, str, str | None, str, int]]:
    """Every recorded run: (run id, started, finished or None, mode, devices changed)."""
    if not db.table_exists("datafix_run"):
        return []
    return [(int(r[0]), r[1], r[2], r[3], int(r[4])) for r in db.query(sql.LIST_RUNS)]


def past_run(db: Database, run_id: int | None = None) -> DatafixReport:
    """The report of an earlier run, read back from datafix_run, datafix_audit and
    datafix_unfixable (if run_id is None: the latest finished run that changed something, else
    the latest finished run: a later run that found nothing left to fix does not hide the one
    that fixed the devices)."""
    if not db.table_exists("datafix_run"):
        raise DatabaseError(f"no data fix has been run on {db.url} (no datafix_run table)")
    if run_id is None:        # the latest run that changed something; else the latest run
        run_id = db.scalar(sql.LATEST_CHANGING_RUN_ID) or db.scalar(sql.LATEST_RUN_ID)
        if run_id is None:
            raise DatabaseError(f"no data fix run is recorded in {db.url}")
    row = db.query(sql.GET_RUN, {"run_id": int(run_id)})
    if not row:
        raise DatabaseError(f"no data fix run {run_id} in {db.url}")
    rid, started, finished, mode, counts_json = row[0]
    counts = json.loads(counts_json or "{}")
    cells = [CellCount(**c) for c in counts.get("cells", [])]
    audit_rows, _audit_devices = db.query(sql.COUNT_AUDIT, {"run_id": rid})[0]
    unfixable = [Unfixable(*r) for r in db.query(sql.LIST_RUN_UNFIXABLE, {"run_id": rid})]
    return DatafixReport("report", str(db.url), cells, unfixable, int(audit_rows), run_id=int(rid),
                         started_at=started, finished_at=finished)
