"""The DCC's own interface (issue 12, items 2-6): the reference's serviceT / serviceS / serviceD, the
harness's round trip (transform -> sign the Pre-Command -> Command Variant 5), and the whole suite
against the reference in `dcc` dialect, in-process and served.

What is proved, and on what:

* the wrong Network Operator's correction succeeds only because of the GBCS signature: the same
  round trip, from the same user with its own XML signature, ends in S1VE64 (SMETS1) or the device's
  refusal (SMETS2) when the Pre-Command is signed with another organisation's key;
* the Pre-Command the reference builds from the shared 6.15.1 NO-by-NO template is the public RTDS
  4.5.0 Pre-Command of that template, byte for byte but for the certificates it carries;
* a Signed Pre-Command is checked against the transform request it belongs to (same RequestID, same
  user, unaltered command), is used once, and a request sent to the wrong endpoint is refused (E13);
* the profile's `[target] dialect` and `organisation_key`, and profiles/dcc-boxed.toml;
* the whole suite: every scenario passes in `dcc` dialect, the Critical-flow ones included, both
  with the reference hosted in pytest's process and served as a subprocess (started at the top of
  this module, so that they run while the other tests do).
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import gbcs
from adapters import dcc_dialect, profile as profiles
from adapters.client import Client
from adapters.reference_host import InProcessReference
from adapters.world import Cast, new_device, with_wrong_network_operator
from duis import codec, messages as m, signing
from duis.types import RequestID
from reference import critical
from smki import TestSMKI

pytestmark = pytest.mark.slow      # a whole-suite or served-reference run in a subprocess (quick loop: -m "not slow")

ROOT = Path(__file__).resolve().parents[1]
DCC_PROFILE = ROOT / "profiles" / "reference-dcc.toml"
BOXED_PROFILE = ROOT / "profiles" / "dcc-boxed.toml"
SUITE_TIMEOUT = 600          # a hang guard for the subprocesses, not a timing assertion
FLOW_FEATURE = "requirement4_critical_flow.feature"


# --------------------------------------------------------------------------- the suite, in dcc dialect

class SuiteRun:
    """`pytest features --profile profiles/reference-dcc.toml ARGS` in a subprocess, writing JUnit XML."""

    def __init__(self, folder: Path, name: str, *args: str) -> None:
        self.junit = folder / f"{name}.xml"
        self.log = folder / f"{name}.log"
        self.cmd = [sys.executable, "-m", "pytest", "features", "-q", "-p", "no:cacheprovider",
                    "--profile", str(DCC_PROFILE), f"--junitxml={self.junit}", f"--basetemp={folder / name}", *args]
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(self.cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)

    def results(self) -> dict[str, str]:
        """Test name -> passed / failure / error / skipped."""
        try:
            self.process.wait(timeout=SUITE_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        assert self.junit.exists(), f"no JUnit XML from {' '.join(self.cmd)}:\n{self.output()}"
        out = {}
        for case in ET.parse(self.junit).getroot().iter("testcase"):
            status = next((c.tag for c in case if c.tag in ("failure", "error", "skipped")), "passed")
            if out.get(case.get("name"), "passed") == "passed":
                out[case.get("name")] = status
        return out

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()


@pytest.fixture(scope="module", autouse=True)
def suite_runs(tmp_path_factory):
    """Both runs start before this module's first test and run beside the rest of it."""
    folder = tmp_path_factory.mktemp("dcc-suite")
    runs = {"in-process": SuiteRun(folder, "in-process"),
            "served": SuiteRun(folder, "served", "--target", "serve"),
            # issue 20, D1: a DCC (or a relay before it) that also pushes the Transform's answer and the
            # acknowledgement to the callback: a correct DCC all the same, judged on its real outcomes
            "behind a relay pushing its acknowledgements": SuiteRun(
                folder, "relay", "--reference-defect", "acknowledgements-published")}
    yield runs
    for run in runs.values():
        run.close()


def _flow_scenarios() -> int:
    text = (ROOT / "features" / FLOW_FEATURE).read_text()
    outlines = text.count("Scenario Outline:")
    rows = sum(1 for line in text.splitlines() if line.strip().startswith("|")) - outlines   # less the headers
    return text.count("Scenario:") + rows


# --------------------------------------------------------------------------- the reference in dcc dialect

