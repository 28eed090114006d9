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
from reports import collect, matrix
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


@pytest.mark.parametrize("args, shown", [
    (["features", "-n", "auto", "-k", "S1SP1"], "-k S1SP1"),
    (["features", "-kS1SP1"], "-k S1SP1"),
    (["features", "-m", "MP107-R3.1"], "-m MP107-R3.1"),
    (["features", "--deselect=features/test_scenarios.py::x"], "--deselect features/test_scenarios.py::x"),
    (["features/test_scenarios.py::test_a"], "features/test_scenarios.py::test_a"),
    (["features", "-p", "no:cacheprovider", "--s1sp", "all", "-n", "auto"], None),
])
def test_what_counts_as_a_subset(args, shown):
    assert collect.subset_of({"args": args}) == shown


@pytest.mark.parametrize("args, shown", [
    (["features", "-k=S1SP1"], "-k S1SP1"),                          # -k=EXPR, as argparse also allows
    (["features", "-k="], "-k"),                                      # an empty value is not the next argument
    (["features", "-m", "slow", "-x"], "-m slow"),
    (["features", "-mslow"], "-m slow"),
    (["features", "-kA"], "-k A"),                                    # the shortest glued form
    (["features", "--deselect", "features/t.py::a"], "--deselect features/t.py::a"),
    (["features", "-k"], "-k"),                                       # the last argument, its value missing
    (["-n", "2", "-m"], "-m"),
    (["--lf", "features/t.py::a"], "--lf, features/t.py::a"),         # --lf takes no value
    (["features", "--last-failed", "-x"], "--last-failed"),
    (["--sw", "-x"], "--sw"),
    (["--stepwise"], "--stepwise"),
    (["-k", "S1SP1", "-m", "gas", "a.py::t"], "-k S1SP1, -m gas, a.py::t"),
    (["--rootdir=a::b", "-p", "no:cacheprovider"], None),             # an option's value is not a node ID
    (["features", "-x", "-v"], None),
    ([], None),
])
def test_each_way_a_subset_is_spelled(args, shown):
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


@pytest.mark.slow
def test_a_k_subset_against_the_correct_reference_is_incomplete(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "mp107", "run", "--target", "local", "--out", str(out), "-q",
                           "--", "-k", "R1.7 or R1.8"], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["verdict"] == "INCOMPLETE" and not [f for f in verdict["findings"] if not f["waived_by"]]
