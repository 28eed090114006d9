"""The kill matrix as a test (issue: prove the gate can fail): every named defect of the reference
(`python -m reference defects`) is run through the whole suite by `mp107 run` - over HTTP as a
foreign target where a user could see it from outside, in-process where only a staged state shows
it, the data-fix PIT where only that sees it - and must be killed: exit 1 (2 where its outcomes
cannot be read), every failing scenario carrying one of its requirements, every finding on its
component. The correct reference gives exit 0 and no finding in every mode. Removing the only
scenario that kills a defect makes its case fail. The runs go three at a time
(mp107/killmatrix.py); `mp107 kill-matrix --readme` regenerates README's table the same way."""
from __future__ import annotations

from pathlib import Path

import pytest

from mp107 import killmatrix

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (ROOT.parent / "shared" / "duis" / "schema").is_dir(),
                                reason="../shared/duis/schema (DUIS Schema V5.4) is absent")]

DEFECTS = killmatrix.load_defects()


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    return killmatrix.run_matrix(DEFECTS, jobs=3, workdir=tmp_path_factory.mktemp("kill-matrix"))


def test_at_least_twenty_named_defects_beyond_the_rule_breaks():
    assert len(DEFECTS) >= 20
    assert {d.mode for d in DEFECTS} == {"foreign", "in-process", "pit"}


@pytest.mark.parametrize("mode", sorted({d.mode for d in DEFECTS}))
def test_the_correct_reference_has_no_finding(matrix, mode):
    result = matrix[f"{mode} {killmatrix.CORRECT}"]
    ok, why = result.killed(None)
    assert ok, f"{why}: {result.note}"


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.name)
def test_the_gate_kills_the_defect_on_its_component(matrix, defect):
    result = matrix[defect.name]
    ok, why = result.killed(defect)
    assert ok, (f"{defect.name} ({defect.component}: {', '.join(defect.requirements)}; run {result.mode}) not "
                f"killed: {why}\n  {result.note}\n  findings on {result.components}: {result.requirements}")
