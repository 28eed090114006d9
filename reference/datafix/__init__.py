"""SECMP0107 Requirement 2: the one-off data fix of wrong Network Operator certificates in an S1SP's
virtual anchor slots (SPEC MP107-R2.1 ... R2.4; FIA 3.3.2, 4.2.2, 5.1.2). See docs/datafix.md.

    from reference.datafix import connect, dry_run, run, past_run
    with connect("sqlite:///s1sp.db") as db:
        report = dry_run(db)

Modules: sql (every statement, both dialects), fix (the three modes), db (URLs, connections,
dialects), report (plain-text report), evidence (table digests for PIT evidence and tests), cli.
"""
from .db import Database, DatabaseError, DatabaseURL, connect
from .fix import (STEPS, CellCount, DatafixReport, InjectedFailure, RunFailed, Unfixable, dry_run,
                  past_run, run)
from .sql import NO_CERTIFICATE, NO_REGISTRATION

__all__ = [
    "Database", "DatabaseError", "DatabaseURL", "connect", "STEPS", "CellCount", "DatafixReport",
    "InjectedFailure", "RunFailed", "Unfixable", "dry_run", "past_run", "run", "NO_CERTIFICATE",
    "NO_REGISTRATION",
]
