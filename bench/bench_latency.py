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
polling: the same run at 1 s delay with 16 workers, once with the polls backing off (the profile's
         poll_interval, then half as long again each time, up to poll_interval_max = 1 s: the default)
         and once polling every poll_interval (poll_interval_max = poll_interval), alternated; the
         ratios of wall and CPU a scenario, taken inside one run.
         --quick: 0.2 s delay, 4 workers.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from common import PYTHON, ROOT, Options, Outcome, Row, fmt_s, median, run_timed, say

NAME = "latency"
WORKERS = 16
"""N: enough scenarios in flight that a 5 s outcome delay fits 5 min (183 scenarios x ~3 outcomes x 5 s / 16)"""
TARGETS = {1.0: 90.0, 5.0: 300.0}
FOREIGN = ROOT / "profiles" / "foreign-reference.toml"


def _profile(folder: Path, base_url: str, *, back_off: bool = True) -> Path:
    text = FOREIGN.read_text(encoding="utf-8").replace('"foreign-reference/', f'"{FOREIGN.parent}/foreign-reference/')
    text = text.replace('base_url = "http://127.0.0.1:8801"', f'base_url = "{base_url}"')
    interval = re.search(r"^poll_interval = ([0-9.]+)", text, re.M)     # back off up to 1 s, or a fixed pace
    text = text.replace(interval.group(0),
                        f"{interval.group(0)}\npoll_interval_max = {1.0 if back_off else interval.group(1)}")
    path = folder / "foreign.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _serve_args() -> list[str]:
    import shlex
    text = (FOREIGN.parent / "foreign-reference" / "serve.sh").read_text(encoding="utf-8")
    args = shlex.split(text.split("-m reference serve", 1)[1].split('"$@"', 1)[0].replace("\\\n", " "))
    i = args.index("--port")
    return args[:i] + args[i + 2:]


def one_run(delay: float, workers: int, *, back_off: bool = True) -> dict:
    from adapters.reference_host import ServedReference
    reference = ServedReference(*_serve_args(), "--outcome-delay", str(delay), test_support=False)
    base_url = reference.start()
    try:
        with tempfile.TemporaryDirectory(prefix="mp107-bench-latency-") as scratch:
            folder = Path(scratch)
            ran = run_timed([PYTHON, "-m", "mp107", "run", "--target", "profile", "--profile",
                             str(_profile(folder, base_url, back_off=back_off)), "--policy", str(ROOT / "policies" / "uit.toml"),
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


def run_polling(opts: Options) -> Outcome:
    out = Outcome("polling")
    delay, workers = (0.2, 4) if opts.quick else (1.0, WORKERS)
    runs = {"back-off": [], "fixed": []}
    for _ in range(opts.runs_or(1)):
        for kind in ("fixed", "back-off"):
            runs[kind].append(one_run(delay, workers, back_off=kind == "back-off"))
    out.data = runs
    ok = all(r["exit"] == 0 and r["verdict"] == "CONFORMANT" for rs in runs.values() for r in rs)
    wall = {k: median([r["wall"] for r in rs]) for k, rs in runs.items()}
    cpu = {k: median([r["cpu_per_scenario"] or 0 for r in rs]) for k, rs in runs.items()}
    out.rows.append(Row(
        f"polls backing off to 1 s (the default) / polling every poll_interval (0.05 s), outcome delay {delay:g} s, "
        f"{workers} workers",
        f"wall {fmt_s(wall['back-off'])} / {fmt_s(wall['fixed'])} = {wall['back-off'] / wall['fixed']:.2f}x; CPU a "
        f"scenario {1000 * cpu['back-off']:.0f} / {1000 * cpu['fixed']:.0f} ms = "
        f"{cpu['back-off'] / cpu['fixed']:.2f}x" if cpu["fixed"] else "no scenario ran",
        "< 1x CPU, about 1x wall", (cpu["back-off"] < cpu["fixed"]) if ok and cpu["fixed"] else False,
        "" if ok else "not CONFORMANT"))
    return out


BENCHMARKS = {NAME: run, "polling": run_polling}
