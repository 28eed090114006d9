"""The reference served as a FOREIGN target (profiles/foreign-reference/, made by
scripts/make_foreign_reference.py): the shipped world, served with the shipped command, judged
over plain HTTP the way the harness meets a DCC it did not write -- no test support, no callback
registration (501), 413 with no body, its own code table, the data fix applied at start.

Every wait is bounded; nothing here asserts on timing."""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

import httpsig as message_signatures
from adapters import service_requests as srv
from adapters.client import Client
from adapters.hostile import OVERSIZE_BYTES, oversized
from adapters.reference_host import ServedReference
from duis import codec, safexml, signing
from smki import inspect as cert_inspect

pytestmark = pytest.mark.slow      # a whole-suite or served-reference run in a subprocess (quick loop: -m "not slow")

ROOT = Path(__file__).resolve().parents[1]
WORLD = ROOT / "profiles" / "foreign-reference"
PROFILE = ROOT / "profiles" / "foreign-reference.toml"
SR = f"{{{codec.SR_NS}}}"
HTTP_TIMEOUT = (3, 30)           # (connect, read) seconds for every call
OUTCOME_WAIT = 30.0              # seconds to poll for a final outcome before giving up

RNO = {"electricity": "90-B3-D5-1F-30-01-00-03", "gas": "90-B3-D5-1F-30-02-00-03"}   # registered network operators
WNO = {"electricity": "90-B3-D5-1F-30-01-00-04", "gas": "90-B3-D5-1F-30-02-00-04"}   # wrong network operators


def shipped_serve_args() -> list[str]:
    """The options of the shipped serve.sh, less --port (the test takes a free one)."""
    text = (WORLD / "serve.sh").read_text(encoding="utf-8")
    segment = text.split("-m reference serve", 1)[1].split('"$@"', 1)[0]
    args = shlex.split(segment.replace("\\\n", " "))
    i = args.index("--port")
    return args[:i] + args[i + 2:]


