"""The reference DCC's HTTP app (reference/server): Target Interface v1 and the test-support API,
in-process through Starlette's TestClient (callbacks go over real loopback sockets)."""
from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import warnings

import pytest

with warnings.catch_warnings():   # starlette 1.x prefers the httpx2 package for its TestClient; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from adapters import service_requests as srv
from adapters.callbacks import CallbackReceiver
from adapters.client import Client
from adapters.world import Cast, new_device
from duis import codec, signing
from reference.config import ReferenceConfig
from reference.dcc import ReferenceDCC
from reference.server import create_app
from reference.server.callbacks import CallbackDelivery

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cast():
    return Cast()


@pytest.fixture
def dcc():
    the_dcc = ReferenceDCC(ReferenceConfig())
    yield the_dcc
    the_dcc.close()


def b64(der: bytes) -> str:
    return base64.b64encode(der).decode()


def load_body(cast: Cast, *devices) -> dict:
    fixture = cast.fixture()
    body = {"users": [{"user_id": u.user_id, "roles": sorted(u.roles), "xml_signing_certificate": b64(u.xml_signing_cert_der)}
                      for u in fixture.users],
            "trust_anchors": [{"certificate": b64(der)} for der in fixture.trust_anchors_der],
            "devices": [], "registrations": [], "anchor_slots": []}
    for setup in devices:
        d = setup.device
        body["devices"].append({"device_id": d.device_id, "device_type": d.device_type, "smets": d.smets,
                                "mpxn": d.mpxn, "s1sp": d.s1sp})
        r = setup.registration
        body["registrations"].append({"mpxn": r.mpxn, "fuel": r.fuel, "supplier_id": r.supplier_id,
                                      "network_operator_id": r.network_operator_id})
        body["anchor_slots"] += [{"device_id": s.device_id, "remote_party_role": s.remote_party_role,
                                  "digital_signing_certificate": b64(s.digital_signing_der),
                                  "key_agreement_certificate": b64(s.key_agreement_der)} for s in setup.fixture.slots]
    return body


def retrieve(cast, setup):
    """A signed 6.24.1 from the registered NO for `setup`'s device: (RequestID, XML)."""
    operator = cast.party("registered network operator", setup.fuel)
    request = Client(None).build(operator.user_id, setup.device.device_id, "6.24.1",
                                 srv.retrieve_security_credentials("NetworkOperator"))
    return str(request.request_id), signing.sign(codec.encode_request(request), operator.signer)


def test_service_request_ack_outcome_and_callback(dcc, cast):
    setup = new_device(cast, fuel="electricity", smets=1, s1sp="S1SP1", cohort="IOC")
    receiver = CallbackReceiver()
    try:
        with TestClient(create_app(dcc, test_support=True)) as http:
            assert http.post("/test-support/v1/load", json=load_body(cast, setup)).status_code == 200
            user = cast.party("registered network operator", "electricity").user_id
            assert http.put(f"/api/v1/users/{user}/callback", json={"url": receiver.url}).status_code == 200
            assert http.get(f"/api/v1/users/{user}/callback").json()["url"] == receiver.url
            rid, xml = retrieve(cast, setup)
            answer = http.post("/api/v1/serviceRequest", content=xml, headers={"Content-Type": "application/xml"})
            assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/xml")
            ack = codec.decode_response(answer.content, verify_with=dcc.dsp_certificate)
            assert ack.response_code == "I99" and str(ack.request_id) == rid
            pushed = receiver.wait(rid, 10)
            assert pushed is not None
            assert codec.decode_response(pushed, verify_with=dcc.dsp_certificate).outcome_code == "I0"
            polled = http.get(f"/api/v1/responses/{rid}")
            assert polled.status_code == 200 and polled.content == pushed
    finally:
        receiver.close()


