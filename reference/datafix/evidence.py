"""Digests of table contents, dialect-independent: evidence that a dry run, a failed run or a
second run left a database as it was, and that a run touched only what it should (PIT, FIA 5.1.2).

Each row is encoded canonically (None, int, str, bytes with type tags and lengths) and the rows
are hashed in primary-key order, so SQLite and PostgreSQL holding the same data give the same
digest. The database encodes the rows (one BLOB / bytea per row, `_encoded_row`), and Python only
joins a batch of them and feeds it to SHA-256 in one call: no Python call per row or value. `_encode`
is the same encoding in Python, the definition the SQL is tested against (tests/test_datafix.py)."""
from __future__ import annotations

import hashlib
from operator import itemgetter
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


_PG_INTEGERS = ("smallint", "integer", "bigint")


def _pg_types(db: Database, table: str) -> dict[str, str]:
    return dict(db.query("SELECT column_name, data_type FROM information_schema.columns "
                         "WHERE table_schema = current_schema() AND table_name = :t", {"t": table}))


def _encoded_row(db: Database, table: str) -> str:
    """SQL for `b"(" + b"".join(_encode(v) for v in row) + b")"` as one BLOB / bytea per row; NULL
    where `_encode` would refuse a value (a REAL in SQLite, a timestamp in PostgreSQL)."""
    columns = [c.strip() for c in TABLES[table][0].split(",")]
    if db.dialect == "sqlite":
        # SQLite types values, not columns: typeof() is this value's storage class. `||` copies
        # bytes as they are (NULs included), CAST AS BLOB hands them over unchanged; a CASE
        # without ELSE gives NULL, and NULL || anything is NULL.
        parts = [f"CASE typeof({c}) WHEN 'null' THEN 'N' WHEN 'integer' THEN 'I' || {c} || ';' "
                 f"WHEN 'text' THEN 'S' || length(CAST({c} AS BLOB)) || ':' || {c} "
                 f"WHEN 'blob' THEN 'B' || length({c}) || ':' || {c} END" for c in columns]
        return "CAST('(' || " + " || ".join(parts) + " || ')' AS BLOB)"
    types = _pg_types(db, table)
    parts = []
    for c in columns:
        kind = types.get(c, "")
        if kind in _PG_INTEGERS:
            value = f"convert_to('I' || {c} || ';', 'UTF8')"
        elif kind == "boolean":
            value = f"convert_to('I' || {c}::int || ';', 'UTF8')"
        elif kind == "bytea":
            value = f"convert_to('B' || length({c}) || ':', 'UTF8') || {c}"
        elif kind in ("text", "character varying", "character"):
            value = f"convert_to('S' || octet_length(convert_to({c}::text, 'UTF8')) || ':' || {c}::text, 'UTF8')"
        else:
            value = "NULL::bytea"
        parts.append(f"CASE WHEN {c} IS NULL THEN 'N'::bytea ELSE {value} END")
    return "'('::bytea || " + " || ".join(parts) + " || ')'::bytea"


def _joined(encoded: list) -> bytes:
    try:
        return b"".join(encoded)
    except TypeError:
        raise TypeError("cannot digest a value of a type other than NULL, integer, text or blob") from None


def table_digest(db: Database, table: str, *, skip: Callable[[tuple], bool] | None = None) -> str:
    """SHA-256 of the table's rows in key order ("absent" if the table does not exist); `skip`
    leaves rows out (e.g. the NetworkOperator rows a run was meant to change): it is given the
    row's columns as `rows()` yields them."""
    if not db.table_exists(table):
        return "absent"
    columns, order = TABLES[table]
    encoded = _encoded_row(db, table)
    h = hashlib.sha256()
    n = 0
    if skip is None:
        cur = db.execute(f"SELECT {encoded} FROM {table} ORDER BY {order}")
        last = itemgetter(0)
    else:
        cur = db.execute(f"SELECT {columns}, {encoded} FROM {table} ORDER BY {order}")
        last = itemgetter(-1)
    while True:
        batch = cur.fetchmany(10_000)
        if not batch:
            break
        if skip is not None:
            batch = [row for row in batch if not skip(row[:-1])]
        h.update(_joined(list(map(last, batch))))
        n += len(batch)
    return f"{n}:{h.hexdigest()}"


def python_table_digest(db: Database, table: str, *, skip: Callable[[tuple], bool] | None = None) -> str:
    """`table_digest` computed row by row in Python with `_encode`: the definition, kept to check the
    SQL against (tests/test_datafix.py); slow (about 1.5 s for a 40,000-device census)."""
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
