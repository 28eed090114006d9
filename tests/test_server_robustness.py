"""What a security probe of the served reference found (MP107-R4.2: bad input gets a clear refusal,
never a hang or a lost outcome), each pinned:

1. a replacement certificate without an Entity Identifier (no x500UniqueIdentifier) is refused like any
   other invalid certificate, by the S1SP (6.15.1, 6.21) and by the SMETS2 device; and whatever goes wrong
   inside the DCC after the I99, the user still gets a signed final answer;
2. a request body that never arrives is given up after the server's body deadline (--body-timeout);
3. test support served on a non-loopback address needs a token, and a token, once given, is enforced.

Every wait is bounded; nothing here asserts on timing."""
from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

with warnings.catch_warnings():   # starlette 1.x prefers the httpx2 package for its TestClient; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from adapters import service_requests as srv
from adapters.client import Client
from adapters.http import HttpTarget
from adapters.reference_host import ServedReference
from adapters.reference_host import InProcessReference
from adapters.profile import Callbacks, Profile, Timeouts
from adapters.world import Cast, new_device
from duis import codec, signing
from reference.config import ReferenceConfig
from reference.dcc import ReferenceDCC
from reference.server import create_app
from smki import inspect as cert_inspect

ROOT = Path(__file__).resolve().parents[1]
OUTCOME_WAIT = 15.0          # seconds to wait for a final outcome before calling it lost
SOCKET_WAIT = 10.0           # seconds a raw socket waits for the server to answer or close

# (label, SRV, SMETS generation, sender, slot replaced)
REPLACEMENTS = [
    ("smets1-6.15.1", "6.15.1", 1, "registered network operator", "NetworkOperator"),
    ("smets1-6.21", "6.21", 1, "registered supplier", "NetworkOperator"),
    ("smets2-6.15.1", "6.15.1", 2, "registered network operator", "NetworkOperator"),
    ("smets2-6.21", "6.21", 2, "registered supplier", "NetworkOperator"),
]


# --- certificates without an Entity Identifier --------------------------------------------------

def without_entity_identifier(smki, usage: str, role_code: str = "03") -> bytes:
    """An Organisation certificate shaped as smki/ca.py issues them (OU = role code, critical Key Usage,
    ECDSA P-256, issued by the harness's issuing CA) but whose subject has no x500UniqueIdentifier (DER)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc).replace(microsecond=0)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role_code)]))
        .issuer_name(smki.issuing.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.KeyUsage(digital_signature=usage == "DigitalSigning", content_commitment=False,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=usage == "KeyAgreement", key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(smki.issuing.key, hashes.SHA256())
    )
    with pytest.raises(ValueError):
        cert_inspect.entity_id(cert)          # what the probe sent: no Entity Identifier at all
    assert cert_inspect.verify_chain(cert, smki.issuing.cert)
    return cert.public_bytes(Encoding.DER)


def nameless_pair(cast: Cast) -> tuple[bytes, bytes]:
    return without_entity_identifier(cast.smki, "DigitalSigning"), without_entity_identifier(cast.smki, "KeyAgreement")


def replacement_request(cast: Cast, setup, srv_name: str, sender_label: str, role: str, pair) -> tuple[str, bytes]:
    sender = cast.party(sender_label, setup.fuel)
    if srv_name == "6.15.1":
        body = srv.update_security_credentials(role, pair, cast.certification_path())
    else:
        body = srv.handover(pair, cast.certification_path(), role=role)
    request = Client(None).build(sender.user_id, setup.device.device_id, srv_name, body)
    return str(request.request_id), signing.sign(codec.encode_request(request), sender.signer)


def retrieve_request(cast: Cast, setup, role: str) -> tuple[str, bytes]:
    operator = cast.party("registered network operator", setup.fuel)
    request = Client(None).build(operator.user_id, setup.device.device_id, "6.24.1",
                                 srv.retrieve_security_credentials(role))
    return str(request.request_id), signing.sign(codec.encode_request(request), operator.signer)


def slot_seen(target, cast: Cast, setup, role: str) -> dict[str, tuple[str, str]]:
    """usage -> (ExistingRemotePartyID, certificate SHA-1) of the `role` slot, as a 6.24.1 shows it."""
    rid, xml = retrieve_request(cast, setup, role)
    ack = target.submit(rid, xml)
    assert ack.code == "I99", (rid, ack.code, ack.reason)
    outcome = target.await_outcome(rid, OUTCOME_WAIT)
    assert outcome.code == "I0", (rid, outcome.code)
    return {d.usage: (str(d.remote_party_id), d.certificate_hash.lower())
            for d in outcome.response.credentials if d.role == role}


@pytest.fixture(scope="module")
def cast():
    return Cast()


@pytest.fixture(scope="module")
def served_target(cast):
    """The served reference (test support on, loopback), driven by the harness's HTTP adapter."""
    reference = ServedReference()
    base_url = reference.start()
    target = HttpTarget(base_url, Profile(name="robustness", callbacks=Callbacks(mode="poll"),
                                          timeouts=Timeouts(outcome=OUTCOME_WAIT)))
    register = getattr(target, "register_signer", None)     # Target Interface v1.1: signed outcome reads
    for party in cast.parties if register else ():
        register(party.user_id, party.signer)
    try:
        target.provision(cast.fixture())
        yield target
    finally:
        target.close()
        reference.close()


