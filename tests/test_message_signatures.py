"""Target Interface v1.1 (SPEC §5): HTTP Message Signatures (RFC 9421) on the calls around the
service request, the reference's checks of them (reference/server/auth.py, in-process through
Starlette's TestClient) and the harness's signing of them (httpsig/,
HttpTarget), ending with the same over a served reference."""
from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import requests

with warnings.catch_warnings():   # starlette 1.x prefers the httpx2 package for its TestClient; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import httpsig as ms
from adapters import service_requests as srv
from adapters.client import Client
from adapters.http import HttpTarget, callback_path, outcome_for, responses_path
from adapters.reference_host import ServedReference
from adapters.profile import default_profile
from adapters.world import Cast, new_device
from duis import codec, signing
from reference.config import ReferenceConfig
from reference.dcc import ReferenceDCC
from reference.server import auth, create_app

ROOT = Path(__file__).resolve().parents[1]
BASE = "http://testserver"


def ago(**delta) -> dt.datetime:
    """`created` that far in the past (negative: in the future), from now (not from when the module loaded)."""
    return dt.datetime.now(dt.timezone.utc) - dt.timedelta(**delta)


@pytest.fixture(scope="module")
def cast():
    return Cast()


@pytest.fixture
def dcc():
    the_dcc = ReferenceDCC(ReferenceConfig())
    yield the_dcc
    the_dcc.close()


def load_body(cast: Cast, *devices) -> dict:
    import base64
    b64 = lambda der: base64.b64encode(der).decode()     # noqa: E731
    fixture = cast.fixture()
    body = {"users": [{"user_id": u.user_id, "roles": sorted(u.roles), "xml_signing_certificate": b64(u.xml_signing_cert_der)}
                      for u in fixture.users],
            "trust_anchors": [{"certificate": b64(der)} for der in fixture.trust_anchors_der],
            "devices": [], "registrations": [], "anchor_slots": []}
    for setup in devices:
        d, r = setup.device, setup.registration
        body["devices"].append({"device_id": d.device_id, "device_type": d.device_type, "smets": d.smets,
                                "mpxn": d.mpxn, "s1sp": d.s1sp})
        body["registrations"].append({"mpxn": r.mpxn, "fuel": r.fuel, "supplier_id": r.supplier_id,
                                      "network_operator_id": r.network_operator_id})
        body["anchor_slots"] += [{"device_id": s.device_id, "remote_party_role": s.remote_party_role,
                                  "digital_signing_certificate": b64(s.digital_signing_der),
                                  "key_agreement_certificate": b64(s.key_agreement_der)} for s in setup.fixture.slots]
    return body


@pytest.fixture
def http(dcc, cast):
    """The reference's app with v1.1 on (loopback callback URLs allowed, as `serve --callback-allow 127.0.0.1`)."""
    app = create_app(dcc, test_support=True, interface=auth.Policy(callback_allow=("127.0.0.1",)))
    with TestClient(app, base_url=BASE) as client:
        assert client.post("/test-support/v1/load", json=load_body(cast)).status_code == 200
        yield client


def party(cast, label="registered network operator", fuel="electricity"):
    return cast.party(label, fuel)


def signed(client, method, path, who, *, body: dict | None = None, key=None, created=None, send: bytes | None = None,
           headers: dict | None = None):
    """`method path` as `who`, signed with `key` (default: who's own XML-signing key); `send`: the body
    actually sent, if not the one signed."""
    data = None if body is None else json.dumps(body).encode()
    fields = ms.signature_headers(method, BASE + path, key=key or who.signer.key, key_id=who.user_id, body=data,
                                  created=created)
    fields.update(headers or {})
    if data is not None:
        fields["Content-Type"] = "application/json"
    return client.request(method, path, content=send if send is not None else data, headers=fields)


# --- the client side: what is signed --------------------------------------------------------------

def test_signature_fields_cover_method_target_uri_digest_and_created(cast):
    who = party(cast)
    fields = ms.signature_headers("PUT", "HTTP://Example.ORG:80/api/v1/users/x/callback", key=who.signer.key,
                                  key_id=who.user_id, body=b'{"url": "https://example.org/"}')
    assert set(fields) == {"Signature-Input", "Signature", "Content-Digest"}
    signature_input = fields["Signature-Input"]
    assert signature_input.startswith('mp107=("@method" "@target-uri" "content-digest");created=')
    assert f'keyid="{who.user_id}"' in signature_input and 'alg="ecdsa-p256-sha256"' in signature_input
    assert fields["Content-Digest"].startswith("sha-256=:")
    ms.verify("PUT", "http://example.org/api/v1/users/x/callback", fields, public_key=who.signer.cert.public_key(),
              key_id=who.user_id, body=b'{"url": "https://example.org/"}')
    no_body = ms.signature_headers("GET", "http://example.org/x", key=who.signer.key, key_id=who.user_id)
    assert "Content-Digest" not in no_body and '"content-digest"' not in no_body["Signature-Input"]


