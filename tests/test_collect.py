"""Reading and judging a run folder (reports/collect.py): every reason a run is *not judged* in its exact
words (the verdict line and verdict.json carry them to the user), the counts, which S1SPs a run
selected, the verdict line and verdict.json field by field. Small hand-made run folders, no suite run."""
from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path
from types import SimpleNamespace as NS

import pytest

from conformance import catalogue, gate
from conformance.baseline import Baseline
from reports import collect
from test_report import write_junit, write_result

REQS = catalogue.load()
TODAY = dt.date(2026, 11, 25)
POLICY = gate.parse_policy({"policy": {"name": "t", "mandatory": ["MP107-R1.*"]}}, REQS, "t.toml")


def run(tmp_path, scenarios=(("s", "passed"),), junit=True, info=None, **kw):
    results = tmp_path / "allure-results"
    results.mkdir(parents=True, exist_ok=True)
    for spec in scenarios:
        name, status, *rest = spec
        write_result(results, name, status, ["MP107-R1.8"], message=rest[0] if rest else "")
    if junit:
        write_junit(tmp_path / "junit.xml", tests=len(scenarios), **(junit if isinstance(junit, dict) else {}))
    if info is not None:
        (tmp_path / "run-info.json").write_text(json.dumps(info))
    kw.setdefault("policy", POLICY)
    return collect.judge(tmp_path, today=TODAY, **kw)


# --- the run's facts -----------------------------------------------------------------------------------------

def test_run_info_is_read_or_its_absence_and_unreadability_said(tmp_path):
    assert collect.read_info(tmp_path) == {}
    (tmp_path / "run-info.json").write_text('{"target": "dcc-é"}', encoding="utf-8")
    assert collect.read_info(tmp_path) == {"target": "dcc-é"}
    (tmp_path / "run-info.json").write_text("{not json")
    assert collect.read_info(tmp_path) == {"error": "run-info.json is not JSON"}


def test_which_s1sps_a_run_selected():
    scs = [NS(s1sp="S1SP3"), NS(s1sp=None), NS(s1sp="S1SP2")]
    assert collect.selected_s1sps({"options": {"s1sp": "S1SP2"}}, scs) == ("S1SP2",)
    assert collect.selected_s1sps({"options": {"s1sp": "all"}}, scs) == ("S1SP1", "S1SP2", "S1SP3")
    assert collect.selected_s1sps({}, []) == ("S1SP1", "S1SP2", "S1SP3")
    assert collect.selected_s1sps({}, scs) == ("S1SP2", "S1SP3")            # as seen in the results
    assert collect.selected_s1sps({"options": {}}, [NS(s1sp=None)]) == ("S1SP1", "S1SP2", "S1SP3")
    assert collect.selected_s1sps({"options": None}, [NS(s1sp="S1SP1")]) == ("S1SP1",)


# --- what makes a run not judged, in words --------------------------------------------------------------------

def test_a_clean_run_is_judged_with_its_counts(tmp_path):
    r = run(tmp_path, [("a", "passed"), ("b", "passed"), ("c", "skipped"), ("d", "failed", "boom")],
            junit={"failures": 1}, info={"pytest_exit_code": 1})
    assert r.gate.not_judged == []
    assert r.counts == {"passed": 2, "failed": 1, "broken": 0, "skipped": 1, "not applicable": 0, "unknown": 0,
                        "total": 4}
    assert r.pytest_exit_code == 1 and r.junit.tests == 4 and r.requirements == REQS
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", r.generated_at)


@pytest.mark.parametrize("code, words", [(2, "pytest exited with 2 (interrupted (or the suite stopped itself))"),
                                         (5, "pytest exited with 5 (no tests collected)"),
                                         (-9, "pytest exited with -9 (crashed or killed)")])
def test_pytest_exit_codes_from_run_info(tmp_path, code, words):
    r = run(tmp_path, info={"pytest_exit_code": code})
    assert r.pytest_exit_code == code and r.gate.not_judged == [words]
    assert collect.judge(tmp_path, POLICY, today=TODAY, pytest_exit_code=0).gate.not_judged == []   # given, not read


def test_the_harness_and_target_errors_of_run_info(tmp_path):
    r = run(tmp_path, info={"error": "mp107 run: bad profile", "target_error": "connection refused"})
    assert r.gate.not_judged == ["mp107 run: bad profile", "target: connection refused"]


