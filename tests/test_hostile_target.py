"""The harness against a target it cannot trust: answers dripped a byte at a time or without end,
callbacks that lie about their length or stall, outcomes forged by someone else, answers that are
hostile XML. Each ends *broken* with a one-line reason, or is refused, within a bounded time, and
never replaces what the DSP really said.

The fakes here are raw sockets (a well-behaved HTTP server cannot misbehave the way these must).
Every wait is bounded by a thread join or a socket timeout; no test asserts how long anything took.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from adapters import callbacks as callbacks_module
from adapters import http as http_module
from adapters.callbacks import CallbackReceiver
from adapters.http import HttpTarget
from adapters.profile import Callbacks, Profile, Timeouts
from adapters.target import TargetFault
from duis import codec, signing
from duis.types import RequestID
from raw_http import RawHTTPServer

ROOT = Path(__file__).resolve().parents[1]
RID = "90-B3-D5-1F-30-01-00-03:00-DB-00-00-00-00-00-01:1000"
DEVICE = "00-DB-00-00-00-00-00-01"
SERVICE_REQUEST = "/api/v1/serviceRequest"
RESPONSES = f"/api/v1/responses/{RID}"
BOUND = 20.0          # the longest any test here waits for the harness to come back


# --- answers ---------------------------------------------------------------------------------------

def response(signer, code: str, *, rid: str = RID, signed: bool = True) -> bytes:
    xml = codec.encode_acknowledgement(RequestID.parse(rid), code, "6.24.1", datetime.now(timezone.utc))
    return signing.sign(xml, signer) if signed else xml


def s1sp_alert(dsp, s1sp, code: str, *, rid: str = RID) -> bytes:
    """A final outcome carrying an S1SP alert (S1VE64, say), signed by the S1SP inside and the DSP outside."""
    xml = codec.encode_s1sp_alert(RequestID.parse(rid), DEVICE, code, datetime.now(timezone.utc), s1sp)
    return signing.sign(xml, dsp)


def profile(dsp, *, mode: str = "push", read: float = 5.0, exchange: float = 30.0, outcome: float = 2.0) -> Profile:
    return Profile(name="hostile", test_support=False, dsp_certificate=dsp.cert if dsp is not None else "auto",
                   timeouts=Timeouts(connect=1.0, read=read, outcome=outcome, exchange=exchange),
                   callbacks=Callbacks(mode=mode, poll_after=0.2, poll_interval=0.05))


def http_answer(status: int, body: bytes, *, extra: bytes = b"") -> bytes:
    return (f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n".encode()
            + extra + b"\r\n" + body)


# --- a raw-socket fake target ---------------------------------------------------------------------

class RawTarget(RawHTTPServer):
    """`routes[(method, path)]` is bytes (sent as they are) or a callable(sock, stop) that writes
    whatever it likes; anything else is answered 404. One request per connection."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], object] = {}
        self.hits: list[tuple[str, str]] = []
        super().__init__()

    def answer(self, conn, method, path, head, body) -> None:
        self.hits.append((method, path))
        route = self.routes.get((method, path), http_answer(404, b'{"error": "not here"}'))
        if callable(route):
            route(conn, self.stop)
        else:
            conn.sendall(route)


@pytest.fixture
def raw():
    server = RawTarget()
    yield server
    server.close()


@pytest.fixture
def dsp(make_xml_signer):
    return make_xml_signer("dsp")


@pytest.fixture
def make_target():
    made = []

    def make(url, prof, **kwargs):
        target = HttpTarget(url, prof, **kwargs)
        made.append(target)
        return target
    yield make
    for target in made:
        target.close()


def bounded(call, wait: float = BOUND):
    """Run `call` in a thread; fail if it has not returned within `wait` s. Returns (result, exception)."""
    box: dict = {}

    def run():
        try:
            box["result"] = call()
        except BaseException as exc:      # noqa: BLE001 - handed back to the test
            box["exc"] = exc
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=wait)
    assert not thread.is_alive(), f"the harness was still blocked after {wait:g} s"
    return box.get("result"), box.get("exc")


