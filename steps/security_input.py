"""MP107-R4: requests with a bad signature, and bad or hostile input."""
from __future__ import annotations

import re

from pytest_bdd import parsers, then, when

from adapters import hostile, service_requests as srv
from adapters.world import new_device_id

from conformance.verdicts import DSP

from .outcomes import final_outcome, judgeable_on_valid_traffic, slot_shows
from .scenario_state import explain
from .service_requests import send, send_retrieve
from .vocabulary import OTHER, PARTY, ROLE

SIGNER = "(?:the )?(?P<signer>registered supplier|other supplier|registered network operator|wrong network operator|third network operator)"


def _signed_update(state, party, other, role, signer_label=None):
    pair = state.party(other).certificate_pair()
    body = srv.update_security_credentials(role, pair, state.cast.certification_path())
    sender = state.party(party)
    request = state.client.build(sender.user_id, state.device.device.device_id, "6.15.1", body)
    signer = state.party(signer_label or party).signer
    state.client.know(signer)          # the evidence names whose key signed what is sent as it is
    return request, hostile.signed(request, signer)


@when(parsers.re(rf"{PARTY} sends SRV 6\.15\.1 with {OTHER}'s certificates for the {ROLE} slot, signed with {SIGNER}'s key"))
def sends_signed_by_another(state, party, other, role, signer):
    request, xml = _signed_update(state, party, other, role, signer)
    state.record(state.client.send_raw(str(request.request_id.originator), str(request.request_id), xml,
                                       description=f"SRV 6.15.1 signed with the {signer}'s key"))


@when(parsers.re(rf"{PARTY} sends SRV 6\.15\.1 with {OTHER}'s certificates for the {ROLE} slot, altered after signing"))
def sends_altered(state, party, other, role):
    request, xml = _signed_update(state, party, other, role)
    state.record(state.client.send_raw(str(request.request_id.originator), str(request.request_id),
                                       hostile.alter_after_signing(xml),
                                       description="SRV 6.15.1 altered after signing"))


# --- MP107-R4.1/R4.2/R4.3: a correct request spoiled in exactly one way (adapters/hostile.py) -------

BASE_RECEIVER = "third network operator"
"""The hostile kinds spoil the sender's 6.15.1 handing its NetworkOperator slot to this party: correct,
it is accepted and changes the slot (the scenario 'the correct request the hostile inputs spoil')."""


def _base(state, party, earlier=None) -> hostile.Base:
    request, xml = _signed_update(state, party, BASE_RECEIVER, "NetworkOperator")
    for signer in (state.party("wrong network operator").signer, hostile.stranger_signer(state.party(party).user_id)):
        state.client.know(signer)
    return hostile.Base(request=request, signed=xml, signer=state.party(party).signer,
                        other_signer=state.party("wrong network operator").signer,
                        stranger_signer=hostile.stranger_signer(state.party(party).user_id),
                        other_certificates=state.party("wrong network operator").certificate_pair(),
                        earlier=earlier)


@when(parsers.re(rf"{PARTY} sends the correct request the hostile inputs spoil"))
def sends_unspoiled(state, party):
    base = _base(state, party)
    state.changed_slots = True
    description = f"SRV 6.15.1 handing the NetworkOperator slot to the {BASE_RECEIVER}"
    state.record(state.client.send_raw(base.request_id.split(":")[0], base.request_id, base.signed,
                                       description=description))


KINDS = "|".join(re.escape(name) for name in sorted(hostile.MALFORMATIONS, key=len, reverse=True))


@when(parsers.re(rf"{PARTY} sends (?P<malformation>{KINDS})"))
def sends_malformed(state, party, malformation):
    kind = hostile.MALFORMATIONS[malformation]
    earlier = None
    if kind.needs_earlier:     # one accepted now: the spoiled request repeats or undercuts its counter
        accepted = send_retrieve(state, party, "NetworkOperator")
        state.judge(accepted.ack.code == "I99", DSP, explain(accepted, "I99 for a 6.24.1 with a rising counter"),
                    ("MP107-R3.2",))
        earlier = (accepted.request_id, accepted.request_xml)
    base = _base(state, party, earlier)
    spoiled = kind.spoil(base)
    state.changed_slots = True
    exchange = state.client.send_raw(base.request_id.split(":")[0], spoiled.request_id, spoiled.xml,
                                     description=malformation, hostile=True)
    if kind.note:
        exchange.notes.append(kind.note)
    state.record(exchange)


