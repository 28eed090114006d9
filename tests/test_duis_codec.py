"""duis.codec and duis.schema against the real DUIS templates and DCC Boxed responses."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from cryptography.x509.oid import NameOID, ObjectIdentifier
from lxml import etree

from duis import codec, messages as m, schema, signing
from duis.errors import (
    DuisConfigError,
    DuisError,
    DuisValueError,
    MalformedXML,
    SchemaInvalid,
    SignatureInvalid,
    UnsupportedServiceRequest,
)
from duis.types import EUI64, RequestID

SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
AT = dt.datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=dt.timezone.utc)

TEMPLATES = {
    "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML": "6.15.1",
    "CS02bSupplierBySupplier_6.15.1_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML": "6.15.1",
    "CS02bNOByNOHandover_6.21_SUCCESS_REQUEST_DUIS.XML": "6.21",
    "CS02bSupplierBySupplierHandover_6.21_SUCCESS_REQUEST_DUIS.XML": "6.21",
    "CS02fMAC_6.24.1_SUCCESS_REQUEST_DUIS.XML": "6.24.1",
}
INVALID_TEMPLATE = "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS-invalid.XML"

# Every test here needs the DUIS schema and samples from ../shared/duis: skip, saying why, without them.
pytestmark = pytest.mark.usefixtures("shared_duis")

RID = RequestID.parse("90-B3-D5-1F-30-02-00-00:00-DB-12-34-56-78-90-A0:1200")


@pytest.fixture(scope="module")
def samples(shared_duis):
    return shared_duis / "samples"


@pytest.fixture(scope="module")
def s1sp(make_xml_signer):
    return make_xml_signer("S1SP1")


@pytest.fixture(scope="module")
def dsp(make_xml_signer):
    return make_xml_signer("DSP")


def template(samples, name) -> bytes:
    return (samples / name).read_bytes()


def xml_text(raw: bytes, local: str) -> list[str]:
    """All texts of elements named ``local`` (any namespace), read with plain lxml: the oracle."""
    root = etree.fromstring(raw)
    return [el.text.strip() for el in root.iter() if isinstance(el.tag, str) and etree.QName(el).localname == local]


# ----------------------------------------------------------------------------- schema settings


def test_schema_dir_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DUIS_SCHEMA_DIR", str(tmp_path))
    assert schema.schema_dir() == tmp_path


def test_schema_dir_unset_is_a_clear_config_error(monkeypatch):
    monkeypatch.delenv("DUIS_SCHEMA_DIR", raising=False)
    with pytest.raises(DuisConfigError) as info:
        schema.schema_dir()
    assert "DUIS_SCHEMA_DIR" in str(info.value) and "--duis-xsd" in str(info.value)
    with pytest.raises(DuisConfigError):
        schema.validator()


def test_schema_dir_without_the_schema_is_a_clear_config_error(tmp_path):
    (tmp_path / "other.xsd").write_text("<x/>")
    with pytest.raises(DuisConfigError, match=r"expected 'DUIS Schema V5.4.xsd'.*found only \['other.xsd'\]"):
        schema.validator(tmp_path)
    with pytest.raises(DuisConfigError, match="does not exist"):
        schema.validator(tmp_path / "missing")


def test_validator_is_compiled_once(shared_duis):
    first = schema.validator(shared_duis / "schema")
    assert schema.validator(shared_duis / "schema") is first
    assert schema.validator(str(shared_duis / "schema" / schema.SCHEMA_FILE)) is first
    assert schema.validator() is schema.validator(schema.schema_dir())


def test_validate_reports_the_first_error_path_and_reason(samples):
    with pytest.raises(SchemaInvalid) as info:
        schema.validate(template(samples, INVALID_TEMPLATE))
    assert info.value.path == "/sr:Request/sr:Header/sr:RequestID"
    assert "pattern" in info.value.reason
    assert "::1000" in info.value.reason, "the offending value is named"
    assert "/sr:Request/sr:Header/sr:RequestID" in str(info.value)


@pytest.mark.parametrize("name", [*TEMPLATES, "readfw-response.xml", "acknowledgement-error.xml", "readfw-response-resigned.xml"])
def test_real_samples_validate(samples, name):
    root = schema.validate(template(samples, name))
    assert root.tag in (SR + "Request", SR + "Response")


# ----------------------------------------------------------------------------- decode_request: the templates


def test_decode_no_by_no_6_15_1_field_by_field(samples):
    raw = template(samples, "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML")
    req = codec.decode_request(raw)
    assert req.request_id == RequestID(
        EUI64("90-B3-D5-1F-30-02-00-00"), EUI64("00-DB-12-34-56-78-90-A0"), 1200
    )
    assert req.command_variant == 4
    assert req.srv == "6.15.1" and req.service_reference == "6.15"
    assert req.sender == "90-B3-D5-1F-30-02-00-00" and req.device_id == "00-DB-12-34-56-78-90-A0"
    body = req.body
    assert isinstance(body, m.UpdateSecurityCredentialsKRP)
    assert body.remote_party_role == "NetworkOperator"
    assert body.floor_seq == 0
    assert body.prepayment_top_up_floor_seq is None
    assert body.execution_datetime is None
    assert body.apply_time_based_cpv_checks is True
    assert body.replacement.digital_signing == base64.b64decode(xml_text(raw, "DigitalSigningCertificate")[0])
    assert body.replacement.key_agreement == base64.b64decode(xml_text(raw, "KeyAgreementCertificate")[0])
    assert body.replacement.key_agreement_top_up is None
    assert body.certification_path == tuple(base64.b64decode(t) for t in xml_text(raw, "Certificate"))
    assert len(body.certification_path) == 1
    # the certificates are real DER: ZAZ1 network operator 90-B3-D5-1F-30-02-00-00 (OU=03)
    ds = signing.load_certificate(body.replacement.digital_signing)
    assert ds.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "03"
    entity_id = ds.subject.get_attributes_for_oid(ObjectIdentifier("2.5.4.45"))[0].value
    assert EUI64.from_bytes(entity_id[-8:]) == req.sender


def test_a_comment_inside_a_value_or_certificate_reads_as_what_was_signed(samples):
    """Canonical XML without comments -- what the signature covers -- reads `Network<!-- -->Operator`
    as NetworkOperator, and a certificate's base64 around a comment as the whole certificate; the
    decoder reads the same, never the first text node alone."""
    raw = template(samples, "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML")
    plain = codec.decode_request(raw)
    spoiled = raw.replace(b">NetworkOperator<", b">Network<!-- -->Operator<", 1)
    spoiled = re.sub(rb"(<sr:DigitalSigningCertificate>[^<]{64})", rb"\1<!-- -->", spoiled, count=1)
    assert spoiled.count(b"<!-- -->") == 2
    assert codec.decode_request(spoiled).body == plain.body


@pytest.mark.parametrize("name, srv", TEMPLATES.items())
def test_decode_every_template_into_the_fields_the_xml_holds(samples, name, srv):
    raw = template(samples, name)
    req = codec.decode_request(raw)
    assert str(req.request_id) == xml_text(raw, "RequestID")[0]
    assert req.command_variant == int(xml_text(raw, "CommandVariant")[0])
    assert req.service_reference == xml_text(raw, "ServiceReference")[0]
    assert req.srv == xml_text(raw, "ServiceReferenceVariant")[0] == srv
    body = req.body
    if srv == "6.24.1":
        assert isinstance(body, m.RetrieveDeviceSecurityCredentialsKRP)
        assert body.remote_party_roles == tuple(xml_text(raw, "RemotePartyRole"))
        return
    assert isinstance(body, m.UpdateSecurityCredentialsKRP if srv == "6.15.1" else m.RequestHandoverOfDCCControlledDevice)
    assert body.remote_party_role == xml_text(raw, "RemotePartyRole")[0]
    assert body.floor_seq == int(xml_text(raw, "RemotePartyFloorSeqNumber")[0])
    top_up_seq = xml_text(raw, "RemotePartyPrepaymentTopUpFloorSeqNumber")
    assert body.prepayment_top_up_floor_seq == (int(top_up_seq[0]) if top_up_seq else None)
    b64 = lambda local: [base64.b64decode(t) for t in xml_text(raw, local)]  # noqa: E731
    assert [body.replacement.digital_signing] == b64("DigitalSigningCertificate")
    assert [body.replacement.key_agreement] == b64("KeyAgreementCertificate")
    assert ([body.replacement.key_agreement_top_up] if body.replacement.key_agreement_top_up else []) == b64(
        "KeyAgreementTopUpCertificate"
    )
    assert list(body.certification_path) == b64("Certificate")
    assert body.apply_time_based_cpv_checks is (xml_text(raw, "ApplyTimeBasedCPVChecks")[0] == "true")


def test_decode_6_24_1_template(samples):
    req = codec.decode_request(template(samples, "CS02fMAC_6.24.1_SUCCESS_REQUEST_DUIS.XML"))
    assert str(req.request_id) == "90-B3-D5-1F-30-00-00-02:00-DB-12-34-56-78-90-A0:1302"
    assert req.command_variant == 1 and req.service_reference == "6.24"
    assert req.body == m.RetrieveDeviceSecurityCredentialsKRP(("Supplier", "LoadController"))


def test_decode_supplier_handover_keeps_the_top_up_certificate(samples):
    req = codec.decode_request(template(samples, "CS02bSupplierBySupplierHandover_6.21_SUCCESS_REQUEST_DUIS.XML"))
    assert req.service_reference == "6.21" and req.command_variant == 1
    assert req.body.remote_party_role == "Supplier"
    assert req.body.prepayment_top_up_floor_seq == 0
    assert req.body.replacement.key_agreement_top_up is not None


@pytest.mark.parametrize("name", TEMPLATES)
def test_encode_reproduces_the_template(samples, name):
    """encode_request(decode_request(t)) is t without its placeholder signature (whitespace aside)."""
    raw = template(samples, name)
    encoded = codec.encode_request(codec.decode_request(raw))
    parser = etree.XMLParser(remove_blank_text=True, remove_comments=True)
    expected = etree.fromstring(raw, parser)
    expected.remove(expected.find(DS + "Signature"))
    got = etree.fromstring(encoded, parser)
    assert etree.tostring(got, method="c14n") == etree.tostring(expected, method="c14n")
    assert codec.decode_request(encoded) == codec.decode_request(raw)


def test_decode_ignores_placeholder_signatures(samples):
    raw = template(samples, "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML")
    assert b"ZGVmYXVsdA==" in raw  # "default": a placeholder, not a signature
    codec.decode_request(raw)  # no SignatureInvalid


# ----------------------------------------------------------------------------- decode_request: refusals


def test_invalid_template_is_schema_invalid(samples):
    with pytest.raises(SchemaInvalid, match="RequestID"):
        codec.decode_request(template(samples, INVALID_TEMPLATE))


def test_valid_but_unsupported_srv_carries_the_srv(samples):
    raw = template(samples, INVALID_TEMPLATE).replace(b"36-CE::1000", b"36-CE:1000")
    schema.validate(raw)  # now DUIS-valid: a 4.1.1 read
    with pytest.raises(UnsupportedServiceRequest) as info:
        codec.decode_request(raw)
    assert info.value.srv == "4.1.1"
    assert "6.15.1" in str(info.value) and "4.1.1" in str(info.value)


def test_signed_pre_command_body_is_unsupported(samples):
    raw = template(samples, "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML")
    raw = re.sub(
        rb"<sr:UpdateSecurityCredentialsKRP>.*</sr:UpdateSecurityCredentialsKRP>",
        b"<sr:SignedPreCommand><sr:GBCSPayload>3QAAAA==</sr:GBCSPayload></sr:SignedPreCommand>",
        raw,
        flags=re.S,
    ).replace(b"<sr:CommandVariant>4<", b"<sr:CommandVariant>5<")
    with pytest.raises(UnsupportedServiceRequest, match="SignedPreCommand") as info:
        codec.decode_request(raw)
    assert info.value.srv == "6.15.1"


def test_body_that_does_not_match_the_srv_is_refused(samples):
    raw = template(samples, "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML").replace(
        b"<sr:ServiceReferenceVariant>6.15.1<", b"<sr:ServiceReferenceVariant>6.24.1<"
    ).replace(b"<sr:ServiceReference>6.15<", b"<sr:ServiceReference>6.24<")
    with pytest.raises(DuisValueError, match="expected a RetrieveDeviceSecurityCredentialsKRP body.*got UpdateSecurityCredentialsKRP"):
        codec.decode_request(raw)


def test_service_reference_that_does_not_match_the_variant_is_refused(samples):
    raw = template(samples, "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML").replace(
        b"<sr:ServiceReference>6.15<", b"<sr:ServiceReference>6.21<"
    )
    with pytest.raises(DuisValueError, match="expected ServiceReference 6.15 for variant 6.15.1, got 6.21"):
        codec.decode_request(raw)


def test_a_response_is_not_a_request(samples):
    with pytest.raises(SchemaInvalid, match="expected the document element sr:Request"):
        codec.decode_request(template(samples, "readfw-response.xml"))


def test_a_request_is_not_a_response(samples):
    with pytest.raises(SchemaInvalid, match="expected the document element sr:Response"):
        codec.decode_response(template(samples, "CS02fMAC_6.24.1_SUCCESS_REQUEST_DUIS.XML"))


@pytest.mark.parametrize(
    "mutate, error",
    [
        (lambda raw: raw[: len(raw) // 2], MalformedXML),
        (lambda raw: raw.replace(b"90-B3-D5-1F-30-02-00-00:", b"ZZ-B3-D5-1F-30-02-00-00:"), SchemaInvalid),
        (lambda raw: raw.replace(b">6.15.1<", b">99.99.9<"), SchemaInvalid),
        (lambda raw: raw.replace(b"<sr:CommandVariant>4<", b"<sr:CommandVariant>99<"), SchemaInvalid),
        (lambda raw: raw.replace(b">NetworkOperator<", b">Nobody<"), SchemaInvalid),
        (lambda raw: raw.replace(b'schemaVersion="5.4"', b""), SchemaInvalid),
    ],
)
def test_bad_requests_get_a_duis_error_never_a_crash(samples, mutate, error):
    raw = mutate(template(samples, "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML"))
    with pytest.raises(error):
        codec.decode_request(raw)


# ----------------------------------------------------------------------------- encode_request


def _no_update(samples) -> m.ServiceRequest:
    return codec.decode_request(template(samples, "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML"))


def test_encode_request_is_unsigned_and_schema_valid(samples):
    xml = codec.encode_request(_no_update(samples))
    root = schema.validate(xml)
    assert root.get("schemaVersion") == "5.4"
    assert root.find(DS + "Signature") is None
    assert [etree.QName(c).localname for c in root.find(SR + "Header")] == [
        "RequestID",
        "CommandVariant",
        "ServiceReference",
        "ServiceReferenceVariant",
    ]


def test_encode_signed_request_verifies_and_decodes(samples, s1sp):
    req = _no_update(samples)
    xml = codec.encode_signed_request(req, s1sp)
    assert signing.verify(xml, s1sp.cert)
    assert codec.decode_request(xml) == req


def test_encode_request_with_optional_fields(samples):
    req = _no_update(samples)
    body = replace(
        req.body,
        floor_seq=None,
        prepayment_top_up_floor_seq=7,
        execution_datetime=dt.datetime(2030, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        apply_time_based_cpv_checks=False,
        replacement=replace(req.body.replacement, key_agreement=None),
    )
    again = codec.decode_request(codec.encode_request(replace(req, body=body)))
    assert again.body.floor_seq is None
    assert again.body.prepayment_top_up_floor_seq == 7
    assert again.body.execution_datetime == dt.datetime(2030, 1, 1, 11, tzinfo=dt.timezone.utc)
    assert again.body.apply_time_based_cpv_checks is False
    assert again.body.replacement.key_agreement is None


def test_encode_request_refuses_a_body_for_another_srv(samples):
    req = _no_update(samples)
    with pytest.raises(DuisValueError, match="expected Service Reference Variant 6.15.1 for a UpdateSecurityCredentialsKRP body, got 6.21"):
        codec.encode_request(replace(req, srv="6.21"))


def test_encode_request_never_emits_schema_invalid_xml(samples):
    req = _no_update(samples)
    with pytest.raises(SchemaInvalid, match="RemotePartyRole"):
        codec.encode_request(replace(req, body=replace(req.body, remote_party_role="Nobody")))
    with pytest.raises(SchemaInvalid, match="CommandVariant"):
        codec.encode_request(replace(req, command_variant=99))
    with pytest.raises(SchemaInvalid, match="Certificate"):
        codec.encode_request(replace(req, body=replace(req.body, certification_path=())))


roles = st.sampled_from(["Supplier", "NetworkOperator", "ACB", "Root", "Recovery", "TransCoS", "LoadController"])
request_ids = st.builds(
    RequestID,
    st.binary(min_size=8, max_size=8).map(EUI64.from_bytes),
    st.binary(min_size=8, max_size=8).map(EUI64.from_bytes),
    st.integers(min_value=0, max_value=2**64 - 1),
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(rid=request_ids, cv=st.sampled_from([1, 2, 3]), rps=st.lists(roles, min_size=1, max_size=7))
def test_6_24_1_round_trip(rid, cv, rps):
    req = m.ServiceRequest(rid, cv, "6.24.1", m.RetrieveDeviceSecurityCredentialsKRP(tuple(rps)))
    assert codec.decode_request(codec.encode_request(req)) == req


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    rid=request_ids,
    cv=st.sampled_from([4, 5, 6, 7]),
    role=st.sampled_from(["Supplier", "NetworkOperator"]),
    seq=st.integers(min_value=0, max_value=2**63 - 1),
    ds=st.binary(min_size=1, max_size=300),
    ka=st.one_of(st.none(), st.binary(min_size=1, max_size=300)),
    path=st.lists(st.binary(min_size=1, max_size=100), min_size=1, max_size=3),
    apply=st.booleans(),
)
def test_6_15_1_round_trip(rid, cv, role, seq, ds, ka, path, apply):
    body = m.UpdateSecurityCredentialsKRP(role, seq, m.CertificatePair(ds, ka), tuple(path), apply)
    req = m.ServiceRequest(rid, cv, "6.15.1", body)
    assert codec.decode_request(codec.encode_request(req)) == req


def test_service_request_derived_fields():
    for srv, sr in (("6.15.1", "6.15"), ("6.21", "6.21"), ("6.24.1", "6.24"), ("4.4.2", "4.4")):
        assert m.service_reference_of(srv) == sr
    with pytest.raises(DuisValueError, match="Service Reference Variant"):
        m.service_reference_of("six")


# ----------------------------------------------------------------------------- acknowledgements


def test_acknowledgement_i99(dsp):
    xml = codec.encode_acknowledgement(RID, "I99", "6.15.1", AT)
    root = schema.validate(xml)
    header = root.find(SR + "Header")
    assert header.findtext(SR + "RequestID") == str(RID)
    assert header.findtext(SR + "ResponseID") == "00-DB-12-34-56-78-90-A0:90-B3-D5-1F-30-02-00-00:1200"
    assert header.findtext(SR + "ResponseDateTime") == "2026-03-04T05:06:07.890Z"
    resp = codec.decode_response(signing.sign(xml, dsp), verify_with=dsp.cert)
    assert (resp.request_id, resp.response_code, resp.srv, resp.kind) == (RID, "I99", "6.15.1", "ResponseMessage")
    assert resp.response_id == str(RID.swapped())
    assert resp.at == AT
    assert resp.outcome_code == "I99" and resp.s1sp_alert is None and resp.has_signature


def test_acknowledgement_e_code_with_reason_and_without_request_id():
    xml = codec.encode_acknowledgement(None, "E4", "6.24.1", AT, reason="not registered -- for MPAN 123-")
    resp = codec.decode_response(xml)
    assert resp.request_id is None and resp.response_id is None
    assert resp.response_code == "E4" and resp.outcome_code == "E4" and resp.srv == "6.24.1"
    assert resp.reason == "not registered - - for MPAN 123"


def test_acknowledgement_needs_an_srv():
    with pytest.raises(DuisValueError, match="expected the Service Reference Variant"):
        codec.encode_acknowledgement(RID, "E1", None, AT)  # type: ignore[arg-type]


def test_acknowledgement_needs_an_aware_time():
    with pytest.raises(DuisValueError, match="timezone-aware"):
        codec.encode_acknowledgement(RID, "I99", "6.15.1", dt.datetime(2026, 1, 1))


def test_acknowledgement_refuses_codes_outside_duis():
    with pytest.raises(SchemaInvalid, match="ResponseCode"):
        codec.encode_acknowledgement(RID, "S1VE4", "6.15.1", AT)


def test_time_zones_are_converted_to_utc():
    at = dt.datetime(2026, 6, 1, 12, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert codec.format_datetime(at) == "2026-06-01T11:00:00.123Z"
    assert codec.parse_datetime("2026-06-01T11:00:00.123Z") == dt.datetime(2026, 6, 1, 11, 0, 0, 123000, tzinfo=dt.timezone.utc)
    assert codec.parse_datetime("2026-06-01T11:00:00").tzinfo == dt.timezone.utc


# ----------------------------------------------------------------------------- SMETS1 responses


def test_smets1_6_15_1_response(s1sp, dsp):
    payload = m.UpdateSecurityCredentialsKRPRsp("NetworkOperatorByNetworkOperator")
    xml = codec.encode_smets1_response(RID, RID.target, RID.originator, "6.15.1", payload, AT, s1sp)
    root = schema.validate(xml)
    inner = root.find(f"{SR}Body/{SR}SMETS1ResponseMessage/{SR}SMETS1SignedResponse")
    assert inner.get("schemaVersion") == "5.4"
    assert inner[-1].tag == DS + "Signature"
    assert root.findtext(f"{SR}Header/{SR}ResponseCode") == "I0"
    resp = codec.decode_response(xml)
    assert resp.kind == "SMETS1ResponseMessage" and resp.response_code == "I0" and resp.outcome_code == "I0"
    assert resp.srv == "6.15.1" and resp.request_id == RID
    assert resp.device_id == RID.target
    assert resp.payload == payload and resp.execution_outcome == "NetworkOperatorByNetworkOperator"
    assert resp.credentials == ()
    assert codec.verify_nested(xml, s1sp.cert)
    # the DSP signs the whole Response; both signatures then verify
    outer = signing.sign(xml, dsp)
    assert codec.decode_response(outer, verify_with=dsp.cert) == replace(resp, has_signature=True)
    assert codec.verify_nested(outer, s1sp.cert)


def test_smets1_header_holds_device_user_and_counter(s1sp):
    user = EUI64("90-B3-D5-1F-30-02-00-00")
    xml = codec.encode_smets1_response(RID, RID.target, user, "6.15.1", m.UpdateSecurityCredentialsKRPRsp(), AT, s1sp)
    header = etree.fromstring(xml).find(f"{SR}Body/{SR}SMETS1ResponseMessage/{SR}SMETS1SignedResponse/{SR}SMETS1Response/{SR}Header")
    values = {etree.QName(c).localname: c.text for c in header}
    assert values == {
        "BusinessOriginatorID": str(RID.target),
        "BusinessTargetID": str(user),
        "OriginatorCounter": "1200",
        "ServiceReference": "6.15",
        "ServiceReferenceVariant": "6.15.1",
    }
    assert etree.QName(header[0]).namespace == codec.RA_NS
    assert codec.decode_response(xml).execution_outcome is None


def test_smets1_6_24_1_response_lists_credentials(s1sp):
    der = b"certificate bytes"
    details = (
        m.RemotePartyDetail("NetworkOperator", "DigitalSigning", EUI64("90-B3-D5-1F-30-02-00-00"), hashlib.sha1(der).hexdigest(), 0),
        m.RemotePartyDetail("NetworkOperator", "KeyAgreement", EUI64("90-B3-D5-1F-30-03-00-00"), "AB" * 20, 3),
    )
    xml = codec.encode_smets1_response(
        RID, RID.target, RID.originator, "6.24.1", m.RetrieveDeviceSecurityCredentialsKRPRsp(details), AT, s1sp
    )
    raw_hash = etree.fromstring(xml).xpath("//*[local-name()='ExistingCertificateHash']")[0].text
    assert base64.b64decode(raw_hash) == hashlib.sha1(der).digest(), "on the wire the SHA-1 is base64"
    resp = codec.decode_response(xml)
    assert resp.credentials == details
    assert resp.credentials[1].certificate_hash == "ab" * 20
    assert resp.srv == "6.24.1"


def test_smets1_6_21_response(s1sp):
    xml = codec.encode_smets1_response(
        RID, RID.target, RID.originator, "6.21", m.RequestHandoverOfDCCControlledDeviceRsp(), AT, s1sp
    )
    resp = codec.decode_response(xml)
    assert resp.payload == m.RequestHandoverOfDCCControlledDeviceRsp() and resp.srv == "6.21"


def test_smets1_payload_must_match_the_srv(s1sp):
    with pytest.raises(DuisValueError, match="expected Service Reference Variant 6.24.1"):
        codec.encode_smets1_response(
            RID, RID.target, RID.originator, "6.15.1", m.RetrieveDeviceSecurityCredentialsKRPRsp(()), AT, s1sp
        )


def test_smets1_refuses_an_invalid_replacement_mode(s1sp):
    with pytest.raises(SchemaInvalid, match="CredentialsReplacementMode"):
        codec.encode_smets1_response(
            RID, RID.target, RID.originator, "6.15.1", m.UpdateSecurityCredentialsKRPRsp("Whatever"), AT, s1sp
        )


def test_nested_signature_by_another_key_is_refused(s1sp, dsp):
    xml = codec.encode_smets1_response(RID, RID.target, RID.originator, "6.15.1", m.UpdateSecurityCredentialsKRPRsp(), AT, s1sp)
    with pytest.raises(SignatureInvalid):
        codec.verify_nested(xml, dsp.cert)


def test_tampered_nested_content_is_refused_even_under_a_valid_outer_signature(s1sp, dsp):
    xml = codec.encode_smets1_response(
        RID, RID.target, RID.originator, "6.15.1", m.UpdateSecurityCredentialsKRPRsp("SupplierBySupplier"), AT, s1sp
    )
    tampered = xml.replace(b">SupplierBySupplier<", b">NetworkOperatorByNetworkOperator<")
    outer = signing.sign(tampered, dsp)  # the DSP signs what it was given
    assert codec.decode_response(outer, verify_with=dsp.cert).execution_outcome == "NetworkOperatorByNetworkOperator"
    with pytest.raises(SignatureInvalid, match="Digest mismatch"):
        codec.verify_nested(outer, s1sp.cert)


def test_verify_nested_needs_a_nested_signed_part(dsp):
    with pytest.raises(SignatureInvalid, match="got ResponseMessage"):
        codec.verify_nested(codec.encode_acknowledgement(RID, "I99", "6.15.1", AT), dsp.cert)


# ----------------------------------------------------------------------------- S1SP alerts


@pytest.mark.parametrize("code", ["S1VE4", "S1VE64"])
def test_s1sp_alert(s1sp, dsp, code):
    xml = codec.encode_s1sp_alert(RID, RID.target, code, AT, s1sp, additional_information="why")
    root = schema.validate(xml)
    alert_el = root.find(f"{SR}Body/{SR}DCCAlertMessage/{SR}DCCAlert/{SR}S1SPAlertDSP/{SR}S1SPAlert")
    assert alert_el is not None and alert_el[-1].tag == DS + "Signature"
    resp = codec.decode_response(xml)
    assert resp.kind == "DCCAlertMessage"
    assert resp.outcome_code == code, "an S1SP alert's outcome is its S1SPAlertCode, whatever the header says"
    assert resp.dcc_alert_code == codec.S1SP_ALERT_DCC_ALERT_CODE
    assert resp.s1sp_alert == m.S1SPAlert(code, RID, RID.target, AT, "why")
    assert resp.request_id == RID and resp.device_id == RID.target
    assert codec.verify_nested(xml, s1sp.cert)
    outer = signing.sign(xml, dsp)
    assert codec.decode_response(outer, verify_with=dsp.cert).outcome_code == code
    assert codec.verify_nested(outer, s1sp.cert)
    with pytest.raises(SignatureInvalid):
        codec.verify_nested(outer, dsp.cert)


def test_text_xml_cannot_hold_is_a_value_error(s1sp):
    with pytest.raises(DuisValueError, match="expected XML-safe text for AdditionalInformation"):
        codec.encode_s1sp_alert(RID, RID.target, "S1VE4", AT, s1sp, additional_information="nul\x00byte")


def test_s1sp_alert_minimal(s1sp):
    resp = codec.decode_response(codec.encode_s1sp_alert(None, None, "S1VE4", AT, s1sp))
    assert resp.s1sp_alert == m.S1SPAlert("S1VE4", None, None, AT, None)
    assert resp.request_id is None and resp.outcome_code == "S1VE4"


def test_tampered_alert_code_is_caught_by_the_nested_signature(s1sp):
    xml = codec.encode_s1sp_alert(RID, RID.target, "S1VE64", AT, s1sp)
    with pytest.raises(SignatureInvalid):
        codec.verify_nested(xml.replace(b">S1VE64<", b">S1VE4<"), s1sp.cert)


# ----------------------------------------------------------------------------- every encoder validates


def test_every_encoder_output_is_schema_valid(samples, s1sp):
    """Build each message type and validate it independently of the codec's own check."""
    outputs = {
        "request": codec.encode_request(_no_update(samples)),
        "signed request": codec.encode_signed_request(_no_update(samples), s1sp),
        "6.24.1 request": codec.encode_request(
            m.ServiceRequest(RID, 1, "6.24.1", m.RetrieveDeviceSecurityCredentialsKRP(("NetworkOperator",)))
        ),
        "6.21 request": codec.encode_request(
            codec.decode_request(template(samples, "CS02bNOByNOHandover_6.21_SUCCESS_REQUEST_DUIS.XML"))
        ),
        "I99": codec.encode_acknowledgement(RID, "I99", "6.15.1", AT),
        "E4": codec.encode_acknowledgement(RID, "E4", "6.15.1", AT, reason="no"),
        "SMETS1 6.15.1": codec.encode_smets1_response(
            RID, RID.target, RID.originator, "6.15.1", m.UpdateSecurityCredentialsKRPRsp("SupplierBySupplier"), AT, s1sp
        ),
        "SMETS1 6.21": codec.encode_smets1_response(
            RID, RID.target, RID.originator, "6.21", m.RequestHandoverOfDCCControlledDeviceRsp("SupplierBySupplier"), AT, s1sp
        ),
        "SMETS1 6.24.1": codec.encode_smets1_response(
            RID, RID.target, RID.originator, "6.24.1",
            m.RetrieveDeviceSecurityCredentialsKRPRsp((m.RemotePartyDetail("Supplier", "KeyAgreement", RID.originator, "00" * 20, 1),)),
            AT, s1sp,
        ),
        "S1SP alert": codec.encode_s1sp_alert(RID, RID.target, "S1VE4", AT, s1sp, "x"),
    }
    validator = schema.validator()
    for name, xml in outputs.items():
        errors = list(validator.iter_errors(etree.fromstring(xml)))
        assert not errors, f"{name}: {errors[0]}"
        assert xml.startswith(b"<?xml"), name


