"""duis: the two messages of the DCC's own Critical flow (issue 12), checked against DUIS Schema V5.4
and the shared 6.15.1 templates.

* the Transform Service's answer: ResponseCode I0, Body/ResponseMessage with ServiceReference,
  ServiceReferenceVariant and PreCommand (GBCSVersion, GBCSPayload), signed by the DSP;
* the Signed Pre-Command: a Request with Command Variant 5 and Body/SignedPreCommand/GBCSPayload
  under the transform request's RequestID, XML-signed by the user.

Every message here is validated against the schema by the codec and again, independently, here.
"""
from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from duis import codec, messages as m, schema, signing
from duis.errors import DuisError, SchemaInvalid, UnsupportedServiceRequest
from duis.types import RequestID

pytestmark = pytest.mark.usefixtures("shared_duis")

SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"
AT = dt.datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=dt.timezone.utc)
NO_TEMPLATE = "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML"
SUPPLIER_TEMPLATE = "CS02bSupplierBySupplier_6.15.1_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML"
# The start of a General Signing APDU (DF, transaction id 09 01 + counter) and some content: the
# codec carries the payload as opaque bytes, so any bytes do here (gbcs/ is tested on its own).
PAYLOAD = bytes.fromhex("DF0901000000000000" "04B0" "0890B3D51F30020000" "0800DB1234567890A0") + b"\x00" * 8


@pytest.fixture(scope="module")
def dsp(make_xml_signer):
    return make_xml_signer("DSP")


@pytest.fixture(scope="module")
def user(make_xml_signer):
    return make_xml_signer("90-B3-D5-1F-30-02-00-00")


def template_request(shared_duis, name: str) -> m.ServiceRequest:
    return codec.decode_request((shared_duis / "samples" / name).read_bytes())


def texts(xml: bytes, local: str) -> list[str]:
    root = etree.fromstring(xml)
    return [el.text for el in root.iter() if isinstance(el.tag, str) and etree.QName(el).localname == local]


# --------------------------------------------------------------------------- the transform answer

@pytest.mark.parametrize("name", [NO_TEMPLATE, SUPPLIER_TEMPLATE])
def test_the_transform_answer_to_a_template_is_schema_valid_and_reads_back(shared_duis, dsp, name):
    request = template_request(shared_duis, name)
    assert request.command_variant == 4                     # DUIS templates send every 6.15.1 with CV 4
    unsigned = codec.encode_pre_command_response(request.request_id, request.srv,
                                                 m.PreCommand("4.5", PAYLOAD), AT)
    signed = signing.sign(unsigned, dsp)
    schema.validate(signed)                                  # independently of the codec's own check
    response = codec.decode_response(signed, verify_with=dsp.cert)
    assert (response.response_code, response.kind, response.srv) == ("I0", "ResponseMessage", "6.15.1")
    assert response.request_id == request.request_id
    assert response.response_id == str(request.request_id.swapped())
    assert response.pre_command == m.PreCommand("4.5", PAYLOAD)
    assert response.outcome_code == "I0" and response.has_signature
    assert texts(signed, "ServiceReference") == ["6.15"]
    assert texts(signed, "GBCSVersion") == ["4.5"]
    assert base64.b64decode(texts(signed, "GBCSPayload")[0]) == PAYLOAD


def test_the_transform_answer_keeps_its_elements_in_schema_order_with_a_reason(dsp):
    rid = RequestID.parse("90-B3-D5-1F-30-02-00-00:00-DB-12-34-56-78-90-A0:1200")
    xml = codec.encode_pre_command_response(rid, "6.15.1", m.PreCommand("4.5", PAYLOAD), AT, reason="transformed")
    message = etree.fromstring(xml).find(f"{SR}Body/{SR}ResponseMessage")
    names = [etree.QName(c).localname for c in message if isinstance(c.tag, str)]
    assert names == ["ServiceReference", "ServiceReferenceVariant", "PreCommand"]
    assert codec.decode_response(xml).reason == "transformed"


def test_a_plain_acknowledgement_has_no_pre_command():
    rid = RequestID.parse("90-B3-D5-1F-30-02-00-00:00-DB-12-34-56-78-90-A0:1200")
    assert codec.decode_response(codec.encode_acknowledgement(rid, "I99", "6.15.1", AT)).pre_command is None


def test_the_transform_answer_refuses_what_is_not_a_pre_command():
    rid = RequestID.parse("90-B3-D5-1F-30-02-00-00:00-DB-12-34-56-78-90-A0:1200")
    with pytest.raises(DuisError, match="PreCommand"):
        codec.encode_pre_command_response(rid, "6.15.1", PAYLOAD, AT)
    with pytest.raises(DuisError, match="bytes"):
        m.PreCommand("4.5", "not bytes")


# --------------------------------------------------------------------------- the Signed Pre-Command