@pytest.mark.parametrize("url, uri", [
    ("HTTP://Example.ORG:80/a?b=1", "http://example.org/a?b=1"),
    ("https://example.org:443", "https://example.org/"),
    ("http://127.0.0.1:8800/api/v1/responses/A:B:1", "http://127.0.0.1:8800/api/v1/responses/A:B:1"),
    ("http://[::1]:8080/x", "http://[::1]:8080/x"),
])
def test_the_target_uri_both_sides_compute(url, uri):
    """One function (httpsig.target_uri) serves the harness signing and the reference verifying."""
    assert ms.target_uri(url) == uri


# --- the reference: round trip, and what it refuses ------------------------------------------------

def test_a_signed_round_trip_put_get_delete_own_callback(http, cast):
    who = party(cast)
    path = callback_path(who.user_id)
    put = signed(http, "PUT", path, who, body={"url": "http://127.0.0.1:9/outcomes"})
    assert put.status_code == 200, put.text
    got = signed(http, "GET", path, who)
    assert got.status_code == 200 and got.json()["url"] == "http://127.0.0.1:9/outcomes"
    assert signed(http, "DELETE", path, who).status_code == 204
    assert signed(http, "GET", path, who).status_code == 404


def refused_401(answer, caplog, why: str) -> None:
    """One 401 for every reason (issue 20: an unknown User ID and a bad signature read the same, so a
    stranger learns nothing of who exists); the reason itself is in the DCC's log, for its operator."""
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == auth.UNAUTHENTICATED
    assert any(why in r.getMessage() for r in caplog.records if r.name == "reference.server.auth"), \
        [r.getMessage() for r in caplog.records]


def test_unsigned_calls_are_401_saying_what_is_wanted(http, cast, caplog):
    caplog.set_level("INFO", logger="reference.server.auth")
    who = party(cast)
    put = http.put(callback_path(who.user_id), json={"url": "http://127.0.0.1:9/x"})
    refused_401(put, caplog, "no HTTP Message Signature")
    assert put.headers["Accept-Signature"].startswith('mp107=("@method" "@target-uri" "content-digest")')
    rid = f"{who.user_id}:00-DB-00-00-00-00-00-01:1"
    get = http.get(responses_path(rid))
    assert get.status_code == 401 and '"content-digest"' not in get.headers["Accept-Signature"]
    assert http.get("/test-support/v1/state").json()["callbacks"] == {}


@pytest.mark.parametrize("age, says", [
    (dict(minutes=10), "age exceeds"),
    (dict(minutes=5, seconds=10), "at most 300 s"),
    (dict(minutes=-10), "in the future"),
])
def test_a_stale_or_future_created_is_401(http, cast, age, says, caplog):
    caplog.set_level("INFO", logger="reference.server.auth")
    who = party(cast)
    answer = signed(http, "PUT", callback_path(who.user_id), who, body={"url": "http://127.0.0.1:9/x"},
                    created=ago(**age))
    refused_401(answer, caplog, says)


def test_a_signature_within_the_clock_skew_is_taken(http, cast):
    who = party(cast)
    answer = signed(http, "GET", callback_path(who.user_id), who, created=ago(seconds=-10))
    assert answer.status_code == 404       # verified; no callback registered yet


def test_the_wrong_key_is_401(http, cast, caplog):
    caplog.set_level("INFO", logger="reference.server.auth")
    who, other = party(cast), party(cast, "wrong network operator")
    answer = signed(http, "PUT", callback_path(who.user_id), who, body={"url": "http://127.0.0.1:9/x"},
                    key=other.signer.key)
    refused_401(answer, caplog, "does not verify")


def test_an_unknown_keyid_is_401(http, cast, caplog):
    caplog.set_level("INFO", logger="reference.server.auth")
    stranger = cast.smki.issue_user("90-B3-D5-1F-30-0F-FF-FE", {"ED"})
    key = stranger.xml_signing.key
    fields = ms.signature_headers("GET", BASE + callback_path(stranger.user_id), key=key, key_id=stranger.user_id)
    answer = http.get(callback_path(stranger.user_id), headers=fields)
    refused_401(answer, caplog, "not a User ID the DCC knows")


