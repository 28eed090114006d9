"""The release gate: a policy (TOML) says which requirements are mandatory, whether a requirement
the target's conformance statement rules out is acceptable, and which findings are waived until
when; `evaluate` turns a traceability matrix into a verdict and an exit code.

Policy file (policies/release.toml, policies/uit.toml):

    [policy]
    name = "uit"
    mandatory = ["MP107-R1.*", "MP107-R2.*", "MP107-R3.*", "MP107-R4.*"]   # fnmatch over catalogue IDs
    not_applicable = "accepted"    # or "finding": a mandatory requirement that only the statement
                                   # ruled out is then a finding (release: everything must run)

    [[waiver]]
    requirement = "MP107-R1.4"
    s1sp = "S1SP2"          # S1SP1, S1SP2, S1SP3, or "*" (every column, and coverage)
    reason = "S1SP2 release 4.2 due 2027-01-15; signed off by the programme"
    expires = 2027-01-31    # last day the waiver holds; from the day after it no longer waives

Gate rules, for each mandatory requirement (catalogued requirements with a not-tested reason are
listed, never judged):
- a failed cell is a finding **on the component whose answer broke the rule** (the failing step
  names it: the DSP, an S1SP, the SMETS2 device, the data fix) - not on every party the scenario
  touched;
- no scenario ran to a verdict: if some were *blocked* (not reached because another component
  failed first) that is no finding of its own; if some were *skipped* (applicable, could not run)
  the run is **incomplete**; if all were *not applicable* by statement, that is accepted or a
  finding as the policy says; if none exists, "not covered" is a finding - unless the run was a
  subset of the suite (`subset`: pytest's -k, -m, --deselect, node IDs), where what did not run
  was left out on purpose: the run is then **incomplete**, never not conformant;
- for a requirement that judges S1SPs and is traced per S1SP, the same per S1SP and fuel cell.
Exit codes: 0 conformant; 1 not conformant (an open finding); 2 not judged (a broken scenario, a
harness error) or incomplete (applicable mandatory scenarios skipped, or not every S1SP selected)
- never 0 unless everything the policy asks for ran and held.
"""
from __future__ import annotations

import datetime as dt
import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from conformance import verdicts
from conformance.baseline import Baseline, Deviation, expiry_date
from conformance.catalogue import Requirement

S1SPS = ("S1SP1", "S1SP2", "S1SP3")
DEFAULT_POLICY = Path(__file__).resolve().parent.parent / "policies" / "release.toml"
BUILTIN_POLICY = {
    "name": "release (built-in default)",
    "mandatory": ["MP107-R1.*", "MP107-R2.*", "MP107-R3.*", "MP107-R4.*"],
    "not_applicable": "finding",
    "known_deviations": "finding",
}

EXIT_CONFORMANT, EXIT_NOT_CONFORMANT, EXIT_NOT_JUDGED = 0, 1, 2
EXIT_INCOMPLETE = EXIT_NOT_JUDGED
VERDICTS = {EXIT_CONFORMANT: "CONFORMANT", EXIT_NOT_CONFORMANT: "NOT CONFORMANT", EXIT_NOT_JUDGED: "NOT JUDGED"}
NOT_APPLICABLE_POLICIES = ("accepted", "finding")
KNOWN_DEVIATION_POLICIES = ("accepted", "finding")
COMPONENT_GROUPS = ("DSP", *S1SPS, "SMETS2 device", "Data fix")


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
    not_applicable: str = "finding"
    """"accepted": a mandatory requirement the statement ruled out is reported, not a finding (uit);
    "finding": it is a finding (release: the target must let every scenario run)"""
    known_deviations: str = "finding"
    """a failure the target's baseline (--baseline, conformance/baseline.py) lists: "accepted" (uit) reports
    it as a known deviation and no finding; "finding" (release) keeps it a finding, marked known, that only
    a waiver lets go"""

    def mandatory_ids(self, requirements: dict[str, Requirement], tagged: set[str]) -> list[str]:
        out = []
        for rid, req in requirements.items():
            if req.not_tested:
                continue                 # listed with its reason in the report, never judged
            if any(fnmatch.fnmatchcase(rid, p) for p in self.mandatory):
                out.append(rid)
            elif rid in tagged and any(fnmatch.fnmatchcase(rid, p) for p in self.mandatory_if_tagged):
                out.append(rid)
        return out


