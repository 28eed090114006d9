"""Byte for byte with the DCC's own tools (issue 16): the DCC's signing tool (dccboxed-signing-tool, in
the npm package @smartdcc/duis-sign-wrap) and its DUIS parser (@smartdcc/duis-parser), through
adapters/dcc_tools.

What is proved, on what:

* every kind of request the suite sends - SRV 6.15.1 Command Variant 4 for each slot, 6.21, 6.24.1, and
  the Signed Pre-Command (Command Variant 5) of the DCC's own interface - built by the harness for the
  ZAZ1 supplier and network operator of profiles/zaz1.toml and sent to the reference, validates in the
  DCC's tool, exactly as it crossed the wire: the DCC's tool drops whitespace-only text between elements
  before it digests, so before the wire form (duis/wire.py) every one of them was refused;
* the same with a user the DCC's tool does not know (checked with that user's certificate);
* the DCC's tool's own signatures - on the shared DUIS templates, and on requests the harness built
  but did not sign - are verified by the harness and accepted by the reference served over HTTP: I99,
  then the outcome;
* duis-parser reads every request, acknowledgement and outcome of those exchanges with the header the
  harness's codec reads (RequestID parts, CommandVariant, ServiceReference[Variant], ResponseCode);
* and the reverse asymmetry that explains the change: a document indented after signing still passes
  the DCC's tool but no longer verifies as XML-DSig, so neither side may indent what it signs.

The whole-run differential (every message of a suite run against the DCC's tools) is
tests/test_dcc_tool_whole_run.py. DCC Boxed's own signed responses verifying in the harness stays in
tests/test_duis_signing.py.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from adapters import profile as profiles, service_requests as srv
from adapters.client import Client
from adapters.dcc_tools import harness_fields
from adapters.reference_host import InProcessReference
from adapters.world import new_device
from duis import codec, messages as m, safexml, signing, wire
from duis.types import RequestID

ROOT = Path(__file__).resolve().parents[1]
ZAZ1 = ROOT / "profiles" / "zaz1.toml"
SUPPLIER = "90-B3-D5-1F-30-01-00-00"        # the ZAZ1 test supplier
OPERATOR = "90-B3-D5-1F-30-02-00-00"        # the ZAZ1 test network operator


@dataclasses.dataclass
class World:
    reference: InProcessReference
    target: object
    cast: object
    client: Client

    def party(self, label: str, fuel: str = "electricity"):
        return self.cast.party(label, fuel)

    def device(self, fuel: str = "electricity"):
        setup = new_device(self.cast, fuel=fuel, smets=1, s1sp="S1SP1", cohort=self.target.cohort_of("S1SP1"))
        self.target.provision(setup.fixture)
        return setup


def _world(*args: str, dialect: str = "v1"):
    reference = InProcessReference(*args)
    try:
        profile = dataclasses.replace(profiles.load(ZAZ1), dialect=dialect)
        target = reference.target(profile)
        cast = profile.cast()
        target.provision(cast.fixture())
        for party in cast.parties:
            target.register_signer(party.user_id, party.signer)
            target.register_organisation_key(party.user_id, party.organisation_key)
        assert cast.party("registered supplier", "electricity").user_id == SUPPLIER
        assert cast.party("registered network operator", "electricity").user_id == OPERATOR
        return World(reference, target, cast, Client(target, outcome_timeout=10))
    except BaseException:
        reference.close()
        raise


@pytest.fixture(scope="module")
def zaz1(shared_duis):
    """The reference served over HTTP (in this process) on Target Interface v1, with profiles/zaz1.toml's users."""
    world = _world()
    yield world
    world.reference.close()


@pytest.fixture(scope="module")
def zaz1_dcc(shared_duis):
    """The same on the DCC's own interface (serviceT / serviceS: Command Variant 4, then 5)."""
    world = _world("--interface", "dcc", dialect="dcc")
    yield world
    world.reference.close()


def _pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


# --------------------------------------------------------------------------- what the harness sends

