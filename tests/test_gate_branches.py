"""Every branch of the release gate (conformance/gate.py) pinned, as its mutation run
(scripts/mutation.sh conformance/gate.py) asked: the words of every policy error and finding (the
user reads them), each way a requirement with no executed scenario is classified, the component a
result counts against, how per-cell findings merge, waivers, and each component's verdict. Builds on
tests/test_gate.py's helpers (a full passing run, with one thing changed)."""
from __future__ import annotations

import dataclasses
import datetime as dt
from types import SimpleNamespace as NS

import pytest

from conformance import gate
from conformance.catalogue import Requirement
from reports import matrix
from test_gate import REQS, TODAY, full_pass, judge, policy, scenario, waiver, with_failure

LATER = TODAY + dt.timedelta(days=30)


# --- policy files and their errors, word for word -------------------------------------------------------------

def refused(data, source="bad.toml") -> str:
    with pytest.raises(gate.PolicyError) as caught:
        gate.parse_policy(data, REQS, source)
    return str(caught.value)


def test_policy_errors_in_words():
    assert refused({"policy": {"mandatory": ["MP107-R1.*"], "not_applicable": "maybe"}}) == (
        "bad.toml: [policy] not_applicable must be one of ['accepted', 'finding'], not 'maybe'")
    assert refused({"policy": {"mandatory": ["MP107-R1.*"]}, "waivers": []}) == "bad.toml: unknown top-level keys ['waivers']"
    assert refused({"policy": {"mandatory": "MP107-R1.*"}}) == (
        "bad.toml: [policy] mandatory must be a list of requirement IDs or patterns")
    assert refused({"policy": {"mandatory": ["MP107-R1.*", 3]}}) == (
        "bad.toml: [policy] mandatory must be a list of requirement IDs or patterns")
    assert refused({"policy": {"mandatory": [], "mandatory_if_tagged": "MP107-R2.*"}}) == (
        "bad.toml: [policy] mandatory_if_tagged must be a list of requirement IDs or patterns")
    assert refused({"policy": {"mandatory": [], "mandatory_if_tagged": [None]}}) == (
        "bad.toml: [policy] mandatory_if_tagged must be a list of requirement IDs or patterns")
    assert refused({"policy": {"mandatory": [], "mandatory_if_tagged": ["MP107-R9.*"]}}) == (
        "bad.toml: 'MP107-R9.*' names no requirement in the catalogue")
    assert refused({"policy": {"mandatory": []}, "waiver": [waiver(), waiver(rid="MP107-R9.9")]}) == (
        "bad.toml: waiver 2: requirement 'MP107-R9.9' is not in the catalogue")
    assert refused({"policy": {"mandatory": []}, "waiver": [waiver(s1sp="S1SP7")]}) == (
        "bad.toml: waiver 1: s1sp must be one of S1SP1, S1SP2, S1SP3 or '*', not 'S1SP7'")
    assert refused({"policy": {"mandatory": []}, "waiver": [{**waiver(), "reason": None}]}) == (
        "bad.toml: waiver 1: a waiver needs a reason")
    assert refused({"policy": {"mandatory": []}, "waiver": [{k: v for k, v in waiver().items() if k != "expires"}]}) == (
        "bad.toml: waiver 1: a waiver needs an expiry date (expires = YYYY-MM-DD)")
    assert refused({"policy": {"mandatory": []}, "waiver": [waiver(expires="2027-13-01")]}) == (
        "bad.toml: waiver 1: expires must be a date (YYYY-MM-DD), not '2027-13-01'")
    assert refused({"policy": {"mandatory": []}, "waiver": [waiver(expires=20270131)]}) == (
        "bad.toml: waiver 1: expires must be a date (YYYY-MM-DD), not 20270131")


def test_a_policy_without_a_policy_table_or_a_name():
    flat = gate.parse_policy({"mandatory": ["MP107-R1.8"], "extra": 1}, REQS, "policies/flat.toml")
    assert (flat.name, flat.mandatory, flat.not_applicable, flat.source) == (
        "flat", ["MP107-R1.8"], "finding", "policies/flat.toml")
    assert gate.parse_policy({"policy": {"mandatory": []}}, REQS).name == "built-in"


