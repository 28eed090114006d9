#!/usr/bin/env python3
"""Run the project's benchmarks and print one markdown table: benchmark | figure | target | met?

    .venv/bin/python bench/run.py                       # everything (about 10 min on 2 cores, 1 M-device censuses included)
    .venv/bin/python bench/run.py --quick               # a sanity run, under a minute; figures not comparable
    .venv/bin/python bench/run.py --only request server --runs 5 --json /tmp/bench.json
    .venv/bin/python bench/run.py --markdown bench/RESULTS.md

Benchmarks (bench/README.md says what each measures and how):
  suite     pytest features, in-process and --target serve, and their ratio   (bench_suite.py)
  scaling   the in-process suite at 1x, 2x, 4x the scenarios                   (bench_suite.py)
  request   one 6.15.1's cost split, against the libraries and the crypto floor (bench_request.py)
  server    the served reference's signed 6.15.1/s with 1, 2, 4, 8 clients    (bench_server.py)
  hostile   a 5,000-attribute request's refusal, and a valid one alongside 8   (bench_hostile.py)
  datafix   the data fix, 29,280 among 1 M devices, SQLite and PostgreSQL     (bench_datafix.py)
  latency   the suite against a slow target (0, 1, 5 s outcome delay), 1 worker vs N (bench_latency.py)
  polling   the same at 1 s, 16 workers: polls backing off against polling every poll_interval (bench_latency.py)
  bundle    a whole run's evidence bundle written and verified                 (bench_bundle.py)
  attack    a valid request beside slow-chunk and idle connections; both sides' memory and
            tracebacks whatever callback endpoints answer or reaches the receiver  (bench_attack.py)

Progress goes to stderr; the table (with the date, the machine and the load average) to stdout.
Every figure is a median of several runs (--runs overrides each benchmark's default). Timings on a
shared machine are noisy: ratios are measured within one run, and the load average before and after
is printed so a busy machine shows.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import Options, Outcome, fmt_s, say  # noqa: E402

MODULES = ("bench_suite", "bench_request", "bench_server", "bench_hostile", "bench_datafix", "bench_latency",
           "bench_bundle", "bench_attack")
ORDER = ("suite", "scaling", "request", "server", "hostile", "datafix", "latency", "polling", "bundle", "attack")


def benchmarks() -> dict:
    import importlib
    found = {}
    for name in MODULES:
        found.update(importlib.import_module(name).BENCHMARKS)
    return {k: found[k] for k in ORDER if k in found}


def render(outcomes: list[Outcome], opts: Options, started: str, load_before, load_after, total: float) -> str:
    m = common.machine()
    lines = [f"Benchmarks of {started} ({'--quick: a sanity run, not comparable with the targets' if opts.quick else 'full run'}), "
             f"`bench/run.py{' --quick' if opts.quick else ''}{f' --runs {opts.runs}' if opts.runs else ''}`, "
             f"{fmt_s(total)} in all",
             "",
             f"Machine: {m['cpu']}, nproc {m['nproc']}, {m['memory']}, Python {m['python']}, SQLite {m['sqlite']}, "
             f"{m['os']}; git {m['git']}. Load average (1/5/15 min) before "
             + "/".join(f"{x:.2f}" for x in load_before) + ", after " + "/".join(f"{x:.2f}" for x in load_after) + ".",
             ""]
    rows: list[list[str]] = []
    for o in outcomes:
        if o.error:
            rows.append([o.name, f"did not run: {o.error}", "-", "-"])
        rows += [r.cells() for r in o.rows]
    lines.append(common.table(["benchmark", "figure", "target", "met?"], [[c.replace("|", "\\|") for c in r] for r in rows]))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    every = benchmarks()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Benchmarks" + __doc__.split("Benchmarks", 1)[1].split("Progress", 1)[0])
    p.add_argument("--quick", action="store_true", help="small sizes, one run each: checks the bench works (< 1 min)")
    p.add_argument("--only", nargs="+", choices=list(every), metavar="NAME", help=f"run only these: {', '.join(every)}")
    p.add_argument("--runs", type=int, default=None, help="runs per figure (default: each benchmark's own, 3 or 5)")
    p.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    p.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    p.add_argument("--pg-url", default=None, help="PostgreSQL server for the data fix (default: $MP107_PG_URL, "
                                                  "else a throwaway one started with scripts/start-postgres.sh)")
    p.add_argument("--no-pg", action="store_true", help="data fix on SQLite only")
    p.add_argument("--suite-args", default="", help="extra pytest arguments for the suite runs, e.g. '-n 2'")
    p.add_argument("--workdir", default="/tmp/mp107-bench", help="scratch folder (the 1 M-device SQLite copies)")
    args = p.parse_args(argv)
    opts = Options(quick=args.quick, runs=args.runs, pg_url=args.pg_url, no_pg=args.no_pg,
                   suite_args=tuple(args.suite_args.split()), workdir=args.workdir)
    chosen = [name for name in every if not args.only or name in args.only]
    started, load_before, t0 = common.now(), common.load_average(), time.perf_counter()
    outcomes = []
    for name in chosen:
        say(f"=== {name} ===")
        t = time.perf_counter()
        try:
            outcome = every[name](opts)
        except Exception as exc:       # one benchmark failing still leaves the others' figures
            traceback.print_exc()
            outcome = Outcome(name, error=f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
        outcome.seconds = time.perf_counter() - t
        say(f"=== {name}: {outcome.seconds:.0f} s ===")
        outcomes.append(outcome)
    total = time.perf_counter() - t0
    text = render(outcomes, opts, started, load_before, common.load_average(), total)
    print(text, end="")
    if args.markdown:
        Path(args.markdown).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "started": started, "machine": common.machine(), "options": vars(args), "seconds": total,
            "benchmarks": {o.name: {"seconds": o.seconds, "error": o.error, "rows": [vars(r) for r in o.rows],
                                    "data": o.data} for o in outcomes}}, indent=2, default=str))
    return 1 if any(o.error for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
