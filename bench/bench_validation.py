#!/usr/bin/env python3
"""Benchmark DUIS Schema V5.4 validation: libxml2 (duis.schema) against the xmlschema package.

Prints, with the machine and the date:
- compile time of the schema, and the median time to validate the 6.15.1 request template;
- the time to refuse a request carrying N undeclared attributes on its document element
  (N = 500, 1,000, 2,000, 5,000, and 50,000 for libxml2 alone), with the xmlschema/libxml2 ratio.
  xmlschema is run at a size only while one run is predicted to finish within --budget seconds
  (it grows about cubically); larger sizes are shown as skipped, with the prediction;
- the thread-safety choice of duis.schema: one compiled schema behind a lock against one
  compiled schema per thread.

Validation is timed on parsed documents (parsing is the same duis.safexml for both). Every figure
is the median of several runs.

    .venv/bin/python bench/bench_validation.py
    .venv/bin/python bench/bench_validation.py --budget 30 --schema-dir ../shared/duis/schema
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from duis import safexml, schema  # noqa: E402

from common import timed_median  # noqa: E402  (bench/common.py: this folder is on sys.path)

SHARED = ROOT.parent / "shared" / "duis"
TEMPLATE = "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML"
SIZES = (500, 1_000, 2_000, 5_000)
LIBXML2_ONLY_SIZES = (50_000,)


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def with_attributes(raw: bytes, count: int) -> bytes:
    attributes = b"".join(b' a%d="x"' % i for i in range(count))
    return raw.replace(b"<sr:Request ", b"<sr:Request" + attributes + b" ", 1)


def median_seconds(fn, runs: int, per_run: int = 1) -> float:
    """Median over ``runs`` of the time of one call of ``fn`` (``per_run`` calls timed together)."""
    return timed_median(fn, runs=runs, per_run=per_run)[0]


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def ratio(old: float | None, new: float | None) -> str:
    return f"{old / new:,.0f}x" if old and new else "-"


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    line = lambda row: "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema-dir", type=Path, default=Path(os.environ.get(schema.ENV_VAR) or SHARED / "schema"))
    parser.add_argument("--template", type=Path, default=SHARED / "samples" / TEMPLATE)
    parser.add_argument("--budget", type=float, default=10.0, help="longest single xmlschema run to attempt, seconds")
    args = parser.parse_args()
    if not (args.schema_dir / schema.SCHEMA_FILE).is_file() or not args.template.is_file():
        print(f"bench_validation: expected {schema.SCHEMA_FILE!r} in {args.schema_dir} and the template "
              f"{args.template}; not found", file=sys.stderr)
        return 2
    try:
        import xmlschema
    except ImportError:
        xmlschema = None
        say("xmlschema is not installed: its columns stay empty")

    import lxml
    print(f"# DUIS schema validation bench, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"machine: {platform.node()} {platform.machine()}, nproc {os.cpu_count()}, "
          f"Python {platform.python_version()}, lxml {lxml.__version__}, "
          f"libxml2 {'.'.join(map(str, etree.LIBXML_VERSION))}, "
          f"xmlschema {xmlschema.__version__ if xmlschema else 'absent'}")
    print(f"template: {args.template.name}\n")

    path = args.schema_dir / schema.SCHEMA_FILE
    raw = args.template.read_bytes()
    root = safexml.parse(raw)

    # Memory first, before other compiles leave freed memory for the allocator to reuse.
    kept = [schema.DuisSchema(path)]
    before = rss_bytes()
    kept += [schema.DuisSchema(path) for _ in range(4)]
    per_instance = (rss_bytes() - before) / 4
    del kept

    # ------------------------------------------------------------------ compile + one valid document
    say("compiling...")
    new_compile = median_seconds(lambda: schema.DuisSchema(path), runs=7)
    new = schema.DuisSchema(path)
    assert new.first_error(root) is None
    new_validate = median_seconds(lambda: new.first_error(root), runs=7, per_run=2_000)

    old = old_compile = old_validate = None
    if xmlschema:
        old_compile = median_seconds(lambda: xmlschema.XMLSchema(str(path), allow="local"), runs=3)
        old = xmlschema.XMLSchema(str(path), allow="local")
        assert next(old.iter_errors(root), None) is None
        old_validate = median_seconds(lambda: next(old.iter_errors(root), None), runs=7, per_run=50)

    print("## Compile once, validate the template")
    print(table(["", "libxml2 (duis.schema)", "xmlschema", "xmlschema / libxml2"], [
        ["compile (median)", fmt(new_compile), fmt(old_compile), ratio(old_compile, new_compile)],
        ["validate one document (median)", fmt(new_validate), fmt(old_validate), ratio(old_validate, new_validate)],
    ]))

    # ------------------------------------------------------------------ hostile attributes
    print("\n## Refuse a request with N undeclared attributes on sr:Request (time to the first error)")
    rows = []
    previous: tuple[int, float] | None = None
    exponent = 3.0  # until two sizes are measured, assume cubic growth for xmlschema
    for count in (*SIZES, *LIBXML2_ONLY_SIZES):
        hostile = safexml.parse(with_attributes(raw, count))
        say(f"{count} attributes: libxml2...")
        assert new.first_error(hostile) is not None
        runs = 5 if count <= 5_000 else 3
        new_time = median_seconds(lambda: new.first_error(hostile), runs=runs)
        old_time, note = None, ""
        if xmlschema and count in SIZES:
            predicted = previous[1] * (count / previous[0]) ** exponent if previous else 0.0
            if predicted > args.budget:
                note = f"skipped: one run predicted ~{predicted:,.0f} s"
            else:
                say(f"{count} attributes: xmlschema (predicted {predicted:.1f} s a run)...")
                start = time.perf_counter()
                assert next(old.iter_errors(hostile), None) is not None
                first = time.perf_counter() - start
                more = int(min(4, max(2, args.budget / max(first, 1e-9)))) if first < args.budget else 0
                times = [first] + [median_seconds(lambda: next(old.iter_errors(hostile), None), runs=1) for _ in range(more)]
                old_time = statistics.median(times)
                note = f"median of {len(times)}"
                if previous:
                    exponent = max(1.0, math.log(old_time / previous[1]) / math.log(count / previous[0]))
                previous = (count, old_time)
        elif count not in SIZES:
            note = "libxml2 only"
        rows.append([f"{count:,}", fmt(new_time), fmt(old_time), ratio(old_time, new_time), note])
    print(table(["attributes", "libxml2", "xmlschema", "xmlschema / libxml2", "xmlschema runs"], rows))
    if xmlschema and previous:
        print(f"(xmlschema grows as about N^{exponent:.1f} between its last two measured sizes)")

    # ------------------------------------------------------------------ thread safety
    say("thread safety...")
    print("\n## Sharing across threads: one schema behind a lock (duis.schema) vs one schema per thread")
    lock = threading.Lock()
    shared_lxml = new._schema  # the lxml XMLSchema inside duis.schema, to time the bare alternatives
    hostile = safexml.parse(with_attributes(raw, 5_000))

    def wall(kind: str, doc, threads: int, each: int) -> float:
        """Median wall time of ``threads`` new threads validating ``doc`` ``each`` times."""
        warm = [schema.DuisSchema(path)._schema for _ in range(threads)] if kind == "per-thread, warm" else []

        def work(i):
            if kind == "lock":
                for _ in range(each):
                    with lock:
                        shared_lxml(doc)
            else:
                mine = warm[i] if warm else schema.DuisSchema(path)._schema  # fresh: a new worker thread compiles
                for _ in range(each):
                    mine(doc)

        def once():
            pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
            for t in pool:
                t.start()
            for t in pool:
                t.join()
        return median_seconds(once, runs=3)

    kinds = ("lock", "per-thread, warm", "per-thread, fresh")
    rows = [["compile per new thread", "0 (once per process)", "0 (already compiled)", fmt(new_compile)],
            ["memory per compiled schema", f"{per_instance / 1e6:.1f} MB once", f"{per_instance / 1e6:.1f} MB a thread",
             f"{per_instance / 1e6:.1f} MB a thread"]]
    for label, doc, each in (("template", root, 1_000), ("5,000 attributes", hostile, 10)):
        for threads in (1, 2, 4):
            rows.append([f"{threads} thread{'s' if threads > 1 else ''} x {each:,} x {label}, wall"]
                        + [fmt(wall(kind, doc, threads, each)) for kind in kinds])
    print(table(["", *kinds], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
