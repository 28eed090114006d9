"""`mp107 run --bundle`, `mp107 bundle` and `mp107 verify-bundle` end to end, on one whole run of the
suite through the DCC's own interface (so that Signed Pre-Commands and their GBCS signatures are in
it). A clean bundle verifies with verify-bundle and with openssl alone; one flipped byte in a wire
leg, an edited verdict.json, a removed scenario result and a replaced certificate are each caught
and named, both as a plain edit (the manifest's hashes) and as an edit whose author re-made and
re-signed the manifest with a key of their own (the CA check, the signatures and the recomputed
verdict).

The exact wire bytes are those the run itself recorded (`wire/`, written by the suite's plugin).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from evidence import cms, manifest as manifest_mod
from test_evidence_cms import make_ca, needs_openssl, openssl_verify, write_pki

pytestmark = pytest.mark.slow      # a whole-suite run in a subprocess (quick loop: -m "not slow")

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


def mp107(*args, env=None, timeout=600):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
           **(env or {})}
    return subprocess.run([sys.executable, "-m", "mp107", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=env)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One whole run on the DCC's own interface, bundled at its end with a key from a test CA."""
    base = tmp_path_factory.mktemp("evidence")
    ca, key, cert = write_pki(base / "pki")
    run_dir = base / "run"
    proc = mp107("run", "--target", "local", "--profile", "profiles/reference-dcc.toml", "--out", run_dir,
                 "--quiet", "--workers", "2", "--bundle", "--bundle-key", key, "--bundle-certificate", cert)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Evidence bundle:" in proc.stdout
    return {"dir": run_dir, "bundle": run_dir / "evidence-bundle.zip", "ca": ca, "base": base}


