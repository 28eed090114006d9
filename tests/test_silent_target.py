"""Give up on a silent target quickly (adapters/silence.py): after five outcome waits in a row in
which nothing verifiable arrived, the harness stops waiting; the remaining scenarios that need an
outcome are broken with that cause and the run ends NOT JUDGED, naming the unanswered RequestIDs and
what did arrive. Asserted on verdicts and counts, never on timings. Per pytest process: under
pytest-xdist each worker gives up after its own five."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.silence import GIVE_UP_AFTER, OutcomeWaits
from adapters.target import Outcome, TargetFault

ROOT = Path(__file__).resolve().parents[1]


class Receiver:
    def __init__(self):
        self.arrivals = []


class Silent:
    """A target whose outcomes never come; each wait 'sees' an outcome under another RequestID."""

    def __init__(self, answer=()):
        self.receiver, self.calls, self.answer = Receiver(), [], set(answer)

    def await_outcome(self, request_id, timeout):
        import time
        self.calls.append(request_id)
        if request_id in self.answer:
            return Outcome(request_id, b"<Response/>", None)
        self.receiver.arrivals.append((time.time(), f"other-{request_id}", "a verified outcome"))
        raise TargetFault(f"{request_id}: no final outcome within {timeout:g} s")


def test_five_silent_waits_in_a_row_and_the_harness_stops_waiting_naming_them_and_what_came():
    waits, target = OutcomeWaits(), Silent()
    for n in range(GIVE_UP_AFTER):
        with pytest.raises(TargetFault, match=f"r{n}: no final outcome"):
            waits.await_outcome(target, f"r{n}", 10)
    with pytest.raises(TargetFault, match="r5: outcome not awaited: the harness stopped waiting") as later:
        waits.await_outcome(target, "r5", 10)
    assert target.calls == [f"r{n}" for n in range(GIVE_UP_AFTER)]         # r5 was never waited for
    assert all(f"r{n}" in str(later.value) for n in range(GIVE_UP_AFTER))
    assert "a verified outcome for RequestID other-r0" in str(later.value)
    report = waits.report()
    assert (report["waits"], report["answered"], report["not_waited"]) == (GIVE_UP_AFTER, 0, 1)


def test_an_outcome_that_arrives_resets_the_count():
    waits, target = OutcomeWaits(), Silent(answer={"ok"})
    for rid in ["a", "b", "c", "d", "ok", "e", "f", "g", "h"]:
        try:
            waits.await_outcome(target, rid, 1)
        except TargetFault:
            pass
    assert waits.gave_up is None and len(target.calls) == 9
    with pytest.raises(TargetFault):
        waits.await_outcome(target, "i", 1)
    assert waits.gave_up is not None and "e, f, g, h, i" in waits.gave_up


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT.parent / "shared" / "duis" / "schema").is_dir(),
                    reason="../shared/duis/schema (DUIS Schema V5.4) is absent")
def test_a_target_whose_outcomes_carry_another_request_id_ends_not_judged_after_five_waits(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "mp107", "run", "--target", "local", "--workers", "0", "--out", str(out),
                           "-q", "--", "--reference-defect", "outcome-carries-another-request-id",
                           "--outcome-timeout", "2"], cwd=ROOT, capture_output=True, text=True, timeout=900,
                          stdin=subprocess.DEVNULL)
    text = proc.stdout + proc.stderr[-3000:]
    assert proc.returncode == 2, text
    verdict = json.loads((out / "verdict.json").read_text())
    waits = json.loads((out / "run-info.json").read_text())["outcome_waits"]
    assert verdict["verdict"] == "NOT JUDGED" and not verdict["findings"], text
    # exactly five waits went unanswered; every later outcome was not waited for
    assert waits["waits"] - waits["answered"] == GIVE_UP_AFTER and len(waits["unanswered"]) == GIVE_UP_AFTER
    assert waits["not_waited"] > 100 and verdict["counts"]["broken"] > 100 and verdict["counts"]["failed"] == 0
    [silent] = [line for line in verdict["not_judged"] if line.startswith("silent target:")]
    assert all(rid in silent for rid in waits["unanswered"])
    assert "what did arrive meanwhile: " in silent and "outcome" in silent.split("what did arrive meanwhile: ")[1]
    assert "silent target:" in proc.stderr
