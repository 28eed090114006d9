"""A detached CMS SignedData (RFC 5652) over the manifest: made with cryptography's PKCS#7 builder,
checked here with asn1crypto (the structure) and cryptography (the signature, the certificate path).

The same file is checked without any project code by

    openssl cms -verify -binary -inform DER -in manifest.p7s -content manifest.json -CAfile CA.pem -out /dev/null

What `verify_detached` checks, as that command does: one SignerInfo; its certificate in the
SignedData; signed attributes present, with content-type id-data and a message-digest equal to the
content's digest; the signature over the DER of the signed attributes; with a CA file, a path from
the signer's certificate (through any other certificate the SignedData carries) to one of the CAs,
valid at the signing time the signature carries (at the time of verifying without one).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from asn1crypto import cms as asn1_cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509 import verification
from cryptography.x509.oid import NameOID

HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}
MAX_SIGNATURE_BYTES = 1_000_000
ONE_OFF_NAME = "mp107 bundle one-off key - integrity only - no identity"


class CmsError(Exception):
    """The signature is not a usable detached CMS SignedData, or does not verify: the message says why."""


@dataclass(frozen=True)
class Signed:
    """What a verified signature says: who signed (their certificate), when they say they did, and
    whether the signer was checked against a CA (trusted) or only against the certificate it carries."""
    certificate: x509.Certificate
    signing_time: dt.datetime | None
    trusted: bool
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def signer(self) -> str:
        return self.certificate.subject.rfc4514_string()


def sign_detached(content: bytes, key, certificate: x509.Certificate,
                  extra_certificates: tuple[x509.Certificate, ...] = ()) -> bytes:
    """DER of a detached SignedData over `content` (SHA-256, signed attributes with the signing time).
    `extra_certificates` (e.g. an intermediate CA) ride along so a verifier can build the path."""
    builder = pkcs7.PKCS7SignatureBuilder().set_data(content).add_signer(certificate, key, hashes.SHA256())
    for cert in extra_certificates:
        builder = builder.add_certificate(cert)
    return builder.sign(serialization.Encoding.DER,
                        [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])


def one_off_signer(now: dt.datetime | None = None) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A fresh P-256 key and a self-signed certificate for it, valid ten years, named for what it is:
    a signature with it proves the files were not changed after signing, and nothing about who
    signed (anyone can make another). The private key is never written anywhere."""
    now = now or dt.datetime.now(dt.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ONE_OFF_NAME)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=3653))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def load_key_and_certificate(key_pem: bytes, cert_pem: bytes, password: bytes | None = None):
    """The signing key and its certificate (PEM or DER each); CmsError if they do not belong together
    or the key is of a kind CMS signing here does not take (EC or RSA)."""
    try:
        key = (serialization.load_pem_private_key(key_pem, password) if b"-----BEGIN" in key_pem
               else serialization.load_der_private_key(key_pem, password))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise CmsError(f"the signing key is not a readable private key: {exc}") from None
    certs = load_certificates(cert_pem, "the signing certificate")
    cert, extra = certs[0], tuple(certs[1:])
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise CmsError(f"the signing key is a {type(key).__name__}; expected an EC or RSA key")
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        raise CmsError(f"the signing key is not the key of the certificate {cert.subject.rfc4514_string()}")
    return key, cert, extra


def load_certificates(data: bytes, what: str) -> list[x509.Certificate]:
    try:
        certs = (x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data
                 else [x509.load_der_x509_certificate(data)])
    except ValueError as exc:
        raise CmsError(f"{what} holds no readable X.509 certificate: {exc}") from None
    if not certs:
        raise CmsError(f"{what} holds no certificate")
    return certs


def _signed_attributes(signer_info) -> dict:
    attrs = signer_info["signed_attrs"]
    if not len(attrs):
        raise CmsError("the SignerInfo has no signed attributes (RFC 5652 5.3: they carry the content's digest)")
    out: dict = {}
    for attr in attrs:
        name = attr["type"].native
        if name in out:
            raise CmsError(f"the signed attribute {name} appears twice")
        values = attr["values"]
        if len(values) != 1:
            raise CmsError(f"the signed attribute {name} has {len(values)} values; expected one")
        out[name] = values[0]
    return out