def test_an_unknown_user_and_a_bad_signature_get_the_same_401(http, cast):
    """Issue 20: the 401 told a stranger which User IDs exist."""
    who = party(cast)
    stranger = cast.smki.issue_user("90-B3-D5-1F-30-0F-FF-FD", {"ED"})
    unknown = http.get(callback_path(stranger.user_id), headers=ms.signature_headers(
        "GET", BASE + callback_path(stranger.user_id), key=stranger.xml_signing.key, key_id=stranger.user_id))
    forged = http.get(callback_path(who.user_id), headers=ms.signature_headers(
        "GET", BASE + callback_path(who.user_id), key=stranger.xml_signing.key, key_id=who.user_id))
    assert (unknown.status_code, forged.status_code) == (401, 401)
    assert unknown.content == forged.content and dict(unknown.headers) == dict(forged.headers)


@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE", "outcome GET"])
def test_a_captured_signed_call_is_not_accepted_again(http, cast, method, caplog):
    """Issue 20: a captured signed callback PUT or DELETE, or an outcome GET, could be sent again
    within its 5 minutes. The same signature base twice is a replay: 401."""
    caplog.set_level("INFO", logger="reference.server.auth")
    who = party(cast)
    path = callback_path(who.user_id)
    if method == "outcome GET":
        method, path = "GET", responses_path(f"{who.user_id}:00-DB-00-00-00-00-00-01:1")
    body = json.dumps({"url": "http://127.0.0.1:9/x"}).encode() if method == "PUT" else None
    fields = ms.signature_headers(method, BASE + path, key=who.signer.key, key_id=who.user_id, body=body)
    headers = {**fields, **({"Content-Type": "application/json"} if body else {})}
    first = http.request(method, path, content=body, headers=headers)
    assert first.status_code in (200, 204, 404), first.text
    again = http.request(method, path, content=body, headers=headers)
    refused_401(again, caplog, "a replay")
    # ECDSA's other valid form of the same signature (s -> n - s) is the same call replayed, too
    import base64
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
    label, _, value = fields["Signature"].partition("=:")
    raw = base64.b64decode(value.rstrip(":"))
    r, s_ = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    other = (r.to_bytes(32, "big") + (n - s_).to_bytes(32, "big"))
    malleated = {**headers, "Signature": f"{label}=:{base64.b64encode(other).decode()}:"}
    refused_401(http.request(method, path, content=body, headers=malleated), caplog, "a replay")


def test_a_tampered_body_or_digest_is_401(http, cast):
    who = party(cast)
    path = callback_path(who.user_id)
    evil = json.dumps({"url": "http://127.0.0.1:9/evil"}).encode()
    body_swapped = signed(http, "PUT", path, who, body={"url": "http://127.0.0.1:9/x"}, send=evil)
    assert body_swapped.status_code == 401 and body_swapped.json()["error"] == auth.UNAUTHENTICATED
    digest = "sha-256=:" + __import__("base64").b64encode(__import__("hashlib").sha256(evil).digest()).decode() + ":"
    both_swapped = signed(http, "PUT", path, who, body={"url": "http://127.0.0.1:9/x"}, send=evil,
                          headers={"Content-Digest": digest})
    assert both_swapped.status_code == 401 and both_swapped.json()["error"] == auth.UNAUTHENTICATED
    assert signed(http, "GET", path, who).status_code == 404      # nothing was registered


def test_a_signature_for_another_method_or_path_is_401(http, cast):
    who = party(cast)
    fields = ms.signature_headers("GET", BASE + callback_path(who.user_id), key=who.signer.key, key_id=who.user_id)
    assert http.delete(callback_path(who.user_id), headers=fields).status_code == 401
    rid = f"{who.user_id}:00-DB-00-00-00-00-00-01:1"
    assert http.get(responses_path(rid), headers=fields).status_code == 401


def test_another_users_callback_is_403_and_left_alone(http, cast):
    owner, other = party(cast), party(cast, "wrong network operator")
    path = callback_path(owner.user_id)
    assert signed(http, "PUT", path, owner, body={"url": "http://127.0.0.1:9/mine"}).status_code == 200
    for method, body in (("PUT", {"url": "http://127.0.0.1:9/hijacked"}), ("GET", None), ("DELETE", None)):
        answer = signed(http, method, path, other, body=body)
        assert answer.status_code == 403 and "only its own callback" in answer.json()["error"], (method, answer.text)
    assert signed(http, "GET", path, owner).json()["url"] == "http://127.0.0.1:9/mine"


