"""A bundle checked end to end, trusting only what it can recompute.

1. The manifest's CMS signature (evidence/cms.py); with --ca, the signer's certificate must chain to
   one of those CAs (without it, the bundle is checked for integrity only, and says so).
2. Every member against the manifest: each listed file present with its SHA-256 and size, nothing
   unlisted, no name twice, no path outside the bundle, sizes bounded before anything is unpacked.
3. The wire legs (evidence/wire.py): each file hashes to its name and its index entry; each leg
   belongs to a scenario the JUnit results know.
4. The certificates (evidence/certificates.py): each hashes to its name.
5. Every DUIS and GBCS signature re-verified and held against the run's results (evidence/legs.py).
6. The verdict recomputed from run/ with the gate `mp107 run` uses (reports.collect.judge), the
   bundled policy, baseline, catalogue and feature tags, on the day the run was judged: it must
   equal run/verdict.json, and verdict.json must equal the manifest's summary of it.

Every disagreement is named; `Outcome.ok` only when there is none.
"""
from __future__ import annotations

import datetime as dt
import json
import tempfile
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from conformance import baseline as baselines, catalogue, gate
from reports import collect, html

from . import certificates as certs_mod, cms, legs as legs_mod, wire
from .manifest import INPUTS, MANIFEST, RUN, SIGNATURE, ManifestError, file_entry, loads, safe_path

MAX_MEMBERS = 250_000
MAX_MEMBER_BYTES = 512 * 1024 * 1024
MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024
VOLATILE = ("policy_source", "baseline")   # where the policy and baseline files were when judged: paths, not results


class BundleUnreadable(Exception):
    """Not a bundle at all (not a zip, no manifest): nothing can be checked."""


@dataclass
class Outcome:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """details a reader may want (--verbose): e.g. each request that does not verify and was refused"""
    warnings: list[str] = field(default_factory=list)
    """what limits what the verification proves (always shown): no CA given, another harness"""
    facts: list[str] = field(default_factory=list)
    signed: cms.Signed | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _read_members(z: zipfile.ZipFile, out: Outcome) -> dict[str, zipfile.ZipInfo]:
    infos = z.infolist()
    if len(infos) > MAX_MEMBERS:
        raise BundleUnreadable(f"{len(infos)} members: more than a bundle holds ({MAX_MEMBERS})")
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        name = info.filename
        if not safe_path(name):
            out.problems.append(f"{name!r}: a member name that points outside the bundle or is not plain")
            continue
        if name in members:
            out.problems.append(f"{name}: the bundle holds two files of this name")
            continue
        if info.file_size > MAX_MEMBER_BYTES:
            out.problems.append(f"{name}: {info.file_size} bytes, over the {MAX_MEMBER_BYTES} a member may hold")
            continue
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise BundleUnreadable(f"the members add up to more than {MAX_TOTAL_BYTES} bytes")
        members[name] = info
    return members


