"""The release gate: a policy (TOML) says which requirements are mandatory and which findings are
waived until when; `evaluate` turns a traceability matrix into a verdict and an exit code.

Policy file:

    [policy]
    name = "release"
    mandatory = ["MP107-R1.*", "MP107-R3.*", "MP107-R4.*"]   # fnmatch patterns over catalogue IDs
    mandatory_if_tagged = ["MP107-R2.*"]   # mandatory once a scenario in features/ is tagged with it

    [[waiver]]
    requirement = "MP107-R1.4"
    s1sp = "S1SP2"          # S1SP1, S1SP2, S1SP3, or "*" (every column, and coverage)
    reason = "S1SP2 release 4.2 due 2027-01-15; signed off by the programme"
    expires = 2027-01-31    # last day the waiver holds; from the day after it no longer waives

Gate rules, for each mandatory requirement:
- a failed cell is a finding (waivable for that cell's S1SP; a cell of the not-S1SP-specific
  column only by a "*" waiver);
- no executed scenario at all is a finding: "not covered", or "only skipped" when scenarios ran
  but were all skipped (waivable by a "*" waiver);
- actor S1SP: for each S1SP the run selected and each fuel, the cell must have an executed
  scenario, else a finding (waivable for that S1SP).
A broken scenario (a target fault or harness error) is not a verdict: the run cannot be judged.
Exit codes: 0 conformant, 1 not conformant, 2 could not be judged.
"""
from __future__ import annotations

import datetime as dt
import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from mp107.catalogue import Requirement

S1SPS = ("S1SP1", "S1SP2", "S1SP3")
DEFAULT_POLICY = Path(__file__).resolve().parent.parent / "policies" / "release.toml"
BUILTIN_POLICY = {
    "name": "release (built-in default)",
    "mandatory": ["MP107-R1.*", "MP107-R3.*", "MP107-R4.*"],
    "mandatory_if_tagged": ["MP107-R2.*"],
}

EXIT_CONFORMANT, EXIT_NOT_CONFORMANT, EXIT_NOT_JUDGED = 0, 1, 2
VERDICTS = {EXIT_CONFORMANT: "CONFORMANT", EXIT_NOT_CONFORMANT: "NOT CONFORMANT", EXIT_NOT_JUDGED: "NOT JUDGED"}


class PolicyError(Exception):
    """The policy file is missing or invalid: the run cannot be judged against it."""


@dataclass(frozen=True)
class Waiver:
    requirement: str
    s1sp: str            # "S1SP1".."S1SP3" or "*"
    reason: str
    expires: dt.date

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def covers(self, finding: "Finding") -> bool:
        return self.requirement == finding.requirement and (self.s1sp == "*" or self.s1sp == finding.s1sp)

    def describe(self) -> str:
        return f"{self.requirement} for {'every S1SP' if self.s1sp == '*' else self.s1sp} until {self.expires}: {self.reason}"


@dataclass
class Policy:
    name: str
    mandatory: list[str]
    mandatory_if_tagged: list[str] = field(default_factory=list)
    waivers: list[Waiver] = field(default_factory=list)
    source: str = "built-in"

    def mandatory_ids(self, requirements: dict[str, Requirement], tagged: set[str]) -> list[str]:
        out = []
        for rid in requirements:
            if any(fnmatch.fnmatchcase(rid, p) for p in self.mandatory):
                out.append(rid)
            elif rid in tagged and any(fnmatch.fnmatchcase(rid, p) for p in self.mandatory_if_tagged):
                out.append(rid)
        return out


