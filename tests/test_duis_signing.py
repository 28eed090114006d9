"""duis.signing: enveloped ecdsa-sha256 signatures shaped like real DUIS traffic."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from duis import codec, signing
from duis.errors import DuisValueError, SignatureInvalid

DS = "{http://www.w3.org/2000/09/xmldsig#}"
SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"
NO_TEMPLATE = "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML"

# Every test here needs the DUIS samples and ZAZ1 keys from ../shared/duis: skip, saying why, without them.
pytestmark = pytest.mark.usefixtures("shared_duis")


@pytest.fixture(scope="module")
def smki(shared_duis):
    return shared_duis / "smki"


@pytest.fixture(scope="module")
def samples(shared_duis):
    return shared_duis / "samples"


def cert(path) -> x509.Certificate:
    return signing.load_certificate(path.read_bytes())


@pytest.fixture(scope="module")
def dsp_pre(smki):
    return cert(smki / "dsp-xml-sign-90B3D51F30000002-ds-pre-1.4.1.pem")


@pytest.fixture(scope="module")
def dsp_now(smki):
    return cert(smki / "dsp-xml-sign-90B3D51F30000002-ds.pem")


@pytest.fixture(scope="module")
def supplier_signer(smki):
    return signing.Signer.from_files(smki / "xml-sign-90B3D51F30010000-ds.key", smki / "xml-sign-90B3D51F30010000-ds.pem")


@pytest.fixture(scope="module")
def no_signer(smki):
    return signing.Signer.from_files(smki / "xml-sign-90B3D51F30020000-ds.key", smki / "xml-sign-90B3D51F30020000-ds.pem")


@pytest.fixture(scope="module")
def signed_template(samples, supplier_signer):
    return signing.sign((samples / NO_TEMPLATE).read_bytes(), supplier_signer)


# ----------------------------------------------------------------------------- DCC Boxed's signed responses


def test_dcc_boxed_response_verifies_against_the_pre_141_dsp_certificate(samples, dsp_pre):
    signed = signing.verify((samples / "readfw-response.xml").read_bytes(), dsp_pre)
    assert b"<sr:ResponseCode>I0</sr:ResponseCode>" in signed
    assert b"Signature" not in signed  # the signed bytes exclude the enveloped signature


def test_dcc_boxed_response_does_not_verify_against_the_other_dsp_certificate(samples, dsp_now):
    with pytest.raises(SignatureInvalid, match="does not verify"):
        signing.verify((samples / "readfw-response.xml").read_bytes(), dsp_now)


def test_resigned_response_verifies_against_the_current_dsp_certificate(samples, dsp_now, dsp_pre):
    xml = (samples / "readfw-response-resigned.xml").read_bytes()
    assert signing.verify(xml, dsp_now)
    with pytest.raises(SignatureInvalid):
        signing.verify(xml, dsp_pre)


def test_bad_signature_is_refused(samples, dsp_pre, dsp_now):
    xml = (samples / "readfw-response-badsignature.xml").read_bytes()
    for c in (dsp_pre, dsp_now):
        with pytest.raises(SignatureInvalid):
            signing.verify(xml, c)


def test_missing_signature_is_refused(samples, dsp_pre):
    with pytest.raises(SignatureInvalid, match="expected an enveloped ds:Signature as a child of Response, got none"):
        signing.verify((samples / "readfw-response-no-signature.xml").read_bytes(), dsp_pre)


def test_signer_issuer_serial_reads_key_info(samples, dsp_pre):
    issuer, serial = signing.signer_issuer_serial((samples / "readfw-response.xml").read_bytes())
    assert (issuer, serial) == ("CN=Z1,OU=07", 50669612984035780968362471400449834504)
    assert signing.issuer_serial_of(dsp_pre) == (issuer, serial)
    assert signing.issuer_serial_matches(dsp_pre, "cn=z1, ou=07", serial)
    assert not signing.issuer_serial_matches(dsp_pre, issuer, serial + 1)


def test_signer_issuer_serial_without_signature(samples):
    with pytest.raises(SignatureInvalid, match="got none"):
        signing.signer_issuer_serial((samples / "readfw-response-no-signature.xml").read_bytes())


def test_has_signature(samples):
    assert signing.has_signature((samples / "readfw-response.xml").read_bytes())
    assert not signing.has_signature((samples / "readfw-response-no-signature.xml").read_bytes())


# ----------------------------------------------------------------------------- signing requests (ZAZ1 keys)


def test_zaz1_keys_load_from_der(supplier_signer, no_signer):
    assert isinstance(supplier_signer.key, ec.EllipticCurvePrivateKey)
    assert supplier_signer.key.curve.name == "secp256r1"
    assert supplier_signer.cert.serial_number != no_signer.cert.serial_number


def test_request_signed_with_zaz1_supplier_key_verifies_with_its_certificate_only(signed_template, supplier_signer, no_signer):
    assert signing.verify(signed_template, supplier_signer.cert)
    with pytest.raises(SignatureInvalid):
        signing.verify(signed_template, no_signer.cert)


def test_request_signed_with_zaz1_network_operator_key(samples, no_signer, supplier_signer):
    signed = signing.sign((samples / NO_TEMPLATE).read_bytes(), no_signer)
    assert signing.verify(signed, no_signer.cert)
    with pytest.raises(SignatureInvalid):
        signing.verify(signed, supplier_signer.cert)


def test_signature_has_the_duis_shape(signed_template, supplier_signer):
    root = etree.fromstring(signed_template)
    signatures = root.findall(DS + "Signature")
    assert len(signatures) == 1, "the template's placeholder signature is replaced, not kept"
    sig = signatures[0]
    assert root[-1] is sig, "enveloped: the last child of the document element"
    info = sig.find(DS + "SignedInfo")
    assert info.find(DS + "CanonicalizationMethod").get("Algorithm") == "http://www.w3.org/2001/10/xml-exc-c14n#"
    assert info.find(DS + "SignatureMethod").get("Algorithm") == "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
    ref = info.find(DS + "Reference")
    assert ref.get("URI") == ""
    assert [t.get("Algorithm") for t in ref.iter(DS + "Transform")] == [
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
    ]
    assert ref.find(DS + "DigestMethod").get("Algorithm") == "http://www.w3.org/2001/04/xmlenc#sha256"
    key_info = sig.find(DS + "KeyInfo")
    assert key_info.find(f"{DS}X509Data/{DS}X509Certificate") is None, "no embedded certificate"
    assert key_info.findtext(f"{DS}X509Data/{DS}X509IssuerSerial/{DS}X509IssuerName") == "CN=Z1,OU=07"
    assert key_info.findtext(f"{DS}X509Data/{DS}X509IssuerSerial/{DS}X509SerialNumber") == str(
        supplier_signer.cert.serial_number
    )
    assert signing.signer_issuer_serial(signed_template) == supplier_signer.issuer_serial
    assert len(base64.b64decode(sig.findtext(DS + "SignatureValue"))) == 64, "ECDSA P-256 r||s"


def test_digest_is_the_xmldsig_default_canonical_form(signed_template):
    """With only the enveloped-signature transform, XMLDSig canonicalises the document with inclusive
    C14N 1.0 (what DCC Boxed's Java signer does). Recompute it independently of signxml."""
    root = etree.fromstring(signed_template)
    digest_value = root.find(f"{DS}Signature/{DS}SignedInfo/{DS}Reference/{DS}DigestValue").text
    root.remove(root.find(DS + "Signature"))
    c14n = etree.tostring(root, method="c14n", exclusive=False, with_comments=False)
    assert base64.b64encode(hashlib.sha256(c14n).digest()).decode() == digest_value


def test_dcc_boxed_digest_is_the_same_canonical_form(samples):
    """The same independent recomputation agrees with a real DCC Boxed signature."""
    root = etree.fromstring((samples / "readfw-response.xml").read_bytes())
    digest_value = root.find(f"{DS}Signature/{DS}SignedInfo/{DS}Reference/{DS}DigestValue").text
    root.remove(root.find(DS + "Signature"))
    c14n = etree.tostring(root, method="c14n", exclusive=False, with_comments=False)
    assert base64.b64encode(hashlib.sha256(c14n).digest()).decode() == digest_value


def test_tampering_one_character_of_the_body_breaks_the_signature(signed_template, supplier_signer):
    marker = b"<sr:RemotePartyRole>NetworkOperator<"
    assert marker in signed_template
    tampered = signed_template.replace(marker, b"<sr:RemotePartyRole>NetworkOperatoR<")
    with pytest.raises(SignatureInvalid, match="Digest mismatch"):
        signing.verify(tampered, supplier_signer.cert)


def test_tampering_a_certificate_character_breaks_the_signature(signed_template, supplier_signer):
    start = signed_template.index(b"<sr:DigitalSigningCertificate>") + len(b"<sr:DigitalSigningCertificate>")
    flipped = b"A" if signed_template[start + 10 : start + 11] != b"A" else b"B"
    tampered = signed_template[: start + 10] + flipped + signed_template[start + 11 :]
    with pytest.raises(SignatureInvalid):
        signing.verify(tampered, supplier_signer.cert)


def test_tampering_the_signature_value_breaks_it(signed_template, supplier_signer):
    root = etree.fromstring(signed_template)
    value = root.find(f"{DS}Signature/{DS}SignatureValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[5] ^= 1
    value.text = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(SignatureInvalid):
        signing.verify(etree.tostring(root), supplier_signer.cert)


def test_garbage_signature_value_is_refused(signed_template, supplier_signer):
    root = etree.fromstring(signed_template)
    root.find(f"{DS}Signature/{DS}SignatureValue").text = "not base64!!"
    with pytest.raises(SignatureInvalid):
        signing.verify(etree.tostring(root), supplier_signer.cert)


def test_template_placeholder_signature_does_not_verify(samples, supplier_signer):
    with pytest.raises(SignatureInvalid):
        signing.verify((samples / NO_TEMPLATE).read_bytes(), supplier_signer.cert)


def test_signed_request_is_schema_valid_and_decodes(signed_template):
    request = codec.decode_request(signed_template)
    assert str(request.request_id) == "90-B3-D5-1F-30-02-00-00:00-DB-12-34-56-78-90-A0:1200"


def test_signing_twice_leaves_one_signature(signed_template, no_signer):
    again = signing.sign(signed_template, no_signer)
    assert len(etree.fromstring(again).findall(DS + "Signature")) == 1
    assert signing.verify(again, no_signer.cert)


def test_a_signature_on_a_response_from_a_generated_key(make_xml_signer):
    signer = make_xml_signer("DSP")
    xml = codec.encode_acknowledgement(
        None, "E1", "6.15.1", dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    )
    signed = signing.sign(xml, signer)
    assert signing.verify(signed, signer.cert)
    with pytest.raises(SignatureInvalid):
        signing.verify(signed, make_xml_signer("other").cert)


# ----------------------------------------------------------------------------- Signer


def test_signer_refuses_a_key_that_is_not_the_certificates(supplier_signer, no_signer):
    with pytest.raises(DuisValueError, match="public key differs"):
        signing.Signer(supplier_signer.key, no_signer.cert)


def test_signer_refuses_non_keys(supplier_signer):
    with pytest.raises(DuisValueError, match="expected an EC private key"):
        signing.Signer("key", supplier_signer.cert)  # type: ignore[arg-type]


def test_load_private_key_refuses_garbage():
    with pytest.raises(DuisValueError, match="expected an unencrypted EC private key"):
        signing.load_private_key(b"garbage")


def test_load_certificate_refuses_garbage():
    with pytest.raises(DuisValueError, match="expected an X.509 certificate"):
        signing.load_certificate(b"garbage")


def test_verify_needs_a_certificate(signed_template):
    with pytest.raises(DuisValueError, match="expected an x509.Certificate"):
        signing.verify(signed_template, "cert")  # type: ignore[arg-type]


@pytest.mark.parametrize("where, node", [
    ("before", b'<?xml-stylesheet type="text/xsl" href="http://127.0.0.1:9/x.xsl"?>'),
    ("after", b"<?mp107 added-after-signing?>"),
    ("before", b"<!-- added after signing -->"),
])
def test_a_node_outside_the_signed_document_element_is_refused_as_not_covered(signed_template, supplier_signer,
                                                                              where, node):
    """Reference URI="" signs the whole document, processing instructions outside the root included
    (xmlsec1 digests them, and refuses such a request); signxml checks the document element only and
    would accept it. What the signature does not cover must not ride along: SignatureInvalid (E1, R4.1)."""
    from signxml import XMLVerifier
    body = signed_template.split(b"?>", 1)[1] if signed_template.startswith(b"<?xml") else signed_template
    spoiled = (b'<?xml version="1.0" encoding="UTF-8"?>\n' + node + body if where == "before"
               else signed_template + node)
    root = etree.fromstring(spoiled)
    XMLVerifier().verify(root, x509_cert=supplier_signer.cert, expect_config=signing._VERIFY_CONFIG)   # signxml alone: fine
    with pytest.raises(SignatureInvalid, match="outside the signed Request"):
        signing.verify(spoiled, supplier_signer.cert)
