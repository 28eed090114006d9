"""Read a run's results: the Allure result files (the source of truth) and the JUnit XML (a cross-check).

Each `*-result.json` that allure-pytest-bdd writes is one scenario: its labels carry the requirement
IDs (`story`, each starting with the ID; `epic` is the requirement group) and the S1SP and fuel
(`tag`, also `parameters`), its `status` is one of passed, failed, broken, skipped (or unknown),
`statusDetails.message` holds the failure text (the `explain()` paragraph), and its steps carry
their own status and attachments (request / acknowledgement / outcome XML) stored as files beside it.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from conformance import catalogue, verdicts

NOT_APPLICABLE = "not applicable"
STATUSES = ("passed", "failed", "broken", "skipped", NOT_APPLICABLE, "unknown")
S1SP_NAME = re.compile(r"S1SP\d+")
FUELS = ("electricity", "gas")
MAX_ATTACHMENT_CHARS = 200_000


class ResultsError(Exception):
    """The results folder cannot be read (missing, or a result file is not Allure JSON)."""


@dataclass
class Attachment:
    name: str
    source: str
    type: str
    path: Path

    def text(self) -> str:
        """The attachment's content as text (XML and plain text), shortened if huge."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            return f"(attachment file {self.source} could not be read: {exc})"
        text = data.decode("utf-8", errors="replace")
        if len(text) > MAX_ATTACHMENT_CHARS:
            text = text[:MAX_ATTACHMENT_CHARS] + f"\n... ({len(text) - MAX_ATTACHMENT_CHARS} more characters)"
        return text

    def display(self) -> str:
        """What the report shows: an XML attachment pretty-printed, one element a line and indented
        (the harness writes its requests that way; a target's acknowledgements and outcomes arrive
        signed on one line), anything else as it is. Display only: the file keeps the bytes the
        signature covers."""
        text = self.text()
        is_xml = "xml" in self.type.lower() or self.kind != "other"
        return pretty_xml(text) if is_xml else text

    @property
    def kind(self) -> str:
        """request / acknowledgement / outcome / other, from the name steps/scenario_state.py gives it."""
        head = self.name.split(":", 1)[0].split(" ", 1)[0].lower()
        return head if head in ("request", "acknowledgement", "outcome") else "other"


_XML_DECLARATION = re.compile(r"\A\s*(<\?xml\b[^>]*\?>)")
_DTD = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def pretty_xml(text: str) -> str:
    """`text` indented one element a line, its XML declaration kept; unchanged if it is not
    well-formed XML, was shortened (MAX_ATTACHMENT_CHARS), or declares a DTD or entities (hostile
    input is evidence: shown as sent, never expanded)."""
    if len(text) > MAX_ATTACHMENT_CHARS or _DTD.search(text):
        return text
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, load_dtd=False, no_network=True,
                             huge_tree=False)
    declaration = _XML_DECLARATION.match(text)
    body = text[declaration.end():] if declaration else text
    try:
        root = etree.fromstring(body.strip().encode("utf-8"), parser)
    except (etree.XMLSyntaxError, ValueError):
        return text
    pretty = etree.tostring(root.getroottree(), encoding="unicode", pretty_print=True).rstrip("\n")
    return f"{declaration.group(1)}\n{pretty}" if declaration else pretty


@dataclass
class Step:
    name: str
    status: str
    message: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    steps: list["Step"] = field(default_factory=list)
    parameters: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ScenarioResult:
    uuid: str
    name: str
    full_name: str
    feature: str
    status: str
    message: str
    trace: str
    requirements: list[str]
    s1sp: str | None
    fuel: str | None
    parameters: dict[str, str]
    steps: list[Step]
    attachments: list[Attachment]
    start: int | None
    stop: int | None
    file: str
    anchor: str = ""
    component: str | None = None
    """a failed scenario: the component whose answer broke the rule (the failing step says)"""
    violated: list[str] = field(default_factory=list)
    """a failed scenario: the requirements that step breaks"""
    failed_step: str = ""
    observed: list[dict] = field(default_factory=list)
    """per Service Request, in order: what came back (adapters/observations.py; `mp107 diff` compares it)"""

    @property
    def duration_s(self) -> float | None:
        if self.start is None or self.stop is None:
            return None
        return max(0, self.stop - self.start) / 1000

    @property
    def executed(self) -> bool:
        """Whether the scenario ran to a verdict of its own (a skipped one did not)."""
        return self.status in ("passed", "failed", "broken")

    def all_attachments(self) -> list[Attachment]:
        out = list(self.attachments)

        def walk(steps):
            for s in steps:
                out.extend(s.attachments)
                walk(s.steps)
        walk(self.steps)
        return out


