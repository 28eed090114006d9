#!/usr/bin/env python3
"""Benchmark the SECMP0107 Requirement 2 data fix at LIVE scale.

Builds one census (default 1,000,000 devices holding the FIA's 29,280 wrong ones) per backend,
then times `reference.datafix.run` -- the fix alone, from BEGIN to COMMIT, not the generation --
N times, each on a fresh copy (SQLite: a copy of the file; PostgreSQL: CREATE DATABASE ...
TEMPLATE), after flushing the copy to disk (sync / CHECKPOINT) so it does not bill the run.
Prints median, min and max seconds per backend, the PostgreSQL/SQLite ratio, the time per step,
the CPU time of the run (SQLite: this process; PostgreSQL: the server backend plus any parallel
workers, read from /proc when the server is local, else not shown), the load average around the
runs (a busy machine shows up there first), and the machine.

    .venv/bin/python bench/bench_datafix.py                      # SQLite, + PostgreSQL if MP107_PG_URL is set
    .venv/bin/python bench/bench_datafix.py --runs 5 --devices 1000000 --pg-url postgresql://postgres@127.0.0.1:55432/postgres
    .venv/bin/python bench/bench_datafix.py --devices 100000 --runs 3 --no-pg   # quick look

(`scripts/bench_datafix.py` is the same command.) Within `bench/run.py` (benchmark "datafix"),
PostgreSQL is --pg-url, else $MP107_PG_URL, else a throwaway server started for the run with
scripts/start-postgres.sh (its own port and data folder, 512MB shared_buffers, stopped after);
--quick builds 40,000 devices, SQLite only unless a server is given.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Options, Outcome, Row, machine as bench_machine, process_cpu, say  # noqa: E402

from reference.census import FIA_CENSUS, CensusSpec  # noqa: E402
from reference.datafix import DatabaseURL, connect, run as datafix_run  # noqa: E402
from reference.datafix.report import table  # noqa: E402
from reference.datafix.scratch import CensusCopies, pg_server_url  # noqa: E402

NAME = "datafix"
TARGET_SQLITE_SECONDS = 1.0
TARGET_PG_RATIO = 1.2
QUICK_DEVICES = 40_000


def machine(pg_version: str | None, pg_settings: dict) -> dict:
    info = bench_machine()
    info.update({"postgresql": pg_version, "postgresql_settings": pg_settings})
    return info


def _children_cpu(pid: int) -> float:
    """CPU seconds of the exited (reaped) children of `pid`: for the postmaster, its finished
    parallel workers (and any other backend that ended meanwhile). NaN if /proc cannot tell."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


class CpuClock:
    """CPU seconds spent on the run. SQLite runs in this process. A PostgreSQL run is its backend
    plus the parallel workers the postmaster started for it (counted when they exit); only
    measurable for a server on this machine whose /proc we can read, else NaN."""

    def __init__(self, db):
        self.pids: tuple[int, int] | None = None
        if db.dialect == "postgresql":
            backend = int(db.scalar("SELECT pg_backend_pid()"))
            self.pids = (backend, _parent(backend))

    def now(self) -> float:
        if self.pids is None:
            return time.process_time()
        backend, postmaster = self.pids
        return process_cpu(backend) + _children_cpu(postmaster)


