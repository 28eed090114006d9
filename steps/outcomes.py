"""What came back: acknowledgement codes, final outcomes, and what a slot holds (read with 6.24.1).

Each Then step judges one component: the acknowledgement is the DSP's answer; the final outcome
and the slot read back are the device's S1SP's (or the SMETS2 device's). A failure names that
component and the requirements it breaks (ScenarioState.violation)."""
from __future__ import annotations

from pytest_bdd import parsers, then

from conformance.verdicts import DSP

from .scenario_state import explain
from .service_requests import send_retrieve
from .vocabulary import CODE, OTHER, PARTY, ROLE


def acknowledged(state, exchange, expectation: str) -> None:
    """The DSP accepted it (I99): else the DSP broke the rule."""
    state.judge(exchange.ack is not None and exchange.ack.code == "I99", DSP, explain(exchange, expectation))


@then("the DSP acknowledges it with I99")
def dsp_acknowledges(state):
    acknowledged(state, state.last, "acknowledgement I99 from the DSP")


def judgeable_on_valid_traffic(state) -> None:
    """SPEC §5: a target that cannot be judged on valid traffic is broken, not non-conformant. So
    before a fault in answer to bad input (Client.send_raw(hostile=True) keeps a 5xx, a dropped
    connection, a timeout, an unreadable answer) is held against the target, a valid 6.24.1 must get
    a readable, signed answer and its outcome; if it does not, its TargetFault ends the scenario as
    broken (e.g. a DSP whose answers are all unsigned), and the fault is not a finding. (An outcome
    that never comes after I99 ends the scenario as broken too, as everywhere in the suite.)"""
    send_retrieve(state, "registered network operator", "NetworkOperator")


@then(parsers.re(rf"the DSP rejects it with {CODE}"))
def dsp_rejects(state, code):
    """For bad input (sent as hostile), a 5xx, a dropped connection or a timeout instead of the code
    is a failure of MP107-R4.2 -- once a valid request is seen to be answered."""
    exchange = state.last
    if exchange.fault is not None:
        judgeable_on_valid_traffic(state)
        state.judge(False, DSP, explain(exchange, f"the DSP rejects it with {code}"),
                    tuple(dict.fromkeys((*(t for t in state.tags if t.startswith("MP107-R")), "MP107-R4.2"))))
    state.judge(exchange.ack.code == code, DSP, explain(exchange, f"the DSP rejects it with {code}"))
    state.judge(exchange.outcome is None, DSP, explain(exchange, f"no final outcome after a DSP rejection {code}"))


@then(parsers.re(rf"the final outcome is {CODE}"))
def final_outcome(state, code):
    exchange = state.last
    acknowledged(state, exchange, f"I99 then final outcome {code}")
    state.judge(exchange.outcome is not None and exchange.outcome.code == code, state.device_component,
                explain(exchange, f"final outcome {code}"))


@then("the final outcome is not I0")
def final_outcome_not_success(state):
    exchange = state.last
    acknowledged(state, exchange, "I99 then a final outcome other than I0")
    state.judge(exchange.outcome is not None and exchange.outcome.code != "I0", state.device_component,
                explain(exchange, "a final outcome other than I0"))


@then(parsers.re(rf"the S1SP rejects it with {CODE}"))
def s1sp_rejects(state, code):
    exchange = state.last
    acknowledged(state, exchange, f"I99 then the S1SP alert {code}")
    component = state.device_component
    alert = exchange.outcome.response.s1sp_alert if exchange.outcome is not None else None
    state.judge(alert is not None, component,
                explain(exchange, f"an S1SP alert {code} (DCCAlertMessage/S1SPAlert), not a plain Response"))
    state.judge(alert.code == code, component, explain(exchange, f"S1SPAlertCode {code}"))


def slot_holds(state, exchange, role: str, expected: dict[str, tuple[str, str]]) -> tuple[bool, str]:
    """Whether a 6.24.1 answer shows `expected` ({usage: (entity id, sha1)}) in `role`'s slot, and
    what it shows, in words."""
    seen = {d.usage: (str(d.remote_party_id), d.certificate_hash.lower())
            for d in exchange.outcome.response.credentials if d.role == role}
    shown = {u: f"{e} sha1 {h}" for u, (e, h) in seen.items()} or "nothing"
    return seen == expected, f"6.24.1 shows {shown}"


def expected_pair(party) -> dict[str, tuple[str, str]]:
    return party.slot_entries()


@then(parsers.re(rf"SRV 6\.24\.1 from {PARTY} shows {OTHER}'s certificates in the {ROLE} slot"))
def slot_shows(state, party, other, role):
    exchange = send_retrieve(state, party, role)
    acknowledged(state, exchange, "I99 then I0 for the 6.24.1 read-back")
    component = state.device_component
    state.judge(exchange.outcome is not None and exchange.outcome.code == "I0", component,
                explain(exchange, "I99 then I0 for the 6.24.1 read-back"))
    expected = expected_pair(state.party(other))
    ok, shown = slot_holds(state, exchange, role, expected)
    state.judge(ok, component, explain(
        exchange, f"the {role} slot to hold the {other}'s certificates "
                  f"{ {u: f'{e} sha1 {h}' for u, (e, h) in expected.items()} }; {shown}"))