def _attachments(raw: list | None, folder: Path) -> list[Attachment]:
    return [Attachment(a.get("name", a.get("source", "")), a.get("source", ""), a.get("type", ""),
                       folder / a.get("source", "")) for a in raw or []]


def _steps(raw: list | None, folder: Path) -> list[Step]:
    steps = []
    for s in raw or []:
        details = s.get("statusDetails") or {}
        params = [(p.get("name", ""), str(p.get("value", ""))) for p in s.get("parameters") or []]
        steps.append(Step(s.get("name", ""), s.get("status", "unknown"), details.get("message") or "",
                          _attachments(s.get("attachments"), folder), _steps(s.get("steps"), folder), params))
    return steps


def _label(labels: list[dict], name: str) -> list[str]:
    return [lab.get("value", "") for lab in labels if lab.get("name") == name]


def parse_result(path: Path) -> ScenarioResult:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: not a readable Allure result: {exc}") from exc
    labels = raw.get("labels") or []
    params = {p.get("name", ""): str(p.get("value", "")) for p in raw.get("parameters") or []}
    tags = _label(labels, "tag")
    # Requirement IDs: the story labels ("MP107-R1.4 The wrong NO ...", or the bare ID), and (belt and
    # braces) any requirement tag.
    reqs: list[str] = []
    stories = [catalogue.requirement_id(value) or value for value in _label(labels, "story")]
    for value in stories + catalogue.requirement_tags(tags):
        if value not in reqs:
            reqs.append(value)
    s1sp = params.get("s1sp") or next((t for t in tags if S1SP_NAME.fullmatch(t)), None)
    fuel = params.get("fuel") or next((t for t in tags if t in FUELS), None)
    details = raw.get("statusDetails") or {}
    status = raw.get("status") or "unknown"
    if status not in STATUSES:
        status = "unknown"
    if status == "skipped" and verdicts.is_not_applicable(details.get("message")):
        status = NOT_APPLICABLE
    feature = next(iter(_label(labels, "feature")), "") or (raw.get("fullName", "").split(":", 1)[0])
    return ScenarioResult(
        uuid=raw.get("uuid", path.stem), name=raw.get("name", ""), full_name=raw.get("fullName", ""),
        feature=feature, status=status, message=details.get("message") or "", trace=details.get("trace") or "",
        requirements=reqs, s1sp=s1sp, fuel=fuel if fuel in FUELS else None, parameters=params,
        steps=_steps(raw.get("steps"), path.parent), attachments=_attachments(raw.get("attachments"), path.parent),
        start=raw.get("start"), stop=raw.get("stop"), file=path.name,
        component=next(iter(_label(labels, verdicts.COMPONENT_LABEL)), None),
        violated=list(dict.fromkeys(rid for value in _label(labels, verdicts.VIOLATED_LABEL)
                                    for rid in value.removeprefix("violated:").split())),
        failed_step=next(iter(_label(labels, verdicts.STEP_LABEL)), ""),
        observed=[_json_or_text(value) for value in _label(labels, verdicts.OBSERVED_LABEL)])


def _json_or_text(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return {"unreadable": value}


def load_allure(folder: Path) -> list[ScenarioResult]:
    """Every scenario result in an Allure results folder, in a stable order, with an in-page anchor each."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ResultsError(f"{folder}: no Allure results folder")
    results = [parse_result(p) for p in sorted(folder.glob("*-result.json"))]
    results.sort(key=lambda r: (r.full_name.split(":", 1)[0], r.start or 0, r.name))
    for i, r in enumerate(results, start=1):
        r.anchor = f"sc-{i}"
    return results


@dataclass
class JUnitSummary:
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    error_cases: list[str] = field(default_factory=list)
    """'classname::name: message' of each test case with an <error> (a broken set-up or tear-down)."""


def load_junit(path: Path) -> JUnitSummary | None:
    """Counts from a JUnit XML file (None if it is absent); raises ResultsError if it is not XML."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ResultsError(f"{path}: not JUnit XML: {exc}") from exc
    out = JUnitSummary()
    for case in root.iter("testcase"):
        out.tests += 1
        if case.find("failure") is not None:
            out.failures += 1
        if case.find("skipped") is not None:
            out.skipped += 1
        error = case.find("error")
        if error is not None:
            out.errors += 1
            out.error_cases.append(f"{case.get('classname', '')}::{case.get('name', '')}: "
                                   f"{(error.get('message') or '').strip()[:300]}")
    # A collection error is reported as a testsuite-level <error> testcase too; counted above.
    return out
