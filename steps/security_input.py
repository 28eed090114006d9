"""MP107-R4: requests with a bad signature, and bad or hostile input."""
from __future__ import annotations

from functools import lru_cache

from pytest_bdd import parsers, then, when

from adapters import hostile, service_requests as srv
from adapters.world import new_device_id
from duis import codec, signing
from smki import TestSMKI

from mp107.verdicts import DSP

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
    return request, signing.sign(codec.encode_request(request), signer)


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


@when(parsers.re(rf"{PARTY} sends (?P<malformation>{'|'.join(hostile.MALFORMATIONS)})"))
def sends_malformed(state, party, malformation):
    request, xml = _signed_update(state, party, "registered network operator", "NetworkOperator")
    state.record(state.client.send_raw(str(request.request_id.originator), str(request.request_id),
                                       hostile.MALFORMATIONS[malformation](xml), description=malformation,
                                       hostile=True))


@then("the DSP refuses it as malformed input")
def refused_as_malformed(state):
    """SPEC §5 and MP107-R4.2: an HTTP 4xx (400 with a signed DUIS Response carrying an E code, or any
    4xx - 413 for an oversized body - with no body); a 5xx, a dropped connection or a timeout is a
    failure of R4.2, not a fault of the harness."""
    exchange, expected = state.last, "a refusal: HTTP 4xx, with no body or a signed DUIS Response carrying an E code"
    rule = ("MP107-R4.2",)
    state.judge(exchange.fault is None, DSP, explain(exchange, expected), rule)
    ack = exchange.ack
    state.judge(400 <= ack.http_status < 500, DSP, explain(exchange, expected), rule)
    state.judge(ack.body_problem is None, DSP, explain(exchange, f"{expected}; but {ack.body_problem}"), rule)
    state.judge(ack.response is None or ack.code.startswith("E"), DSP, explain(exchange, expected), rule)


@when(parsers.re(rf"{PARTY} sends SRV 6\.24\.1 for the {ROLE} slot of a device that does not exist"))
def sends_to_unknown_device(state, party, role):
    sender = state.party(party)
    request = state.client.build(sender.user_id, new_device_id(), "6.24.1", srv.retrieve_security_credentials(role))
    state.record(state.client.send(sender.signer, request, description="SRV 6.24.1 to a device that does not exist"))


@lru_cache(maxsize=1)
def _foreign_smki() -> TestSMKI:
    return TestSMKI.generate(name="ZX")


def _bad_pair(state, party, problem):
    if problem == "the registered supplier's certificates":
        return state.party("registered supplier").certificate_pair()
    ds, ka = state.party(party).certificate_pair()
    if problem == "its own certificates in swapped key usages":
        return ka, ds
    org = _foreign_smki().issue_organisation(state.party(party).user_id, "NetworkOperator")
    return org.der_pair()


@when(parsers.re(rf"{PARTY} sends SRV 6\.15\.1 for the {ROLE} slot with (?P<problem>the registered supplier's certificates|its own certificates in swapped key usages|certificates from an SMKI the DCC does not know)"))
def sends_bad_certificates(state, party, role, problem):
    body = srv.update_security_credentials(role, _bad_pair(state, party, problem), state.cast.certification_path())
    send(state, party, "6.15.1", body, f"replacing the {role} slot with {problem}")


@when(parsers.re(rf"a user the DCC does not know sends SRV 6\.24\.1 for the {ROLE} slot"))
def unknown_user_sends(state, role):
    stranger = state.cast.smki.issue_user("90-B3-D5-1F-30-0F-FF-FE", {"ED"})
    xml_cred = stranger.xml_signing
    request = state.client.build(stranger.user_id, state.device.device.device_id, "6.24.1",
                                 srv.retrieve_security_credentials(role))
    state.record(state.client.send(signing.Signer(xml_cred.key, xml_cred.cert), request,
                                   description="SRV 6.24.1 from a User ID the DCC does not know"))


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
