"""A run of part of the suite (pytest -k, -m, --deselect, node IDs) against a correct target is
INCOMPLETE (exit 2), never NOT CONFORMANT (issue 20, ruling): what the subset left out was left out on
purpose, so a requirement it did not reach is not judged, and blocks a pass. A real failure inside the
subset is still a finding."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import gate
from reports import matrix
from tests.test_gate import REQS, TODAY, full_pass, policy, scenario

ROOT = Path(__file__).resolve().parents[1]


def judge(scenarios, subset):
    m = matrix.build(scenarios, REQS, matrix.S1SPS)
    return gate.evaluate(m, REQS, policy(), tagged=set(REQS), today=TODAY, subset=subset)


def part_of_a_full_pass():
    return [s for s in full_pass() if s.s1sp in (None, "S1SP1") and s.name.startswith("MP107-R1.")]


def test_a_subset_that_passes_is_incomplete_not_a_finding():
    result = judge(part_of_a_full_pass(), "-k S1SP1")
    assert not result.open_findings, [f.text for f in result.open_findings]
    assert result.exit_code == 2 and result.verdict == "INCOMPLETE"
    assert any("subset" in line and "-k S1SP1" in line for line in result.incomplete)


def test_the_same_results_as_the_whole_suite_are_not_covered_findings():
    result = judge(part_of_a_full_pass(), None)
    assert result.exit_code == 1 and {f.kind for f in result.open_findings} == {"not covered"}


def test_a_failure_inside_a_subset_is_still_a_finding():
    scs = part_of_a_full_pass()
    scs = [s for s in scs if s.name != "MP107-R1.4-S1SP1-electricity"] + [
        scenario("MP107-R1.4-S1SP1-electricity", "failed", ["MP107-R1.4"], "S1SP1", "electricity", "expected I0")]
    result = judge(scs, "-k S1SP1")
    assert result.exit_code == 1 and [f.kind for f in result.open_findings] == ["failed"]


# How run-info's pytest arguments are read as a subset (collect.subset_of): tests/test_collect.py, which
# mutation testing of reports/collect.py runs (this file has a slow test, so it is not among them).


@pytest.mark.slow
def test_a_k_subset_against_the_correct_reference_is_incomplete(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "mp107", "run", "--target", "local", "--out", str(out), "-q",
                           "--", "-k", "R1.7 or R1.8"], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["verdict"] == "INCOMPLETE" and not [f for f in verdict["findings"] if not f["waived_by"]]
