"""The SECMP0107 Requirement 2 data fix (reference/datafix), on SQLite and PostgreSQL.

MP107-R2.1 finds and fixes every wrong SMETS1 ESME/GPF; R2.2 touches nothing else; R2.3 dry run,
idempotent, all or nothing; R2.4 report per cohort and device type, unfixable list, audit trail.
PostgreSQL tests need MP107_PG_URL (scripts/start-postgres.sh); each gets its own database."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference.__main__ import main as cli
from reference.census import generate
from reference.census_spec import FIA_CENSUS, CensusSpec
from reference.datafix import (NO_CERTIFICATE, NO_REGISTRATION, STEPS, DatabaseURL, InjectedFailure, RunFailed,
                               connect, dry_run, past_run, run)
from reference.datafix import sql as datafix_sql
from reference.datafix.evidence import database_digests, table_digest
from reference.datafix.scratch import CensusCopies, pg_server_url

ROOT = Path(__file__).resolve().parents[1]
S1SP_TABLES = ("device", "anchor_slot", "registration", "no_certificate")
USAGES = ("DigitalSigning", "KeyAgreement")

# A scaled-down census with known numbers, and devices the fix cannot fix.
SMALL = CensusSpec(
    devices=5_000, seed=11,
    wrong={("IOC", "ESME"): 90, ("IOC", "GPF"): 189, ("MOC", "ESME"): 12, ("MOC", "GPF"): 122},
    unregistered={("IOC", "ESME"): 3, ("MOC", "GPF"): 2},
    missing_repo={("IOC", "GPF"): 4, ("FOC", "ESME"): 1},
    decoys=60)
# (found, fixed, no Registration Data, registered NO has no certificate)
SMALL_EXPECTED = {
    ("IOC", "ESME"): (93, 90, 3, 0),
    ("IOC", "GPF"): (193, 189, 0, 4),
    ("MOC", "ESME"): (12, 12, 0, 0),
    ("MOC", "GPF"): (124, 122, 2, 0),
    ("FOC", "ESME"): (1, 0, 0, 1),
    ("FOC", "GPF"): (0, 0, 0, 0),
}
CLEAN = CensusSpec(devices=3_000, seed=12,
                   wrong={("IOC", "ESME"): 40, ("IOC", "GPF"): 70, ("MOC", "ESME"): 5, ("MOC", "GPF"): 30})
FIA = CensusSpec(devices=40_000, seed=107)  # the FIA default census, just above its 29,280 wrong devices


@pytest.fixture(scope="session")
def copies(tmp_path_factory):
    c = CensusCopies(tmp_path_factory.mktemp("datafix"), pg_server_url(), prefix="mp107_dftest")
    yield c
    c.cleanup()




@pytest.fixture
def fresh(copies, dialect):
    """fresh(spec) -> (Database, CensusResult): an open connection to a new copy of the census."""
    opened = []

    def make(spec):
        url, result = copies.fresh(dialect, spec)
        db = connect(url)
        opened.append((db, url))
        return db, result

    yield make
    for db, url in opened:
        db.close()
        copies.discard(url)


# -- helpers ---------------------------------------------------------------------------------------

def slots(db) -> dict:
    rows = db.query("SELECT device_id, remote_party_role, usage, entity_id, certificate_serial, certificate, floor_seq "
                    "FROM anchor_slot")
    return {(r[0], r[1], r[2]): r[3:] for r in rows}


def repository(db) -> dict:
    return {(e, u): (e, s, c) for e, u, s, c in db.query(
        "SELECT entity_id, usage, certificate_serial, certificate FROM no_certificate")}


def registered_no(db) -> dict:
    return dict(db.query("SELECT mpxn, network_operator_id FROM registration"))


def wrong_by_python(db) -> tuple[set, set]:
    """(fixable wrong devices, unfixable found devices) computed in Python, independently of the
    fix's SQL: SMETS1 ESME/GPF whose NO rows hold any other organisation than the registered NO."""
    reg, repo, slot = registered_no(db), repository(db), slots(db)
    fixable, unfixable = set(), set()
    for device_id, dtype, smets, mpxn in db.query("SELECT device_id, device_type, smets, mpxn FROM device"):
        if smets != 1 or dtype not in ("ESME", "GPF"):
            continue
        owners = [slot[(device_id, "NetworkOperator", u)][0] for u in USAGES
                  if (device_id, "NetworkOperator", u) in slot]
        if not owners:
            continue
        no = reg.get(mpxn) if mpxn else None
        if no is None:
            unfixable.add(device_id)
        elif any(o != no for o in owners):
            (fixable if all((no, u) in repo for u in USAGES) else unfixable).add(device_id)
    return fixable, unfixable


