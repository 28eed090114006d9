"""Known deviations of one target (a baseline): failures a UIT run against that target expects,
each with its reason, a ticket and an expiry date - like the OpenID conformance suite's
per-implementation expected failures, and unlike a waiver (per requirement and S1SP, policies/),
a baseline entry names the scenarios it expects to fail, and says so when they stop failing.

    [baseline]
    target = "DCC UIT environment 2"           # optional: what the baseline is for

    [[deviation]]
    requirement = "MP107-R1.4"                 # one catalogue ID
    component = "S1SP2"                        # DSP, S1SP1..S1SP3, SMETS2 device, Data fix
    scenario = "features/requirement1_correction.feature:*S1SP2"   # full name, name, or fnmatch pattern
    reason = "S1SP2 ships MP107 in its January release"
    ticket = "DCCUIT-1234"
    expires = 2027-01-31                       # the last day it holds

How the gate (conformance/gate.py) uses it, with `mp107 run|report --baseline FILE`:
- a failure of `requirement` on `component` in a scenario `scenario` matches is a **known
  deviation**: accepted under a policy with `known_deviations = "accepted"` (policies/uit.toml), still
  a finding under `"finding"` (policies/release.toml), where only a waiver lets it go;
- a deviation that matches no failure although a scenario it names ran and passed is a finding of its
  own, **baseline stale**: the deviation went away (fixed, or the test changed) and the baseline must say so;
- an **expired** deviation accepts nothing (the failure is an ordinary finding) and is listed;
- a deviation none of whose scenarios ran (not selected, skipped, not applicable) is listed, not judged;
- everything else is judged as without a baseline.
"""
from __future__ import annotations

import datetime as dt
import fnmatch
import tomllib
from dataclasses import dataclass
from pathlib import Path

COMPONENTS = ("DSP", "S1SP1", "S1SP2", "S1SP3", "SMETS2 device", "Data fix")
KEYS = ("requirement", "component", "scenario", "reason", "ticket", "expires")
DEFAULT_DAYS = 30
"""`mp107 baseline` without --expires: entries hold this many days from today"""


class BaselineError(Exception):
    """The baseline file is missing or invalid: the run cannot be judged against it."""


@dataclass(frozen=True)
class Deviation:
    requirement: str
    component: str
    scenario: str
    """a scenario's full name (`features/<file>.feature:<name>`), its name, or an fnmatch pattern over either"""
    reason: str
    ticket: str
    expires: dt.date

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def names(self, full_name: str) -> bool:
        """Whether this entry names the scenario `full_name` (`features/<file>.feature:<name>`)."""
        name = full_name.split(":", 1)[-1]
        return self.scenario in (full_name, name) or any(
            fnmatch.fnmatchcase(candidate, self.scenario) for candidate in (full_name, name))

    def matches(self, requirement: str, component: str | None, full_name: str) -> bool:
        return requirement == self.requirement and component == self.component and self.names(full_name)

    def describe(self) -> str:
        return (f"{self.requirement} on {self.component} in {self.scenario!r} ({self.ticket}, until "
                f"{self.expires}): {self.reason}")


@dataclass(frozen=True)
class Baseline:
    deviations: tuple[Deviation, ...]
    source: str
    target: str = ""


def expiry_date(value, where: str, error: type[Exception] = BaselineError) -> dt.date:
    """An `expires` value (a TOML date, a date-time, or a "YYYY-MM-DD" string) as a date; anything else
    raises `error` (BaselineError here, gate.PolicyError for a waiver) naming `where`."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise error(f"{where}: expires must be a date (YYYY-MM-DD), not {value!r}")


def parse(data: dict, requirement_ids, source: str = "baseline") -> Baseline:
    unknown = set(data) - {"baseline", "deviation"}
    if unknown:
        raise BaselineError(f"{source}: unknown top-level keys {sorted(unknown)} (expected [baseline] and "
                            f"[[deviation]] entries)")
    entries = data.get("deviation", [])
    if not isinstance(entries, list):
        raise BaselineError(f"{source}: expected [[deviation]] entries")
    out = []
    for i, entry in enumerate(entries, start=1):
        where = f"{source}: deviation {i}"
        extra = set(entry) - set(KEYS)
        if extra:
            raise BaselineError(f"{where}: unknown keys {sorted(extra)}; an entry has {', '.join(KEYS)}")
        if entry.get("requirement") not in requirement_ids:
            raise BaselineError(f"{where}: requirement {entry.get('requirement')!r} is not in the catalogue")
        if entry.get("component") not in COMPONENTS:
            raise BaselineError(f"{where}: component must be one of {', '.join(COMPONENTS)}, "
                                f"not {entry.get('component')!r}")
        texts = {}
        for key, why in (("scenario", "a scenario's full name, name or pattern"), ("reason", "a reason"),
                         ("ticket", "a reference to the ticket that tracks it")):
            value = entry.get(key)
            if not isinstance(value, str) or not value.strip():
                raise BaselineError(f"{where}: needs {why} ({key} = \"...\")")
            texts[key] = value.strip()
        if "expires" not in entry:
            raise BaselineError(f"{where}: needs an expiry date (expires = YYYY-MM-DD)")
        out.append(Deviation(entry["requirement"], entry["component"], texts["scenario"], texts["reason"],
                             texts["ticket"], expiry_date(entry["expires"], where)))
    head = data.get("baseline", {})
    return Baseline(tuple(out), source, str(head.get("target", "")) if isinstance(head, dict) else "")


def load(path: Path, requirement_ids) -> Baseline:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BaselineError(f"baseline file {path} not found") from exc
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BaselineError(f"baseline file {path}: {exc}") from exc
    return parse(data, requirement_ids, str(path))


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(ch if ch >= " " else f"\\u{ord(ch):04x}" for ch in escaped) + '"'


def render(deviations: list[Deviation], *, source: str, target: str = "") -> str:
    """A baseline file holding `deviations` (what `mp107 baseline` writes)."""
    lines = [f"# Known deviations (a baseline) written by `mp107 baseline` from {source}.",
             "# Use it with: mp107 run|report --baseline FILE. Each entry needs a ticket reference and an expiry",
             "# date; an entry without a ticket is refused. See conformance/baseline.py and docs/reports.md.", "",
             "[baseline]", f"target = {_toml_string(target)}"]
    for d in deviations:
        lines += ["", "[[deviation]]"]
        lines += [f"{key} = {_toml_string(getattr(d, key))}" for key in KEYS[:-1]]
        lines.append(f"expires = {d.expires.isoformat()}")
    return "\n".join(lines) + "\n"


def from_findings(findings, *, ticket: str = "", expires: dt.date) -> list[Deviation]:
    """One entry per failed scenario of each failure finding (gate.Finding: requirement, group,
    scenarios, reason), with the finding's one-line reason: what `mp107 baseline` writes."""
    out: dict[tuple, Deviation] = {}
    for f in findings:
        if f.kind != "failed":
            continue
        for scenario in f.scenarios:
            key = (f.requirement, f.group, scenario)
            out.setdefault(key, Deviation(f.requirement, f.group, scenario, f.reason or f.text, ticket, expires))
    return list(out.values())
