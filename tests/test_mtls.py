"""HTTPS with mutual TLS on both sides (SPEC §5 Target Interface v1.1; issue 10 item 4).

The harness presents its client certificate to the DCC and trusts only its profile's CA bundle
([tls], adapters/profile.py); the served reference (`python -m reference serve --tls-certificate
--tls-key --tls-client-ca`) refuses a client without a certificate issued by that CA, in the TLS
handshake; the DCC POSTs outcomes to the harness's callback receiver over HTTPS, presenting its own
certificate, which the receiver requires.

- the whole suite passes over mutual TLS with the shipped profiles/reference-tls.toml, and its
  outcomes really were pushed over HTTPS (not only polled);
- a client without a certificate, or with one from another CA, is refused at the TLS layer, and the
  harness reports that as a one-line target fault (broken scenarios, never a traceback);
- a server certificate not issued by the profile's CA is refused;
- the receiver over HTTPS takes an outcome from a client with the right certificate and refuses one
  without (or with another CA's), with its limits unchanged.

TLS material is made into a temporary folder by scripts/make_tls_material.py (two sets: ours and
another CA's); the suite run uses the shipped material."""
from __future__ import annotations

import importlib.util
import json
import os
import socket
import ssl
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from adapters.callbacks import CallbackReceiver, server_tls_context
from adapters.http import HttpTarget
from adapters.reference_host import ServedReference
from adapters.profile import TLS, Callbacks, Profile, ProfileError, Timeouts, load
from adapters.target import TargetFault
from duis import codec, signing
from duis.types import RequestID

pytestmark = pytest.mark.slow      # a whole-suite or served-reference run in a subprocess (quick loop: -m "not slow")

ROOT = Path(__file__).resolve().parents[1]
TLS_PROFILE = ROOT / "profiles" / "reference-tls.toml"
SUITE_TIMEOUT = 300          # a hang guard for the subprocess, not a timing assertion
RID = "90-B3-D5-1F-30-01-00-03:00-DB-00-00-00-00-00-01:"