def cell_tuple(report, cohort, dtype):
    c = report.cell(cohort, dtype)
    return (c.found, c.fixed, c.no_registration, c.no_certificate)


def no_rows_of(devices):
    return {(d, "NetworkOperator", u) for d in devices for u in USAGES}


# -- the evidence: table digests computed in the database, as defined row by row in Python ----------

def test_digests_in_the_database_are_the_python_definition(fresh):
    """table_digest lets the database encode the rows; python_table_digest is the definition (each
    value encoded by evidence._encode). Same digest for every table, with and without `skip`, on
    awkward values too (NULL, negative, non-ASCII text, a blob with NUL bytes)."""
    from reference.datafix.evidence import TABLES, python_table_digest
    db, census = fresh(CLEAN)
    run(db)
    db.execute("INSERT INTO device (device_id, device_type, smets, mpxn, cohort, smi_status) "
               "VALUES (:d, 'CHF', -7, NULL, 'IOC', :s)", {"d": "ZZ-\u00e9\u4e2d", "s": "x\u00e9y"})
    db.execute("INSERT INTO no_certificate (entity_id, usage, certificate_serial, certificate) "
               "VALUES ('E', 'KeyAgreement', '', :c)", {"c": b"\x00\xff\x00("})
    skip = lambda row: row[1] == "NetworkOperator"  # noqa: E731
    for table in TABLES:
        assert table_digest(db, table) == python_table_digest(db, table), table
        assert table_digest(db, table, skip=skip) == python_table_digest(db, table, skip=skip), table
    assert table_digest(db, "anchor_slot", skip=skip) != table_digest(db, "anchor_slot")


def test_digests_refuse_what_they_cannot_encode(tmp_path):
    from reference.datafix.evidence import python_table_digest
    with connect(DatabaseURL("sqlite", str(tmp_path / "real.db")), mode="rwc") as db:
        generate(db, CensusSpec(devices=10, wrong={}))
        db.execute("INSERT INTO device (device_id, device_type, smets, mpxn, cohort, smi_status) "
                   "VALUES ('R', 'CHF', 1.5, NULL, 'IOC', 'x')")   # SQLite keeps the REAL
        for digest in (table_digest, python_table_digest):
            with pytest.raises(TypeError):
                digest(db, "device")


# -- MP107-R2.3: a dry run reports and changes nothing ---------------------------------------------

def test_dry_run_changes_nothing(fresh):
    db, census = fresh(SMALL)
    before = database_digests(db)
    report = dry_run(db)
    assert database_digests(db) == before
    assert all(before[t] == "absent" for t in ("datafix_run", "datafix_audit", "datafix_unfixable"))
    assert report.mode == "dry-run"
    assert report.total.fixed == len(census.wrong_ids)
    assert report.slot_rows == 2 * len(census.wrong_ids)


def test_dry_run_works_on_a_read_only_sqlite_connection(copies):
    url, census = copies.fresh("sqlite", SMALL)
    with connect(url, mode="ro") as db:
        report = dry_run(db)
    assert report.total.found == sum(e["found"] for e in census.expected.values())


# -- MP107-R2.1 / R2.2: the run fixes exactly the wrong devices and nothing else --------------------

def test_run_fixes_exactly_the_wrong_devices(fresh):
    db, census = fresh(SMALL)
    fixable, unfixable = wrong_by_python(db)
    assert fixable == census.wrong_ids
    assert unfixable == census.unregistered_ids | census.missing_repo_ids
    assert census.half_wrong_ids and census.half_wrong_ids <= fixable
    before = slots(db)

    report = run(db)

    after, reg, repo = slots(db), registered_no(db), repository(db)
    mpxn = dict(db.query("SELECT device_id, mpxn FROM device"))
    for device_id in census.wrong_ids:
        no = reg[mpxn[device_id]]
        for usage in USAGES:
            entity, serial, der, floor = after[(device_id, "NetworkOperator", usage)]
            assert (entity, serial, der) == repo[(no, usage)], device_id
            assert floor == 0
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= no_rows_of(census.wrong_ids)
    assert {k[0] for k in changed} == census.wrong_ids
    assert wrong_by_python(db) == (set(), unfixable)
    assert report.total.fixed == len(census.wrong_ids)
    assert report.slot_rows == 2 * len(census.wrong_ids)


