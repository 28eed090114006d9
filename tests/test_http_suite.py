"""The whole features suite over HTTP in situations a user's run meets: an S1SP that has not
implemented MP107 fails exactly its R1.2 and R1.4-R1.6 scenarios; the ZAZ1 users' keys work against
the reference served by `python -m reference serve`; a target that is down or dies mid-run gives
*broken* scenarios (JUnit <error>), never failures; a target without test support is driven from
its profile's users and devices, and what it cannot do is skipped with the reason.

(In-process and served runs take the same path -- HttpTarget over HTTP to the same app -- so no
test compares them.) Each run is `pytest features` in a subprocess writing JUnit XML, which is read
back here. The full suite runs twice (S1SP2 not implemented, in this process's reference; ZAZ1,
against a served one), started together, and in parts for the rest."""
from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.reference_host import ServedReference
from adapters.world import Cast, new_device, party_keys

pytestmark = pytest.mark.slow      # a whole-suite or served-reference run in a subprocess (quick loop: -m "not slow")

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_PROFILE = "profiles/reference.toml"
SUITE_TIMEOUT = 600      # a hang guard for the subprocess, not a timing assertion


@dataclass(frozen=True)
class Verdict:
    status: str            # passed, failure, error, skipped
    message: str
    text: str
    broken: bool


def verdicts(junit: Path) -> dict[str, Verdict]:
    """Test name -> verdict (the worst of its <testcase> elements)."""
    rank = {"passed": 0, "skipped": 1, "failure": 2, "error": 3}
    out: dict[str, Verdict] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        status, message, text = "passed", "", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                status, message, text = child.tag, child.get("message") or "", child.text or ""
        broken = any(p.get("name") == "verdict" and p.get("value") == "broken" for p in case.iter("property"))
        name = case.get("name")
        if name not in out or rank[status] > rank[out[name].status]:
            out[name] = Verdict(status, message, text, broken or (name in out and out[name].broken))
    return out


class SuiteRun:
    """`pytest features ...` in a subprocess, writing JUnit XML; started now, read on `result()`."""

    def __init__(self, tmp: Path, name: str, *args: str) -> None:
        self.junit = tmp / f"{name}.xml"
        self.cmd = [sys.executable, "-m", "pytest", "features", "-q", "-p", "no:cacheprovider",
                    f"--junitxml={self.junit}", f"--basetemp={tmp / f'{name}-tmp'}", *args]
        self.log = tmp / f"{name}.log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(self.cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)

    def result(self) -> dict[str, Verdict]:
        try:
            self.process.wait(timeout=SUITE_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        assert self.junit.exists(), f"no JUnit XML from {' '.join(self.cmd)}:\n{self.log.read_text()[-3000:]}"
        return verdicts(self.junit)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def by_status(results: dict[str, Verdict], status: str) -> set[str]:
    return {name for name, v in results.items() if v.status == status}


def free_closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Runs(dict):
    """Suite runs started together (two at a time keep both cores busy), and the servers they use."""

    def __init__(self) -> None:
        super().__init__()
        self.servers: list[ServedReference] = []

    def serve(self, folder: Path) -> str:
        server = ServedReference(log_path=folder / "served.log")
        self.servers.append(server)
        return server.start()

    def close(self) -> None:
        for run in self.values():
            if run.process.poll() is None:
                run.process.kill()
        for server in self.servers:
            server.stop()


@pytest.fixture(scope="module")
def second_runs(tmp_path_factory):
    """S1SP2 not implemented (in-process) beside the ZAZ1 profile (against a served reference)."""
    folder = tmp_path_factory.mktemp("second")
    runs = Runs()
    runs["s1sp2"] = SuiteRun(folder, "s1sp2", "--reference-s1sp-not-implemented", "S1SP2")
    if (ROOT.parent / "shared" / "duis" / "smki").is_dir():
        runs["zaz1"] = SuiteRun(folder, "zaz1", "--target", runs.serve(folder), "--profile", "profiles/zaz1.toml")
    yield runs
    runs.close()


def _s1sp2_r1_2_to_r1_6() -> set[str]:
    """The S1SP2 scenarios tagged MP107-R1.2, R1.4, R1.5 or R1.6, as pytest collects them."""
    cmd = [sys.executable, "-m", "pytest", "features", "--collect-only", "-q", "-p", "no:cacheprovider",
           "--s1sp", "S1SP2", "-m", "MP107-R1.2 or MP107-R1.4 or MP107-R1.5 or MP107-R1.6"]
    listing = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120).stdout
    return {line.split("::")[-1] for line in listing.splitlines() if "::" in line}