def _check_signature(cert: x509.Certificate, signer_info, signed: bytes, hash_cls) -> None:
    algo = signer_info["signature_algorithm"].signature_algo
    signature = signer_info["signature"].native
    public = cert.public_key()
    try:
        if isinstance(public, ec.EllipticCurvePublicKey) and algo == "ecdsa":
            public.verify(signature, signed, ec.ECDSA(hash_cls()))
        elif isinstance(public, rsa.RSAPublicKey) and algo == "rsassa_pkcs1v15":
            public.verify(signature, signed, padding.PKCS1v15(), hash_cls())
        elif isinstance(public, rsa.RSAPublicKey) and algo == "rsassa_pss":
            public.verify(signature, signed, padding.PSS(padding.MGF1(hash_cls()), padding.PSS.AUTO), hash_cls())
        else:
            raise CmsError(f"signature algorithm {algo} with a {type(public).__name__} is not supported")
    except InvalidSignature:
        raise CmsError("the signature over the signed attributes does not verify with the signer's certificate "
                       f"({cert.subject.rfc4514_string()})") from None


def verify_detached(signature: bytes, content: bytes, ca_certificates: list[x509.Certificate] | None = None,
                    *, at: dt.datetime | None = None) -> Signed:
    """Check a detached SignedData over `content`; CmsError naming the first thing wrong.
    Without `ca_certificates` the signer is checked against its own certificate only (`trusted` False)."""
    if len(signature) > MAX_SIGNATURE_BYTES:
        raise CmsError(f"the signature file is {len(signature)} bytes; a manifest signature is a few KB")
    try:
        info = asn1_cms.ContentInfo.load(signature, strict=True)
        if info["content_type"].native != "signed_data":
            raise CmsError(f"the file is a CMS {info['content_type'].native}, not a SignedData")
        signed_data = info["content"]
        encap = signed_data["encap_content_info"]
        if encap["content_type"].native != "data":
            raise CmsError(f"the signed content type is {encap['content_type'].native}, not id-data")
        if encap["content"].native is not None:
            raise CmsError("the SignedData carries its content: expected a detached signature over manifest.json")
        certs = [x509.load_der_x509_certificate(c.chosen.dump()) for c in signed_data["certificates"]
                 if c.name == "certificate"]
        infos = list(signed_data["signer_infos"])
    except CmsError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise CmsError(f"not a DER CMS SignedData: {exc}") from None
    if len(infos) != 1:
        raise CmsError(f"the SignedData has {len(infos)} signers; expected exactly one")
    signer_info = infos[0]
    sid = signer_info["sid"]
    if sid.name == "issuer_and_serial_number":
        issuer_der, serial = sid.chosen["issuer"].dump(), sid.chosen["serial_number"].native
        mine = [c for c in certs if c.serial_number == serial and c.issuer.public_bytes() == issuer_der]
    else:
        key_id = sid.chosen.native
        mine = [c for c in certs if _ski(c) == key_id]
    if len(mine) != 1:
        raise CmsError("the signer's certificate is not in the SignedData" if not mine
                       else "the signer identifier matches more than one certificate")
    cert = mine[0]
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    if digest_name not in HASHES:
        raise CmsError(f"digest algorithm {digest_name} is not accepted (SHA-256, -384 or -512)")
    hash_cls = HASHES[digest_name]
    attrs = _signed_attributes(signer_info)
    if "content_type" not in attrs or attrs["content_type"].native != "data":
        raise CmsError("the signed content-type attribute is missing or not id-data")
    if "message_digest" not in attrs:
        raise CmsError("the signed message-digest attribute is missing")
    h = hashes.Hash(hash_cls())
    h.update(content)
    if attrs["message_digest"].native != h.finalize():
        raise CmsError("the manifest's digest is not the one that was signed: manifest.json was changed after signing")
    signed_attrs = signer_info["signed_attrs"].dump()
    _check_signature(cert, signer_info, b"\x31" + signed_attrs[1:], hash_cls)   # [0] IMPLICIT -> SET OF
    signing_time = attrs["signing_time"].native if "signing_time" in attrs else None
    if ca_certificates is None:
        return Signed(cert, signing_time, trusted=False)
    when = at or signing_time or dt.datetime.now(dt.timezone.utc)
    others = [c for c in certs if c is not cert]
    try:
        verifier = (verification.PolicyBuilder().store(verification.Store(ca_certificates)).time(when)
                    .extension_policies(ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
                                        ee_policy=verification.ExtensionPolicy.permit_all())
                    .build_client_verifier())
        chain = verifier.verify(cert, others).chain
    except verification.VerificationError as exc:
        raise CmsError(f"the signer {cert.subject.rfc4514_string()} does not chain to the given CA file "
                       f"at {when.isoformat(timespec='seconds')}: {exc}") from None
    return Signed(cert, signing_time, trusted=True, chain=tuple(chain))


def _ski(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None