def one_line_fault(exc, *fragments) -> str:
    assert isinstance(exc, TargetFault), f"expected a TargetFault, got {exc!r}"
    text = str(exc)
    assert "\n" not in text, text
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    return text


def drip(head: bytes, body: bytes = b"", *, every: float = 0.5):
    """Send `head` whole, then `body` one byte every `every` s (then keep dripping spaces)."""
    def route(sock, stop):
        sock.sendall(head)
        payload = body or b" " * 100_000
        for i in range(len(payload)):
            if stop.wait(every):
                return
            sock.sendall(payload[i:i + 1])
    return route


# --- 1. an overall deadline and a size limit on every exchange -----------------------------------

@pytest.mark.parametrize("where", ["status line and headers", "body"])
def test_a_drip_fed_answer_ends_broken_within_the_exchange_deadline(raw, dsp, make_target, where):
    """requests' read timeout is per socket read: one byte every 0.5 s used to hold the harness for
    ever. The exchange deadline (2 s here) ends it, whatever the peer does."""
    answer = response(dsp, "I99")
    if where == "body":
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(answer)}\r\n\r\n".encode()
        raw.routes[("POST", SERVICE_REQUEST)] = drip(head, answer)
    else:
        raw.routes[("POST", SERVICE_REQUEST)] = drip(b"", http_answer(200, answer))
    target = make_target(raw.url, profile(dsp, mode="poll", read=5.0, exchange=2.0))
    _, exc = bounded(lambda: target.submit(RID, b"<r/>"))
    one_line_fault(exc, RID, f"POST {raw.url}{SERVICE_REQUEST}", "no complete answer within 2 s")
    assert raw.hits.count(("POST", SERVICE_REQUEST)) == 1      # never re-sent


def test_a_drip_fed_outcome_poll_ends_broken_within_the_exchange_deadline(raw, dsp, make_target):
    raw.routes[("POST", SERVICE_REQUEST)] = http_answer(200, response(dsp, "I99"))
    outcome = response(dsp, "I0")
    raw.routes[("GET", RESPONSES)] = drip(f"HTTP/1.1 200 OK\r\nContent-Length: {len(outcome)}\r\n\r\n".encode(),
                                          outcome)
    target = make_target(raw.url, profile(dsp, mode="poll", read=5.0, exchange=2.0, outcome=60.0))
    assert target.submit(RID, b"<r/>").code == "I99"
    _, exc = bounded(lambda: target.await_outcome(RID, 60.0))
    one_line_fault(exc, RID, f"GET {raw.url}{RESPONSES}", "no complete answer within 2 s")


@pytest.mark.parametrize("how", ["declared", "sent"])
def test_an_answer_larger_than_the_limit_ends_broken(raw, dsp, make_target, monkeypatch, how):
    """A declared length over the limit is refused before a byte of the body is read; an answer
    without a length is read only up to the limit."""
    monkeypatch.setattr(http_module, "MAX_ANSWER_BYTES", 64 * 1024)
    if how == "declared":      # and then nothing: only the declaration can end this quickly
        raw.routes[("POST", SERVICE_REQUEST)] = drip(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n",
                                                     every=5.0)
    else:                      # no Content-Length: the body runs until the connection closes
        raw.routes[("POST", SERVICE_REQUEST)] = lambda sock, stop: sock.sendall(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"<a>" + b"x" * (1024 * 1024))
    target = make_target(raw.url, profile(dsp, mode="poll"))
    _, exc = bounded(lambda: target.submit(RID, b"<r/>"))
    one_line_fault(exc, RID, f"POST {raw.url}{SERVICE_REQUEST}", f"answer larger than {64 * 1024} bytes")