def _world(reference: InProcessReference) -> tuple:
    """(reference, target, cast, client): the harness's cast loaded into `reference`, every party's keys given."""
    target = reference.target(profiles.load(DCC_PROFILE))
    cast = Cast()
    target.provision(cast.fixture())
    for party in cast.parties:
        target.register_signer(party.user_id, party.signer)
        target.register_organisation_key(party.user_id, party.organisation_key)
    return reference, target, cast, Client(target, outcome_timeout=10)


@pytest.fixture(scope="module")
def dcc_world():
    """The reference hosted with --interface dcc, the harness's cast loaded, every party's keys given."""
    reference = InProcessReference("--interface", "dcc")
    try:
        yield _world(reference)
    finally:
        reference.close()


def _device(world, *, smets=1, fuel="electricity"):
    """A fresh device whose NetworkOperator slot holds the wrong network operator's certificates."""
    reference, target, cast, _ = world
    setup = with_wrong_network_operator(cast, new_device(cast, fuel=fuel, smets=smets, s1sp="S1SP1", cohort="IOC"))
    target.provision(setup.fixture)
    return setup


def _correction(world, setup, *, spoil=None, await_outcome=True):
    """The wrong network operator's 6.15.1 handing the NetworkOperator slot to the registered one."""
    _, _, cast, client = world
    wrong = cast.party("wrong network operator", setup.fuel)
    registered = cast.party("registered network operator", setup.fuel)
    body = m.UpdateSecurityCredentialsKRP("NetworkOperator", 0, m.CertificatePair(*registered.certificate_pair()),
                                          cast.certification_path(), True)
    request = client.build(wrong.user_id, setup.device.device_id, "6.15.1", body)
    options = {"spoil": spoil} if spoil is not None else {}
    return client.send(wrong.signer, request, description="SRV 6.15.1 (correction)", await_outcome=await_outcome,
                       **options)


def _slot_owner(world, setup) -> str:
    return world[0].dcc.anchor_slot(setup.device.device_id, "NetworkOperator")["DigitalSigning"].entity_id


def test_the_wrong_network_operators_correction_succeeds_only_because_of_the_gbcs_signature(dcc_world):
    _, _, cast, _ = dcc_world
    setup = _device(dcc_world)
    wrong = cast.party("wrong network operator", setup.fuel)
    for holder in ("third network operator", "registered network operator"):
        key = cast.party(holder, setup.fuel).organisation_key
        refused = _correction(dcc_world, setup, spoil=dcc_dialect.signed_with_another_key(key, f"the {holder}"))
        assert refused.ack.code == "I99", refused.ack.reason        # the DSP sees the wrong NO, as it is
        alert = refused.outcome.response.s1sp_alert
        assert alert is not None and alert.code == "S1VE64", refused.outcome.code
        assert "GBCS command's signature does not verify" in alert.additional_information
        assert _slot_owner(dcc_world, setup) == wrong.user_id        # nothing changed
    done = _correction(dcc_world, setup)                             # the same, signed with its own key
    assert (done.ack.code, done.outcome.code) == ("I99", "I0")
    assert _slot_owner(dcc_world, setup) == cast.party("registered network operator", setup.fuel).user_id


def test_behind_a_relay_that_pushes_the_transform_answer_the_real_outcome_is_judged():
    """Issue 20, D1: the Transform's answer (I0 with the Pre-Command) pushed to the callback under the
    request's RequestID was taken for the outcome, so a 6.15.1 the S1SP refused (S1VE64) passed as I0."""
    reference = InProcessReference("--interface", "dcc", "--defect", "acknowledgements-published")
    try:
        world = _world(reference)
        _, target, cast, _ = world
        setup = _device(world)
        registered = cast.party("registered network operator", setup.fuel)
        body = m.UpdateSecurityCredentialsKRP("NetworkOperator", 0, m.CertificatePair(*registered.certificate_pair()),
                                              cast.certification_path(), True)
        exchange = world[3].send(registered.signer, world[3].build(registered.user_id, setup.device.device_id,
                                                                   "6.15.1", body))
        assert (exchange.ack.code, exchange.outcome.code) == ("I99", "S1VE64")   # not the Transform's I0
        kept = [e.reason for e in target.receiver.evidence(exchange.request_id)]
        assert any("Transform's answer" in r for r in kept), kept
    finally:
        reference.close()


