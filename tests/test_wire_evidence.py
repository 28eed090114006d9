"""The wire form (duis/wire.py) and the evidence of the exact bytes (adapters/wire.py, the run folder's
wire log in reports/pytest_plugin.py), without the DCC's tools: those are tests/test_dcc_tools.py."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import pytest
from lxml import etree

from adapters.client import Exchange
from adapters.target import Acknowledgement, Leg, Outcome
from adapters.wire import DSP, Signers, legs_of
from duis import codec, messages as m, safexml, signing, wire
from duis.types import RequestID
from reports.pytest_plugin import WireLog

RID = RequestID.parse("90-B3-D5-1F-30-02-00-00:00-DB-12-34-56-78-90-A0:1796500000000001")
AT = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def test_compact_drops_whitespace_between_elements_and_keeps_text_content():
    root = etree.fromstring(b"<a>\n  <b> x </b>\n  <!-- c -->\n  <c>  </c>\n  <d>y<e/>z</d>\n</a>")
    assert wire.blank_text_between_elements(root) == 5          # before b, after b, the comment, c and d
    wire.compact(root)
    assert etree.tostring(root) == b"<a><b> x </b><!-- c --><c>  </c><d>y<e/>z</d></a>"
    assert wire.blank_text_between_elements(root) == 0


def test_everything_signed_is_in_the_wire_form_and_indented_input_from_others_still_verifies(make_xml_signer,
                                                                                             shared_duis):
    signer = make_xml_signer("user")
    request = m.ServiceRequest(RID, 1, "6.24.1", m.RetrieveDeviceSecurityCredentialsKRP(("NetworkOperator",)))
    for xml in (codec.encode_signed_request(request, signer), signing.sign(codec.encode_request(request), signer),
                signing.sign((shared_duis / "samples" / "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML").read_bytes(),
                             signer),
                signing.sign(codec.encode_acknowledgement(RID, "I99", "6.24.1", AT), signer)):
        assert wire.blank_text_between_elements(safexml.parse(xml)) == 0, xml[:200]
        signing.verify(xml, signer.cert)
    # someone else's document, indented and then signed as it is (signxml's own signer): still accepted
    from signxml import DigestAlgorithm, SignatureMethod, XMLSigner
    indented = etree.fromstring(codec.encode_request(request))
    etree.indent(indented)
    theirs = XMLSigner(signature_algorithm=SignatureMethod.ECDSA_SHA256, digest_algorithm=DigestAlgorithm.SHA256
                       ).sign(indented, key=signer.key, cert=[signer.cert])
    assert wire.blank_text_between_elements(theirs) > 0
    signing.verify(etree.tostring(theirs), signer.cert)


def test_the_copy_for_reading_is_indented_and_leaves_what_is_not_duis_as_sent():
    xml = codec.encode_acknowledgement(RID, "I99", "6.24.1", AT)
    readable = wire.for_reading(xml)
    assert b"\n  <sr:Header>" in readable and readable != xml
    for bad in (b"<not-xml", b'<!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>', b""):
        assert wire.for_reading(bad) is bad


def _exchange(user, dsp, *, dcc=False):
    request = codec.encode_signed_request(
        m.ServiceRequest(RID, 1, "6.24.1", m.RetrieveDeviceSecurityCredentialsKRP(("NetworkOperator",))), user)
    ack_xml = signing.sign(codec.encode_acknowledgement(RID, "I99", "6.24.1", AT), dsp)
    ack = Acknowledgement(str(RID), 200, ack_xml, codec.decode_response(ack_xml))
    if dcc:
        transform = signing.sign(codec.encode_acknowledgement(RID, "I0", "6.24.1", AT), dsp)
        command = signing.sign(codec.encode_request(m.ServiceRequest(RID, 5, "6.15.1", m.SignedPreCommand(b"\xdf\x09"))),
                               user)
        ack = Acknowledgement(str(RID), 200, ack_xml, ack.response, legs=(
            Leg("transform", "http://t/api/v1/serviceT", str(RID), request, 200, transform, "I0"),
            Leg("Signed Pre-Command", "http://t/api/v1/serviceS", str(RID), command, 200, ack_xml, "I99")))
    outcome_xml = signing.sign(codec.encode_acknowledgement(RID, "I0", "6.24.1", AT), dsp)
    return Exchange(str(RID.originator), "SRV 6.24.1", str(RID), request, ack,
                    Outcome(str(RID), outcome_xml, codec.decode_response(outcome_xml)))


def test_every_leg_is_listed_with_its_direction_and_signer(make_xml_signer, smki_user):
    dsp = make_xml_signer("dsp")
    signers = Signers()
    signers.know(smki_user.cert)
    signers.know(dsp.cert, DSP)
    legs = legs_of(_exchange(smki_user, dsp), signers)
    assert [(leg.leg, leg.direction, leg.signer) for leg in legs] == [
        ("request", "to-target", str(RID.originator)), ("acknowledgement", "from-target", DSP),
        ("outcome", "from-target", DSP)]
    dcc = legs_of(_exchange(smki_user, dsp, dcc=True), signers)
    assert [leg.leg for leg in dcc] == ["request", "transform", "signed-pre-command", "acknowledgement", "outcome"]
    stranger = legs_of(_exchange(smki_user, dsp), Signers())[0]       # a certificate the harness does not hold
    assert stranger.signer is None and "serial" in stranger.signer_unknown
    entry = legs[0].index_entry()
    assert entry["sha256"] == hashlib.sha256(legs[0].data).hexdigest() and entry["length"] == len(legs[0].data)


@pytest.fixture
def smki_user():
    from smki import TestSMKI
    credential = TestSMKI.generate(name="ZW").issue_xml_signing(str(RID.originator))
    return signing.Signer(credential.key, credential.cert)


@pytest.mark.parametrize("worker, index", [(None, "index.jsonl"), ("gw1", "index-gw1.jsonl")])
def test_the_wire_log_writes_each_legs_bytes_once_and_one_index_line(tmp_path, make_xml_signer, smki_user, worker,
                                                                      index):
    dsp = make_xml_signer("dsp")
    signers = Signers()
    signers.know(smki_user.cert)
    log = WireLog(tmp_path, worker)
    legs = legs_of(_exchange(smki_user, dsp), signers)
    for leg in legs + legs[:1]:                        # the same bytes twice: one file, two lines
        log.record("features/x.py::test_y", leg.index_entry(), leg.data, leg.signer_certificate)
    log.close()
    lines = [json.loads(line) for line in (tmp_path / "wire" / index).read_text().splitlines()]
    assert [line["leg"] for line in lines] == ["request", "acknowledgement", "outcome", "request"]
    assert lines[0]["scenario"] == "features/x.py::test_y" and lines[0]["signer"] == str(RID.originator)
    for line in lines:
        assert (tmp_path / "wire" / f"{line['sha256']}.xml").read_bytes() == \
            next(leg.data for leg in legs if leg.sha256 == line["sha256"])
    pem = tmp_path / "wire" / "certificates" / f"{lines[0]['signer_certificate_sha256']}.pem"
    assert signing.load_certificate(pem.read_bytes()) == smki_user.cert
    with pytest.raises(ValueError):
        WireLog(tmp_path, worker).record("s", legs[0].index_entry(), legs[1].data, None)