def test_run_leaves_everything_else_byte_for_byte(fresh):
    db, census = fresh(SMALL)
    fixed_rows = no_rows_of(census.wrong_ids)
    skip = lambda row: (row[0], row[1], row[2]) in fixed_rows  # noqa: E731
    before = {t: table_digest(db, t) for t in ("device", "registration", "no_certificate")}
    slots_before = table_digest(db, "anchor_slot", skip=skip)
    untouched = {k: v for k, v in slots(db).items() if k not in fixed_rows}

    run(db)

    assert {t: table_digest(db, t) for t in before} == before
    assert table_digest(db, "anchor_slot", skip=skip) == slots_before
    after = slots(db)
    assert {k: after[k] for k in untouched} == untouched
    # the things designed to tempt it: SMETS2 / GSME decoys, Supplier slots, unfixable devices
    assert census.decoy_ids and all(after[k] == untouched[k] for k in no_rows_of(census.decoy_ids) if k in untouched)
    assert any(k[1] == "Supplier" for k in untouched)


# -- MP107-R2.3: idempotent, all or nothing ---------------------------------------------------------

def test_second_run_finds_and_changes_nothing(fresh):
    db, census = fresh(CLEAN)
    first = run(db)
    assert first.total.fixed == len(census.wrong_ids) > 0
    before = database_digests(db, S1SP_TABLES + ("datafix_audit", "datafix_unfixable"))
    second = run(db)
    assert (second.total.found, second.total.fixed, second.slot_rows) == (0, 0, 0)
    assert database_digests(db, S1SP_TABLES + ("datafix_audit", "datafix_unfixable")) == before
    assert second.run_id == first.run_id + 1  # every run is recorded, even one that changes nothing
    assert dry_run(db).total.found == 0


def test_second_run_finds_only_the_unfixable(fresh):
    db, census = fresh(SMALL)
    run(db)
    before = database_digests(db, S1SP_TABLES)
    second = run(db)
    assert second.total.fixed == 0 and second.slot_rows == 0
    assert second.total.found == second.total.unfixable == len(census.unregistered_ids | census.missing_repo_ids)
    assert database_digests(db, S1SP_TABLES) == before


@pytest.mark.parametrize("step", STEPS)
def test_failure_half_way_leaves_the_database_as_it_was(fresh, step):
    db, _ = fresh(SMALL)
    before = database_digests(db)
    with pytest.raises(RunFailed) as failed:
        run(db, fail_after=step)
    assert isinstance(failed.value.__cause__, InjectedFailure)
    assert database_digests(db) == before
    assert not db.table_exists("datafix_run")


def test_failure_after_an_earlier_run_keeps_its_audit_trail(fresh):
    db, census = fresh(SMALL)
    run(db)
    # the wrong certificates come back on a few devices (e.g. a 6.21 placed them again)
    victims = sorted(census.wrong_ids)[:5]
    for d in victims:
        db.execute("UPDATE anchor_slot SET entity_id = 'AA-AA-AA-AA-AA-AA-AA-AA' "
                   "WHERE device_id = :d AND remote_party_role = 'NetworkOperator'", {"d": d})
    before = database_digests(db)
    assert dry_run(db).total.fixed == 5
    with pytest.raises(RunFailed):
        run(db, fail_after="update")
    assert database_digests(db) == before
    again = run(db)
    assert again.total.fixed == 5 and again.run_id == 2


def test_portable_update_gives_the_same_result_as_update_from(copies):
    """SQLite older than 3.33 has no UPDATE ... FROM: the correlated-subquery form must agree."""
    results = []
    for update_from in (True, False):
        url, _ = copies.fresh("sqlite", SMALL)
        with connect(url) as db:
            report = run(db, update_from=update_from)
            results.append((database_digests(db, S1SP_TABLES), report.counts()))
    assert results[0] == results[1]


# -- MP107-R2.4: report and audit trail ---------------------------------------------------------------

def test_report_counts_per_cohort_and_device_type(fresh):
    db, census = fresh(SMALL)
    for report in (dry_run(db), run(db), past_run(db), past_run(db, 1)):
        got = {cell: cell_tuple(report, *cell) for cell in SMALL_EXPECTED}
        assert got == SMALL_EXPECTED, report.mode
        assert [(c.cohort, c.device_type) for c in report.cells] == list(SMALL_EXPECTED)
        assert report.total.found == 423 and report.total.fixed == 413
        unfixable = {(u.device_id, u.reason) for u in report.unfixable}
        assert unfixable == ({(d, NO_REGISTRATION) for d in census.unregistered_ids}
                             | {(d, NO_CERTIFICATE) for d in census.missing_repo_ids})
        # no MPxN, or an MPxN that Registration Data does not know: both "no Registration Data"
        assert {u.mpxn is None for u in report.unfixable if u.reason == NO_REGISTRATION} == {True, False}