def test_no_results_at_all(tmp_path):
    r = collect.judge(tmp_path, POLICY, today=TODAY)
    assert r.gate.not_judged == [f"{tmp_path / 'allure-results'}: no Allure results folder",
                                 "no scenario results: no scenario was collected or run"]
    assert r.counts["total"] == 0 and r.junit is None


def test_unreadable_junit_and_missing_junit(tmp_path):
    (tmp_path / "junit.xml").write_text("<not xml")
    r = run(tmp_path, junit=False)
    why, missing = r.gate.not_judged
    assert why.startswith(f"{tmp_path / 'junit.xml'}: not JUnit XML: ")
    assert missing == "junit.xml is missing: the results cannot be cross-checked"
    (tmp_path / "junit.xml").unlink()
    r = collect.judge(tmp_path, POLICY, today=TODAY)
    assert r.gate.not_judged == ["junit.xml is missing: the results cannot be cross-checked"] and r.junit is None


def test_broken_scenarios_are_named_five_at_most_with_the_first_line_of_their_reason(tmp_path):
    long = "x" * 250
    scs = [(f"b{i}", "broken", f"refused {i}\nsecond line") for i in range(5)] + [("a_unknown", "unknown"),
                                                                                 ("a_long", "broken", long)]
    r = run(tmp_path, scs)
    [why] = r.gate.not_judged
    names = sorted(n for n, *_ in scs)          # load_allure's order: by start time, then name
    shown = []
    for n in names[:5]:
        message = {n: m for n, _, *m in scs}[n]
        shown.append(f"{n}: {message[0].splitlines()[0][:200] if message else ''}")
    assert why == (f"7 scenario(s) broken - a target fault or harness error is not a verdict: {'; '.join(shown)}"
                   " (and 2 more)")
    assert why.startswith("7 scenario(s) broken - a target fault or harness error is not a verdict: a_long: " + "x" * 200
                          + "; a_unknown: ; b0: refused 0; b1: refused 1; b2: refused 2 (and 2 more)")


def test_a_sixth_broken_scenario_is_one_more(tmp_path):
    r = run(tmp_path, [(f"b{i}", "broken", "") for i in range(6)])
    assert r.gate.not_judged[0].endswith("b4:  (and 1 more)")


def test_exactly_five_broken_scenarios_have_no_more(tmp_path):
    r = run(tmp_path, [(f"b{i}", "broken", "") for i in range(5)])
    assert r.gate.not_judged == ["5 scenario(s) broken - a target fault or harness error is not a verdict: "
                                 "b0: ; b1: ; b2: ; b3: ; b4: "]


def test_junit_errors_name_three_cases(tmp_path):
    r = run(tmp_path, [(f"s{i}", "passed") for i in range(4)], junit={"errors": 4})
    case = "features.test_scenarios::t{}: failed on setup with TargetFault: refused"
    assert r.gate.not_judged == ["JUnit reports 4 error(s) (set-up/tear-down broken): "
                                 + "; ".join(case.format(i) for i in range(3))]


def test_results_that_disagree_in_words(tmp_path):
    r = run(tmp_path / "1", [("a", "passed")], info={"pytest_exit_code": 0})
    assert r.gate.not_judged == []
    write_junit(tmp_path / "1" / "junit.xml", tests=2)
    assert collect.judge(tmp_path / "1", POLICY, today=TODAY).gate.not_judged == [
        "results disagree: JUnit has 2 test cases, Allure 1 results"]
    r = run(tmp_path / "2", [("a", "failed", "boom")], junit={"failures": 1}, info={"pytest_exit_code": 0})
    assert r.gate.not_judged == ["results disagree: pytest passed but Allure records failed scenarios"]
    r = run(tmp_path / "3", [("a", "passed")], info={"pytest_exit_code": 1})
    assert r.gate.not_judged == ["results disagree: pytest reports failures but no scenario result failed"]


@pytest.mark.parametrize("scenarios, junit", [
    ([("a", "broken", "refused")], True),
    ([("a", "passed")], {"failures": 1}),
])
def test_pytest_failures_explained_by_a_broken_scenario_or_a_junit_failure_do_not_disagree(tmp_path, scenarios, junit):
    r = run(tmp_path, scenarios, junit=junit, info={"pytest_exit_code": 1})
    assert not any("disagree" in why for why in r.gate.not_judged), r.gate.not_judged