@pytest.mark.parametrize("label, srv_name, smets, sender_label, role", REPLACEMENTS, ids=[r[0] for r in REPLACEMENTS])
def test_a_replacement_certificate_without_an_entity_identifier_is_refused_not_lost(
        served_target, cast, label, srv_name, smets, sender_label, role):
    setup = new_device(cast, fuel="electricity" if smets == 1 else "gas", smets=smets,
                       s1sp="S1SP1" if smets == 1 else None, cohort="IOC" if smets == 1 else None,
                       device_type=None if smets == 1 else "GSME")
    served_target.provision(setup.fixture)
    owner = cast.party("registered network operator", setup.fuel)
    if smets == 1:
        assert slot_seen(served_target, cast, setup, role) == owner.slot_entries()

    rid, xml = replacement_request(cast, setup, srv_name, sender_label, role, nameless_pair(cast))
    ack = served_target.submit(rid, xml)
    assert ack.code == "I99", (label, ack.code, ack.reason)
    outcome = served_target.await_outcome(rid, OUTCOME_WAIT)        # TargetFault if the outcome was lost
    assert outcome.code != "I0", label
    assert str(outcome.response.request_id) == rid
    expected = "S1VE30" if smets == 1 else "E50"       # the S1SP's invalid-certificate alert; the device's refusal
    assert outcome.code == expected, (label, outcome.code)
    assert "Entity Identifier" in _explanation(outcome), _explanation(outcome)
    if smets == 1:
        assert slot_seen(served_target, cast, setup, role) == owner.slot_entries()
    else:     # a SMETS2 device's 6.24.1 shows no slot: its owner must still be able to replace it
        rid, xml = replacement_request(cast, setup, "6.15.1", "registered network operator", role,
                                       owner.certificate_pair())
        assert served_target.submit(rid, xml).code == "I99"
        assert served_target.await_outcome(rid, OUTCOME_WAIT).code == "I0"


def _explanation(outcome) -> str:
    """The S1SP alert's AdditionalInformation, or the Response's reason."""
    response = outcome.response
    alert = getattr(response, "s1sp_alert", None)
    return (getattr(alert, "additional_information", None) or response.reason or "") if alert else (response.reason or "")


def _signing(target, cast):
    """Target Interface v1.1: the cast's outcome polls and callback registrations are signed by each user."""
    for party in cast.parties:
        target.register_signer(party.user_id, party.signer)
    return target


