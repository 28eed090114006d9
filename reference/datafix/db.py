"""Connections by URL, and the few differences between the two SQL dialects the data fix speaks.

    sqlite:///relative/path.db      SQLite file, path relative to the working directory
    sqlite:////absolute/path.db     SQLite file, absolute path (four slashes, as SQLAlchemy)
    path/to/file.db                 a bare path (no "://") is an SQLite file too
    postgresql://user@host:port/db  PostgreSQL through psycopg 3 (any libpq URI; postgres:// too)

Statements are written once, with named parameters (`:name`); `Database.sql` rewrites them for
psycopg (`%(name)s`). Transactions are explicit (`BEGIN` / `COMMIT` / `ROLLBACK` as statements),
the same in both dialects: SQLite connections run with `isolation_level=None` and PostgreSQL ones
with `autocommit=True`, so nothing opens or closes a transaction behind our back.
"""
from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass
from typing import Any, Iterable, Sequence
from urllib.parse import quote, urlsplit, urlunsplit

DIALECTS = ("sqlite", "postgresql")


class DatabaseError(Exception):
    """The database could not be reached or is not what was expected: a usage or connection
    error (the command exits 2), as opposed to a failure during a run (exit 1)."""


@dataclass(frozen=True)
class DatabaseURL:
    dialect: str
    target: str  # SQLite: file path; PostgreSQL: the libpq URI

    @classmethod
    def parse(cls, url: str) -> "DatabaseURL":
        if not url:
            raise DatabaseError("no database URL given: expected sqlite:///path.db or postgresql://user@host:port/db")
        if "://" not in url:
            return cls("sqlite", url)
        scheme, rest = url.split("://", 1)
        scheme = scheme.lower()
        if scheme == "sqlite":
            if not rest.startswith("/") or rest == "/":
                raise DatabaseError(f"bad SQLite URL {url!r}: expected sqlite:///relative.db or sqlite:////absolute.db")
            return cls("sqlite", rest[1:])
        if scheme in ("postgresql", "postgres"):
            return cls("postgresql", "postgresql://" + rest)
        raise DatabaseError(f"unsupported database URL scheme {scheme!r} in {redact(url)!r}: expected sqlite or postgresql")

    def with_database(self, name: str) -> "DatabaseURL":
        """The same PostgreSQL server, another database."""
        if self.dialect != "postgresql":
            raise ValueError("with_database is for PostgreSQL URLs")
        parts = urlsplit(self.target)
        return DatabaseURL("postgresql", urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, "")))

    @property
    def database_name(self) -> str:
        if self.dialect == "sqlite":
            return self.target
        return urlsplit(self.target).path.lstrip("/") or "postgres"

    def __str__(self) -> str:
        if self.dialect == "sqlite":
            return "sqlite:///" + self.target
        return redact(self.target)


def redact(url: str) -> str:
    """The URL without a password, for messages and reports."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")


class Database:
    """A DB-API connection plus its dialect. Only what the data fix and the census need."""

    def __init__(self, conn: Any, dialect: str, url: DatabaseURL):
        if dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {dialect!r}")
        self.conn = conn
        self.dialect = dialect
        self.url = url

    # -- statements -------------------------------------------------------------------------
    def sql(self, text: str) -> str:
        if self.dialect == "postgresql":
            return _NAMED.sub(r"%(\1)s", text.replace("%", "%%"))
        return text

    def execute(self, text: str, params: dict | Sequence | None = None):
        cur = self.conn.cursor()
        cur.execute(self.sql(text), params if params is not None else ())
        return cur

    def query(self, text: str, params: dict | Sequence | None = None) -> list[tuple]:
        cur = self.execute(text, params)
        rows = cur.fetchall()
        return [tuple(_plain(v) for v in row) for row in rows]

    def scalar(self, text: str, params: dict | Sequence | None = None) -> Any:
        rows = self.query(text, params)
        return rows[0][0] if rows else None

    def begin(self, *, write: bool = True) -> None:
        if self.dialect == "sqlite":
            # IMMEDIATE takes SQLite's write lock now, so nothing can write between our reads
            # and our updates; a dry run takes no lock.
            self.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
        else:
            self.execute("BEGIN")

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        try:
            self.execute("ROLLBACK")
        except Exception:
            pass  # no transaction open (it failed before BEGIN) or the connection is gone

    def table_exists(self, name: str) -> bool:
        if self.dialect == "sqlite":
            return bool(self.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = :n", {"n": name}))
        return bool(self.scalar("SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = :n", {"n": name}))

    def bulk_insert(self, table: str, columns: Sequence[str], types: Sequence[str], rows: Iterable[Sequence]) -> None:
        """Insert many rows fast: executemany on SQLite, binary COPY on PostgreSQL. `types` are
        PostgreSQL type names for the COPY (text, int4, bytea)."""
        if self.dialect == "sqlite":
            marks = ", ".join("?" for _ in columns)
            self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
            return
        cur = self.conn.cursor()
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(list(types))
            for row in rows:
                copy.write_row(row)

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:
            pass

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _plain(value: Any) -> Any:
    if isinstance(value, memoryview):
        return value.tobytes()
    return value


def connect(url: str | DatabaseURL, *, mode: str = "rw") -> Database:
    """Open the database at `url`. mode: "ro" (read only: a dry run or a report on SQLite),
    "rw" (must exist), "rwc" (create the SQLite file if absent; census)."""
    parsed = url if isinstance(url, DatabaseURL) else DatabaseURL.parse(url)
    if parsed.dialect == "sqlite":
        path = parsed.target
        if mode != "rwc" and not os.path.exists(path):
            raise DatabaseError(f"SQLite database {path!r} does not exist (URL {parsed})")
        try:
            conn = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode={mode}", uri=True,
                                   isolation_level=None, timeout=30)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open SQLite database {path!r}: {exc}") from exc
        return Database(conn, "sqlite", parsed)
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a declared dependency
        raise DatabaseError("PostgreSQL URL given but psycopg is not installed (pip install 'psycopg[binary]')") from exc
    try:
        conn = psycopg.connect(parsed.target, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseError(f"cannot connect to {parsed}: {first}") from exc
    return Database(conn, "postgresql", parsed)


# -- PostgreSQL databases as a unit (tests, benchmark, census --db with a new database) ------------

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return '"' + name + '"'


def _maintenance(url: DatabaseURL) -> Database:
    return connect(url.with_database("postgres"))


def pg_database_exists(url: str | DatabaseURL) -> bool:
    parsed = url if isinstance(url, DatabaseURL) else DatabaseURL.parse(url)
    with _maintenance(parsed) as admin:
        return bool(admin.scalar("SELECT count(*) FROM pg_database WHERE datname = :n", {"n": parsed.database_name}))


def create_pg_database(url: str | DatabaseURL, *, template: str | None = None) -> DatabaseURL:
    """CREATE DATABASE for the database named in `url` (optionally as a copy of `template`)."""
    parsed = url if isinstance(url, DatabaseURL) else DatabaseURL.parse(url)
    statement = f"CREATE DATABASE {_ident(parsed.database_name)}"
    if template:
        statement += f" TEMPLATE {_ident(template)}"
    with _maintenance(parsed) as admin:
        admin.execute(statement)
    return parsed


def drop_pg_database(url: str | DatabaseURL) -> None:
    parsed = url if isinstance(url, DatabaseURL) else DatabaseURL.parse(url)
    with _maintenance(parsed) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {_ident(parsed.database_name)} WITH (FORCE)")