def test_a_junit_error_explains_pytest_failures(tmp_path):
    r = run(tmp_path, [("a", "passed"), ("b", "passed")], junit={"errors": 1}, info={"pytest_exit_code": 1})
    assert not any("disagree" in why for why in r.gate.not_judged), r.gate.not_judged


def test_ids_outside_the_catalogue_in_words(tmp_path):
    results = tmp_path / "allure-results"
    write_result(results, "s", "passed", ["MP107-R9.9", "MP107-R9.1", "MP107-R1.8"])
    write_junit(tmp_path / "junit.xml")
    r = collect.judge(tmp_path, POLICY, today=TODAY)
    assert r.gate.not_judged == ["scenarios trace to IDs that are not in the catalogue: MP107-R9.1, MP107-R9.9"]


# --- what the gate is given ---------------------------------------------------------------------------------------

def test_without_a_policy_the_default_release_policy_judges(tmp_path):
    r = run(tmp_path, policy=None)
    assert r.gate.policy.name == "release"


def test_a_one_s1sp_run_is_judged_as_such(tmp_path):
    results = tmp_path / "allure-results"
    write_result(results, "s", "passed", ["MP107-R1.4"], s1sp="S1SP2", fuel="gas")
    write_junit(tmp_path / "junit.xml")
    (tmp_path / "run-info.json").write_text(json.dumps({"options": {"s1sp": "S1SP2"}}))
    r = collect.judge(tmp_path, POLICY, today=TODAY)
    assert r.matrix.cell("MP107-R1.4", "S1SP1-gas").status == "not run"
    assert "only S1SP2 selected: the other S1SPs were not run" in r.gate.incomplete


def test_without_run_info_the_s1sps_selected_are_those_in_the_results(tmp_path):
    results = tmp_path / "allure-results"
    write_result(results, "s", "passed", ["MP107-R1.4"], s1sp="S1SP2", fuel="gas")
    write_junit(tmp_path / "junit.xml")
    r = collect.judge(tmp_path, POLICY, today=TODAY)
    assert "only S1SP2 selected: the other S1SPs were not run" in r.gate.incomplete


@pytest.mark.parametrize("features_dir", [None, "absent"])
def test_without_the_features_the_requirements_tagged_are_those_of_the_results(tmp_path, features_dir):
    results = tmp_path / "allure-results"
    write_result(results, "s", "failed", ["MP107-R2.1"], message="boom")
    write_junit(tmp_path / "junit.xml", failures=1)
    pol = gate.parse_policy({"policy": {"name": "t", "mandatory": ["MP107-R1.8"],
                                        "mandatory_if_tagged": ["MP107-R2.*"]}}, REQS, "t.toml")
    where = None if features_dir is None else tmp_path / features_dir
    r = collect.judge(tmp_path, pol, today=TODAY, features_dir=where)
    assert r.gate.mandatory == ["MP107-R1.8", "MP107-R2.1"]
    assert [f.requirement for f in r.gate.findings if f.kind == "failed"] == ["MP107-R2.1"]


