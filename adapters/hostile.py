"""Deliberately bad requests for MP107-R4.

Each *kind* in MALFORMATIONS starts from a correct request - SRV 6.15.1 from a Network Operator
that owns its NetworkOperator slot, handing the slot to another Network Operator: accepted (I99),
it would end in I0 and change the slot - and spoils exactly one thing of it, so that a refusal can
only be for that thing. Kinds that spoil a field re-sign the request with the sender's key, so the
signature is not what gets it refused; kinds that attack the XML or the signature edit the signed
bytes. BAD_CERTIFICATES are replacement certificates that are wrong in exactly one way, for a
request that is otherwise correct (the DSP accepts it; the S1SP must refuse it).

Nothing here talks to a target: the steps (steps/security_input.py) build the base request, ask a
kind to spoil it and send the result.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from datetime import datetime, timedelta, timezone
from typing import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
    XMLSigner,
)

from duis import codec, messages, signing
from duis.types import RequestID
from smki import SMKI_POLICY_OID, Credential, TestSMKI, entity_identifier_attribute

OVERSIZE_BYTES = 2 * 1024 * 1024
"""Above the DSP's XML limit (1 MiB), below the HTTP front door's (8 MiB)."""
FRONT_DOOR_OVERSIZE_BYTES = 9 * 1024 * 1024
"""Above the reference server's request-body limit (8 MiB)."""
HUGE_TEXT_BYTES = 1_000_000
"""One text node just under the DSP's XML limit: it reaches the parser and the schema."""
DEEP_NESTING = 10_000
MANY_ATTRIBUTES = 5_000
UNREACHABLE_URL = "http://127.0.0.1:9/request.xml"
"""Where the external-resource kinds point: loopback's discard port. A DSP that fetched it would
hang or fail; one that refuses it unread answers at once."""

DS = signing.DS_NS
_SIGNATURE = rb"<ds:Signature\b.*?</ds:Signature>"


class SpoilError(ValueError):
    """A kind found nothing to spoil: the harness's mistake, never sent as if it were spoiled."""


# --------------------------------------------------------------------------- signing; identities the DCC does not know

def signed(request: messages.ServiceRequest, signer: signing.Signer) -> bytes:
    """`request` encoded and signed by `signer` (whoever its Business Originator is)."""
    return signing.sign(codec.encode_request(request), signer)


def signer_of(credential: Credential) -> signing.Signer:
    return signing.Signer(credential.key, credential.cert)


@lru_cache(maxsize=1)
def foreign_smki() -> TestSMKI:
    """An SMKI the DCC does not know (its certificates chain to nothing the DCC trusts)."""
    return TestSMKI.generate(name="ZX")


@lru_cache(maxsize=16)
def stranger_signer(user_id: str) -> signing.Signer:
    """An XML-signing key and certificate for `user_id`, from the foreign SMKI: the DCC does not know it."""
    return signer_of(foreign_smki().issue_xml_signing(user_id))


# --------------------------------------------------------------------------- byte edits

def alter_after_signing(signed: bytes) -> bytes:
    """Change one certificate character inside the signed body; the signature no longer verifies."""
    m = re.search(rb"(<(?:\w+:)?DigitalSigningCertificate>)(.)", signed)
    if not m:
        raise SpoilError("no DigitalSigningCertificate in the request to alter")
    replacement = b"B" if m.group(2) != b"B" else b"C"
    return signed[:m.start(2)] + replacement + signed[m.end(2):]


