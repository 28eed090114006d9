"""Disposable S1SP databases: generate a census once, then hand out fresh copies of it, so each
test or benchmark run starts from the same state. SQLite copies the file; PostgreSQL uses
CREATE DATABASE ... TEMPLATE. Used by tests/test_datafix*.py, tests/test_census*.py, tests/pit and
the data-fix benchmark; never by the data fix itself.

A census is generated once per process, not once per `CensusCopies`: the templates (which nobody
writes to) are shared by every `CensusCopies` of the process on the same database server, so the
40,000-device FIA census that tests/test_census.py, tests/test_datafix.py and tests/pit all use is
built once per database kind in a test session (bench/PROFILE.md). They are removed when the
process exits."""
from __future__ import annotations

import atexit
import itertools
import os
import shutil
import threading
from pathlib import Path
from typing import Callable

from .db import DatabaseURL, connect, create_pg_database, drop_pg_database

PG_URL_ENV = "MP107_PG_URL"
PG_REQUIRE_ENV = "MP107_REQUIRE_PG"
PG_SKIP_REASON = "MP107_PG_URL not set: PostgreSQL tests need a server"


def pg_server_url() -> DatabaseURL | None:
    """The PostgreSQL server given in MP107_PG_URL, or None."""
    url = os.environ.get(PG_URL_ENV, "").strip()
    return DatabaseURL.parse(url) if url else None


# Templates shared by the whole process: (dialect, server, repr(spec)) -> (template URL, CensusResult).
# A template lives beside the copies of the first CensusCopies that asked for it.
_templates: dict = {}
_template_urls: list[DatabaseURL] = []
_template_lock = threading.Lock()
_template_n = itertools.count(1)


def _template_url(dialect: str, workdir: Path, prefix: str, pg_server: DatabaseURL | None) -> DatabaseURL:
    n = next(_template_n)
    if dialect == "sqlite":
        path = workdir / f"{prefix}_template{n}.sqlite3"
        path.unlink(missing_ok=True)  # a leftover of an earlier process with our pid
        return DatabaseURL("sqlite", str(path))
    if pg_server is None:
        raise RuntimeError(PG_SKIP_REASON)
    return create_pg_database(pg_server.with_database(f"{prefix}_template{n}"))


@atexit.register
def _remove_templates() -> None:
    for url in _template_urls:
        try:
            if url.dialect == "sqlite":
                os.remove(url.target)
            else:
                drop_pg_database(url)
        except Exception:
            pass   # the throwaway server of a test session may be gone already
    _template_urls.clear()
    _templates.clear()


class CensusCopies:
    """Census templates keyed by (dialect, spec), shared by the process, and fresh copies of them."""

    def __init__(self, workdir: str | Path, pg_server: DatabaseURL | None = None, prefix: str = "mp107"):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.pg_server = pg_server
        self.prefix = f"{prefix}_{os.getpid()}"
        self._templates: dict = {}
        self._copies: list[DatabaseURL] = []
        self._template_urls: list[DatabaseURL] = []
        self._n = itertools.count(1)

    def empty(self, dialect: str) -> DatabaseURL:
        """A new empty database (no tables)."""
        n = next(self._n)
        if dialect == "sqlite":
            path = self.workdir / f"{self.prefix}_db{n}.sqlite3"
            path.unlink(missing_ok=True)  # a leftover of an earlier process with our pid
            return DatabaseURL("sqlite", str(path))
        if self.pg_server is None:
            raise RuntimeError(PG_SKIP_REASON)
        url = create_pg_database(self.pg_server.with_database(f"{self.prefix}_{n}"))
        self._copies.append(url)
        return url

    def template(self, dialect: str, spec, *, progress: Callable[[str], None] | None = None):
        """(template URL, CensusResult) for this census, generated on first use in this process.
        The template is not to be written to: `fresh` gives a copy to write to."""
        from reference.census import generate

        server = self.pg_server.target if dialect == "postgresql" and self.pg_server is not None else None
        key = (dialect, server, repr(spec))
        with _template_lock:
            if key not in _templates:
                url = _template_url(dialect, self.workdir, self.prefix, self.pg_server)
                _template_urls.append(url)
                with connect(url, mode="rwc") as db:
                    result = generate(db, spec, progress=progress)
                _templates[key] = (url, result)
            self._templates[key] = _templates[key]
        return _templates[key]

    def fresh(self, dialect: str, spec, *, progress: Callable[[str], None] | None = None):
        """(URL of a new copy of the census, CensusResult)."""
        template, result = self.template(dialect, spec, progress=progress)
        n = next(self._n)
        if dialect == "sqlite":
            url = DatabaseURL("sqlite", str(self.workdir / f"{self.prefix}_copy{n}.sqlite3"))
            shutil.copyfile(template.target, url.target)
        else:
            url = create_pg_database(self.pg_server.with_database(f"{self.prefix}_{n}"),
                                     template=template.database_name)
        self._copies.append(url)
        return url, result

    def discard(self, url: DatabaseURL) -> None:
        if url.dialect == "sqlite":
            for suffix in ("", "-journal"):
                try:
                    os.remove(url.target + suffix)
                except FileNotFoundError:
                    pass
        else:
            drop_pg_database(url)
        if url in self._copies:
            self._copies.remove(url)

    def cleanup(self) -> None:
        for url in list(self._copies) + list(self._template_urls):
            try:
                self.discard(url)
            except Exception:
                pass
        self._copies.clear()
        self._template_urls.clear()
        self._templates.clear()
