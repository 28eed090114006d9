"""The S1SP's own database: devices, virtual anchor slots, its copy of Registration Data, and the
NO certificate repository. One schema, two dialects (SQLite, the embedded default; PostgreSQL for
LIVE-scale work such as the data fix). See docs/ARCHITECTURE.md."""
from __future__ import annotations

_TABLES = """
CREATE TABLE IF NOT EXISTS device (
  device_id   TEXT PRIMARY KEY,
  device_type TEXT NOT NULL CHECK (device_type IN ('ESME','GSME','GPF','CHF')),
  smets       INTEGER NOT NULL DEFAULT 1,
  mpxn        TEXT,
  cohort      TEXT NOT NULL,
  smi_status  TEXT NOT NULL DEFAULT 'Commissioned'
);
CREATE TABLE IF NOT EXISTS anchor_slot (
  device_id          TEXT NOT NULL REFERENCES device(device_id),
  remote_party_role  TEXT NOT NULL CHECK (remote_party_role IN ('Supplier','NetworkOperator')),
  usage              TEXT NOT NULL CHECK (usage IN ('DigitalSigning','KeyAgreement')),
  entity_id          TEXT NOT NULL,
  certificate_serial TEXT NOT NULL,
  certificate        {blob} NOT NULL,
  floor_seq          INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (device_id, remote_party_role, usage)
){slot_storage};
CREATE TABLE IF NOT EXISTS registration (
  mpxn                TEXT PRIMARY KEY,
  fuel                TEXT NOT NULL CHECK (fuel IN ('electricity','gas')),
  supplier_id         TEXT NOT NULL,
  network_operator_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS no_certificate (
  entity_id          TEXT NOT NULL,
  usage              TEXT NOT NULL CHECK (usage IN ('DigitalSigning','KeyAgreement')),
  certificate_serial TEXT NOT NULL,
  certificate        {blob} NOT NULL,
  PRIMARY KEY (entity_id, usage)
);
"""


# PostgreSQL only: anchor_slot rows are rewritten in place (a 6.15.1 or 6.21 replaces a slot's
# certificates; so does the Requirement 2 data fix), and no index holds the columns they change. With
# room left in each page, such an update is "HOT": the new row version goes in the same page and
# no index is touched. Filled to 100% (the default), every rewrite moves the row to another page and
# adds a primary-key entry. The data fix's 58,560-row update at 1 M devices: 92% HOT, 0.75 s -> 0.44 s,
# 30% less WAL (docs/datafix.md, "Benchmark"). Do not add an index over entity_id, certificate_serial,
# certificate or floor_seq without measuring this again: it would make these updates non-HOT.
_SLOT_STORAGE = {"sqlite": "", "postgresql": " WITH (fillfactor = 90)"}


def ddl(dialect: str = "sqlite") -> list[str]:
    """The CREATE TABLE statements for `dialect` ("sqlite" or "postgresql")."""
    if dialect not in ("sqlite", "postgresql"):
        raise ValueError(f"unknown SQL dialect {dialect!r}: expected 'sqlite' or 'postgresql'")
    blob = "BLOB" if dialect == "sqlite" else "BYTEA"
    text = _TABLES.format(blob=blob, slot_storage=_SLOT_STORAGE[dialect])
    return [s.strip() for s in text.split(";") if s.strip()]


def create_schema(conn, dialect: str = "sqlite") -> None:
    """Create the S1SP schema on a DB-API connection (idempotent)."""
    cur = conn.cursor()
    for statement in ddl(dialect):
        cur.execute(statement)
    conn.commit()