def _read(z: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    with z.open(info) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise zipfile.BadZipFile(f"{info.filename} unpacks to more than {limit} bytes")
    return data


def verify(bundle: Path, ca_file: Path | None = None, *, work: Path | None = None) -> Outcome:
    """Check `bundle`; BundleUnreadable if it is not one. `work`: where to unpack it (a temporary folder)."""
    out = Outcome()
    try:
        z = zipfile.ZipFile(bundle)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BundleUnreadable(f"{bundle}: not a readable zip: {exc}") from None
    with z, tempfile.TemporaryDirectory(prefix="mp107-verify-", dir=work) as tmp:
        members = _read_members(z, out)
        if MANIFEST not in members or SIGNATURE not in members:
            raise BundleUnreadable(f"{bundle}: no {MANIFEST} and {SIGNATURE}: not an evidence bundle")
        try:
            manifest_bytes = _read(z, members[MANIFEST], 64 * 1024 * 1024)
            signature = _read(z, members[SIGNATURE], cms.MAX_SIGNATURE_BYTES)
        except (zipfile.BadZipFile, OSError) as exc:
            raise BundleUnreadable(f"{bundle}: {exc}") from None
        _check_signature(out, signature, manifest_bytes, ca_file)
        try:
            manifest = loads(manifest_bytes)
        except ManifestError as exc:
            out.problems.append(str(exc))
            return out
        root = Path(tmp)
        contents = _check_members(out, z, members, manifest, root)
        run_files = {name[len(RUN) + 1:]: data for name, data in contents.items() if name.startswith(f"{RUN}/")}
        scenario_status = _junit_status(run_files.get(collect.JUNIT), out)
        _check_wire_and_signatures(out, run_files, scenario_status)
        _recompute(out, root, manifest)
    return out


def _judge_reads(name: str) -> bool:
    """Whether the gate reads this member (only those are unpacked, to a temporary folder): the run's
    results and facts and the inputs, not the wire bytes, certificates or Allure's attachments."""
    if name.startswith(f"{INPUTS}/"):
        return True
    if not name.startswith(f"{RUN}/") or name.startswith((f"{RUN}/wire/", f"{RUN}/certificates/")):
        return False
    return not name.startswith(f"{RUN}/{collect.ALLURE_DIR}/") or name.endswith("-result.json")


def _check_signature(out: Outcome, signature: bytes, manifest_bytes: bytes, ca_file: Path | None) -> None:
    cas = None
    if ca_file is not None:
        try:
            cas = cms.load_certificates(Path(ca_file).read_bytes(), str(ca_file))
        except OSError as exc:
            raise BundleUnreadable(f"cannot read the CA file {ca_file}: {exc}") from None
        except cms.CmsError as exc:
            raise BundleUnreadable(str(exc)) from None
    try:
        out.signed = cms.verify_detached(signature, manifest_bytes, cas)
    except cms.CmsError as exc:
        out.problems.append(f"{SIGNATURE}: {exc}")
        return
    when = out.signed.signing_time.isoformat(timespec="seconds") if out.signed.signing_time else "no signing time"
    if out.signed.trusted:
        out.facts.append(f"manifest signed by {out.signed.signer} ({when}), which chains to {ca_file}")
    else:
        out.warnings.append(f"manifest signed by {out.signed.signer} ({when}); NOT checked against a CA (no --ca): "
                         "this shows the files agree with each other, not who made the bundle")


def _check_members(out: Outcome, z: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], manifest: dict,
                   root: Path) -> dict[str, bytes]:
    """Every listed member's bytes, each checked against the manifest; those the gate reads unpacked under `root`."""
    contents: dict[str, bytes] = {}
    listed = manifest["files"]
    for name in sorted(set(members) - set(listed) - {MANIFEST, SIGNATURE}):
        out.problems.append(f"{name}: in the bundle but not in the signed manifest")
    for name in sorted(listed):
        entry = listed[name]
        info = members.get(name)
        if info is None:
            out.problems.append(f"{name}: listed in the manifest but missing from the bundle")
            continue
        try:
            data = _read(z, info, MAX_MEMBER_BYTES)     # bounded whatever the manifest or zip header claim
        except (zipfile.BadZipFile, OSError, EOFError) as exc:   # CRC errors included
            out.problems.append(f"{name}: cannot be read from the zip ({exc})")
            continue
        actual = file_entry(data)
        if actual != {"sha256": entry["sha256"], "bytes": entry["bytes"]}:
            out.problems.append(f"{name}: SHA-256 {actual['sha256']} ({actual['bytes']} bytes) is not the manifest's "
                                f"{entry['sha256']} ({entry['bytes']} bytes): the file was changed after signing")
        contents[name] = data
        if _judge_reads(name):
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    out.facts.append(f"{len(listed)} files, each as the manifest lists it" if not out.problems
                     else f"{len(listed)} files listed in the manifest")
    return contents


def _nodeid_key(nodeid: str) -> tuple[str, str]:
    parts = nodeid.split("::")
    module = parts[0].removesuffix(".py").replace("/", ".")
    return ".".join([module, *parts[1:-1]]), parts[-1]


def _junit_status(data: bytes | None, out: Outcome) -> dict[tuple[str, str], str]:
    if data is None:
        return {}
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        out.problems.append(f"{RUN}/{collect.JUNIT}: not XML ({exc})")
        return {}
    status = {}
    for case in root.iter("testcase"):
        kind = next((k for k in ("error", "failure", "skipped") if case.find(k) is not None), "passed")
        key = (case.get("classname", ""), case.get("name", ""))
        status[key] = kind if status.get(key, "passed") == "passed" else status[key]
    return status


def _check_wire_and_signatures(out: Outcome, run: dict[str, bytes], junit: dict[tuple[str, str], str]) -> None:
    legs, problems = wire.read(run)
    out.problems += [f"{RUN}/{p}" for p in problems]
    if not legs:
        out.problems.append(f"{RUN}/wire/: no wire legs recorded (index*.jsonl): the run's signatures cannot be "
                            "re-verified")
        return
    data, problems, notes = wire.check_files(run, legs)
    out.problems += [f"{RUN}/{p}" for p in problems]
    out.notes += [f"{RUN}/{n}" for n in notes]
    certs, problems = certs_mod.read(run)
    out.problems += [f"{RUN}/{p}" for p in problems]
    if not certs.by_sha256:
        out.problems.append(f"{RUN}/certificates/: no certificates: the run's signatures cannot be re-verified")
    status: dict[str, str] = {}
    unknown = set()
    for leg in legs:
        kind = junit.get(_nodeid_key(leg.scenario))
        if kind is None:
            unknown.add(leg.scenario)
        else:
            status[leg.scenario] = kind
    for scenario in sorted(unknown):
        out.problems.append(f"{RUN}/wire/: legs of {scenario}, which has no result in {collect.JUNIT}")
    results = legs_mod.check(legs, data, certs, status)
    out.problems += [f"{RUN}/{p}" for p in results.problems]
    out.notes += [f"{RUN}/{n}" for n in results.notes]
    out.facts.append(results.summary())


