#!/usr/bin/env python3
"""Where the suite's time goes: the tables of bench/PROFILE.md, from one run (stdlib only).

    .venv/bin/python bench/profile_suite.py                  # features in-process and --target serve, data-fix evidence
    .venv/bin/python bench/profile_suite.py --target local   # one target only
    .venv/bin/python bench/profile_suite.py --tests          # also the 30 slowest tests (several minutes)
    .venv/bin/python bench/profile_suite.py --root ../other   # profile another checkout (before / after)

The suite: `pytest features -q -p no:cacheprovider [--target serve]` runs inside a fresh
interpreter with a sampler thread that reads every thread's stack each millisecond
(`sys._current_frames`, with the GIL switch interval lowered to 0.1 ms so that samples do not
favour the moments the main thread releases the GIL).
A sample of the main thread is charged to the innermost frame that names a cost (RULES: schema
validation, XML signing, signature verification, key generation, the S1SP database, imports, ...),
so a validation inside an encoder counts as validation, not as building, and to the phase the run
was in (start-up, collection, scenarios, summary); the rows add up to the wall time. Other threads
(the in-process reference's workers, the callback receiver) and, with --target serve, the served
reference's process (sampled the same way through a `sitecustomize` on PYTHONPATH) are tabled
apart: their time overlaps the main thread's. Exact counts (schema validations, XML signatures
made and verified, keys and certificates made) come from wrapping those functions.

The data-fix evidence: the FIA census (40,000 devices, reference/census.py) generated once and
digested (reference/datafix/evidence.py), SQLite, and PostgreSQL where MP107_PG_URL is set.
With --tests: the 30 slowest of `pytest tests -q --durations=30 -p no:cacheprovider --deselect
tests/test_kill_matrix.py` (it starts PostgreSQL itself).

Prints Markdown with the date, the machine and the load. The environment is used as it is:
PYTHONDONTWRITEBYTECODE=1 (set on this project's machines) makes every run compile the project
and assertion-rewrite the test modules and the packages of pytest plugins (hypothesis's among
them) again; the start-up table shows it.
"""
from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_ROOT = HERE.parent
INTERVAL = 0.001
OTHER_MAIN = "other (pytest, pytest-bdd, steps)"

