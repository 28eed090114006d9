"""The traceability matrix: requirement IDs (rows) against S1SP x fuel (columns), from scenario results.

Rules (they are what the report promises a test manager):
- a cell is **not covered** when no scenario traced to that requirement ran in that column;
- a skipped scenario never counts as passed: a cell whose scenarios were all skipped is **skipped**;
- a scenario the target's conformance statement rules out is **not applicable**, apart from skipped;
- a failed scenario fails only the requirements its failing step breaks, on the component that
  broke them (the step names both); the scenario's other requirements were **not reached** in it
  (`blocked`), which is neither a pass nor a finding of their own;
- a *known cause* (`known_cause`) names why a failure happened, where the signature says so.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from conformance.catalogue import Requirement

from .results import FUELS, ScenarioResult

S1SPS = ("S1SP1", "S1SP2", "S1SP3")
ANY = "any"

# Cell status, worst first; the words the report shows. "n/a": the requirement is traced only in the
# other kind of column (per-S1SP vs not S1SP-specific); "not run": an S1SP this run did not select.
CELL_ORDER = ("failed", "broken", "passed", "skipped", "blocked", "not applicable", "not covered")
BLOCKED = "blocked"
NOT_APPLICABLE, NOT_RUN = "n/a", "not run"

COORDINATION_REQUIREMENTS = ("MP107-R1.2", "MP107-R1.4", "MP107-R1.5", "MP107-R1.6")


@dataclass(frozen=True)
class Column:
    s1sp: str | None
    fuel: str | None

    @property
    def key(self) -> str:
        return f"{self.s1sp}-{self.fuel}" if self.s1sp else ANY

    @property
    def label(self) -> str:
        return f"{self.s1sp} {self.fuel}" if self.s1sp else "not S1SP-specific"


COLUMNS = tuple(Column(s, f) for s in S1SPS for f in FUELS) + (Column(None, None),)


@dataclass(frozen=True)
class Cause:
    """A known reason for a scenario's failure, named in the report."""
    requirement: str          # the catalogue requirement that names the risk
    title: str                # what the report says
    actor: str                # the catalogue actor at fault ("S1SP", ...)
    s1sp: str | None
    implicated: tuple[str, ...]   # the scenario's requirements that this failure belongs to


def known_cause(scenario: ScenarioResult) -> Cause | None:
    """Name the cause of a failure where it is known.

    MP107-R1.10 (FIA risk MP107-R1): against an S1SP that has not implemented MP107, the wrong NO's
    6.15.1 is acknowledged (I99) by the DSP and then rejected by the S1SP with S1VE4. That S1SP's
    R1.2 and R1.4-R1.6 scenarios then fail with exactly this signature.
    """
    if scenario.status != "failed" or not scenario.s1sp:
        return None
    implicated = tuple(r for r in scenario.requirements if r in COORDINATION_REQUIREMENTS)
    if not implicated:
        return None
    text = scenario.message
    if re.search(r"\bI99\b", text) and re.search(r"\bS1VE4\b", text):
        return Cause("MP107-R1.10",
                     f"R1.10: DSP and S1SP releases not coordinated ({scenario.s1sp} has not implemented MP107)",
                     "S1SP", scenario.s1sp, implicated)
    return None


@dataclass
class Entry:
    """One scenario's verdict for one requirement in one cell."""
    scenario: ScenarioResult
    status: str
    note: str = ""
    component: str | None = None
    """failed: the component whose answer broke the requirement"""


@dataclass
class Cell:
    requirement: str
    column: Column
    entries: list[Entry] = field(default_factory=list)
    empty_status: str = "not covered"     # what an empty cell shows: not covered, n/a, not run

    @property
    def status(self) -> str:
        if not self.entries:
            return self.empty_status
        statuses = {e.status for e in self.entries}
        for s in ("failed", "broken", "passed", "skipped", BLOCKED, "not applicable"):
            if s in statuses:
                return s
        return "not covered" if not self.entries or statuses <= {"unknown"} else "broken"

    @property
    def executed(self) -> bool:
        return any(e.status in ("passed", "failed", "broken") for e in self.entries)

    @property
    def id(self) -> str:
        return f"cell-{self.requirement}-{self.column.key}"

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e.status == status)

    @property
    def notes(self) -> list[str]:
        return sorted({e.note for e in self.entries if e.note})