def _judged_on(manifest: dict, verdict: dict | None) -> dt.date | None:
    for value in ((manifest.get("verdict") or {}).get("judged_on"), (verdict or {}).get("today")):
        try:
            return dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            continue
    return None


def _recompute(out: Outcome, root: Path, manifest: dict) -> None:
    run = root / RUN
    verdict_path = run / collect.VERDICT
    try:
        recorded = json.loads(verdict_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        out.problems.append(f"{RUN}/{collect.VERDICT}: unreadable ({exc}): the verdict cannot be compared")
        return
    summary = manifest.get("verdict") or {}
    for key, theirs in (("verdict", recorded.get("verdict")), ("exit_code", recorded.get("exit_code")),
                        ("policy", recorded.get("policy")), ("judged_on", recorded.get("today"))):
        if summary.get(key) != theirs:
            out.problems.append(f"{RUN}/{collect.VERDICT}: {key} is {theirs!r}; the signed manifest says {summary.get(key)!r}")
    made_by = (manifest.get("harness") or {}).get("commit")
    here = html.harness_commit() or "unknown"
    if made_by and made_by != here:
        out.warnings.append(f"the bundle was made by the harness at {made_by}; this is {here}: the verdict is recomputed "
                         "with this harness's gate, the bundle's policy, catalogue and feature tags")
    inputs = manifest.get("inputs") or {}
    requirements_file = root / INPUTS / "requirements.toml"
    try:
        requirements = catalogue.load(requirements_file) if requirements_file.is_file() else catalogue.load()
        if inputs.get("policy"):          # named as the run named it, as the baseline below
            source = recorded.get("policy_source") or inputs["policy"]
            policy = gate.parse_policy(tomllib.loads((root / inputs["policy"]).read_text(encoding="utf-8")),
                                       requirements, str(source))
        else:                             # the run had no policy file
            policy = gate.parse_policy(gate.BUILTIN_POLICY, requirements)
    except (gate.PolicyError, OSError, ValueError, KeyError, tomllib.TOMLDecodeError) as exc:
        out.problems.append(f"the verdict cannot be recomputed: {exc}")
        return
    known = None
    if inputs.get("baseline"):
        # Named as the run named it: the gate's texts say which file to edit ("remove the entry from ...").
        source = recorded.get("baseline") if isinstance(recorded.get("baseline"), str) else inputs["baseline"]
        try:
            text = (root / inputs["baseline"]).read_text(encoding="utf-8")
            known = baselines.parse(tomllib.loads(text), set(requirements), source)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            out.problems.append(f"{inputs['baseline']}: unreadable ({exc}): the verdict cannot be recomputed")
            return
        except baselines.BaselineError as exc:
            out.problems.append(f"{inputs['baseline']}: {exc}: the verdict cannot be recomputed as it was judged")
            return
    if (recorded.get("baseline") is not None) != (known is not None):
        out.problems.append(f"{RUN}/{collect.VERDICT}: judged {'with' if recorded.get('baseline') else 'without'} a "
                            f"baseline; the bundle holds {'one' if known else 'none'}")
    features = root / INPUTS / "features"
    report = collect.judge(run, policy, today=_judged_on(manifest, recorded), requirements=requirements,
                           features_dir=features if features.is_dir() else collect.FEATURES, baseline=known)
    again = report.as_json()
    differences = [key for key in sorted(set(again) | set(recorded))
                   if key not in VOLATILE and again.get(key) != recorded.get(key)]
    for key in differences:
        where, theirs, ours = _first_difference(recorded.get(key), again.get(key), key)
        out.problems.append(f"{RUN}/{collect.VERDICT}: {key} disagrees with the verdict recomputed from the bundled "
                            f"results: at {where}, recorded {_short(theirs)}, recomputed {_short(ours)}")
    if not differences:
        out.facts.append(f"verdict recomputed from the bundled results with policy {policy.name}: {report.verdict} "
                         f"(exit {report.exit_code}), as recorded")
    else:
        out.facts.append(f"verdict recomputed: {report.verdict} (exit {report.exit_code}); recorded: "
                         f"{recorded.get('verdict')} (exit {recorded.get('exit_code')})")
    for reason in report.gate.not_judged:
        if reason not in (recorded.get("not_judged") or []):
            out.notes.append(f"recomputing: {reason}")


def _first_difference(a, b, where: str):
    """(path, a's value, b's value) of the first place two JSON values differ, e.g. findings[0].text."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{where}.{key}")
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(x, y, f"{where}[{i}]")
        if len(a) != len(b):              # the first entry one has and the other lacks
            n = min(len(a), len(b))
            return f"{where}[{n}]", a[n] if n < len(a) else "(none)", b[n] if n < len(b) else "(none)"
    return where, a, b


def _short(value, limit: int = 300) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"