# (category, path fragment, function names or None for any). The innermost matching frame decides.
RULES: list[tuple[str, str, tuple[str, ...] | None]] = [
    ("schema compile", "duis/schema.py", ("_compile", "schema_document")),
    ("schema validation (libxml2)", "duis/schema.py", ("_entries", "first_error", "iter_errors", "validate",
                                                      "is_valid", "validator")),
    ("schema validation (xmlschema)", "site-packages/xmlschema/", None),
    ("XML signing", "duis/signing.py", ("sign_element", "sign")),
    ("signature verification", "duis/signing.py", ("verify",)),
    ("signature verification", "duis/codec.py", ("verify_nested",)),
    ("census generation", "reference/census", None),
    ("keys and certificates", "smki/", None),
    ("keys and certificates", "adapters/hostile.py", ("organisation_certificate", "foreign_smki", "stranger_signer")),
    ("data-fix digests", "reference/datafix/evidence.py", None),
    ("data fix (the run)", "reference/datafix/", None),
    ("S1SP database (SQLite)", "reference/s1sp.py", ("__init__", "add_device", "put_registration",
                                                    "put_no_certificate", "put_slot", "_write_slot", "slot",
                                                    "reset", "registration")),
    ("build (encode)", "duis/codec.py", ("encode_request", "encode_signed_request", "encode_acknowledgement",
                                         "encode_smets1_response", "encode_s1sp_alert", "encode_refusal",
                                         "_request_element", "_finish", "_serialize")),
    ("parse and map (decode)", "duis/codec.py", ("decode_request", "decode_response", "decode_refusal")),
    ("parse and map (decode)", "duis/safexml.py", None),
    ("reference: decide (DSP, rules, S1SP)", "reference/", None),
    ("wait for the outcome", "adapters/local.py", ("await_outcome",)),
    ("wait for the outcome", "adapters/callbacks.py", None),
    ("HTTP client (incl. waiting for the other side)", "adapters/http.py", None),
    ("in-process transport", "adapters/local.py", None),
    ("in-process transport", "adapters/reference_host.py", None),
    ("HTTP client (incl. waiting for the other side)", "site-packages/requests/", None),
    ("HTTP client (incl. waiting for the other side)", "site-packages/urllib3/", None),
    ("HTTP client (incl. waiting for the other side)", "site-packages/httpx/", None),
    ("HTTP server (uvicorn, starlette)", "site-packages/uvicorn/", None),
    ("HTTP server (uvicorn, starlette)", "site-packages/starlette/", None),
    ("HTTP server (uvicorn, starlette)", "site-packages/anyio/", None),
    ("assertion rewriting and compiling", "_pytest/assertion/rewrite.py", None),
    ("imports", "<frozen importlib._bootstrap", None),
    ("pytest-bdd step lookup", "site-packages/pytest_bdd/scenario.py", ("find_fixturedefs_for_step",
                                                                      "inject_fixturedefs_for_step",
                                                                      "get_step_function")),
]
PHASES = [  # the outermost pytest hook on the stack says which phase the main thread is in
    ("collection", "_pytest/main.py", ("pytest_collection", "perform_collect")),
    ("scenarios", "_pytest/main.py", ("pytest_runtestloop",)),
    ("summary", "_pytest/terminal.py", ("pytest_sessionfinish", "pytest_terminal_summary")),
]
PHASE_ORDER = ("start-up", "collection", "scenarios", "summary")
COUNTED = [  # module, function or Class.method, label
    ("duis.schema", "DuisSchema._entries", "schema validations (libxml2)"),
    ("duis.signing", "sign_element", "XML signatures made"),
    ("duis.signing", "verify", "XML signatures verified"),
    ("cryptography.hazmat.primitives.asymmetric.ec", "generate_private_key", "EC keys generated"),
    ("cryptography.x509", "CertificateBuilder.sign", "certificates made"),
]


# -- sampling ------------------------------------------------------------------------------------

_code_cache: dict = {}


def _classify_code(code) -> tuple[str | None, str | None]:
    hit = _code_cache.get(code)
    if hit is None:
        name, fn = code.co_filename.replace(os.sep, "/"), code.co_name
        category = next((c for c, frag, funcs in RULES if frag in name and (funcs is None or fn in funcs)), None)
        phase = next((p for p, frag, funcs in PHASES if frag in name and fn in funcs), None)
        hit = _code_cache[code] = (category, phase)
    return hit


_IDLE = {("threading.py", "wait"), ("threading.py", "_wait_for_tstate_lock"), ("selectors.py", "select"),
         ("socketserver.py", "serve_forever"), ("thread.py", "_worker"), ("queue.py", "get"), ("socket.py", "accept"),
         ("base_events.py", "_run_once")}


def _where(code) -> str:
    path = code.co_filename.replace(os.sep, "/")
    path = path.split("site-packages/", 1)[-1] if "site-packages/" in path else "/".join(path.split("/")[-2:])
    return f"{path}:{code.co_name}"