@pytest.fixture
def local_target(cast):
    """An HttpTarget on the reference in this process; `.dcc` is the DCC behind it."""
    host = InProcessReference()
    target = _signing(host.target(), cast)
    target.dcc = host.dcc
    yield target
    host.close()


@pytest.mark.parametrize("srv_name, sender_label, role, keep", [
    ("6.15.1", "registered network operator", "NetworkOperator", "KeyAgreement"),    # no DigitalSigningCertificate
    ("6.15.1", "registered network operator", "NetworkOperator", "DigitalSigning"),  # no KeyAgreementCertificate
    ("6.21", "registered supplier", "NetworkOperator", "DigitalSigning"),            # no KeyAgreementCertificate
    ("6.21", "registered supplier", "Root", "both"),      # a DUIS RemotePartyRole that is no Organisation slot
], ids=["6.15.1-no-ds", "6.15.1-no-ka", "6.21-no-ka", "6.21-root-slot"])
def test_other_schema_valid_replacements_the_reference_cannot_hold_are_refused(
        local_target, cast, srv_name, sender_label, role, keep):
    """DUIS Schema V5.4 lets a replacement leave out a certificate, and a 6.21 name any RemotePartyRole:
    the S1SP refuses what it cannot hold with its invalid-certificate alert instead of failing on it."""
    from duis import messages
    setup = new_device(cast, fuel="electricity", smets=1, s1sp="S1SP1", cohort="IOC")
    local_target.provision(cast.fixture())
    local_target.provision(setup.fixture)
    ds, ka = cast.party("wrong network operator", "electricity").certificate_pair()
    pair = messages.CertificatePair(ds if keep in ("DigitalSigning", "both") else None,
                                    ka if keep in ("KeyAgreement", "both") else None)
    sender = cast.party(sender_label, "electricity")
    cls = messages.UpdateSecurityCredentialsKRP if srv_name == "6.15.1" else messages.RequestHandoverOfDCCControlledDevice
    body = cls(remote_party_role=role, floor_seq=0, replacement=pair, certification_path=cast.certification_path(),
               apply_time_based_cpv_checks=True)
    request = Client(None).build(sender.user_id, setup.device.device_id, srv_name, body)
    rid = str(request.request_id)
    before = local_target.dcc.anchor_slot(setup.device.device_id, "NetworkOperator")
    assert local_target.submit(rid, signing.sign(codec.encode_request(request), sender.signer)).code == "I99"
    outcome = local_target.await_outcome(rid, OUTCOME_WAIT)
    assert outcome.code == "S1VE30", (outcome.code, _explanation(outcome))
    assert local_target.dcc.anchor_slot(setup.device.device_id, "NetworkOperator") == before


# --- whatever fails inside the DCC, the user still gets a signed final answer ---------------------

@pytest.fixture
def careless_target(cast):
    """An in-process reference whose certificate checks are switched off (`broken`), so that a certificate
    without an Entity Identifier reaches the slot write and makes it raise."""
    host = InProcessReference("--break", "s1sp.replacement_certificates", "--break", "smets2.replacement_certificates")
    target = _signing(host.target(), cast)
    target.dcc = host.dcc
    yield target
    host.close()