def parse_policy(data: dict, requirements: dict[str, Requirement], source: str = "built-in") -> Policy:
    head = data.get("policy", data)
    unknown_keys = set(data) - {"policy", "waiver"}
    not_applicable = head.get("not_applicable", "finding")
    if not_applicable not in NOT_APPLICABLE_POLICIES:
        raise PolicyError(f"{source}: [policy] not_applicable must be one of {list(NOT_APPLICABLE_POLICIES)}, "
                          f"not {not_applicable!r}")
    known_deviations = head.get("known_deviations", "finding")
    if known_deviations not in KNOWN_DEVIATION_POLICIES:
        raise PolicyError(f"{source}: [policy] known_deviations must be one of {list(KNOWN_DEVIATION_POLICIES)}, "
                          f"not {known_deviations!r}")
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
        waivers.append(Waiver(rid, s1sp, reason, expiry_date(w["expires"], where, PolicyError)))
    return Policy(head.get("name", Path(source).stem), mandatory, if_tagged, waivers, source, not_applicable,
                  known_deviations)


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
    reason: str = ""
    """one line: why (a failure: its first failing step's expected / got / RequestID, verdicts.reason_line)"""
    scenarios: list[str] = field(default_factory=list)
    """the scenarios behind it (their full names: feature file and scenario), the failing ones for a failure"""
    known: Deviation | None = None
    """a failure the target's baseline lists (a known deviation); accepted or not as the policy says"""
    accepted: bool = False
    """a known deviation the policy accepts: reported, not open"""


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
    incomplete: list[str] = field(default_factory=list)
    """why the run, with no finding, still cannot say conformant (skips, S1SPs not selected)"""
    not_applicable: list[str] = field(default_factory=list)
    """mandatory requirements (and cells) the statement ruled out, accepted by the policy"""
    blocked: list[str] = field(default_factory=list)
    """requirements not reached because another component failed first"""
    skipped: list[dict] = field(default_factory=list)
    """every applicable scenario of a mandatory requirement that was skipped (it blocks a pass, SPEC §5),
    whatever else covered its cells: {"scenario", "name", "s1sp", "requirements", "reason"}"""
    baseline: Baseline | None = None
    deviations_expired: list[tuple[Deviation, list[Finding]]] = field(default_factory=list)
    """baseline entries past their expiry: they accept nothing; with the failures they would have covered"""
    deviations_not_exercised: list[Deviation] = field(default_factory=list)
    """baseline entries none of whose scenarios ran to a verdict here: neither confirmed nor stale"""

    @property
    def open_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.waived_by is None and not f.accepted]

    @property
    def known_deviations(self) -> list[Finding]:
        """failures the baseline lists (accepted or not), in the order found"""
        return [f for f in self.findings if f.known is not None and f.kind == "failed"]

    @property
    def exit_code(self) -> int:
        """1 on a definite non-conformance (a failed finding) even in a run that is otherwise not
        judged; 2 when the run cannot be judged (coverage gaps in such a run prove nothing); 1 on
        any other open finding; 2 when incomplete; 0 only when everything asked for ran and held."""
        if any(f.kind == "failed" for f in self.open_findings):
            return EXIT_NOT_CONFORMANT
        if self.not_judged:
            return EXIT_NOT_JUDGED
        if self.open_findings:
            return EXIT_NOT_CONFORMANT
        return EXIT_INCOMPLETE if self.incomplete else EXIT_CONFORMANT

    @property
    def verdict(self) -> str:
        if self.exit_code == EXIT_NOT_JUDGED and not self.not_judged:
            return "INCOMPLETE"
        return VERDICTS[self.exit_code]