class Sampler(threading.Thread):
    """Counts (thread kind, phase, category) of every thread's stack each `interval`."""

    def __init__(self, interval: float = INTERVAL, main_id: int | None = None):
        super().__init__(daemon=True, name="profile-sampler")
        self.interval = interval
        self.samples: collections.Counter = collections.Counter()
        self.stop_event = threading.Event()
        self.main_id = threading.main_thread().ident if main_id is None else main_id
        self.rounds = 0
        self.unclassified: collections.Counter = collections.Counter()   # innermost function -> samples
        self.t0 = self.t1 = 0.0

    def run(self) -> None:
        # A thread waiting for the GIL gets it when the running thread releases it (a system call, a
        # C library working without the GIL) or is made to, after the switch interval (5 ms by
        # default): with the default, samples would land on system calls far more often than their
        # share of the time. At 0.1 ms the running thread yields soon after each request.
        sys.setswitchinterval(0.0001)
        own = threading.get_ident()
        self.t0 = time.perf_counter()
        while not self.stop_event.wait(self.interval):
            self.rounds += 1
            for ident, frame in sys._current_frames().items():
                if ident == own:
                    continue
                category = phase = None
                top = frame.f_code
                while frame is not None:
                    c, p = _classify_code(frame.f_code)
                    category = category or c
                    phase = p or phase           # the outermost wins
                    frame = frame.f_back
                if ident == self.main_id:
                    self.samples[("main", phase or "start-up", category or OTHER_MAIN)] += 1
                    if category is None and phase == "scenarios":
                        self.unclassified[_where(top)] += 1
                elif (top.co_filename.rsplit(os.sep, 1)[-1], top.co_name) not in _IDLE:
                    self.samples[("threads", "", category or "other")] += 1
        self.t1 = time.perf_counter()

    @property
    def seconds_per_round(self) -> float:
        return (self.t1 - self.t0) / max(1, self.rounds)


def install_counters() -> collections.Counter:
    import importlib
    counts: collections.Counter = collections.Counter()
    for module_name, attr, label in COUNTED:
        try:
            owner = importlib.import_module(module_name)
        except ImportError:
            continue
        name = attr
        if "." in attr:
            cls, name = attr.split(".")
            owner = getattr(owner, cls, None)
        original = getattr(owner, name, None) if owner is not None else None
        if original is None:
            continue

        def wrapper(*args, __original=original, __label=label, **kwargs):
            counts[__label] += 1
            return __original(*args, **kwargs)
        setattr(owner, name, wrapper)
    return counts


# The served reference (a child process `python -m reference serve`) samples itself and writes its
# samples at exit. uvicorn re-raises SIGTERM after its graceful shutdown, so atexit alone would not run.
SITECUSTOMIZE = '''
import os, sys
_argv = " ".join(getattr(sys, "orig_argv", sys.argv))
if os.environ.get("MP107_PROFILE_OUT") and "reference" in _argv and "serve" in _argv:
    sys.path.insert(0, os.environ["MP107_PROFILE_BENCH"])
    import atexit, json, signal, profile_suite as _ps
    _s = _ps.Sampler(main_id=-1); _s.start()
    def _dump(*_):
        if _s.stop_event.is_set():
            return
        _s.stop_event.set(); _s.join(1)
        out = os.path.join(os.environ["MP107_PROFILE_OUT"], f"child-{os.getpid()}.json")
        with open(out, "w") as f:
            json.dump({"seconds": _s.t1 - _s.t0, "per_round": _s.seconds_per_round,
                       "samples": [[list(k), v] for k, v in _s.samples.items()]}, f)
    atexit.register(_dump)
    def _on_term(signum, frame):
        _dump()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    signal.signal(signal.SIGTERM, _on_term)
'''


