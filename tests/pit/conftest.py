"""Steps of the reference's PIT of its own data-fix script (tests/pit/datafix_pit.feature): an S1SP
database built from a census, the script run on it, and the evidence. These test the reference
implementation, not a target: they are not part of the conformance suite under features/ and
never reach a target's verdict, so they may use `reference` and `datafix_pit` directly."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest
from pytest_bdd import given, parsers, then, when

import datafix_pit as pit          # tests/pit/datafix_pit.py (beside this conftest)
from reference.census_spec import FIA_CENSUS, CensusSpec
from reference.datafix.scratch import CensusCopies, pg_server_url


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "reference-pit: a test of the reference's own data-fix script, not part of a target's verdict")


def _rows(datatable) -> list[dict]:
    header, *rows = datatable
    return [dict(zip(header, row)) for row in rows]


@dataclass(repr=False)
class PitState:
    """What one PIT scenario remembers between steps: which census on which database, and the
    copy of it the script runs on (made on first use)."""
    copies: CensusCopies
    database: str | None = None
    spec: CensusSpec | None = None
    db: pit.S1SPDatabase | None = None

    def __repr__(self) -> str:
        # Allure records step arguments by repr: keep it to what identifies the scenario's subject.
        return f"PitState(database={self.database})"

    def open(self, database: str, spec: CensusSpec) -> None:
        """Choose the database; skip with the reason if it is not available here, or fail where
        MP107_REQUIRE_PG=1 requires it (datafix_pit's rule)."""
        try:
            pit.check_available(database)
        except pit.DatabaseUnavailable as exc:
            if pit.required(database):
                pytest.fail(str(exc))
            pytest.skip(str(exc))
        self.database, self.spec, self.db = database, spec, None

    @property
    def s1sp_db(self) -> pit.S1SPDatabase:
        if self.db is None:
            self.db = pit.S1SPDatabase(self.copies, self.database, self.spec)
        return self.db


@pytest.fixture(scope="session")
def census_copies(tmp_path_factory):
    copies = CensusCopies(tmp_path_factory.mktemp("census"), pg_server_url(), prefix="mp107_bdd")
    yield copies
    copies.cleanup()


@pytest.fixture
def pit_state(census_copies) -> PitState:
    return PitState(copies=census_copies)


@given(parsers.re(r"an S1SP database on (?P<database>sqlite|postgresql) of (?P<devices>\d+) devices with wrong Network Operator certificates on"))
def census_database(pit_state, database, devices, datatable):
    wrong = {}
    for row in _rows(datatable):
        for device_type in ("ESME", "GPF"):
            wrong[(row["cohort"], device_type)] = int(row[device_type])
    pit_state.open(database, CensusSpec(devices=int(devices), seed=107, wrong=wrong))


@given(parsers.re(r"an S1SP database on (?P<database>sqlite|postgresql) of (?P<devices>\d+) devices with the FIA's census of wrong Network Operator certificates"))
def fia_census_database(pit_state, database, devices):
    pit_state.open(database, CensusSpec(devices=int(devices), seed=107, wrong=dict(FIA_CENSUS)))


@given("among the wrong devices some the fix cannot fix")
def unfixable_devices(pit_state, datatable):
    spec = pit_state.spec
    unregistered, missing = dict(spec.unregistered), dict(spec.missing_repo)
    for row in _rows(datatable):
        bucket = unregistered if row["reason"] == "no Registration Data" else missing
        bucket[(row["cohort"], row["type"])] = int(row["count"])
    pit_state.spec = CensusSpec(devices=spec.devices, seed=spec.seed, wrong=spec.wrong,
                                unregistered=unregistered, missing_repo=missing)


@given("the data fix has already run on it")
def already_run(pit_state):
    db = pit_state.s1sp_db
    assert db.run() is not None, f"the first run failed: {db.failure}"
    db.snapshot()


@when("the operator runs the data fix as a dry run")
def operator_dry_run(pit_state):
    pit_state.s1sp_db.dry_run()


@when("the operator runs the data fix")
def operator_run(pit_state):
    db = pit_state.s1sp_db
    db.run()
    assert db.failure is None, f"the data fix failed on {db.dialect}: {db.failure}"


@when(parsers.re(r"the operator runs the data fix and it fails after the (?P<step>\w+) step"))
def operator_run_failing(pit_state, step):
    pit_state.s1sp_db.run(fail_after=step)


@then("the report shows per cohort and device type")
def report_cells(pit_state, datatable):
    db = pit_state.s1sp_db
    report = db.report
    wrong = []
    for row in _rows(datatable):
        cell = report.cell(row["cohort"], row["type"])
        expected = (int(row["found"]), int(row["fixed"]))
        if (cell.found, cell.fixed) != expected:
            wrong.append(f"{row['cohort']} {row['type']}: expected found/fixed {expected}, report says "
                         f"{(cell.found, cell.fixed)}")
    assert not wrong, f"data fix {report.mode} on {db.dialect}: " + "; ".join(wrong)


@then(parsers.re(r"the report shows (?P<n>\d+) devices found"))
def report_total(pit_state, n):
    report = pit_state.s1sp_db.report
    assert report.total.found == int(n), f"expected {n} devices found, the report says {report.total.found}"


@then("no row of the S1SP database has changed")
def nothing_changed(pit_state):
    db = pit_state.s1sp_db
    after = db.digests()
    changed = [t for t in pit.S1SP_TABLES if after[t] != db.before[t]]
    assert not changed, f"tables changed on {db.dialect}: {changed} (rows: {sorted(db.changed_rows())[:5]} ...)"


@then("every wrong device's NetworkOperator slot holds the registered network operator's certificates from the repository")
def wrong_devices_fixed(pit_state):
    db = pit_state.s1sp_db
    registered = db.registered_pairs()
    now = db.no_slot_now(db.census.wrong_ids)
    bad = [d for d, slot in now.items()
           if any(slot[u] is None or slot[u] != registered[d][u] for u in pit.USAGES)]
    assert not bad, f"{len(bad)} of {len(now)} wrong devices still do not hold the registered NO's pair, e.g. {bad[:3]}"


@then("no other row of the S1SP database has changed")
def nothing_else_changed(pit_state):
    db = pit_state.s1sp_db
    allowed = {(d, "NetworkOperator", u) for d in db.census.wrong_ids for u in pit.USAGES}
    extra = db.changed_rows() - allowed
    assert not extra, f"rows changed that are not a wrong device's NetworkOperator slot: {sorted(extra)[:5]}"
    after = db.digests()
    for table in ("device", "registration", "no_certificate"):
        assert after[table] == db.before[table], f"table {table} changed"


@then("the audit trail holds the old and the new certificate serial of every replaced certificate")
def audit_trail(pit_state):
    db = pit_state.s1sp_db
    registered = db.registered_pairs()
    audit = db.audit()
    assert len(audit) == 2 * len(db.census.wrong_ids), \
        f"expected {2 * len(db.census.wrong_ids)} audit rows (two certificates per device), found {len(audit)}"
    for device, usage, old_entity, old_serial, new_entity, new_serial, at in audit:
        before = db.slots_before[(device, "NetworkOperator", usage)]
        assert (old_entity, old_serial) == before[:2], f"audit of {device} {usage}: old {old_serial} != {before[1]}"
        assert (new_entity, new_serial) == registered[device][usage][:2], f"audit of {device} {usage}: wrong new serial"
        assert at, f"audit of {device} {usage} has no time"


@then("the report lists the devices it could not fix")
def unfixable_listed(pit_state, datatable):
    report = pit_state.s1sp_db.report
    counts = Counter(u.reason for u in report.unfixable)
    expected = {row["reason"]: int(row["count"]) for row in _rows(datatable)}
    assert dict(counts) == expected, f"unfixable devices by reason: expected {expected}, report lists {dict(counts)}"


@then("the devices it could not fix are untouched")
def unfixable_untouched(pit_state):
    db = pit_state.s1sp_db
    ids = {u.device_id for u in db.report.unfixable}
    touched = {row[0] for row in db.changed_rows()} & ids
    assert not touched, f"devices listed as unfixable were changed: {sorted(touched)}"


@then("the run is reported as failed and rolled back")
def run_failed(pit_state):
    db = pit_state.s1sp_db
    assert db.failure is not None and db.report is None, "the injected failure did not make the run fail"