@pytest.mark.parametrize("label, srv_name, smets, sender_label, role", REPLACEMENTS, ids=[r[0] for r in REPLACEMENTS])
def test_processing_that_raises_still_ends_in_a_signed_failure_outcome(
        careless_target, cast, caplog, label, srv_name, smets, sender_label, role):
    target, dcc = careless_target, careless_target.dcc
    setup = new_device(cast, fuel="gas", smets=smets, s1sp="S1SP2" if smets == 1 else None,
                       cohort="MOC" if smets == 1 else None, device_type=None if smets == 1 else "GSME")
    target.provision(cast.fixture())
    target.provision(setup.fixture)
    before = dcc.anchor_slot(setup.device.device_id, role)

    rid, xml = replacement_request(cast, setup, srv_name, sender_label, role, nameless_pair(cast))
    with caplog.at_level(logging.ERROR, logger="reference.dcc"):
        assert target.submit(rid, xml).code == "I99"
        outcome = target.await_outcome(rid, OUTCOME_WAIT)       # verified against the DSP's certificate
    assert outcome.code not in ("I0", "I99"), (label, outcome.code)
    assert str(outcome.response.request_id) == rid
    assert "failed inside the DCC" in _explanation(outcome), _explanation(outcome)
    if smets == 1:       # an S1SP alert, signed by the S1SP that failed
        assert outcome.response.s1sp_alert is not None
        codec.verify_nested(outcome.xml, dcc.s1sp_certificate("S1SP2"))
    assert any(rid in r.getMessage() and r.exc_info for r in caplog.records), "the exception was not logged"
    assert dcc.anchor_slot(setup.device.device_id, role) == before


def test_a_failure_that_even_the_failure_answer_cannot_survive_is_logged_not_raised(cast, caplog, monkeypatch):
    """Processing raises and so does signing any answer: the worker logs it and lives on."""
    host = InProcessReference()
    try:
        target, dcc = _signing(host.target(), cast), host.dcc
        setup = new_device(cast, fuel="electricity", smets=1, s1sp="S1SP3", cohort="FOC")
        target.provision(cast.fixture())
        target.provision(setup.fixture)
        rid, xml = retrieve_request(cast, setup, "NetworkOperator")
        accepted = dcc.dsp.handle(xml).accepted          # acknowledged, not yet routed
        assert accepted is not None

        def explode(*args):
            raise RuntimeError("boom")
        monkeypatch.setattr(dcc, "sign_response", explode)
        with caplog.at_level(logging.ERROR, logger="reference.dcc"):
            dcc._complete(accepted, explode)                # must not raise
        assert dcc.response(rid) is None
        assert sum(rid in r.getMessage() for r in caplog.records) >= 2, [r.getMessage() for r in caplog.records]
    finally:
        monkeypatch.undo()
        host.close()


# --- a request body that never arrives ------------------------------------------------------------

def _host_port(base_url: str) -> tuple[str, int]:
    host, port = base_url.split("://", 1)[1].rsplit(":", 1)
    return host.strip("[]"), int(port.rstrip("/"))


def test_a_body_that_never_arrives_is_given_up_at_the_body_deadline():
    """5 MB declared, 100 bytes sent, then silence: the server answers (408) or closes within a bounded
    wait, and answers other users meanwhile."""
    with ServedReference("--body-timeout", "1") as base_url:
        host, port = _host_port(base_url)
        with socket.create_connection((host, port), timeout=SOCKET_WAIT) as slow:
            slow.sendall(b"POST /api/v1/serviceRequest HTTP/1.1\r\n"
                         b"Host: " + host.encode() + b"\r\n"
                         b"Content-Type: application/xml\r\n"
                         b"Content-Length: 5000000\r\n\r\n" + b"<" * 100)
            # meanwhile, a normal request is answered
            normal = requests.post(f"{base_url}/api/v1/serviceRequest", data=b"<not-duis", timeout=(3, SOCKET_WAIT))
            assert normal.status_code == 400
            slow.settimeout(SOCKET_WAIT)
            received = b""
            try:
                while True:
                    chunk = slow.recv(65536)          # socket.timeout here: still held after SOCKET_WAIT s
                    if not chunk:
                        break                         # closed
                    received += chunk
            except ConnectionResetError:
                pass                                  # closed, less politely: also not held
        assert not received or received.startswith(b"HTTP/1.1 408"), received[:200]


