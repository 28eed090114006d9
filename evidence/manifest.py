"""What a bundle holds, and the manifest that lists it.

Inside the zip:

    manifest.json          this list, signed by manifest.p7s (the one file not listed in it)
    manifest.p7s           detached CMS SignedData over manifest.json, DER (evidence/cms.py)
    HOW-TO-VERIFY.txt      the openssl and sha256sum commands, for someone without the harness
    run/...                the run folder as `mp107 run` left it: report.html, verdict.json,
                           junit.xml, cucumber.json, run-info.json, allure-results/, pytest.log,
                           progress.jsonl, wire/ (every leg's exact bytes), certificates/
    inputs/policy/NAME.toml        the release policy the verdict was judged with (waivers inside)
    inputs/baseline/NAME           the baseline of known deviations, if the run had one
    inputs/profile/NAME.toml       the target profile, private-key paths removed (evidence/redact.py)
    inputs/statement.json          the target's conformance statement as the run read it
    inputs/requirements.toml       the requirement catalogue the gate judged against
    inputs/features/*.feature      the scenarios and their requirement tags

manifest.json: {"format", "harness": {version, commit}, "run": {folder, started, finished,
pytest_exit_code, target, target_name, options}, "verdict": {verdict, exit_code, policy, judged_on},
"inputs": {policy, baseline, profile}, "signer": {kind, subject, note}, "bundled_at",
"files": {path: {"sha256", "bytes"}}}.
"""
from __future__ import annotations

import hashlib
import json
import re

FORMAT = "mp107-evidence-bundle/1"
MANIFEST, SIGNATURE, HOW_TO = "manifest.json", "manifest.p7s", "HOW-TO-VERIFY.txt"
RUN, INPUTS = "run", "inputs"
SAFE_PATH = re.compile(r"[A-Za-z0-9._@+=,-]+(/[A-Za-z0-9._@+=,-]+)*")
MAX_MANIFEST_BYTES = 64 * 1024 * 1024


class ManifestError(Exception):
    """manifest.json is not a manifest of this format."""


def file_entry(data: bytes) -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def safe_path(path: str) -> bool:
    """A relative path of plain names: no '..', no absolute path, no backslash, no empty part."""
    return bool(SAFE_PATH.fullmatch(path)) and all(part not in (".", "..") for part in path.split("/"))


def dumps(manifest: dict) -> bytes:
    return (json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=True) + "\n").encode("ascii")


def loads(data: bytes) -> dict:
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{MANIFEST} is {len(data)} bytes")
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise ManifestError(f"{MANIFEST} is not JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ManifestError(f"{MANIFEST} is not an {FORMAT} manifest")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ManifestError(f"{MANIFEST} lists no files")
    for path, entry in files.items():
        if not safe_path(path) or path in (MANIFEST, SIGNATURE):
            raise ManifestError(f"{MANIFEST} lists {path!r}, which is no plain relative path of the bundle")
        if (not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str)
                or not re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]) or not isinstance(entry.get("bytes"), int)):
            raise ManifestError(f"{MANIFEST}: the entry of {path} is not {{sha256, bytes}}")
    return manifest


HOW_TO_TEXT = """\
How to check this SECMP0107 evidence bundle without the harness
================================================================

1. The manifest is signed (detached CMS SignedData, RFC 5652). With the CA that issued the signer's
   certificate in CA.pem:

       openssl cms -verify -binary -inform DER -in manifest.p7s -content manifest.json \\
           -CAfile CA.pem -purpose any -out /dev/null

   "CMS Verification successful" means manifest.json is exactly what the holder of that
   certificate signed. {signer_line}

2. Every other file is listed in manifest.json with its SHA-256:

       jq -r '.files | to_entries[] | "\\(.value.sha256)  \\(.key)"' manifest.json | sha256sum -c --quiet -

   prints nothing when every file is as signed. A file that is here and not listed is not evidence.

3. With the harness (pip install the commit named in manifest.json), everything above and more:

       mp107 verify-bundle THIS.zip --ca CA.pem

   re-verifies every DUIS signature of run/wire/ with the certificates in run/certificates/, every
   GBCS signature of a Signed Pre-Command, and recomputes the verdict from run/ with the same gate,
   inputs/policy and any inputs/baseline; it exits 0 only if everything agrees.
"""