@then("the DSP refuses it")
def refused_as_malformed(state):
    """SPEC §5, MP107-R4.1-R4.3: a clear refusal - an E code (HTTP 200, or 400 with a signed DUIS
    Response), or any HTTP 4xx (413 for an oversized body) with no body. A 5xx, a dropped
    connection or a timeout is a failure of R4.2, not a fault of the harness; so is an I99."""
    exchange = state.last
    expected = "a refusal: an E code in a signed DUIS Response (HTTP 200 or 4xx), or an HTTP 4xx with no body"
    rule = tuple(t for t in state.tags if t.startswith("MP107-R4.")) or ("MP107-R4.2",)
    if exchange.fault is not None:
        judgeable_on_valid_traffic(state)
    state.judge(exchange.fault is None, DSP, explain(exchange, expected), rule)
    ack = exchange.ack
    state.judge(ack.http_status == 200 or 400 <= ack.http_status < 500, DSP, explain(exchange, expected), rule)
    if ack.body_problem is not None:       # an unsigned or unreadable refusal: held against the DSP only if
        judgeable_on_valid_traffic(state)  # its answers to valid traffic are readable; the rule it breaks is R4.2's
    state.judge(ack.body_problem is None, DSP, explain(exchange, f"{expected}; but {ack.body_problem}"),
                tuple(dict.fromkeys((*rule, "MP107-R4.2"))))
    if ack.response is None:
        state.judge(400 <= ack.http_status < 500, DSP, explain(exchange, expected), rule)
    else:
        state.judge(ack.code.startswith("E"), DSP, explain(exchange, expected), rule)
    state.judge(exchange.outcome is None, DSP, explain(exchange, f"{expected}, and no final outcome"), rule)


@then("the DSP refuses it and nothing changes, or it is treated exactly as the correct request")
def refused_or_equivalent(state):
    """A rewriting XML allows (hostile.Kind.equivalent): refused (and the slot unchanged), or I99 then
    I0 and the slot handed over exactly as the correct request would; nothing else - in particular
    not a request processed as something other than what was signed."""
    exchange = state.last
    if exchange.ack is not None and exchange.ack.code == "I99":
        final_outcome(state, "I0")
        slot_shows(state, "registered network operator", BASE_RECEIVER, "NetworkOperator")
    else:
        refused_as_malformed(state)
        slot_shows(state, "registered network operator", "registered network operator", "NetworkOperator")


@when(parsers.re(rf"{PARTY} sends SRV 6\.24\.1 for the {ROLE} slot of a device that does not exist"))
def sends_to_unknown_device(state, party, role):
    sender = state.party(party)
    request = state.client.build(sender.user_id, new_device_id(), "6.24.1", srv.retrieve_security_credentials(role))
    state.record(state.client.send(sender.signer, request, description="SRV 6.24.1 to a device that does not exist",
                                   hostile=True))


BAD_CERTIFICATES = "|".join(re.escape(name) for name in sorted(hostile.BAD_CERTIFICATES, key=len, reverse=True))


@when(parsers.re(rf"{PARTY} sends SRV 6\.15\.1 for the {ROLE} slot with (?P<problem>{BAD_CERTIFICATES})"))
def sends_bad_certificates(state, party, role, problem):
    sender = state.party(party)
    ctx = hostile.CertificateContext(entity_id=sender.user_id, role=role, issuing=state.cast.smki.issuing,
                                     own_pair=sender.certificate_pair(),
                                     party_pair=lambda label: state.party(label).certificate_pair(),
                                     foreign_smki=hostile.foreign_smki)
    pair = hostile.BAD_CERTIFICATES[problem](ctx)
    body = srv.update_security_credentials(role, pair, state.cast.certification_path())
    send(state, party, "6.15.1", body, f"replacing the {role} slot with {problem}")


@when(parsers.re(rf"a user the DCC does not know sends SRV 6\.24\.1 for the {ROLE} slot"))
def unknown_user_sends(state, role):
    stranger = state.cast.smki.issue_user("90-B3-D5-1F-30-0F-FF-FE", {"ED"})
    xml_cred = stranger.xml_signing
    request = state.client.build(stranger.user_id, state.device.device.device_id, "6.24.1",
                                 srv.retrieve_security_credentials(role))
    state.record(state.client.send(hostile.signer_of(xml_cred), request,
                                   description="SRV 6.24.1 from a User ID the DCC does not know", hostile=True))


# --- MP107-R4.3: replays and counters that do not rise ----------------------------------------------

@when(parsers.re(rf"{PARTY}'s SRV (?P<srv_name>6\.21|6\.15\.1|6\.24\.1) is sent again unchanged"))
def replays(state, party, srv_name):
    """The very bytes of the scenario's earlier request: same signature, same RequestID (a captured request)."""
    sender = state.party(party).user_id
    earlier = [e for e in state.history if e.sender == sender and e.description.startswith(f"SRV {srv_name} ")]
    assert earlier, f"no SRV {srv_name} from the {party} earlier in this scenario to replay"
    original = earlier[-1]
    state.changed_slots = True
    state.record(state.client.send_raw(original.sender, original.request_id, original.request_xml,
                                       description=f"SRV {srv_name} replayed unchanged ({original.request_id})"))


@when(parsers.re(rf"{PARTY} sends SRV 6\.24\.1 for the {ROLE} slot with an OriginatorCounter lower than its last"))
def sends_lower_counter(state, party, role):
    sender = state.party(party)
    accepted = send_retrieve(state, party, role)        # one accepted now: the lower counter is below it
    state.judge(accepted.ack.code == "I99", DSP, explain(accepted, "I99 for a 6.24.1 with a rising counter"),
                ("MP107-R3.2",))
    last = int(accepted.request_id.rsplit(":", 1)[1])
    request = state.client.build(sender.user_id, state.device.device.device_id, "6.24.1",
                                 srv.retrieve_security_credentials(role), counter=last - 1)
    state.record(state.client.send(sender.signer, request,
                                   description=f"SRV 6.24.1 with OriginatorCounter {last - 1}, below {last}"))
