"""A run folder into one signed zip (evidence/manifest.py says what is inside and why).

Zip, not tar.gz: it opens with no extra tool on the desks auditors use (Windows Explorer, macOS
Finder, `unzip`), each file is compressed on its own so one damaged byte costs one file rather than
the rest of the stream, and it can be read file by file from its central directory, so
`verify-bundle` reads and bounds each member without unpacking anything it does not check.

Who signs: `--key KEY --certificate CERT` (the organisation's document-signing key and certificate,
PEM; the certificate file may carry the intermediate CAs after it). Without them the manifest is
signed with a one-off key made for this bundle and thrown away: that proves the files have not
changed since the bundle was made, and nothing about who made it; anyone can make another. The
harness's own test SMKI is no better (it is generated for each run, its keys sit in the run's
process), so it is never used.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from conformance import catalogue
from reports import collect, html

from . import cms, redact
from .manifest import HOW_TO, HOW_TO_TEXT, INPUTS, MANIFEST, RUN, SIGNATURE, FORMAT, dumps, file_entry, safe_path

SKIPPED_DIRS = ("allure-report",)         # Allure's own HTML, made from allure-results (which is in)
MAX_FILES = 200_000
COMPRESSION_LEVEL = 6


class BundleError(Exception):
    """The run folder cannot be bundled: the message says what is missing."""


@dataclass
class Bundled:
    path: Path
    files: int
    bytes_in: int
    signer: str
    trusted_key: bool
    legs: int
    warnings: list[str]


def _harness_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("mp107-harness")
    except PackageNotFoundError:
        return "unknown"


def _run_files(run_dir: Path, out: Path) -> list[tuple[str, Path]]:
    files = []
    for path in sorted(run_dir.rglob("*")):
        rel = path.relative_to(run_dir).as_posix()
        if path.is_symlink():
            raise BundleError(f"{path} is a symbolic link: a bundle holds files, not links")
        if not path.is_file() or path.resolve() == out.resolve() or rel.split("/")[0] in SKIPPED_DIRS:
            continue
        if "/" not in rel and rel.endswith(".zip"):
            continue                         # an earlier bundle of this run
        if not safe_path(rel):
            raise BundleError(f"{path}: a file name the bundle cannot hold safely ({rel!r})")
        files.append((f"{RUN}/{rel}", path))
        if len(files) > MAX_FILES:
            raise BundleError(f"{run_dir} holds more than {MAX_FILES} files")
    return files


def baseline_path(info: dict, verdict: dict) -> str | None:
    """Where the run's baseline of known deviations was (issue 17's `--baseline`), as the run recorded it."""
    for candidate in (verdict.get("baseline_source"), verdict.get("baseline"), info.get("baseline"),
                      (info.get("options") or {}).get("baseline")):
        if isinstance(candidate, dict):
            candidate = candidate.get("source") or candidate.get("path")
        if isinstance(candidate, str) and candidate and candidate != "none":
            return candidate
    return None


def profile_path(info: dict) -> str | None:
    for candidate in ((info.get("target") or {}).get("profile"), (info.get("options") or {}).get("profile")):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def make(run_dir: Path, out: Path | None = None, *, key: Path | None = None, certificate: Path | None = None,
         policy: Path | None = None, baseline: Path | None = None, now: dt.datetime | None = None) -> Bundled:
    """Write the bundle of `run_dir` to `out` (default RUN_DIR/evidence-bundle.zip)."""
    run_dir = Path(run_dir).resolve()
    out = Path(out).resolve() if out else run_dir / "evidence-bundle.zip"
    now = now or dt.datetime.now(dt.timezone.utc)
    if (key is None) != (certificate is None):
        raise BundleError("--key and --certificate go together (the signing key and its certificate)")
    if not run_dir.is_dir():
        raise BundleError(f"{run_dir} is not a folder")
    verdict_file = run_dir / collect.VERDICT
    if not verdict_file.is_file():
        raise BundleError(f"{verdict_file} is missing: the run was not judged (mp107 report {run_dir} judges it)")
    try:
        verdict = json.loads(verdict_file.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BundleError(f"{verdict_file} is not JSON: {exc}") from None
    info = collect.read_info(run_dir)
    warnings: list[str] = []

    if key is not None:
        try:
            signing_key, signer_cert, extra = cms.load_key_and_certificate(Path(key).read_bytes(),
                                                                           Path(certificate).read_bytes())
        except OSError as exc:
            raise BundleError(f"cannot read the signing key or certificate: {exc}") from None
        except cms.CmsError as exc:
            raise BundleError(str(exc)) from None
        signer = {"kind": "given", "subject": signer_cert.subject.rfc4514_string(),
                  "note": "signed with the key of this certificate; check it against its CA"}
    else:
        signing_key, signer_cert = cms.one_off_signer(now)
        extra = ()
        signer = {"kind": "one-off", "subject": signer_cert.subject.rfc4514_string(),
                  "note": "signed with a key made for this bundle and discarded: integrity only, no identity"}
        warnings.append("no --key: the manifest is signed with a one-off key; the bundle shows it was not changed "
                        "after it was made, not who made it (sign with --key/--certificate for a trusted bundle)")

    members: list[tuple[str, bytes | Path]] = list(_run_files(run_dir, out))
    names = {m for m, _ in members}
    if f"{RUN}/wire" not in {n.rsplit('/', 1)[0] for n in names}:
        warnings.append("the run folder has no wire/ (exact wire bytes): its DUIS signatures cannot be re-verified")
    if not any(n.startswith(f"{RUN}/certificates/") for n in names):
        warnings.append("the run folder has no certificates/: its signatures cannot be re-verified")

    inputs: dict[str, str | None] = {"policy": None, "baseline": None, "profile": None}
    policy_file = Path(policy) if policy else None
    source = verdict.get("policy_source")
    if policy_file is None and isinstance(source, str) and source != "built-in":
        policy_file = Path(source)
    if policy_file is not None:
        if not policy_file.is_file():
            raise BundleError(f"the policy the run was judged with, {policy_file}, is not there (give --policy)")
        inputs["policy"] = f"{INPUTS}/policy/{policy_file.name}"
        members.append((inputs["policy"], policy_file.read_bytes()))
    baseline_file = Path(baseline) if baseline else (Path(p) if (p := baseline_path(info, verdict)) else None)
    if baseline_file is not None:
        if not baseline_file.is_file():
            raise BundleError(f"the run's baseline {baseline_file} is not there (give --baseline)")
        inputs["baseline"] = f"{INPUTS}/baseline/{baseline_file.name}"
        members.append((inputs["baseline"], baseline_file.read_bytes()))
    profile = profile_path(info)
    if profile and Path(profile).is_file():
        try:
            text = redact.profile(Path(profile).read_text(encoding="utf-8"))
        except (redact.RedactionError, UnicodeDecodeError) as exc:
            raise BundleError(f"the profile {profile} cannot be handed over: {exc}") from None
        inputs["profile"] = f"{INPUTS}/profile/{Path(profile).name}"
        members.append((inputs["profile"], text.encode("utf-8")))
    elif profile:
        warnings.append(f"the run's profile {profile} is no longer there: not in the bundle")
    if info.get("statement") is not None:
        members.append((f"{INPUTS}/statement.json", json.dumps(info["statement"], indent=2, sort_keys=True).encode()))
    members.append((f"{INPUTS}/requirements.toml", catalogue.CATALOGUE.read_bytes()))
    for feature in sorted(collect.FEATURES.glob("*.feature")):
        members.append((f"{INPUTS}/features/{feature.name}", feature.read_bytes()))
    signer_line = ("This bundle was signed with a one-off key: that proves integrity, not who signed "
                   "(use -noverify instead of -CAfile to check integrity alone)." if signer["kind"] == "one-off"
                   else f"The signer: {signer['subject']}.")
    members.append((HOW_TO, HOW_TO_TEXT.format(signer_line=signer_line).encode()))

    files: dict[str, dict] = {}
    contents: dict[str, bytes] = {}
    for name, src in members:
        data = src.read_bytes() if isinstance(src, Path) else src
        if name in files:
            raise BundleError(f"two files would be {name} in the bundle")
        files[name] = file_entry(data)
        contents[name] = data
    manifest = {
        "format": FORMAT,
        "harness": {"version": _harness_version(), "commit": html.harness_commit() or "unknown"},
        "run": {"folder": run_dir.name, "started": info.get("started"), "finished": info.get("finished"),
                "pytest_exit_code": info.get("pytest_exit_code"), "target_name": info.get("target_name"),
                "target": info.get("target"), "options": info.get("options"), "workers": info.get("workers")},
        "verdict": {"verdict": verdict.get("verdict"), "exit_code": verdict.get("exit_code"),
                    "policy": verdict.get("policy"), "judged_on": verdict.get("today")},
        "inputs": inputs,
        "signer": signer,
        "bundled_at": now.isoformat(timespec="seconds"),
        "files": files,
    }
    manifest_bytes = dumps(manifest)
    signature = cms.sign_detached(manifest_bytes, signing_key, signer_cert, extra)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESSION_LEVEL) as z:
            z.writestr(MANIFEST, manifest_bytes)
            z.writestr(SIGNATURE, signature)
            for name in sorted(contents):
                z.writestr(name, contents[name])
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    legs = sum(1 for n in names if n.startswith(f"{RUN}/wire/") and n.endswith(".xml"))
    return Bundled(out, len(files), sum(e["bytes"] for e in files.values()), signer["subject"],
                   signer["kind"] == "given", legs, warnings)