def _date(value, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise PolicyError(f"{where}: expires must be a date (YYYY-MM-DD), not {value!r}")


def parse_policy(data: dict, requirements: dict[str, Requirement], source: str = "built-in") -> Policy:
    head = data.get("policy", data)
    unknown_keys = set(data) - {"policy", "waiver"}
    if "policy" in data and unknown_keys:
        raise PolicyError(f"{source}: unknown top-level keys {sorted(unknown_keys)}")
    mandatory = head.get("mandatory")
    if not isinstance(mandatory, list) or not all(isinstance(p, str) for p in mandatory):
        raise PolicyError(f"{source}: [policy] mandatory must be a list of requirement IDs or patterns")
    if_tagged = head.get("mandatory_if_tagged", [])
    if not isinstance(if_tagged, list) or not all(isinstance(p, str) for p in if_tagged):
        raise PolicyError(f"{source}: [policy] mandatory_if_tagged must be a list of requirement IDs or patterns")
    for pattern in mandatory + if_tagged:
        if not any(fnmatch.fnmatchcase(rid, pattern) for rid in requirements):
            raise PolicyError(f"{source}: {pattern!r} names no requirement in the catalogue")
    waivers = []
    for i, w in enumerate(data.get("waiver", []), start=1):
        where = f"{source}: waiver {i}"
        rid = w.get("requirement")
        if rid not in requirements:
            raise PolicyError(f"{where}: requirement {rid!r} is not in the catalogue")
        s1sp = w.get("s1sp", "*")
        if s1sp not in S1SPS + ("*",):
            raise PolicyError(f"{where}: s1sp must be one of {', '.join(S1SPS)} or '*', not {s1sp!r}")
        reason = (w.get("reason") or "").strip()
        if not reason:
            raise PolicyError(f"{where}: a waiver needs a reason")
        if "expires" not in w:
            raise PolicyError(f"{where}: a waiver needs an expiry date (expires = YYYY-MM-DD)")
        waivers.append(Waiver(rid, s1sp, reason, _date(w["expires"], where)))
    return Policy(head.get("name", Path(source).stem), mandatory, if_tagged, waivers, source)


def load_policy(path: Path | None, requirements: dict[str, Requirement]) -> Policy:
    """The policy at `path`; without a path, policies/release.toml if present, else the built-in default."""
    if path is None:
        if DEFAULT_POLICY.exists():
            path = DEFAULT_POLICY
        else:
            return parse_policy(BUILTIN_POLICY, requirements)
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PolicyError(f"policy file {path} not found") from exc
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"policy file {path}: {exc}") from exc
    return parse_policy(data, requirements, str(path))


@dataclass
class Finding:
    """Something that stops a mandatory requirement from holding."""
    requirement: str
    s1sp: str | None       # None: not specific to an S1SP
    group: str             # whose verdict it counts against: "DSP", "S1SP2", "Data fix", ...
    kind: str              # failed, not covered, only skipped
    text: str
    cells: list[str] = field(default_factory=list)    # cell anchors
    waived_by: Waiver | None = None
    cause: str = ""


@dataclass
class GateResult:
    policy: Policy
    today: dt.date
    mandatory: list[str]
    findings: list[Finding]
    not_judged: list[str]                   # reasons the run cannot be judged
    groups: dict[str, dict]                 # group -> {"verdict": ..., "findings": [...], "causes": [...]}
    waivers_used: list[tuple[Waiver, list[Finding]]]
    waivers_expired: list[tuple[Waiver, list[Finding]]]   # expired; with the findings they would have covered
    waivers_unused: list[Waiver]

    @property
    def open_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.waived_by is None]

    @property
    def exit_code(self) -> int:
        if self.not_judged:
            return EXIT_NOT_JUDGED
        return EXIT_NOT_CONFORMANT if self.open_findings else EXIT_CONFORMANT

    @property
    def verdict(self) -> str:
        return VERDICTS[self.exit_code]


def group_of(requirement: Requirement, s1sp: str | None) -> str:
    actor = requirement.actor
    if actor == "S1SP":
        return s1sp or "S1SP (all)"
    if actor == "data fix":
        return "Data fix"
    return "DSP"         # DSP, and the harness's own promises (R4), which the DSP keeps


