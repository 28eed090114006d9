"""The whole suite against a SLOW target, one worker against N (issue 18; SPEC §5 "Latency").

latency: the reference served as a foreign target (profiles/foreign-reference: no test support,
         pre-provisioned devices, outcomes polled) with `--outcome-delay` 0 s, 1 s and 5 s between
         each acknowledgement and its outcome, judged by `mp107 run --target profile --policy
         policies/uit.toml --workers W`. Reported: wall time, the harness's CPU time (mp107, pytest
         and its workers; not the served reference's) and CPU per scenario, per delay and worker
         count. Targets: at 1 s, <= 90 s wall for the whole suite; at 5 s, <= 5 min; CPU per scenario
         with N workers no worse than one worker's at the same delay (the concurrency costs nothing
         per scenario). One worker at 5 s (about 45 min) is run only with MP107_BENCH_SLOW_ONE_WORKER=1;
         otherwise it is shown as the 1 s one-worker figure scaled by the delay (an estimate, marked).
         --quick: 0.2 s delay, 1 and 4 workers.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from common import PYTHON, ROOT, Options, Outcome, Row, fmt_s, run_timed, say

NAME = "latency"
WORKERS = 16
"""N: enough scenarios in flight that a 5 s outcome delay fits 5 min (183 scenarios x ~3 outcomes x 5 s / 16)"""
TARGETS = {1.0: 90.0, 5.0: 300.0}
FOREIGN = ROOT / "profiles" / "foreign-reference.toml"


def _profile(folder: Path, base_url: str) -> Path:
    text = FOREIGN.read_text(encoding="utf-8").replace('"foreign-reference/', f'"{FOREIGN.parent}/foreign-reference/')
    text = text.replace('base_url = "http://127.0.0.1:8801"', f'base_url = "{base_url}"')
    path = folder / "foreign.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _serve_args() -> list[str]:
    import shlex
    text = (FOREIGN.parent / "foreign-reference" / "serve.sh").read_text(encoding="utf-8")
    args = shlex.split(text.split("-m reference serve", 1)[1].split('"$@"', 1)[0].replace("\\\n", " "))
    i = args.index("--port")
    return args[:i] + args[i + 2:]


def one_run(delay: float, workers: int) -> dict:
    from adapters.reference_host import ServedReference
    reference = ServedReference(*_serve_args(), "--outcome-delay", str(delay), test_support=False)
    base_url = reference.start()
    try:
        with tempfile.TemporaryDirectory(prefix="mp107-bench-latency-") as scratch:
            folder = Path(scratch)
            ran = run_timed([PYTHON, "-m", "mp107", "run", "--target", "profile", "--profile",
                             str(_profile(folder, base_url)), "--policy", str(ROOT / "policies" / "uit.toml"),
                             "--workers", str(workers), "--out", str(folder / "run"), "-q"], timeout=4 * 3600)
            verdict = json.loads((folder / "run" / "verdict.json").read_text()) if (folder / "run" / "verdict.json").exists() else {}
    finally:
        reference.close()
    scenarios = (verdict.get("counts") or {}).get("total") or 0
    result = {"delay": delay, "workers": workers, "wall": ran.wall, "cpu": ran.cpu, "scenarios": scenarios,
              "cpu_per_scenario": ran.cpu / scenarios if scenarios else None, "exit": ran.returncode,
              "verdict": verdict.get("verdict")}
    say(f"delay {delay:g} s, {workers} worker(s): {fmt_s(ran.wall)} wall, CPU {fmt_s(ran.cpu)}, "
        f"{scenarios} scenarios, {result['verdict']} (exit {ran.returncode})")
    return result


def run(opts: Options) -> Outcome:
    out = Outcome(NAME)
    if opts.quick:
        plan = [(0.2, 1), (0.2, 4)]
    else:
        plan = [(0.0, 1), (1.0, 1), (1.0, WORKERS), (5.0, WORKERS)]
        if os.environ.get("MP107_BENCH_SLOW_ONE_WORKER") == "1":
            plan.append((5.0, 1))
    results = [one_run(delay, workers) for delay, workers in plan]
    out.data = {"runs": results}
    by = {(r["delay"], r["workers"]): r for r in results}
    for r in results:
        ok = r["exit"] == 0 and r["verdict"] == "CONFORMANT"
        target = TARGETS.get(r["delay"]) if r["workers"] > 1 else None
        figure = (f"{fmt_s(r['wall'])} wall, CPU {fmt_s(r['cpu'])} = {1000 * (r['cpu_per_scenario'] or 0):.0f} ms "
                  f"a scenario ({r['scenarios']} scenarios, {r['verdict']})")
        single = by.get((r["delay"], 1))
        if r["workers"] > 1 and single is not None and single["cpu_per_scenario"] and r["cpu_per_scenario"]:
            figure += f"; {single['wall'] / r['wall']:.1f}x faster than 1 worker, " \
                      f"{r['cpu_per_scenario'] / single['cpu_per_scenario']:.2f}x its CPU a scenario"
        out.rows.append(Row(f"suite, foreign reference, outcome delay {r['delay']:g} s, {r['workers']} worker(s)",
                            figure, f"<= {fmt_s(target)} wall" if target else "-",
                            (ok and r["wall"] <= target) if target and not opts.quick else None,
                            "" if ok else "not CONFORMANT"))
    if not opts.quick and (5.0, 1) not in by and (1.0, 1) in by:
        estimate = by[(1.0, 1)]["wall"] * 5
        out.rows.append(Row("suite, foreign reference, outcome delay 5 s, 1 worker",
                            f"about {fmt_s(estimate)} (estimate: 5x the 1 s run; MP107_BENCH_SLOW_ONE_WORKER=1 "
                            f"measures it)", "-", None))
    return out


BENCHMARKS = {NAME: run}
