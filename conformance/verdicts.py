"""The words a scenario's result carries beyond pass/fail, shared by the steps that write them and
the reports that read them (JUnit and Allure know only passed, failed, broken and skipped).

- **not applicable**: the target's conformance statement rules the scenario out; it is reported
  and counted apart from *skipped* (applicable, but it could not run here) and never as passed.
  It travels as a skip whose reason starts with NOT_APPLICABLE_PREFIX.
- **component** and **violated requirements**: a failed step names the component whose answer
  broke the rule (the DSP, an S1SP, the SMETS2 device, the data fix) and the requirements it
  breaks; they travel as Allure labels and JUnit properties.
"""
from __future__ import annotations

NOT_APPLICABLE_PREFIX = "not applicable: "
COMPONENT_LABEL = "mp107_component"
VIOLATED_LABEL = "mp107_violated"
STEP_LABEL = "mp107_step"
OBSERVED_LABEL = "mp107_observed"
"""one per Service Request of a scenario, in order: what came back, as JSON (adapters/observations.py)"""

DSP, SMETS2_DEVICE, DATA_FIX = "DSP", "SMETS2 device", "Data fix"
S1SPS = ("S1SP1", "S1SP2", "S1SP3")
COMPONENTS = (DSP, *S1SPS, SMETS2_DEVICE, DATA_FIX)


def is_not_applicable(message: str | None) -> bool:
    """Whether a skip reason (as pytest, JUnit or Allure keep it) marks a not-applicable scenario."""
    if not message:
        return False
    first = message.strip().splitlines()[0] if message.strip() else ""
    return NOT_APPLICABLE_PREFIX in first
