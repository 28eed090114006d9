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
);
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


def ddl(dialect: str = "sqlite") -> list[str]:
    """The CREATE TABLE statements for `dialect` ("sqlite" or "postgresql")."""
    if dialect not in ("sqlite", "postgresql"):
        raise ValueError(f"unknown SQL dialect {dialect!r}: expected 'sqlite' or 'postgresql'")
    blob = "BLOB" if dialect == "sqlite" else "BYTEA"
    return [s.strip() for s in _TABLES.format(blob=blob).split(";") if s.strip()]


def create_schema(conn, dialect: str = "sqlite") -> None:
    """Create the S1SP schema on a DB-API connection (idempotent)."""
    cur = conn.cursor()
    for statement in ddl(dialect):
        cur.execute(statement)
    conn.commit()
