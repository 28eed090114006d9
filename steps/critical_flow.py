"""The Critical flow on the DCC's own interface: a 6.15.1 as the DCC's Pre-Command, signed by the
user's Organisation key, and that round trip done wrong on purpose (adapters/dcc_dialect.py).

Applicable only to a target that speaks the DCC's own interface: the preflight (steps/preflight.py)
finds a scenario with "Given the target speaks the DCC's own interface" not applicable otherwise.
"""
from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from adapters import dcc_dialect
from conformance.verdicts import DSP

from .scenario_state import explain
from .service_requests import send_update
from .vocabulary import OTHER, PARTY, ROLE

UPDATE = rf"{PARTY} sends SRV 6\.15\.1 with {OTHER}'s certificates for the {ROLE} slot"
KEY_HOLDER = "(?:the )?(?P<holder>registered supplier|other supplier|registered network operator|wrong network operator|third network operator)"


@given("the target speaks the DCC's own interface")
def speaks_dcc_interface(state):
    """Checked before the scenario starts (the preflight); nothing to do here."""


@when(parsers.re(rf"{UPDATE}, its Pre-Command signed with {KEY_HOLDER}'s Organisation key"))
def sends_signed_with_another_key(state, party, other, role, holder):
    key_holder = state.party(holder)
    spoil = dcc_dialect.signed_with_another_key(key_holder.organisation_key, f"the {holder}")
    send_update(state, party, other, role, submit_options={"spoil": spoil})


@when(parsers.re(rf"{UPDATE}, its Pre-Command altered before signing to carry {KEY_HOLDER}'s certificates"))
def sends_altered_before_signing(state, party, other, role, holder):
    spoil = dcc_dialect.carrying(state.party(holder).certificate_pair(), f"the {holder}")
    send_update(state, party, other, role, submit_options={"spoil": spoil})


@when(parsers.re(rf"{UPDATE}, its Signed Pre-Command altered after signing"))
def sends_altered_after_signing(state, party, other, role):
    send_update(state, party, other, role, submit_options={"spoil": dcc_dialect.altered_after_signing()})


@when(parsers.re(rf"{UPDATE}, its Signed Pre-Command sent under another RequestID"))
def sends_under_another_request_id(state, party, other, role):
    """Its outcome, were it accepted, would come under the other RequestID: not awaited (the DSP must
    refuse it; an I99 is the finding)."""
    other_id = state.client.request_id(state.party(party).user_id, state.device.device.device_id)
    send_update(state, party, other, role, await_outcome=False,
                submit_options={"spoil": dcc_dialect.under_request_id(str(other_id))})


@then(parsers.re(rf"the DCC's Pre-Command is the CS02b command from {PARTY} to the device carrying {OTHER}'s "
                 rf"certificates for the {ROLE} slot"))
def pre_command_is(state, party, other, role):
    """The transform's answer: the GBCS command the request asks for (the DSP's work, judged on it)."""
    exchange = state.last
    payload = dcc_dialect.issued_pre_command(exchange.legs)
    state.judge(payload is not None, DSP, explain(exchange, "a transform answer with a Pre-Command"))
    problems = dcc_dialect.pre_command_problems(
        payload, sender=state.party(party).user_id, device=state.device.device.device_id,
        counter=int(exchange.request_id.rsplit(":", 1)[1]), role=role,
        pair=state.party(other).certificate_pair())
    state.judge(not problems, DSP, explain(exchange, f"the CS02b command replacing the {role} slot with the "
                                                     f"{other}'s certificates; but: {'; '.join(problems)}"))