@dataclass
class Row:
    requirement: Requirement
    cells: dict[str, Cell]

    @property
    def id(self) -> str:
        return f"req-{self.requirement.id}"

    @property
    def status(self) -> str:
        statuses = [c.status for c in self.cells.values() if c.entries]
        for s in CELL_ORDER:
            if s in statuses:
                if s == "skipped" and "passed" in statuses:
                    continue
                return s
        return "not covered"

    @property
    def executed(self) -> bool:
        return any(c.executed for c in self.cells.values())


@dataclass
class Matrix:
    rows: dict[str, Row]
    scenarios: list[ScenarioResult]
    causes: dict[str, Cause]                 # scenario uuid -> cause
    unknown_requirements: dict[str, list[ScenarioResult]]
    untraced: list[ScenarioResult]           # scenarios tagged with no requirement at all

    def cell(self, requirement: str, column_key: str) -> Cell:
        return self.rows[requirement].cells[column_key]

    def cause_summary(self) -> dict[str, list[ScenarioResult]]:
        out: dict[str, list[ScenarioResult]] = {}
        for sc in self.scenarios:
            cause = self.causes.get(sc.uuid)
            if cause:
                out.setdefault(cause.title, []).append(sc)
        return out


def columns_of(scenario: ScenarioResult) -> list[Column]:
    """The cells a scenario lands in: its S1SP and fuel; an S1SP scenario with no fuel in both fuels
    of that S1SP; a scenario with no S1SP in the 'not S1SP-specific' column."""
    if scenario.s1sp in S1SPS:
        fuels = [scenario.fuel] if scenario.fuel else list(FUELS)
        return [Column(scenario.s1sp, f) for f in fuels]
    return [Column(None, None)]


def build(scenarios: list[ScenarioResult], requirements: dict[str, Requirement],
          selected_s1sps: tuple[str, ...] = S1SPS) -> Matrix:
    rows = {rid: Row(req, {c.key: Cell(rid, c) for c in COLUMNS}) for rid, req in requirements.items()}
    causes: dict[str, Cause] = {}
    unknown: dict[str, list[ScenarioResult]] = {}
    untraced = []
    for sc in scenarios:
        cause = known_cause(sc)
        if cause:
            causes[sc.uuid] = cause
        if not sc.requirements:
            untraced.append(sc)
        attributed = sc.status == "failed" and bool(sc.violated)
        for rid in dict.fromkeys([*sc.requirements, *(sc.violated if attributed else [])]):
            if rid not in rows:
                unknown.setdefault(rid, []).append(sc)
                continue
            status, note, component = sc.status, "", None
            if attributed:
                if rid in sc.violated:
                    component = sc.component
                    note = cause.title if cause else ""
                else:
                    status = BLOCKED
                    note = f"not reached: the scenario failed earlier, on {sc.component}'s part"
            elif cause:
                note = cause.title
            for col in columns_of(sc):
                rows[rid].cells[col.key].entries.append(Entry(sc, status, note, component))
    for row in rows.values():
        per_s1sp = any(c.entries for c in row.cells.values() if c.column.s1sp)
        general = bool(row.cells[ANY].entries)
        for cell in row.cells.values():
            if cell.entries:
                continue
            if cell.column.s1sp and cell.column.s1sp not in selected_s1sps:
                cell.empty_status = NOT_RUN
            elif (cell.column.s1sp and general and not per_s1sp) or (not cell.column.s1sp and per_s1sp):
                cell.empty_status = NOT_APPLICABLE
    return Matrix(rows, scenarios, causes, unknown, untraced)
