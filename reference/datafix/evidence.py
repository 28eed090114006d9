"""Digests of table contents, dialect-independent: evidence that a dry run, a failed run or a
second run left a database as it was, and that a run touched only what it should (PIT, FIA 5.1.2).

Each row is encoded canonically (None, int, str, bytes with type tags and lengths) and the rows
are hashed in primary-key order, so SQLite and PostgreSQL holding the same data give the same
digest."""
from __future__ import annotations

import hashlib
from typing import Callable, Iterable

from .db import Database

# Table -> columns in a fixed order, and the ORDER BY that makes the dump deterministic.
TABLES = {
    "device": ("device_id, device_type, smets, mpxn, cohort, smi_status", "device_id"),
    "anchor_slot": ("device_id, remote_party_role, usage, entity_id, certificate_serial, certificate, floor_seq",
                    "device_id, remote_party_role, usage"),
    "registration": ("mpxn, fuel, supplier_id, network_operator_id", "mpxn"),
    "no_certificate": ("entity_id, usage, certificate_serial, certificate", "entity_id, usage"),
    "datafix_run": ("run_id, started_at, finished_at, mode, counts", "run_id"),
    "datafix_audit": ("run_id, device_id, usage, old_entity_id, old_certificate_serial, new_entity_id, "
                      "new_certificate_serial, changed_at, old_floor_seq, old_certificate", "run_id, device_id, usage"),
    "datafix_unfixable": ("run_id, device_id, device_type, cohort, mpxn, registered_no, reason", "run_id, device_id"),
}


def _encode(value) -> bytes:
    if value is None:
        return b"N"
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return b"I" + str(value).encode() + b";"
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return b"S" + str(len(raw)).encode() + b":" + raw
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, (bytes, bytearray)):
        return b"B" + str(len(value)).encode() + b":" + bytes(value)
    raise TypeError(f"cannot digest a {type(value).__name__}")


def rows(db: Database, table: str) -> Iterable[tuple]:
    columns, order = TABLES[table]
    cur = db.execute(f"SELECT {columns} FROM {table} ORDER BY {order}")
    while True:
        batch = cur.fetchmany(10_000)
        if not batch:
            return
        yield from batch


def table_digest(db: Database, table: str, *, skip: Callable[[tuple], bool] | None = None) -> str:
    """SHA-256 of the table's rows in key order ("absent" if the table does not exist); `skip`
    leaves rows out (e.g. the NetworkOperator rows a run was meant to change)."""
    if not db.table_exists(table):
        return "absent"
    h = hashlib.sha256()
    n = 0
    for row in rows(db, table):
        if skip and skip(row):
            continue
        h.update(b"(" + b"".join(_encode(v) for v in row) + b")")
        n += 1
    return f"{n}:{h.hexdigest()}"


def database_digests(db: Database, tables: Iterable[str] = tuple(TABLES)) -> dict[str, str]:
    return {t: table_digest(db, t) for t in tables}