KINDS = {
    # id: (sender, srv, slot or roles, the party whose certificates go in, dialect)
    "6.15.1-CV4-Supplier-slot-by-the-supplier": ("registered supplier", "6.15.1", "Supplier", "registered supplier", "v1"),
    "6.15.1-CV4-NetworkOperator-slot-by-the-network-operator": ("registered network operator", "6.15.1",
                                                                "NetworkOperator", "registered network operator", "v1"),
    "6.15.1-CV4-NetworkOperator-slot-by-the-supplier": ("registered supplier", "6.15.1", "NetworkOperator",
                                                        "registered network operator", "v1"),
    "6.15.1-CV4-Supplier-slot-by-the-network-operator": ("registered network operator", "6.15.1", "Supplier",
                                                         "registered supplier", "v1"),
    "6.21-by-the-supplier": ("registered supplier", "6.21", "NetworkOperator", "registered network operator", "v1"),
    "6.24.1-by-the-network-operator": ("registered network operator", "6.24.1", "NetworkOperator", None, "v1"),
    "6.24.1-by-the-supplier": ("registered supplier", "6.24.1", "Supplier", None, "v1"),
    "6.15.1-CV4-then-Signed-Pre-Command-CV5-by-the-network-operator": (
        "registered network operator", "6.15.1", "NetworkOperator", "registered network operator", "dcc"),
    "6.15.1-CV4-then-Signed-Pre-Command-CV5-by-the-supplier": (
        "registered supplier", "6.15.1", "Supplier", "registered supplier", "dcc"),
}


def _body(world: World, srv_name: str, slot: str, other: str | None):
    """The Body of a request of this kind: a 6.24.1 reads `slot`; a 6.21 or 6.15.1 puts `other`'s certificates there."""
    if srv_name == "6.24.1":
        return srv.retrieve_security_credentials(slot)
    if srv_name == "6.21":
        return srv.handover(world.party(other).certificate_pair(), world.cast.certification_path(), role=slot)
    return srv.update_security_credentials(slot, world.party(other).certificate_pair(), world.cast.certification_path())


def _send(world: World, sender: str, srv_name: str, slot: str, other: str | None):
    setup = world.device()
    party = world.party(sender)
    body = _body(world, srv_name, slot, other)
    request = world.client.build(party.user_id, setup.device.device_id, srv_name, body)
    return world.client.send(party.signer, request, description=f"SRV {srv_name} ({slot})")


@pytest.fixture(scope="module")
def sent(zaz1, zaz1_dcc, dcc_tools):
    """Every kind sent once; every leg of every exchange, as it crossed the wire (adapters/wire.py), with
    the DCC tool's verdict on it (one JVM for all of them) and duis-parser's reading."""
    exchanges = {}
    for kind, (sender, srv_name, slot, other, dialect) in KINDS.items():
        world = zaz1_dcc if dialect == "dcc" else zaz1
        exchanges[kind] = (world, _send(world, sender, srv_name, slot, other))
    legs = {kind: world.client.wire_legs(exchange) for kind, (world, exchange) in exchanges.items()}
    flat = [(kind, leg) for kind, kind_legs in legs.items() for leg in kind_legs]
    verdicts = dcc_tools.validate_many([(leg.data, leg.signer_certificate) for _, leg in flat])
    parsed = dcc_tools.parse([leg.data for _, leg in flat])
    checked = {}
    for (kind, leg), verdict, reading in zip(flat, verdicts, parsed):
        checked.setdefault(kind, []).append((leg, verdict, reading))
    return {kind: (exchanges[kind][1], checked[kind]) for kind in KINDS}


@pytest.mark.parametrize("kind", list(KINDS))
def test_dcc_tool_validates_every_kind_of_request_the_harness_sends(sent, kind):
    """The request (and on the DCC's own interface the Signed Pre-Command) exactly as sent, checked by
    the DCC's tool with the signer's certificate: schema-valid and its signature verified."""
    exchange, legs = sent[kind]
    assert exchange.ack is not None and exchange.ack.response is not None, exchange.notes
    to_target = [(leg, verdict) for leg, verdict, _ in legs if leg.direction == "to-target"]
    expected_legs = ["request", "signed-pre-command"] if KINDS[kind][4] == "dcc" else ["request"]
    assert [leg.leg for leg, _ in to_target] == expected_legs
    for leg, verdict in to_target:
        assert leg.signer == exchange.sender and leg.signer_certificate is not None
        assert wire.blank_text_between_elements(safexml.parse(leg.data)) == 0
        assert verdict.ok, f"{kind}, {leg.leg} [{leg.request_id}]: the DCC's tool says {verdict.summary()}"