def test_the_exchange_deadline_is_read_from_the_profile(tmp_path):
    from adapters import profile as profiles
    path = tmp_path / "t.toml"
    path.write_text("[timeouts]\nexchange = 7\n", encoding="utf-8")
    assert profiles.load(path).timeouts.exchange == 7.0
    assert Timeouts().exchange > 0
    path.write_text("[timeouts]\nexchange = -1\n", encoding="utf-8")
    with pytest.raises(profiles.ProfileError, match=r"\[timeouts\]\.exchange"):
        profiles.load(path)


# --- 2. and 3. the callback receiver: lengths it can trust, and no stalled connection kept ---------

def raw_post(url: str, head: str, body: bytes = b"", *, wait: float = 10.0) -> bytes:
    """Send a hand-made POST to `url` without closing our side; what came back (b"" if the
    receiver closed the connection without answering)."""
    host, port = url.split("//")[1].split("/")[0].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n" + body)
        data = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        return data


@pytest.fixture
def receiver():
    made = CallbackReceiver(read_timeout=0.5, request_deadline=2.0)
    yield made
    made.close()


@pytest.mark.parametrize("length, status", [
    (None, 411),
    ("-1", 400),                      # the probe: 200 MB read until the sender stopped
    ("abc", 400),
    ("1_000", 400),                   # int() would take it
    ("+10", 400),
    (str(callbacks_module.MAX_BODY + 1), 413),
    ("10\r\nContent-Length: 20", 400),  # two lengths
])
def test_the_callback_receiver_refuses_a_length_it_cannot_trust_without_reading_the_body(receiver, length, status):
    head = "POST /outcomes HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
    if length is not None:
        head += f"Content-Length: {length}\r\n"
    answer = raw_post(receiver.url, head, b"<x/>" * 1000)      # the sender never closes its side
    assert answer.startswith(f"HTTP/1.0 {status} ".encode()), answer[:200]
    assert receiver.received == 0


def test_the_callback_receiver_refuses_chunked_bodies(receiver):
    head = "POST /outcomes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    answer = raw_post(receiver.url, head, b"5\r\nhello\r\n")
    assert answer.startswith(b"HTTP/1.0 411 "), answer[:200]


def test_a_stalled_callback_post_is_dropped(receiver):
    """Ten bytes of a hundred, then nothing: dropped after the per-read timeout (0.5 s here)."""
    head = "POST /outcomes HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
    answer, exc = bounded(lambda: raw_post(receiver.url, head, b"0123456789"))
    assert exc is None and not answer.startswith(b"HTTP/1.0 2"), (answer, exc)
    assert any("stalled" in r or "timed out" in r for r in receiver.refused), list(receiver.refused)


def test_a_drip_fed_callback_post_is_dropped_at_the_request_deadline(receiver):
    """A header byte every 0.2 s never trips the 0.5 s per-read timeout; the 2 s deadline ends it."""
    host, port = receiver.url.split("//")[1].split("/")[0].rsplit(":", 1)

    def drip_headers():
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"POST /outcomes HTTP/1.1\r\nX-Drip: ")
            sock.settimeout(0.2)              # the pause between bytes, spent listening
            for _ in range(500):
                try:
                    if sock.recv(1024) == b"":
                        return "dropped"
                except TimeoutError:
                    pass
                except OSError:
                    return "dropped"
                try:
                    sock.sendall(b"a")
                except OSError:
                    return "dropped"
            return "still connected"
    result, exc = bounded(drip_headers)
    assert (result, exc) == ("dropped", None)


# --- 4. and 5. outcomes: the first verified one wins; verification is mandatory -------------------

def post(url: str, body: bytes) -> int:
    return requests.post(url, data=body, headers={"Content-Type": "application/xml"}, timeout=5).status_code