def members(bundle: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(bundle) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def write_bundle(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def tampered(run, name: str, edit, *, resign: bool, edit_manifest=None) -> Path:
    """The run's bundle with `edit(files)` applied; with `resign`, its manifest re-made to match (and
    `edit_manifest(manifest)` applied) and signed with the editor's own key (what a careful forger would do)."""
    files = members(run["bundle"])
    edit(files)
    if resign:
        manifest = json.loads(files[manifest_mod.MANIFEST])
        if edit_manifest is not None:
            edit_manifest(manifest)
        manifest["files"] = {n: manifest_mod.file_entry(d) for n, d in sorted(files.items())
                             if n not in (manifest_mod.MANIFEST, manifest_mod.SIGNATURE)}
        files[manifest_mod.MANIFEST] = manifest_mod.dumps(manifest)
        key, cert = cms.one_off_signer()
        files[manifest_mod.SIGNATURE] = cms.sign_detached(files[manifest_mod.MANIFEST], key, cert)
    return write_bundle(run["base"] / f"{name}-{'resigned' if resign else 'edited'}.zip", files)


def verify(bundle: Path, ca: Path | None):
    return mp107("verify-bundle", bundle, *(["--ca", ca] if ca else []))


def disagreements(proc) -> list[str]:
    return [line.split("DISAGREES: ", 1)[1] for line in proc.stdout.splitlines() if "DISAGREES: " in line]


def index_entries(files: dict[str, bytes], folder: str) -> list[tuple[str, dict]]:
    return [(name, json.loads(line)) for name, data in sorted(files.items())
            if name.startswith(f"run/{folder}/index") for line in data.decode().splitlines() if line.strip()]


# --- a clean bundle --------------------------------------------------------------------------------

def test_the_run_wrote_a_bundle_with_every_kind_of_evidence(run):
    files = members(run["bundle"])
    names = set(files)
    for must in ("manifest.json", "manifest.p7s", "HOW-TO-VERIFY.txt", "run/report.html", "run/verdict.json",
                 "run/junit.xml", "run/cucumber.json", "run/run-info.json", "inputs/requirements.toml",
                 "inputs/policy/release.toml", "inputs/profile/reference-dcc.toml", "inputs/statement.json"):
        assert must in names, must
    assert any(n.startswith("run/allure-results/") and n.endswith("-result.json") for n in names)
    legs = index_entries(files, "wire")
    assert {e["leg"] for _, e in legs} >= {"request", "acknowledgement", "outcome", "transform", "signed-pre-command"}
    holders = {(e["holder"], e["usage"]) for _, e in index_entries(files, "certificates")}
    assert ("DSP", "dsp-xml-signing") in holders and ("CA", "trust-anchor") in holders
    assert any(u == "organisation-digital-signing" for _, u in holders) and any(u == "xml-signing" for _, u in holders)
    manifest = json.loads(files["manifest.json"])
    assert set(manifest["files"]) == names - {"manifest.json", "manifest.p7s"}
    assert manifest["verdict"]["verdict"] == "CONFORMANT" and manifest["harness"]["commit"]
    assert manifest["run"]["started"] and manifest["run"]["finished"] and manifest["run"]["target_name"]
    assert manifest["signer"]["kind"] == "given"
    assert not any(re.search(rb"\.key(\.pem)?\b", files[n]) for n in names if n.startswith("inputs/profile/"))


def test_a_clean_bundle_verifies(run):
    proc = verify(run["bundle"], run["ca"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert disagreements(proc) == []
    out = proc.stdout
    assert "Bundle verified: everything agrees (signer trusted)" in out
    assert re.search(r"\d+ DUIS signatures verified", out) and re.search(r"[1-9]\d* GBCS signatures verified", out)
    assert "CONFORMANT (exit 0), as recorded" in out


@needs_openssl
def test_openssl_alone_checks_the_manifest_and_the_manifest_every_file(run, tmp_path):
    files = members(run["bundle"])
    proc = openssl_verify(tmp_path, files["manifest.json"], files["manifest.p7s"], run["ca"])
    assert proc.returncode == 0 and "Verification successful" in proc.stderr, proc.stderr
    listed = json.loads(files["manifest.json"])["files"]
    assert all(hashlib.sha256(files[n]).hexdigest() == e["sha256"] for n, e in listed.items())
    assert "openssl cms -verify -binary -inform DER -in manifest.p7s -content manifest.json" in \
        files["HOW-TO-VERIFY.txt"].decode()


def test_a_bundle_without_a_key_verifies_for_integrity_only_and_is_trusted_by_no_ca(run, tmp_path):
    out = tmp_path / "one-off.zip"
    made = mp107("bundle", run["dir"], "-o", out)
    assert made.returncode == 0, made.stderr
    assert "one-off key" in made.stderr and "integrity only" in made.stdout
    plain = verify(out, None)
    assert plain.returncode == 0, plain.stdout
    assert "NOT checked against a CA" in plain.stdout and "integrity only" in plain.stdout
    against_ca = verify(out, run["ca"])
    assert against_ca.returncode == 1
    assert any("does not chain to the given CA" in d for d in disagreements(against_ca))


# --- each edit caught and named ------------------------------------------------------------------

def _dsp_leg(files):
    """The wire file of an acknowledgement the DSP signed."""
    for _, e in index_entries(files, "wire"):
        if e["leg"] == "acknowledgement" and e["signer"] == "DSP" and b"Signature" in files[f"run/wire/{e['sha256']}.xml"]:
            return e
    raise AssertionError("no DSP-signed acknowledgement in the run")


def flip_wire_byte(files, *, careful=False):
    """One byte of a DSP-signed acknowledgement flipped (careful: the file renamed to its new hash and the
    index rewritten to match)."""
    leg = _dsp_leg(files)
    name = f"run/wire/{leg['sha256']}.xml"
    data = bytearray(files[name])
    at = data.index(b"ResponseCode>") + len(b"ResponseCode>") + 1
    data[at] ^= 0x01
    if not careful:
        files[name] = bytes(data)
        return name
    new = hashlib.sha256(bytes(data)).hexdigest()
    del files[name]
    files[f"run/wire/{new}.xml"] = bytes(data)
    for index in [n for n in files if n.startswith("run/wire/index")]:
        files[index] = files[index].replace(leg["sha256"].encode(), new.encode())
    return f"run/wire/{new}.xml"


def test_one_flipped_byte_in_a_wire_leg_is_named(run):
    name = {}
    proc = verify(tampered(run, "wire", lambda f: name.setdefault("n", flip_wire_byte(f)), resign=False), run["ca"])
    assert proc.returncode == 1
    found = disagreements(proc)
    assert any(d.startswith(f"{name['n']}: SHA-256") and "changed after signing" in d for d in found), found
    assert any(name["n"].split("/")[-1] in d and "wire bytes were changed" in d for d in found), found


def test_a_flipped_wire_byte_renamed_and_re_signed_is_named_by_its_signature(run):
    name = {}
    proc = verify(tampered(run, "wire", lambda f: name.setdefault("n", flip_wire_byte(f, careful=True)), resign=True),
                  run["ca"])
    assert proc.returncode == 1
    found = disagreements(proc)
    assert any("manifest.p7s" in d and "does not chain" in d for d in found), found
    assert any(name["n"].removeprefix("run/") in d and "DSP's signature does not verify" in d for d in found), found


def edit_verdict(files):
    verdict = json.loads(files["run/verdict.json"])
    verdict["groups"]["S1SP2"]["verdict"] = "NOT CONFORMANT"
    verdict["verdict"], verdict["exit_code"] = "NOT CONFORMANT", 1
    files["run/verdict.json"] = json.dumps(verdict, indent=2).encode()


def test_an_edited_verdict_is_named(run):
    proc = verify(tampered(run, "verdict", edit_verdict, resign=False), run["ca"])
    assert proc.returncode == 1
    found = disagreements(proc)
    assert any(d.startswith("run/verdict.json: SHA-256") and "changed after signing" in d for d in found), found
    assert "run/verdict.json: verdict is 'NOT CONFORMANT'; the signed manifest says 'CONFORMANT'" in found, found
    assert any(d.startswith("run/verdict.json: groups disagrees with the verdict recomputed") for d in found), found


def test_an_edited_verdict_re_signed_with_a_matching_manifest_is_named_by_the_recomputed_verdict(run):
    def summary(manifest):
        manifest["verdict"].update(verdict="NOT CONFORMANT", exit_code=1)
    proc = verify(tampered(run, "verdict", edit_verdict, resign=True, edit_manifest=summary), None)
    assert proc.returncode == 1
    found = disagreements(proc)
    assert not any("SHA-256" in d or "signed manifest says" in d for d in found), found   # hashes and summary agree
    assert any(d.startswith("run/verdict.json: verdict disagrees with the verdict recomputed") and
               'recorded "NOT CONFORMANT", recomputed "CONFORMANT"' in d for d in found), found
    assert any(d.startswith("run/verdict.json: groups disagrees") and "S1SP2" in d for d in found), found


def remove_a_result(files):
    name = next(n for n in sorted(files) if n.startswith("run/allure-results/") and n.endswith("-result.json")
                and json.loads(files[n])["status"] == "passed")
    del files[name]
    return name


@pytest.mark.parametrize("resign", [False, True], ids=["edited", "re-signed"])
def test_a_removed_scenario_result_is_named(run, resign):
    removed = {}
    proc = verify(tampered(run, "result", lambda f: removed.setdefault("n", remove_a_result(f)), resign=resign),
                  None if resign else run["ca"])
    assert proc.returncode == 1
    found = disagreements(proc)
    if not resign:
        assert f"{removed['n']}: listed in the manifest but missing from the bundle" in found, found
    assert any(d.startswith("run/verdict.json: verdict disagrees with the verdict recomputed") and "NOT JUDGED" in d
               for d in found), found
    assert any("JUnit has" in d and "Allure" in d for d in found), found


def replace_dsp_certificate(files, *, careful=False):
    """The DSP's certificate swapped for another with the same name (careful: renamed to its hash, the
    index rewritten)."""
    from cryptography.hazmat.primitives import serialization
    entry = next(e for _, e in index_entries(files, "certificates") if e["holder"] == "DSP")
    old = f"run/certificates/{entry['sha256']}.pem"
    _, _, other = make_ca("Impostor DSP")
    pem = other.public_bytes(serialization.Encoding.PEM)
    if not careful:
        files[old] = pem
        return old
    new = hashlib.sha256(other.public_bytes(serialization.Encoding.DER)).hexdigest()
    del files[old]
    files[f"run/certificates/{new}.pem"] = pem
    for index in [n for n in files if n.startswith("run/certificates/index")]:
        files[index] = files[index].replace(entry["sha256"].encode(), new.encode())
    return old


def test_a_replaced_certificate_is_named(run):
    name = {}
    proc = verify(tampered(run, "cert", lambda f: name.setdefault("n", replace_dsp_certificate(f)), resign=False),
                  run["ca"])
    assert proc.returncode == 1
    found = disagreements(proc)
    assert any(d.startswith(f"{name['n']}: SHA-256") for d in found), found
    assert any(d.startswith(name["n"]) and "the certificate was replaced" in d for d in found), found


def test_a_replaced_certificate_renamed_and_re_signed_is_named_by_the_signatures_it_no_longer_verifies(run):
    proc = verify(tampered(run, "cert", lambda f: replace_dsp_certificate(f, careful=True), resign=True), None)
    assert proc.returncode == 1
    found = disagreements(proc)
    dsp = [d for d in found if "DSP's signature does not verify with the bundled certificates" in d]
    assert len(dsp) > 100, found[:5]          # every answer of the DSP, each named by its leg
    assert all("the scenario passed" in d for d in dsp)


def test_a_file_slipped_into_the_bundle_is_named(run):
    proc = verify(tampered(run, "extra", lambda f: f.__setitem__("run/wire/extra.xml", b"<x/>"), resign=False),
                  run["ca"])
    assert proc.returncode == 1
    assert "run/wire/extra.xml: in the bundle but not in the signed manifest" in disagreements(proc)


def test_something_that_is_no_bundle_exits_2(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    proc = verify(tmp_path / "x.zip", None)
    assert proc.returncode == 2 and "not a readable zip" in proc.stderr


STALE_BASELINE = """[[deviation]]
requirement = "MP107-R1.4"
component = "S1SP1"
scenario = "*"
reason = "S1SP1 was expected to fail R1.4 (it does not: the entry is stale)"
ticket = "TEST-19"
expires = 2099-12-31
"""


def test_a_run_judged_with_a_baseline_is_recomputed_with_it_and_without_it_disagrees(run, tmp_path):
    """issue 17's --baseline: a stale entry makes the run NOT CONFORMANT; the bundle carries the baseline
    (named in verdict.json), verify-bundle re-applies it and agrees; a bundle that lost it does not."""
    import shutil
    judged = tmp_path / "judged"
    shutil.copytree(run["dir"], judged, ignore=shutil.ignore_patterns("*.zip"))
    baseline = tmp_path / "known-deviations.toml"
    baseline.write_text(STALE_BASELINE)
    report = mp107("report", judged, "--baseline", baseline)
    assert report.returncode == 1, report.stdout + report.stderr
    assert json.loads((judged / "verdict.json").read_text())["baseline"] == str(baseline)
    out = tmp_path / "with-baseline.zip"
    made = mp107("bundle", judged, "-o", out)
    assert made.returncode == 0, made.stderr
    files = members(out)
    assert files["inputs/baseline/known-deviations.toml"] == baseline.read_bytes()
    assert json.loads(files["manifest.json"])["inputs"]["baseline"] == "inputs/baseline/known-deviations.toml"
    checked = verify(out, None)
    assert checked.returncode == 0, checked.stdout
    assert "NOT CONFORMANT (exit 1), as recorded" in checked.stdout

    def drop(manifest):
        manifest["inputs"]["baseline"] = None
    run_with = {**run, "bundle": out}
    lost = verify(tampered(run_with, "baseline", lambda f: f.pop("inputs/baseline/known-deviations.toml"),
                           resign=True, edit_manifest=drop), None)
    assert lost.returncode == 1
    found = disagreements(lost)
    assert "run/verdict.json: judged with a baseline; the bundle holds none" in found, found
    assert any(d.startswith("run/verdict.json: verdict disagrees") for d in found), found
