"""The conformance suite's wall time: in-process against over HTTP, and at 1x, 2x, 4x the scenarios.

suite:   `python -m pytest features -q` (the default target, in-process) and the same with
         `--target serve` (the reference as a subprocess over HTTP), alternated, `runs` times each;
         median wall time, CPU time (user + sys of pytest and everything it started), the
         HTTP / in-process ratio of the medians, and the scenario counts pytest reports.
scaling: the same in-process suite bound k = 1, 2, 4 times in one session: a throwaway test module
         under bench/results/ (git-ignored) calls pytest-bdd's `scenarios()` on k folders of symbolic
         links to features/*.feature. The links resolve into features/, so the project's conftest
         treats them as the suite (preflight, signing keys), and pytest collects k x the scenarios
         (checked). Reported: median wall per k, time per scenario, and the marginal time per
         scenario from 1x to 2x and from 2x to 4x, wall and CPU. Linear: the second within 20 % of
         the first, on the CPU clock (the wall one is shown; on a shared machine it flips either way).

Both only call pytest as a user would, so they keep working whatever the targets do inside.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from common import (BENCH, PYTHON, ROOT, Options, Outcome, Row, fmt_s, median, pytest_counts, run_timed, say)

NAME = "suite"
SCALING = "scaling"
BASE = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]
QUICK_FEATURE = "requirement1_coordination.feature"   # 6 scenarios, SMETS1 requests
TARGET_SCENARIOS = 150
TARGET_SECONDS = 5.0
TARGET_RATIO = 1.5
LINEAR_TOLERANCE = 1.20


class Bound:
    """A throwaway test module under bench/results/ binding `copies` x the given feature files."""

    def __init__(self, copies: int, features: list[Path], tag: str) -> None:
        import os
        self.dir = BENCH / "results" / f"bound-{tag}-{copies}x-{os.getpid()}"
        self.copies, self.features = copies, features

    def __enter__(self) -> Path:
        shutil.rmtree(self.dir, ignore_errors=True)
        folders = []
        for k in range(1, self.copies + 1):
            folder = self.dir / f"copy{k}"
            folder.mkdir(parents=True)
            for feature in self.features:
                (folder / feature.name).symlink_to(feature.resolve())
            folders.append(str(folder.resolve()))
        (self.dir / "test_bound_scenarios.py").write_text(
            '"""Written by bench/bench_suite.py for one run and removed after it."""\n'
            "from pytest_bdd import scenarios\n\n"
            f"scenarios(*{folders!r})\n")
        return self.dir

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _features(quick: bool) -> list[Path]:
    every = sorted((ROOT / "features").glob("*.feature"))
    if quick:
        chosen = [f for f in every if f.name == QUICK_FEATURE]
        return chosen or every[:1]
    return every


def _pytest(args: list[str], opts: Options, label: str) -> dict:
    ran = run_timed([PYTHON, *BASE, *args, *opts.suite_args], timeout=1800)
    counts = pytest_counts(ran.stdout)
    scenarios = sum(counts.get(k, 0) for k in ("passed", "failed", "skipped", "errors", "xfailed", "xpassed"))
    bad = counts.get("failed", 0) + counts.get("errors", 0)
    say(f"  {label}: {ran.wall:.2f} s wall, {ran.cpu:.2f} s CPU, {counts or 'no summary'}"
        + (f" (exit {ran.returncode})" if ran.returncode else ""))
    if ran.returncode not in (0, 1) or not counts:
        tail = (ran.stdout.strip().splitlines() or [""])[-5:] + (ran.stderr.strip().splitlines() or [""])[-5:]
        raise RuntimeError(f"pytest {' '.join(args)} exited {ran.returncode}: " + " | ".join(tail))
    return {"wall": ran.wall, "cpu": ran.cpu, "counts": counts, "scenarios": scenarios, "bad": bad}


def _summary(runs: list[dict]) -> dict:
    return {"wall_median": median(r["wall"] for r in runs), "cpu_median": median(r["cpu"] for r in runs),
            "walls": [r["wall"] for r in runs], "cpus": [r["cpu"] for r in runs],
            "scenarios": runs[0]["scenarios"], "bad": max(r["bad"] for r in runs), "counts": runs[0]["counts"]}


def _scope(summary: dict) -> str:
    counts = summary["counts"]
    shown = ", ".join(f"{counts[k]} {k}" for k in ("passed", "skipped", "failed", "errors") if counts.get(k))
    return f"{summary['scenarios']} scenarios ({shown})"


def run(opts: Options) -> Outcome:
    runs = opts.runs_or(3, 1)
    out = Outcome(NAME)
    local, served = [], []
    if opts.quick:       # one feature file, bound like the scaling runs (the whole suite takes too long)
        context = Bound(1, _features(True), "quick")
        where = str(context.__enter__())
    else:
        context, where = None, "features"
    try:
        for k in range(runs):
            say(f"suite run {k + 1}/{runs}")
            local.append(_pytest([where], opts, "in-process (default target)"))
            served.append(_pytest([where, "--target", "serve"], opts, "over HTTP (--target serve)"))
    finally:
        if context is not None:
            context.__exit__(None, None, None)
    lo, se = _summary(local), _summary(served)
    ratio = se["wall_median"] / lo["wall_median"]
    cpu_ratio = se["cpu_median"] / lo["cpu_median"]
    out.data = {"runs": runs, "in_process": lo, "over_http": se, "ratio_wall": ratio, "ratio_cpu": cpu_ratio,
                "command": " ".join(["python", *BASE, where, *opts.suite_args]), "quick": opts.quick}
    failed = lo["bad"] or se["bad"]
    note = f"{lo['bad']} + {se['bad']} failed" if failed else ""
    scope = _scope(lo) + (f" ({QUICK_FEATURE} only)" if opts.quick else "")
    out.rows.append(Row("suite in-process (`pytest features`)",
                        f"{scope}: {fmt_s(lo['wall_median'])} wall (CPU {fmt_s(lo['cpu_median'])}), median of {runs}",
                        f">= {TARGET_SCENARIOS} scenarios <= {TARGET_SECONDS:g} s wall",
                        None if opts.quick else (lo["scenarios"] >= TARGET_SCENARIOS
                                                 and lo["wall_median"] <= TARGET_SECONDS), note))
    out.rows.append(Row("suite over HTTP (`--target serve`)",
                        f"{_scope(se)}: {fmt_s(se['wall_median'])} wall (CPU {fmt_s(se['cpu_median'])}), "
                        f"median of {runs}", "-", None, note))
    out.rows.append(Row("suite HTTP / in-process", f"{ratio:.2f}x wall ({cpu_ratio:.2f}x CPU)",
                        f"<= {TARGET_RATIO:g}x", None if opts.quick else ratio <= TARGET_RATIO))
    return out


def run_scaling(opts: Options) -> Outcome:
    runs = opts.runs_or(3, 1)
    factors = (1, 2) if opts.quick else (1, 2, 4)
    features = _features(opts.quick)
    out = Outcome(SCALING)
    per: dict[int, list[dict]] = {k: [] for k in factors}
    for r in range(runs):
        for k in factors:
            say(f"scaling run {r + 1}/{runs}: {k}x the scenarios")
            with Bound(k, features, "scaling") as where:
                per[k].append(_pytest([str(where)], opts, f"{k}x in-process"))
    for k in factors:            # pytest collected k x the scenarios (each run against its own 1x)
        for r, one in enumerate(per[k]):
            if one["scenarios"] != k * per[1][r]["scenarios"]:
                raise RuntimeError(f"run {r + 1}: {k}x the scenarios collected {one['scenarios']}, expected "
                                   f"{k} x {per[1][r]['scenarios']} (did the features change during the run?)")
    summary = {k: _summary(v) for k, v in per.items()}
    base = summary[1]["scenarios"]
    walls = {k: summary[k]["wall_median"] for k in factors}
    per_scenario = {k: median(x["wall"] / x["scenarios"] for x in per[k]) for k in factors}
    pairs = list(zip(factors, factors[1:]))

    def marginal(clock: str) -> dict[str, float]:
        """Per pair of factors, the median over runs of the added time per added scenario."""
        return {f"{a}x-{b}x": median((per[b][r][clock] - per[a][r][clock]) / (per[b][r]["scenarios"] - per[a][r]["scenarios"])
                                     for r in range(runs)) for a, b in pairs}
    wall_marginal, cpu_marginal = marginal("wall"), marginal("cpu")
    steps = list(cpu_marginal.values())     # judged on CPU: on a shared machine the wall flips either way
    linear = steps[-1] <= LINEAR_TOLERANCE * steps[0] if len(steps) >= 2 else None
    out.data = {"runs": runs, "factors": list(factors), "scenarios_1x": base,
                "summary": {str(k): v for k, v in summary.items()},
                "per_scenario_wall": {str(k): v for k, v in per_scenario.items()},
                "marginal_per_scenario_wall": wall_marginal, "marginal_per_scenario_cpu": cpu_marginal,
                "linear": linear, "quick": opts.quick}
    figure = ", ".join(f"{k}x ({summary[k]['scenarios']}): {fmt_s(walls[k])} = {per_scenario[k] * 1e3:.0f} ms/scenario"
                       for k in factors)
    figure += ("; added time per added scenario " + ", ".join(
        f"{name} {v * 1e3:.0f} ms (CPU {cpu_marginal[name] * 1e3:.0f} ms)" for name, v in wall_marginal.items()))
    bad = sum(summary[k]["bad"] for k in factors)
    out.rows.append(Row("suite at 1x/2x/4x the scenarios (in-process)", figure + f"; median of {runs}",
                        f"linear (2x-4x added CPU ms/scenario <= {LINEAR_TOLERANCE:.1f} x the 1x-2x one)",
                        None if opts.quick else linear, f"{bad} failed" if bad else ""))
    return out


BENCHMARKS = {NAME: run, SCALING: run_scaling}
