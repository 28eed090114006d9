"""What every benchmark in bench/ shares: the machine, timing helpers, progress, result rows.

Each benchmark module exposes ``NAME``, ``TITLE`` and ``run(opts) -> Outcome``: the summary rows
(benchmark | figure | target | met?) for the table `bench/run.py` prints, and the figures as JSON.
"""
from __future__ import annotations

import datetime as dt
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PYTHON = sys.executable
SHARED_DUIS = ROOT.parent / "shared" / "duis"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if not os.environ.get("DUIS_SCHEMA_DIR") and (SHARED_DUIS / "schema").is_dir():
    os.environ["DUIS_SCHEMA_DIR"] = str(SHARED_DUIS / "schema")      # as the project's conftest does


@dataclass
class Options:
    quick: bool = False
    runs: int | None = None            # None: each benchmark's own default
    pg_url: str | None = None
    no_pg: bool = False
    suite_args: tuple[str, ...] = ()   # extra pytest arguments for the suite runs (e.g. -n 2)
    workdir: str = "/tmp/mp107-bench"

    def runs_or(self, full: int, quick: int = 1) -> int:
        if self.runs is not None:
            return max(1, self.runs)
        return quick if self.quick else full


@dataclass
class Row:
    benchmark: str
    figure: str
    target: str
    met: bool | None          # None: reported only, or not measurable in this run
    note: str = ""

    def cells(self) -> list[str]:
        met = {True: "yes", False: "**no**", None: "-"}[self.met]
        if self.note:
            met = f"{met} ({self.note})"
        return [self.benchmark, self.figure, self.target, met]


@dataclass
class Outcome:
    name: str
    rows: list[Row] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None


# --- progress -------------------------------------------------------------------------------------

_T0 = time.monotonic()


def say(line: str) -> None:
    """Progress, on stderr, with the time since the bench started."""
    print(f"[{time.monotonic() - _T0:6.1f}s] {line}", file=sys.stderr, flush=True)


# --- numbers --------------------------------------------------------------------------------------

def median(values) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def spread(values) -> str:
    """'min-max' of a list of seconds, in the unit `fmt_s` picks for the median."""
    values = list(values)
    if len(values) < 2:
        return ""
    return f"{fmt_s(min(values))}-{fmt_s(max(values))}"


def fmt_s(seconds: float) -> str:
    if seconds != seconds:          # NaN
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms" if seconds < 0.1 else f"{seconds * 1e3:.0f} ms"
    return f"{seconds:.2f} s"


def fmt_ms(seconds: float, digits: int = 2) -> str:
    return f"{seconds * 1e3:.{digits}f}"


def timed_median(fn, *, runs: int, per_run: int = 1) -> tuple[float, list[float]]:
    """Median seconds of one call of `fn` over `runs` batches of `per_run` calls, and each batch's mean."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(per_run):
            fn()
        times.append((time.perf_counter() - start) / per_run)
    return statistics.median(times), times


def table(header: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(row):
        return "| " + " | ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                                 for i, (c, w) in enumerate(zip(row, widths))) + " |"
    rule = "|" + "|".join(("-" * (w + 1) + ":") if i in right else "-" * (w + 2) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), rule, *map(line, rows)])


# --- the machine ----------------------------------------------------------------------------------

def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1])
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    import sqlite3
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "nproc": nproc, "memory": memory, "python": platform.python_version(),
            "os": platform.platform(), "sqlite": sqlite3.sqlite_version, "git": git_revision()}


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + (" + uncommitted changes" if dirty else "") if rev else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def load_average() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


def now() -> str:
    return f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"


# --- subprocesses ---------------------------------------------------------------------------------

@dataclass
class Ran:
    wall: float
    cpu: float              # user + sys of the child and everything it waited for
    returncode: int
    stdout: str
    stderr: str


def run_timed(cmd: list[str], *, timeout: float = 1800, env: dict | None = None, cwd: Path = ROOT) -> Ran:
    """Run `cmd`, return its wall time and the CPU time of it and its (reaped) descendants."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Ran(wall, cpu, proc.returncode, proc.stdout, proc.stderr)


_COUNTS = re.compile(r"(\d+) (passed|failed|skipped|errors?|deselected|xfailed|xpassed|warnings?)")


def pytest_counts(output: str) -> dict[str, int]:
    """{'passed': 172, 'failed': 0, ...} from pytest's last summary line."""
    lines = [ln for ln in output.strip().splitlines() if ln.strip()]
    for line in reversed(lines):
        found = _COUNTS.findall(line)
        if found and (" in " in line):
            counts = {}
            for n, kind in found:
                kind = {"error": "errors", "warning": "warnings"}.get(kind, kind)
                counts[kind] = counts.get(kind, 0) + int(n)
            return counts
    return {}


def start_postgres(workdir: str) -> tuple[str | None, callable]:
    """A throwaway loopback PostgreSQL (scripts/start-postgres.sh) on a free port and its own data folder,
    as tests/conftest.py starts one: (URL, stop). (None, no-op) without the Debian server binaries."""
    import glob
    import shutil
    import socket
    if not glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"):
        return None, lambda: None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    import tempfile
    data = Path(tempfile.gettempdir()) / f"mp107-bench-pg-{os.getpid()}-{port}"
    env = {**os.environ, "MP107_PG_PORT": str(port), "MP107_PG_DATA": str(data),
           "MP107_PG_SHARED_BUFFERS": os.environ.get("MP107_PG_SHARED_BUFFERS", "512MB")}
    script = ROOT / "scripts" / "start-postgres.sh"
    proc = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=180)
    if proc.returncode != 0:
        say(f"could not start a throwaway PostgreSQL: {proc.stderr.strip()[-400:]}")
        shutil.rmtree(data, ignore_errors=True)
        return None, lambda: None

    def stop() -> None:
        subprocess.run(["bash", str(script), "stop"], env=env, capture_output=True, text=True, timeout=180)
        shutil.rmtree(data, ignore_errors=True)
        Path(f"{data}.initdb.log").unlink(missing_ok=True)
    return proc.stdout.strip(), stop


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")