def test_unfixable_devices_are_not_touched(fresh):
    db, census = fresh(SMALL)
    targets = no_rows_of(census.unregistered_ids | census.missing_repo_ids)
    before = {k: v for k, v in slots(db).items() if k in targets}
    run(db)
    after = slots(db)
    assert len(before) == 2 * 10 and {k: after[k] for k in before} == before


def test_audit_rows_hold_old_and_new_for_every_change(fresh):
    db, census = fresh(SMALL)
    before, repo, reg = slots(db), repository(db), registered_no(db)
    mpxn = dict(db.query("SELECT device_id, mpxn FROM device"))
    report = run(db)
    audit = db.query("SELECT run_id, device_id, usage, old_entity_id, old_certificate_serial, new_entity_id, "
                     "new_certificate_serial, changed_at, old_floor_seq, old_certificate FROM datafix_audit")
    assert len(audit) == report.slot_rows == 2 * len(census.wrong_ids)
    assert {(a[1], "NetworkOperator", a[2]) for a in audit} == no_rows_of(census.wrong_ids)
    for run_id, device_id, usage, old_e, old_s, new_e, new_s, at, old_floor, old_der in audit:
        assert run_id == report.run_id and at == report.started_at
        assert (old_e, old_s, old_der, old_floor) == before[(device_id, "NetworkOperator", usage)]
        assert (new_e, new_s) == repo[(reg[mpxn[device_id]], usage)][:2]
    runs = db.query("SELECT run_id, mode, started_at, finished_at FROM datafix_run")
    assert runs == [(1, "run", report.started_at, report.finished_at)]
    assert len(db.query("SELECT * FROM datafix_unfixable WHERE run_id = 1")) == 10
    assert past_run(db).to_dict() | {"mode": "run", "seconds": None, "steps": []} == \
        report.to_dict() | {"seconds": None, "steps": []}


def test_audit_trail_is_enough_to_undo_the_run(fresh):
    """The audit trail is complete: writing its old values back, and nothing else, gives the S1SP
    tables back byte for byte. So the run changed no column and no row that it did not record."""
    db, census = fresh(SMALL)
    before = database_digests(db, S1SP_TABLES)
    report = run(db)
    assert database_digests(db, S1SP_TABLES) != before
    db.begin()
    restored = db.execute(
        "UPDATE anchor_slot SET entity_id = a.old_entity_id, certificate_serial = a.old_certificate_serial, "
        "certificate = a.old_certificate, floor_seq = a.old_floor_seq FROM datafix_audit a "
        "WHERE a.run_id = :run_id AND anchor_slot.device_id = a.device_id "
        "AND anchor_slot.remote_party_role = 'NetworkOperator' AND anchor_slot.usage = a.usage",
        {"run_id": report.run_id}).rowcount
    db.commit()
    assert restored == report.slot_rows == 2 * len(census.wrong_ids)
    assert database_digests(db, S1SP_TABLES) == before


def _schema_objects(db) -> set:
    if db.dialect == "sqlite":
        return set(db.query("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name NOT LIKE 'datafix%'"))
    return set(db.query("SELECT 'index', indexname, tablename, indexdef FROM pg_indexes "
                        "WHERE schemaname = current_schema() AND tablename NOT LIKE 'datafix%' "
                        "UNION SELECT 'table', relname, relname, array_to_string(reloptions, ',') FROM pg_class "
                        "WHERE relkind = 'r' AND relnamespace = current_schema()::regnamespace "
                        "AND relname NOT LIKE 'datafix%'"))


def test_the_fix_leaves_the_s1sp_schema_as_it_found_it(fresh):
    """No index of its own (one built in the run would bill the run for it, and it would change the
    S1SP schema), no other change to the S1SP tables' definitions."""
    db, _ = fresh(SMALL)
    before = _schema_objects(db)
    dry_run(db)
    run(db)
    assert _schema_objects(db) == before