def _nan_median(values) -> float:
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def bench(copies: CensusCopies, dialect: str, spec: CensusSpec, runs: int) -> dict:
    say(f"datafix: building the {dialect} census ({spec.devices:,} devices)")
    t0 = time.perf_counter()
    template, census = copies.template(dialect, spec, progress=say)
    built = time.perf_counter() - t0
    expected = len(census.wrong_ids)
    times, cpus, loads, steps = [], [], [], []
    for k in range(runs):
        url, _ = copies.fresh(dialect, spec)
        with connect(url) as db:
            if dialect == "sqlite":
                os.sync()
            else:
                try:
                    db.execute("CHECKPOINT")
                except Exception:  # not allowed for this role: the run may pay for a checkpoint
                    pass
            clock = CpuClock(db)
            loads.append(os.getloadavg()[0])
            c, t = clock.now(), time.perf_counter()
            report = datafix_run(db)
            seconds = time.perf_counter() - t
            time.sleep(0.05 if dialect == "postgresql" else 0)  # let the postmaster reap the workers
            cpu = clock.now() - c
        copies.discard(url)
        if report.total.fixed != expected or report.total.found != expected:
            raise SystemExit(f"bench: {dialect} run {k + 1} found {report.total.found:,} and fixed "
                             f"{report.total.fixed:,}, expected {expected:,}")
        times.append(seconds)
        cpus.append(cpu)
        steps.append(dict(report.steps))
        say(f"datafix: {dialect} run {k + 1}/{runs}: {seconds:.2f} s (cpu {cpu:.2f} s, load {loads[-1]:.1f})  "
            + "  ".join(f"{s} {v:.2f}" for s, v in report.steps))
    step_names = list(steps[0])
    return {
        "dialect": dialect, "runs": runs, "seconds": times, "median": statistics.median(times),
        "min": min(times), "max": max(times), "cpu_seconds": cpus, "cpu_median": _nan_median(cpus),
        "load_average": loads, "found": report.total.found, "fixed": report.total.fixed,
        "slot_rows": report.slot_rows, "census_seconds": built, "census_slot_rows": census.slot_rows,
        "steps_median": {s: statistics.median(x[s] for x in steps) for s in step_names},
    }


def measure(devices: int, runs: int, seed: int, workdir: str, pg: DatabaseURL | None) -> dict:
    """SQLite, then PostgreSQL on `pg` if given: {"devices", "results", "machine"}."""
    spec = CensusSpec(devices=devices, seed=seed)
    copies = CensusCopies(workdir, pg, prefix="mp107_bench")
    results, pg_version, pg_settings = [], None, {}
    try:
        results.append(bench(copies, "sqlite", spec, runs))
        if pg is not None:
            with connect(pg) as db:
                pg_version = db.scalar("SHOW server_version")
                pg_settings = {k: db.scalar(f"SHOW {k}") for k in
                               ("shared_buffers", "fsync", "synchronous_commit", "full_page_writes", "max_wal_size")}
            results.append(bench(copies, "postgresql", spec, runs))
        else:
            say("datafix: no PostgreSQL server (set MP107_PG_URL or --pg-url): SQLite only")
    finally:
        copies.cleanup()
    return {"devices": devices, "runs": runs, "results": results, "machine": machine(pg_version, pg_settings)}


def print_report(figures: dict) -> None:
    results, info = figures["results"], figures["machine"]
    pg_version = info.get("postgresql")
    wrong = sum(FIA_CENSUS.values())
    print(f"SECMP0107 Requirement 2 data fix: {figures['devices']:,} devices, {wrong:,} wrong (FIA census), "
          f"median of {figures['runs']} runs, each on a fresh copy; time of the fix only (BEGIN to COMMIT)")
    print()
    rows = []
    for r in results:
        name = f"SQLite {info['sqlite']}" if r["dialect"] == "sqlite" else f"PostgreSQL {pg_version}"
        rows.append([name, r["runs"], f"{r['median']:.2f}", f"{r['min']:.2f}", f"{r['max']:.2f}", _cpu(r),
                     _loads(r), r["found"], r["fixed"], r["slot_rows"], f"{r['census_seconds']:.0f}"])
    for line in table(["backend", "runs", "median s", "min s", "max s", "median cpu s", "load avg", "found", "fixed",
                       "slot rows", "census build s"], rows, right=[False] + [True] * 10):
        print(line)
    if len(results) == 2:
        cpu_ratio = results[1]["cpu_median"] / results[0]["cpu_median"]
        print(f"\nPostgreSQL / SQLite (median): {results[1]['median'] / results[0]['median']:.2f} "
              f"(target <= {TARGET_PG_RATIO})" + (f"; CPU time: {cpu_ratio:.2f}" if cpu_ratio == cpu_ratio else ""))
    print("\nmedian seconds per step:")
    steps = list(results[0]["steps_median"])
    for line in table(["backend"] + steps, [[r["dialect"]] + [f"{r['steps_median'][s]:.2f}" for s in steps]
                                            for r in results], right=[False] + [True] * len(steps)):
        print(line)
    sq = results[0]["median"]
    print(f"\nSQLite target <= {TARGET_SQLITE_SECONDS:g} s: {'met' if sq <= TARGET_SQLITE_SECONDS else 'NOT met'} ({sq:.2f} s)")
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']}, Python {info['python']}, "
          f"SQLite {info['sqlite']}" + (f", PostgreSQL {pg_version} {info['postgresql_settings']}" if pg_version else ""))


