"""XML signatures on DUIS messages (signxml).

The profile is the one real DUIS traffic shows (DCC Boxed's responses, the DUIS templates):
an enveloped ``ds:Signature`` as the last child of the document element, ``Reference URI=""``,
SignedInfo canonicalised with exclusive c14n (``http://www.w3.org/2001/10/xml-exc-c14n#``),
``ecdsa-sha256``, ``sha256`` digest, and ``KeyInfo/X509Data/X509IssuerSerial`` (issuer name and
decimal serial of the signer's certificate) instead of the embedded certificate.

Two shapes of the reference:

* top-level documents (``Request``, ``Response``) carry only the enveloped-signature Transform,
  exactly like the samples; the XMLDSig rules then canonicalise the referenced document with
  inclusive Canonical XML 1.0, which is what DCC Boxed's Java signer digests;
* nested signatures (``SMETS1SignedResponse``, ``S1SPAlert``, signed standalone and then grafted
  into a ``Response``) also list an explicit exclusive-c14n Transform, so their digest does not
  depend on the namespace declarations of the document they are grafted into.

:func:`verify` checks the top-level signature only (``location="./"``), whatever its shape.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConfiguration,
    SignatureConstructionMethod,
    SignatureMethod,
    XMLSigner,
    XMLVerifier,
)
from signxml.exceptions import SignXMLException

from . import safexml, wire
from .errors import DuisValueError, SignatureInvalid

__all__ = [
    "DS_NS",
    "Signer",
    "load_private_key",
    "load_certificate",
    "issuer_serial_of",
    "issuer_serial_matches",
    "sign",
    "verify",
    "signer_issuer_serial",
    "has_signature",
]

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
_DS = f"{{{DS_NS}}}"


def load_private_key(data: bytes) -> ec.EllipticCurvePrivateKey:
    """An EC private key from DER (as the ZAZ1 ``*.key`` files) or PEM bytes."""
    key = None
    errors = []
    for loader in (serialization.load_der_private_key, serialization.load_pem_private_key):
        try:
            key = loader(data, password=None)
            break
        except (ValueError, TypeError) as exc:
            errors.append(str(exc))
    if key is None:
        raise DuisValueError(f"expected an unencrypted EC private key in DER or PEM, got unreadable bytes ({errors[-1]})")
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise DuisValueError(f"expected an EC private key, got {type(key).__name__}")
    return key


def load_certificate(data: bytes) -> x509.Certificate:
    """An X.509 certificate from PEM or DER bytes."""
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise DuisValueError(f"expected an X.509 certificate in PEM or DER, got unreadable bytes ({exc})") from None


def issuer_serial_of(cert: x509.Certificate) -> tuple[str, int]:
    """(issuer name as RFC 4514, e.g. ``CN=Z1,OU=07``; serial number) of ``cert``."""
    return cert.issuer.rfc4514_string(), cert.serial_number


def _norm_name(name: str) -> str:
    return ",".join(part.strip() for part in name.split(",")).casefold()


def issuer_serial_matches(cert: x509.Certificate, issuer: str, serial: int) -> bool:
    """True if ``cert`` has this serial and issuer (issuer compared ignoring blanks after commas and case)."""
    cert_issuer, cert_serial = issuer_serial_of(cert)
    return cert_serial == serial and _norm_name(cert_issuer) == _norm_name(issuer)


@dataclass(frozen=True)
class Signer:
    """An XML-signing identity: EC private key and its X.509 certificate."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    def __post_init__(self) -> None:
        if not isinstance(self.key, ec.EllipticCurvePrivateKey):
            raise DuisValueError(f"expected an EC private key, got {type(self.key).__name__}")
        if not isinstance(self.cert, x509.Certificate):
            raise DuisValueError(f"expected an x509.Certificate, got {type(self.cert).__name__}")
        fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        if self.key.public_key().public_bytes(*fmt) != self.cert.public_key().public_bytes(*fmt):
            raise DuisValueError(
                "expected the private key of the given certificate, got a key whose public key differs from "
                f"the certificate's (certificate serial {self.cert.serial_number})"
            )

    @classmethod
    def from_bytes(cls, key: bytes, cert: bytes) -> "Signer":
        return cls(load_private_key(key), load_certificate(cert))

    @classmethod
    def from_files(cls, key_path: str | Path, cert_path: str | Path) -> "Signer":
        return cls.from_bytes(Path(key_path).read_bytes(), Path(cert_path).read_bytes())

    @property
    def issuer_serial(self) -> tuple[str, int]:
        return issuer_serial_of(self.cert)


