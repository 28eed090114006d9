"""Every SQL statement of the data fix, in one place, for both dialects.

The statements are plain SQL that SQLite (>= 3.33, for UPDATE ... FROM) and PostgreSQL both
accept, with named parameters (`:run_id`; see db.Database.sql). The only dialect differences are
the few entries of DIALECT below. The fix is set-based: one CREATE TEMPORARY TABLE ... AS SELECT
finds the devices, one INSERT ... SELECT writes the audit rows (the change set), one UPDATE ... FROM
applies it. No row goes through Python on the way.
"""
from __future__ import annotations

import sqlite3

NO_REGISTRATION = "no Registration Data"
NO_CERTIFICATE = "registered NO has no certificate in the repository"
REASONS = (NO_REGISTRATION, NO_CERTIFICATE)

DIALECT = {
    "sqlite": {
        "blob": "BLOB",
        "temp_schema": "temp",
        # SQLite has no table locks: BEGIN IMMEDIATE (db.Database.begin) takes the write lock,
        # waiting up to the connection's 30 s busy timeout.
        "lock_slots": None,
        "settings": (),
    },
    "postgresql": {
        "blob": "BYTEA",
        "temp_schema": "pg_temp",
        # Live traffic (a 6.15.1 or 6.21 at the S1SP) may not change a slot between our scan and
        # our update; readers are not blocked. Held only for the seconds of the run.
        "lock_slots": "LOCK TABLE anchor_slot IN SHARE ROW EXCLUSIVE MODE",
        # For this transaction only: give up (exit 1, nothing changed) rather than queue for ever
        # behind live traffic; hash joins over a million rows in memory rather than in batches on
        # disk; no JIT compilation (it costs more than it saves here); index lookups priced as on
        # SSD, so the 58,560-row audit and update use the primary key instead of scanning 1.7M rows.
        "settings": ("SET LOCAL lock_timeout = '60s'", "SET LOCAL work_mem = '256MB'", "SET LOCAL jit = off",
                     "SET LOCAL random_page_cost = 1.1"),
    },
}


def sqlite_has_update_from() -> bool:
    return sqlite3.sqlite_version_info >= (3, 33, 0)


# -- the run record and audit trail (created by the first real run, inside its transaction) -------

AUDIT_DDL = """
CREATE TABLE IF NOT EXISTS datafix_run (
  run_id       INTEGER PRIMARY KEY,
  started_at   TEXT NOT NULL,
  finished_at  TEXT,
  mode         TEXT NOT NULL,
  counts       TEXT
);
CREATE TABLE IF NOT EXISTS datafix_audit (
  run_id                 INTEGER NOT NULL,
  device_id              TEXT NOT NULL,
  usage                  TEXT NOT NULL,
  old_entity_id          TEXT NOT NULL,
  old_certificate_serial TEXT NOT NULL,
  new_entity_id          TEXT NOT NULL,
  new_certificate_serial TEXT NOT NULL,
  changed_at             TEXT NOT NULL,
  old_floor_seq          INTEGER NOT NULL,
  old_certificate        {blob} NOT NULL,
  PRIMARY KEY (run_id, device_id, usage)
);
CREATE TABLE IF NOT EXISTS datafix_unfixable (
  run_id        INTEGER NOT NULL,
  device_id     TEXT NOT NULL,
  device_type   TEXT NOT NULL,
  cohort        TEXT NOT NULL,
  mpxn          TEXT,
  registered_no TEXT,
  reason        TEXT NOT NULL,
  PRIMARY KEY (run_id, device_id)
)
"""

AUDIT_TABLES = ("datafix_run", "datafix_audit", "datafix_unfixable")

# -- the work table: every device found, with the reason it cannot be fixed (NULL: fixable) -------

DROP_CANDIDATE = "DROP TABLE IF EXISTS {temp_schema}.datafix_candidate"

# A device is found when it is a SMETS1 ESME or GPF and ANY of its NetworkOperator rows belongs to
# an organisation other than the Network Operator registered for its MPAN/MPRN, or when there is
# no registered Network Operator to compare with (no MPxN, or no Registration Data for it).
# It is fixable when the registered NO has both a DigitalSigning and a KeyAgreement certificate in
# the repository (usage is constrained to those two and (entity_id, usage) is the key, so a count
# of 2 means both).
#
# The work table is created by the query itself (CREATE TEMPORARY TABLE ... AS SELECT, which both
# dialects accept): PostgreSQL may then run the scan with parallel workers, which it never does for
# an INSERT ... SELECT. Its columns: device_id, device_type, cohort, mpxn, registered_no, reason.
# The query gives each device at most once (device_id is device's key, mpxn registration's).
FIND_CANDIDATES = """
CREATE TEMPORARY TABLE datafix_candidate AS
SELECT d.device_id AS device_id, d.device_type AS device_type, d.cohort AS cohort, d.mpxn AS mpxn,
       r.network_operator_id AS registered_no,
       CASE
         WHEN r.network_operator_id IS NULL THEN :no_registration
         WHEN (SELECT count(*) FROM no_certificate n
               WHERE n.entity_id = r.network_operator_id) < 2 THEN :no_certificate
       END AS reason
FROM device d
LEFT JOIN registration r ON r.mpxn = d.mpxn
WHERE d.smets = 1
  AND d.device_type IN ('ESME', 'GPF')
  AND EXISTS (SELECT 1 FROM anchor_slot s
              WHERE s.device_id = d.device_id
                AND s.remote_party_role = 'NetworkOperator'
                AND (r.network_operator_id IS NULL OR s.entity_id <> r.network_operator_id))
"""

