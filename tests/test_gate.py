"""The release gate (conformance/gate.py): mandatory requirements, coverage, waivers and their expiry."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conformance import catalogue, gate
from reports import matrix
from reports.results import ScenarioResult

REQS = catalogue.load()
ALL_IDS = set(REQS)
TODAY = dt.date(2026, 11, 25)
ROOT = Path(__file__).resolve().parents[1]


def scenario(name, status, reqs, s1sp=None, fuel=None, message=""):
    return ScenarioResult(uuid=name, name=name, full_name=f"f.feature:{name}", feature="f", status=status,
                          message=message, trace="", requirements=list(reqs), s1sp=s1sp, fuel=fuel, parameters={},
                          steps=[], attachments=[], start=0, stop=1, file=f"{name}-result.json")


def full_pass(exclude=()):
    """One passing scenario per requirement and cell: per S1SP and fuel for S1SP requirements."""
    out = []
    for rid, req in REQS.items():
        if rid in exclude:
            continue
        if req.actor == "S1SP":
            out += [scenario(f"{rid}-{s}-{f}", "passed", [rid], s, f) for s in matrix.S1SPS for f in ("electricity", "gas")]
        else:
            out.append(scenario(f"{rid}-any", "passed", [rid]))
    return out


def policy(waivers=(), mandatory=("MP107-R1.*", "MP107-R3.*", "MP107-R4.*"), if_tagged=("MP107-R2.*",)):
    data = {"policy": {"name": "t", "mandatory": list(mandatory), "mandatory_if_tagged": list(if_tagged)},
            "waiver": list(waivers)}
    return gate.parse_policy(data, REQS, "test")


def judge(scenarios, pol=None, tagged=ALL_IDS, selected=matrix.S1SPS, today=TODAY, not_judged=None, baseline=None,
          subset=None):
    m = matrix.build(scenarios, REQS, selected)
    return gate.evaluate(m, REQS, pol or policy(), tagged=tagged, selected_s1sps=selected, today=today,
                         not_judged=not_judged, baseline=baseline, subset=subset)


def waiver(rid="MP107-R1.4", s1sp="S1SP2", expires=TODAY, reason="known, release coordinated for January"):
    return {"requirement": rid, "s1sp": s1sp, "reason": reason, "expires": expires}


def with_failure(rid="MP107-R1.4", s1sp="S1SP2", fuel="electricity"):
    scs = [s for s in full_pass() if s.name != f"{rid}-{s1sp}-{fuel}"]
    return scs + [scenario(f"{rid}-{s1sp}-{fuel}", "failed", [rid], s1sp, fuel, "expected I0, got S1VE64")]


# --- policy files ----------------------------------------------------------------------------------

def test_the_release_policy_in_the_repo_makes_every_tested_requirement_mandatory_and_refuses_not_applicable():
    pol = gate.load_policy(ROOT / "policies" / "release.toml", REQS)
    ids = pol.mandatory_ids(REQS, tagged=set())
    assert {r for r, req in REQS.items() if not req.not_tested} == set(ids)
    assert pol.not_applicable == "finding"


def test_the_uit_policy_in_the_repo_accepts_what_the_statement_rules_out():
    pol = gate.load_policy(ROOT / "policies" / "uit.toml", REQS)
    assert pol.not_applicable == "accepted"
    assert {r for r, req in REQS.items() if not req.not_tested} == set(pol.mandatory_ids(REQS, tagged=set()))


def test_a_requirement_only_not_applicable_is_a_finding_under_release_and_listed_under_uit():
    scs = full_pass(exclude={"MP107-R1.8"}) + [scenario("s", "not applicable", ["MP107-R1.8"],
                                                       message="not applicable: needs the switch off")]
    release = judge(scs)
    assert [(f.requirement, f.kind) for f in release.open_findings] == [("MP107-R1.8", "not applicable")]
    uit = judge(scs, pol=gate.parse_policy({"policy": {"name": "u", "mandatory": ["MP107-R1.*"],
                                                       "not_applicable": "accepted"}}, REQS))
    assert uit.exit_code == 0 and uit.not_applicable and "needs the switch off" in uit.not_applicable[0]


def test_data_fix_requirements_are_mandatory_once_tagged_in_features():
    pol = policy()
    assert "MP107-R2.1" not in pol.mandatory_ids(REQS, tagged=set())
    assert "MP107-R2.1" in pol.mandatory_ids(REQS, tagged={"MP107-R2.1"})


def test_without_a_file_the_default_policy_is_used(monkeypatch, tmp_path):
    monkeypatch.setattr(gate, "DEFAULT_POLICY", tmp_path / "absent.toml")
    pol = gate.load_policy(None, REQS)
    assert pol.mandatory == gate.BUILTIN_POLICY["mandatory"]


@pytest.mark.parametrize("bad, words", [
    ({"policy": {"mandatory": "MP107-R1.*"}}, "must be a list"),
    ({"policy": {"mandatory": ["MP107-R9.*"]}}, "names no requirement"),
    ({"policy": {"mandatory": []}, "waiver": [waiver(rid="MP107-R9.9")]}, "not in the catalogue"),
    ({"policy": {"mandatory": []}, "waiver": [waiver(s1sp="S1SP7")]}, "s1sp must be"),
    ({"policy": {"mandatory": []}, "waiver": [waiver(reason=" ")]}, "needs a reason"),
    ({"policy": {"mandatory": []}, "waiver": [{k: v for k, v in waiver().items() if k != "expires"}]}, "expiry date"),
    ({"policy": {"mandatory": []}, "waiver": [waiver(expires="next spring")]}, "must be a date"),
])
def test_an_invalid_policy_is_refused_with_a_reason(bad, words):
    with pytest.raises(gate.PolicyError, match=words):
        gate.parse_policy(bad, REQS, "bad.toml")


def test_a_missing_policy_file_is_a_policy_error(tmp_path):
    with pytest.raises(gate.PolicyError, match="not found"):
        gate.load_policy(tmp_path / "nope.toml", REQS)


def test_a_policy_file_with_a_toml_date(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[policy]\nname = "x"\nmandatory = ["MP107-R1.*"]\n\n[[waiver]]\nrequirement = "MP107-R1.4"\n'
                    's1sp = "S1SP2"\nreason = "r"\nexpires = 2027-01-31\n')
    pol = gate.load_policy(path, REQS)
    assert pol.waivers == [gate.Waiver("MP107-R1.4", "S1SP2", "r", dt.date(2027, 1, 31))]


# --- verdicts ---------------------------------------------------------------------------------------

def test_everything_passed_is_conformant():
    result = judge(full_pass())
    assert result.exit_code == 0 and result.verdict == "CONFORMANT" and not result.findings
    assert {g["verdict"] for g in result.groups.values()} == {"CONFORMANT"}


def test_a_failed_mandatory_cell_is_not_conformant_and_counts_against_that_s1sp():
    result = judge(with_failure())
    assert result.exit_code == 1
    assert [(f.requirement, f.s1sp, f.kind) for f in result.open_findings] == [("MP107-R1.4", "S1SP2", "failed")]
    assert result.groups["S1SP2"]["verdict"] == "NOT CONFORMANT"
    assert result.groups["DSP"]["verdict"] == result.groups["S1SP1"]["verdict"] == "CONFORMANT"


def test_a_failed_dsp_requirement_counts_against_the_dsp():
    scs = [s for s in full_pass() if s.name != "MP107-R1.8-any"] + [scenario("x", "failed", ["MP107-R1.8"])]
    result = judge(scs)
    assert result.exit_code == 1 and result.groups["DSP"]["verdict"] == "NOT CONFORMANT"


def test_a_failure_of_a_requirement_that_is_not_mandatory_does_not_fail_the_gate():
    result = judge(with_failure(), pol=policy(mandatory=("MP107-R3.*",), if_tagged=()))
    assert result.exit_code == 0


def test_a_mandatory_requirement_with_no_scenario_is_not_covered():
    result = judge(full_pass(exclude={"MP107-R3.2"}))
    assert result.exit_code == 1
    assert [(f.requirement, f.kind) for f in result.open_findings] == [("MP107-R3.2", "not covered")]


def test_a_mandatory_requirement_only_skipped_is_not_conformant_and_never_passed():
    scs = full_pass(exclude={"MP107-R1.8"}) + [scenario("s", "skipped", ["MP107-R1.8"])]
    m = matrix.build(scs, REQS)
    assert m.cell("MP107-R1.8", "any").status == "skipped"
    assert m.rows["MP107-R1.8"].status == "skipped"
    result = judge(scs)
    assert not result.open_findings and result.incomplete
    assert result.exit_code == 2 and result.verdict == "INCOMPLETE"


def test_a_skipped_scenario_beside_a_passed_one_leaves_the_cell_passed_but_the_run_incomplete():
    """SPEC §5: an applicable scenario that could not run blocks a pass where it is mandatory, whatever
    else covered the same requirement cell (issue 17: E5 and E11 never tried, yet CONFORMANT)."""
    scs = full_pass() + [scenario("s", "skipped", ["MP107-R1.8"], message="Skipped: no fitting device")]
    assert matrix.build(scs, REQS).cell("MP107-R1.8", "any").status == "passed"
    result = judge(scs)
    assert result.exit_code == 2 and result.verdict == "INCOMPLETE"
    assert [(s["name"], s["reason"]) for s in result.skipped] == [("s", "no fitting device")]
    assert any(line.startswith("scenario skipped: s ") and "no fitting device" in line for line in result.incomplete)
    assert result.groups["DSP"]["verdict"] == "INCOMPLETE"


def test_skipped_mandatory_scenarios_are_listed_one_by_one_with_their_reasons_and_s1sp():
    e11 = scenario("a request to a device of the wrong type gets E11", "skipped", ["MP107-R4.2"],
                   message="Skipped: target http://x cannot be provisioned and its profile lists no CHF device")
    gas = scenario("the other supplier on gas", "skipped", ["MP107-R1.7"], "S1SP2", "gas",
                   message="target http://x lacks the 'provision' capability needed to load the other supplier")
    slot = scenario("the wrong NO on gas", "skipped", ["MP107-R1.4"], "S1SP2", "gas", message="no gas device left")
    result = judge(full_pass() + [e11, gas, slot])
    assert result.exit_code == 2 and not result.open_findings
    assert [(s["name"], s["s1sp"], s["requirements"]) for s in result.skipped] == [
        (e11.name, None, ["MP107-R4.2"]), (gas.name, "S1SP2", ["MP107-R1.7"]), (slot.name, "S1SP2", ["MP107-R1.4"])]
    assert "no CHF device" in result.skipped[0]["reason"] and "other supplier" in result.skipped[1]["reason"]
    assert result.groups["DSP"]["verdict"] == "INCOMPLETE"          # R1.7 and R4.2 judge the DSP
    assert result.groups["S1SP2"]["verdict"] == "INCOMPLETE" and result.groups["S1SP1"]["verdict"] == "CONFORMANT"


def test_a_skipped_scenario_of_requirements_that_are_not_mandatory_does_not_block():
    scs = full_pass() + [scenario("s", "skipped", ["MP107-R1.8"])]
    assert judge(scs, pol=policy(mandatory=("MP107-R3.*",), if_tagged=())).exit_code == 0


def test_a_not_applicable_scenario_beside_a_passed_one_does_not_block():
    scs = full_pass() + [scenario("s", "not applicable", ["MP107-R1.8"], message="not applicable: switch on")]
    assert judge(scs).exit_code == 0


# --- each finding says why, in one line ---------------------------------------------------------------

VIOLATION = """steps.scenario_state.Violation: [S1SP2 broke MP107-R1.4 at 'When the wrong network operator sends SRV 6.15.1']
SRV 6.15.1 replacing the NetworkOperator slot from 90-B3-D5-1F-30-02-00-04, RequestID 90-B3-D5-1F-30-02-00-04:00-DB-9C-01-BC-AA-BC-52:17
  expected: I99 then I0
  acknowledgement: I99 (HTTP 200)
  final outcome: S1VE4 (S1SP alert; header ResponseCode I0) - S1SP2 s1sp.registration_data: registered GT is X"""


def test_a_failed_finding_carries_a_one_line_reason_from_its_first_failing_step():
    scs = [s for s in full_pass() if s.name != "MP107-R1.4-S1SP2-gas"]
    scs.append(scenario("MP107-R1.4-S1SP2-gas", "failed", ["MP107-R1.4"], "S1SP2", "gas", VIOLATION))
    [finding] = judge(scs).open_findings
    assert "\n" not in finding.reason and len(finding.reason) <= 300
    assert finding.reason.startswith("at 'When the wrong network operator sends SRV 6.15.1': expected I99 then I0; "
                                     "got acknowledgement I99 (HTTP 200), final outcome S1VE4")
    assert finding.reason.endswith("RequestID 90-B3-D5-1F-30-02-00-04:00-DB-9C-01-BC-AA-BC-52:17")
    assert finding.scenarios == ["f.feature:MP107-R1.4-S1SP2-gas"]


def test_findings_of_every_kind_say_why():
    result = judge(full_pass(exclude={"MP107-R3.2"}))
    [finding] = result.open_findings
    assert finding.reason and "MP107-R3.2" in finding.reason


@pytest.mark.parametrize("message, reason", [
    ("AssertionError: no SRV 6.21 from the registered supplier earlier", "no SRV 6.21 from the registered supplier earlier"),
    ("[DSP broke MP107-R4.4 at 'Then the DSP refuses the callback registration']\nPUT http://t/cb as NO (signed): HTTP 200 - "
     "ok\n  expected: a refusal, HTTP 4xx",
     "at 'Then the DSP refuses the callback registration': expected a refusal, HTTP 4xx; got PUT http://t/cb as NO "
     "(signed): HTTP 200 - ok"),
    ("", ""),
])
def test_the_one_line_reason_of_other_failures(message, reason):
    from conformance import verdicts
    assert verdicts.reason_line(message) == reason


def test_an_s1sp_requirement_must_run_for_every_selected_s1sp_and_fuel():
    scs = [s for s in full_pass() if s.name != "MP107-R1.3-S1SP3-gas"]
    result = judge(scs)
    assert [(f.requirement, f.s1sp, f.kind) for f in result.open_findings] == [("MP107-R1.3", "S1SP3", "not covered")]
    assert result.groups["S1SP3"]["verdict"] == "NOT CONFORMANT"


def test_s1sps_not_selected_are_not_run_rather_than_not_covered():
    scs = [s for s in full_pass() if s.s1sp in (None, "S1SP2")]
    result = judge(scs, selected=("S1SP2",))
    assert result.exit_code == 2 and result.verdict == "INCOMPLETE"     # never a green CONFORMANT
    assert result.groups["S1SP1"]["verdict"] == "NOT RUN"
    m = matrix.build(scs, REQS, ("S1SP2",))
    assert m.cell("MP107-R1.4", "S1SP1-gas").status == "not run"


def test_a_failure_is_exit_1_even_in_a_run_not_judged_and_coverage_gaps_there_are_exit_2():
    result = judge(with_failure(), not_judged=["1 scenario(s) broken"])
    assert result.exit_code == 1 and result.verdict == "NOT CONFORMANT"
    gaps = judge([s for s in full_pass() if s.name != "MP107-R1.3-S1SP3-gas"], not_judged=["1 scenario(s) broken"])
    assert gaps.exit_code == 2 and gaps.verdict == "NOT JUDGED"


# --- waivers ----------------------------------------------------------------------------------------

def test_a_valid_waiver_waives_the_failure_and_is_listed_as_used():
    result = judge(with_failure(), pol=policy([waiver(expires=TODAY + dt.timedelta(days=30))]))
    assert result.exit_code == 0
    assert [w.requirement for w, _ in result.waivers_used] == ["MP107-R1.4"]
    assert result.findings[0].waived_by is not None and not result.open_findings


def test_a_waiver_holds_on_its_expiry_day():
    assert judge(with_failure(), pol=policy([waiver(expires=TODAY)])).exit_code == 0


def test_an_expired_waiver_no_longer_waives_and_is_listed_as_ignored():
    result = judge(with_failure(), pol=policy([waiver(expires=TODAY - dt.timedelta(days=1))]))
    assert result.exit_code == 1
    assert not result.waivers_used
    [(w, would)] = result.waivers_expired
    assert w.requirement == "MP107-R1.4" and [f.requirement for f in would] == ["MP107-R1.4"]


def test_a_waiver_for_another_s1sp_does_not_waive():
    result = judge(with_failure(), pol=policy([waiver(s1sp="S1SP1", expires=TODAY + dt.timedelta(days=1))]))
    assert result.exit_code == 1
    assert [w.s1sp for w in result.waivers_unused] == ["S1SP1"]


def test_a_star_waiver_covers_every_s1sp_and_the_not_s1sp_specific_column():
    scs = [s for s in full_pass() if s.name != "MP107-R1.8-any"] + [scenario("x", "failed", ["MP107-R1.8"])]
    assert judge(scs, pol=policy([waiver(rid="MP107-R1.8", s1sp="S1SP2", expires=TODAY)])).exit_code == 1
    assert judge(scs, pol=policy([waiver(rid="MP107-R1.8", s1sp="*", expires=TODAY)])).exit_code == 0


def test_a_waiver_can_waive_a_requirement_not_covered():
    scs = full_pass(exclude={"MP107-R3.2"})
    assert judge(scs, pol=policy([waiver(rid="MP107-R3.2", s1sp="*", expires=TODAY)])).exit_code == 0
