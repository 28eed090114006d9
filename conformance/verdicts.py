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

import re

NOT_APPLICABLE_PREFIX = "not applicable: "
COMPONENT_LABEL = "mp107_component"
VIOLATED_LABEL = "mp107_violated"
STEP_LABEL = "mp107_step"

DSP, SMETS2_DEVICE, DATA_FIX = "DSP", "SMETS2 device", "Data fix"
S1SPS = ("S1SP1", "S1SP2", "S1SP3")
COMPONENTS = (DSP, *S1SPS, SMETS2_DEVICE, DATA_FIX)


def is_not_applicable(message: str | None) -> bool:
    """Whether a skip reason (as pytest, JUnit or Allure keep it) marks a not-applicable scenario."""
    if not message:
        return False
    first = message.strip().splitlines()[0] if message.strip() else ""
    return NOT_APPLICABLE_PREFIX in first


REASON_CHARS = 300
_EXCEPTION_PREFIX = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?(?:Violation|AssertionError|Failed|TargetFault)\s*:\s*")
_HEAD = re.compile(r"^\[(?P<component>.+?) broke (?P<requirements>[^\]]+?)(?: at '(?P<step>.*)')?\]$")
_REQUEST_ID = re.compile(r"\bRequestID (?P<rid>[0-9A-Fa-f-]+:[0-9A-Fa-f-]+:\d+)")
_GOT = ("acknowledgement:", "final outcome:", "the target broke instead of answering:")


def reason_line(message: str | None, limit: int = REASON_CHARS) -> str:
    """One line saying why a scenario failed, from its failure message (the `explain()` paragraph a
    step's Violation carries: `[C broke R at 'step']`, what was sent with its RequestID, `expected:`,
    then the acknowledgement and final outcome): "at 'step': expected X; got Y; RequestID Z". A
    message of another shape gives its first line. For a CI log, a dashboard, verdict.json."""
    lines = [line.strip() for line in (message or "").strip().splitlines() if line.strip()]
    if not lines:
        return ""
    lines[0] = _EXCEPTION_PREFIX.sub("", lines[0])
    head = _HEAD.match(lines[0])
    body = lines[1:] if head else lines
    expected = next((line.split(":", 1)[1].strip() for line in body if line.startswith("expected:")), None)
    got = [line for line in body if line.startswith(_GOT)]
    rid = _REQUEST_ID.search(message or "")
    parts = []
    if expected is None:
        parts.append(body[0] if body else lines[0])
    else:
        parts.append(f"expected {expected}")
        if got:
            parts.append("got " + ", ".join(line.replace(":", "", 1) for line in got))
        elif body and not body[0].startswith("expected:"):
            sent = body[0]           # what was asked and answered on one line (an HTTP call), or what was sent
            parts.append(f"got {sent}" if not _REQUEST_ID.search(sent) else
                         f"sent {_REQUEST_ID.sub('', sent).rstrip(', ')}")
    tail = f"; RequestID {rid['rid']}" if rid and rid["rid"] not in " ".join(parts) else ""
    text = " ".join("; ".join(parts).split())
    if head and head["step"]:
        text = f"at '{head['step']}': {text}"
    room = max(limit - len(tail), limit // 2)        # the RequestID is kept whole: it is what one looks up
    if len(text) > room:
        text = text[: room - 1].rstrip() + "…"
    return text + tail
