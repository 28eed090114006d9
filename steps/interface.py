"""MP107-R4.4: a user registers callbacks for, and reads outcomes of, its own requests only
(Target Interface v1.1, SPEC §5).

The calls go through HttpTarget's `interface_call`, signed (RFC 9421) with the calling user's
XML-signing key unless a step says otherwise. Before the first scenario the suite registers every
party's key with an HTTP target (`pytest_bdd_before_scenario` below), so that the harness's own
callback registrations and polls are signed too.

Where it cannot be judged: the in-process reference has no HTTP interface (not applicable); a
target whose statement (or whose answers) say it offers no callback registration is not applicable
for the callback scenarios; the harness without a callback receiver ("poll" mode) has no URL the
target would accept, and skips them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then, when

from adapters.http import callback_path, outcome_for, responses_path
from adapters.target import TargetFault
from conformance.verdicts import DSP

from .preflight import not_applicable
from .vocabulary import FUEL, OTHER, PARTY

RULE = ("MP107-R4.4",)
FEATURES = Path(__file__).resolve().parents[1] / "features"


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_before_scenario(request, feature, scenario):
    """Give an HTTP target every party's XML-signing key before the first request of the suite
    (the preflight may already send one), so that callback registrations and polls are signed; and,
    for the DCC's own interface, every party's Organisation key, which signs its Pre-Commands."""
    if FEATURES not in Path(feature.filename).resolve().parents:
        return
    target = request.getfixturevalue("target")
    if not callable(getattr(target, "register_signer", None)):
        return
    organisation = getattr(target, "register_organisation_key", None)     # the DCC's own interface signs GBCS
    for party in request.getfixturevalue("cast").parties:
        if not target.signs_for(party.user_id):
            target.register_signer(party.user_id, party.signer)
        if callable(organisation):
            organisation(party.user_id, party.organisation_key)


@dataclass
class Call:
    """One call of the v1.1 interface a step made, and its answer."""
    method: str
    url: str
    user: str
    signed: bool
    status: int
    body: bytes
    sent: str = ""

    def __str__(self) -> str:
        shown = " ".join(self.body[:300].decode("utf-8", errors="replace").split()) or "no body"
        return (f"{self.method} {self.url} as {self.user} ({'signed' if self.signed else 'unsigned'}"
                f"{', ' + self.sent if self.sent else ''}): HTTP {self.status} - {shown}")


@dataclass
class InterfaceState:
    last: Call | None = None
    before: dict[str, str] | None = None
    """User ID -> its callback URL as its owner read it before the step's attempt"""
    request_id: str | None = None
    outcome: bytes = b""
    """the final outcome of `request_id` as the harness received it"""


@pytest.fixture
def v11():
    return InterfaceState()


def _http(state):
    """The target's v1.1 interface, or not applicable (the in-process reference has none)."""
    target = state.target
    if not callable(getattr(target, "interface_call", None)):
        not_applicable(f"needs Target Interface v1.1 over HTTP (signed callback registration and outcome reads); "
                       f"target {target.name} is the reference in-process, which has no HTTP interface")
    return target


def _call(state, v11, method, path, party, *, body=None, sign=True, sent="") -> Call:
    target = state.target
    answer = target.interface_call(method, path, user_id=party.user_id, body=body, sign=sign)
    v11.last = Call(method, target.base_url + path, str(party), sign and target.signs_for(party.user_id),
                    answer.status_code, answer.content, sent)
    return v11.last


def _registered_url(state, v11, party) -> str:
    """`party`'s callback URL as the party itself reads it (signed GET). Cannot tell: TargetFault."""
    call = _call(state, v11, "GET", callback_path(party.user_id), party)
    url = None
    if call.status == 200:
        try:
            url = json.loads(call.body).get("url")
        except (ValueError, AttributeError):
            url = None
    if not isinstance(url, str):
        raise TargetFault(f"{call}; expected HTTP 200 with {{\"url\": ...}}: cannot tell whether the callback of "
                          f"{party} changed")
    return url


def _own_callback_first(state, v11, party) -> None:
    """`party`'s own (signed) registration must stand before another call tries to change it: the
    refusal that follows is then about who asks, or what URL, never about registration as such."""
    target = state.target
    standing = target.ensure_callback(party.user_id)
    if standing != "registered":
        registration_refused(f"{party}'s own signed registration: {standing}")
    state.restore.append(lambda: target.forget_callback(party.user_id))   # registered again before its next request
    v11.before = {party.user_id: _registered_url(state, v11, party)}


def registration_refused(how: str) -> None:
    """A target that refused the harness's callback registration offers none to it (SPEC §5: any refusal,
    501 included): its outcomes are polled, and the registration scenarios are not applicable - the same
    whichever scenario meets the refusal first, never a set-up error."""
    not_applicable(f"the target refused callback registration ({how}): it offers none to the harness, and "
                   f"outcomes are polled (SPEC §5)")