class _DuisSigner(XMLSigner):
    """signxml's enveloped signer, with the reference digested by inclusive C14N 1.0 for top-level
    documents whose Reference lists only the enveloped-signature transform (the samples' shape)."""

    def __init__(self, *, explicit_exc_c14n_transform: bool):
        super().__init__(
            method=SignatureConstructionMethod.enveloped,
            signature_algorithm=SignatureMethod.ECDSA_SHA256,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        self._explicit = explicit_exc_c14n_transform

    def _tostring(self, xml_node, **kwargs):  # signxml hook: how it copies the element it signs
        # lxml's default encoding is ASCII, which writes a comment's non-ASCII character (the < > of
        # a refusal's reason, as U+2039 U+203A) as the literal text "&#8249;": comments hold no references
        return super()._tostring(xml_node, **{"encoding": "UTF-8", **kwargs})

    def _unpack(self, data, references):  # noqa: D401 - signxml hook
        sig_root, doc_root, c14n_inputs, refs = super()._unpack(data, references)
        if not self._explicit:
            refs = [replace(r, c14n_method=CanonicalizationMethod.CANONICAL_XML_1_0) for r in refs]
        return sig_root, doc_root, c14n_inputs, refs


@functools.lru_cache(maxsize=256)
def _signer_names(cert: x509.Certificate) -> tuple[str, str]:
    """(issuer name, decimal serial) of a signing certificate, written once per certificate."""
    issuer, serial = issuer_serial_of(cert)
    return issuer, str(serial)


def _key_info(cert: x509.Certificate) -> etree._Element:
    issuer, serial = _signer_names(cert)
    key_info = etree.Element(_DS + "KeyInfo", nsmap={"ds": DS_NS})
    x509_data = etree.SubElement(key_info, _DS + "X509Data")
    issuer_serial = etree.SubElement(x509_data, _DS + "X509IssuerSerial")
    etree.SubElement(issuer_serial, _DS + "X509IssuerName").text = issuer
    etree.SubElement(issuer_serial, _DS + "X509SerialNumber").text = serial
    return key_info


def _root_of(xml: bytes | etree._Element) -> etree._Element:
    if isinstance(xml, etree._Element):
        return xml
    return safexml.parse(xml)


def _top_level_signatures(root: etree._Element) -> list[etree._Element]:
    return [child for child in root if child.tag == _DS + "Signature"]


def sign_element(root: etree._Element, signer: Signer, *, nested: bool = False,
                 in_place: bool = False) -> etree._Element:
    """Sign ``root`` (a document element) in the wire form; return a new signed element. Any top-level
    ``ds:Signature`` already there (e.g. a template's placeholder) is replaced, and whitespace-only text
    between elements is dropped before signing (:func:`duis.wire.compact`): the DCC's signing tool
    drops it before it digests, so a signature over it would fail there (SPEC §5, wire form).

    ``in_place``: ``root`` is the caller's own throw-away tree (just built): it is handed to signxml
    as it is, without the copy made here otherwise (signxml copies what it signs itself)."""
    if not isinstance(signer, Signer):
        raise DuisValueError(f"expected a duis.signing.Signer, got {type(signer).__name__}")
    if in_place and root.getparent() is None:
        doc = root
    else:
        doc = etree.fromstring(etree.tostring(root, encoding="UTF-8"), parser=safexml._parser())
    for old in _top_level_signatures(doc):
        doc.remove(old)  # lxml drops its tail too; the preceding whitespace goes with compact
    wire.compact(doc)
    try:
        return _DuisSigner(explicit_exc_c14n_transform=nested).sign(
            doc,
            key=signer.key,
            key_info=_key_info(signer.cert),
            exclude_c14n_transform_element=not nested,
        )
    except SignXMLException as exc:  # pragma: no cover - only on signxml misuse
        raise SignatureInvalid(f"expected to sign the document, signxml refused: {exc}") from exc


def sign(xml: bytes | etree._Element, signer: Signer) -> bytes:
    """Enveloped-sign a DUIS document (see module docstring) in the wire form; return the signed XML
    bytes, to be sent as they are."""
    signed = sign_element(_root_of(xml), signer)
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


_VERIFY_CONFIG = SignatureConfiguration(
    location="./",  # the signature of *this* document, not a nested one
    expect_references=1,
    signature_methods=frozenset({SignatureMethod.ECDSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
    # XMLDSig: a reference whose transforms end in a node-set is canonicalised with C14N 1.0.
    default_reference_c14n_method=CanonicalizationMethod.CANONICAL_XML_1_0,
)


def has_signature(xml: bytes | etree._Element) -> bool:
    """True if the document element has a ``ds:Signature`` child."""
    return bool(_top_level_signatures(_root_of(xml)))


def verify(xml: bytes | etree._Element, cert: x509.Certificate) -> bytes:
    """Verify the document's own (top-level, enveloped) signature against ``cert``.

    Returns the signed bytes (the canonical form of what the signature covers). Raises
    :class:`SignatureInvalid` saying why if the signature is absent, not ecdsa-sha256/sha256,
    made with another key, or does not match the content.
    """
    if not isinstance(cert, x509.Certificate):
        raise DuisValueError(f"expected an x509.Certificate to verify with, got {type(cert).__name__}")
    root = _root_of(xml)
    _nothing_outside(root)
    signatures = _top_level_signatures(root)
    if not signatures:
        raise SignatureInvalid(
            f"expected an enveloped ds:Signature as a child of {etree.QName(root).localname}, got none"
        )
    if len(signatures) > 1:
        raise SignatureInvalid(f"expected one ds:Signature on {etree.QName(root).localname}, got {len(signatures)}")
    # The signature must cover the document itself: one Reference, URI="" (enveloped). Otherwise a
    # signature over something else (a ds:Object holding a harmless request) "verifies" while the
    # request around it is unsigned: signature wrapping.
    references = signatures[0].findall(f"{_DS}SignedInfo/{_DS}Reference")
    if len(references) != 1 or references[0].get("URI") != "":
        got = [r.get("URI") for r in references]
        raise SignatureInvalid(f'expected one ds:Reference with URI="" (the whole {etree.QName(root).localname}, '
                               f"enveloped), got references {got}")
    issuer, serial = issuer_serial_of(cert)
    try:
        result = XMLVerifier().verify(root, x509_cert=cert, expect_config=_VERIFY_CONFIG)
    except SignXMLException as exc:
        raise SignatureInvalid(
            f"expected a signature by the certificate {issuer} serial {serial} over this content, "
            f"got one that does not verify: {type(exc).__name__}: {exc or 'mismatch'}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - malformed base64, unknown algorithm URI, invalid ds: markup...
        # Whatever goes wrong, a signature that cannot be checked is not a valid signature.
        raise SignatureInvalid(
            f"expected a well-formed ecdsa-sha256 XML signature, got one that cannot be checked: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    signed = result.signed_xml
    if signed is None or etree.QName(signed).localname != etree.QName(root).localname:
        raise SignatureInvalid(f"expected the signature to cover the {etree.QName(root).localname} itself, got one "
                               f"over {etree.QName(signed).localname if signed is not None else 'nothing'}")
    return result.signed_data


def _nothing_outside(root: etree._Element) -> None:
    """Refuse a processing instruction or comment before or after the document element. Reference
    URI="" covers the whole document: processing instructions outside the root are part of it (xmlsec1
    digests them), comments are left out of it by definition; signxml checks the document element
    alone, so either would ride along unsigned. Only the XML declaration may stand outside."""
    for where, nodes in (("before", root.itersiblings(preceding=True)), ("after", root.itersiblings())):
        for node in nodes:
            if isinstance(node, etree._ProcessingInstruction):
                what = f"a processing instruction <?{node.target} ...?>"
            elif isinstance(node, etree._Comment):
                what = "a comment"
            else:
                what = f"a {type(node).__name__.lstrip('_')}"
            raise SignatureInvalid(
                f"expected nothing outside the signed {etree.QName(root).localname} but the XML declaration, got "
                f"{what} {where} it, which the signature (Reference URI=\"\", the document element) does not cover")


def signer_issuer_serial(xml: bytes | etree._Element) -> tuple[str, int]:
    """(X509IssuerName, X509SerialNumber) from the top-level signature's KeyInfo (not verified)."""
    root = _root_of(xml)
    signatures = _top_level_signatures(root)
    if not signatures:
        raise SignatureInvalid(
            f"expected an enveloped ds:Signature as a child of {etree.QName(root).localname}, got none"
        )
    issuer_serial = signatures[0].find(f"{_DS}KeyInfo/{_DS}X509Data/{_DS}X509IssuerSerial")
    if issuer_serial is None:
        raise SignatureInvalid("expected KeyInfo/X509Data/X509IssuerSerial in the signature, got none")
    issuer = (issuer_serial.findtext(_DS + "X509IssuerName") or "").strip()
    serial_text = (issuer_serial.findtext(_DS + "X509SerialNumber") or "").strip()
    if not issuer or not serial_text.isdigit():
        raise SignatureInvalid(
            f"expected X509IssuerName and a decimal X509SerialNumber, got {issuer!r} and {serial_text!r}"
        )
    return issuer, int(serial_text)