@pytest.fixture(scope="module")
def profile() -> dict:
    return tomllib.loads(PROFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dsp_certificate(profile):
    return signing.load_certificate((PROFILE.parent / profile["target"]["dsp_certificate"]).read_bytes())


@pytest.fixture(scope="module")
def served():
    args = shipped_serve_args()
    assert "--test-support" not in args
    reference = ServedReference(*args, test_support=False)
    base_url = reference.start()
    try:
        yield base_url, reference
    finally:
        reference.close()


@pytest.fixture(scope="module")
def base_url(served) -> str:
    return served[0]


def user(profile, user_id: str) -> dict:
    return next(u for u in profile["users"] if u["user_id"] == user_id)


def signer_of(profile, user_id: str) -> signing.Signer:
    u = user(profile, user_id)
    return signing.Signer.from_files(PROFILE.parent / u["key"], PROFILE.parent / u["certificate"])


def der(name: str) -> bytes:
    """A shipped certificate file (named relative to the profile) as DER."""
    return signing.load_certificate((PROFILE.parent / name).read_bytes()).public_bytes(Encoding.DER)


def organisation_der(profile, user_id: str) -> tuple[bytes, bytes]:
    org = user(profile, user_id)["organisation"]
    return der(org["digital_signing"]), der(org["key_agreement"])


def certification_path(profile) -> tuple[bytes, ...]:
    return tuple(der(f) for f in profile["smki"]["certification_path"])


def signed_request(profile, sender: str, device_id: str, srv_name: str, body) -> tuple[str, bytes]:
    request = Client(None).build(sender, device_id, srv_name, body)
    return str(request.request_id), signing.sign(codec.encode_request(request), signer_of(profile, sender))


def post(base_url: str, xml: bytes) -> requests.Response:
    return requests.post(f"{base_url}/api/v1/serviceRequest", data=xml, timeout=HTTP_TIMEOUT,
                         headers={"Content-Type": "application/xml"})


def response_code(xml: bytes, dsp_certificate) -> str:
    """The header's ResponseCode of a DSP-signed Response, after verifying its signature. Read
    directly (the codec would do as well now that the table stays within DUIS Schema V5.4's enumeration; the
    schema-validating decoder refuses it -- as it would any DCC's own codes."""
    root = safexml.parse(xml)
    signing.verify(root, dsp_certificate)
    return root.findtext(f"{SR}Header/{SR}ResponseCode")


def await_outcome(base_url: str, request_id: str, profile: dict) -> bytes:
    """Poll GET /api/v1/responses/{RequestID} until the outcome is there (bounded), signed (RFC 9421,
    Target Interface v1.1) by the request's Business Originator."""
    sender = request_id.split(":")[0]
    key = signer_of(profile, sender).key
    url = f"{base_url}/api/v1/responses/{request_id}"
    deadline = time.monotonic() + OUTCOME_WAIT
    last = None
    while time.monotonic() < deadline:
        last = requests.get(url, timeout=HTTP_TIMEOUT,
                            headers=message_signatures.signature_headers("GET", url, key=key, key_id=sender))
        if last.status_code == 200:
            return last.content
        assert last.status_code == 404, f"GET responses/{request_id}: HTTP {last.status_code} {last.text[:200]}"
        time.sleep(0.2)
    pytest.fail(f"no final outcome for {request_id} within {OUTCOME_WAIT:g} s (last: HTTP {last.status_code})")


def slot_owners(outcome) -> dict[str, tuple[str, str]]:
    """usage -> (ExistingRemotePartyID, certificate SHA-1) of the NetworkOperator slot in a 6.24.1 outcome."""
    return {d.usage: (str(d.remote_party_id), d.certificate_hash.lower())
            for d in outcome.credentials if d.role == "NetworkOperator"}


# --- the shipped files ------------------------------------------------------------------------

def test_shipped_world_and_profile_agree(profile):
    load = json.loads((WORLD / "load.json").read_text(encoding="utf-8"))
    codes = json.loads((WORLD / "codes.json").read_text(encoding="utf-8"))
    assert profile["capabilities"]["test_support"] is False
    assert profile["statement"]["capabilities"]["callback_registration"] is False
    assert {own: spec for spec, own in codes.items()} == profile["codes"]
    assert {d["device_id"] for d in load["devices"]} == {d["device_id"] for d in profile["devices"]}
    assert {u["user_id"] for u in load["users"]} == {u["user_id"] for u in profile["users"]}
    fix = profile["statement"]["datafix"]
    listed = {d["device_id"] for d in profile["devices"]}
    assert fix["applied"] is True and set(fix["fixed_devices"]) <= listed and set(fix["control_devices"]) <= listed
    for u in profile["users"]:      # each key file is its certificate's, and names its user
        s = signer_of(profile, u["user_id"])
        assert cert_inspect.entity_id(s.cert) == u["user_id"]
        assert ("organisation" in u) == (u["roles"][0] not in ("ES", "OU"))
    for option in ("--load", "--dsp-key", "--dsp-certificate", "--code-table", "--run-datafix-at-start",
                   "--callbacks", "--oversize", "--max-request-bytes"):
        assert option in shipped_serve_args()


# --- over HTTP --------------------------------------------------------------------------------

def test_no_test_support(base_url):
    answer = requests.get(f"{base_url}/test-support/v1/state", timeout=HTTP_TIMEOUT)
    assert answer.status_code == 404


def test_callback_registration_is_501_with_no_body(base_url):
    url = f"{base_url}/api/v1/users/{RNO['electricity']}/callback"
    put = requests.put(url, json={"url": "http://127.0.0.1:9/outcomes"}, timeout=HTTP_TIMEOUT)
    assert (put.status_code, put.content) == (501, b"")
    for method in ("GET", "DELETE"):
        answer = requests.request(method, url, timeout=HTTP_TIMEOUT)
        assert (answer.status_code, answer.content) == (501, b"")


def test_an_oversized_request_is_413_with_no_body(base_url, profile):
    _, xml = signed_request(profile, RNO["electricity"], "00-DB-F0-01-01-01-00-01", "6.24.1",
                            srv.retrieve_security_credentials("NetworkOperator"))
    body = oversized(xml)
    assert len(body) > OVERSIZE_BYTES > 1048576
    answer = post(base_url, body)
    assert (answer.status_code, answer.content) == (413, b"")


@pytest.mark.parametrize("fuel, device_id", [("electricity", "00-DB-F0-01-01-02-00-01"),
                                             ("gas", "00-DB-F0-03-02-02-00-02")])
def test_the_data_fix_ran_at_start(base_url, profile, dsp_certificate, fuel, device_id):
    """A device the data fix was to fix now holds the registered NO's certificates: a 6.24.1 from
    the registered NO is acknowledged (I99, signed with the shipped DSP key) and its outcome, polled,
    shows the registered NO in the NetworkOperator slot."""
    assert device_id in profile["statement"]["datafix"]["fixed_devices"]
    request_id, xml = signed_request(profile, RNO[fuel], device_id, "6.24.1",
                                     srv.retrieve_security_credentials("NetworkOperator"))
    answer = post(base_url, xml)
    assert answer.status_code == 200
    assert response_code(answer.content, dsp_certificate) == "I99"
    outcome = codec.decode_response(await_outcome(base_url, request_id, profile), verify_with=dsp_certificate)
    assert outcome.outcome_code == "I0"
    ds, ka = organisation_der(profile, RNO[fuel])
    assert slot_owners(outcome) == {"DigitalSigning": (RNO[fuel], cert_inspect.sha1_hex(ds).lower()),
                                    "KeyAgreement": (RNO[fuel], cert_inspect.sha1_hex(ka).lower())}


def test_codes_are_the_targets_own(base_url, profile, dsp_certificate):
    """The code table applies to DSP answers (E19 -> E20) and to S1SP alerts (S1VE64 -> S1VE064)."""
    _, xml = signed_request(profile, RNO["electricity"], "00-DB-F0-FF-FF-FF-FF-FF", "6.24.1",
                            srv.retrieve_security_credentials("NetworkOperator"))
    answer = post(base_url, xml)
    assert answer.status_code == 200
    assert response_code(answer.content, dsp_certificate) == "E20"

    # The wrong NO, no longer in the slot of a fixed device, tries to put its own certificates back:
    # the DSP lets it through (MP107 exemption, I99), the S1SP refuses it (ownership: S1VE64).
    device_id = "00-DB-F0-02-01-02-00-01"
    body = srv.update_security_credentials("NetworkOperator", organisation_der(profile, WNO["electricity"]),
                                           certification_path(profile))
    request_id, xml = signed_request(profile, WNO["electricity"], device_id, "6.15.1", body)
    answer = post(base_url, xml)
    assert response_code(answer.content, dsp_certificate) == "I99"
    outcome = codec.decode_response(await_outcome(base_url, request_id, profile), verify_with=dsp_certificate)
    assert outcome.s1sp_alert is not None and outcome.s1sp_alert.code == "S1VE064"


def test_the_datafix_lines_are_printed_per_s1sp(served):
    log = served[1].log()
    for name in ("S1SP1", "S1SP2", "S1SP3"):
        assert f"data fix at start on {name}: found 4, fixed 4, not fixable 0" in log


# --- start options that cannot be used --------------------------------------------------------

@pytest.mark.parametrize("extra, says", [
    (["--dsp-key", str(WORLD / "dsp" / "dsp-xml-sign.key.pem")], "--dsp-certificate too"),
    (["--dsp-key", str(WORLD / "users" / "90B3D51F30010001-xml-sign.key.pem"),
      "--dsp-certificate", str(WORLD / "dsp" / "dsp-xml-sign.pem")], "public key differs"),
    (["--code-table", str(WORLD / "load.json")], "--code-table"),
])
def test_serve_refuses_unusable_options_saying_why(extra, says, tmp_path):
    run = subprocess.run([sys.executable, "-m", "reference", "serve", "--port", "0", *extra], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert says in run.stderr


def test_oversize_400_is_still_the_default_and_its_code_is_mapped():
    """In-process: a body over --max-request-bytes gets today's signed refusal, in the target's code."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from reference.dcc import ReferenceDCC
    from reference.server import create_app

    dcc = ReferenceDCC(code_table={"E1": "E001"})
    try:
        with TestClient(create_app(dcc, test_support=False, max_request_bytes=1000)) as http:
            answer = http.post("/api/v1/serviceRequest", content=b"x" * 5000)
            assert answer.status_code == 400
            assert response_code(answer.content, dcc.dsp_certificate) == "E001"
            etree.fromstring(answer.content)      # well-formed, signed XML
    finally:
        dcc.close()
