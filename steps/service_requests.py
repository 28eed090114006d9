"""Sending SRV 6.15.1, 6.21 and 6.24.1 as a party of the cast."""
from __future__ import annotations

from pytest_bdd import given, parsers, when

from adapters import service_requests as srv
from conformance.verdicts import DSP

from .scenario_state import explain
from .vocabulary import OTHER, PARTY, ROLE


def send(state, party_label, srv_name, body, description, *, submit_options=None, await_outcome=True, **kwargs):
    """`submit_options`: for the target's submit (the DCC's own interface: a `spoil`)."""
    party = state.party(party_label)
    request = state.client.build(party.user_id, state.device.device.device_id, srv_name, body, **kwargs)
    if srv_name in ("6.15.1", "6.21"):
        state.changed_slots = True
    exchange = state.client.send(party.signer, request, description=f"SRV {srv_name} {description}",
                                 await_outcome=await_outcome, **(submit_options or {}))
    return state.record(exchange)


def send_update(state, party, other, role, **kwargs):
    pair = state.party(other).certificate_pair()
    body = srv.update_security_credentials(role, pair, state.cast.certification_path())
    return send(state, party, "6.15.1", body, f"replacing the {role} slot with the {other}'s certificates", **kwargs)


def send_handover(state, party, other, role="NetworkOperator"):
    pair = state.party(other).certificate_pair()
    body = srv.handover(pair, state.cast.certification_path(), role=role)
    return send(state, party, "6.21", body, f"placing the {other}'s certificates in the {role} slot")


def send_retrieve(state, party, role):
    return send(state, party, "6.24.1", srv.retrieve_security_credentials(role), f"reading the {role} slot")


def require_success(state, exchange, what, requirements):
    """A set-up request must succeed: I99 from the DSP, then I0 from the device's S1SP (or the
    SMETS2 device). Its failure is a finding on that component for the requirement the set-up
    proves (the scenario's own Then steps are then not reached)."""
    state.claimed.update(requirements)
    state.judge(exchange.ack.code == "I99", DSP, explain(exchange, f"I99 then I0 ({what})"), requirements)
    state.judge(exchange.outcome is not None and exchange.outcome.code == "I0", state.device_component,
                explain(exchange, f"I99 then I0 ({what})"), requirements)


@given(parsers.re(rf"{PARTY} has placed {OTHER}'s certificates in the {ROLE} slot with SRV 6\.21"))
def has_handed_over(state, party, other, role):
    require_success(state, send_handover(state, party, other, role), "set-up: SRV 6.21 must succeed",
                    ("MP107-R3.3",))


@given(parsers.re(rf"{PARTY} has placed {OTHER}'s certificates in the {ROLE} slot with SRV 6\.15\.1"))
def has_updated(state, party, other, role):
    require_success(state, send_update(state, party, other, role), "set-up: SRV 6.15.1 must succeed",
                    ("MP107-R1.4",) if party == "wrong network operator" and role == "NetworkOperator" else ())


@when(parsers.re(rf"{PARTY} sends SRV 6\.15\.1 with {OTHER}'s certificates for the {ROLE} slot"))
def sends_update(state, party, other, role):
    send_update(state, party, other, role)


@when(parsers.re(rf"{PARTY} sends SRV 6\.15\.1 with Command Variant (?P<cv>\d+) with {OTHER}'s certificates for the {ROLE} slot"))
def sends_update_cv(state, party, other, role, cv):
    send_update(state, party, other, role, command_variant=int(cv))


@when(parsers.re(rf"{PARTY} sends SRV 6\.21 with {OTHER}'s certificates for the {ROLE} slot"))
def sends_handover(state, party, other, role):
    send_handover(state, party, other, role)


@when(parsers.re(rf"{PARTY} sends SRV 6\.24\.1 for the {ROLE} slot"))
def sends_retrieve(state, party, role):
    send_retrieve(state, party, role)