def group_of(requirement: Requirement, s1sp: str | None) -> str:
    """The component a requirement's result counts against when no step named one (coverage,
    broken scenarios): its S1SP for a per-S1SP requirement that judges S1SPs, else its first."""
    comps = requirement.components or ("DSP",)
    if s1sp and "S1SP" in comps:
        return s1sp
    first = comps[0]
    return "S1SP (all)" if first == "S1SP" else first


def _classify(entries) -> str:
    """What a requirement (or cell) with no executed scenario amounts to."""
    statuses = {e.status for e in entries}
    if "blocked" in statuses:
        return "blocked"
    if "skipped" in statuses or "unknown" in statuses:
        return "skipped"
    if statuses and statuses <= {"not applicable"}:
        return "not applicable"
    return "not covered"


def evaluate(matrix, requirements: dict[str, Requirement], policy: Policy, *, tagged: set[str],
             selected_s1sps: tuple[str, ...] = S1SPS, today: dt.date | None = None,
             not_judged: list[str] | None = None, baseline: Baseline | None = None,
             subset: str | None = None) -> GateResult:
    """Judge a `reports.matrix.Matrix` against `policy` (and the target's `baseline` of known deviations).
    `subset`: how the run was narrowed to part of the suite (e.g. "-k S1SP1"), None for the whole suite."""
    today = today or dt.date.today()
    not_judged = list(not_judged or [])
    mandatory = policy.mandatory_ids(requirements, tagged)
    findings: list[Finding] = []
    incomplete: list[str] = []
    incomplete_groups: set[str] = set()
    accepted_na: list[str] = []
    blocked: list[str] = []
    expired_deviations: dict[Deviation, list[Finding]] = {
        d: [] for d in (baseline.deviations if baseline else ()) if d.expired(today)}
    if tuple(selected_s1sps) != S1SPS:
        incomplete.append(f"only {', '.join(selected_s1sps)} selected: the other S1SPs were not run")
    if subset:
        incomplete.append(f"a subset of the suite ran ({subset}): what it left out is not judged")

    def uncovered(rid, req, entries, s1sp, where, cells):
        kind = _classify(entries)
        group = s1sp or group_of(req, None)
        if subset and (kind == "not covered" or (kind == "not applicable" and policy.not_applicable != "accepted")):
            incomplete.append(f"{rid} {where}: not run to a verdict in this subset ({subset})")
            incomplete_groups.add(group)
        elif kind == "blocked":
            blocked.append(f"{rid} {where}")
        elif kind == "skipped":
            incomplete.append(f"{rid} {where}: applicable scenarios were skipped")
            incomplete_groups.add(group)
        elif kind == "not applicable":
            reasons = sorted({(e.scenario.message.splitlines() or [''])[0].split("not applicable: ", 1)[-1]
                              for e in entries})
            line = f"{rid} {where}: not applicable - {'; '.join(reasons)[:300]}"
            if policy.not_applicable == "accepted":
                accepted_na.append(line)
            else:
                findings.append(Finding(rid, s1sp, group, "not applicable",
                                        f"{rid} is only not applicable {where} (policy {policy.name} needs it run)",
                                        cells, cause="; ".join(reasons)[:300],
                                        reason=f"not applicable: {'; '.join(reasons)}"[:verdicts.REASON_CHARS],
                                        scenarios=[e.scenario.full_name for e in entries]))
        else:
            findings.append(Finding(rid, s1sp, group, "not covered", f"{rid} is not covered {where}", cells,
                                    reason=f"no scenario traced to {rid} ran to a verdict {where}"))

    for rid in mandatory:
        req = requirements[rid]
        row = matrix.rows[rid]
        for cell in row.cells.values():
            for e in cell.entries:
                if e.status != "failed":
                    continue
                s1sp = cell.column.s1sp
                group = e.component or group_of(req, s1sp)
                finding = Finding(rid, s1sp, group, "failed",
                                  f"{rid} failed on {group}" + (f" ({cell.column.label})" if s1sp else ""),
                                  [cell.id], cause=e.note, reason=verdicts.reason_line(e.scenario.message),
                                  scenarios=[e.scenario.full_name])
                _match_baseline(finding, baseline, today, expired_deviations)
                findings.append(finding)
        entries = [e for c in row.cells.values() for e in c.entries]
        if not row.executed:
            uncovered(rid, req, entries, None, "(no scenario ran to a verdict)",
                      [c.id for c in row.cells.values() if c.entries])
        elif "S1SP" in req.components and any(c.entries for c in row.cells.values() if c.column.s1sp):
            for s1sp in selected_s1sps:
                for cell in (c for c in row.cells.values() if c.column.s1sp == s1sp):
                    if not cell.executed:
                        uncovered(rid, req, cell.entries, s1sp, f"for {cell.column.label}", [cell.id])
    findings += _stale(matrix, baseline, today, findings)
    # Merge per-cell findings of the same requirement, component, kind (and known deviation) into one line each.
    merged: dict[tuple, Finding] = {}
    for f in findings:
        key = (f.requirement, f.group, f.kind, f.known)
        if key in merged:
            merged[key].cells.extend(f.cells)
            merged[key].scenarios.extend(sc for sc in f.scenarios if sc not in merged[key].scenarios)
            if f.cause and f.cause not in merged[key].cause:
                merged[key].cause = "; ".join(filter(None, [merged[key].cause, f.cause]))
        else:
            merged[key] = f
    findings = list(merged.values())
    for f in findings:
        if f.kind == "failed" and len(f.cells) > 1:
            f.text = f"{f.requirement} failed on {f.group} ({len(f.cells)} cells)"
        if f.known is not None and f.kind == "failed":
            f.text += f" - known deviation ({f.known.ticket})"
            f.accepted = policy.known_deviations == "accepted"
    skipped = _skipped_scenarios(matrix, requirements, set(mandatory), selected_s1sps)
    for item in skipped:
        incomplete.append(f"scenario skipped: {item['name']} ({', '.join(item['requirements'])}) - {item['reason']}")
        incomplete_groups.update(item["groups"])

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
    smets2_seen = any(e.scenario.s1sp is None and "SMETS2" in e.scenario.name
                      for row in matrix.rows.values() for c in row.cells.values() for e in c.entries)
    for name in COMPONENT_GROUPS:
        if name == "SMETS2 device" and not smets2_seen and not any(f.group == name for f in findings):
            continue
        mine = [f for f in findings if f.group == name or (f.group == "S1SP (all)" and name in S1SPS)]
        open_ = [f for f in mine if f.waived_by is None and not f.accepted]
        broken = _broken_in_group(matrix, requirements, name)
        executed = _executed_in_group(matrix, requirements, name)
        if name in S1SPS and name not in selected_s1sps:
            verdict = "NOT RUN"
        elif open_:
            verdict = "NOT CONFORMANT"          # a definite non-conformance, even in a run not judged
        elif broken:
            verdict = "NOT JUDGED"
        elif not executed:
            verdict = "NOT TESTED"              # no evidence about it on this target: never conformant
        elif not_judged:
            verdict = "NOT JUDGED"
        elif name in incomplete_groups or (name in S1SPS and "S1SP (all)" in incomplete_groups):
            verdict = "INCOMPLETE"
        else:
            verdict = "CONFORMANT"
        groups[name] = {"verdict": verdict, "findings": mine, "broken": broken,
                        "causes": sorted({f.cause for f in open_ if f.cause}),
                        "known_deviations": sum(1 for f in mine if f.accepted)}
    exercised = {f.known for f in findings if f.known is not None}       # confirmed, or found stale
    return GateResult(policy, today, mandatory, findings, not_judged, groups,
                      list(used.items()), list(expired.items()), unused, incomplete, accepted_na, blocked,
                      [{k: v for k, v in item.items() if k != "groups"} for item in skipped], baseline,
                      list(expired_deviations.items()),
                      [d for d in (baseline.deviations if baseline else ()) if d not in exercised
                       and d not in expired_deviations])