def _plans_of(db, mode) -> dict:
    """{statement name: query plan} of each statement that reads anchor_slot while `mode` (run or
    dry_run) runs on `db`: each is EXPLAINed just before it executes, so in the state the run sees
    (work table filled and analysed, the run's session settings in force)."""
    names = {getattr(datafix_sql, n): n for n in ("FIND_CANDIDATES", "INSERT_AUDIT", "APPLY_CHANGES",
                                                 "COUNT_CHANGES")}
    explain, column = ("EXPLAIN QUERY PLAN ", 3) if db.dialect == "sqlite" else ("EXPLAIN (COSTS OFF) ", 0)
    plans, execute = {}, db.execute

    def explaining(text, params=None):
        if text in names:
            plans[names[text]] = [row[column] for row in execute(explain + text, params).fetchall()]
        return execute(text, params)

    db.execute = explaining
    try:
        mode(db)
    finally:
        del db.execute
    return plans


def _scans_slot_table(db, plan: list[str]) -> bool:
    if db.dialect == "sqlite":
        return any(line.strip().startswith(("SCAN s", "SCAN anchor_slot")) for line in plan)
    return any("Seq Scan on anchor_slot" in line for line in plan)


def test_the_change_set_is_reached_through_the_primary_key(fresh):
    """The query plans of a run: the audit, the update and the dry run's count reach each of their
    rows through the slot table's primary key, never by scanning its 1.7 million rows (at LIVE
    scale); on SQLite, which has only nested-loop joins, the search for candidates does the same, one
    primary-key look-up per SMETS1 meter. (PostgreSQL's search is a hash join over a scan.)"""
    db, _ = fresh(SMALL)
    plans = _plans_of(db, dry_run) | _plans_of(db, run)
    assert set(plans) == {"FIND_CANDIDATES", "INSERT_AUDIT", "APPLY_CHANGES", "COUNT_CHANGES"}
    for name, plan in plans.items():
        # each of them reads the slots (SQLite names them by alias: "SEARCH s USING ...")
        assert any("anchor_slot" in line or " s " in f" {line} " for line in plan), (name, plan)
        if name != "FIND_CANDIDATES" or db.dialect == "sqlite":
            assert not _scans_slot_table(db, plan), (name, plan)


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_slot_rewrites_are_hot_updates_on_postgresql(fresh):
    """On PostgreSQL the S1SP schema leaves room in the slot table's pages (fillfactor 90) and no
    index holds a column the fix changes, so most rewrites are HOT updates: the new row version
    stays in its page and no index is touched (the update step costs a third less at 1 M devices).
    An index over entity_id, or full pages, would make them all non-HOT."""
    db, census = fresh(SMALL)
    assert db.scalar("SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = 'anchor_slot'") \
        == "fillfactor=90"
    report = run(db)
    db.execute("SELECT pg_stat_force_next_flush()")   # this backend's counters, visible from the next statement
    updated, hot = db.query("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'anchor_slot'")[0]
    assert updated == report.slot_rows == 2 * len(census.wrong_ids)
    assert hot > updated * 3 // 4, (hot, updated)


def test_report_of_a_past_run_that_does_not_exist(fresh):
    from reference.datafix import DatabaseError
    db, _ = fresh(SMALL)
    with pytest.raises(DatabaseError, match="no data fix has been run"):
        past_run(db)
    run(db)
    with pytest.raises(DatabaseError, match="no data fix run 7"):
        past_run(db, 7)


def test_fia_census_dry_run_reproduces_the_fia_table(fresh):
    db, census = fresh(FIA)
    report = dry_run(db)
    got = {cell: (report.cell(*cell).found, report.cell(*cell).fixed) for cell in FIA_CENSUS}
    assert got == {cell: (n, n) for cell, n in FIA_CENSUS.items()}
    assert (got[("IOC", "ESME")], got[("IOC", "GPF")], got[("MOC", "ESME")], got[("MOC", "GPF")],
            got[("FOC", "ESME")], got[("FOC", "GPF")]) == ((9_024,) * 2, (18_905,) * 2, (125,) * 2, (1_226,) * 2,
                                                           (0, 0), (0, 0))
    assert report.total.found == 29_280 and report.unfixable == []
    assert report.slot_rows == 58_560


# -- the operator's command ---------------------------------------------------------------------------