def test_unreadable_input_is_400_with_a_signed_refusal(dcc):
    with TestClient(create_app(dcc, test_support=False)) as http:
        answer = http.post("/api/v1/serviceRequest", content=b"<not-duis")
        assert answer.status_code == 400
        refusal = codec.decode_refusal(answer.content, verify_with=dcc.dsp_certificate)
        assert refusal.response_code == "E1" and "MalformedXML" in refusal.reason


def test_a_response_not_there_yet_is_404(dcc):
    with TestClient(create_app(dcc, test_support=False)) as http:
        answer = http.get("/api/v1/responses/90-B3-D5-1F-30-01-00-03:00-DB-00-00-00-00-00-01:1")
        assert answer.status_code == 404 and "no final outcome" in answer.json()["error"]


def test_without_test_support_there_is_no_test_support_api(dcc):
    with TestClient(create_app(dcc, test_support=False)) as http:
        for path in ("/test-support/v1/state", "/test-support/v1/dsp-certificate"):
            assert http.get(path).status_code == 404
        assert http.post("/test-support/v1/reset").status_code == 404


def test_callback_registration_needs_a_known_user_and_a_url(dcc, cast):
    with TestClient(create_app(dcc, test_support=True)) as http:
        user = cast.party("registered supplier", "gas").user_id
        assert http.put(f"/api/v1/users/{user}/callback", json={"url": "http://127.0.0.1:1/x"}).status_code == 404
        http.post("/test-support/v1/load", json=load_body(cast))
        bad = http.put(f"/api/v1/users/{user}/callback", json={"url": "ftp://example"})
        assert bad.status_code == 400 and "http:// or https://" in bad.json()["expected"]
        assert http.put("/api/v1/users/not-an-eui/callback", json={"url": "http://x"}).status_code == 400


def test_failed_callback_delivery_is_bounded_and_loses_nothing(dcc, cast):
    setup = new_device(cast, fuel="gas", smets=1, s1sp="S1SP3", cohort="FOC")
    delivery = CallbackDelivery(connect_timeout=0.5, read_timeout=0.5, attempts=2, pause=0.05)
    try:
        with TestClient(create_app(dcc, test_support=True, delivery=delivery)) as http:
            http.post("/test-support/v1/load", json=load_body(cast, setup))
            user = cast.party("registered network operator", "gas").user_id
            http.put(f"/api/v1/users/{user}/callback", json={"url": "http://127.0.0.1:9/nobody-listens"})
            rid, xml = retrieve(cast, setup)
            assert http.post("/api/v1/serviceRequest", content=xml).status_code == 200
            assert dcc.outbox.wait(rid, 10) is not None            # the S1SP worker was not held up
            deadline = time.monotonic() + 10
            while delivery.stats["failed"] == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert delivery.stats == {"delivered": 0, "failed": 1, "dropped": 0}
            assert http.get(f"/api/v1/responses/{rid}").status_code == 200
    finally:
        delivery.close()