def _match_baseline(finding: Finding, baseline: Baseline | None, today: dt.date,
                    expired: dict[Deviation, list[Finding]]) -> None:
    """Mark a failure the baseline lists as a known deviation (an expired entry only records it)."""
    for deviation in (baseline.deviations if baseline else ()):
        if not deviation.matches(finding.requirement, finding.group, finding.scenarios[0]):
            continue
        if deviation.expired(today):
            expired[deviation].append(finding)
        elif finding.known is None:
            finding.known = deviation


def _stale(matrix, baseline: Baseline | None, today: dt.date, findings: list[Finding]) -> list[Finding]:
    """A finding "baseline stale" for each current baseline entry that matched no failure although a
    scenario it names ran and passed: the deviation went away, and the baseline must say so."""
    out = []
    still = {f.known for f in findings if f.known is not None}
    for deviation in (baseline.deviations if baseline else ()):
        if deviation in still or deviation.expired(today) or deviation.requirement not in matrix.rows:
            continue
        s1sp = deviation.component if deviation.component in S1SPS else None
        passed = [e.scenario.full_name for cell in matrix.rows[deviation.requirement].cells.values()
                  for e in cell.entries if e.status == "passed" and deviation.names(e.scenario.full_name)
                  and (s1sp is None or e.scenario.s1sp in (None, s1sp))]
        if not passed:
            continue
        passed = list(dict.fromkeys(passed))
        out.append(Finding(deviation.requirement, s1sp, deviation.component, "baseline stale",
                           f"{deviation.requirement} on {deviation.component}: baseline stale - the known deviation "
                           f"({deviation.ticket}) no longer fails", reason=(
                               f"{len(passed)} scenario(s) the baseline expects to fail passed, e.g. {passed[0]}; "
                               f"close {deviation.ticket} and remove the entry from "
                               f"{baseline.source}")[:verdicts.REASON_CHARS],
                           scenarios=passed, known=deviation))
    return out


