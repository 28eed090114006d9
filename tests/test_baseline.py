"""Known deviations per target (conformance/baseline.py, `--baseline FILE`): a failure the baseline
lists is a known deviation - accepted under policies/uit.toml, a finding under policies/release.toml
unless waived; a listed deviation that no longer fails is a finding, "baseline stale"; an expired
entry accepts nothing; everything else is judged as without a baseline. Each case with its exit code,
on the gate (fast) and end to end with `mp107 report --baseline` and `mp107 baseline` (slow)."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import tomllib
from pathlib import Path

import pytest

from conformance import baseline as bl, catalogue, gate
from reports import matrix

from test_gate import REQS, TODAY, full_pass, judge, scenario

ROOT = Path(__file__).resolve().parents[1]
UIT = gate.load_policy(ROOT / "policies" / "uit.toml", REQS)
RELEASE = gate.load_policy(ROOT / "policies" / "release.toml", REQS)
FAILING = "MP107-R1.4-S1SP2-gas"
LATER = TODAY + dt.timedelta(days=30)


def entry(requirement="MP107-R1.4", component="S1SP2", scenario_=f"f.feature:{FAILING}", expires=LATER,
          reason="S1SP2 ships MP107 in January", ticket="UIT-42"):
    return {"requirement": requirement, "component": component, "scenario": scenario_, "reason": reason,
            "ticket": ticket, "expires": expires}


def base(*entries) -> bl.Baseline:
    return bl.parse({"deviation": list(entries)}, set(REQS), "test-baseline.toml")


def failing_run(extra=()):
    """Everything passes but the wrong NO's R1.4 scenario on S1SP2's gas device, which fails on S1SP2."""
    scs = [s for s in full_pass() if s.name != FAILING]
    failed = scenario(FAILING, "failed", ["MP107-R1.4"], "S1SP2", "gas",
                      "[S1SP2 broke MP107-R1.4 at 'Then the final outcome is I0']\nSRV 6.15.1 from NO, RequestID "
                      "90-B3-D5-1F-30-02-00-04:00-DB-9C-01-BC-AA-BC-52:17\n  expected: final outcome I0\n"
                      "  final outcome: S1VE4")
    failed.component, failed.violated = "S1SP2", ["MP107-R1.4"]
    return scs + [failed, *extra]


# --- the four cases, on the gate -------------------------------------------------------------------

def test_a_listed_failure_is_a_known_deviation_accepted_under_uit():
    result = judge(failing_run(), pol=UIT, baseline=base(entry()))
    assert result.exit_code == 0 and result.verdict == "CONFORMANT" and not result.open_findings
    [known] = result.known_deviations
    assert known.accepted and known.known.ticket == "UIT-42" and "known deviation (UIT-42)" in known.text
    assert result.groups["S1SP2"]["known_deviations"] == 1


def test_a_listed_failure_is_still_a_finding_under_release_unless_waived():
    result = judge(failing_run(), pol=RELEASE, baseline=base(entry()))
    assert result.exit_code == 1 and [f.known.ticket for f in result.open_findings] == ["UIT-42"]
    waived = gate.parse_policy({"policy": {"name": "release", "mandatory": RELEASE.mandatory},
                                "waiver": [{"requirement": "MP107-R1.4", "s1sp": "S1SP2", "reason": "programme",
                                            "expires": LATER}]}, REQS, "release+waiver")
    assert judge(failing_run(), pol=waived, baseline=base(entry())).exit_code == 0


def test_a_listed_deviation_that_no_longer_fails_is_a_finding_baseline_stale():
    result = judge(full_pass(), pol=UIT, baseline=base(entry()))
    assert result.exit_code == 1 and result.verdict == "NOT CONFORMANT"
    [stale] = result.open_findings
    assert (stale.kind, stale.requirement, stale.group) == ("baseline stale", "MP107-R1.4", "S1SP2")
    assert "UIT-42" in stale.text and f"f.feature:{FAILING}" in stale.reason
    assert result.groups["S1SP2"]["verdict"] == "NOT CONFORMANT"


def test_an_expired_entry_accepts_nothing_and_is_listed():
    result = judge(failing_run(), pol=UIT, baseline=base(entry(expires=TODAY - dt.timedelta(days=1))))
    assert result.exit_code == 1
    [finding] = result.open_findings
    assert finding.known is None and finding.kind == "failed"
    [(deviation, would)] = result.deviations_expired
    assert deviation.ticket == "UIT-42" and would == [finding]


def test_an_entry_holds_on_its_expiry_day():
    assert judge(failing_run(), pol=UIT, baseline=base(entry(expires=TODAY))).exit_code == 0


def test_everything_else_is_judged_as_without_a_baseline():
    other = scenario("x", "failed", ["MP107-R1.8"])
    other.component, other.violated = "DSP", ["MP107-R1.8"]
    scs = [s for s in failing_run() if s.name != "MP107-R1.8-any"] + [other]
    result = judge(scs, pol=UIT, baseline=base(entry()))
    assert result.exit_code == 1
    assert [(f.requirement, f.group, f.known) for f in result.open_findings] == [("MP107-R1.8", "DSP", None)]
    # an entry for another component or scenario does not cover the failure
    for wrong in (entry(component="S1SP1"), entry(scenario_="f.feature:MP107-R1.4-S1SP2-electricity"),
                  entry(requirement="MP107-R1.5")):
        assert judge(failing_run(), pol=UIT, baseline=base(wrong)).exit_code == 1, wrong


def test_a_pattern_names_several_scenarios_and_a_deviation_not_exercised_is_listed_not_judged():
    result = judge(failing_run(), pol=UIT, baseline=base(entry(scenario_="*S1SP2-gas"),
                                                        entry(requirement="MP107-R1.3", scenario_="no such scenario")))
    assert result.exit_code == 0
    assert [d.requirement for d in result.deviations_not_exercised] == ["MP107-R1.3"]


@pytest.mark.parametrize("bad, words", [
    ({"deviation": [entry(requirement="MP107-R9.9")]}, "not in the catalogue"),
    ({"deviation": [entry(component="S1SP7")]}, "component must be one of"),
    ({"deviation": [entry(ticket=" ")]}, "ticket"),
    ({"deviation": [entry(reason="")]}, "reason"),
    ({"deviation": [entry(scenario_="")]}, "scenario"),
    ({"deviation": [{k: v for k, v in entry().items() if k != "expires"}]}, "expiry date"),
    ({"deviation": [entry(expires="soon")]}, "must be a date"),
    ({"deviation": [{**entry(), "s1sp": "S1SP2"}]}, "unknown keys"),
    ({"waiver": []}, "unknown top-level keys"),
])
def test_an_invalid_baseline_is_refused_with_a_reason(bad, words):
    with pytest.raises(bl.BaselineError, match=words):
        bl.parse(bad, set(REQS), "bad.toml")


def test_a_written_baseline_reads_back_the_same():
    deviations = [bl.Deviation("MP107-R1.4", "S1SP2", 'features/x.feature:a "quoted" name', "why\\ not", "T-1", LATER)]
    text = bl.render(deviations, source="run 1", target="UIT 2")
    assert bl.parse(tomllib.loads(text), set(REQS)).deviations == tuple(deviations)


def test_the_shipped_policies_say_what_a_known_deviation_is():
    assert UIT.known_deviations == "accepted" and RELEASE.known_deviations == "finding"
    with pytest.raises(gate.PolicyError, match="known_deviations"):
        gate.parse_policy({"policy": {"mandatory": [], "known_deviations": "ignored"}}, REQS)


# --- end to end: mp107 report --baseline, mp107 baseline --------------------------------------------

@pytest.mark.slow
def test_mp107_baseline_writes_the_runs_failures_and_each_case_gives_its_exit_code(tmp_path_factory, tmp_path):
    from test_cli import mp107, shared_run
    source, _ = shared_run(tmp_path_factory, "s1sp2")       # S1SP2 has not implemented MP107: exit 1
    run = tmp_path / "run"
    shutil.copytree(source, run)
    written = tmp_path / "baseline.toml"
    proc = mp107("baseline", str(run), "-o", str(written), "--ticket", "UIT-7")
    assert proc.returncode == 0, proc.stderr
    deviations = bl.load(written, set(REQS)).deviations
    failed = json.loads((run / "verdict.json").read_text())["findings"]
    assert {(d.requirement, d.component) for d in deviations} == {(f["requirement"], f["component"]) for f in failed}
    assert all(d.ticket == "UIT-7" and d.scenario.startswith("features/") and d.reason for d in deviations)

    def report(policy, baseline):
        p = mp107("report", str(run), "--policy", str(ROOT / "policies" / policy), "--baseline", str(baseline))
        return p.returncode, json.loads((run / "verdict.json").read_text()), p.stdout + p.stderr

    code, v, text = report("uit.toml", written)                        # known deviations, accepted
    assert code == 0 and v["verdict"] == "CONFORMANT", text
    assert v["known_deviations"] and all(k["ticket"] == "UIT-7" and k["accepted"] for k in v["known_deviations"])
    assert "known deviation" in text and "UIT-7" in (run / "report.html").read_text()
    code, v, text = report("release.toml", written)                    # still findings under release
    assert code == 1 and all(f["known_deviation"] == "UIT-7" for f in v["findings"] if f["kind"] == "failed"), text
    text = written.read_text().replace("expires = ", "expires = 2001-01-01\n# was ")   # expired: accepts nothing
    (expired := tmp_path / "expired.toml").write_text(text)
    code, v, text = report("uit.toml", expired)
    assert code == 1 and v["baseline_expired_ignored"] and not v["known_deviations"], text
    extra = tmp_path / "stale.toml"                                    # a deviation that went away: stale
    extra.write_text(written.read_text() + '\n[[deviation]]\nrequirement = "MP107-R1.4"\ncomponent = "S1SP1"\n'
                     'scenario = "*S1SP1"\nreason = "fixed last week"\nticket = "UIT-8"\nexpires = 2099-01-01\n')
    code, v, text = report("uit.toml", extra)
    assert code == 1 and [f["kind"] for f in v["findings"] if f["waived_by"] is None and not f["accepted"]] == [
        "baseline stale"], text
    assert "baseline stale" in text and "UIT-8" in text


def test_an_expiry_date_is_read_the_same_way_for_a_deviation_and_a_waiver_only_the_error_differs():
    """One function (baseline.expiry_date) reads both files' `expires`: a TOML date, a date-time (its
    day) or a "YYYY-MM-DD" string; anything else is refused in the same words, by the file's own error."""
    for value, day in ((dt.date(2027, 1, 31), dt.date(2027, 1, 31)), (dt.datetime(2027, 1, 31, 23, 59), dt.date(2027, 1, 31)),
                       ("2027-01-31", dt.date(2027, 1, 31))):
        assert bl.expiry_date(value, "here") == day
        assert base(entry(expires=value)).deviations[0].expires == day
        assert gate.parse_policy({"policy": {"mandatory": []}, "waiver": [
            {"requirement": "MP107-R1.4", "reason": "r", "expires": value}]}, REQS).waivers[0].expires == day
    for value in ("2027-13-01", "soon", 20270131, None):
        with pytest.raises(bl.BaselineError) as caught:
            bl.parse({"deviation": [entry(expires=value)]}, set(REQS), "bad.toml")
        assert str(caught.value) == f"bad.toml: deviation 1: expires must be a date (YYYY-MM-DD), not {value!r}"
        with pytest.raises(gate.PolicyError) as caught:
            gate.parse_policy({"policy": {"mandatory": []}, "waiver": [
                {"requirement": "MP107-R1.4", "reason": "r", "expires": value}]}, REQS, "bad.toml")
        assert str(caught.value) == f"bad.toml: waiver 1: expires must be a date (YYYY-MM-DD), not {value!r}"