def evaluate(matrix, requirements: dict[str, Requirement], policy: Policy, *, tagged: set[str],
             selected_s1sps: tuple[str, ...] = S1SPS, today: dt.date | None = None,
             not_judged: list[str] | None = None) -> GateResult:
    """Judge a `reports.matrix.Matrix` against `policy`."""
    today = today or dt.date.today()
    not_judged = list(not_judged or [])
    mandatory = policy.mandatory_ids(requirements, tagged)
    findings: list[Finding] = []
    for rid in mandatory:
        req = requirements[rid]
        row = matrix.rows[rid]
        for cell in row.cells.values():
            if cell.status == "failed":
                s1sp = cell.column.s1sp
                causes = sorted({e.note for e in cell.entries if e.status == "failed" and e.note})
                findings.append(Finding(rid, s1sp, group_of(req, s1sp), "failed",
                                        f"{rid} failed for {cell.column.label}", [cell.id], cause="; ".join(causes)))
        if not row.executed:
            skipped = any(c.entries for c in row.cells.values())
            kind = "only skipped" if skipped else "not covered"
            findings.append(Finding(rid, None, group_of(req, None), kind, f"{rid} is {kind}: no scenario ran to a verdict",
                                    [c.id for c in row.cells.values() if c.entries]))
        elif req.actor == "S1SP":
            for s1sp in selected_s1sps:
                for cell in (c for c in row.cells.values() if c.column.s1sp == s1sp):
                    if not cell.executed:
                        kind = "only skipped" if cell.entries else "not covered"
                        findings.append(Finding(rid, s1sp, s1sp, kind, f"{rid} is {kind} for {cell.column.label}",
                                                [cell.id]))
    # Merge per-cell findings of the same requirement, S1SP and kind into one line each.
    merged: dict[tuple, Finding] = {}
    for f in findings:
        key = (f.requirement, f.s1sp, f.kind)
        if key in merged:
            merged[key].cells.extend(f.cells)
            if f.cause and f.cause not in merged[key].cause:
                merged[key].cause = "; ".join(filter(None, [merged[key].cause, f.cause]))
        else:
            merged[key] = f
    findings = list(merged.values())
    for f in findings:
        if f.kind == "failed" and f.s1sp and len(f.cells) > 1:
            f.text = f"{f.requirement} failed for {f.s1sp} ({len(f.cells)} cells)"

    used: dict[Waiver, list[Finding]] = {}
    expired: dict[Waiver, list[Finding]] = {w: [] for w in policy.waivers if w.expired(today)}
    for f in findings:
        for w in policy.waivers:
            if w.covers(f):
                if w.expired(today):
                    expired[w].append(f)
                elif f.waived_by is None:
                    f.waived_by = w
                    used.setdefault(w, []).append(f)
    unused = [w for w in policy.waivers if w not in used and w not in expired]

    groups: dict[str, dict] = {}
    names = ["DSP"] + [s for s in S1SPS] + (["Data fix"] if any(requirements[r].actor == "data fix" for r in mandatory) else [])
    for name in names:
        mine = [f for f in findings if f.group == name or (f.group == "S1SP (all)" and name in S1SPS)]
        open_ = [f for f in mine if f.waived_by is None]
        broken = _broken_in_group(matrix, requirements, name)
        if name in S1SPS and name not in selected_s1sps:
            verdict = "NOT RUN"
        elif any(f.kind == "failed" for f in open_):
            verdict = "NOT CONFORMANT"          # a definite non-conformance, even in a run not judged
        elif broken or not_judged:
            verdict = "NOT JUDGED"              # not covered in a run that a fault cut short proves nothing
        else:
            verdict = "NOT CONFORMANT" if open_ else "CONFORMANT"
        groups[name] = {"verdict": verdict, "findings": mine, "broken": broken,
                        "causes": sorted({f.cause for f in open_ if f.cause})}
    return GateResult(policy, today, mandatory, findings, not_judged, groups,
                      list(used.items()), list(expired.items()), unused)


def _broken_in_group(matrix, requirements, name: str) -> list[str]:
    out = []
    for rid, row in matrix.rows.items():
        for cell in row.cells.values():
            if cell.status == "broken" and group_of(requirements[rid], cell.column.s1sp) == name:
                out.append(cell.id)
    return out