def test_dcc_tool_validates_the_dsp_signed_answers_it_can_check(sent):
    """Every acknowledgement (and the transform's Pre-Command answer) with the DSP's certificate. An
    outcome carrying the S1SP's nested signature has two ds:Signature: the DCC's tool skips such a
    Response unchecked, and the test says so rather than count it."""
    checked = skipped = 0
    for kind, (exchange, legs) in sent.items():
        for leg, verdict, _ in legs:
            if leg.direction != "from-target":
                continue
            assert leg.signer == "DSP", (kind, leg.leg)
            nested = len(re.findall(rb"<ds:Signature[ >]", leg.data)) == 2
            if leg.leg == "outcome" and nested and verdict.skipped:
                skipped += 1
                continue
            assert verdict.ok, f"{kind}, {leg.leg} [{leg.request_id}]: {verdict.summary()}"
            checked += 1
    answers = sum(1 for _, legs in sent.values() for leg, _, _ in legs if leg.leg in ("acknowledgement", "transform"))
    assert checked >= answers == len(KINDS) + 2 and skipped >= 1, (checked, answers, skipped)


def test_duis_parser_reads_every_leg_with_the_harness_header(sent):
    disagreements = []
    for kind, (_, legs) in sent.items():
        for leg, _, reading in legs:
            assert reading.error is None, f"{kind}, {leg.leg}: duis-parser: {reading.error}"
            ours, theirs = harness_fields(leg.data, to_target=leg.direction == "to-target"), reading.fields()
            if leg.leg == "outcome" and theirs["srv"] is None:
                theirs["srv"] = ours["srv"]       # an S1SP alert names no SRV in its body: nothing to compare
            if ours != theirs:
                disagreements.append(f"{leg.request_id} {leg.leg}: harness {ours} / duis-parser {theirs}")
    assert not disagreements, "\n".join(disagreements)


# --------------------------------------------------------------------------- encode_signed_request itself

