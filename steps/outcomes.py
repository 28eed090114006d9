"""What came back: acknowledgement codes, final outcomes, and what a slot holds (read with 6.24.1)."""
from __future__ import annotations

from pytest_bdd import parsers, then

from smki import inspect as cert_inspect

from .scenario_state import explain
from .service_requests import send_retrieve
from .vocabulary import CODE, OTHER, PARTY, ROLE


@then(parsers.re(rf"the DSP acknowledges it with I99"))
def dsp_acknowledges(state):
    assert state.last.ack.code == "I99", explain(state.last, "acknowledgement I99 from the DSP")


@then(parsers.re(rf"the DSP rejects it with {CODE}"))
def dsp_rejects(state, code):
    assert state.last.ack.code == code, explain(state.last, f"the DSP rejects it with {code}")
    assert state.last.outcome is None, explain(state.last, f"no final outcome after a DSP rejection {code}")


@then(parsers.re(rf"the final outcome is {CODE}"))
def final_outcome(state, code):
    assert state.last.outcome is not None, explain(state.last, f"I99 then final outcome {code}")
    assert state.last.outcome.code == code, explain(state.last, f"final outcome {code}")


@then("the final outcome is not I0")
def final_outcome_not_success(state):
    assert state.last.outcome is not None, explain(state.last, "I99 then a final outcome other than I0")
    assert state.last.outcome.code != "I0", explain(state.last, "a final outcome other than I0")


@then("it does not end in I0")
def does_not_succeed(state):
    """Refused by the DSP, or acknowledged and then refused: either way, not I0."""
    exchange = state.last
    assert exchange.ack.code != "I99" or (exchange.outcome is not None and exchange.outcome.code != "I0"), \
        explain(exchange, "a refusal: an E code from the DSP, or I99 then a final outcome other than I0")


@then(parsers.re(rf"the S1SP rejects it with {CODE}"))
def s1sp_rejects(state, code):
    exchange = state.last
    assert exchange.outcome is not None, explain(exchange, f"I99 then the S1SP alert {code}")
    alert = exchange.outcome.response.s1sp_alert
    assert alert is not None, explain(exchange, f"an S1SP alert {code} (DCCAlertMessage/S1SPAlert), not a plain Response")
    assert alert.code == code, explain(exchange, f"S1SPAlertCode {code}")


@then(parsers.re(rf"SRV 6\.24\.1 from {PARTY} shows {OTHER}'s certificates in the {ROLE} slot"))
def slot_shows(state, party, other, role):
    exchange = send_retrieve(state, party, role)
    assert exchange.ack.code == "I99" and exchange.outcome is not None and exchange.outcome.code == "I0", \
        explain(exchange, "I99 then I0 for the 6.24.1 read-back")
    expected = {usage: (state.party(other).user_id, cert_inspect.sha1_hex(der))
                for usage, der in zip(("DigitalSigning", "KeyAgreement"), state.party(other).certificate_pair())}
    seen = {d.usage: (str(d.remote_party_id), d.certificate_hash.lower())
            for d in exchange.outcome.response.credentials if d.role == role}
    assert seen == expected, explain(
        exchange, f"the {role} slot to hold the {other}'s certificates "
                  f"{ {u: f'{e} sha1 {h}' for u, (e, h) in expected.items()} }; 6.24.1 shows "
                  f"{ {u: f'{e} sha1 {h}' for u, (e, h) in seen.items()} or 'nothing'}")
