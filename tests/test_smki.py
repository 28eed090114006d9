"""The test SMKI: ZAZ1-shaped certificates, inspection helpers, Organisation validation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtensionOID, NameOID

from smki import (
    Credential,
    TestSMKI,
    entity_id,
    is_expired,
    key_usage,
    role_code,
    serial_hex,
    sha1_hex,
    validate_organisation_certificate,
    verify_chain,
)
from smki.ca import SMKI_POLICY_OID, remote_party_role_for

SHARED_DUIS = Path(__file__).resolve().parents[2] / "shared" / "duis"
ZAZ1 = SHARED_DUIS / "smki"
needs_zaz1 = pytest.mark.skipif(
    not ZAZ1.is_dir(), reason=f"ZAZ1 test certificates not present at {ZAZ1}"
)

NO_ID = "90-B3-D5-1F-30-02-00-00"
SUP_ID = "90-B3-D5-1F-30-01-00-00"


def load_pem(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def attr(name: x509.Name, oid) -> x509.NameAttribute:
    (a,) = name.get_attributes_for_oid(oid)
    return a


def name_layout(name: x509.Name) -> list[tuple[str, object]]:
    """(attribute OID, ASN.1 string type) per RDN, in order."""
    return [(a.oid.dotted_string, a._type) for a in name]


@pytest.fixture(scope="module")
def smki() -> TestSMKI:
    return TestSMKI.generate()


@pytest.fixture(scope="module")
def other_smki() -> TestSMKI:
    return TestSMKI.generate(name="ZX")


@pytest.fixture(scope="module")
def no_user(smki):
    return smki.issue_user(NO_ID, {"ED", "GT"})


@pytest.fixture(scope="module")
def sup_user(smki):
    return smki.issue_user("90b3d51f30010000", {"IS", "GS"})


# --------------------------------------------------------------------------- the CA

def test_ca_names_and_chain(smki):
    root, iss = smki.root_cert, smki.issuing_cert
    assert root.subject.rfc4514_string() == "CN=ZTA,OU=00"
    assert root.issuer == root.subject
    assert iss.subject.rfc4514_string() == "CN=ZT1,OU=07"
    assert iss.issuer == root.subject
    assert verify_chain(iss, root) and verify_chain(root, root)
    for c in (root, iss):
        assert isinstance(c.public_key().curve, ec.SECP256R1)
        bc = c.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS)
        assert bc.critical and bc.value.ca
    assert smki.trust_anchors == [iss, root]


def test_validity_defaults_and_serials(smki, no_user):
    now = datetime.now(timezone.utc)
    c = no_user.organisation.digital_signing.cert
    assert now - timedelta(days=1, minutes=5) < c.not_valid_before_utc <= now - timedelta(hours=23)
    assert c.not_valid_after_utc - now > timedelta(days=3649)
    serials = {
        cred.cert.serial_number
        for cred in (smki.root, smki.issuing, no_user.xml_signing,
                     no_user.organisation.digital_signing, no_user.organisation.key_agreement)
    }
    assert len(serials) == 5
    assert all(0 < s < 2**128 for s in serials)


def test_issue_user_roles(smki, no_user, sup_user):
    assert no_user.user_id == NO_ID
    assert no_user.organisation.remote_party_role == "NetworkOperator"
    assert sup_user.user_id == SUP_ID
    assert sup_user.organisation.remote_party_role == "Supplier"
    other = smki.issue_user("90-B3-D5-1F-30-00-00-09", {"OU"})
    assert other.organisation is None
    assert role_code(other.xml_signing.cert) == "87"
    assert entity_id(other.xml_signing.cert) == "90-B3-D5-1F-30-00-00-09"
    assert remote_party_role_for({"ES"}) == "Supplier"
    with pytest.raises(ValueError):
        remote_party_role_for({"IS", "ED"})
    with pytest.raises(ValueError):
        remote_party_role_for({"XX"})


def test_generated_credentials_fields(no_user, sup_user):
    for user, code in ((no_user, "03"), (sup_user, "02")):
        org = user.organisation
        assert role_code(org.digital_signing.cert) == code
        assert role_code(org.key_agreement.cert) == code
        assert key_usage(org.digital_signing.cert) == "DigitalSigning"
        assert key_usage(org.key_agreement.cert) == "KeyAgreement"
        assert key_usage(user.xml_signing.cert) == "DigitalSigning"
        for cred in (user.xml_signing, org.digital_signing, org.key_agreement):
            assert entity_id(cred.cert) == user.user_id
            assert entity_id(cred.cert_der()) == user.user_id
            assert cred.entity_id == user.user_id


def test_xml_signing_role_code_parameter(smki):
    dsp = smki.issue_xml_signing("90-B3-D5-1F-30-00-00-02", role_code="89")
    assert role_code(dsp.cert) == "89"
    assert entity_id(dsp.cert) == "90-B3-D5-1F-30-00-00-02"


def test_keys_sign_and_match(no_user):
    for cred in (no_user.xml_signing, no_user.organisation.digital_signing):
        sig = cred.key.sign(b"hello", ec.ECDSA(hashes.SHA256()))
        cred.cert.public_key().verify(sig, b"hello", ec.ECDSA(hashes.SHA256()))


# --------------------------------------------------------------------------- ZAZ1 shape

@needs_zaz1
def test_generated_org_cert_has_zaz1_shape(no_user):
    ref = load_pem(ZAZ1 / "Z1-networkOperator-ds.pem")
    mine = no_user.organisation.digital_signing.cert

    assert mine.version == ref.version == x509.Version.v3
    assert mine.signature_algorithm_oid == ref.signature_algorithm_oid
    assert isinstance(mine.public_key().curve, type(ref.public_key().curve))
    # issuer: OU=07 then CN, same ASN.1 string types
    assert name_layout(mine.issuer) == name_layout(ref.issuer)
    assert attr(mine.issuer, NameOID.ORGANIZATIONAL_UNIT_NAME).value == "07"
    # subject: OU then x500UniqueIdentifier, same types
    assert name_layout(mine.subject) == name_layout(ref.subject)
    assert attr(mine.subject, NameOID.ORGANIZATIONAL_UNIT_NAME).value == "03"
    # x500UniqueIdentifier: the same BIT STRING bytes for the same entity
    assert (
        attr(mine.subject, NameOID.X500_UNIQUE_IDENTIFIER).value
        == attr(ref.subject, NameOID.X500_UNIQUE_IDENTIFIER).value
    )
    assert b"\x03\x09\x00\x90\xb3\xd5\x1f\x30\x02\x00\x00" in mine.tbs_certificate_bytes
    assert b"\x03\x09\x00\x90\xb3\xd5\x1f\x30\x02\x00\x00" in ref.tbs_certificate_bytes
    # extensions: same set, order, criticality and values where not key-specific
    assert [(e.oid, e.critical) for e in mine.extensions] == [
        (e.oid, e.critical) for e in ref.extensions
    ]
    for oid in (ExtensionOID.KEY_USAGE, ExtensionOID.CERTIFICATE_POLICIES):
        assert mine.extensions.get_extension_for_oid(oid).value == (
            ref.extensions.get_extension_for_oid(oid).value
        )
    pol = mine.extensions.get_extension_for_oid(ExtensionOID.CERTIFICATE_POLICIES).value
    assert [p.policy_identifier for p in pol] == [SMKI_POLICY_OID]
    for oid in (ExtensionOID.SUBJECT_KEY_IDENTIFIER,):
        assert len(mine.extensions.get_extension_for_oid(oid).value.digest) == len(
            ref.extensions.get_extension_for_oid(oid).value.digest
        )
    aki = mine.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
    ref_aki = ref.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
    assert len(aki.key_identifier) == len(ref_aki.key_identifier)
    assert aki.authority_cert_issuer is None and ref_aki.authority_cert_issuer is None
    # 16-byte serial, like ZAZ1
    assert len(serial_hex(mine)) <= len(serial_hex(ref)) == 32


@needs_zaz1
def test_generated_xml_signing_cert_subject_like_zaz1(no_user):
    ref = load_pem(ZAZ1 / "xml-sign-90B3D51F30020000-ds.pem")
    mine = no_user.xml_signing.cert
    assert name_layout(mine.subject) == name_layout(ref.subject)
    assert role_code(mine) == role_code(ref) == "87"
    assert entity_id(mine) == entity_id(ref) == NO_ID
    for oid in (ExtensionOID.KEY_USAGE, ExtensionOID.CERTIFICATE_POLICIES):
        assert mine.extensions.get_extension_for_oid(oid).critical
        assert mine.extensions.get_extension_for_oid(oid).value == (
            ref.extensions.get_extension_for_oid(oid).value
        )


# --------------------------------------------------------------------------- ZAZ1 inspection

@needs_zaz1
@pytest.mark.parametrize(
    "filename, eid, code, usage",
    [
        ("Z1-networkOperator-ds.pem", NO_ID, "03", "DigitalSigning"),
        ("Z1-supplier-ds.pem", SUP_ID, "02", "DigitalSigning"),
        ("xml-sign-90B3D51F30020000-ds.pem", NO_ID, "87", "DigitalSigning"),
        ("xml-sign-90B3D51F30010000-ds.pem", SUP_ID, "87", "DigitalSigning"),
        ("dsp-xml-sign-90B3D51F30000002-ds.pem", "90-B3-D5-1F-30-00-00-02", "89", "DigitalSigning"),
        ("dsp-xml-sign-90B3D51F30000002-ds-pre-1.4.1.pem", "90-B3-D5-1F-30-00-00-02", "137",
         "DigitalSigning"),
    ],
)
def test_inspect_zaz1(filename, eid, code, usage):
    cert = load_pem(ZAZ1 / filename)
    assert entity_id(cert) == eid
    assert role_code(cert) == code
    assert key_usage(cert) == usage
    der = cert.public_bytes(Encoding.DER)
    assert entity_id(der) == eid  # DER accepted too
    assert sha1_hex(der) == sha1_hex(cert)
    assert len(sha1_hex(cert)) == 40 and sha1_hex(cert) == sha1_hex(cert).lower()


@needs_zaz1
def test_zaz1_serial_hash_and_expiry():
    cert = load_pem(ZAZ1 / "Z1-networkOperator-ds.pem")
    assert serial_hex(cert) == "4fc0252e553ecd05d4f72dcfad55c8e7"
    # expired 2025-10-29 23:59:59 UTC
    assert not is_expired(cert, datetime(2025, 10, 29, 23, 59, 59, tzinfo=timezone.utc))
    assert is_expired(cert, datetime(2025, 10, 30, tzinfo=timezone.utc))
    xml = load_pem(ZAZ1 / "xml-sign-90B3D51F30020000-ds.pem")
    assert not is_expired(xml, datetime(2100, 1, 1, tzinfo=timezone.utc))


@needs_zaz1
@pytest.mark.parametrize("stem", ["xml-sign-90B3D51F30010000-ds", "xml-sign-90B3D51F30020000-ds"])
def test_zaz1_der_keys_load(stem, tmp_path):
    cred = Credential.load(ZAZ1 / f"{stem}.key", ZAZ1 / f"{stem}.pem")
    assert isinstance(cred.key.curve, ec.SECP256R1)
    assert cred.entity_id == entity_id(cred.cert)
    sig = cred.key.sign(b"x", ec.ECDSA(hashes.SHA256()))
    cred.cert.public_key().verify(sig, b"x", ec.ECDSA(hashes.SHA256()))
    # and round-trips through our own serialisation, PEM and DER
    (tmp_path / "k.pem").write_bytes(cred.key_pem())
    (tmp_path / "k.der").write_bytes(cred.key_der())
    (tmp_path / "c.der").write_bytes(cred.cert_der())
    for k in ("k.pem", "k.der"):
        again = Credential.load(tmp_path / k, tmp_path / "c.der")
        assert again.cert == cred.cert
        assert again.key.private_numbers() == cred.key.private_numbers()


@needs_zaz1
def test_zaz1_key_does_not_match_other_cert():
    with pytest.raises(ValueError, match="does not match"):
        Credential.load(ZAZ1 / "xml-sign-90B3D51F30010000-ds.key",
                        ZAZ1 / "xml-sign-90B3D51F30020000-ds.pem")


@needs_zaz1
def test_zaz1_org_cert_is_foreign_to_our_smki(smki):
    cert = load_pem(ZAZ1 / "Z1-networkOperator-ds.pem")
    problems = validate_organisation_certificate(
        cert, "NetworkOperator", "DigitalSigning", smki.trust_anchors,
        at=datetime(2020, 1, 1, tzinfo=timezone.utc), time_checks=True,
    )
    assert len(problems) == 1 and "trusted issuing CA" in problems[0]


# --------------------------------------------------------------------------- serialisation

def test_credential_serialisation_round_trip(no_user, tmp_path):
    cred = no_user.organisation.key_agreement
    assert cred.cert_pem().startswith(b"-----BEGIN CERTIFICATE-----")
    assert cred.key_pem().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert x509.load_der_x509_certificate(cred.cert_der()) == cred.cert
    cred.save(tmp_path / "k.pem", tmp_path / "c.pem")
    again = Credential.load(tmp_path / "k.pem", tmp_path / "c.pem")
    assert again.cert == cred.cert
    assert again.sha1_hex == sha1_hex(cred.cert_der()) == cred.sha1_hex
    assert again.serial_hex == format(cred.cert.serial_number, "x")


def test_smki_pem_bundle_round_trip(smki, tmp_path):
    certs = x509.load_pem_x509_certificates(smki.to_pem_bundle())
    assert certs == [smki.issuing_cert, smki.root_cert]
    assert b"PRIVATE KEY" not in smki.to_pem_bundle()
    again = TestSMKI.load(smki.save(tmp_path / "ca.pem"))
    assert again.name == "ZT"
    assert again.issuing_cert == smki.issuing_cert and again.root_cert == smki.root_cert
    user = again.issue_user("90-B3-D5-1F-30-00-00-05", {"GT"})
    assert verify_chain(user.organisation.digital_signing.cert, smki.issuing_cert)


# --------------------------------------------------------------------------- validation

def test_valid_org_certs_pass(smki, no_user, sup_user):
    for user, role in ((no_user, "NetworkOperator"), (sup_user, "Supplier")):
        for usage in ("DigitalSigning", "KeyAgreement"):
            cert = user.organisation.for_usage(usage).cert
            assert validate_organisation_certificate(
                cert, role, usage, smki.trust_anchors, at=None, time_checks=True
            ) == []
            # DER in, only the issuing CA trusted
            assert validate_organisation_certificate(
                user.organisation.for_usage(usage).cert_der(), role, usage,
                [smki.issuing_cert], at=datetime.now(timezone.utc), time_checks=True,
            ) == []


def test_wrong_role_flagged(smki, sup_user):
    problems = validate_organisation_certificate(
        sup_user.organisation.digital_signing.cert, "NetworkOperator", "DigitalSigning",
        smki.trust_anchors, at=datetime.now(timezone.utc), time_checks=True,
    )
    assert len(problems) == 1 and "role code" in problems[0] and "'02'" in problems[0]


def test_xml_signing_cert_is_not_an_org_cert(smki, no_user):
    problems = validate_organisation_certificate(
        no_user.xml_signing.cert, "NetworkOperator", "DigitalSigning",
        smki.trust_anchors, at=datetime.now(timezone.utc), time_checks=True,
    )
    assert len(problems) == 1 and "'87'" in problems[0]


def test_wrong_usage_flagged(smki, no_user):
    problems = validate_organisation_certificate(
        no_user.organisation.key_agreement.cert, "NetworkOperator", "DigitalSigning",
        smki.trust_anchors, at=datetime.now(timezone.utc), time_checks=True,
    )
    assert len(problems) == 1 and "key usage is KeyAgreement" in problems[0]


def test_foreign_ca_flagged(smki, other_smki):
    foreign = other_smki.issue_organisation(NO_ID, "NetworkOperator")
    problems = validate_organisation_certificate(
        foreign.digital_signing.cert, "NetworkOperator", "DigitalSigning",
        smki.trust_anchors, at=datetime.now(timezone.utc), time_checks=True,
    )
    assert len(problems) == 1 and "trusted issuing CA" in problems[0]


def test_same_name_different_key_ca_flagged(smki):
    impostor = TestSMKI.generate(name="ZT")  # same issuer name, different key
    cert = impostor.issue_organisation(NO_ID, "NetworkOperator").digital_signing.cert
    assert cert.issuer == smki.issuing_cert.subject
    assert not verify_chain(cert, smki.issuing_cert)
    problems = validate_organisation_certificate(
        cert, "NetworkOperator", "DigitalSigning", smki.trust_anchors,
        at=datetime.now(timezone.utc), time_checks=True,
    )
    assert len(problems) == 1 and "trusted issuing CA" in problems[0]


def test_expired_flagged_only_with_time_checks(smki):
    past = datetime.now(timezone.utc) - timedelta(days=30)
    org = smki.issue_organisation(SUP_ID, "Supplier", not_after=past)
    cert = org.key_agreement.cert
    assert is_expired(cert, datetime.now(timezone.utc))
    assert cert.not_valid_before_utc < cert.not_valid_after_utc
    problems = validate_organisation_certificate(
        cert, "Supplier", "KeyAgreement", smki.trust_anchors,
        at=datetime.now(timezone.utc), time_checks=True,
    )
    assert len(problems) == 1 and problems[0].startswith("expired")
    assert validate_organisation_certificate(
        cert, "Supplier", "KeyAgreement", smki.trust_anchors,
        at=datetime.now(timezone.utc), time_checks=False,
    ) == []


def test_not_yet_valid_flagged(smki):
    future = datetime.now(timezone.utc) + timedelta(days=30)
    cert = smki.issue_organisation(SUP_ID, "Supplier", not_before=future).digital_signing.cert
    problems = validate_organisation_certificate(
        cert, "Supplier", "DigitalSigning", smki.trust_anchors,
        at=datetime.now(timezone.utc), time_checks=True,
    )
    assert len(problems) == 1 and problems[0].startswith("not yet valid")


def test_several_problems_reported_together(smki, other_smki):
    past = datetime.now(timezone.utc) - timedelta(days=1)
    cert = other_smki.issue_organisation(SUP_ID, "Supplier", not_after=past).key_agreement.cert
    problems = validate_organisation_certificate(
        cert, "NetworkOperator", "DigitalSigning", smki.trust_anchors,
        at=datetime.now(timezone.utc), time_checks=True,
    )
    assert len(problems) == 4


def test_wrong_role_code_override(smki):
    cred = smki.issue_organisation_certificate(NO_ID, "NetworkOperator", "DigitalSigning",
                                               role_code="02")
    assert role_code(cred.cert) == "02"


def test_validate_rejects_bad_arguments(smki, no_user):
    with pytest.raises(ValueError):
        validate_organisation_certificate(no_user.xml_signing.cert, "Other", "DigitalSigning",
                                          smki.trust_anchors, None, True)
    assert validate_organisation_certificate(
        b"not a certificate", "Supplier", "DigitalSigning", smki.trust_anchors, None, True
    )[0].startswith("not a parsable")


def test_entity_id_input_forms(smki):
    for given in ("90b3d51f30000003", "90:B3:D5:1F:30:00:00:03", "90-b3-d5-1f-30-00-00-03"):
        assert smki.issue_xml_signing(given).entity_id == "90-B3-D5-1F-30-00-00-03"
    with pytest.raises(ValueError):
        smki.issue_xml_signing("90-B3-D5-1F-30-00-00")



# --------------------------------------------------------------------------- the private-API workaround

# DER of the AttributeTypeAndValue the ZAZ1 certificates carry: OID 2.5.4.45, BIT STRING (tag 03) of
# 9 bytes: 0 unused bits, then the EUI-64 90-B3-D5-1F-30-02-00-00.
ZAZ1_UNIQUE_IDENTIFIER = bytes.fromhex("0603 55042d 0309 00 90b3d51f30020000".replace(" ", ""))
ROOT = Path(__file__).resolve().parents[1]


def test_the_entity_identifier_attribute_is_a_bit_string():
    from smki import entity_identifier_attribute
    for given in (NO_ID, "90b3d51f30020000", bytes.fromhex("90b3d51f30020000")):
        der = x509.Name([entity_identifier_attribute(given)]).public_bytes()
        assert ZAZ1_UNIQUE_IDENTIFIER in der, der.hex()
    with pytest.raises(ValueError):
        entity_identifier_attribute("90-B3-D5-1F-30-02-00")


def test_a_printable_attribute_is_a_printable_string():
    from smki import printable_attribute
    der = x509.Name([printable_attribute(NameOID.COMMON_NAME, "Z1")]).public_bytes()
    assert bytes.fromhex("0603 550403 1302 5a31".replace(" ", "")) in der       # CN, PrintableString (13) "Z1"
    assert bytes.fromhex("0c02 5a31".replace(" ", "")) in x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Z1")]).public_bytes()      # the public default: UTF8String (0c)


def public_ways_to_choose_a_name_attribute_type() -> list[str]:
    """Each public way cryptography offers to make a name attribute of a chosen ASN.1 type (a BIT
    STRING x500UniqueIdentifier), found through its public API only; empty today."""
    import enum
    import inspect

    import cryptography.x509.name as x509_name
    found = []
    # 1. A public enum of ASN.1 types (today the private `x509.name._ASN1Type`), exported by
    #    cryptography.x509 or cryptography.x509.name under a name without a leading underscore.
    for module in (x509, x509_name):
        for name, value in vars(module).items():
            if name.startswith("_") or not (isinstance(value, type) and issubclass(value, enum.Enum)):
                continue
            if any(m.replace("_", "").lower() == "bitstring" for m in value.__members__):
                found.append(f"{module.__name__}.{name} (a public enum of ASN.1 types)")
    # 2. A public parameter of NameAttribute for the type (today only the private `_type`).
    params = inspect.signature(x509.NameAttribute.__init__).parameters
    public = [p for p in params if p not in ("self", "oid", "value") and not p.startswith("_")]
    if public:
        found.append(f"x509.NameAttribute({', '.join(public)}=...)")
    # 3. RFC 4514 parsing that honours a `#hex` value as the BER encoding of the value (RFC 4514
    #    §2.4): today cryptography reads it as UTF-8 text (and fails on these bytes).
    try:
        parsed = x509.Name.from_rfc4514_string("2.5.4.45=#03090090B3D51F30020000").public_bytes()
    except Exception:
        parsed = b""
    if ZAZ1_UNIQUE_IDENTIFIER in parsed:
        found.append('x509.Name.from_rfc4514_string("2.5.4.45=#0309...")')
    return found


def test_cryptography_still_offers_no_public_way_to_make_a_bit_string_name_attribute():
    """smki/names.py reaches for `cryptography.x509.name._ASN1Type` (private) because cryptography
    has no public way to choose a name attribute's ASN.1 type. This test fails as soon as it has
    one, so that the workaround goes. What counts as a public way (public API only, so that this
    test itself never leans on the private enum):

    1. a public enum of ASN.1 types in `cryptography.x509` or `cryptography.x509.name` with a BIT
       STRING member (the likely shape: `_ASN1Type` made public);
    2. a public (no leading underscore) parameter of `x509.NameAttribute` besides `oid` and `value`;
    3. `x509.Name.from_rfc4514_string` encoding a `#hex` value as the BER it spells (RFC 4514
       §2.4), which would give the BIT STRING from "2.5.4.45=#03090090B3D51F30020000".

    The next test checks that each of the three would be noticed."""
    found = public_ways_to_choose_a_name_attribute_type()
    assert not found, ("cryptography now offers a public way: remove the workaround in smki/names.py "
                       f"(_typed_attribute, the private x509.name._ASN1Type) and use {found[0]}; found: {found}")


def test_each_public_way_would_be_noticed(monkeypatch):
    import enum
    import inspect

    import cryptography.x509.name as x509_name
    monkeypatch.setattr(x509_name, "ASN1Type", enum.Enum("ASN1Type", {"BitString": 3}), raising=False)
    assert public_ways_to_choose_a_name_attribute_type() == ["cryptography.x509.name.ASN1Type (a public enum of "
                                                             "ASN.1 types)"]
    monkeypatch.delattr(x509_name, "ASN1Type")

    original = x509.NameAttribute.__init__

    def init(self, oid, value, asn1_type=None, *, _validate=True):     # pragma: no cover - never called
        original(self, oid, value)
    monkeypatch.setattr(x509.NameAttribute, "__init__", init)
    assert inspect.signature(x509.NameAttribute.__init__).parameters["asn1_type"]
    assert public_ways_to_choose_a_name_attribute_type() == ["x509.NameAttribute(asn1_type=...)"]
    monkeypatch.setattr(x509.NameAttribute, "__init__", original)

    from smki import entity_identifier_attribute
    monkeypatch.setattr(x509.Name, "from_rfc4514_string",
                        classmethod(lambda cls, text: x509.Name([entity_identifier_attribute(NO_ID)])))
    assert public_ways_to_choose_a_name_attribute_type() == ['x509.Name.from_rfc4514_string("2.5.4.45=#0309...")']


def test_the_private_api_is_used_in_one_place_only():
    """Only smki/names.py imports cryptography's private `_ASN1Type`; every caller uses its functions."""
    skip = {ROOT / "smki" / "names.py", Path(__file__).resolve()}
    users = sorted(str(path.relative_to(ROOT)) for path in ROOT.rglob("*.py")
                   if path not in skip and not {".venv", "node_modules", ".git"} & set(path.parts)
                   and "_ASN1Type" in path.read_text(encoding="utf-8", errors="replace"))
    assert not users, f"use smki.entity_identifier_attribute / printable_attribute instead of _ASN1Type in {users}"