@pytest.mark.parametrize("srv_name", ["6.24.1", "6.15.1"])
def test_dcc_tool_validates_encode_signed_request_by_the_zaz1_network_operator(dcc_tools, shared_duis, srv_name):
    """duis.codec.encode_signed_request - the bytes the harness puts on the wire - with the ZAZ1 network
    operator's key from ../shared/duis/smki: `Validate -` (the tool finds the certificate itself) and
    `Validate FILE CERT`."""
    smki = shared_duis / "smki"
    signer = signing.Signer.from_files(smki / "xml-sign-90B3D51F30020000-ds.key", smki / "xml-sign-90B3D51F30020000-ds.pem")
    template = codec.decode_request((shared_duis / "samples" / "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    rid = RequestID.parse(f"{OPERATOR}:00-DB-12-34-56-78-90-A0:1796500000000001")
    body = (m.RetrieveDeviceSecurityCredentialsKRP(("NetworkOperator",)) if srv_name == "6.24.1" else template.body)
    xml = codec.encode_signed_request(m.ServiceRequest(rid, 1 if srv_name == "6.24.1" else 4, srv_name, body), signer)
    from_stdin = dcc_tools.validate(xml)
    with_certificate = dcc_tools.validate(xml, (smki / "xml-sign-90B3D51F30020000-ds.pem").read_bytes())
    assert from_stdin.ok, from_stdin.summary()
    assert with_certificate.ok, with_certificate.summary()


def test_dcc_tool_validates_a_user_it_does_not_know_with_that_users_certificate(dcc_tools, zaz1):
    """A user of the harness's own SMKI (not ZAZ1): `Validate FILE CERT` with its certificate."""
    setup = zaz1.device()
    wrong = zaz1.party("wrong network operator")
    request = zaz1.client.build(wrong.user_id, setup.device.device_id, "6.24.1",
                                srv.retrieve_security_credentials("NetworkOperator"))
    xml = codec.encode_signed_request(request, wrong.signer)
    verdict = dcc_tools.validate(xml, _pem(wrong.signer.cert))
    assert verdict.ok, verdict.summary()
    other = dcc_tools.validate(xml, _pem(zaz1.party("third network operator").signer.cert))
    assert other.exit_code == 10 and not other.ok, other.summary()        # and it can fail: another key


def test_dcc_tool_accepts_xml_indented_after_signing_which_xml_dsig_refuses(dcc_tools, zaz1):
    """Why the wire form: the DCC's tool drops whitespace-only text before it digests, XML-DSig keeps it.
    So one document signed and then indented passes there and fails here - and one signed indented
    (what the harness sent before) fails there and passes here. Neither side may indent what it signs."""
    setup = zaz1.device()
    operator = zaz1.party("registered network operator")
    request = zaz1.client.build(operator.user_id, setup.device.device_id, "6.24.1",
                                srv.retrieve_security_credentials("NetworkOperator"))
    signed = codec.encode_signed_request(request, operator.signer)
    indented = wire.for_reading(signed)
    assert indented != signed and wire.blank_text_between_elements(safexml.parse(indented)) > 0
    with pytest.raises(signing.SignatureInvalid):
        signing.verify(indented, operator.signer.cert)
    assert dcc_tools.validate(indented).ok


# --------------------------------------------------------------------------- the DCC tool's signatures, at the reference

TEMPLATES = {
    # template: (sender, the slot role its device must hold for it)
    "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML": OPERATOR,
    "CS02bSupplierBySupplier_6.15.1_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML": SUPPLIER,
    "CS02bNOByNOHandover_6.21_SUCCESS_REQUEST_DUIS.XML": SUPPLIER,
    "CS02bSupplierBySupplierHandover_6.21_SUCCESS_REQUEST_DUIS.XML": SUPPLIER,
    "CS02fMAC_6.24.1_SUCCESS_REQUEST_DUIS.XML": OPERATOR,     # its own originator is no user the reference knows
}


def _send_signed_by_the_dcc_tool(world: World, dcc_tools, unsigned: bytes, sender: str):
    """`unsigned` (a template, or the harness's unsigned request) with its RequestID made the sender's to a
    fresh device with a rising counter, signed by the DCC's tool (`Sign - --preserveCounter`, the ZAZ1 key
    of the sender it finds itself), verified by the harness and sent as the tool wrote it."""
    setup = world.device()
    rid = world.client.request_id(sender, setup.device.device_id)
    xml = re.sub(rb"<sr:RequestID>[^<]*</sr:RequestID>", f"<sr:RequestID>{rid}</sr:RequestID>".encode(), unsigned, count=1)
    signed = dcc_tools.sign(xml, preserve_counter=True)
    assert signed.ok, f"the DCC's tool did not sign: exit {signed.exit_code}: {signed.messages}"
    signing.verify(signed.xml, world.party("registered supplier" if sender == SUPPLIER
                                           else "registered network operator").signer.cert)
    assert codec.decode_request(signed.xml).request_id == rid
    return world.client.send_raw(sender, str(rid), signed.xml, description="signed by the DCC's tool")


@pytest.mark.slow          # one JVM start (about 1 s of CPU) per signature: left out of the quick loop
@pytest.mark.parametrize("template", list(TEMPLATES))
def test_dcc_tool_signatures_on_the_shared_templates_are_accepted_by_the_reference(dcc_tools, zaz1, shared_duis,
                                                                                template):
    """I99, then a final outcome the harness verified with the DSP's certificate. (The templates carry the
    real ZAZ1 Organisation certificates, which expired in 2025-2026 and chain to no SMKI the reference
    trusts: their outcome may be a refusal; what is judged here is that the DCC's signature is accepted.)"""
    exchange = _send_signed_by_the_dcc_tool(zaz1, dcc_tools, (shared_duis / "samples" / template).read_bytes(),
                                            TEMPLATES[template])
    assert exchange.ack.code == "I99", f"{exchange.ack.code}: {exchange.ack.reason}"
    assert exchange.outcome is not None and exchange.outcome.response.has_signature


@pytest.mark.slow          # one JVM start per signature, as above
@pytest.mark.parametrize("kind", ["6.24.1-by-the-network-operator", "6.21-by-the-supplier",
                                  "6.15.1-CV4-Supplier-slot-by-the-supplier"])
def test_dcc_tool_signatures_on_requests_the_harness_built_are_accepted_by_the_reference(dcc_tools, zaz1, kind):
    """The harness's unsigned request (codec.encode_request), signed by the DCC's tool: I99 then I0."""
    sender_label, srv_name, slot, other, _ = KINDS[kind]
    sender = zaz1.party(sender_label)
    body = _body(zaz1, srv_name, slot, other)
    placeholder = RequestID.parse(f"{sender.user_id}:00-DB-00-00-00-00-00-00:1")
    unsigned = codec.encode_request(m.ServiceRequest(placeholder, 4 if srv_name == "6.15.1" else 1, srv_name, body))
    exchange = _send_signed_by_the_dcc_tool(zaz1, dcc_tools, unsigned, sender.user_id)
    assert (exchange.ack.code, exchange.outcome.code if exchange.outcome else None) == ("I99", "I0"), exchange.notes