def profile_suite(root: Path, target: str) -> dict:
    """Run the features suite in this process (cwd = root) under the sampler; return the figures."""
    import pytest

    out_dir = Path(tempfile.mkdtemp(prefix="mp107-profile-"))
    (out_dir / "sitecustomize.py").write_text(SITECUSTOMIZE)
    os.environ.update(MP107_PROFILE_OUT=str(out_dir), MP107_PROFILE_BENCH=str(HERE),
                      PYTHONPATH=os.pathsep.join(p for p in (str(out_dir), os.environ.get("PYTHONPATH")) if p))
    os.chdir(root)
    sys.path.insert(0, str(root))
    args = ["features", "-q", "-p", "no:cacheprovider"] + (["--target", target] if target != "local" else [])
    holder: dict = {}

    class Counting:
        @pytest.hookimpl(tryfirst=True)
        def pytest_configure(self, config):
            holder["counts"] = install_counters()

        def pytest_collection_finish(self, session):
            holder["scenarios"] = len(session.items)

    sampler = Sampler()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    sampler.start()
    try:
        code = pytest.main(args, plugins=[Counting()])
    finally:
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        sampler.stop_event.set()
        sampler.join()
    children = []
    for path in out_dir.glob("child-*.json"):
        children.append(json.loads(path.read_text()))
    for path in out_dir.iterdir():
        path.unlink()
    out_dir.rmdir()
    return {"target": target, "exit": int(code), "wall": wall, "cpu": cpu, "samples": sampler.samples,
            "per_round": sampler.seconds_per_round, "counts": dict(holder.get("counts", {})),
            "scenarios": holder.get("scenarios", 0), "children": children,
            "unclassified": sampler.unclassified.most_common(12)}


# -- tables ----------------------------------------------------------------------------------------