def _skipped_scenarios(matrix, requirements, mandatory: set[str], selected_s1sps) -> list[dict]:
    """Each skipped scenario (applicable, could not run) that traces to a mandatory requirement, with
    its reason and the components whose verdict it leaves incomplete: listed one by one, even where
    other scenarios covered the same cells (a passed E19 does not prove E11 or E5)."""
    out = []
    for sc in matrix.scenarios:
        if sc.status not in ("skipped", "unknown") or (sc.s1sp and sc.s1sp not in selected_s1sps):
            continue
        reqs = [r for r in sc.requirements if r in mandatory]
        if not reqs:
            continue
        groups = {sc.s1sp if sc.s1sp and "S1SP" in (requirements[r].components or ()) else group_of(requirements[r], None)
                  for r in reqs}
        first = (sc.message.strip().splitlines() or ["no reason given"])[0]
        out.append({"scenario": sc.full_name, "name": sc.name, "s1sp": sc.s1sp, "requirements": reqs,
                    "reason": first.removeprefix("Skipped: ").strip()[:verdicts.REASON_CHARS] or "no reason given",
                    "groups": groups})
    return out


def _executed_in_group(matrix, requirements, name: str) -> bool:
    """Whether some scenario ran to a verdict on this component's part."""
    for rid, row in matrix.rows.items():
        req = requirements[rid]
        for cell in row.cells.values():
            for e in cell.entries:
                if e.status not in ("passed", "failed", "broken"):
                    continue
                if e.component == name:
                    return True
                comps = req.components or ("DSP",)
                if name in S1SPS and "S1SP" in comps and cell.column.s1sp == name:
                    return True
                if name in comps and name not in S1SPS:
                    return True
    return False


def _broken_in_group(matrix, requirements, name: str) -> list[str]:
    out = []
    for rid, row in matrix.rows.items():
        for cell in row.cells.values():
            if cell.status == "broken" and group_of(requirements[rid], cell.column.s1sp) == name:
                out.append(cell.id)
    return out