def test_on_a_smets2_device_another_organisations_signature_is_the_devices_refusal(dcc_world):
    _, _, cast, _ = dcc_world
    setup = _device(dcc_world, smets=2, fuel="gas")
    key = cast.party("third network operator", setup.fuel).organisation_key
    refused = _correction(dcc_world, setup, spoil=dcc_dialect.signed_with_another_key(key, "the third network operator"))
    assert (refused.ack.code, refused.outcome.code) == ("I99", "E50")   # reference/codes.py E_SMETS2_DEVICE_REJECTED
    assert _slot_owner(dcc_world, setup) == cast.party("wrong network operator", setup.fuel).user_id
    assert _correction(dcc_world, setup).outcome.code == "I0"


def test_the_evidence_shows_both_legs_and_the_gbcs_command_decoded(dcc_world):
    setup = _device(dcc_world)
    exchange = _correction(dcc_world, setup)
    transform, command = exchange.legs
    counter = int(exchange.request_id.rsplit(":", 1)[1])
    assert transform.url.endswith("/api/v1/serviceT") and transform.code == "I0"
    assert transform.gbcs["message_code"] == "0x0103" and transform.gbcs["originator_counter"] == counter
    assert transform.gbcs["signature"]["state"] == "empty"          # the Pre-Command awaits its signature
    assert command.url.endswith("/api/v1/serviceS") and command.code == "I99"
    assert command.request_id == exchange.request_id                # the same RequestID
    assert command.gbcs["signature"]["state"] == "present" and "Organisation" in command.gbcs["signed_with"]
    assert b"<sr:CommandVariant>5</sr:CommandVariant>" in command.request
    assert len(exchange.notes) == 2 and "serviceT" in exchange.notes[0] and "serviceS" in exchange.notes[1]
    payload = dcc_dialect.issued_pre_command(exchange.legs)
    wrong = dcc_world[2].party("wrong network operator", setup.fuel)
    registered = dcc_world[2].party("registered network operator", setup.fuel)
    assert dcc_dialect.pre_command_problems(payload, sender=wrong.user_id, device=setup.device.device_id,
                                            counter=counter, role="NetworkOperator",
                                            pair=registered.certificate_pair()) == []
    assert dcc_dialect.pre_command_problems(payload, sender=registered.user_id, device=setup.device.device_id,
                                            counter=counter + 1, role="Supplier", pair=wrong.certificate_pair())


@pytest.mark.parametrize("spoil", ["altered before signing", "altered after signing", "another RequestID"])
def test_a_signed_pre_command_that_is_not_the_issued_one_is_refused_and_changes_nothing(dcc_world, spoil):
    _, _, cast, client = dcc_world
    setup = _device(dcc_world)
    spoils = {"altered before signing": dcc_dialect.carrying(
                  cast.party("third network operator", setup.fuel).certificate_pair(), "the third network operator"),
              "altered after signing": dcc_dialect.altered_after_signing(),
              "another RequestID": dcc_dialect.under_request_id(str(client.request_id(
                  cast.party("wrong network operator", setup.fuel).user_id, setup.device.device_id)))}
    exchange = _correction(dcc_world, setup, spoil=spoils[spoil], await_outcome=False)
    assert [leg.code for leg in exchange.legs] == ["I0", "E1"], exchange.ack.reason
    assert _slot_owner(dcc_world, setup) == cast.party("wrong network operator", setup.fuel).user_id
    assert dcc_world[0].dcc.response(exchange.request_id) is None     # nothing was sent on


def _raw_command(world, setup, *, cv=5, body=None, rid=None, signer=None):
    _, target, cast, client = world
    wrong = cast.party("wrong network operator", setup.fuel)
    rid = rid or client.request_id(wrong.user_id, setup.device.device_id)
    request = m.ServiceRequest(rid, cv, "6.15.1", body or m.SignedPreCommand(b"\xdf\x00"))
    return str(rid), signing.sign(codec.encode_request(request), signer or wrong.signer)