def test_outcomes_are_read_by_their_originator_only(dcc, cast):
    setup = new_device(cast, fuel="gas", smets=1, s1sp="S1SP3", cohort="FOC")
    owner, other = party(cast, fuel="gas"), party(cast, "registered supplier", "gas")
    app = create_app(dcc, test_support=True, interface=auth.Policy(callback_allow=("127.0.0.1",)))
    with TestClient(app, base_url=BASE) as http:
        http.post("/test-support/v1/load", json=load_body(cast, setup))
        request = Client(None).build(owner.user_id, setup.device.device_id, "6.24.1",
                                     srv.retrieve_security_credentials("NetworkOperator"))
        rid = str(request.request_id)
        assert http.post("/api/v1/serviceRequest", content=signing.sign(codec.encode_request(request),
                                                                        owner.signer)).status_code == 200
        assert dcc.outbox.wait(rid, 10) is not None
        refused = signed(http, "GET", responses_path(rid), other)
        assert refused.status_code == 403 and not outcome_for(refused.content, rid)
        assert "own requests" in refused.json()["error"]
        mine = signed(http, "GET", responses_path(rid), owner)
        assert mine.status_code == 200 and outcome_for(mine.content, rid)
        not_a_rid = signed(http, "GET", responses_path("nonsense"), owner)
        assert not_a_rid.status_code == 400


# --- callback URLs -------------------------------------------------------------------------------

def resolver(table):
    def resolve(host, port, type=0):
        if host not in table:
            raise socket.gaierror(f"unknown host {host}")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, type, 6, "", (a, port)) for a in table[host]]
    return resolve


@pytest.mark.parametrize("allow, url, says", [
    ((), "ftp://example.org/x", "http:// or https://"),
    ((), "http://user:pw@example.org/x", "no user name"),
    ((), "http://127.0.0.1:9/x", "a loopback address"),
    ((), "http://169.254.169.254/latest/meta-data/", "a link-local address"),
    ((), "http://10.1.2.3/x", "a private address"),
    ((), "http://[::ffff:127.0.0.1]/x", "a loopback address"),
    ((), "http://0.0.0.0/x", "the unspecified address"),
    ((), "http://dual.example/x", "a loopback address"),         # one public, one loopback address: refused
    ((), "http://nowhere.example/x", "does not resolve"),
    (("127.0.0.1",), "http://127.0.0.2/x", "a loopback address"),
    (("127.0.0.1",), "http://[::1]/x", "a loopback address"),
])
def test_callback_urls_the_dcc_refuses(allow, url, says):
    urls = auth.CallbackURLs(allow, resolve=resolver({"dual.example": ["93.184.215.14", "127.0.0.1"]}))
    with pytest.raises(auth.Refused) as refused:
        urls.check(url)
    assert refused.value.status == 400 and says in refused.value.reason


@pytest.mark.parametrize("allow, url", [
    ((), "https://public.example/outcomes"),
    ((), "http://93.184.215.14:8080/x"),
    (("127.0.0.1",), "http://127.0.0.1:9/x"),
    (("127.0.0.0/8",), "http://127.0.0.2/x"),
    (("10.0.0.0/8",), "http://internal.example/x"),
    (("harness.local",), "http://HARNESS.local:9/x"),          # an allowed name, whatever it resolves to
])
def test_callback_urls_the_dcc_takes(allow, url):
    urls = auth.CallbackURLs(allow, resolve=resolver({"public.example": ["93.184.215.14"],
                                                      "internal.example": ["10.9.8.7"]}))
    urls.check(url)


def test_a_loopback_callback_url_is_400_unless_allowed(dcc, cast):
    who = party(cast)
    app = create_app(dcc, test_support=True, interface=auth.Policy())
    with TestClient(app, base_url=BASE) as http:
        http.post("/test-support/v1/load", json=load_body(cast))
        answer = signed(http, "PUT", callback_path(who.user_id), who, body={"url": "http://127.0.0.1:9/x"})
        assert answer.status_code == 400 and "not allowed it" in answer.json()["error"]