# ----------------------------------------------------------------------------- DCC Boxed responses


def test_decode_dcc_boxed_read_firmware_response(samples):
    resp = codec.decode_response(template(samples, "readfw-response.xml"))
    assert str(resp.request_id) == "90-B3-D5-1F-30-01-00-00:88-73-84-57-00-2F-96-1E:1660751141087"
    assert resp.response_id == "88-73-84-57-00-2F-96-1E:90-B3-D5-1F-30-01-00-00:1660751141087"
    assert resp.response_id == str(resp.request_id.swapped())
    assert resp.response_code == "I0" and resp.outcome_code == "I0"
    assert resp.at == dt.datetime(2022, 8, 17, 15, 45, 42, 790000, tzinfo=dt.timezone.utc)
    assert resp.srv == "11.2" and resp.kind == "ResponseMessage"
    assert resp.s1sp_alert is None and resp.credentials == () and resp.has_signature


def test_decode_dcc_boxed_error_acknowledgement(samples):
    resp = codec.decode_response(template(samples, "acknowledgement-error.xml"))
    assert resp.response_code == "E65" and resp.outcome_code == "E65"
    assert str(resp.request_id) == "90-B3-D5-1F-30-01-00-00:88-73-84-57-00-2F-96-6C:1658482675800"
    assert resp.response_id is None and resp.srv == "11.2" and not resp.has_signature


