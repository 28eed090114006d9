"""Everything one report needs, from a run folder: results, matrix, gate verdict, run facts."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from conformance import catalogue, gate
from conformance.baseline import Baseline
from conformance.catalogue import Requirement

from . import matrix as matrix_mod
from .results import JUnitSummary, ResultsError, ScenarioResult, load_allure, load_junit

ROOT = Path(__file__).resolve().parent.parent
FEATURES = ROOT / "features"

PYTEST_EXIT = {0: "all tests passed", 1: "some tests failed", 2: "interrupted (or the suite stopped itself)",
               3: "internal error", 4: "usage error", 5: "no tests collected"}

ALLURE_DIR, JUNIT, CUCUMBER, REPORT, RUN_INFO, VERDICT = (
    "allure-results", "junit.xml", "cucumber.json", "report.html", "run-info.json", "verdict.json")


@dataclass
class RunReport:
    run_dir: Path
    info: dict
    requirements: dict[str, Requirement]
    scenarios: list[ScenarioResult]
    matrix: matrix_mod.Matrix
    gate: gate.GateResult
    junit: JUnitSummary | None
    pytest_exit_code: int | None
    generated_at: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return self.gate.exit_code

    @property
    def verdict(self) -> str:
        return self.gate.verdict

    def verdict_line(self) -> str:
        line = f"SECMP0107 verdict: {self.verdict} (exit {self.exit_code})"
        groups = ", ".join(f"{name} {g['verdict'].lower()}" + (
            f" ({g['known_deviations']} known deviation{'s' if g['known_deviations'] > 1 else ''})"
            if g.get("known_deviations") else "") for name, g in self.gate.groups.items())
        line = f"{line} - {groups}" if groups else line
        if self.gate.incomplete and self.verdict != "INCOMPLETE":
            line += " - incomplete"
        return line

    @property
    def device_pool(self) -> dict:
        return self.info.get("device_pool") or {}

    def as_json(self) -> dict:
        g = self.gate
        return {
            "verdict": self.verdict, "exit_code": self.exit_code, "policy": g.policy.name,
            "policy_source": g.policy.source, "today": g.today.isoformat(), "not_judged": g.not_judged,
            "groups": {name: {"verdict": v["verdict"], "causes": v["causes"],
                              "findings": [f.text for f in v["findings"]]} for name, v in g.groups.items()},
            "findings": [{"requirement": f.requirement, "s1sp": f.s1sp, "component": f.group, "kind": f.kind, "text": f.text,
                          "reason": f.reason, "cause": f.cause, "scenarios": f.scenarios,
                          "waived_by": f.waived_by.describe() if f.waived_by else None,
                          "known_deviation": f.known.ticket if f.known is not None else None, "accepted": f.accepted}
                         for f in g.findings],
            "baseline": g.baseline.source if g.baseline is not None else None,
            "known_deviations": [{"requirement": f.requirement, "component": f.group, "ticket": f.known.ticket,
                                  "reason": f.known.reason, "expires": f.known.expires.isoformat(),
                                  "accepted": f.accepted, "scenarios": f.scenarios} for f in g.known_deviations],
            "baseline_expired_ignored": [d.describe() for d, _ in g.deviations_expired],
            "baseline_not_exercised": [d.describe() for d in g.deviations_not_exercised],
            "incomplete": g.incomplete, "skipped": g.skipped, "not_applicable": g.not_applicable, "blocked": g.blocked,
            "statement": self.info.get("statement"), "device_pool": self.device_pool,
            "findings_by_component": {name: [f"{f.requirement} {f.kind}" for f in v["findings"] if f.waived_by is None and not f.accepted]
                                      for name, v in g.groups.items()},
            "waivers_used": [w.describe() for w, _ in g.waivers_used],
            "waivers_expired_ignored": [w.describe() for w, _ in g.waivers_expired],
            "counts": self.counts,
            "cells": {cell.id: cell.status for row in self.matrix.rows.values() for cell in row.cells.values()},
            "causes": {title: [s.name for s in scs] for title, scs in self.matrix.cause_summary().items()},
        }


def read_info(run_dir: Path) -> dict:
    path = Path(run_dir) / RUN_INFO
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {"error": f"{RUN_INFO} is not JSON"}


def selected_s1sps(info: dict, scenarios: list[ScenarioResult]) -> tuple[str, ...]:
    wanted = (info.get("options") or {}).get("s1sp")
    if wanted in matrix_mod.S1SPS:
        return (wanted,)
    if wanted == "all" or not scenarios:
        return matrix_mod.S1SPS
    seen = tuple(s for s in matrix_mod.S1SPS if any(sc.s1sp == s for sc in scenarios))
    return seen or matrix_mod.S1SPS


SUBSET_OPTIONS = ("-k", "-m", "--deselect", "--ignore", "--ignore-glob", "--lf", "--last-failed", "--sw", "--stepwise")
"""pytest options that leave part of the suite out on purpose"""
VALUED = ("-k", "-m", "--deselect", "--ignore", "--ignore-glob")
"""those of them that take a value (as `--opt VALUE` or `--opt=VALUE`)"""


def subset_of(info: dict) -> str | None:
    """How the run's pytest arguments (run-info's `args`) narrowed the suite, e.g. "-k S1SP1"; None
    when they did not."""
    args = [str(a) for a in info.get("args") or []]
    shown = []
    taken = set()           # indexes of the values of VALUED options given as the next argument
    for i, arg in enumerate(args):
        if i in taken:
            continue
        name, eq, value = arg.partition("=")
        if name in SUBSET_OPTIONS:
            if not eq and name in VALUED and i + 1 < len(args):
                value = args[i + 1]
                taken.add(i + 1)
            shown.append(f"{name} {value}".strip())
        elif arg[:2] in ("-k", "-m"):            # -kEXPR (a bare -k or -m is an option above)
            shown.append(f"{arg[:2]} {arg[2:]}")
        elif not arg.startswith("-") and "::" in arg:
            shown.append(arg)
    return ", ".join(shown)[:200] or None


def judge(run_dir: Path, policy: gate.Policy | None = None, *, pytest_exit_code: int | None = None,
          today: dt.date | None = None, requirements: dict[str, Requirement] | None = None,
          features_dir: Path | None = FEATURES, baseline: Baseline | None = None) -> RunReport:
    """Read a run folder and judge it. Never raises for bad results: they make the run not judged."""
    run_dir = Path(run_dir)
    requirements = requirements or catalogue.load()
    policy = policy or gate.load_policy(None, requirements)
    info = read_info(run_dir)
    if pytest_exit_code is None:
        pytest_exit_code = info.get("pytest_exit_code")
    not_judged: list[str] = []

    if pytest_exit_code not in (None, 0, 1):
        not_judged.append(f"pytest exited with {pytest_exit_code} "
                          f"({PYTEST_EXIT.get(pytest_exit_code, 'crashed or killed')})")
    scenarios: list[ScenarioResult] = []
    junit: JUnitSummary | None = None
    try:
        scenarios = load_allure(run_dir / ALLURE_DIR)
    except ResultsError as exc:
        not_judged.append(str(exc))
    try:
        junit = load_junit(run_dir / JUNIT)
    except ResultsError as exc:
        not_judged.append(str(exc))

    counts = {s: sum(1 for sc in scenarios if sc.status == s)
              for s in ("passed", "failed", "broken", "skipped", "not applicable", "unknown")}
    counts["total"] = len(scenarios)

    shard = (info.get("options") or {}).get("shard")
    if shard:            # a part is never judged as the whole (mp107/shard.py, mp107/merge.py)
        not_judged.append(f"this run is shard {shard} of the suite: judge the whole with `mp107 merge` "
                          f"over every shard's run folder")
    if info.get("error"):
        not_judged.append(info["error"])
    if info.get("target_error"):
        not_judged.append(f"target: {info['target_error']}")
    if not scenarios:
        not_judged.append("no scenario results: no scenario was collected or run")
    gave_up = info.get("outcome_waits_gave_up") or (
        [(info.get("outcome_waits") or {}).get("gave_up")] if (info.get("outcome_waits") or {}).get("gave_up") else [])
    for line in gave_up:        # adapters/silence.py: a silent target; per xdist worker
        not_judged.append(f"silent target: {line}")
    broken = [sc for sc in scenarios if sc.status in ("broken", "unknown")]
    if broken:
        names = "; ".join(f"{sc.name}: {(sc.message.splitlines() or [''])[0][:200]}" for sc in broken[:5])
        more = f" (and {len(broken) - 5} more)" if len(broken) > 5 else ""
        not_judged.append(f"{len(broken)} scenario(s) broken - a target fault or harness error is not a verdict: {names}{more}")
    if junit is not None:
        if junit.errors:
            not_judged.append(f"JUnit reports {junit.errors} error(s) (set-up/tear-down broken): "
                              + "; ".join(junit.error_cases[:3]))
        if scenarios and junit.tests != len(scenarios) and not junit.errors:
            not_judged.append(f"results disagree: JUnit has {junit.tests} test cases, Allure {len(scenarios)} results")
    elif scenarios:
        not_judged.append(f"{JUNIT} is missing: the results cannot be cross-checked")
    if pytest_exit_code == 0 and counts["failed"]:
        not_judged.append("results disagree: pytest passed but Allure records failed scenarios")
    if pytest_exit_code == 1 and not (counts["failed"] or counts["broken"] or (junit and (junit.failures or junit.errors))):
        not_judged.append("results disagree: pytest reports failures but no scenario result failed")

    selected = selected_s1sps(info, scenarios)
    m = matrix_mod.build(scenarios, requirements, selected)
    if m.unknown_requirements:
        not_judged.append("scenarios trace to IDs that are not in the catalogue: " + ", ".join(sorted(m.unknown_requirements)))

    if features_dir is not None and Path(features_dir).is_dir():
        tagged = set(catalogue.tags_in_features(Path(features_dir)))
    else:
        tagged = {r for sc in scenarios for r in sc.requirements}
    result = gate.evaluate(m, requirements, policy, tagged=tagged, selected_s1sps=selected,
                           today=today, not_judged=not_judged, baseline=baseline, subset=subset_of(info))
    return RunReport(run_dir, info, requirements, scenarios, m, result, junit, pytest_exit_code,
                     dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"), counts)