def _elsewhere(state, name: str) -> str:
    """A URL on the harness's own callback receiver (so a host the target accepts), not the registered one."""
    return state.target.callback_url.rstrip("/") + f"/mp107-{name}"


# --- Given ----------------------------------------------------------------------------------------

@given(parsers.re(rf"callback registration over Target Interface v1\.1, among the {FUEL} users"))
def callback_registration_offered(state, fuel):
    target = _http(state)
    statement = state.statement
    if statement is not None and statement.callback_registration is False:
        not_applicable(f"the target offers no callback registration: [statement.capabilities] "
                       f"callback_registration = false ({statement.source})")
    if target.callback_refusal is not None:
        registration_refused(f"earlier in this run: {target.callback_refusal}")
    if target.callback_url is None:
        pytest.skip(f"the harness runs no callback receiver ([callbacks] mode = \"poll\" in "
                    f"{target.profile.where()}): it has no callback URL the target would accept")
    state.planned_fuel = fuel


@given("outcome reads over Target Interface v1.1")
def outcome_reads_offered(state):
    _http(state)


# --- When -----------------------------------------------------------------------------------------

@when(parsers.re(rf"{PARTY} registers a callback for {OTHER}'s User ID"))
def registers_for_another(state, v11, party, other):
    caller, owner = state.party(party), state.party(other)
    _own_callback_first(state, v11, owner)
    url = _elsewhere(state, "hijacked")
    _call(state, v11, "PUT", callback_path(owner.user_id), caller, body={"url": url},
          sent=f"url {url}, for {owner.user_id}")


@when(parsers.re(rf"{PARTY} registers a callback for itself without an HTTP Message Signature"))
def registers_unsigned(state, v11, party):
    owner = state.party(party)
    _own_callback_first(state, v11, owner)
    url = _elsewhere(state, "unsigned")
    _call(state, v11, "PUT", callback_path(owner.user_id), owner, body={"url": url}, sign=False, sent=f"url {url}")


@when(parsers.re(rf"{PARTY} registers a callback to (?P<url>\S+)"))
def registers_url(state, v11, party, url):
    owner = state.party(party)
    _own_callback_first(state, v11, owner)
    _call(state, v11, "PUT", callback_path(owner.user_id), owner, body={"url": url}, sent=f"url {url}")


@when(parsers.re(rf"{PARTY} asks for the outcome of {OTHER}'s request"))
def reads_anothers_outcome(state, v11, party, other):
    owner = state.party(other)
    earlier = [e for e in state.history if e.sender == owner.user_id and e.outcome is not None]
    assert earlier, f"no request of the {other} with a final outcome earlier in this scenario"
    v11.request_id, v11.outcome = earlier[-1].request_id, earlier[-1].outcome.xml.strip()
    _call(state, v11, "GET", responses_path(v11.request_id), state.party(party),
          sent=f"the outcome of {v11.request_id}")


# --- Then -----------------------------------------------------------------------------------------

@then("the DSP refuses the callback registration")
def refuses_registration(state, v11):
    call = v11.last
    state.judge(400 <= call.status < 500, DSP, f"{call}\n  expected: a refusal, HTTP 4xx", RULE)


@then(parsers.re(rf"{PARTY}'s callback is unchanged"))
def callback_unchanged(state, v11, party):
    owner = state.party(party)
    attempt = v11.last
    before = v11.before[owner.user_id]
    now = _registered_url(state, v11, owner)
    state.judge(now == before, DSP, f"{attempt}\n  then the {party}'s callback reads {now!r}; expected it "
                                    f"unchanged: {before!r}", RULE)


@then("the DSP refuses to show it that outcome")
def refuses_outcome(state, v11):
    call = v11.last
    expected = f"a refusal, HTTP 4xx, without the outcome of {v11.request_id}"
    state.judge(400 <= call.status < 500, DSP, f"{call}\n  expected: {expected}", RULE)
    shown = outcome_for(call.body, v11.request_id) or bool(v11.outcome and v11.outcome in call.body)
    state.judge(not shown, DSP, f"{call}\n  expected: {expected}; the body carries that outcome", RULE)


@then(parsers.re(rf"{PARTY} can read that outcome itself"))
def reads_own_outcome(state, v11, party):
    call = _call(state, v11, "GET", responses_path(v11.request_id), state.party(party),
                 sent=f"the outcome of {v11.request_id}")
    state.judge(call.status == 200 and outcome_for(call.body, v11.request_id), DSP,
                f"{call}\n  expected: HTTP 200 with the outcome of its own request {v11.request_id}", RULE)
