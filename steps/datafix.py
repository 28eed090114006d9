"""The Requirement 2 data fix: PIT on an S1SP database built from a census, and SIT through the DCC."""
from __future__ import annotations

from collections import Counter

import pytest
from pytest_bdd import given, parsers, then, when

from adapters import datafix_pit as pit
from adapters.target import Capability
from reference.census import FIA_CENSUS, CensusSpec

from .vocabulary import S1SP


def _rows(datatable) -> list[dict]:
    header, *rows = datatable
    return [dict(zip(header, row)) for row in rows]


@pytest.fixture(scope="session")
def census_copies(tmp_path_factory):
    from reference.datafix.scratch import CensusCopies, pg_server_url
    copies = CensusCopies(tmp_path_factory.mktemp("census"), pg_server_url(), prefix="mp107_bdd")
    yield copies
    copies.cleanup()


def _open(state, census_copies, database: str, spec: CensusSpec):
    try:
        pit.check_available(database)
    except pit.DatabaseUnavailable as exc:
        if pit.required(database):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    state.pit_spec = (census_copies, database, spec)
    state.pit_db = None


def _db(state) -> pit.S1SPDatabase:
    if state.pit_db is None:
        copies, database, spec = state.pit_spec
        state.pit_db = pit.S1SPDatabase(copies, database, spec)
    return state.pit_db


@given(parsers.re(r"an S1SP database on (?P<database>sqlite|postgresql) of (?P<devices>\d+) devices with wrong Network Operator certificates on"))
def census_database(state, census_copies, database, devices, datatable):
    wrong = {}
    for row in _rows(datatable):
        for device_type in ("ESME", "GPF"):
            wrong[(row["cohort"], device_type)] = int(row[device_type])
    _open(state, census_copies, database, CensusSpec(devices=int(devices), seed=107, wrong=wrong))


@given(parsers.re(r"an S1SP database on (?P<database>sqlite|postgresql) of (?P<devices>\d+) devices with the FIA's census of wrong Network Operator certificates"))
def fia_census_database(state, census_copies, database, devices):
    _open(state, census_copies, database, CensusSpec(devices=int(devices), seed=107, wrong=dict(FIA_CENSUS)))


@given("among the wrong devices some the fix cannot fix")
def unfixable_devices(state, datatable):
    copies, database, spec = state.pit_spec
    unregistered, missing = dict(spec.unregistered), dict(spec.missing_repo)
    for row in _rows(datatable):
        bucket = unregistered if row["reason"] == "no Registration Data" else missing
        bucket[(row["cohort"], row["type"])] = int(row["count"])
    state.pit_spec = (copies, database, CensusSpec(devices=spec.devices, seed=spec.seed, wrong=spec.wrong,
                                                    unregistered=unregistered, missing_repo=missing))


@given("the data fix has already run on it")
def already_run(state):
    db = _db(state)
    assert db.run() is not None, f"the first run failed: {db.failure}"
    db.snapshot()


@when("the operator runs the data fix as a dry run")
def operator_dry_run(state):
    _db(state).dry_run()


@when("the operator runs the data fix")
def operator_run(state):
    db = _db(state)
    db.run()
    assert db.failure is None, f"the data fix failed on {db.dialect}: {db.failure}"


@when(parsers.re(r"the operator runs the data fix and it fails after the (?P<step>\w+) step"))
def operator_run_failing(state, step):
    _db(state).run(fail_after=step)


@then("the report shows per cohort and device type")
def report_cells(state, datatable):
    report = _db(state).report
    wrong = []
    for row in _rows(datatable):
        cell = report.cell(row["cohort"], row["type"])
        expected = (int(row["found"]), int(row["fixed"]))
        if (cell.found, cell.fixed) != expected:
            wrong.append(f"{row['cohort']} {row['type']}: expected found/fixed {expected}, report says "
                         f"{(cell.found, cell.fixed)}")
    assert not wrong, f"data fix {report.mode} on {_db(state).dialect}: " + "; ".join(wrong)


@then(parsers.re(r"the report shows (?P<n>\d+) devices found"))
def report_total(state, n):
    report = _db(state).report
    assert report.total.found == int(n), f"expected {n} devices found, the report says {report.total.found}"


@then("no row of the S1SP database has changed")
def nothing_changed(state):
    db = _db(state)
    after = db.digests()
    changed = [t for t in pit.S1SP_TABLES if after[t] != db.before[t]]
    assert not changed, f"tables changed on {db.dialect}: {changed} (rows: {sorted(db.changed_rows())[:5]} ...)"


@then("every wrong device's NetworkOperator slot holds the registered network operator's certificates from the repository")
def wrong_devices_fixed(state):
    db = _db(state)
    registered = db.registered_pairs()
    now = db.no_slot_now(db.census.wrong_ids)
    bad = [d for d, slot in now.items()
           if any(slot[u] is None or slot[u] != registered[d][u] for u in pit.USAGES)]
    assert not bad, f"{len(bad)} of {len(now)} wrong devices still do not hold the registered NO's pair, e.g. {bad[:3]}"


@then("no other row of the S1SP database has changed")
def nothing_else_changed(state):
    db = _db(state)
    allowed = {(d, "NetworkOperator", u) for d in db.census.wrong_ids for u in pit.USAGES}
    extra = db.changed_rows() - allowed
    assert not extra, f"rows changed that are not a wrong device's NetworkOperator slot: {sorted(extra)[:5]}"
    after = db.digests()
    for table in ("device", "registration", "no_certificate"):
        assert after[table] == db.before[table], f"table {table} changed"


@then("the audit trail holds the old and the new certificate serial of every replaced certificate")
def audit_trail(state):
    db = _db(state)
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
def unfixable_listed(state, datatable):
    report = _db(state).report
    counts = Counter(u.reason for u in report.unfixable)
    expected = {row["reason"]: int(row["count"]) for row in _rows(datatable)}
    assert dict(counts) == expected, f"unfixable devices by reason: expected {expected}, report lists {dict(counts)}"


@then("the devices it could not fix are untouched")
def unfixable_untouched(state):
    db = _db(state)
    ids = {u.device_id for u in db.report.unfixable}
    touched = {row[0] for row in db.changed_rows()} & ids
    assert not touched, f"devices listed as unfixable were changed: {sorted(touched)}"


@then("the run is reported as failed and rolled back")
def run_failed(state):
    db = _db(state)
    assert db.failure is not None and db.report is None, "the injected failure did not make the run fail"


# --- through the DCC --------------------------------------------------------------------------

@when(parsers.re(rf"the DCC runs the data fix on the database of {S1SP}"))
def dcc_runs_datafix(state, s1sp):
    state.need(Capability.DATAFIX, f"run the data fix on {s1sp}'s database")
    state.datafix_report, state.datafix_fixed = state.target.run_datafix(s1sp)


@then("the data fix has fixed this device")
def fixed_this_device(state):
    device = state.device.device.device_id
    assert device in state.datafix_fixed, (
        f"device {device} is not among the {len(state.datafix_fixed)} devices the data fix changed "
        f"(report: found {state.datafix_report.total.found}, fixed {state.datafix_report.total.fixed}, "
        f"unfixable {[(u.device_id, u.reason) for u in state.datafix_report.unfixable][:5]})")