def _held(sock: socket.socket, drip: bytes | None) -> bool:
    """Whether the server still holds `sock` after SOCKET_WAIT s, dripping `drip` every 0.2 s."""
    import time
    sock.settimeout(0.2)
    end = time.monotonic() + SOCKET_WAIT
    while time.monotonic() < end:
        try:
            if drip:
                sock.sendall(drip)
            if sock.recv(65536) == b"":
                return False                  # closed
        except socket.timeout:
            continue
        except OSError:
            return False                      # reset, or a send into a closed connection
    return True


@pytest.mark.parametrize("head, drip", [
    (b"", None),                                                   # connects, sends nothing
    (b"POST /api/v1/serviceRequest HTTP/1.1\r\nHost: x\r\n", None),  # half a head, then silence
    (b"POST /api/v1/serviceRequest HTTP/1.1\r\n", b"X-Slow: 1\r\n"),   # a header line every 0.2 s, for ever
], ids=["nothing", "half-a-head", "dripped-headers"])
def test_a_request_head_that_never_completes_is_given_up_at_the_deadline(head, drip):
    """Slowloris: uvicorn alone holds such a connection for ever; the reference closes it after
    --body-timeout seconds (1 here), while a normal request on another connection is answered."""
    host = InProcessReference("--body-timeout", "1")
    base_url = host.start()
    try:
        address = _host_port(base_url)
        with socket.create_connection(address, timeout=SOCKET_WAIT) as slow:
            slow.sendall(head)
            assert requests.post(f"{base_url}/api/v1/serviceRequest", data=b"<not-duis",
                                 timeout=(3, SOCKET_WAIT)).status_code == 400
            assert not _held(slow, drip), f"still held after {SOCKET_WAIT:g} s"
        # a kept-alive connection's *next* head has the same deadline
        with socket.create_connection(address, timeout=SOCKET_WAIT) as kept:
            kept.sendall(b"GET /api/v1/responses/x HTTP/1.1\r\nHost: x\r\n\r\n")
            assert kept.recv(65536).startswith(b"HTTP/1.1 ")
            kept.sendall(b"GET /api/v1/responses/x HTTP/1.1\r\n")
            assert not _held(kept, b"X-Slow: 1\r\n"), f"still held after {SOCKET_WAIT:g} s"
    finally:
        host.close()


def test_the_body_deadline_leaves_a_body_that_arrives_in_time_alone(cast):
    """In-process: a normal body is read as before, and the deadline can be switched off."""
    dcc = ReferenceDCC(ReferenceConfig())
    try:
        for body_timeout in (0.5, None):
            with TestClient(create_app(dcc, test_support=True, body_timeout=body_timeout)) as http:
                assert http.post("/api/v1/serviceRequest", content=b"<not-duis").status_code == 400
                assert http.put("/test-support/v1/switch", json={"on": False}).json()["mp107_switch"] is False
        with pytest.raises(ValueError, match="body_timeout"):
            create_app(dcc, test_support=False, body_timeout=0)
    finally:
        dcc.close()


# --- test support needs a token off loopback, and a token given is enforced -------------------------

TOKEN = "mp107-test-support-token-0123456789"