def test_a_forged_outcome_after_the_genuine_one_does_not_replace_it(raw, dsp, make_target, make_xml_signer):
    """The probe: a genuine S1VE64 was replaced by an I0 signed by an arbitrary key."""
    s1sp, impostor = make_xml_signer("s1sp"), make_xml_signer("impostor")
    target = make_target(raw.url, profile(dsp))
    statuses = [post(target.receiver.url, s1sp_alert(dsp, s1sp, "S1VE64")),
                post(target.receiver.url, response(impostor, "I0"))]
    assert target.await_outcome(RID, 2.0).code == "S1VE64"
    assert statuses == [204, 403]
    evidence = target.receiver.evidence(RID)
    assert len(evidence) == 1 and "does not verify against the DSP certificate" in evidence[0].reason


def test_a_forged_outcome_before_the_genuine_one_does_not_take_its_place(raw, dsp, make_target, make_xml_signer):
    s1sp, impostor = make_xml_signer("s1sp"), make_xml_signer("impostor")
    target = make_target(raw.url, profile(dsp))
    assert post(target.receiver.url, response(impostor, "I0")) == 403
    assert post(target.receiver.url, response(dsp, "I0", signed=False)) == 403
    assert post(target.receiver.url, s1sp_alert(dsp, s1sp, "S1VE64")) == 204
    assert target.await_outcome(RID, 2.0).code == "S1VE64"
    assert len(target.receiver.evidence(RID)) == 2


def test_a_second_verified_outcome_is_evidence_not_a_replacement(raw, dsp, make_target, make_xml_signer):
    s1sp = make_xml_signer("s1sp")
    target = make_target(raw.url, profile(dsp))
    first = s1sp_alert(dsp, s1sp, "S1VE64")
    statuses = [post(target.receiver.url, first),
                post(target.receiver.url, first),                  # a genuine re-delivery
                post(target.receiver.url, response(dsp, "I0"))]   # the DSP itself, changing its mind
    outcome = target.await_outcome(RID, 2.0)
    assert outcome.code == "S1VE64" and outcome.xml == first
    assert statuses == [204, 204, 409]
    # after it was taken, too: nothing later can put another outcome in its place
    assert post(target.receiver.url, response(dsp, "I0")) == 409
    assert target.receiver.wait(RID, 0.1) is None
    reasons = [e.reason for e in target.receiver.evidence(RID)]
    assert len(reasons) == 3 and all("after the verified outcome" in r for r in reasons), reasons


def test_evidence_is_bounded(raw, dsp, make_target, make_xml_signer):
    impostor = make_xml_signer("impostor")
    target = make_target(raw.url, profile(dsp))
    forged = response(impostor, "I0")
    for _ in range(callbacks_module.EVIDENCE_PER_REQUEST + 5):
        assert post(target.receiver.url, forged) == 403
    assert len(target.receiver.evidence(RID)) == callbacks_module.EVIDENCE_PER_REQUEST


def test_an_outcome_that_only_came_forged_ends_broken_saying_so(raw, dsp, make_target, make_xml_signer):
    target = make_target(raw.url, profile(dsp))
    assert post(target.receiver.url, response(make_xml_signer("impostor"), "I0")) == 403
    _, exc = bounded(lambda: target.await_outcome(RID, 1.0))
    one_line_fault(exc, RID, "no final outcome within 1 s", "does not verify against the DSP certificate")


@pytest.mark.parametrize("test_support", [False, "auto"])
def test_without_a_dsp_certificate_the_target_refuses_to_start(raw, test_support):
    """The probe: with no DSP certificate in the profile, an I0 signed by an arbitrary key replaced a
    genuine S1VE64. Now a target whose answers cannot be verified is not driven at all (with "auto",
    the fake answers 404 to GET /test-support/v1/state: no test support to fetch it from either)."""
    from dataclasses import replace
    prof = replace(profile(None), test_support=test_support)
    _, exc = bounded(lambda: HttpTarget(raw.url, prof))
    one_line_fault(exc, raw.url, "[target].dsp_certificate", "--insecure-skip-response-verification")