ANALYZE_CANDIDATE = "ANALYZE datafix_candidate"

# The change set: each NetworkOperator row of each fixable device, old value beside new.
_CHANGES = """
FROM datafix_candidate c
JOIN anchor_slot s ON s.device_id = c.device_id AND s.remote_party_role = 'NetworkOperator'
JOIN no_certificate n ON n.entity_id = c.registered_no AND n.usage = s.usage
WHERE c.reason IS NULL
"""

COUNT_CHANGES = "SELECT count(*) " + _CHANGES

INSERT_AUDIT = """
INSERT INTO datafix_audit (run_id, device_id, usage, old_entity_id, old_certificate_serial,
                           new_entity_id, new_certificate_serial, changed_at, old_floor_seq,
                           old_certificate)
SELECT :run_id, s.device_id, s.usage, s.entity_id, s.certificate_serial,
       n.entity_id, n.certificate_serial, :changed_at, s.floor_seq, s.certificate
""" + _CHANGES

# Apply the run's change set: both NetworkOperator rows become the registered NO's repository
# pair. The floor sequence number is reset to 0: it guarded the previous Known Remote Party's
# counter and means nothing for the new one (the old value is in the audit row).
APPLY_CHANGES = """
UPDATE anchor_slot AS s
SET entity_id = n.entity_id,
    certificate_serial = n.certificate_serial,
    certificate = n.certificate,
    floor_seq = 0
FROM datafix_candidate c
JOIN no_certificate n ON n.entity_id = c.registered_no
WHERE c.reason IS NULL
  AND s.device_id = c.device_id
  AND s.remote_party_role = 'NetworkOperator'
  AND s.usage = n.usage
"""

# The same for SQLite older than 3.33 (no UPDATE ... FROM): correlated subqueries.
APPLY_CHANGES_PORTABLE = """
UPDATE anchor_slot
SET entity_id = (SELECT a.new_entity_id FROM datafix_audit a
                 WHERE a.run_id = :run_id AND a.device_id = anchor_slot.device_id AND a.usage = anchor_slot.usage),
    certificate_serial = (SELECT a.new_certificate_serial FROM datafix_audit a
                 WHERE a.run_id = :run_id AND a.device_id = anchor_slot.device_id AND a.usage = anchor_slot.usage),
    certificate = (SELECT n.certificate FROM datafix_audit a
                   JOIN no_certificate n ON n.entity_id = a.new_entity_id AND n.usage = a.usage
                   WHERE a.run_id = :run_id AND a.device_id = anchor_slot.device_id AND a.usage = anchor_slot.usage),
    floor_seq = 0
WHERE remote_party_role = 'NetworkOperator'
  AND EXISTS (SELECT 1 FROM datafix_audit a
              WHERE a.run_id = :run_id AND a.device_id = anchor_slot.device_id AND a.usage = anchor_slot.usage)
"""

INSERT_UNFIXABLE = """
INSERT INTO datafix_unfixable (run_id, device_id, device_type, cohort, mpxn, registered_no, reason)
SELECT :run_id, device_id, device_type, cohort, mpxn, registered_no, reason
FROM datafix_candidate
WHERE reason IS NOT NULL
"""

NEXT_RUN_ID = "SELECT COALESCE(MAX(run_id), 0) + 1 FROM datafix_run"

START_RUN = """
INSERT INTO datafix_run (run_id, started_at, finished_at, mode, counts)
VALUES (:run_id, :started_at, NULL, :mode, NULL)
"""

FINISH_RUN = "UPDATE datafix_run SET finished_at = :finished_at, counts = :counts WHERE run_id = :run_id"

# -- reporting (from the work table during a run, from the audit tables afterwards) ---------------

COUNT_BY_CELL = """
SELECT cohort, device_type,
       count(*),
       sum(CASE WHEN reason IS NULL THEN 1 ELSE 0 END),
       sum(CASE WHEN reason = :no_registration THEN 1 ELSE 0 END),
       sum(CASE WHEN reason = :no_certificate THEN 1 ELSE 0 END)
FROM datafix_candidate
GROUP BY cohort, device_type
"""

