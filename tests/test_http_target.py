"""HttpTarget against a tiny scripted HTTP server: what a conforming answer gives, and how every
way of failing becomes a TargetFault with a one-line reason naming the RequestID and the URL
(never a conformance verdict, never a second submission)."""
from __future__ import annotations

import json
import socket
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from adapters.http import HttpTarget
from adapters.profile import Callbacks, Profile, Timeouts
from adapters.target import TargetFault
from duis import codec, signing
from duis.types import RequestID

RID = "90-B3-D5-1F-30-01-00-03:00-DB-00-00-00-00-00-01:1000"
SERVICE_REQUEST = "/api/v1/serviceRequest"


def response(signer, code: str, *, rid: str = RID, signed: bool = True) -> bytes:
    xml = codec.encode_acknowledgement(RequestID.parse(rid), code, "6.24.1", datetime.now(timezone.utc))
    return signing.sign(xml, signer) if signed else xml


class Scripted:
    """A fake target: `answers[(method, path)]` is (status, body) or a callable returning one;
    `push` is POSTed to the registered callback URL after each service request."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], object] = {}
        self.hits: list[tuple[str, str]] = []
        self.callback_url: str | None = None
        self.push: bytes | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                key = (self.command, self.path)
                fake.hits.append(key)
                if self.command == "PUT" and self.path.endswith("/callback") and key not in fake.answers:
                    fake.callback_url = json.loads(body)["url"]
                    answer = (200, b"{}")
                else:
                    answer = fake.answers.get(key, (404, b'{"error": "not here"}'))
                if callable(answer):
                    answer = answer(body)
                status, data = answer
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                if key == ("POST", SERVICE_REQUEST) and fake.push is not None and fake.callback_url:
                    threading.Thread(target=requests.post, args=(fake.callback_url,),
                                     kwargs={"data": fake.push, "timeout": 2}, daemon=True).start()

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def count(self, method: str, path: str) -> int:
        return self.hits.count((method, path))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    server = Scripted()
    yield server
    server.close()


@pytest.fixture
def dsp(make_xml_signer):
    return make_xml_signer("dsp")


def profile(dsp, *, mode: str = "push", read: float = 2.0, codes=None) -> Profile:
    return Profile(name="scripted", test_support=False, dsp_certificate=dsp.cert,
                   timeouts=Timeouts(connect=1.0, read=read, outcome=2.0),
                   callbacks=Callbacks(mode=mode, poll_after=0.2, poll_interval=0.05), codes=dict(codes or {}))


@pytest.fixture
def make_target():
    made = []

    def make(url, prof):
        target = HttpTarget(url, prof)
        made.append(target)
        return target
    yield make
    for target in made:
        target.close()


def one_line_fault(excinfo, *fragments) -> str:
    text = str(excinfo.value)
    assert "\n" not in text, text
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    return text


# --- what works ----------------------------------------------------------------------------------

def test_acknowledgement_and_outcome_pushed_to_the_callback_receiver(fake, dsp, make_target):
    fake.answers[("POST", SERVICE_REQUEST)] = (200, response(dsp, "I99"))
    fake.push = response(dsp, "I0")
    target = make_target(fake.url, profile(dsp))
    ack = target.submit(RID, b"<signed request/>")
    assert (ack.http_status, ack.code) == (200, "I99")
    outcome = target.await_outcome(RID, 2.0)
    assert outcome.code == "I0"
    assert fake.callback_url == target.receiver.url and target.receiver.received == 1


def test_outcome_polled_when_the_target_takes_no_callback(fake, dsp, make_target):
    user = RID.split(":")[0]
    fake.answers[("PUT", f"/api/v1/users/{user}/callback")] = (405, b"")
    fake.answers[("POST", SERVICE_REQUEST)] = (200, response(dsp, "I99"))
    fake.answers[("GET", f"/api/v1/responses/{RID}")] = (200, response(dsp, "I0"))
    target = make_target(fake.url, profile(dsp))
    target.submit(RID, b"<r/>")
    assert target.await_outcome(RID, 2.0).code == "I0"
    assert target._callbacks[user].startswith("HTTP 405")


def test_poll_mode_runs_no_receiver(fake, dsp, make_target):
    fake.answers[("POST", SERVICE_REQUEST)] = (200, response(dsp, "I99"))
    fake.answers[("GET", f"/api/v1/responses/{RID}")] = (200, response(dsp, "I0"))
    target = make_target(fake.url, profile(dsp, mode="poll"))
    target.submit(RID, b"<r/>")
    assert target.receiver is None and target.await_outcome(RID, 2.0).code == "I0"
    assert not any(method == "PUT" for method, _ in fake.hits)


def test_refusal_of_unreadable_input_is_an_acknowledgement_not_a_fault(fake, dsp, make_target):
    refusal = signing.sign(codec.encode_refusal("E1", "MalformedXML: not XML", datetime.now(timezone.utc)), dsp)
    fake.answers[("POST", SERVICE_REQUEST)] = (400, refusal)
    ack = make_target(fake.url, profile(dsp)).submit(RID, b"not xml")
    assert (ack.http_status, ack.code) == (400, "E1") and "MalformedXML" in ack.reason


def test_the_profile_maps_the_targets_codes_to_the_specs(fake, dsp, make_target):
    fake.answers[("POST", SERVICE_REQUEST)] = (200, response(dsp, "E3"))    # DUIS-valid, but not the SPEC's word
    ack = make_target(fake.url, profile(dsp, codes={"E3": "E4"})).submit(RID, b"<r/>")
    assert ack.code == "E4"


# --- faults ----------------------------------------------------------------------------------------

def test_connection_refused_names_the_request_and_the_url(dsp, make_target, fake):
    target = make_target(fake.url, profile(dsp))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    target.base_url = closed
    with pytest.raises(TargetFault) as excinfo:
        target.submit(RID, b"<r/>")
    one_line_fault(excinfo, RID, f"{closed}/api/v1/", "connection refused")


@pytest.mark.parametrize("status", [500, 503, 302])
def test_unexpected_http_status(fake, dsp, make_target, status):
    fake.answers[("POST", SERVICE_REQUEST)] = (status, b"Internal\nServer Error")
    with pytest.raises(TargetFault) as excinfo:
        make_target(fake.url, profile(dsp)).submit(RID, b"<r/>")
    one_line_fault(excinfo, RID, f"POST {fake.url}{SERVICE_REQUEST}", f"HTTP {status}")


def test_after_a_5xx_no_pooled_connection_is_reused(fake, dsp, make_target):
    """A server that failed may be closing the connection it answered a 5xx on; a request sent on it
    in the meantime would be lost (and never re-sent). So the next exchange connects afresh."""
    target = make_target(fake.url, profile(dsp))
    fake.answers[("GET", "/ok")] = (200, b"{}")
    target._call("GET", "/ok")
    pools = target.session.adapters["http://"].poolmanager.pools
    assert len(pools) == 1
    fake.answers[("POST", SERVICE_REQUEST)] = (500, b"Internal Server Error")
    with pytest.raises(TargetFault):
        target.submit(RID, b"<r/>")
    assert len(pools) == 0


@pytest.mark.parametrize("status, body, problem", [
    (413, b"", None),                                        # a 4xx with no body is a refusal (SPEC §5)
    (404, b"Not Found", "not a usable signed DUIS Response"),
    (400, b"<html>bad</html>", "not a usable signed DUIS Response"),
])
def test_a_4xx_is_a_refusal_kept_for_the_step_to_judge(fake, dsp, make_target, status, body, problem):
    """A 4xx answer is never a fault at the target level: the refusal comes back with what its body
    was, and the client or the step judges it (valid traffic: broken; bad input: MP107-R4.2)."""
    fake.answers[("POST", SERVICE_REQUEST)] = (status, body)
    ack = make_target(fake.url, profile(dsp)).submit(RID, b"<r/>")
    assert ack.http_status == status and ack.response is None and ack.code == f"HTTP {status}"
    assert (ack.body_problem is None) == (problem is None)
    if problem:
        assert problem in ack.body_problem


def test_a_valid_request_refused_without_a_duis_answer_is_a_fault(fake, dsp, make_target):
    from adapters.client import Client
    fake.answers[("POST", SERVICE_REQUEST)] = (404, b"")
    client = Client(make_target(fake.url, profile(dsp)))
    with pytest.raises(TargetFault, match="HTTP 404 with no body"):
        client.send_raw("90-B3-D5-1F-30-01-00-03", RID, b"<r/>")
    exchange = client.send_raw("90-B3-D5-1F-30-01-00-03", RID, b"<r/>", hostile=True)
    assert exchange.fault is None and exchange.ack.http_status == 404     # bad input: the step judges it


@pytest.mark.parametrize("body, fragment", [
    (b"garbage, not XML", "not a usable DUIS Response"),
    (b"<html><body>Welcome to nginx</body></html>", "HTTP 200, but"),
    ("unsigned", "signature"),
    ("signed by someone else", "signature"),
])
def test_unusable_answers(fake, dsp, make_target, make_xml_signer, body, fragment):
    if body == "unsigned":
        body = response(dsp, "I99", signed=False)
    elif body == "signed by someone else":
        body = response(make_xml_signer("impostor"), "I99")
    fake.answers[("POST", SERVICE_REQUEST)] = (200, body)
    with pytest.raises(TargetFault) as excinfo:
        make_target(fake.url, profile(dsp)).submit(RID, b"<r/>")
    one_line_fault(excinfo, RID, f"POST {fake.url}{SERVICE_REQUEST}", fragment)


def test_an_unsigned_answer_is_a_fault_even_without_the_dsp_certificate(fake, dsp, make_target):
    fake.answers[("POST", SERVICE_REQUEST)] = (200, response(dsp, "I99", signed=False))
    prof = Profile(name="unverified", test_support=False, dsp_certificate=None)
    with pytest.raises(TargetFault) as excinfo:
        make_target(fake.url, prof).submit(RID, b"<r/>")
    one_line_fault(excinfo, RID, "not signed")


def test_an_answer_for_another_request_is_a_fault(fake, dsp, make_target):
    other = RID.rsplit(":", 1)[0] + ":999"
    fake.answers[("POST", SERVICE_REQUEST)] = (200, response(dsp, "I99", rid=other))
    with pytest.raises(TargetFault) as excinfo:
        make_target(fake.url, profile(dsp)).submit(RID, b"<r/>")
    one_line_fault(excinfo, RID, other)


def test_read_timeout_is_a_fault_and_the_request_is_never_sent_twice(fake, dsp, make_target):
    def slow(body):
        time.sleep(1.0)
        return 200, response(dsp, "I99")
    fake.answers[("POST", SERVICE_REQUEST)] = slow
    with pytest.raises(TargetFault) as excinfo:
        make_target(fake.url, profile(dsp, read=0.3)).submit(RID, b"<r/>")
    one_line_fault(excinfo, RID, SERVICE_REQUEST, "read timeout", "not re-sent")
    time.sleep(1.2)   # anything retried would have arrived by now
    assert fake.count("POST", SERVICE_REQUEST) == 1


def test_outcome_that_never_arrives(fake, dsp, make_target):
    fake.answers[("POST", SERVICE_REQUEST)] = (200, response(dsp, "I99"))
    target = make_target(fake.url, profile(dsp))
    target.submit(RID, b"<r/>")
    with pytest.raises(TargetFault) as excinfo:
        target.await_outcome(RID, 0.5)
    one_line_fault(excinfo, RID, "no final outcome within 0.5 s", f"{fake.url}/api/v1/responses/{RID}",
                   target.receiver.url)


def test_outcome_poll_answering_500(fake, dsp, make_target):
    fake.answers[("POST", SERVICE_REQUEST)] = (200, response(dsp, "I99"))
    fake.answers[("GET", f"/api/v1/responses/{RID}")] = (500, b"boom")
    target = make_target(fake.url, profile(dsp, mode="poll"))
    target.submit(RID, b"<r/>")
    with pytest.raises(TargetFault) as excinfo:
        target.await_outcome(RID, 2.0)
    one_line_fault(excinfo, RID, f"GET {fake.url}/api/v1/responses/{RID}", "HTTP 500")


def test_unsigned_outcome_is_a_fault(fake, dsp, make_target):
    fake.answers[("POST", SERVICE_REQUEST)] = (200, response(dsp, "I99"))
    fake.push = response(dsp, "I0", signed=False)
    target = make_target(fake.url, profile(dsp))
    target.submit(RID, b"<r/>")
    with pytest.raises(TargetFault) as excinfo:
        target.await_outcome(RID, 2.0)
    one_line_fault(excinfo, RID, "final outcome", "does not verify against the DSP certificate")


def test_callback_receiver_refuses_what_is_not_a_response(fake, dsp, make_target):
    target = make_target(fake.url, profile(dsp))
    answer = requests.post(target.receiver.url, data=b"<not-a-response/>", timeout=2)
    assert answer.status_code == 400 and target.receiver.refused
    assert requests.post(target.receiver.url.replace("/outcomes", "/elsewhere"), data=b"x", timeout=2).status_code == 404


def test_a_profile_claiming_test_support_the_target_lacks(fake, dsp):
    prof = Profile(name="claims", test_support=True, dsp_certificate="from-test-support")
    with pytest.raises(TargetFault) as excinfo:
        HttpTarget(fake.url, prof)
    one_line_fault(excinfo, f"{fake.url}/test-support/v1/state", "HTTP 404", "--test-support")


def test_test_support_is_detected_when_the_profile_says_auto(fake, dsp, make_target):
    fake.answers[("GET", "/test-support/v1/state")] = (200, b'{"mp107_switch": true, "cohorts": {"IOC": "S1SP1"}}')
    fake.answers[("GET", "/test-support/v1/dsp-certificate")] = (200, dsp.cert.public_bytes(
        __import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.PEM))
    target = make_target(fake.url, Profile(name="auto"))
    assert target.test_support and target.dsp_certificate == dsp.cert
    assert {c.value for c in target.capabilities} == {"provision", "reset", "switches", "datafix"}
    assert target.cohort_of("S1SP1") == "IOC"