def _table(header: tuple, rows: list[tuple]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|"]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows] + [""]


def report(result: dict) -> list[str]:
    n = result["scenarios"] or 1
    main = {k: v for k, v in result["samples"].items() if k[0] == "main"}
    scale = result["wall"] / (sum(main.values()) or 1)      # so that the rows add up to the wall time
    by_phase, in_run, outside = collections.Counter(), collections.Counter(), collections.Counter()
    for (_, phase, category), count in main.items():
        by_phase[phase] += count
        (in_run if phase == "scenarios" else outside)[category] += count
    lines = [f"### features, --target {result['target']}: {result['scenarios']} scenarios, "
             f"{result['wall']:.2f} s wall, {result['cpu']:.2f} s CPU in the harness process (exit {result['exit']})", ""]
    lines += _table(("phase (main thread)", "seconds", "share"),
                    [(p, f"{by_phase[p] * scale:.2f}", f"{100 * by_phase[p] * scale / result['wall']:.0f} %")
                     for p in PHASE_ORDER if by_phase[p]])
    lines += _table(("start-up, collection, summary: what the main thread does", "seconds"),
                    [(c, f"{k * scale:.2f}") for c, k in outside.most_common(6)])
    total = sum(in_run.values()) or 1
    lines += _table(("scenarios: what the main thread does", "seconds", "share", "ms per scenario"),
                    [(c, f"{k * scale:.2f}", f"{100 * k / total:.0f} %", f"{1000 * k * scale / n:.1f}")
                     for c, k in in_run.most_common()])
    if result["unclassified"]:
        lines += _table((f"scenarios, {OTHER_MAIN}: the innermost function", "seconds"),
                        [(f"`{w}`", f"{k * scale:.2f}") for w, k in result["unclassified"]])
    threads = collections.Counter({k[2]: v for k, v in result["samples"].items() if k[0] == "threads"})
    if threads:
        lines += _table(("other threads of the harness process (overlapping the above)", "seconds"),
                        [(c, f"{k * result['per_round']:.2f}") for c, k in threads.most_common(8)])
    for child in result["children"]:
        busy = collections.Counter()
        for (_, _, category), k in child["samples"]:
            busy[category] += k
        lines += _table((f"the served reference's process ({child['seconds']:.1f} s alive): its busy threads",
                         "seconds"), [(c, f"{k * child['per_round']:.2f}") for c, k in busy.most_common(10)])
    if result["counts"]:
        lines += _table(("counted in the harness process", "calls", "per scenario"),
                        [(label, k, f"{k / n:.1f}") for label, k in sorted(result["counts"].items())])
    return lines


def datafix_evidence(root: Path) -> list[str]:
    """The FIA census generated once, then its four S1SP tables digested (median of 3)."""
    sys.path.insert(0, str(root))
    from reference.census import CensusSpec
    from reference.datafix import connect
    from reference.datafix.evidence import database_digests
    from reference.datafix.scratch import CensusCopies, pg_server_url
    spec = CensusSpec(devices=40_000, seed=107)
    rows = []
    with tempfile.TemporaryDirectory(prefix="mp107-profile-") as tmp:
        copies = CensusCopies(tmp, pg_server_url(), prefix="mp107_profile")
        try:
            for dialect in ("sqlite", "postgresql") if pg_server_url() else ("sqlite",):
                t0 = time.perf_counter()
                url, _ = copies.template(dialect, spec)
                built = time.perf_counter() - t0
                times = []
                with connect(url) as db:
                    for _ in range(3):
                        t0 = time.perf_counter()
                        database_digests(db, ("device", "anchor_slot", "registration", "no_certificate"))
                        times.append(time.perf_counter() - t0)
                rows.append((dialect, f"{built:.2f}", f"{statistics.median(times):.2f}"))
        finally:
            copies.cleanup()
    return [f"### data-fix evidence: the FIA census ({spec.devices:,} devices, 29,280 wrong)", ""] + _table(
        ("database", "census generation, seconds", "digest of its 4 tables, seconds (median of 3)"), rows)


def slowest_tests(root: Path) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", "tests", "-q", "--durations=30", "-p", "no:cacheprovider",
           "--deselect", "tests/test_kill_matrix.py"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    rows = [(m.group(3), m.group(2), m.group(1)) for m in
            (re.match(r"^\s*([0-9.]+)s (call|setup|teardown)\s+(\S+)", line) for line in proc.stdout.splitlines()) if m]
    summary = [line for line in proc.stdout.splitlines() if re.search(r"\b(passed|failed)\b.* in ", line)]
    return [f"### the 30 slowest tests: `{' '.join(['pytest'] + cmd[4:])}`", "",
            f"{summary[-1].strip('= ') if summary else 'no summary line'}; {wall:.0f} s wall", ""] + _table(
        ("test", "phase", "seconds"), rows)


def machine() -> str:
    model = "unknown CPU"
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (f"nproc {nproc}, {model}, Python {platform.python_version()}, load average {load} at the start, "
            f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=("local", "serve", "both"), default="both")
    parser.add_argument("--tests", action="store_true", help="also the 30 slowest tests (several minutes)")
    parser.add_argument("--no-datafix", action="store_true", help="leave out the data-fix evidence")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="the checkout to profile (default: this one)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    lines = [f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {machine()}.", "",
             f"Command: `.venv/bin/python bench/profile_suite.py {' '.join(argv if argv is not None else sys.argv[1:])}`"
             f" (checkout {root}).", ""]
    for target in ("local", "serve") if args.target == "both" else (args.target,):
        # each in a fresh interpreter, as `pytest` runs: imports and caches are part of the cost
        proc = subprocess.run([sys.executable, __file__, "--one", target, str(root)], capture_output=True, text=True)
        if "### features" not in proc.stdout:
            print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
            return 1
        lines += proc.stdout.splitlines()
    if not args.no_datafix:
        proc = subprocess.run([sys.executable, __file__, "--datafix", str(root)], capture_output=True, text=True)
        lines += proc.stdout.splitlines() if proc.returncode == 0 else [f"data-fix evidence failed: {proc.stderr[-500:]}"]
    if args.tests:
        lines += slowest_tests(root)
    print("\n".join(lines))
    return 0


def _one(target: str, root: str) -> int:
    real_stdout = sys.stdout
    with open(os.devnull, "w") as devnull:
        sys.stdout = devnull                  # pytest's own output
        try:
            result = profile_suite(Path(root), target)
        finally:
            sys.stdout = real_stdout
    print("\n".join(report(result)))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        sys.exit(_one(sys.argv[2], sys.argv[3]))
    if len(sys.argv) == 3 and sys.argv[1] == "--datafix":
        print("\n".join(datafix_evidence(Path(sys.argv[2]))))
        sys.exit(0)
    sys.exit(main())