def test_a_waiver_as_parsed():
    pol = gate.parse_policy({"policy": {"mandatory": []}, "waiver": [
        {"requirement": "MP107-R1.4", "reason": "  due  ", "expires": dt.datetime(2027, 1, 31, 12, 0)},
        {"requirement": "MP107-R1.3", "s1sp": "S1SP1", "reason": "r", "expires": dt.date(2027, 2, 1)},
        {"requirement": "MP107-R1.2", "s1sp": "S1SP2", "reason": "r", "expires": "2027-03-01"}]}, REQS, "p.toml")
    assert pol.waivers == [gate.Waiver("MP107-R1.4", "*", "due", dt.date(2027, 1, 31)),
                           gate.Waiver("MP107-R1.3", "S1SP1", "r", dt.date(2027, 2, 1)),
                           gate.Waiver("MP107-R1.2", "S1SP2", "r", dt.date(2027, 3, 1))]
    assert pol.mandatory_if_tagged == [] and pol.not_applicable == "finding"


def test_waivers_in_words_and_what_they_cover():
    every = gate.Waiver("MP107-R1.4", "*", "due in January", dt.date(2027, 1, 31))
    one = gate.Waiver("MP107-R1.4", "S1SP2", "due in January", dt.date(2027, 1, 31))
    assert every.describe() == "MP107-R1.4 for every S1SP until 2027-01-31: due in January"
    assert one.describe() == "MP107-R1.4 for S1SP2 until 2027-01-31: due in January"
    finding = gate.Finding("MP107-R1.4", "S1SP2", "S1SP2", "failed", "t")
    assert one.covers(finding) and every.covers(finding)
    assert not one.covers(dataclasses.replace(finding, s1sp="S1SP1"))
    assert not every.covers(dataclasses.replace(finding, requirement="MP107-R1.3"))
    assert every.covers(dataclasses.replace(finding, s1sp=None)) and not one.covers(dataclasses.replace(finding, s1sp=None))


def test_loading_a_policy_file_and_its_errors(tmp_path, monkeypatch):
    assert gate.load_policy(None, REQS).name == "release"              # policies/release.toml
    monkeypatch.setattr(gate, "DEFAULT_POLICY", tmp_path / "absent.toml")
    builtin = gate.load_policy(None, REQS)
    assert (builtin.name, builtin.not_applicable, builtin.source) == ("release (built-in default)", "finding", "built-in")
    path = tmp_path / "p.toml"
    path.write_text('[policy]\nmandatory = ["MP107-R1.*"]\n', encoding="utf-8")
    pol = gate.load_policy(path, REQS)
    assert (pol.name, pol.source) == ("p", str(path))
    monkeypatch.setattr(gate, "DEFAULT_POLICY", path)
    assert gate.load_policy(None, REQS).source == str(path)
    path.write_text("[policy\n")
    with pytest.raises(gate.PolicyError, match=rf"^policy file {path}: ") as caught:
        gate.load_policy(path, REQS)
    assert "Expected ']'" in str(caught.value) or "line 1" in str(caught.value)
    with pytest.raises(gate.PolicyError, match=rf"^policy file {tmp_path}: ") as caught:
        gate.load_policy(tmp_path, REQS)                            # a folder: an OSError, said as such
    assert str(caught.value) != f"policy file {tmp_path} not found"
    with pytest.raises(gate.PolicyError) as caught:
        gate.load_policy(tmp_path / "nope.toml", REQS)
    assert str(caught.value) == f"policy file {tmp_path / 'nope.toml'} not found"