def _cpu(r: dict) -> str:
    cpu = r.get("cpu_median", float("nan"))
    return f"{cpu:.2f}" if cpu == cpu else "-"


def _loads(r: dict) -> str:
    loads = r.get("load_average") or []
    return f"{min(loads):.1f}-{max(loads):.1f}" if loads else "-"


def run(opts: Options) -> Outcome:
    """For bench/run.py: 1 M devices (--quick: 40,000, one run), both databases."""
    runs = opts.runs_or(5, 1)
    devices = QUICK_DEVICES if opts.quick else 1_000_000
    out = Outcome(NAME)
    stop = lambda: None  # noqa: E731
    pg = None
    if opts.pg_url:
        pg = DatabaseURL.parse(opts.pg_url)
    elif not opts.no_pg:
        pg = pg_server_url()
        if pg is None and not opts.quick:
            say("datafix: starting a throwaway PostgreSQL (scripts/start-postgres.sh)")
            url, stop = _start_postgres(opts.workdir)
            pg = DatabaseURL.parse(url) if url else None
    try:
        figures = measure(devices, runs, 107, opts.workdir, pg)
    finally:
        stop()
    out.data = figures
    results = {r["dialect"]: r for r in figures["results"]}
    sq = results["sqlite"]
    scale = f"{sq['fixed']:,} fixed among {devices:,} devices"
    out.rows.append(Row(f"data fix, SQLite {figures['machine']['sqlite']}",
                        f"{scale}: {sq['median']:.2f} s (median of {runs}; min {sq['min']:.2f}, max {sq['max']:.2f}; "
                        f"cpu {_cpu(sq)} s; load {_loads(sq)}; "
                        + ", ".join(f"{k} {v:.2f}" for k, v in sq["steps_median"].items()) + ")",
                        f"<= {TARGET_SQLITE_SECONDS:g} s", None if opts.quick else sq["median"] <= TARGET_SQLITE_SECONDS))
    pgr = results.get("postgresql")
    if pgr is not None:
        ratio = pgr["median"] / sq["median"]
        out.rows.append(Row(f"data fix, PostgreSQL {figures['machine']['postgresql']}",
                            f"{pgr['median']:.2f} s (median of {runs}; min {pgr['min']:.2f}, max {pgr['max']:.2f}; "
                            f"cpu {_cpu(pgr)} s; load {_loads(pgr)}; "
                            + ", ".join(f"{k} {v:.2f}" for k, v in pgr["steps_median"].items())
                            + f"); PostgreSQL / SQLite = {ratio:.2f}x",
                            f"<= {TARGET_PG_RATIO:g}x SQLite", None if opts.quick else ratio <= TARGET_PG_RATIO))
    else:
        out.rows.append(Row("data fix, PostgreSQL", "not measured (no server: --pg-url, $MP107_PG_URL, or the "
                            "Debian postgresql binaries)" if not opts.quick else "not run (--quick)",
                            f"<= {TARGET_PG_RATIO:g}x SQLite", None))
    return out


def _start_postgres(workdir: str):
    from common import start_postgres
    return start_postgres(workdir)


BENCHMARKS = {NAME: run}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--seed", type=int, default=107)
    p.add_argument("--workdir", default="/tmp/mp107-bench", help="where the SQLite files go (about 1.4 GB per million devices, twice)")
    p.add_argument("--pg-url", default=None, help="PostgreSQL server (default: $MP107_PG_URL); a scratch database is created on it")
    p.add_argument("--no-pg", action="store_true", help="SQLite only")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = p.parse_args(argv)

    pg = None if args.no_pg else (DatabaseURL.parse(args.pg_url) if args.pg_url else pg_server_url())
    figures = measure(args.devices, args.runs, args.seed, args.workdir, pg)
    print_report(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