def test_decode_response_verifies_the_outer_signature_when_asked(samples, shared_duis):
    pre = signing.load_certificate((shared_duis / "smki" / "dsp-xml-sign-90B3D51F30000002-ds-pre-1.4.1.pem").read_bytes())
    now = signing.load_certificate((shared_duis / "smki" / "dsp-xml-sign-90B3D51F30000002-ds.pem").read_bytes())
    assert codec.decode_response(template(samples, "readfw-response.xml"), verify_with=pre).response_code == "I0"
    assert codec.decode_response(template(samples, "readfw-response-resigned.xml"), verify_with=now).response_code == "I0"
    with pytest.raises(SignatureInvalid):
        codec.decode_response(template(samples, "readfw-response.xml"), verify_with=now)
    with pytest.raises(SignatureInvalid):
        codec.decode_response(template(samples, "readfw-response-badsignature.xml"), verify_with=pre)
    with pytest.raises(SignatureInvalid, match="got none"):
        codec.decode_response(template(samples, "readfw-response-no-signature.xml"), verify_with=pre)
    # without verify_with, signatures are not looked at
    assert codec.decode_response(template(samples, "readfw-response-badsignature.xml")).response_code == "I0"


def test_every_codec_failure_is_a_duis_error(samples):
    for bad in (b"", b"<x/>", template(samples, INVALID_TEMPLATE), b"<!DOCTYPE x []><x/>"):
        with pytest.raises(DuisError):
            codec.decode_request(bad)
        with pytest.raises(DuisError):
            codec.decode_response(bad)