def test_a_policy_file_in_utf8(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[policy]\nname = "übergabe"\nmandatory = ["MP107-R1.*"]\n', encoding="utf-8")
    assert gate.load_policy(path, REQS).name == "übergabe"


def test_mandatory_ids_leave_out_the_not_tested():
    reqs = {"A-1": Requirement("A-1", "t", "DSP", "f"), "A-2": Requirement("A-2", "t", "DSP", "f", not_tested="why"),
            "B-1": Requirement("B-1", "t", "DSP", "f")}
    pol = gate.Policy("p", ["A-*"], ["B-*"])
    assert pol.mandatory_ids(reqs, tagged=set()) == ["A-1"]
    assert pol.mandatory_ids(reqs, tagged={"B-1", "A-2"}) == ["A-1", "B-1"]


# --- the exit code and the verdict ------------------------------------------------------------------------------

def result(findings=(), not_judged=(), incomplete=()):
    return gate.GateResult(policy(), TODAY, [], list(findings), list(not_judged), {}, [], [], [],
                           incomplete=list(incomplete))


FAILED = gate.Finding("MP107-R1.8", None, "DSP", "failed", "t")
UNCOVERED = gate.Finding("MP107-R1.8", None, "DSP", "not covered", "t")


@pytest.mark.parametrize("findings, not_judged, incomplete, code, verdict", [
    ([], [], [], 0, "CONFORMANT"),
    ([], [], ["skipped"], 2, "INCOMPLETE"),
    ([], ["broken"], [], 2, "NOT JUDGED"),
    ([], ["broken"], ["skipped"], 2, "NOT JUDGED"),
    ([UNCOVERED], [], ["skipped"], 1, "NOT CONFORMANT"),
    ([UNCOVERED], ["broken"], [], 2, "NOT JUDGED"),
    ([FAILED], ["broken"], ["skipped"], 1, "NOT CONFORMANT"),
    ([dataclasses.replace(FAILED, waived_by=gate.Waiver("MP107-R1.8", "*", "r", LATER))], [], [], 0, "CONFORMANT"),
])
def test_exit_code_and_verdict(findings, not_judged, incomplete, code, verdict):
    r = result(findings, not_judged, incomplete)
    assert (r.exit_code, r.verdict) == (code, verdict)


# --- whom a result counts against, and what no executed scenario means ----------------------------------------------

def test_group_of():
    req = lambda *comps: Requirement("X", "t", "DSP", "f", components=comps)     # noqa: E731
    assert gate.group_of(req(), None) == "DSP"                     # no components: the DSP
    assert gate.group_of(req(), "S1SP2") == "DSP"
    assert gate.group_of(req("DSP", "S1SP"), "S1SP2") == "S1SP2"
    assert gate.group_of(req("DSP", "S1SP"), None) == "DSP"
    assert gate.group_of(req("S1SP"), None) == "S1SP (all)"
    assert gate.group_of(req("Data fix"), "S1SP1") == "Data fix"


@pytest.mark.parametrize("statuses, kind", [
    (["blocked", "skipped", "not applicable"], "blocked"),
    (["skipped", "not applicable"], "skipped"),
    (["unknown"], "skipped"),                                    # a result that says nothing is not a pass
    (["not applicable", "not applicable"], "not applicable"),
    (["not applicable", "odd"], "not covered"),
    ([], "not covered"),
])
def test_what_a_requirement_with_no_executed_scenario_amounts_to(statuses, kind):
    assert gate._classify([NS(status=s) for s in statuses]) == kind


# --- findings, word for word ---------------------------------------------------------------------------------------------

def test_a_failure_names_the_component_the_cell_and_the_cause():
    scs = [s for s in full_pass() if s.name != "MP107-R1.4-S1SP2-gas"]
    scs.append(dataclasses.replace(scenario("MP107-R1.4-S1SP2-gas", "failed", ["MP107-R1.4"], "S1SP2", "gas"),
                                   component="DSP", violated=["MP107-R1.4"]))
    [f] = judge(scs).findings
    assert (f.group, f.text, f.cells, f.s1sp) == ("DSP", "MP107-R1.4 failed on DSP (S1SP2 gas)",
                                                  ["cell-MP107-R1.4-S1SP2-gas"], "S1SP2")
    [f] = judge(with_failure()).findings                          # no step named it: the column's S1SP
    assert (f.group, f.text) == ("S1SP2", "MP107-R1.4 failed on S1SP2 (S1SP2 electricity)")
    scs = [s for s in full_pass() if s.name != "MP107-R1.8-any"] + [scenario("x", "failed", ["MP107-R1.8"])]
    [f] = judge(scs).findings
    assert (f.group, f.text, f.cells, f.s1sp) == ("DSP", "MP107-R1.8 failed on DSP", ["cell-MP107-R1.8-any"], None)


def test_failures_in_several_cells_merge_into_one_finding_with_every_cause_once():
    scs = [s for s in full_pass() if not s.name.startswith("MP107-R1.4-S1SP2")]
    notes = {"electricity": "I99 then S1VE4", "gas": "I99 then S1VE4"}
    for fuel, note in notes.items():
        scs.append(scenario(f"MP107-R1.4-S1SP2-{fuel}", "failed", ["MP107-R1.4"], "S1SP2", fuel, message=note))
    scs.append(scenario("MP107-R1.4-S1SP2-x", "failed", ["MP107-R1.4"], "S1SP2", "gas",
                        message="acknowledgement: I99 (HTTP 200)\n final outcome: S1VE4"))
    r = judge(scs)
    [f] = r.findings
    assert f.text == "MP107-R1.4 failed on S1SP2 (3 cells)"
    assert f.cells == ["cell-MP107-R1.4-S1SP2-electricity", "cell-MP107-R1.4-S1SP2-gas", "cell-MP107-R1.4-S1SP2-gas"]
    title = "R1.10: DSP and S1SP releases not coordinated (S1SP2 has not implemented MP107)"
    assert f.cause == title
    assert r.groups["S1SP2"]["causes"] == [title]


def test_two_failed_cells_are_two_cells():
    scs = [s for s in full_pass() if not s.name.startswith("MP107-R1.4-S1SP2")] + [
        scenario(f"MP107-R1.4-S1SP2-{fuel}", "failed", ["MP107-R1.4"], "S1SP2", fuel) for fuel in ("electricity", "gas")]
    [f] = judge(scs).findings
    assert f.text == "MP107-R1.4 failed on S1SP2 (2 cells)"


def test_a_not_applicable_reason_that_quotes_the_words_keeps_them():
    scs = full_pass(exclude={"MP107-R1.8"}) + [scenario(
        "na", "not applicable", ["MP107-R1.8"], message="not applicable: S1SP2 says not applicable: out of scope")]
    [f] = judge(scs).findings
    assert f.cause == "S1SP2 says not applicable: out of scope"


def test_distinct_causes_are_joined_once_each():
    reqs = REQS
    m = matrix.build([s for s in full_pass() if not s.name.startswith("MP107-R1.4-S1SP2")], reqs)
    for fuel, note in (("electricity", "a"), ("gas", "b")):
        col = m.rows["MP107-R1.4"].cells[f"S1SP2-{fuel}"]
        col.entries.append(matrix.Entry(scenario(f"f-{fuel}", "failed", ["MP107-R1.4"], "S1SP2", fuel), "failed", note))
    m.rows["MP107-R1.4"].cells["S1SP2-gas"].entries.append(
        matrix.Entry(scenario("f-again", "failed", ["MP107-R1.4"], "S1SP2", "gas"), "failed", "a"))
    m.rows["MP107-R1.4"].cells["S1SP1-gas"].entries.append(
        matrix.Entry(scenario("f-none", "failed", ["MP107-R1.4"], "S1SP1", "gas"), "failed", ""))
    r = gate.evaluate(m, reqs, policy(), tagged=set(reqs), today=TODAY)
    s1sp2 = next(f for f in r.findings if f.group == "S1SP2")
    assert s1sp2.cause == "a; b" and len(s1sp2.cells) == 3
    s1sp1 = next(f for f in r.findings if f.group == "S1SP1")
    assert s1sp1.cause == "" and s1sp1.text == "MP107-R1.4 failed on S1SP1 (S1SP1 gas)"
    assert r.groups["S1SP2"]["causes"] == ["a; b"] and r.groups["S1SP1"]["causes"] == []


def test_a_requirement_not_covered_in_words():
    [f] = judge(full_pass(exclude={"MP107-R3.2"})).findings
    assert (f.text, f.group, f.s1sp, f.cells) == ("MP107-R3.2 is not covered (no scenario ran to a verdict)", "DSP", None, [])
    scs = [s for s in full_pass() if s.name != "MP107-R1.3-S1SP3-gas"]
    [f] = judge(scs).findings
    assert (f.text, f.group, f.cells) == ("MP107-R1.3 is not covered for S1SP3 gas", "S1SP3", ["cell-MP107-R1.3-S1SP3-gas"])
    scs = full_pass(exclude={"MP107-R1.3"}) + [scenario("sk", "skipped", ["MP107-R1.3"], "S1SP1", "gas"),
                                               scenario("na", "not applicable", ["MP107-R1.3"], "S1SP1", "gas",
                                                        message="not applicable: x")]
    [f] = [f for f in judge(scs).findings if f.kind == "not covered"] or [None]
    assert f is None                                                     # skipped there: incomplete, not uncovered


def test_a_requirement_only_skipped_or_blocked_in_words():
    scs = full_pass(exclude={"MP107-R1.8"}) + [scenario("s", "skipped", ["MP107-R1.8"])]
    r = judge(scs)
    # the cell, and (issue 17) each skipped scenario of a mandatory requirement by name
    assert r.incomplete == ["MP107-R1.8 (no scenario ran to a verdict): applicable scenarios were skipped",
                            "scenario skipped: s (MP107-R1.8) - no reason given"]
    assert r.groups["DSP"]["verdict"] == "INCOMPLETE" and r.groups["S1SP1"]["verdict"] == "CONFORMANT"
    scs = full_pass(exclude={"MP107-R1.8"}) + [scenario("u", "unknown", ["MP107-R1.8"])]
    assert judge(scs).incomplete == ["MP107-R1.8 (no scenario ran to a verdict): applicable scenarios were skipped",
                                     "scenario skipped: u (MP107-R1.8) - no reason given"]
    # a per-S1SP requirement skipped everywhere: every S1SP is incomplete
    scs = full_pass(exclude={"MP107-R1.3"}) + [scenario("s", "skipped", ["MP107-R1.3"])]
    r = judge(scs)
    assert {n: r.groups[n]["verdict"] for n in ("DSP", "S1SP1", "S1SP2", "S1SP3")} == {
        "DSP": "CONFORMANT", "S1SP1": "INCOMPLETE", "S1SP2": "INCOMPLETE", "S1SP3": "INCOMPLETE"}
    # a per-S1SP cell skipped: that S1SP only
    scs = [s for s in full_pass() if s.name != "MP107-R1.3-S1SP3-gas"] + [
        scenario("s", "skipped", ["MP107-R1.3"], "S1SP3", "gas")]
    r = judge(scs)
    assert r.incomplete == ["MP107-R1.3 for S1SP3 gas: applicable scenarios were skipped",
                            "scenario skipped: s (MP107-R1.3) - no reason given"]
    assert r.groups["S1SP3"]["verdict"] == "INCOMPLETE" and r.groups["S1SP2"]["verdict"] == "CONFORMANT"
    # blocked: listed, neither finding nor incomplete
    blocked = dataclasses.replace(scenario("b", "failed", ["MP107-R1.8", "MP107-R1.7"]), component="DSP",
                                  violated=["MP107-R1.7"])
    r = judge([s for s in full_pass() if s.name not in ("MP107-R1.8-any", "MP107-R1.7-any")] + [blocked])
    assert r.blocked == ["MP107-R1.8 (no scenario ran to a verdict)"]
    assert [(f.requirement, f.kind) for f in r.findings] == [("MP107-R1.7", "failed")]


def test_not_applicable_in_words_under_both_policies():
    reasons = ["not applicable: needs the DSP feature switch off; more\nsecond line", "not applicable: no gas devices", ""]
    scs = full_pass(exclude={"MP107-R1.8"}) + [scenario(f"na{i}", "not applicable", ["MP107-R1.8"], message=m)
                                              for i, m in enumerate(reasons)]
    r = judge(scs)
    [f] = r.findings
    assert f.text == "MP107-R1.8 is only not applicable (no scenario ran to a verdict) (policy t needs it run)"
    assert f.cause == "; needs the DSP feature switch off; more; no gas devices"
    assert (f.kind, f.group, f.cells) == ("not applicable", "DSP", ["cell-MP107-R1.8-any"])
    uit = gate.parse_policy({"policy": {"name": "u", "mandatory": ["MP107-R1.*"], "not_applicable": "accepted"}}, REQS)
    r = judge(scs, pol=uit)
    assert r.not_applicable == ["MP107-R1.8 (no scenario ran to a verdict): not applicable - "
                                "; needs the DSP feature switch off; more; no gas devices"]
    assert not r.findings and r.exit_code == 0
    long = [scenario("na", "not applicable", ["MP107-R1.8"], message="not applicable: " + "x" * 400)]
    [f] = judge(full_pass(exclude={"MP107-R1.8"}) + long).findings
    assert f.cause == "x" * 300
    assert judge(full_pass(exclude={"MP107-R1.8"}) + long, pol=uit).not_applicable[0].endswith(" - " + "x" * 300)


def test_an_s1sp_cell_not_applicable_names_its_column():
    scs = [s for s in full_pass() if s.name != "MP107-R1.3-S1SP3-gas"] + [
        scenario("na", "not applicable", ["MP107-R1.3"], "S1SP3", "gas", message="not applicable: S1SP3 out of scope")]
    [f] = judge(scs).findings
    assert (f.text, f.group, f.s1sp, f.cause) == (
        "MP107-R1.3 is only not applicable for S1SP3 gas (policy t needs it run)", "S1SP3", "S1SP3", "S1SP3 out of scope")


def test_only_s1sps_selected_are_judged_per_cell():
    scs = [s for s in full_pass() if s.s1sp in (None, "S1SP2")]
    r = judge(scs, selected=("S1SP2",))
    assert r.incomplete == ["only S1SP2 selected: the other S1SPs were not run"]
    assert not r.findings
    r = judge([s for s in full_pass() if s.s1sp in (None, "S1SP1", "S1SP3")], selected=("S1SP1", "S1SP3"))
    assert r.incomplete == ["only S1SP1, S1SP3 selected: the other S1SPs were not run"]


# --- waivers -------------------------------------------------------------------------------------------------------------

def test_the_first_valid_waiver_waives_and_expired_ones_are_listed_even_unneeded():
    first, second = waiver(expires=LATER, reason="first"), waiver(expires=LATER, reason="second")
    gone = waiver(rid="MP107-R1.3", s1sp="*", expires=TODAY - dt.timedelta(days=1))
    r = judge(with_failure(), pol=policy([first, second, gone]))
    [f] = r.findings
    assert f.waived_by.reason == "first"
    assert [(w.reason, [x.requirement for x in fs]) for w, fs in r.waivers_used] == [("first", ["MP107-R1.4"])]
    assert [(w.requirement, fs) for w, fs in r.waivers_expired] == [("MP107-R1.3", [])]
    assert [w.reason for w in r.waivers_unused] == ["second"]
    assert r.groups["S1SP2"]["verdict"] == "CONFORMANT" and r.groups["S1SP2"]["findings"] == [f]
    assert r.groups["S1SP2"]["causes"] == []                    # only open findings' causes


# --- each component's verdict ----------------------------------------------------------------------------------------------

def test_the_smets2_device_is_judged_only_where_a_smets2_scenario_ran_or_failed():
    assert "SMETS2 device" not in judge(full_pass()).groups
    scs = full_pass() + [scenario("a commissioned SMETS2 device", "passed", ["MP107-R3.1"])]
    assert judge(scs).groups["SMETS2 device"]["verdict"] == "CONFORMANT"
    per_s1sp = full_pass() + [scenario("SMETS2 beside S1SP1", "passed", ["MP107-R3.1"], "S1SP1", "gas")]
    assert "SMETS2 device" not in judge(per_s1sp).groups
    failed = [s for s in full_pass() if s.name != "MP107-R3.1-any"] + [
        dataclasses.replace(scenario("x", "failed", ["MP107-R3.1"]), component="SMETS2 device", violated=["MP107-R3.1"])]
    r = judge(failed)
    assert r.groups["SMETS2 device"]["verdict"] == "NOT CONFORMANT"
    assert [f.group for f in r.findings] == ["SMETS2 device"] and r.groups["DSP"]["verdict"] == "CONFORMANT"


def test_a_finding_against_every_s1sp_counts_against_each():
    scs = full_pass(exclude={"MP107-R1.3"})
    r = judge(scs)
    [f] = r.findings
    assert f.group == "S1SP (all)" and f.text == "MP107-R1.3 is not covered (no scenario ran to a verdict)"
    for name in ("S1SP1", "S1SP2", "S1SP3"):
        assert r.groups[name]["verdict"] == "NOT CONFORMANT" and r.groups[name]["findings"] == [f]
    assert r.groups["DSP"]["verdict"] == "CONFORMANT" and "S1SP (all)" not in r.groups


def test_a_component_with_a_broken_scenario_is_not_judged_and_one_with_no_evidence_not_tested():
    scs = [s for s in full_pass() if s.name != "MP107-R1.3-S1SP1-gas"] + [
        scenario("br", "broken", ["MP107-R1.3"], "S1SP1", "gas")]
    r = judge(scs, not_judged=["1 scenario(s) broken"])
    assert r.groups["S1SP1"] == {"verdict": "NOT JUDGED", "findings": [], "broken": ["cell-MP107-R1.3-S1SP1-gas"],
                                 "causes": [], "known_deviations": 0}
    assert r.groups["S1SP2"]["verdict"] == "NOT JUDGED"                   # the run is not judged
    assert r.groups["DSP"]["broken"] == []
    no_fix = judge([s for s in full_pass() if not s.name.startswith("MP107-R2")],
                   pol=policy(mandatory=("MP107-R1.*",), if_tagged=()))
    assert no_fix.groups["Data fix"]["verdict"] == "NOT TESTED" and no_fix.exit_code == 0


def test_evidence_for_a_component_is_a_scenario_that_ran_on_its_part():
    only_dsp = [s for s in full_pass() if s.s1sp is None]
    r = judge(only_dsp, pol=policy(mandatory=("MP107-R1.8",), if_tagged=()))
    assert r.groups["DSP"]["verdict"] == "CONFORMANT"
    assert {r.groups[n]["verdict"] for n in ("S1SP1", "S1SP2", "S1SP3")} == {"NOT TESTED"}
    # a failure named on an S1SP is evidence about that S1SP even in the general column
    named = [s for s in only_dsp if s.name != "MP107-R1.9-any"] + [
        dataclasses.replace(scenario("n", "failed", ["MP107-R1.9"]), component="S1SP2", violated=["MP107-R1.9"])]
    r = judge(named, pol=policy(mandatory=("MP107-R1.8",), if_tagged=()))
    assert r.groups["S1SP2"]["verdict"] == "CONFORMANT" and r.groups["S1SP1"]["verdict"] == "NOT TESTED"
    # skipped, blocked and not-applicable results are no evidence
    idle = [scenario(f"i{k}", st, ["MP107-R1.3"], "S1SP1", "gas") for k, st in
            enumerate(("skipped", "not applicable", "blocked", "unknown"))]
    r = judge(only_dsp + idle, pol=policy(mandatory=("MP107-R1.8",), if_tagged=()))
    assert r.groups["S1SP1"]["verdict"] == "NOT TESTED"
    ran = idle + [scenario("ran", "passed", ["MP107-R1.3"], "S1SP1", "gas")]     # after the idle ones, same cell
    assert judge(only_dsp + ran, pol=policy(mandatory=("MP107-R1.8",), if_tagged=())).groups["S1SP1"]["verdict"] == "CONFORMANT"
    # a requirement without components is the DSP's
    reqs = {**REQS, "MP107-R1.8": dataclasses.replace(REQS["MP107-R1.8"], components=())}
    m = matrix.build([scenario("d", "passed", ["MP107-R1.8"])], reqs)
    assert gate._executed_in_group(m, reqs, "DSP") and not gate._executed_in_group(m, reqs, "Data fix")
    m = matrix.build([scenario("d", "broken", ["MP107-R1.8"])], reqs)
    assert gate._broken_in_group(m, reqs, "DSP") == ["cell-MP107-R1.8-any"]
    assert gate._executed_in_group(m, reqs, "DSP")


def test_not_run_s1sps_and_the_verdict_of_each_component():
    r = judge([s for s in full_pass() if s.s1sp in (None, "S1SP2")], selected=("S1SP2",))
    assert {n: g["verdict"] for n, g in r.groups.items()} == {
        "DSP": "CONFORMANT", "S1SP1": "NOT RUN", "S1SP2": "CONFORMANT", "S1SP3": "NOT RUN", "Data fix": "CONFORMANT"}
    assert list(r.groups) == ["DSP", "S1SP1", "S1SP2", "S1SP3", "Data fix"]
    assert r.mandatory == [rid for rid in REQS if not REQS[rid].not_tested]
    assert (r.policy.name, r.today) == ("t", TODAY)


def test_today_defaults_to_today():
    m = matrix.build(full_pass(), REQS)
    assert gate.evaluate(m, REQS, policy(), tagged=set(REQS)).today == dt.date.today()


# --- a subset of the suite (issue 20): incomplete, never not conformant ---------------------------------------------------

UIT_LIKE = {"policy": {"name": "u", "mandatory": ["MP107-R1.*", "MP107-R3.*", "MP107-R4.*"],
                       "mandatory_if_tagged": ["MP107-R2.*"], "not_applicable": "accepted"}}


def test_a_subset_leaves_out_what_it_did_not_run_in_words():
    scs = [s for s in full_pass(exclude={"MP107-R3.2"}) if s.name != "MP107-R1.3-S1SP3-gas"]
    r = judge(scs, subset="-k 'not R3.2'")
    assert not r.findings and (r.exit_code, r.verdict) == (2, "INCOMPLETE")
    assert r.incomplete == [
        "a subset of the suite ran (-k 'not R3.2'): what it left out is not judged",
        "MP107-R1.3 for S1SP3 gas: not run to a verdict in this subset (-k 'not R3.2')",
        "MP107-R3.2 (no scenario ran to a verdict): not run to a verdict in this subset (-k 'not R3.2')"]
    assert {n: g["verdict"] for n, g in r.groups.items()} == {
        "DSP": "INCOMPLETE", "S1SP1": "CONFORMANT", "S1SP2": "CONFORMANT", "S1SP3": "INCOMPLETE", "Data fix": "CONFORMANT"}
    # the whole suite, the same results: not covered is a finding
    assert [f.kind for f in judge(scs).findings] == ["not covered", "not covered"]


def test_a_subset_that_ran_everything_is_still_incomplete_and_a_failure_in_it_still_fails():
    r = judge(full_pass(), subset="-m smoke")
    assert r.incomplete == ["a subset of the suite ran (-m smoke): what it left out is not judged"]
    assert (r.exit_code, r.verdict) == (2, "INCOMPLETE") and not r.findings
    assert {g["verdict"] for g in r.groups.values()} == {"CONFORMANT"}     # each component that ran held
    r = judge(with_failure(), subset="-m smoke")
    assert (r.exit_code, r.verdict) == (1, "NOT CONFORMANT") and [f.kind for f in r.findings] == ["failed"]


def test_in_a_subset_only_not_applicable_is_incomplete_unless_the_policy_accepts_it():
    scs = full_pass(exclude={"MP107-R1.8"}) + [scenario("na", "not applicable", ["MP107-R1.8"],
                                                       message="not applicable: switch on")]
    r = judge(scs, subset="-k x")
    assert not r.findings and r.exit_code == 2 and r.not_applicable == []
    assert r.incomplete[1:] == ["MP107-R1.8 (no scenario ran to a verdict): not run to a verdict in this subset (-k x)"]
    assert r.groups["DSP"]["verdict"] == "INCOMPLETE"
    r = judge(scs, subset="-k x", pol=gate.parse_policy(UIT_LIKE, REQS))
    assert r.not_applicable == ["MP107-R1.8 (no scenario ran to a verdict): not applicable - switch on"]
    assert r.incomplete == ["a subset of the suite ran (-k x): what it left out is not judged"]
    assert r.groups["DSP"]["verdict"] == "CONFORMANT" and r.exit_code == 2      # accepted; the run as a whole is a subset


def test_in_a_subset_skipped_and_blocked_are_what_they_are_in_the_whole_suite():
    scs = full_pass(exclude={"MP107-R1.8"}) + [scenario("s", "skipped", ["MP107-R1.8"], message="Skipped: no NO key")]
    r = judge(scs, subset="-k x")
    assert r.incomplete == ["a subset of the suite ran (-k x): what it left out is not judged",
                            "MP107-R1.8 (no scenario ran to a verdict): applicable scenarios were skipped",
                            "scenario skipped: s (MP107-R1.8) - no NO key"]
    blocked = dataclasses.replace(scenario("b", "failed", ["MP107-R1.8", "MP107-R1.7"]), component="DSP",
                                  violated=["MP107-R1.7"])
    r = judge([s for s in full_pass() if s.name not in ("MP107-R1.8-any", "MP107-R1.7-any")] + [blocked], subset="-k x")
    assert r.blocked == ["MP107-R1.8 (no scenario ran to a verdict)"] and r.exit_code == 1


# --- what the mutation run after issues 17 and 20 asked ---------------------------------------------------------------------

def test_a_policy_says_what_a_known_deviation_is_default_finding():
    assert gate.parse_policy({"policy": {"mandatory": []}}, REQS).known_deviations == "finding"
    assert gate.parse_policy({"policy": {"mandatory": [], "known_deviations": "accepted"}}, REQS).known_deviations == "accepted"


def test_a_not_applicable_finding_gives_its_reason_and_scenarios():
    scs = full_pass(exclude={"MP107-R1.8"}) + [scenario(f"na{i}", "not applicable", ["MP107-R1.8"], message=m)
                                              for i, m in enumerate(["not applicable: switch on", "not applicable: no gas"])]
    [f] = judge(scs).findings
    assert f.reason == "not applicable: no gas; switch on"
    assert f.scenarios == ["f.feature:na0", "f.feature:na1"]


def test_merged_failures_list_each_scenario_once():
    scs = [s for s in full_pass() if not s.name.startswith("MP107-R1.4-S1SP2")] + [
        scenario(f"MP107-R1.4-S1SP2-{fuel}", "failed", ["MP107-R1.4"], "S1SP2", fuel) for fuel in ("electricity", "gas")]
    [f] = judge(scs).findings
    assert f.scenarios == ["f.feature:MP107-R1.4-S1SP2-electricity", "f.feature:MP107-R1.4-S1SP2-gas"]


def test_each_skipped_scenario_in_words_and_as_listed():
    pol = policy(mandatory=("MP107-R1.*",), if_tagged=())
    scs = full_pass(exclude={"MP107-R1.8", "MP107-R1.7"}) + [
        scenario("r3", "skipped", ["MP107-R3.1"]),                                        # not mandatory here
        scenario("two", "skipped", ["MP107-R1.8", "MP107-R3.1", "MP107-R1.7"], message="Skipped:   \nmore"),
        scenario("one", "skipped", ["MP107-R1.3"], "S1SP1", "gas", message="Skipped: no NO key\nmore")]
    r = judge(scs, pol=pol)
    assert r.skipped == [
        {"scenario": "f.feature:two", "name": "two", "s1sp": None, "requirements": ["MP107-R1.8", "MP107-R1.7"],
         "reason": "no reason given"},
        {"scenario": "f.feature:one", "name": "one", "s1sp": "S1SP1", "requirements": ["MP107-R1.3"],
         "reason": "no NO key"}]
    assert r.incomplete[-2:] == ["scenario skipped: two (MP107-R1.8, MP107-R1.7) - no reason given",
                                 "scenario skipped: one (MP107-R1.3) - no NO key"]


def test_a_per_s1sp_requirement_skipped_on_one_s1sp_and_run_nowhere_leaves_every_s1sp_incomplete():
    scs = full_pass(exclude={"MP107-R1.3"}) + [scenario("s", "skipped", ["MP107-R1.3"], "S1SP1", "gas")]
    r = judge(scs)
    assert {n: r.groups[n]["verdict"] for n in ("DSP", "S1SP1", "S1SP2", "S1SP3")} == {
        "DSP": "CONFORMANT", "S1SP1": "INCOMPLETE", "S1SP2": "INCOMPLETE", "S1SP3": "INCOMPLETE"}