def test_cli_dry_run_run_report(copies, dialect, capsys):
    url, census = copies.fresh(dialect, SMALL)
    assert cli(["datafix", "--db", str(url) if dialect == "postgresql" else f"sqlite:///{url.target}",
                "--dry-run", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "DRY RUN" in out and "would fix" in out
    assert any(line.split()[:6] == ["IOC", "GPF", "193", "189", "0", "4"] for line in out.splitlines())
    assert "total" in out and "423" in out and "413" in out
    target = url.target  # a bare SQLite path works too
    assert cli(["datafix", "--db", target, "--run"]) == 0
    captured = capsys.readouterr()
    assert "RUN - committed" in captured.out and "datafix: update" in captured.err
    assert cli(["datafix", "--db", target, "--report"]) == 0
    assert "REPORT of a past run" in capsys.readouterr().out
    assert cli(["datafix", "--db", target, "--report", "1", "--json", "-", "--max-list", "2"]) == 0
    out = capsys.readouterr().out
    assert '"run_id": 1' in out and "... and 8 more" in out
    # a second run finds nothing left: --report still shows the run that changed something, and lists both
    assert cli(["datafix", "--db", target, "--run", "--quiet"]) == 0
    capsys.readouterr()
    assert cli(["datafix", "--db", target, "--report"]) == 0
    out = capsys.readouterr().out
    runs = [line.split() for line in out.split("Runs recorded in this database", 1)[1].splitlines()[1:] if line.strip()]
    assert [r[0] for r in runs] == ["1", "2"] and runs[0][-1] == "above" and runs[1][-1] == "0"
    copies.discard(url)


def test_cli_failed_run_exits_1_and_changes_nothing(copies, dialect, capsys):
    url, _ = copies.fresh(dialect, SMALL)
    with connect(url) as db:
        before = database_digests(db)
    assert cli(["datafix", "--db", url.target, "--run", "--inject-failure", "audit", "--quiet"]) == 1
    assert "rolled back" in capsys.readouterr().err
    with connect(url) as db:
        assert database_digests(db) == before
    copies.discard(url)


@pytest.mark.parametrize("argv, message", [
    (["--db", "mysql://x/y", "--dry-run"], "unsupported database URL scheme"),
    (["--db", "sqlite:///no/such/file.db", "--dry-run"], "does not exist"),
    (["--db", "postgresql://postgres@127.0.0.1:1/postgres", "--dry-run"], "cannot connect"),
    (["--db", "{empty}", "--dry-run"], "is not an S1SP database"),
    (["--db", "{empty}", "--report"], "no data fix has been run"),
    (["--db", "{empty}", "--report", "x"], "takes a run id"),
    (["--db", "{empty}", "--dry-run", "--inject-failure", "update"], "only applies to --run"),
])
def test_cli_usage_and_connection_errors_exit_2(tmp_path, capsys, argv, message):
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    argv = [a.replace("{empty}", str(empty)) for a in argv]
    assert cli(["datafix"] + argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_python_dash_m_reference_runs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "reference", "datafix", "--db", str(tmp_path / "nope.db"),
                           "--dry-run"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "does not exist" in done.stderr
    done = subprocess.run([sys.executable, "-m", "reference", "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "datafix" in done.stdout and "census" in done.stdout


# -- any census: the fix's SQL agrees with a plain Python reading of the rule -------------------------

cells = st.sampled_from([(c, t) for c in ("IOC", "MOC", "FOC") for t in ("ESME", "GPF")])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(wrong=st.dictionaries(cells, st.integers(0, 12), max_size=6),
       unregistered=st.dictionaries(cells, st.integers(0, 3), max_size=3),
       missing=st.dictionaries(cells, st.integers(0, 3), max_size=3),
       extra=st.integers(0, 150), seed=st.integers(0, 10_000))
def test_any_census_is_fixed_exactly(tmp_path_factory, wrong, unregistered, missing, extra, seed):
    n = sum(wrong.values()) + sum(unregistered.values()) + sum(missing.values()) + extra
    spec = CensusSpec(devices=max(n, 1), seed=seed, wrong=wrong, unregistered=unregistered, missing_repo=missing,
                      decoys=min(extra, 10))
    path = tmp_path_factory.mktemp("any") / "s1sp.db"
    with connect(DatabaseURL("sqlite", str(path)), mode="rwc") as db:
        census = generate(db, spec)
        fixable, unfixable = wrong_by_python(db)
        assert fixable == census.wrong_ids
        report = dry_run(db)
        assert report.total.fixed == len(fixable) and report.total.unfixable == len(unfixable)
        for cell in {k for k in census.expected}:
            e = census.expected_cell(*cell)
            assert cell_tuple(report, *cell) == (e["found"], e["fixed"], e["no_registration"], e["no_certificate"])
        done = run(db)
        assert done.counts() == report.counts()
        assert wrong_by_python(db) == (set(), unfixable)