def test_insecure_skip_response_verification_runs_unverified_and_says_so(raw, dsp, make_target, make_xml_signer):
    target = make_target(raw.url, profile(None), skip_response_verification=True)
    assert target.describe()["dsp_signature"] == "NOT verified (--insecure-skip-response-verification)"
    # unverified, but still the first outcome wins
    assert post(target.receiver.url, response(make_xml_signer("someone"), "I0")) == 204
    assert post(target.receiver.url, response(dsp, "E3")) == 409
    assert target.await_outcome(RID, 2.0).code == "I0"


def test_the_insecure_option_is_offered_by_the_harness():
    out = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120).stdout
    assert "--insecure-skip-response-verification" in out


# --- 6. hostile answers: each ends broken with a one-line reason --------------------------------

ENTITIES = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><Response>&c;</Response>')
XXE = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Response>&x;</Response>'


def hostile(kind: str, dsp, impostor) -> bytes:
    genuine = response(dsp, "I99")
    return {
        "entity-laden": ENTITIES,
        "XXE": XXE,
        "huge": genuine.replace(b"?>", b"?><!--" + b"x" * (2 * 1024 * 1024) + b"-->", 1),
        "malformed": genuine[: len(genuine) // 2],
        "signed by the wrong key": response(impostor, "I99"),
    }[kind]


KINDS = {"entity-laden": "HostileXML", "XXE": "HostileXML", "huge": "OversizedXML", "malformed": "MalformedXML",
         "signed by the wrong key": "does not verify against the DSP certificate"}


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_hostile_synchronous_answer_ends_broken(raw, dsp, make_target, make_xml_signer, kind):
    raw.routes[("POST", SERVICE_REQUEST)] = http_answer(200, hostile(kind, dsp, make_xml_signer("impostor")))
    _, exc = bounded(lambda: make_target(raw.url, profile(dsp, mode="poll")).submit(RID, b"<r/>"))
    one_line_fault(exc, RID, f"POST {raw.url}{SERVICE_REQUEST}", KINDS[kind])


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_hostile_polled_outcome_ends_broken(raw, dsp, make_target, make_xml_signer, kind):
    raw.routes[("POST", SERVICE_REQUEST)] = http_answer(200, response(dsp, "I99"))
    body = hostile(kind, dsp, make_xml_signer("impostor")).replace(b"I99", b"I0")
    raw.routes[("GET", RESPONSES)] = http_answer(200, body)
    target = make_target(raw.url, profile(dsp, mode="poll"))
    target.submit(RID, b"<r/>")
    _, exc = bounded(lambda: target.await_outcome(RID, 5.0))
    one_line_fault(exc, RID, "final outcome", KINDS[kind])


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_hostile_pushed_outcome_is_refused_and_named(raw, dsp, make_target, make_xml_signer, kind):
    target = make_target(raw.url, profile(dsp))
    body = hostile(kind, dsp, make_xml_signer("impostor")).replace(b"I99", b"I0")
    assert post(target.receiver.url, body) in (400, 403)
    _, exc = bounded(lambda: target.await_outcome(RID, 1.0))
    one_line_fault(exc, RID, "no final outcome within 1 s", KINDS[kind])


# --- 7. a signed answer that is not a final outcome is never taken for one (issue 20, D1) -------------
#
# A relay (or a DCC) that pushes the DSP's acknowledgement (I99) or, on the DCC's own interface, the
# Transform's answer (I0 with a Pre-Command) to the callback receiver, or answers a poll with it before
# the outcome exists, sends answers the DSP really signed - but neither is a final outcome (SPEC §2, §5).
# The harness keeps each as evidence and waits for the real one.

def transform_answer(signer, *, rid: str = RID) -> bytes:
    from duis import messages
    xml = codec.encode_pre_command_response(RequestID.parse(rid), "6.15.1", messages.PreCommand("4.5", b"\xdf\x09\x00"),
                                            datetime.now(timezone.utc))
    return signing.sign(xml, signer)


NOT_FINAL = {"acknowledgement": lambda dsp: response(dsp, "I99"), "transform answer": transform_answer}


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("kind", list(NOT_FINAL))
def test_a_pushed_answer_that_is_not_a_final_outcome_is_kept_as_evidence_not_taken(raw, dsp, make_target,
                                                                                  make_xml_signer, kind, when):
    s1sp = make_xml_signer("s1sp")
    target = make_target(raw.url, profile(dsp))
    early, final = NOT_FINAL[kind](dsp), s1sp_alert(dsp, s1sp, "S1VE64")
    order = [early, final] if when == "before" else [final, early]
    statuses = [post(target.receiver.url, body) for body in order]
    outcome = target.await_outcome(RID, 2.0)
    assert outcome.code == "S1VE64" and outcome.xml == final
    assert statuses[order.index(early)] == 202 and statuses[order.index(final)] == 204, statuses
    reasons = [e.reason for e in target.receiver.evidence(RID)]
    assert len(reasons) == 1 and "not a final outcome" in reasons[0], reasons


def test_an_outcome_that_only_came_as_an_acknowledgement_ends_broken_saying_so(raw, dsp, make_target):
    target = make_target(raw.url, profile(dsp))
    assert post(target.receiver.url, response(dsp, "I99")) == 202
    _, exc = bounded(lambda: target.await_outcome(RID, 1.0))
    one_line_fault(exc, RID, "no final outcome within 1 s", "not a final outcome", "I99")


@pytest.mark.parametrize("kind", list(NOT_FINAL))
def test_a_polled_answer_that_is_not_a_final_outcome_is_polled_again(raw, dsp, make_target, make_xml_signer, kind):
    s1sp = make_xml_signer("s1sp")
    answers = [NOT_FINAL[kind](dsp), NOT_FINAL[kind](dsp), s1sp_alert(dsp, s1sp, "S1VE64")]

    def poll(sock, stop):
        sock.sendall(http_answer(200, answers.pop(0) if len(answers) > 1 else answers[0]))
    raw.routes[("GET", RESPONSES)] = poll
    target = make_target(raw.url, profile(dsp, mode="poll"))
    outcome, exc = bounded(lambda: target.await_outcome(RID, 10.0))
    assert exc is None, exc
    assert outcome.code == "S1VE64"
    assert raw.hits.count(("GET", RESPONSES)) == 3


def test_an_acknowledgement_in_the_target_s_own_code_is_still_an_acknowledgement(raw, dsp, make_target):
    """The profile's [codes] map the target's codes to the SPEC's: its own code for I99 is not an outcome."""
    from dataclasses import replace
    target = make_target(raw.url, replace(profile(dsp), codes={"I0": "I99"}))   # its "I0" is the SPEC's I99
    assert post(target.receiver.url, response(dsp, "I0")) == 202
    _, exc = bounded(lambda: target.await_outcome(RID, 1.0))
    one_line_fault(exc, RID, "not a final outcome")


# --- 8. the reason text is shown as unsigned (issue 20, ruling) -------------------------------------

def test_a_reason_a_relay_rewrote_is_shown_as_unsigned(raw, dsp, make_target):
    """The DSP's free-text reason travels in an XML comment, outside what exclusive C14N signs: a relay
    rewrote it and the answer still verified. The harness shows it, labelled unsigned."""
    genuine = signing.sign(codec.encode_acknowledgement(RequestID.parse(RID), "E4", "6.24.1", datetime.now(timezone.utc),
                                                        reason="dsp.registration_data: not the registered NO"), dsp)
    rewritten = genuine.replace(b"dsp.registration_data: not the registered NO", b"all fine, blame the S1SP")
    assert rewritten != genuine
    raw.routes[("POST", SERVICE_REQUEST)] = http_answer(200, rewritten)
    ack = make_target(raw.url, profile(dsp, mode="poll")).submit(RID, b"<r/>")
    assert ack.code == "E4"                                       # it verifies: the comment is not signed
    assert ack.reason.startswith("all fine, blame the S1SP") and "unsigned" in ack.reason, ack.reason


# --- 9. the callback receiver holds bounded connections and bytes; a client gone is one line (D6, D15) --

def test_a_client_that_sends_part_of_a_body_and_goes_leaves_no_traceback(receiver, capsys):
    import struct
    host, port = receiver.url.split("//")[1].split("/")[0].rsplit(":", 1)
    for linger in (False, True):                          # closed politely, and reset
        sock = socket.create_connection((host, int(port)), timeout=5)
        if linger:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.sendall(b"POST /outcomes HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"<" * 10)
        sock.close()
    deadline = __import__("time").monotonic() + BOUND    # bounded: until the receiver has noticed both
    while __import__("time").monotonic() < deadline and len(receiver.refused) < 2:
        __import__("time").sleep(0.02)
    err = capsys.readouterr().err
    assert "Traceback" not in err, err[-2000:]
    assert len(receiver.refused) >= 2, list(receiver.refused)


def test_the_receiver_caps_its_connections(monkeypatch):
    """400 stalled POSTs held 400 threads and their bodies (1.5 GB); beyond the cap a connection is closed
    at once, and a genuine outcome still gets in once the stalled ones are dropped."""
    monkeypatch.setattr(callbacks_module, "MAX_CONNECTIONS", 8)
    made = CallbackReceiver(read_timeout=1.0, request_deadline=2.0)
    try:
        host, port = made.url.split("//")[1].split("/")[0].rsplit(":", 1)
        stalled = []
        for _ in range(20):
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(b"POST /outcomes HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n<")
            stalled.append(sock)
        closed = 0
        for sock in stalled:
            sock.settimeout(0.5)
            try:
                closed += sock.recv(1) == b""
            except (TimeoutError, ConnectionError):
                pass
        assert closed >= 12, closed
        assert any("connections" in r for r in made.refused), list(made.refused)
    finally:
        for sock in stalled:
            sock.close()
        made.close()


def test_the_receiver_reads_bodies_within_a_byte_budget(monkeypatch):
    """What is being read at once is bounded as a whole: a POST that would exceed it is answered 503 unread."""
    monkeypatch.setattr(callbacks_module, "READING_BYTES", 100_000)
    made = CallbackReceiver(read_timeout=2.0, request_deadline=4.0)
    try:
        host, port = made.url.split("//")[1].split("/")[0].rsplit(":", 1)
        first = socket.create_connection((host, int(port)), timeout=5)
        first.sendall(b"POST /outcomes HTTP/1.1\r\nHost: x\r\nContent-Length: 90000\r\n\r\n<")
        __import__("time").sleep(0.3)                      # the first is being read (its 90,000 reserved)
        answer = raw_post(made.url, "POST /outcomes HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n", b"<" * 10,
                          wait=5.0)
        assert answer.startswith(b"HTTP/1.0 503 "), answer[:200]
        first.close()
    finally:
        made.close()


# --- 10. a test-support /state of the wrong shape makes the target broken, never the harness crash (D10) --

@pytest.mark.parametrize("body", [b"[1, 2]", b"[" * 100_000 + b"]" * 100_000, b'{"s1sp_implemented": [1, 2]}',
                                  b'{"cohorts": "IOC"}', b'{"mp107_switch": "yes"}', b'"state"'],
                         ids=["a list", "nested 100,000 deep", "flags a list", "cohorts a string", "switch a string",
                              "a string"])
def test_a_test_support_state_of_the_wrong_shape_is_a_target_fault(raw, dsp, make_target, body):
    from dataclasses import replace
    raw.routes[("GET", "/test-support/v1/state")] = lambda sock, stop: sock.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + f"Content-Length: {len(body)}\r\n".encode()
        + b"Connection: close\r\n\r\n" + body)
    target = make_target(raw.url, replace(profile(dsp, mode="poll"), test_support=True))
    for call in (target.state, lambda: target.cohort_of("S1SP1")):
        _, exc = bounded(call)
        one_line_fault(exc, f"{raw.url}/test-support/v1/state")
    assert "state" in bounded(target.describe)[0]          # describe() says why, never raises