LIST_UNFIXABLE = """
SELECT device_id, device_type, cohort, mpxn, registered_no, reason
FROM datafix_candidate
WHERE reason IS NOT NULL
ORDER BY cohort, device_type, device_id
"""

LATEST_RUN_ID = "SELECT MAX(run_id) FROM datafix_run WHERE finished_at IS NOT NULL"

LATEST_CHANGING_RUN_ID = """
SELECT MAX(r.run_id) FROM datafix_run r
WHERE r.finished_at IS NOT NULL AND EXISTS (SELECT 1 FROM datafix_audit a WHERE a.run_id = r.run_id)
"""
"""the latest finished run that changed something (wrote audit rows)"""

LIST_RUNS = """
SELECT r.run_id, r.started_at, r.finished_at, r.mode,
       (SELECT count(DISTINCT a.device_id) FROM datafix_audit a WHERE a.run_id = r.run_id)
FROM datafix_run r ORDER BY r.run_id
"""

GET_RUN = "SELECT run_id, started_at, finished_at, mode, counts FROM datafix_run WHERE run_id = :run_id"

COUNT_AUDIT = "SELECT count(*), count(DISTINCT device_id) FROM datafix_audit WHERE run_id = :run_id"

LIST_RUN_UNFIXABLE = """
SELECT device_id, device_type, cohort, mpxn, registered_no, reason
FROM datafix_unfixable
WHERE run_id = :run_id
ORDER BY cohort, device_type, device_id
"""

S1SP_TABLES = ("device", "anchor_slot", "registration", "no_certificate")


def audit_ddl(dialect: str) -> list[str]:
    text = AUDIT_DDL.format(blob=DIALECT[dialect]["blob"])
    return [s.strip() for s in text.split(";") if s.strip()]


# -- deliberate defects (reference/defects.py) ----------------------------------------------------
#
# Each is the correct statement above with one realistic mistake, spelt out as the text it drops or
# changes, so that the difference is the mistake and nothing else. fix.py picks one only when its
# defect is switched on.

def _mistake(statement: str, correct: str, mistaken: str) -> str:
    if correct not in statement:
        raise AssertionError(f"defect SQL: {correct!r} is not in the statement it spoils")
    return statement.replace(correct, mistaken)


_OWNER_COMPARISON = """
                AND (r.network_operator_id IS NULL OR s.entity_id <> r.network_operator_id))"""


def find_candidates(*, every_device: bool = False, with_audited: bool = False) -> str:
    """FIND_CANDIDATES, spoilt. every_device (datafix-touches-correct-devices): no comparison with the
    registered NO, so every SMETS1 meter with a NetworkOperator slot is "found". with_audited
    (datafix-not-idempotent): a 'resume' that also takes every device an earlier run audited."""
    statement = FIND_CANDIDATES
    if every_device:
        statement = _mistake(statement, _OWNER_COMPARISON, ")")
    if with_audited:
        statement = _mistake(statement, "\n  AND EXISTS (SELECT 1 FROM anchor_slot s",
                             "\n  AND (d.device_id IN (SELECT device_id FROM datafix_audit)"
                             "\n       OR EXISTS (SELECT 1 FROM anchor_slot s")
        statement = statement.rstrip() + ")\n"
    return statement


# datafix-touches-supplier-slots: the UPDATE matches slot rows by device and usage, not by role.
APPLY_CHANGES_ANY_ROLE = _mistake(APPLY_CHANGES, "\n  AND s.remote_party_role = 'NetworkOperator'", "")
APPLY_CHANGES_PORTABLE_ANY_ROLE = _mistake(APPLY_CHANGES_PORTABLE,
                                           "WHERE remote_party_role = 'NetworkOperator'\n  AND EXISTS", "WHERE EXISTS")

# datafix-report-ignores-cohort: counted by device type only, under the database's "own" cohort.
COUNT_BY_TYPE_ONLY = _mistake(_mistake(COUNT_BY_CELL, "SELECT cohort, device_type,",
                                       "SELECT (SELECT min(cohort) FROM device), device_type,"),
                              "GROUP BY cohort, device_type", "GROUP BY device_type")

# datafix-not-atomic: the change set of one device at a time (committed one by one in fix.py).
DEVICES_TO_FIX = "SELECT device_id FROM datafix_candidate WHERE reason IS NULL ORDER BY device_id"
INSERT_AUDIT_ONE = INSERT_AUDIT.rstrip() + "\n  AND c.device_id = :device_id\n"
APPLY_CHANGES_ONE = APPLY_CHANGES.rstrip() + "\n  AND c.device_id = :device_id\n"
APPLY_CHANGES_PORTABLE_ONE = APPLY_CHANGES_PORTABLE.rstrip() + "\n  AND anchor_slot.device_id = :device_id\n"
