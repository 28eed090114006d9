"""`python -m reference datafix`: the operator's command for the one-off data fix.

    python -m reference datafix --db URL --dry-run          report what a run would fix; changes nothing
    python -m reference datafix --db URL --run              fix, in one transaction, with the audit trail
    python -m reference datafix --db URL --report [RUN_ID]  the report of a past run (default: the latest
                                                            that changed something) and the list of runs

Exit codes: 0 done; 1 the run (or dry run) failed and was rolled back, the database is unchanged;
2 usage or connection error (bad URL, no such database, not an S1SP database, no such run).
"""
from __future__ import annotations

import argparse
import sqlite3
import sys

from . import fix
from .db import DatabaseError, connect
from .report import format_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", required=True, metavar="URL",
                        help="the S1SP database: sqlite:///file.db (relative), sqlite:////abs/file.db, "
                             "or postgresql://user@host:port/db")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="find and report; change nothing")
    mode.add_argument("--run", action="store_true", help="fix all fixable devices, all or nothing, with an audit trail")
    mode.add_argument("--report", nargs="?", const="latest", metavar="RUN_ID",
                      help="print the report of a past run (default: the latest that changed something) "
                           "and list every run recorded")
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON to PATH ('-' for stdout)")
    parser.add_argument("--max-list", type=int, default=None, metavar="N",
                        help="list at most N unfixable devices in the text report (default: all)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--inject-failure", choices=fix.STEPS, metavar="STEP",
                        help="PIT rehearsal: fail the run after STEP (one of %(choices)s) to show it rolls back")
    parser.add_argument("--defect", dest="defects", action="append", default=None, metavar="NAME",
                        help="run the script with this deliberate defect (reference/defects.py, component "
                             "'Data fix'; repeatable), to show the PIT catches it; default: $MP107_REFERENCE_DEFECTS")


def main(args: argparse.Namespace) -> int:
    def progress(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    run_id = None
    if args.report is not None and args.report != "latest":
        try:
            run_id = int(args.report)
        except ValueError:
            print(f"datafix: --report takes a run id (an integer), not {args.report!r}", file=sys.stderr)
            return 2
    if args.inject_failure and not args.run:
        print("datafix: --inject-failure only applies to --run", file=sys.stderr)
        return 2
    from .. import defects
    try:
        switched = defects.Switched(args.defects)
    except ValueError as exc:
        print(f"datafix: --defect: {exc}", file=sys.stderr)
        return 2

    try:
        db = connect(args.db, mode="rw" if args.run else "ro")
    except DatabaseError as exc:
        print(f"datafix: {exc}", file=sys.stderr)
        return 2
    try:
        if args.dry_run:
            report = fix.dry_run(db, progress=progress, defects=switched.defects)
        elif args.run:
            report = fix.run(db, progress=progress, fail_after=args.inject_failure, defects=switched.defects)
        else:
            report = fix.past_run(db, run_id)
    except DatabaseError as exc:
        print(f"datafix: {exc}", file=sys.stderr)
        return 2
    except fix.RunFailed as exc:
        print(f"datafix: {exc}", file=sys.stderr)
        return 1
    except (sqlite3.Error, _pg_error()) as exc:
        what = "run" if args.run else ("dry run" if args.dry_run else "report")
        print(f"datafix: {what} failed, nothing was changed: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    finally:
        db.close()

    print(format_report(report, max_unfixable=args.max_list))
    if args.report is not None:
        print(_past_runs(args.db, report.run_id))
    if args.json:
        if args.json == "-":
            print(report.to_json())
        else:
            with open(args.json, "w", encoding="utf-8") as fh:
                fh.write(report.to_json() + "\n")
    return 0


def _past_runs(url: str, shown: int | None) -> str:
    """Every run recorded in the database, the one shown marked."""
    with connect(url, mode="ro") as db:
        runs = fix.list_runs(db)
    lines = ["", "Runs recorded in this database (run id, started, finished, mode, devices changed):"]
    for run_id, started, finished, mode, changed in runs:
        mark = "  <- shown above" if run_id == shown else ""
        lines.append(f"  {run_id:>4}  {started}  {finished or 'not finished'}  {mode:8} {changed:>9,}{mark}")
    return "\n".join(lines)


def _pg_error() -> type:
    try:
        import psycopg
        return psycopg.Error
    except ImportError:  # pragma: no cover
        return sqlite3.Error