def serve_once(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m reference serve ARGS` expected to refuse to start: bounded (a server that starts
    instead is killed at the timeout, which fails the test)."""
    environment = {k: v for k, v in os.environ.items() if k != "MP107_TEST_SUPPORT_TOKEN"}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "reference", "serve", "--port", "0", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env=environment)


def test_test_support_off_loopback_without_a_token_refuses_to_start():
    run = serve_once("--host", "0.0.0.0", "--test-support")
    assert run.returncode == 2, run.stderr
    assert "--test-support-token" in run.stderr and "MP107_TEST_SUPPORT_TOKEN" in run.stderr, run.stderr
    assert "loopback" in run.stderr, run.stderr


def test_a_token_a_header_cannot_carry_or_too_short_refuses_to_start():
    for token in ("short", "has spaces in it, many of them", ""):
        run = serve_once("--test-support", "--test-support-token", token)
        assert run.returncode == 2 and "--test-support-token" in run.stderr, (token, run.stderr)
    run = serve_once("--host", "0.0.0.0", "--test-support", env={"MP107_TEST_SUPPORT_TOKEN": "short"})
    assert run.returncode == 2 and "$MP107_TEST_SUPPORT_TOKEN" in run.stderr, run.stderr


@pytest.mark.parametrize("host, token, env, allowed", [
    ("0.0.0.0", None, None, False),
    ("192.0.2.10", None, None, False),
    ("dcc.example", None, None, False),
    ("0.0.0.0", TOKEN, None, True),
    ("0.0.0.0", None, TOKEN, True),
    ("0.0.0.0", None, "", False),                # an empty environment variable is no token
    ("127.0.0.1", None, None, True),
    ("127.0.0.2", None, None, True),
    ("::1", None, None, True),
    ("localhost", None, None, True),
])
def test_which_hosts_need_a_token(monkeypatch, host, token, env, allowed):
    import argparse
    from reference.server import cli
    monkeypatch.delenv(cli.TOKEN_ENVIRONMENT, raising=False)
    if env is not None:
        monkeypatch.setenv(cli.TOKEN_ENVIRONMENT, env)
    args = argparse.Namespace(test_support=True, test_support_token=token)
    if allowed:
        assert cli._test_support_token(args, host) == (token or env or None)
    else:
        with pytest.raises(cli.StartError, match="needs a token"):
            cli._test_support_token(args, host)


def test_a_test_support_token_is_enforced_on_every_test_support_call():
    dcc = ReferenceDCC(ReferenceConfig())
    try:
        with TestClient(create_app(dcc, test_support=True, test_support_token=TOKEN)) as http:
            calls = [("GET", "/test-support/v1/state", None), ("POST", "/test-support/v1/reset", None),
                     ("PUT", "/test-support/v1/switch", {"on": False}), ("GET", "/test-support/v1/dsp-certificate", None),
                     ("POST", "/test-support/v1/users", []), ("GET", "/test-support/v1/no-such-call", None)]
            for method, path, body in calls:
                for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789abcdef"},
                                {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}x"},
                                {"Authorization": "Bearer"}):
                    answer = http.request(method, path, json=body, headers=headers)
                    assert answer.status_code == 401, (method, path, headers, answer.status_code)
                    assert "Authorization: Bearer" in answer.json()["error"]
                    assert answer.headers["www-authenticate"].startswith("Bearer")
            assert dcc.config.mp107_switch is True                      # nothing was changed
            good = {"Authorization": f"Bearer {TOKEN}"}
            assert http.get("/test-support/v1/state", headers=good).status_code == 200
            assert http.put("/test-support/v1/switch", json={"on": False},
                            headers={"authorization": f"bearer {TOKEN}"}).json()["mp107_switch"] is False
            # the Target Interface itself is not behind the token
            assert http.post("/api/v1/serviceRequest", content=b"<not-duis").status_code == 400
    finally:
        dcc.close()


def test_served_on_loopback_a_token_given_in_the_environment_is_enforced(monkeypatch):
    monkeypatch.setenv("MP107_TEST_SUPPORT_TOKEN", TOKEN)
    with ServedReference() as base_url:
        assert requests.get(f"{base_url}/test-support/v1/state", timeout=(3, 10)).status_code == 401
        answer = requests.get(f"{base_url}/test-support/v1/state", timeout=(3, 10),
                              headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200 and answer.json()["test_support"] is True


def test_served_on_loopback_without_a_token_test_support_is_open_as_before(monkeypatch):
    monkeypatch.delenv("MP107_TEST_SUPPORT_TOKEN", raising=False)
    with ServedReference() as base_url:
        assert requests.get(f"{base_url}/test-support/v1/state", timeout=(3, 10)).status_code == 200