def test_generated_at_is_utc_whatever_the_local_zone(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        r = run(tmp_path)
    finally:
        monkeypatch.undo()
        time.tzset()
    made = dt.datetime.strptime(r.generated_at, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=dt.timezone.utc)
    assert abs((dt.datetime.now(dt.timezone.utc) - made).total_seconds()) < 3600


# --- the verdict line and verdict.json ----------------------------------------------------------------------------

def report(gate_result, info=None, matrix=None):
    return collect.RunReport(run_dir=None, info=info or {}, requirements={}, scenarios=[], matrix=matrix,
                             gate=gate_result, junit=None, pytest_exit_code=0, generated_at="now", counts={"total": 0})


def fake_gate(verdict="CONFORMANT", exit_code=0, groups=None, incomplete=()):
    return NS(verdict=verdict, exit_code=exit_code, groups=groups if groups is not None else {}, incomplete=list(incomplete))


def test_the_verdict_line():
    groups = {"DSP": {"verdict": "CONFORMANT"}, "S1SP2": {"verdict": "NOT CONFORMANT"}}
    assert report(fake_gate("NOT CONFORMANT", 1, groups)).verdict_line() == (
        "SECMP0107 verdict: NOT CONFORMANT (exit 1) - DSP conformant, S1SP2 not conformant")
    assert report(fake_gate()).verdict_line() == "SECMP0107 verdict: CONFORMANT (exit 0)"
    assert report(fake_gate("NOT JUDGED", 2, groups, ["only S1SP2"])).verdict_line() == (
        "SECMP0107 verdict: NOT JUDGED (exit 2) - DSP conformant, S1SP2 not conformant - incomplete")
    assert report(fake_gate("INCOMPLETE", 2, {}, ["only S1SP2"])).verdict_line() == "SECMP0107 verdict: INCOMPLETE (exit 2)"
    assert report(fake_gate("NOT JUDGED", 2)).verdict_line() == "SECMP0107 verdict: NOT JUDGED (exit 2)"


def test_the_device_pool_of_run_info():
    assert report(fake_gate(), info={"device_pool": {"free": 2}}).device_pool == {"free": 2}
    assert report(fake_gate(), info={"device_pool": None}).device_pool == {}
    assert report(fake_gate(), info={}).device_pool == {}


def test_verdict_json_field_by_field():
    waiver = gate.Waiver("MP107-R1.4", "S1SP2", "due in January", dt.date(2027, 1, 31))
    old = gate.Waiver("MP107-R1.3", "*", "old", dt.date(2026, 1, 1))
    failed = gate.Finding("MP107-R1.4", "S1SP2", "S1SP2", "failed", "MP107-R1.4 failed on S1SP2", cause="I99 then S1VE4",
                          waived_by=waiver)
    open_ = gate.Finding("MP107-R1.8", None, "DSP", "not covered", "MP107-R1.8 is not covered",
                         reason="no scenario of it ran", scenarios=["sc9"])
    deviation = NS(ticket="T-1", reason="ships in March", expires=dt.date(2027, 3, 1))
    known = gate.Finding("MP107-R1.5", "S1SP3", "S1SP3", "failed", "MP107-R1.5 failed on S1SP3", known=deviation,
                         accepted=True, scenarios=["sc7"])
    g = NS(verdict="NOT CONFORMANT", exit_code=1, policy=NS(name="uit", source="policies/uit.toml"), today=TODAY,
           not_judged=["nj"], incomplete=["inc"], not_applicable=["na"], blocked=["bl"],
           groups={"DSP": {"verdict": "NOT CONFORMANT", "causes": ["c"], "findings": [open_]},
                   "S1SP2": {"verdict": "CONFORMANT", "causes": [], "findings": [failed]}},
           findings=[failed, open_], waivers_used=[(waiver, [failed])], waivers_expired=[(old, [])],
           skipped=[{"scenario": "sk"}], baseline=NS(source="baseline.toml"), known_deviations=[known],
           deviations_expired=[(NS(describe=lambda: "expired entry"), [])],
           deviations_not_exercised=[NS(describe=lambda: "idle entry")])
    m = NS(rows={"MP107-R1.8": NS(cells={"any": NS(id="cell-MP107-R1.8-any", status="not covered")})},
           cause_summary=lambda: {"R1.10: not coordinated": [NS(name="sc1"), NS(name="sc2")]})
    info = {"statement": {"source": "x"}, "device_pool": {"free": 1}}
    assert report(g, info, m).as_json() == {
        "verdict": "NOT CONFORMANT", "exit_code": 1, "policy": "uit", "policy_source": "policies/uit.toml",
        "today": "2026-11-25", "not_judged": ["nj"],
        "groups": {"DSP": {"verdict": "NOT CONFORMANT", "causes": ["c"], "findings": ["MP107-R1.8 is not covered"]},
                   "S1SP2": {"verdict": "CONFORMANT", "causes": [], "findings": ["MP107-R1.4 failed on S1SP2"]}},
        "findings": [
            {"requirement": "MP107-R1.4", "s1sp": "S1SP2", "component": "S1SP2", "kind": "failed",
             "text": "MP107-R1.4 failed on S1SP2", "cause": "I99 then S1VE4", "reason": "", "scenarios": [],
             "waived_by": "MP107-R1.4 for S1SP2 until 2027-01-31: due in January", "known_deviation": None,
             "accepted": False},
            {"requirement": "MP107-R1.8", "s1sp": None, "component": "DSP", "kind": "not covered",
             "text": "MP107-R1.8 is not covered", "cause": "", "reason": "no scenario of it ran", "scenarios": ["sc9"],
             "waived_by": None, "known_deviation": None, "accepted": False}],
        "baseline": "baseline.toml",
        "known_deviations": [{"requirement": "MP107-R1.5", "component": "S1SP3", "ticket": "T-1",
                              "reason": "ships in March", "expires": "2027-03-01", "accepted": True,
                              "scenarios": ["sc7"]}],
        "baseline_expired_ignored": ["expired entry"], "baseline_not_exercised": ["idle entry"],
        "incomplete": ["inc"], "skipped": [{"scenario": "sk"}], "not_applicable": ["na"], "blocked": ["bl"],
        "statement": {"source": "x"}, "device_pool": {"free": 1},
        "findings_by_component": {"DSP": ["MP107-R1.8 not covered"], "S1SP2": []},
        "waivers_used": ["MP107-R1.4 for S1SP2 until 2027-01-31: due in January"],
        "waivers_expired_ignored": ["MP107-R1.3 for every S1SP until 2026-01-01: old"],
        "counts": {"total": 0},
        "cells": {"cell-MP107-R1.8-any": "not covered"},
        "causes": {"R1.10: not coordinated": ["sc1", "sc2"]},
    }


def test_a_group_with_known_deviations_says_how_many():
    groups = {"DSP": {"verdict": "CONFORMANT", "known_deviations": 0},
              "S1SP1": {"verdict": "CONFORMANT", "known_deviations": 1},
              "S1SP2": {"verdict": "CONFORMANT", "known_deviations": 2}}
    assert report(fake_gate("CONFORMANT", 0, groups)).verdict_line() == (
        "SECMP0107 verdict: CONFORMANT (exit 0) - DSP conformant, S1SP1 conformant (1 known deviation), "
        "S1SP2 conformant (2 known deviations)")


def test_verdict_json_without_a_baseline_and_with_an_accepted_known_deviation():
    known = gate.Finding("MP107-R1.5", "S1SP3", "S1SP3", "failed", "MP107-R1.5 failed on S1SP3",
                         known=NS(ticket="T-9", reason="r", expires=dt.date(2027, 3, 1)), accepted=True)
    g = NS(verdict="CONFORMANT", exit_code=0, policy=NS(name="uit", source="policies/uit.toml"), today=TODAY,
           not_judged=[], incomplete=[], not_applicable=[], blocked=[],
           groups={"S1SP3": {"verdict": "CONFORMANT", "causes": [], "findings": [known]}}, findings=[known],
           waivers_used=[], waivers_expired=[], skipped=[], baseline=None, known_deviations=[], deviations_expired=[],
           deviations_not_exercised=[])
    m = NS(rows={}, cause_summary=lambda: {})
    out = report(g, {}, m).as_json()
    assert out["baseline"] is None and out["statement"] is None and out["known_deviations"] == []
    assert [(f["known_deviation"], f["accepted"]) for f in out["findings"]] == [("T-9", True)]
    assert out["findings_by_component"] == {"S1SP3": []}          # accepted: not an open finding


# --- what judge takes from run-info beyond the results ---------------------------------------------------------

def test_a_shard_is_not_judged_as_the_whole(tmp_path):
    r = run(tmp_path, info={"options": {"shard": "2/4"}})
    assert r.gate.not_judged == ["this run is shard 2/4 of the suite: judge the whole with `mp107 merge` "
                                 "over every shard's run folder"]


@pytest.mark.parametrize("info, words", [
    ({"outcome_waits_gave_up": ["gw0: no outcome for R1", "gw1: no outcome for R2"]},
     ["silent target: gw0: no outcome for R1", "silent target: gw1: no outcome for R2"]),
    ({"outcome_waits": {"gave_up": "no outcome for R3"}}, ["silent target: no outcome for R3"]),
    ({"outcome_waits": {"gave_up": None}}, []),
    ({"outcome_waits": {}}, []),
    ({"outcome_waits": None, "outcome_waits_gave_up": []}, []),
])
def test_a_silent_target_the_harness_gave_up_on(tmp_path, info, words):
    assert run(tmp_path, info=info).gate.not_judged == words


def test_a_run_narrowed_by_its_pytest_arguments_is_judged_as_a_subset(tmp_path):
    r = run(tmp_path, info={"args": ["features", "-k", "S1SP1"]})
    assert "a subset of the suite ran (-k S1SP1): what it left out is not judged" in r.gate.incomplete
    assert not any("subset" in line for line in run(tmp_path / "whole", info={"args": ["features"]}).gate.incomplete)


def test_the_baseline_and_requirements_given_are_used(tmp_path):
    b = Baseline((), "targets/acme.toml")
    r = run(tmp_path, baseline=b, requirements=REQS)
    assert r.gate.baseline is b and r.requirements is REQS


def test_by_default_the_features_say_which_requirements_are_tagged(tmp_path):
    pol = gate.parse_policy({"policy": {"name": "t", "mandatory": ["MP107-R1.8"],
                                        "mandatory_if_tagged": ["MP107-R2.*"]}}, REQS, "t.toml")
    r = run(tmp_path, policy=pol)          # the results tag MP107-R1.8 only
    assert r.gate.mandatory == ["MP107-R1.8", "MP107-R2.1", "MP107-R2.2", "MP107-R2.3", "MP107-R2.4"]


# --- a run narrowed to part of the suite: how run-info's pytest arguments show it (issue 20) -------------------

@pytest.mark.parametrize("args, shown", [
    (["features", "-n", "auto", "-k", "S1SP1"], "-k S1SP1"),
    (["features", "-kS1SP1"], "-k S1SP1"),
    (["features", "-m", "MP107-R3.1"], "-m MP107-R3.1"),
    (["features", "--deselect=features/test_scenarios.py::x"], "--deselect features/test_scenarios.py::x"),
    (["features/test_scenarios.py::test_a"], "features/test_scenarios.py::test_a"),
    (["features", "-p", "no:cacheprovider", "--s1sp", "all", "-n", "auto"], None),
    (["features", "-k=S1SP1"], "-k S1SP1"),                          # -k=EXPR, as argparse also allows
    (["features", "-k="], "-k"),                                      # an empty value is not the next argument
    (["features", "-m", "slow", "-x"], "-m slow"),
    (["features", "-mslow"], "-m slow"),
    (["features", "-kA"], "-k A"),                                    # the shortest glued form
    (["features", "--deselect", "features/t.py::a"], "--deselect features/t.py::a"),   # its value once, not again as a node ID
    (["features", "-k"], "-k"),                                       # the last argument, its value missing
    (["-n", "2", "-m"], "-m"),
    (["--lf", "features/t.py::a"], "--lf, features/t.py::a"),         # --lf takes no value
    (["features", "--last-failed", "-x"], "--last-failed"),
    (["--sw", "-x"], "--sw"),
    (["--stepwise"], "--stepwise"),
    (["-k", "S1SP1", "-m", "gas", "a.py::t"], "-k S1SP1, -m gas, a.py::t"),
    (["--rootdir=a::b", "-p", "no:cacheprovider"], None),             # an option's value is not a node ID
    (["features", "-x", "-v"], None),
    (["features", "--ignore", "features/t.py"], "--ignore features/t.py"),     # a whole file left out
    (["features", "--ignore-glob=*dialect*"], "--ignore-glob *dialect*"),
    ([], None),
])
def test_what_counts_as_a_subset(args, shown):
    assert collect.subset_of({"args": args}) == shown


def test_a_run_without_arguments_is_no_subset():
    assert collect.subset_of({}) is None
    assert collect.subset_of({"args": None}) is None


def test_arguments_that_are_not_strings_are_read_as_strings():
    assert collect.subset_of({"args": [Path("features/t.py::a"), "-k", 7]}) == "features/t.py::a, -k 7"


def test_what_a_subset_shows_is_cut_at_200_characters():
    ids = [f"features/test_scenarios.py::test_{i:03}" for i in range(10)]
    shown = collect.subset_of({"args": ids})
    assert shown == ", ".join(ids)[:200] and len(shown) == 200