def test_an_s1sp_that_has_not_implemented_mp107_fails_exactly_its_r1_2_and_r1_4_to_r1_6(second_runs):
    run = second_runs["s1sp2"]
    expected = _s1sp2_r1_2_to_r1_6()
    results = run.result()
    assert len(expected) == 6, expected            # FIA script (R1.2, R1.4), R1.5, R1.6; electricity and gas
    assert by_status(results, "failure") == expected, run.output()[-3000:]
    assert not by_status(results, "error")
    for name in expected:
        text = results[name].text
        assert re.search(r"acknowledgement: I99\b.*\n.*final outcome: S1VE4", text), \
            f"{name}: expected I99 then S1VE4 in the failure text, got:\n{text[-1500:]}"
    # the other S1SPs, and S1SP2's other scenarios (R1.10 sets the flag itself), are unaffected
    assert len(by_status(results, "passed")) > 80


def test_the_zaz1_profile_passes_against_the_served_reference(shared_duis, second_runs):
    """The same scenarios pass as with the harness's own users: all of them, the S1SP2 run's
    passes and its six expected failures."""
    run = second_runs["zaz1"]
    results, yardstick = run.result(), second_runs["s1sp2"].result()
    assert not by_status(results, "failure") and not by_status(results, "error"), run.output()[-3000:]
    assert by_status(results, "passed") == by_status(yardstick, "passed") | by_status(yardstick, "failure")


def test_a_target_that_is_not_there_gives_broken_scenarios(tmp_path):
    url = f"http://127.0.0.1:{free_closed_port()}"
    run = SuiteRun(tmp_path, "closed", "--target", url, "--profile", REFERENCE_PROFILE, "--outcome-timeout", "2")
    results = run.result()
    assert results and set(by_status(results, "error")) == set(results), run.output()[-2000:]
    for name, verdict in results.items():
        assert verdict.broken, name
        assert url in verdict.message and "connection refused" in verdict.message, verdict.message
        assert "\n" not in verdict.message