def not_well_formed(signed: bytes) -> bytes:
    return signed[: len(signed) // 2]


def oversized(signed: bytes, size: int = OVERSIZE_BYTES) -> bytes:
    padding = b"<!--" + b"x" * size + b"-->"
    return signed.replace(b"?>", b"?>" + padding, 1) if signed.startswith(b"<?xml") else padding + signed


def _sub(pattern: bytes, repl, data: bytes, what: str, flags: int = 0) -> bytes:
    """re.sub once, or SpoilError: a kind must never send the request unspoiled."""
    out, n = re.subn(pattern, repl, data, count=1, flags=flags)
    if n != 1:
        raise SpoilError(f"nothing to spoil: no {what} in the request")
    return out


def _without_declaration(xml: bytes) -> bytes:
    return re.sub(rb"^<\?xml[^>]*\?>\s*", b"", xml)


def _declared(xml: bytes, prolog: bytes) -> bytes:
    """`xml` with `prolog` (a DOCTYPE, a processing instruction...) between the declaration and the root."""
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + prolog + b"\n" + _without_declaration(xml)


def _role_value(xml: bytes, new: bytes) -> bytes:
    """The (first) RemotePartyRole's content replaced by `new` (raw XML)."""
    return _sub(rb"(<sr:RemotePartyRole>)NetworkOperator(</sr:RemotePartyRole>)",
                lambda m: m.group(1) + new + m.group(2), xml, "RemotePartyRole NetworkOperator")


def _flip_base64(text: bytes) -> bytes:
    """`text` (base64) with its first character changed to another base64 character."""
    first = text[:1]
    return (b"B" if first != b"B" else b"C") + text[1:]


# --------------------------------------------------------------------------- the base request and a spoiled one

@dataclass(frozen=True)
class Spoiled:
    xml: bytes
    request_id: str
    """the RequestID the spoiled request claims, by which its answer is correlated"""


@dataclass(frozen=True)
class Base:
    """A correct, signed request, and what a kind may use to spoil it."""
    request: messages.ServiceRequest
    signed: bytes
    signer: signing.Signer
    """the sender's XML-signing identity"""
    other_signer: signing.Signer
    """another DCC User's (known to the DCC)"""
    stranger_signer: signing.Signer
    """a key and certificate for the sender's User ID that the DCC does not know"""
    other_certificates: tuple[bytes, bytes]
    """another Network Operator's Organisation certificates (DER), to swap in after signing"""
    earlier: tuple[str, bytes] | None = None
    """(RequestID, signed XML) of a request from the same sender accepted just before (counter kinds)"""

    @property
    def request_id(self) -> str:
        return str(self.request.request_id)

    @property
    def unsigned(self) -> bytes:
        return codec.encode_request(self.request)

    def sign(self, xml: bytes, signer: signing.Signer | None = None) -> bytes:
        return signing.sign(xml, signer or self.signer)

    def resigned(self, edit: Callable[[bytes], bytes], request_id: str | None = None) -> Spoiled:
        """The unsigned request edited by `edit`, then signed by the sender: only that edit is wrong."""
        return Spoiled(self.sign(edit(self.unsigned)), request_id or self.request_id)

    def edited(self, edit: Callable[[bytes], bytes]) -> Spoiled:
        """The signed request edited by `edit` (an attack on the XML or on the signature)."""
        return Spoiled(edit(self.signed), self.request_id)

    def with_counter(self, counter: int) -> Spoiled:
        rid = self.request.request_id
        request = replace(self.request, request_id=RequestID(rid.originator, rid.target, counter))
        return Spoiled(self.sign(codec.encode_request(request)), str(request.request_id))

    def earlier_counter(self) -> int:
        if self.earlier is None:
            raise SpoilError("this kind needs a request accepted just before it (Kind.needs_earlier)")
        return int(self.earlier[0].rsplit(":", 1)[1])


@dataclass(frozen=True)
class Kind:
    spoil: Callable[[Base], Spoiled]
    requirement: str
    """MP107-R4.1 (signature and sender), R4.2 (bad or hostile input), R4.3 (counters)"""
    needs_earlier: bool = False
    """the kind re-uses or undercuts a request the same sender had accepted just before"""
    equivalent: bool = False
    """a rewriting XML allows (another legal encoding, CDATA, a comment): the request means what the
    correct one means, so a target may refuse it, or must treat it exactly as the correct request"""
    note: str = ""
    """what the evidence should say about the spoiled request, beyond its name (shown with the verdict)"""


# --------------------------------------------------------------------------- XML attacks (MP107-R4.2)

def _external_entity(b: Base) -> Spoiled:
    def edit(xml):
        doctype = b'<!DOCTYPE sr:Request [ <!ENTITY xxe SYSTEM "file:///etc/hostname"> ]>'
        return _role_value(_declared(xml, doctype), b"&xxe;")
    return b.edited(edit)


def _parameter_entity(b: Base) -> Spoiled:
    doctype = (b'<!DOCTYPE sr:Request [ <!ENTITY % ext SYSTEM "' + UNREACHABLE_URL.encode()
               + b'"> %ext; ]>')
    return b.edited(lambda xml: _declared(xml, doctype))


def _billion_laughs(b: Base) -> Spoiled:
    def edit(xml):
        entities = [b'<!ENTITY lol0 "lol">']
        entities += [b'<!ENTITY lol%d "%s">' % (i, b"".join(b"&lol%d;" % (i - 1) for _ in range(10)))
                     for i in range(1, 10)]
        return _role_value(_declared(xml, b"<!DOCTYPE sr:Request [ " + b" ".join(entities) + b" ]>"), b"&lol9;")
    return b.edited(edit)


def _xinclude(b: Base) -> Spoiled:
    return b.edited(lambda xml: _role_value(
        xml, b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/hostname" parse="text"/>'))


def _internal_subset(b: Base) -> Spoiled:
    return b.edited(lambda xml: _declared(xml, b"<!DOCTYPE sr:Request [ <!ELEMENT sr:Request ANY> ]>"))


def _processing_instruction(b: Base) -> Spoiled:
    """Well-formed XML, but more than was signed: the signature's Reference URI="" covers the whole
    document, and a processing instruction outside the root is part of it (MP107-R4.1, not R4.2)."""
    return b.edited(lambda xml: _declared(
        xml, b'<?xml-stylesheet type="text/xsl" href="' + UNREACHABLE_URL.encode() + b'"?>'))


NOT_COVERED = ("well-formed XML, but the processing instruction before the root was added after signing: the "
               "signature (Reference URI=\"\", the whole document) does not cover it, so the request is not what "
               "its sender signed (MP107-R4.1); xmlsec1 refuses it, a verifier that checks only the document "
               "element (signxml alone) would not")


def _deep_nesting(b: Base) -> Spoiled:
    return b.edited(lambda xml: _role_value(xml, b"<x>" * DEEP_NESTING + b"NetworkOperator" + b"</x>" * DEEP_NESTING))


def _many_attributes(b: Base) -> Spoiled:
    attributes = b"".join(b' a%d="x"' % i for i in range(MANY_ATTRIBUTES))
    return b.edited(lambda xml: _sub(rb"<sr:RemotePartyRole>", b"<sr:RemotePartyRole" + attributes + b">", xml,
                                     "RemotePartyRole"))


def _huge_text(b: Base) -> Spoiled:
    return b.edited(lambda xml: _role_value(xml, b"N" * HUGE_TEXT_BYTES))


def _front_door_oversized(b: Base) -> Spoiled:
    return b.edited(lambda xml: oversized(xml, FRONT_DOOR_OVERSIZE_BYTES))


def _re_encoded(xml: bytes, encoding: str) -> bytes:
    text = _without_declaration(xml).decode("utf-8")
    return f'<?xml version="1.0" encoding="{encoding}"?>\n{text}'.encode(encoding)


def _utf16(b: Base) -> Spoiled:
    """The signed request re-encoded, character for character, as UTF-16 (with its byte-order mark)."""
    return b.edited(lambda xml: _re_encoded(xml, "utf-16"))


def _utf32(b: Base) -> Spoiled:
    return b.edited(lambda xml: _re_encoded(xml, "utf-32"))


def _utf16_declared_utf8(b: Base) -> Spoiled:
    """UTF-16 bytes (with a byte-order mark) under a declaration that says UTF-8: a fatal error
    (XML 1.0 section 4.3.3: an entity with an encoding declaration presented in another encoding)."""
    return b.edited(lambda xml: xml.decode("utf-8").encode("utf-16"))


def _utf8_bom(b: Base) -> Spoiled:
    return b.edited(lambda xml: b"\xef\xbb\xbf" + xml)


def _mislabelled(b: Base) -> Spoiled:
    """Declared UTF-16, sent as UTF-8 bytes."""
    return b.edited(lambda xml: _sub(rb"encoding=['\"]UTF-8['\"]", b'encoding="UTF-16"', xml, "encoding declaration"))


def _nul_byte(b: Base) -> Spoiled:
    return b.edited(lambda xml: _role_value(xml, b"Network\x00Operator"))


def _utf16_bom_on_utf8(b: Base) -> Spoiled:
    return b.edited(lambda xml: b"\xff\xfe" + xml)


def _bom_inside(b: Base) -> Spoiled:
    """A UTF-8 byte-order mark after the declaration, in front of the root element."""
    return b.edited(lambda xml: _sub(rb"\?>\s*", b"?>\xef\xbb\xbf", xml, "XML declaration"))


def _cdata_markup(b: Base) -> Spoiled:
    """A signed value replaced by a CDATA section that looks like markup for another value."""
    return b.edited(lambda xml: _role_value(
        xml, b"<![CDATA[Supplier</sr:RemotePartyRole><sr:RemotePartyRole>NetworkOperator]]>"))


def _cdata_unchanged(b: Base) -> Spoiled:
    """A signed value wrapped, unchanged, in a CDATA section (canonical XML is the same)."""
    return b.edited(lambda xml: _role_value(xml, b"<![CDATA[NetworkOperator]]>"))


def _comment_in_value(b: Base) -> Spoiled:
    """A comment inside a signed value (the SAML comment-truncation trick): canonical XML without
    comments still reads NetworkOperator, a parser that takes the first text node reads Network."""
    return b.edited(lambda xml: _role_value(xml, b"Network<!-- -->Operator"))


def _comment_in_certificate(b: Base) -> Spoiled:
    """A comment inside the signed base64 of a replacement certificate, after its first 64
    characters: what is signed is the whole certificate; a parser that takes the first text node
    reads a certificate cut short."""
    return b.edited(lambda xml: _sub(rb"(<sr:DigitalSigningCertificate>[^<]{64})", rb"\1<!-- -->", xml,
                                     "DigitalSigningCertificate"))


# --------------------------------------------------------------------------- signature and identity (MP107-R4.1)

def _no_signature(b: Base) -> Spoiled:
    return b.edited(lambda xml: _sub(_SIGNATURE, b"", xml, "ds:Signature", re.S))


def _two_signatures(b: Base) -> Spoiled:
    return b.edited(lambda xml: _sub(_SIGNATURE, lambda m: m.group(0) * 2, xml, "ds:Signature", re.S))


def _digest_altered(b: Base) -> Spoiled:
    return b.edited(lambda xml: _sub(rb"(<ds:DigestValue>)([^<]+)", lambda m: m.group(1) + _flip_base64(m.group(2)),
                                     xml, "DigestValue"))


def _signature_value_altered(b: Base) -> Spoiled:
    return b.edited(lambda xml: _sub(rb"(<ds:SignatureValue>)([^<]+)",
                                     lambda m: m.group(1) + _flip_base64(m.group(2)), xml, "SignatureValue"))


def _key_info_other(b: Base) -> Spoiled:
    """Signed with the sender's key, but KeyInfo names another DCC User's XML-signing certificate."""
    issuer, serial = signing.issuer_serial_of(b.other_signer.cert)

    def edit(xml):
        xml = _sub(rb"(<ds:X509IssuerName>)[^<]*", lambda m: m.group(1) + issuer.encode(), xml, "X509IssuerName")
        return _sub(rb"(<ds:X509SerialNumber>)[^<]*", lambda m: m.group(1) + str(serial).encode(), xml,
                    "X509SerialNumber")
    return b.edited(edit)


def _signed_by_other(b: Base) -> Spoiled:
    """Business Originator ID: the sender; signed (KeyInfo and all) by another known DCC User."""
    return Spoiled(b.sign(b.unsigned, b.other_signer), b.request_id)


def _signed_by_stranger(b: Base) -> Spoiled:
    """Signed with a key the DCC does not know, whose certificate claims the sender's User ID."""
    return Spoiled(b.sign(b.unsigned, b.stranger_signer), b.request_id)


class _LaxSigner(XMLSigner):
    """signxml's signer with its refusal of SHA-1 lifted: to make a genuine but weak signature."""

    def check_deprecated_methods(self):
        pass


def _key_info_element(cert: x509.Certificate) -> etree._Element:
    issuer, serial = signing.issuer_serial_of(cert)
    key_info = etree.Element(f"{{{DS}}}KeyInfo", nsmap={"ds": DS})
    issuer_serial = etree.SubElement(etree.SubElement(key_info, f"{{{DS}}}X509Data"), f"{{{DS}}}X509IssuerSerial")
    etree.SubElement(issuer_serial, f"{{{DS}}}X509IssuerName").text = issuer
    etree.SubElement(issuer_serial, f"{{{DS}}}X509SerialNumber").text = str(serial)
    return key_info


def _sha1_signed(b: Base) -> Spoiled:
    """A genuine signature by the sender's key, but with ecdsa-sha1 over a sha1 digest."""
    root = etree.fromstring(b.unsigned)
    signed = _LaxSigner(method=SignatureConstructionMethod.enveloped, signature_algorithm=SignatureMethod.ECDSA_SHA1,
                        digest_algorithm=DigestAlgorithm.SHA1,
                        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
                        ).sign(root, key=b.signer.key, key_info=_key_info_element(b.signer.cert))
    return Spoiled(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"), b.request_id)


def _rsa_sha1_named(b: Base) -> Spoiled:
    return b.edited(lambda xml: _sub(rb'(<ds:SignatureMethod Algorithm=")[^"]+', lambda m: m.group(1)
                                     + b"http://www.w3.org/2000/09/xmldsig#rsa-sha1", xml, "SignatureMethod"))


def _external_reference(b: Base) -> Spoiled:
    return b.edited(lambda xml: _sub(rb'<ds:Reference URI=""', b'<ds:Reference URI="' + UNREACHABLE_URL.encode() + b'"',
                                     xml, 'ds:Reference URI=""'))


def _wrapped_signature(b: Base) -> Spoiled:
    """Signature wrapping: the request carries a genuine signature of the sender's, but one over
    another element - an enveloping signature whose ds:Object holds a harmless 6.24.1 the sender
    signed - and its own content is not signed at all."""
    harmless = messages.ServiceRequest(b.request.request_id, 1, "6.24.1",
                                       messages.RetrieveDeviceSecurityCredentialsKRP(("NetworkOperator",)))
    payload = etree.fromstring(codec.encode_request(harmless))
    signature = XMLSigner(method=SignatureConstructionMethod.enveloping,
                          signature_algorithm=SignatureMethod.ECDSA_SHA256, digest_algorithm=DigestAlgorithm.SHA256,
                          c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
                          ).sign(payload, key=b.signer.key, key_info=_key_info_element(b.signer.cert))
    root = etree.fromstring(b.unsigned)
    root.append(signature)
    return Spoiled(etree.tostring(root, xml_declaration=True, encoding="UTF-8"), b.request_id)


def _command_variant_after_signing(b: Base) -> Spoiled:
    """Command Variant 4 (the DCC transforms) turned into 5 (a signed Pre-Command) after signing."""
    return b.edited(lambda xml: _sub(rb"(<sr:CommandVariant>)4(<)", rb"\g<1>5\g<2>", xml, "CommandVariant 4"))


def _certificates_swapped_after_signing(b: Base) -> Spoiled:
    """The replacement certificates exchanged for another Network Operator's after signing."""
    def edit(xml):
        for tag, der in zip((b"DigitalSigningCertificate", b"KeyAgreementCertificate"), b.other_certificates):
            xml = _sub(rb"(<sr:" + tag + rb">)[^<]*", lambda m, der=der: m.group(1) + base64.b64encode(der), xml,
                       tag.decode())
        return xml
    return b.edited(edit)


# --------------------------------------------------------------------------- counters (MP107-R4.3)

def _sent_twice(b: Base) -> Spoiled:
    """The very bytes of the request accepted just before (a 6.24.1), sent again."""
    if b.earlier is None:
        raise SpoilError("a replay needs a request accepted just before it")
    return Spoiled(b.earlier[1], b.earlier[0])


def _counter_equal(b: Base) -> Spoiled:
    return b.with_counter(b.earlier_counter())


def _counter_lower(b: Base) -> Spoiled:
    return b.with_counter(b.earlier_counter() - 1)


def _counter_zero(b: Base) -> Spoiled:
    b.earlier_counter()       # a counter above 0 has been accepted from the sender
    return b.with_counter(0)


# --------------------------------------------------------------------------- malformed fields (MP107-R4.2)

def _request_id(xml: bytes, fn: Callable[[bytes], bytes]) -> bytes:
    return _sub(rb"(<sr:RequestID>)([^<]*)(</sr:RequestID>)", lambda m: m.group(1) + fn(m.group(2)) + m.group(3), xml,
                "RequestID")


def _bad_eui64(b: Base) -> Spoiled:
    return b.resigned(lambda xml: _request_id(xml, lambda rid: b"ZZ" + rid[2:]))


def _counter_not_numeric(b: Base) -> Spoiled:
    return b.resigned(lambda xml: _request_id(xml, lambda rid: rid.rsplit(b":", 1)[0] + b":twelve"))


def _counter_beyond_64_bits(b: Base) -> Spoiled:
    return b.resigned(lambda xml: _request_id(xml, lambda rid: rid.rsplit(b":", 1)[0] + b":" + str(2**64).encode()))


def _request_id_two_parts(b: Base) -> Spoiled:
    return b.resigned(lambda xml: _request_id(xml, lambda rid: rid.split(b":", 1)[0] + b":" + rid.rsplit(b":", 1)[1]))


def _target_is_user(b: Base) -> Spoiled:
    """RequestID's BusinessTargetID is the sender's own User ID, not a device."""
    rid = b.request.request_id
    target = RequestID(rid.originator, rid.originator, rid.counter)
    return b.resigned(lambda xml: _request_id(xml, lambda _: str(target).encode()), str(target))


def _field(tag: bytes, value: bytes) -> Callable[[Base], Spoiled]:
    def spoil(b: Base) -> Spoiled:
        return b.resigned(lambda xml: _sub(rb"(<sr:" + tag + rb">)[^<]*", lambda m: m.group(1) + value, xml,
                                           tag.decode()))
    return spoil


def _missing_service_reference(b: Base) -> Spoiled:
    return b.resigned(lambda xml: _sub(rb"\s*<sr:ServiceReference>[^<]*</sr:ServiceReference>", b"", xml,
                                       "ServiceReference"))


def _empty_body(b: Base) -> Spoiled:
    return b.resigned(lambda xml: _sub(rb"<sr:Body>.*</sr:Body>", b"<sr:Body/>", xml, "Body", re.S))


def _body_of_another_srv(b: Base) -> Spoiled:
    """A 6.24.1 body under a 6.15.1 header."""
    body = b"<sr:RetrieveDeviceSecurityCredentialsKRP><sr:RemotePartyRole>NetworkOperator</sr:RemotePartyRole>" \
           b"</sr:RetrieveDeviceSecurityCredentialsKRP>"
    return b.resigned(lambda xml: _sub(rb"<sr:Body>.*</sr:Body>", b"<sr:Body>" + body + b"</sr:Body>", xml, "Body",
                                       re.S))


def _unknown_element(b: Base) -> Spoiled:
    return b.resigned(lambda xml: _sub(rb"(</sr:RemotePartyRole>)", rb"\1<sr:Backdoor>open</sr:Backdoor>", xml,
                                       "RemotePartyRole"))


def _base64_garbage(b: Base) -> Spoiled:
    return b.resigned(lambda xml: _sub(rb"(<sr:DigitalSigningCertificate>)[^<]*", rb"\1!!not*base64~~", xml,
                                       "DigitalSigningCertificate"))


def _wrong_root(b: Base) -> Spoiled:
    return b.resigned(lambda xml: re.sub(rb"<(/?)sr:Request\b", rb"<\1sr:Response", xml))


def _other_namespace(b: Base) -> Spoiled:
    return b.resigned(lambda xml: _sub(rb'xmlns:sr="http://www\.dccinterface\.co\.uk/ServiceUserGateway"',
                                       b'xmlns:sr="http://example.invalid/NotDUIS"', xml, "sr namespace"))


# --------------------------------------------------------------------------- the catalogue

def _r42(fn) -> Kind:
    return Kind(fn, "MP107-R4.2")


def _r41(fn) -> Kind:
    return Kind(fn, "MP107-R4.1")


MALFORMATIONS: dict[str, Kind] = {
    # XML attacks
    "a request that is not well-formed XML": _r42(lambda b: b.edited(not_well_formed)),
    "a request larger than the DSP accepts": _r42(lambda b: b.edited(oversized)),
    "a request larger than the HTTP front door accepts": _r42(_front_door_oversized),
    "a request declaring an external entity": _r42(_external_entity),
    "a request declaring an external parameter entity": _r42(_parameter_entity),
    "a request expanding entities a billion times": _r42(_billion_laughs),
    "a request with an XInclude": _r42(_xinclude),
    "a request with a DOCTYPE and an internal subset": _r42(_internal_subset),
    "a request nested 10,000 elements deep": _r42(_deep_nesting),
    "a request with 5,000 attributes on one element": _r42(_many_attributes),
    "a request with a text node of a million characters": _r42(_huge_text),
    "a request encoded as UTF-16": Kind(_utf16, "MP107-R4.2", equivalent=True),
    "a request encoded as UTF-32": Kind(_utf32, "MP107-R4.2", equivalent=True),
    "a request with a UTF-8 byte-order mark": Kind(_utf8_bom, "MP107-R4.2", equivalent=True),
    "a request with an unchanged signed value in CDATA": Kind(_cdata_unchanged, "MP107-R4.2", equivalent=True),
    "a request with a comment inside a signed value": Kind(_comment_in_value, "MP107-R4.2", equivalent=True),
    "a request with a comment inside a signed certificate": Kind(_comment_in_certificate, "MP107-R4.2",
                                                                 equivalent=True),
    "a request in UTF-16 declared as UTF-8": _r42(_utf16_declared_utf8),
    "a request declared UTF-16 but encoded as UTF-8": _r42(_mislabelled),
    "a request with a NUL byte in a value": _r42(_nul_byte),
    "a request with a UTF-16 byte-order mark before UTF-8": _r42(_utf16_bom_on_utf8),
    "a request with a byte-order mark before its root": _r42(_bom_inside),
    "a request with CDATA markup in a signed value": _r42(_cdata_markup),
    # signature and identity
    "a request without a signature": _r41(_no_signature),
    "a request with two signatures": _r41(_two_signatures),
    "a request whose signature covers another element": _r41(_wrapped_signature),
    "a request whose digest was altered": _r41(_digest_altered),
    "a request whose SignatureValue was altered": _r41(_signature_value_altered),
    "a request whose KeyInfo names another user's certificate": Kind(_key_info_other, "MP107-R4.1", equivalent=True),
    "a request signed with ecdsa-sha1 over a sha1 digest": _r41(_sha1_signed),
    "a request whose SignatureMethod claims rsa-sha1": _r41(_rsa_sha1_named),
    "a request whose signature references an external resource": _r41(_external_reference),
    "a request signed by another DCC User": _r41(_signed_by_other),
    "a request signed with a key the DCC does not know": _r41(_signed_by_stranger),
    "a request whose Command Variant was changed after signing": _r41(_command_variant_after_signing),
    "a request whose replacement certificates were swapped after signing": _r41(_certificates_swapped_after_signing),
    "a request with a processing instruction added before its root after signing": Kind(
        _processing_instruction, "MP107-R4.1", note=NOT_COVERED),
    # counters
    "the same 6.24.1 sent twice": Kind(_sent_twice, "MP107-R4.3", needs_earlier=True),
    "a request reusing the OriginatorCounter of one already accepted": Kind(_counter_equal, "MP107-R4.3",
                                                                           needs_earlier=True),
    "a request with an OriginatorCounter below one already accepted": Kind(_counter_lower, "MP107-R4.3",
                                                                          needs_earlier=True),
    "a request with OriginatorCounter 0": Kind(_counter_zero, "MP107-R4.3", needs_earlier=True),
    # malformed fields
    "a request with an unknown Service Reference Variant": _r42(_field(b"ServiceReferenceVariant", b"99.99.9")),
    "a request whose RequestID holds a bad EUI-64": _r42(_bad_eui64),
    "a request whose OriginatorCounter is not a number": _r42(_counter_not_numeric),
    "a request whose OriginatorCounter exceeds 64 bits": _r42(_counter_beyond_64_bits),
    "a request whose RequestID has two parts": _r42(_request_id_two_parts),
    "a request whose RequestID targets a DCC User, not a device": _r42(_target_is_user),
    "a request with an unknown Command Variant": _r42(_field(b"CommandVariant", b"9")),
    "a request without a ServiceReference": _r42(_missing_service_reference),
    "a request whose ServiceReference disagrees with its variant": _r42(_field(b"ServiceReference", b"6.24")),
    "a request with an unknown RemotePartyRole": _r42(_field(b"RemotePartyRole", b"Nobody")),
    "a request for the Root slot": _r42(_field(b"RemotePartyRole", b"Root")),
    "a request with an empty Body": _r42(_empty_body),
    "a request with the body of another Service Reference Variant": _r42(_body_of_another_srv),
    "a request with an element DUIS does not define": _r42(_unknown_element),
    "a request with base64 garbage for a certificate": _r42(_base64_garbage),
    "a request whose root element is a Response": _r42(_wrong_root),
    "a request in a namespace other than DUIS's": _r42(_other_namespace),
}
"""name (as the features write it) -> Kind"""


# --------------------------------------------------------------------------- replacement certificates wrong in one way

@dataclass(frozen=True)
class CertificateContext:
    """What a BAD_CERTIFICATES entry may use."""
    entity_id: str
    """the sender's Entity Identifier (the certificates' owner unless the kind says otherwise)"""
    role: str
    """the slot being replaced (its role's code goes in OU)"""
    issuing: Credential
    """the SMKI issuing CA the DCC trusts"""
    own_pair: tuple[bytes, bytes]
    """the sender's own, correct Organisation certificates"""
    party_pair: Callable[[str], tuple[bytes, bytes]]
    """a party's correct Organisation certificates, by label"""
    foreign_smki: Callable[[], TestSMKI]


ROLE_CODES = {"Supplier": "02", "NetworkOperator": "03"}


def organisation_certificate(issuing: Credential, *, entity_id: str | None, role_code: str | None,
                             digital_signature: bool, key_agreement: bool,
                             curve: ec.EllipticCurve | None = None, not_before: datetime | None = None,
                             not_after: datetime | None = None) -> bytes:
    """One ZAZ1-shaped Organisation certificate (DER) from `issuing`, as smki.ca makes them, except
    where an argument spoils it: `entity_id` None (no x500UniqueIdentifier), `role_code` None (no OU),
    another `curve`, a validity window in the past."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    key = ec.generate_private_key(curve or ec.SECP256R1())
    attrs = []
    if role_code is not None:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role_code))
    if entity_id is not None:
        attrs.append(entity_identifier_attribute(entity_id))
    if not attrs:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, "no role, no entity"))
    issuer_key_id = x509.SubjectKeyIdentifier.from_public_key(issuing.cert.public_key()).digest[:8]
    usage = x509.KeyUsage(digital_signature=digital_signature, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=key_agreement, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name(attrs))
            .issuer_name(issuing.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number() >> 32)
            .not_valid_before(not_before or now - timedelta(days=1))
            .not_valid_after(not_after or now + timedelta(days=3650))
            .add_extension(usage, critical=True)
            .add_extension(x509.SubjectKeyIdentifier(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest[:8]), critical=False)
            .add_extension(x509.CertificatePolicies([x509.PolicyInformation(SMKI_POLICY_OID, None)]), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier(issuer_key_id, None, None), critical=False)
            .sign(issuing.key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def _pair(ctx: CertificateContext, **spoil) -> tuple[bytes, bytes]:
    """A digital-signing and a key-agreement certificate for the sender and the slot's role, both
    spoiled the same way."""
    fields = dict(entity_id=ctx.entity_id, role_code=ROLE_CODES[ctx.role]) | spoil
    return (organisation_certificate(ctx.issuing, digital_signature=True, key_agreement=False, **fields),
            organisation_certificate(ctx.issuing, digital_signature=False, key_agreement=True, **fields))


def _expired(ctx: CertificateContext) -> tuple[bytes, bytes]:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return _pair(ctx, not_before=now - timedelta(days=400), not_after=now - timedelta(days=30))


def _both_usages(ctx: CertificateContext) -> tuple[bytes, bytes]:
    fields = dict(entity_id=ctx.entity_id, role_code=ROLE_CODES[ctx.role])
    both = organisation_certificate(ctx.issuing, digital_signature=True, key_agreement=True, **fields)
    return both, organisation_certificate(ctx.issuing, digital_signature=True, key_agreement=True, **fields)


def _two_organisations(ctx: CertificateContext) -> tuple[bytes, bytes]:
    ds, _ = ctx.own_pair
    _, ka = ctx.party_pair("third network operator")
    return ds, ka


def _not_der(ctx: CertificateContext) -> tuple[bytes, bytes]:
    """A real certificate in BER that DER forbids: its outer length in a longer form than needed
    (83 00 01 94 for 82 01 94). Still one SEQUENCE, so that on the DCC's own interface the DSP can
    carry it in the GBCS command (a CS02b holds each certificate as one TLV) and the S1SP, which must
    insist on DER, is the one to refuse it, as on Target Interface v1."""
    ds, ka = ctx.party_pair("third network operator")
    size = ds[1] & 0x7F if ds[1] & 0x80 else 0
    length = int.from_bytes(ds[2:2 + size], "big") if size else ds[1]
    return b"\x30\x83" + length.to_bytes(3, "big") + ds[2 + size:], ka


def _foreign(ctx: CertificateContext) -> tuple[bytes, bytes]:
    return ctx.foreign_smki().issue_organisation(ctx.entity_id, ctx.role).der_pair()


def _swapped(ctx: CertificateContext) -> tuple[bytes, bytes]:
    ds, ka = ctx.own_pair
    return ka, ds


BAD_CERTIFICATES: dict[str, Callable[[CertificateContext], tuple[bytes, bytes]]] = {
    "the registered supplier's certificates": lambda ctx: ctx.party_pair("registered supplier"),
    "its own certificates in swapped key usages": _swapped,
    "certificates from an SMKI the DCC does not know": _foreign,
    "certificates without an Entity Identifier": lambda ctx: _pair(ctx, entity_id=None),
    "certificates without a role code": lambda ctx: _pair(ctx, role_code=None),
    "certificates of the XML-signing role": lambda ctx: _pair(ctx, role_code="87"),
    "certificates on the P-384 curve": lambda ctx: _pair(ctx, curve=ec.SECP384R1()),
    "expired certificates, with time-based checks on": _expired,
    "certificates with both key usages": _both_usages,
    "certificates of two different organisations": _two_organisations,
    "a digital signing certificate that is not DER": _not_der,
}
"""name (as the features write it) -> the (digital signing, key agreement) DER pair to send"""