def _generator():
    spec = importlib.util.spec_from_file_location("make_tls_material", ROOT / "scripts" / "make_tls_material.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    """Two independent sets: "ours" (the served reference's and the harness's) and "other" (another CA)."""
    folder = tmp_path_factory.mktemp("tls")
    make = _generator().make
    return {"ours": make(folder / "ours"), "other": make(folder / "other", ca_name="another TLS CA", readme=False)}


@pytest.fixture(scope="module")
def served(material, tmp_path_factory):
    """The reference over HTTPS, requiring a client certificate issued by our CA."""
    ours = material["ours"]
    server = ServedReference("--tls-certificate", str(ours["dcc.pem"]), "--tls-key", str(ours["dcc.key.pem"]),
                             "--tls-client-ca", str(ours["ca.pem"]),
                             log_path=tmp_path_factory.mktemp("served") / "served.log")
    url = server.start()
    yield url
    server.close()


def tls_profile(material, *, client: str | None = "ours", ca: str = "ours") -> Profile:
    """The harness's view: a client certificate from `client`'s set (None: none), trusting `ca`'s CA."""
    pair = material[client] if client else {}
    return Profile(name="mutual TLS", test_support=True, timeouts=Timeouts(connect=2.0, read=5.0, exchange=10.0),
                   callbacks=Callbacks(mode="poll"),
                   tls=TLS(client_certificate=pair.get("harness.pem"), client_key=pair.get("harness.key.pem"),
                           ca_bundle=material[ca]["ca.pem"]))


def junit_cases(path: Path) -> dict[str, tuple[str, str, bool]]:
    """Test name -> (passed|failure|error|skipped, message, broken)."""
    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        status, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                status, message = child.tag, child.get("message") or ""
        broken = any(p.get("name") == "verdict" and p.get("value") == "broken" for p in case.iter("property"))
        out[case.get("name")] = (status, message, broken)
    return out


class SuiteRun:
    """`pytest features ARGS` in a subprocess, started now; `result()`: its JUnit cases, its output, and
    with `probe` what the harness's target saw (the receiver's verified pushes, the DCC's delivery counts)."""

    def __init__(self, tmp_path: Path, name: str, *args: str, probe: bool = False) -> None:
        self.junit = tmp_path / f"{name}.xml"
        self.log = tmp_path / f"{name}.log"
        self.probe_out = tmp_path / f"{name}-probe.json" if probe else None
        env = dict(os.environ)
        self.cmd = [sys.executable, "-m", "pytest", "features", "-q", "-p", "no:cacheprovider",
                    f"--junitxml={self.junit}", f"--basetemp={tmp_path / f'{name}-tmp'}", *args]
        if probe:
            (tmp_path / "mtls_probe.py").write_text(textwrap.dedent(f'''
                import json
                import pytest

                @pytest.fixture(scope="session", autouse=True)
                def _mtls_probe(target):
                    yield
                    state = target._json("GET", "/test-support/v1/state")
                    receiver = target.receiver
                    with open({str(self.probe_out)!r}, "w") as out:
                        json.dump({{"base_url": target.base_url, "receiver": receiver and receiver.url,
                                   "received": receiver.received if receiver else 0,
                                   "refused": list(receiver.refused) if receiver else [],
                                   "callback_refusal": target.callback_refusal,
                                   "deliveries": state.get("deliveries")}}, out)
                '''))
            env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
            self.cmd[5:5] = ["-p", "mtls_probe"]
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(self.cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def result(self) -> tuple[dict, str, dict | None]:
        try:
            self.process.wait(timeout=SUITE_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        output = self.log.read_text(errors="replace")[-3000:]
        assert self.junit.exists(), f"no JUnit XML from {' '.join(self.cmd)}:\n{output}"
        probe = json.loads(self.probe_out.read_text()) if self.probe_out else None
        return junit_cases(self.junit), output, probe

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def suite_over_mtls(tmp_path_factory):
    """The whole suite with the shipped TLS profile, started by the first test here and judged by the
    last one, so that the rest run meanwhile (killed at the end of the module if still running)."""
    run = SuiteRun(tmp_path_factory.mktemp("suite"), "mtls", "--target", "serve", "--profile", str(TLS_PROFILE),
                   probe=True)
    yield run
    run.kill()


def test_the_shipped_tls_profile_names_usable_material(suite_over_mtls):
    profile = load(TLS_PROFILE)
    assert profile.base_url.startswith("https://") and profile.tls.receiver == "mutual-tls"
    assert profile.tls.client_pair and Path(profile.tls.verify).is_file()
    assert profile.tls.serve_arguments()[::2] == ["--tls-certificate", "--tls-key", "--tls-client-ca"]


@pytest.mark.parametrize("tls, fragment", [
    ('client_certificate = "ours/harness.pem"', "[tls].client_key: expected a file, since [tls].client_certificate"),
    ('client_certificate = "ours/harness.pem"\nclient_key = "ours/nope.pem"',
     "[tls].client_key: expected an existing file"),
    ('client_certificate = "ours/harness.pem"\nclient_key = "ours/dcc.key.pem"', "KEY_VALUES_MISMATCH"),
    ('ca_bundle = "ours/README.md"', "[tls].ca_bundle: expected a PEM bundle of CA certificates"),
    ('client_certificate = "ours/harness.pem"\nclient_key = "ours/harness.key.pem"',
     '[tls].ca_bundle: expected the CA bundle the target\'s client certificate is checked against'),
    ('ca_bundle = "ours/ca.pem"\nreceiver = "tls"', '[tls].receiver: expected "plain", or receiver_certificate'),
    ('client_certificate = "ours/harness.pem"\nclient_key = "ours/harness.key.pem"\nca_bundle = "ours/ca.pem"\n'
     '[callbacks]\nurl = "http://127.0.0.1:9000/outcomes"', "[callbacks].url: expected a https:// URL"),
    ('clientcert = "x"', "[tls]: unknown key 'clientcert'"),
])
def test_a_tls_table_that_cannot_work_is_refused_naming_the_key(material, tls, fragment):
    folder = material["ours"]["ca.pem"].parent.parent
    path = folder / "bad.toml"
    path.write_text(f"[tls]\n{tls}\n")
    with pytest.raises(ProfileError) as excinfo:
        load(path)
    assert fragment in str(excinfo.value) and "\n" not in str(excinfo.value), str(excinfo.value)


def test_serve_refuses_tls_options_that_cannot_work_with_one_line(material):
    from reference.server import cli
    ours = material["ours"]
    proc = subprocess.run([sys.executable, "-m", "reference", "serve", "--port", "0", "--tls-certificate",
                           str(ours["dcc.pem"])], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == "", proc
    assert proc.stderr.strip().splitlines() == [
        "python -m reference serve: --tls-certificate: expected --tls-key too (both or neither), got only "
        "--tls-certificate"], proc.stderr
    for argv, fragment in ((["--tls-key", str(ours["dcc.key.pem"])], "expected --tls-certificate too"),
                           (["--tls-client-ca", str(ours["ca.pem"])], "--tls-client-ca: expected --tls-certificate"),
                           (["--tls-certificate", str(ours["dcc.pem"]), "--tls-key", str(ours["harness.key.pem"])],
                            "KEY_VALUES_MISMATCH"),
                           (["--callback-ca", str(ours["README.md"])], "--callback-ca")):
        with pytest.raises(cli.StartError, match=fragment):
            cli._tls(cli.parse(argv))


@pytest.mark.parametrize("client", [None, "other"], ids=["no client certificate", "another CA's certificate"])
def test_a_client_the_dcc_does_not_trust_is_refused_in_the_tls_handshake(served, material, client):
    host, port = "127.0.0.1", int(served.rsplit(":", 1)[1])
    context = ssl.create_default_context(cafile=material["ours"]["ca.pem"])
    context.maximum_version = ssl.TLSVersion.TLSv1_2      # the server's verdict comes inside the handshake
    if client:
        context.load_cert_chain(material[client]["harness.pem"], material[client]["harness.key.pem"])
    with socket.create_connection((host, port), timeout=5) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError)):      # the handshake itself fails: no HTTP at all
            context.wrap_socket(raw, server_hostname=host).close()
    with pytest.raises(TargetFault) as excinfo:
        HttpTarget(served, tls_profile(material, client=client)).close()
    text = str(excinfo.value)
    assert "\n" not in text and served in text and "client certificate" in text, text


def test_the_harness_reports_a_refused_client_as_broken_scenarios_with_one_line(served, material, tmp_path):
    ca = material["ours"]["ca.pem"]
    profile = tmp_path / "no-client-certificate.toml"
    profile.write_text(f'[target]\ndsp_certificate = "from-test-support"\n\n[capabilities]\ntest_support = true\n\n'
                       f'[tls]\nca_bundle = "{ca}"\n')
    cases, output, _ = SuiteRun(tmp_path, "refused", "-m", "MP107-R1.9", "-k", "S1SP1 and electricity",
                                "--target", served, "--profile", str(profile)).result()
    assert cases, output
    for name, (status, message, broken) in cases.items():
        assert status == "error" and broken, (name, status, message)
        assert "\n" not in message and served in message and "[tls].client_certificate" in message, message
    assert "Traceback" not in output, output


def test_a_server_certificate_not_issued_by_the_profiles_ca_is_refused(served, material):
    with pytest.raises(TargetFault) as excinfo:
        HttpTarget(served, tls_profile(material, ca="other")).close()
    text = str(excinfo.value)
    assert "\n" not in text and served in text, text
    assert "TLS refused" in text and "CERTIFICATE_VERIFY_FAILED" in text and "[tls].ca_bundle" in text, text
    target = HttpTarget(served, tls_profile(material))      # the same DCC, our CA: fine
    try:
        assert target.test_support and target.dsp_certificate is not None
    finally:
        target.close()


# --- the callback receiver over HTTPS ----------------------------------------------------------------

def _eventually(check, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def outcome(signer, rid: str) -> bytes:
    return signing.sign(codec.encode_acknowledgement(RequestID.parse(rid), "I0", "6.24.1",
                                                     datetime.now(timezone.utc)), signer)


@pytest.fixture
def receiver(material):
    ours = material["ours"]
    r = CallbackReceiver(tls=server_tls_context(str(ours["harness.pem"]), str(ours["harness.key.pem"]),
                                                client_ca=str(ours["ca.pem"])), read_timeout=0.5)
    yield r
    r.close()


def test_the_receiver_over_https_takes_an_outcome_from_the_dcc_and_refuses_other_clients(receiver, material,
                                                                                           make_xml_signer):
    from reference.server.callbacks import CallbackDelivery, client_tls_context
    ours, other = material["ours"], material["other"]
    assert receiver.url.startswith("https://127.0.0.1:")
    dsp = make_xml_signer("dsp")
    # a raw TCP connection that never starts its handshake holds nothing up, and is dropped
    stalled = socket.create_connection(("127.0.0.1", int(receiver.url.split(":")[2].split("/")[0])), timeout=5)
    # the DCC's own delivery, presenting its certificate and trusting our CA
    delivery = CallbackDelivery(tls_context=client_tls_context(str(ours["ca.pem"]), str(ours["dcc.pem"]),
                                                               str(ours["dcc.key.pem"])), attempts=1)
    first = outcome(dsp, RID + "1")
    try:
        delivery.deliver(receiver.url, RID + "1", first)
        assert receiver.wait(RID + "1", 5) == first
        assert _eventually(lambda: delivery.stats == {"delivered": 1, "failed": 0, "dropped": 0}), delivery.stats
    finally:
        delivery.close()
    assert stalled.recv(10) == b""            # dropped after the read timeout (0.5 s)
    stalled.close()
    answer = requests.post(receiver.url, data=outcome(dsp, RID + "2"), timeout=5,
                           cert=(str(ours["dcc.pem"]), str(ours["dcc.key.pem"])), verify=str(ours["ca.pem"]))
    assert answer.status_code == 204 and receiver.wait(RID + "2", 1) is not None
    for cert in (None, (str(other["dcc.pem"]), str(other["dcc.key.pem"]))):
        with pytest.raises(requests.exceptions.ConnectionError):     # SSLError is one
            requests.post(receiver.url, data=outcome(dsp, RID + "3"), timeout=5, cert=cert,
                          verify=str(ours["ca.pem"]))
    assert receiver.wait(RID + "3", 0.3) is None
    refusals = [r for r in receiver.refused if "TLS refused" in r]
    assert len(refusals) >= 3, list(receiver.refused)      # the stalled one, no certificate, another CA's
    assert any("PEER_DID_NOT_RETURN_A_CERTIFICATE" in r for r in refusals), refusals
    assert any("CERTIFICATE_VERIFY_FAILED" in r or "unknown ca" in r for r in refusals), refusals
    # the limits are those of plain HTTP: a negative Content-Length is refused before any body is read
    context = ssl.create_default_context(cafile=str(ours["ca.pem"]))
    context.load_cert_chain(str(ours["dcc.pem"]), str(ours["dcc.key.pem"]))
    port = int(receiver.url.split(":")[2].split("/")[0])
    with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5),
                             server_hostname="127.0.0.1") as s:
        s.sendall(b"POST /outcomes HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.0 400")


# --- the whole suite (started first, judged last) ---------------------------------------------------------

def test_the_suite_passes_over_mutual_tls(suite_over_mtls):
    """(Last in this file: the run started with the first test.)"""
    cases, output, seen = suite_over_mtls.result()
    statuses = [status for status, _, _ in cases.values()]
    assert statuses.count("passed") > 100, output
    assert "failure" not in statuses and "error" not in statuses, output
    assert seen["base_url"].startswith("https://127.0.0.1:"), seen
    # the outcomes came over HTTPS to the receiver, which demands the DCC's client certificate
    assert seen["receiver"].startswith("https://127.0.0.1:") and seen["callback_refusal"] is None, seen
    assert seen["received"] > 50, seen                  # verified outcomes the receiver took from pushes
    assert seen["deliveries"]["delivered"] > 50, seen   # the DCC's count (the last may still be in flight)