def test_a_target_that_dies_mid_run_gives_broken_scenarios(tmp_path):
    """Kill the served reference (SIGKILL) once five scenarios have passed."""
    server = ServedReference(log_path=tmp_path / "served.log")
    base_url = server.start()
    junit = tmp_path / "killed.xml"
    cmd = [sys.executable, "-m", "pytest", "features", "-v", "-p", "no:cacheprovider", f"--junitxml={junit}",
           f"--basetemp={tmp_path / 'bt'}", "-m", "MP107-R1.9", "--target", base_url, "--profile", REFERENCE_PROFILE,
           "--outcome-timeout", "3"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    watchdog = threading.Timer(SUITE_TIMEOUT, proc.kill)
    watchdog.start()
    passed_before_kill, lines = 0, []
    try:
        for line in proc.stdout:
            lines.append(line)
            if " PASSED" in line and server.process.poll() is None:
                passed_before_kill += 1
                if passed_before_kill == 5:
                    server.kill()
        proc.wait()
    finally:
        watchdog.cancel()
        server.stop()
    results = verdicts(junit)
    output = "".join(lines)[-3000:]
    assert passed_before_kill == 5 and len(by_status(results, "passed")) >= 5, output
    assert not by_status(results, "failure"), output
    broken = by_status(results, "error")
    assert len(broken) >= len(results) - 7, output     # at most one scenario was past its last request
    for name in broken:
        assert results[name].broken and base_url in results[name].message, results[name].message


# --- a target without test support, driven from its profile ---------------------------------------

def _b64(der: bytes) -> str:
    return base64.b64encode(der).decode()


def _preprovisioned(folder: Path, cast: Cast, devices) -> tuple[str, Path]:
    """Key and certificate files for every party, a --load file for the server and the profile
    text (without [target]) naming them: what an operator of a real target would hand over."""
    users, load = [], {"users": [], "trust_anchors": [{"certificate": _b64(cast.smki.issuing.cert_der())}],
                       "devices": [], "registrations": [], "anchor_slots": []}
    (folder / "issuing.pem").write_bytes(cast.smki.issuing.cert_pem())
    (folder / "root.pem").write_bytes(cast.smki.root.cert_pem())
    for fuel, label in party_keys():
        party = cast.party(label, fuel)
        stem = party.user_id.replace("-", "")
        party.credentials.xml_signing.save(folder / f"{stem}.key", folder / f"{stem}.pem")
        entry = [f'[[users]]\nuser_id = "{party.user_id}"\nroles = {sorted(party.credentials.roles)!r}'.replace("'", '"'),
                 f'plays = [{{ party = "{label}"' + (f', fuel = "{fuel}"' if fuel else "") + " }]",
                 f'key = "{stem}.key"\ncertificate = "{stem}.pem"']
        if party.credentials.organisation is not None:
            org = party.credentials.organisation
            (folder / f"{stem}-ds.pem").write_bytes(org.digital_signing.cert_pem())
            (folder / f"{stem}-ka.pem").write_bytes(org.key_agreement.cert_pem())
            entry.append(f'organisation = {{ digital_signing = "{stem}-ds.pem", key_agreement = "{stem}-ka.pem" }}')
        users.append("\n".join(entry))
        load["users"].append({"user_id": party.user_id, "roles": sorted(party.credentials.roles),
                              "xml_signing_certificate": _b64(party.credentials.xml_signing.cert_der())})
    device_entries = []
    for setup in devices:
        d, r = setup.device, setup.registration
        load["devices"].append({"device_id": d.device_id, "device_type": d.device_type, "smets": d.smets,
                                "mpxn": d.mpxn, **({"s1sp": d.s1sp} if d.smets == 1 else {})})
        load["registrations"].append({"mpxn": r.mpxn, "fuel": r.fuel, "supplier_id": r.supplier_id,
                                      "network_operator_id": r.network_operator_id})
        load["anchor_slots"] += [{"device_id": s.device_id, "remote_party_role": s.remote_party_role,
                                  "digital_signing_certificate": _b64(s.digital_signing_der),
                                  "key_agreement_certificate": _b64(s.key_agreement_der)} for s in setup.fixture.slots]
        device_entries.append("\n".join([
            f'[[devices]]\ndevice_id = "{d.device_id}"\ntype = "{d.device_type}"\nsmets = {d.smets}',
            *([f's1sp = "{d.s1sp}"'] if d.smets == 1 else []),
            f'mpxn = "{d.mpxn}"\nregistered_supplier = "{r.supplier_id}"',
            f'registered_network_operator = "{r.network_operator_id}"']))
    load_file = folder / "load.json"
    load_file.write_text(__import__("json").dumps(load))
    statement = ('[statement]\nfeature_switch = "on"\n'
                 + "".join(f'[statement.s1sps.{s}]\nimplements_mp107 = true\n' for s in ("S1SP1", "S1SP2", "S1SP3")))
    profile = "\n\n".join(['[capabilities]\ntest_support = false', statement,
                           '[smki]\ncertification_path = ["issuing.pem", "root.pem"]', *users, *device_entries])
    return profile, load_file


def test_a_target_without_test_support_is_driven_from_its_profile(tmp_path):
    cast = Cast()
    devices = [new_device(cast, fuel="electricity", smets=1, s1sp="S1SP1", cohort="IOC") for _ in range(30)]
    devices += [new_device(cast, fuel="electricity", smets=2, s1sp=None, cohort=None) for _ in range(6)]
    profile_text, load_file = _preprovisioned(tmp_path, cast, devices)
    dsp_pem = tmp_path / "dsp.pem"
    server = ServedReference("--load", str(load_file), "--dsp-certificate-out", str(dsp_pem), test_support=False,
                             log_path=tmp_path / "served.log")
    base_url = server.start()
    try:
        profile = tmp_path / "pre-provisioned.toml"
        profile.write_text(f'[target]\nname = "pre-provisioned reference"\nbase_url = "{base_url}"\n'
                           f'dsp_certificate = "dsp.pem"\n\n{profile_text}\n')
        run = SuiteRun(tmp_path, "preprovisioned", "--target", "profile", "--profile", str(profile),
                       "-m", "not (MP107-R2.1 or MP107-R2.2 or MP107-R2.3 or MP107-R2.4)")
        results = run.result()
    finally:
        server.stop()
    output = run.output()[-3000:]
    assert not by_status(results, "failure") and not by_status(results, "error"), output
    passed = by_status(results, "passed")
    fia = "test_fia_sit_script_the_wrong_network_operator_puts_the_registered_network_operators_certificates_on_the_fuel_device_of_s1sp"
    assert f"{fia}[S1SP1-electricity]" in passed and len(passed) >= 20, output
    skipped = {name: results[name].message for name in by_status(results, "skipped")}
    assert f"{fia}[S1SP2-gas]" in skipped and "lists no unused SMETS1 GPF of S1SP2" in skipped[f"{fia}[S1SP2-gas]"]
    coordination = ("test_an_s1sp_that_has_not_implemented_mp107_rejects_the_wrong_network_operators_6151_on_the_fuel_"
                    "device_of_s1sp[S1SP1-electricity]")
    assert "not applicable: needs S1SP1 not to have implemented MP107" in skipped[coordination]
    assert "implements_mp107 = true" in skipped[coordination]
    assert all("not applicable: " in reason or "lists no unused" in reason for reason in skipped.values()), skipped
    # every scenario the statement rules out says which line did it; nothing was sent for them
    assert not any("lacks the" in reason for reason in skipped.values()), skipped