def test_a_request_sent_to_the_wrong_endpoint_is_e13_and_the_critical_ones_need_their_pre_command(dcc_world):
    _, target, cast, client = dcc_world
    setup = _device(dcc_world)
    wrong = cast.party("wrong network operator", setup.fuel)
    body = m.UpdateSecurityCredentialsKRP("NetworkOperator", 0, m.CertificatePair(*wrong.certificate_pair()),
                                          cast.certification_path(), True)
    rid, cv4 = _raw_command(dcc_world, setup, cv=4, body=body)
    assert target.submit_to(dcc_dialect.SEND_COMMAND, rid, cv4).code == "E13"     # a transform request to serviceS
    assert target.submit_to(dcc_dialect.NON_DEVICE, rid, cv4).code == "E13"
    rid, cv5_body = _raw_command(dcc_world, setup, cv=5, body=body)
    assert target.submit_to(dcc_dialect.SEND_COMMAND, rid, cv5_body).code == "E12"  # CV 5 without SignedPreCommand
    read = m.ServiceRequest(client.request_id(wrong.user_id, setup.device.device_id), 1, "6.24.1",
                            m.RetrieveDeviceSecurityCredentialsKRP(("NetworkOperator",)))
    xml = signing.sign(codec.encode_request(read), wrong.signer)
    assert target.submit_to(dcc_dialect.TRANSFORM, str(read.request_id), xml).code == "E13"
    rid, orphan = _raw_command(dcc_world, setup)                                   # no transform under this ID
    ack = target.submit_to(dcc_dialect.SEND_COMMAND, rid, orphan)
    assert ack.code == "E1" and "no Pre-Command awaits" in ack.reason
    rid, local = _raw_command(dcc_world, setup, cv=6)
    assert target.submit_to(dcc_dialect.SEND_COMMAND, rid, local).code == "E12"
    assert _slot_owner(dcc_world, setup) == wrong.user_id


def test_a_signed_pre_command_is_used_once_and_only_by_the_user_it_was_issued_to(dcc_world):
    reference, target, cast, client = dcc_world
    setup = _device(dcc_world)
    wrong = cast.party("wrong network operator", setup.fuel)
    exchange = _correction(dcc_world, setup, await_outcome=False)
    transform, command = exchange.legs
    assert command.code == "I99"
    again = target.submit_to(dcc_dialect.SEND_COMMAND, exchange.request_id, command.request)
    assert again.code == "E1" and "used already" in again.reason               # a replayed Signed Pre-Command
    # a fresh transform, its Pre-Command signed correctly but the request XML-signed by another user
    pending = target.submit_to(dcc_dialect.TRANSFORM, *_transform_of(dcc_world, setup))
    rid = pending.request_id
    signed = gbcs.sign(pending.response.pre_command.gbcs_payload, wrong.organisation_key)
    other = cast.party("third network operator", setup.fuel)
    _, xml = _raw_command(dcc_world, setup, body=m.SignedPreCommand(signed), rid=pending.response.request_id,
                          signer=other.signer)
    ack = target.submit_to(dcc_dialect.SEND_COMMAND, rid, xml)
    assert ack.code == "E1" and "signature" in ack.reason                       # not the transform's user
    reference.dcc.critical.reset()                                              # a test-support reset forgets it
    _, xml = _raw_command(dcc_world, setup, body=m.SignedPreCommand(signed), rid=pending.response.request_id)
    assert target.submit_to(dcc_dialect.SEND_COMMAND, rid, xml).code == "E1"


def _transform_of(world, setup) -> tuple[str, bytes]:
    _, _, cast, client = world
    wrong = cast.party("wrong network operator", setup.fuel)
    registered = cast.party("registered network operator", setup.fuel)
    body = m.UpdateSecurityCredentialsKRP("NetworkOperator", 0, m.CertificatePair(*registered.certificate_pair()),
                                          cast.certification_path(), True)
    rid = client.request_id(wrong.user_id, setup.device.device_id)
    return str(rid), signing.sign(codec.encode_request(m.ServiceRequest(rid, 4, "6.15.1", body)), wrong.signer)


def test_each_dialect_serves_its_own_endpoints_only(dcc_world):
    _, dcc_target, _, _ = dcc_world
    assert dcc_target.session.post(dcc_target.base_url + "/api/v1/serviceRequest", data=b"<x/>").status_code == 404
    with InProcessReference() as v1_url:
        import requests
        assert requests.post(v1_url + "/api/v1/serviceT", data=b"<x/>", timeout=10).status_code == 404
        assert requests.post(v1_url + "/api/v1/serviceRequest", data=b"<x/>", timeout=10).status_code == 400