def test_serve_refuses_an_unusable_callback_allow():
    run = subprocess.run([sys.executable, "-m", "reference", "serve", "--port", "0", "--callback-allow", "not a host!"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "--callback-allow" in run.stderr


def test_without_the_v1_1_policy_the_interface_is_v1(dcc, cast):
    """create_app's default, for in-process tests of v1 behaviour: unsigned calls, any http(s) URL."""
    with TestClient(create_app(dcc, test_support=True)) as http:
        http.post("/test-support/v1/load", json=load_body(cast))
        assert http.put(callback_path(party(cast).user_id), json={"url": "http://127.0.0.1:9/x"}).status_code == 200


# --- over HTTP: the served reference and HttpTarget ------------------------------------------------

def test_over_a_served_reference_httptarget_signs_and_the_dcc_checks(cast):
    """`python -m reference serve` (v1.1, --callback-allow 127.0.0.1 from ServedReference): HttpTarget
    registers its callback receiver and polls signed; the DCC refuses the unsigned, other users and
    URLs it does not allow; a user whose key the harness lacks is polled, the others still pushed."""
    setup = new_device(cast, fuel="electricity", smets=1, s1sp="S1SP1", cohort="IOC")
    owner, other = party(cast), party(cast, "registered supplier")
    with ServedReference() as base_url:
        target = HttpTarget(base_url, default_profile())
        try:
            assert requests.post(f"{base_url}/test-support/v1/load", json=load_body(cast, setup), timeout=30).ok
            for p in cast.parties:
                target.register_signer(p.user_id, p.signer)
            client = Client(target, outcome_timeout=10)
            request = client.build(owner.user_id, setup.device.device_id, "6.24.1",
                                   srv.retrieve_security_credentials("NetworkOperator"))
            exchange = client.send(owner.signer, request)
            assert exchange.outcome is not None and exchange.outcome.code == "I0"
            assert target._callbacks[owner.user_id] == "registered" and target.receiver.received >= 1
            rid = exchange.request_id
            path = callback_path(owner.user_id)
            assert target.interface_call("GET", path, user_id=owner.user_id).json()["url"] == target.callback_url
            assert target.interface_call("GET", responses_path(rid), user_id=owner.user_id).status_code == 200
            assert target.interface_call("GET", responses_path(rid), user_id=owner.user_id, sign=False).status_code == 401
            assert target.interface_call("GET", responses_path(rid), user_id=other.user_id).status_code == 403
            assert target.interface_call("PUT", path, user_id=other.user_id,
                                         body={"url": target.callback_url}).status_code == 403
            assert target.interface_call("PUT", path, user_id=owner.user_id,
                                         body={"url": "http://127.0.0.2:9/x"}).status_code == 400
            # a user the harness holds no key for: its registration is refused (401), it alone is polled
            keyless = HttpTarget(base_url, default_profile())
            try:
                assert keyless.ensure_callback(owner.user_id).startswith("HTTP 401")
                assert keyless.callback_refusal is None
            finally:
                keyless.close()
        finally:
            target.close()


def test_a_callback_host_is_checked_again_and_pinned_at_every_delivery():
    """DNS rebinding: a name that resolved to a public address at registration and resolves to a
    loopback one at delivery is refused then; while it is public, the delivery connects to the very
    address that was checked, with the registered name as Host (and as TLS server name)."""
    table = {"rebind.example": ["93.184.215.14"]}
    urls = auth.CallbackURLs((), resolve=resolver(table))
    urls.check("https://rebind.example:8443/outcomes?x=1")
    pinned = urls.pinned("https://rebind.example:8443/outcomes?x=1")
    assert pinned.url == "https://93.184.215.14:8443/outcomes?x=1"
    assert pinned.headers == {"Host": "rebind.example:8443"} and pinned.extensions == {"sni_hostname": "rebind.example"}
    table["rebind.example"] = ["127.0.0.1"]
    with pytest.raises(auth.Refused, match="a loopback address"):
        urls.pinned("https://rebind.example:8443/outcomes?x=1")


def test_delivery_to_a_url_no_longer_allowed_is_not_attempted(caplog):
    from reference.server.callbacks import CallbackDelivery
    table = {"rebind.example": ["127.0.0.1"]}
    delivery = CallbackDelivery(attempts=3, pause=0.0)
    delivery.pin = auth.CallbackURLs((), resolve=resolver(table)).pinned
    posted = []

    async def send(*a, **k):                                          # must never be reached
        posted.append(a)
        raise AssertionError("sent")
    delivery._client.send = send
    try:
        with caplog.at_level("ERROR", logger="reference.server.callbacks"):
            delivery.deliver("http://rebind.example/outcomes", "RID", b"<x/>")
            import time
            deadline = time.monotonic() + 10
            while delivery.stats["failed"] == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
    finally:
        delivery.close()
    assert not posted and delivery.stats == {"delivered": 0, "failed": 1, "dropped": 0}
    assert any("refused at delivery" in r.getMessage() for r in caplog.records)