@pytest.mark.parametrize("name", [NO_TEMPLATE, SUPPLIER_TEMPLATE])
def test_a_signed_pre_command_under_the_templates_request_id_round_trips(shared_duis, user, name):
    transform = template_request(shared_duis, name)
    command = m.ServiceRequest(transform.request_id, 5, transform.srv, m.SignedPreCommand(PAYLOAD + b"\x40" + b"\x01" * 64))
    xml = signing.sign(codec.encode_request(command), user)
    schema.validate(xml)
    signing.verify(xml, user.cert)
    back = codec.decode_request(xml, signed_pre_command=True)
    assert back == command
    assert back.request_id == transform.request_id           # the counter is preserved, not raised
    assert texts(xml, "CommandVariant") == ["5"]
    assert texts(xml, "ServiceReference") == ["6.15"] and texts(xml, "ServiceReferenceVariant") == ["6.15.1"]
    body = etree.fromstring(xml).find(f"{SR}Body")
    assert [etree.QName(c).localname for c in body] == ["SignedPreCommand"]


def test_a_signed_pre_command_with_an_execution_date_time_round_trips(user):
    rid = RequestID.parse("90-B3-D5-1F-30-02-00-00:00-DB-12-34-56-78-90-A0:1200")
    command = m.ServiceRequest(rid, 5, "6.15.1", m.SignedPreCommand(PAYLOAD, execution_datetime=AT.replace(microsecond=0)))
    xml = codec.encode_signed_request(command, user)
    el = etree.fromstring(xml).find(f"{SR}Body/{SR}SignedPreCommand")
    assert [etree.QName(c).localname for c in el] == ["ExecutionDateTime", "GBCSPayload"]
    assert codec.decode_request(xml, signed_pre_command=True) == command


def test_target_interface_v1_still_refuses_a_signed_pre_command(shared_duis):
    """Without signed_pre_command=True (a v1 serviceRequest) the body is unsupported, as before."""
    transform = template_request(shared_duis, NO_TEMPLATE)
    xml = codec.encode_request(m.ServiceRequest(transform.request_id, 5, "6.15.1", m.SignedPreCommand(PAYLOAD)))
    with pytest.raises(UnsupportedServiceRequest, match="SignedPreCommand"):
        codec.decode_request(xml)


def test_the_template_turned_into_a_signed_pre_command_reads_as_one(shared_duis):
    """The 6.15.1 template with its body replaced the way DUIS writes a Signed Pre-Command."""
    raw = re.sub(rb"<sr:UpdateSecurityCredentialsKRP>.*</sr:UpdateSecurityCredentialsKRP>",
                 b"<sr:SignedPreCommand><sr:GBCSPayload>3wkBAAAAAAAABLA=</sr:GBCSPayload></sr:SignedPreCommand>",
                 (shared_duis / "samples" / NO_TEMPLATE).read_bytes(), flags=re.S
                 ).replace(b"<sr:CommandVariant>4<", b"<sr:CommandVariant>5<")
    request = codec.decode_request(raw, signed_pre_command=True)
    assert request.command_variant == 5 and request.srv == "6.15.1"
    assert request.body == m.SignedPreCommand(bytes.fromhex("DF090100000000000004B0"))


def test_a_signed_pre_command_whose_payload_is_not_base64_is_schema_invalid(shared_duis):
    transform = template_request(shared_duis, NO_TEMPLATE)
    xml = codec.encode_request(m.ServiceRequest(transform.request_id, 5, "6.15.1", m.SignedPreCommand(PAYLOAD)))
    spoiled = re.sub(rb"<sr:GBCSPayload>[^<]*<", b"<sr:GBCSPayload>not base64!<", xml)
    with pytest.raises(SchemaInvalid):
        codec.decode_request(spoiled, signed_pre_command=True)


def test_a_signed_pre_command_for_a_variant_duis_does_not_know_is_refused_by_the_schema():
    rid = RequestID.parse("90-B3-D5-1F-30-02-00-00:00-DB-12-34-56-78-90-A0:1200")
    with pytest.raises(SchemaInvalid):
        codec.encode_request(m.ServiceRequest(rid, 5, "99.98.7", m.SignedPreCommand(PAYLOAD)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(min_size=0, max_size=600), counter=st.integers(0, 2**64 - 1))
def test_any_payload_and_counter_round_trip_through_both_messages(payload, counter):
    rid = RequestID.parse(f"90-B3-D5-1F-30-02-00-00:00-DB-12-34-56-78-90-A0:{counter}")
    command = m.ServiceRequest(rid, 5, "6.15.1", m.SignedPreCommand(payload))
    assert codec.decode_request(codec.encode_request(command), signed_pre_command=True) == command
    answer = codec.decode_response(codec.encode_pre_command_response(rid, "6.15.1", m.PreCommand("4.5", payload), AT))
    assert answer.pre_command.gbcs_payload == payload and answer.request_id == rid