# --------------------------------------------------------------------------- the Pre-Command, against RTDS

def test_the_pre_command_of_the_no_by_no_template_is_the_rtds_one_but_for_its_certificates(shared_duis):
    """The DUIS template and the RTDS 4.5.0 Pre-Command are the DCC's published pair (RequestID counter
    1200, ApplyTimeBasedCPVChecks true); the RTDS set carries other certificates of the same network
    operator, so those are swapped in before comparing byte for byte."""
    from test_gbcs import vector
    request = codec.decode_request((shared_duis / "samples" / "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    ours = critical.pre_command(request)
    rtds = vector("NO_6151_PRECOMMAND")
    assert ours[-1] == 0 and gbcs.signature_state(ours) == "empty"     # awaits its signature, as GBCS says
    decoded, published = gbcs.decode(ours), gbcs.decode(rtds)
    assert decoded.header == published.header
    assert decoded.body.control == published.body.control
    swapped = dataclasses.replace(decoded, signature=None, body=dataclasses.replace(
        decoded.body, replacements=published.body.replacements))
    assert gbcs.encode(swapped) == rtds
    assert critical.unsigned_part(ours) == ours[:-1]


def test_a_signed_pre_command_differs_from_the_issued_one_only_by_its_signature():
    smki = TestSMKI.generate("ZT")
    org = smki.issue_organisation("90-B3-D5-1F-30-02-00-04", "NetworkOperator")
    issued = critical.pre_command(m.ServiceRequest(
        RequestID.parse("90-B3-D5-1F-30-02-00-04:00-DB-12-34-56-78-90-A0:77"), 4, "6.15.1", m.UpdateSecurityCredentialsKRP("NetworkOperator", 0, m.CertificatePair(*org.der_pair()),
                                                    smki.certification_path(), False)))
    signed = gbcs.sign(issued, org.digital_signing.key)
    assert critical.alteration(issued, signed) is None
    assert "no signature" in critical.alteration(issued, issued)
    flipped = signed[:40] + bytes([signed[40] ^ 1]) + signed[41:]
    assert "differs" in critical.alteration(issued, flipped)
    assert critical.alteration(issued, signed + b"\x00") is not None
    assert "not a General Signing APDU" in critical.alteration(issued, b"\x00\x01")


# --------------------------------------------------------------------------- profiles

def _profile(tmp_path: Path, target: str, users: str = "") -> Path:
    path = tmp_path / "p.toml"
    path.write_text(f'[target]\nname = "t"\nbase_url = "http://127.0.0.1:1"\n{target}\n'
                    '[capabilities]\ntest_support = true\n' + users)
    return path


def test_the_dialect_defaults_to_v1_and_must_be_one_the_harness_speaks(tmp_path):
    assert profiles.load(_profile(tmp_path, "")).dialect == "v1"
    assert profiles.load(DCC_PROFILE).dialect == "dcc"
    with pytest.raises(profiles.ProfileError, match=r"\[target\]\.dialect: expected \"v1\" or \"dcc\".*got 'boxed'"):
        profiles.load(_profile(tmp_path, 'dialect = "boxed"'))


def test_an_organisation_key_must_be_the_key_of_the_organisation_digital_signing_certificate(tmp_path):
    smki = TestSMKI.generate("ZP")
    org = smki.issue_organisation("90-B3-D5-1F-30-02-00-07", "NetworkOperator")
    other = smki.issue_organisation("90-B3-D5-1F-30-02-00-07", "NetworkOperator")
    for name, data in (("ds.pem", org.digital_signing.cert_pem()), ("ka.pem", org.key_agreement.cert_pem()),
                       ("ds.key", org.digital_signing.key_pem()), ("other.key", other.digital_signing.key_pem())):
        (tmp_path / name).write_bytes(data)
    user = ('[[users]]\nuser_id = "90-B3-D5-1F-30-02-00-07"\nroles = ["ED"]\nkey = "generate"\n'
            'plays = [{ party = "wrong network operator", fuel = "electricity" }]\n'
            'organisation = { digital_signing = "ds.pem", key_agreement = "ka.pem" }\n')
    good = profiles.load(_profile(tmp_path, "", user + 'organisation_key = "ds.key"\n'))
    party = good.cast().party("wrong network operator", "electricity")
    assert party.organisation_key.public_key().public_numbers() == org.digital_signing.cert.public_key().public_numbers()
    with pytest.raises(profiles.ProfileError, match="organisation_key: expected the EC private key"):
        profiles.load(_profile(tmp_path, "", user + 'organisation_key = "other.key"\n'))
    bare = user.split("organisation =")[0]
    with pytest.raises(profiles.ProfileError, match="organisation_key: expected no key without organisation"):
        profiles.load(_profile(tmp_path, "", bare + 'organisation_key = "ds.key"\n'))
    harness_made = profiles.load(_profile(tmp_path, "", bare)).cast().party("wrong network operator", "electricity")
    assert harness_made.organisation_key is harness_made.credentials.organisation.digital_signing.key


def test_the_dcc_boxed_profile_reads_the_zaz1_keys_in_place_and_names_what_it_lacks(tmp_path, shared_duis):
    """Laid out as in a checkout (main/profiles beside shared/), it says which exported Organisation file
    is missing; with stand-ins for those, it loads: DCC Boxed's port, the DCC dialect, the ZAZ1 users'
    XML-signing keys and the DSP certificate from ../shared/duis/smki, no test support."""
    main = tmp_path / "main" / "profiles"
    main.mkdir(parents=True)
    shutil.copy(BOXED_PROFILE, main / "dcc-boxed.toml")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "duis").symlink_to(shared_duis, target_is_directory=True)
    with pytest.raises(profiles.ProfileError, match=r"dccboxed-org-certs/Z1-issuing-ca\.pem.*no such file"):
        profiles.load(main / "dcc-boxed.toml")
    smki = TestSMKI.generate("Z1")
    org_dir = tmp_path / "dccboxed-org-certs"
    org_dir.mkdir()
    (org_dir / "Z1-issuing-ca.pem").write_bytes(smki.issuing.cert_pem())
    for user_id, name, role in (("90-B3-D5-1F-30-01-00-00", "supplier", "Supplier"),
                                ("90-B3-D5-1F-30-02-00-00", "networkOperator", "NetworkOperator")):
        org = smki.issue_organisation(user_id, role)
        (org_dir / f"Z1-{name}-ds.pem").write_bytes(org.digital_signing.cert_pem())
        (org_dir / f"Z1-{name}-ka.pem").write_bytes(org.key_agreement.cert_pem())
        (org_dir / f"Z1-{name}-ds.key").write_bytes(org.digital_signing.key_pem())
    boxed = profiles.load(main / "dcc-boxed.toml")
    assert (boxed.dialect, boxed.base_url, boxed.test_support) == ("dcc", "http://127.0.0.1:8079", False)
    assert {u.user_id for u in boxed.users} == {"90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-02-00-00"}
    assert all(u.organisation_key is not None and u.xml_signing is not None for u in boxed.users)
    assert boxed.dsp_certificate.serial_number == profiles.cert_inspect.as_certificate(
        (shared_duis / "smki" / "dsp-xml-sign-90B3D51F30000002-ds.pem").read_bytes()).serial_number
    assert boxed.statement.smets2 and not any(s.in_scope for s in boxed.statement.s1sps.values())
    assert "../../shared/duis/smki/xml-sign-90B3D51F30010000-ds.key" in BOXED_PROFILE.read_text()   # read in place
    shared_keys = {p.read_bytes() for p in (shared_duis / "smki").glob("*.key")}
    copies = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in (".git", ".venv", "node_modules", "__pycache__")]
        copies += [Path(folder, f) for f in files if Path(folder, f).stat().st_size < 4096
                   and Path(folder, f).read_bytes() in shared_keys]
    assert not copies, f"the ZAZ1 keys are read from ../shared, never copied into the project: {copies}"


# --------------------------------------------------------------------------- the suite's verdicts

@pytest.mark.parametrize("where", ["in-process", "served", "behind a relay pushing its acknowledgements"])
def test_the_whole_suite_passes_against_the_reference_in_dcc_dialect(suite_runs, where):
    run = suite_runs[where]
    results = run.results()
    bad = {name: status for name, status in results.items() if status != "passed"}
    assert not bad, f"{where}: {bad}\n{run.output()}"
    flow = [name for name in results if "pre_command" in name.lower() or "precommand" in name.lower()]
    assert len(flow) == _flow_scenarios(), (flow, _flow_scenarios())
    assert len(results) > 150