def test_baseline_errors_in_words():
    def refused(data) -> str:
        with pytest.raises(bl.BaselineError) as caught:
            bl.parse(data, set(REQS), "bad.toml")
        return str(caught.value)
    assert refused({"waiver": []}) == (
        "bad.toml: unknown top-level keys ['waiver'] (expected [baseline] and [[deviation]] entries)")
    assert refused({"deviation": {"requirement": "MP107-R1.4"}}) == "bad.toml: expected [[deviation]] entries"
    assert refused({"deviation": [entry(), {**entry(), "s1sp": "S1SP2"}]}) == (
        "bad.toml: deviation 2: unknown keys ['s1sp']; an entry has requirement, component, scenario, reason, "
        "ticket, expires")
    assert refused({"deviation": [entry(requirement="MP107-R9.9")]}) == (
        "bad.toml: deviation 1: requirement 'MP107-R9.9' is not in the catalogue")
    assert refused({"deviation": [entry(component="S1SP7")]}) == (
        "bad.toml: deviation 1: component must be one of DSP, S1SP1, S1SP2, S1SP3, SMETS2 device, Data fix, "
        "not 'S1SP7'")
    assert refused({"deviation": [entry(scenario_=" ")]}) == (
        "bad.toml: deviation 1: needs a scenario's full name, name or pattern (scenario = \"...\")")
    assert refused({"deviation": [entry(reason=None)]}) == "bad.toml: deviation 1: needs a reason (reason = \"...\")"
    assert refused({"deviation": [entry(ticket="")]}) == (
        "bad.toml: deviation 1: needs a reference to the ticket that tracks it (ticket = \"...\")")
    assert refused({"deviation": [{k: v for k, v in entry().items() if k != "expires"}]}) == (
        "bad.toml: deviation 1: needs an expiry date (expires = YYYY-MM-DD)")