@pytest.mark.parametrize("path, body, field, expected", [
    ("/devices", {"device_id": "00-DB-00-00-00-00-00-01"}, "body.device_type", "one of"),
    ("/devices", {"device_id": "00-DB-00-00-00-00-00-01", "device_type": "ESME", "smets": 3}, "body.smets", "1 or 2"),
    ("/devices", {"device_id": "nope", "device_type": "ESME", "smets": 1, "s1sp": "S1SP1"}, "body.device_id", "EUI-64"),
    ("/devices", {"device_id": "00-DB-00-00-00-00-00-01", "device_type": "ESME", "smets": 1}, "body.cohort", "cohort"),
    ("/devices", {"device_id": "00-DB-00-00-00-00-00-01", "device_type": "ESME", "smets": 1, "s1sp": "S1SP9"},
     "body.s1sp", "S1SP1"),
    ("/devices", {"device_id": "00-DB-00-00-00-00-00-01", "device_type": "ESME", "smets": 1, "colour": "red"},
     "body.colour", "only the fields"),
    ("/users", {"user_id": "90-B3-D5-1F-30-01-00-03", "roles": ["XX"], "xml_signing_certificate": "AAAA"},
     "body.roles", "user roles"),
    ("/users", [{"user_id": "90-B3-D5-1F-30-01-00-03", "roles": ["ED"], "xml_signing_certificate": "bm90IGEgY2VydA=="}],
     "body[0].xml_signing_certificate", "PEM text or base64 DER"),
    ("/registrations", {"mpxn": "1", "fuel": "oil", "supplier_id": "90-B3-D5-1F-30-01-00-01",
                        "network_operator_id": "90-B3-D5-1F-30-01-00-03"}, "body.fuel", "electricity"),
    ("/load", {"devices": {"not": "a list"}}, "body.devices", "JSON list"),
    ("/load", [], "body", "JSON object"),
    ("/switch", {"on": "yes"}, "body.on", "true or false"),
    ("/s1sps/S1SP9/implemented", {"implemented": False}, "path S1SP", "S1SP1"),
])
def test_wrong_test_support_input_is_400_saying_what_was_expected(dcc, path, body, field, expected):
    with TestClient(create_app(dcc, test_support=True)) as http:
        method = http.put if path.startswith(("/switch", "/s1sps")) else http.post
        answer = method(f"/test-support/v1{path}", json=body)
        assert answer.status_code == 400, answer.text
        error = answer.json()
        assert error["field"] == field and expected in error["expected"], error
        assert http.get("/test-support/v1/state").json()["mp107_switch"] is True     # nothing changed


def test_unreadable_json_and_an_anchor_slot_for_an_unknown_device(dcc, cast):
    with TestClient(create_app(dcc, test_support=True)) as http:
        answer = http.post("/test-support/v1/users", content=b"{not json")
        assert answer.status_code == 400 and "unreadable JSON" in answer.json()["error"]
        ds, ka = cast.party("registered supplier", "electricity").certificate_pair()
        answer = http.post("/test-support/v1/anchor-slots", json={
            "device_id": "00-DB-00-00-00-00-00-99", "remote_party_role": "Supplier",
            "digital_signing_certificate": b64(ds), "key_agreement_certificate": b64(ka)})
        assert answer.status_code == 400 and "device already loaded" in answer.json()["expected"]


def test_switches_state_and_reset_to_the_start_state(cast, tmp_path):
    dcc = ReferenceDCC(ReferenceConfig(mp107_switch=False, s1sp_implemented={"S1SP1": True, "S1SP2": False, "S1SP3": True}))
    try:
        start = load_body(cast)
        with TestClient(create_app(dcc, test_support=True, load=start)) as http:
            user = start["users"][0]["user_id"]
            assert dcc.users.get(user) is not None                                  # --load applied at start
            assert http.put("/test-support/v1/switch", json={"on": True}).json()["mp107_switch"] is True
            state = http.put("/test-support/v1/s1sps/S1SP2/implemented", json={"implemented": True}).json()
            assert state["s1sp_implemented"]["S1SP2"] is True
            http.put(f"/api/v1/users/{user}/callback", json={"url": "http://127.0.0.1:9/x"})
            state = http.post("/test-support/v1/reset").json()
            assert state["mp107_switch"] is False and state["s1sp_implemented"]["S1SP2"] is False
            assert state["callbacks"] == {} and dcc.users.get(user) is not None   # --load applied again
            pem = http.get("/test-support/v1/dsp-certificate")
            assert pem.status_code == 200 and pem.content.startswith(b"-----BEGIN CERTIFICATE-----")
    finally:
        dcc.close()


def test_serve_refuses_a_bad_load_file_saying_why(tmp_path):
    bad = tmp_path / "load.json"
    bad.write_text(json.dumps({"devices": [{"device_id": "00-DB-00-00-00-00-00-01", "device_type": "ESME",
                                            "smets": 1, "cohort": "XYZ"}]}))
    run = subprocess.run([sys.executable, "-m", "reference", "serve", "--port", "0", "--load", str(bad)],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "--load" in run.stderr and "devices[0].cohort" in run.stderr and "IOC" in run.stderr