def test_known_deviations_are_failures_the_baseline_lists_and_their_text_says_so():
    assert judge(failing_run(), pol=UIT).known_deviations == []                 # a failure, no baseline
    b = base(entry(component="S1SP1"), entry())                                 # the second entry matches
    result = judge(failing_run(), pol=UIT, baseline=b)
    assert result.baseline is b
    [known] = result.known_deviations
    assert known.text == "MP107-R1.4 failed on S1SP2 (S1SP2 gas) - known deviation (UIT-42)" and known.known == b.deviations[1]
    assert judge(full_pass(), pol=UIT, baseline=base(entry())).known_deviations == []     # stale is not a known deviation


def test_a_stale_entry_in_words():
    b = base(entry(scenario_="no such scenario"), entry(scenario_="*MP107-R1.4-*"))
    result = judge(full_pass(), pol=UIT, baseline=b)
    [stale] = result.findings
    assert (stale.requirement, stale.s1sp, stale.group, stale.kind, stale.cells, stale.known) == (
        "MP107-R1.4", "S1SP2", "S1SP2", "baseline stale", [], b.deviations[1])
    assert stale.text == "MP107-R1.4 on S1SP2: baseline stale - the known deviation (UIT-42) no longer fails"
    assert stale.scenarios == ["f.feature:MP107-R1.4-S1SP2-electricity", "f.feature:MP107-R1.4-S1SP2-gas"]
    assert stale.reason == ("2 scenario(s) the baseline expects to fail passed, e.g. "
                            "f.feature:MP107-R1.4-S1SP2-electricity; close UIT-42 and remove the entry from "
                            "test-baseline.toml")
    assert result.deviations_not_exercised == [b.deviations[0]]
    dsp = judge(full_pass(), pol=UIT, baseline=base(entry(requirement="MP107-R1.8", component="DSP",
                                                          scenario_="MP107-R1.8-any")))
    [stale] = dsp.findings
    assert (stale.s1sp, stale.group, stale.scenarios) == (None, "DSP", ["f.feature:MP107-R1.8-any"])


def test_an_entry_that_matched_a_failure_or_expired_is_never_stale_and_later_entries_still_are():
    b = base(entry(scenario_="*MP107-R1.4-S1SP2-*"), entry(requirement="MP107-R1.3", component="S1SP1",
                                                          scenario_="*R1.3-S1SP1-gas"))
    result = judge(failing_run(), pol=UIT, baseline=b)     # the first matches the failure, a sibling passed
    assert [(f.requirement, f.kind) for f in result.findings] == [("MP107-R1.4", "failed"), ("MP107-R1.3", "baseline stale")]
    gone = judge(full_pass(), pol=UIT, baseline=base(entry(expires=TODAY - dt.timedelta(days=1))))
    assert gone.findings == [] and gone.exit_code == 0 and [fs for _, fs in gone.deviations_expired] == [[]]
