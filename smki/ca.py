"""The harness's test SMKI: a root CA, an issuing CA and per-user credentials, ECDSA P-256.

Shaped like the public ZAZ1 test SMKI (``duis/smki/`` in the shared data):

* issuing CA subject ``OU=07, CN=<name>1`` (PrintableString, as the ZAZ1 Organisation
  certificates encode their issuer ``OU=07, CN=Z1``); root ``OU=00, CN=<name>A``;
* end-entity subject ``OU=<role code>`` (UTF8String) then x500UniqueIdentifier (2.5.4.45),
  a BIT STRING holding the 8-byte EUI-64 (``#03090090B3D51F30020000``);
* Key Usage critical (digitalSignature or keyAgreement), Certificate Policies critical
  ``1.2.826.0.1.8641679.1.2.1.4``, 8-byte Subject Key Identifier, Authority Key Identifier
  (key identifier only), ecdsa-with-SHA256, 16-byte positive random serials.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Optional

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from . import inspect as _inspect
from .inspect import (
    DIGITAL_SIGNING,
    KEY_AGREEMENT,
    ORGANISATION_ROLE_CODES,
    ROLE_CODE_ISSUING_CA,
    ROLE_CODE_ROOT_CA,
    ROLE_CODE_XML_SIGNING,
    normalise_eui64,
)
from .names import entity_identifier_attribute, printable_attribute

#: The ZAZ1 certificate policy (critical in every ZAZ1 certificate).
SMKI_POLICY_OID = x509.ObjectIdentifier("1.2.826.0.1.8641679.1.2.1.4")

DEFAULT_VALIDITY = timedelta(days=3650)  # "10 years"
DEFAULT_BACKDATE = timedelta(days=1)

#: DCC user role -> remote party role of the Organisation certificates it holds.
USER_ROLE_TO_REMOTE_PARTY: dict[str, Optional[str]] = {
    "IS": "Supplier",
    "ES": "Supplier",
    "GS": "Supplier",
    "ED": "NetworkOperator",
    "GT": "NetworkOperator",
    "OU": None,
}

_PEM = b"-----BEGIN"


# --------------------------------------------------------------------------- helpers

def _random_serial() -> int:
    """16 random bytes, positive (top bit cleared), never zero."""
    while True:
        n = int.from_bytes(os.urandom(16), "big") & ((1 << 127) - 1)
        if n:
            return n


def _key_id(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """8-byte key identifier (as long as the ZAZ1 ones): leading 64 bits of SHA-1 of the
    subjectPublicKey bits."""
    point = public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return hashlib.sha1(point).digest()[:8]


def _ca_name(ou: str, cn: str) -> x509.Name:
    return x509.Name(
        [
            printable_attribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
            printable_attribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _entity_name(role_code: str, entity_id: str, common_name: str | None = None) -> x509.Name:
    attrs = []
    if common_name:  # Z1-supplier-ds.pem carries CN=GITTESTSUPPLIER first
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))   # UTF8String, the default
    attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role_code))
    attrs.append(entity_identifier_attribute(entity_id))   # BIT STRING (smki/names.py)
    return x509.Name(attrs)


def _key_usage(*, digital_signature=False, key_agreement=False, ca=False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=key_agreement,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _load_key(data: bytes, password: bytes | None = None) -> ec.EllipticCurvePrivateKey:
    if data.lstrip().startswith(_PEM):
        key = serialization.load_pem_private_key(data, password)
    else:
        key = serialization.load_der_private_key(data, password)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"not an EC private key: {type(key).__name__}")
    return key


def _load_cert(data: bytes) -> x509.Certificate:
    if data.lstrip().startswith(_PEM):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


# --------------------------------------------------------------------------- credentials

@dataclass(frozen=True)
class Credential:
    """A private key and its certificate."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    # serialisation
    def key_pem(self) -> bytes:
        """Unencrypted PKCS#8 PEM."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def key_der(self) -> bytes:
        """DER EC private key (SEC1, the format of the ZAZ1 ``*.key`` files)."""
        return self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def cert_der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @classmethod
    def load(
        cls, key_path: str | os.PathLike, cert_path: str | os.PathLike, password: bytes | None = None
    ) -> "Credential":
        """From files; key PEM (PKCS#8 or SEC1) or DER, certificate PEM or DER."""
        return cls.from_bytes(Path(key_path).read_bytes(), Path(cert_path).read_bytes(), password)

    @classmethod
    def from_bytes(cls, key: bytes, cert: bytes, password: bytes | None = None) -> "Credential":
        k, c = _load_key(key, password), _load_cert(cert)
        if k.public_key().public_numbers() != c.public_key().public_numbers():
            raise ValueError("private key does not match the certificate")
        return cls(k, c)

    def save(self, key_path: str | os.PathLike, cert_path: str | os.PathLike) -> None:
        """Key as PKCS#8 PEM, certificate as PEM."""
        Path(key_path).write_bytes(self.key_pem())
        Path(cert_path).write_bytes(self.cert_pem())

    # inspection shortcuts
    @property
    def entity_id(self) -> str:
        return _inspect.entity_id(self.cert)

    @property
    def role_code(self) -> str:
        return _inspect.role_code(self.cert)

    @property
    def usage(self) -> str:
        return _inspect.key_usage(self.cert)

    @property
    def serial_hex(self) -> str:
        return _inspect.serial_hex(self.cert)

    @property
    def sha1_hex(self) -> str:
        return _inspect.sha1_hex(self.cert_der())


@dataclass(frozen=True)
class OrganisationCredentials:
    """A GBCS Organisation certificate pair of one remote party."""

    remote_party_role: str  # "Supplier" | "NetworkOperator"
    digital_signing: Credential
    key_agreement: Credential

    @property
    def entity_id(self) -> str:
        return self.digital_signing.entity_id

    def der_pair(self) -> tuple[bytes, bytes]:
        """(digital signing DER, key agreement DER)."""
        return self.digital_signing.cert_der(), self.key_agreement.cert_der()

    def for_usage(self, usage: str) -> Credential:
        if usage == DIGITAL_SIGNING:
            return self.digital_signing
        if usage == KEY_AGREEMENT:
            return self.key_agreement
        raise ValueError(f"unknown usage {usage!r}")


@dataclass(frozen=True)
class UserCredentials:
    """A DCC User's credentials: XML signing, and Organisation certificates if its roles make
    it a Supplier or a Network Operator."""

    user_id: str
    roles: frozenset[str]
    xml_signing: Credential
    organisation: Optional[OrganisationCredentials]


def remote_party_role_for(roles: Iterable[str]) -> Optional[str]:
    """IS/ES/GS -> "Supplier", ED/GT -> "NetworkOperator", OU only -> None.
    ValueError for unknown roles or a mix of supplier and network-operator roles."""
    found = set()
    for r in roles:
        if r not in USER_ROLE_TO_REMOTE_PARTY:
            raise ValueError(f"unknown user role {r!r}")
        rpr = USER_ROLE_TO_REMOTE_PARTY[r]
        if rpr:
            found.add(rpr)
    if len(found) > 1:
        raise ValueError(f"roles {sorted(roles)} imply both Supplier and NetworkOperator")
    return found.pop() if found else None


# --------------------------------------------------------------------------- the CA

@dataclass
class TestSMKI:
    """Root CA + issuing CA that issue ZAZ1-shaped end-entity credentials."""

    __test__ = False  # not a pytest test class despite the name

    root: Credential
    issuing: Credential
    name: str = "ZT"

    # ------------------------------------------------------------------ creation
    @classmethod
    def generate(
        cls,
        name: str = "ZT",
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> "TestSMKI":
        """New root (``OU=00, CN=<name>A``) and issuing CA (``OU=07, CN=<name>1``)."""
        nb, na = _window(not_before, not_after)
        root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = _ca_name(ROLE_CODE_ROOT_CA, f"{name}A")
        root_ski = _key_id(root_key.public_key())
        root_cert = (
            x509.CertificateBuilder()
            .subject_name(root_name)
            .issuer_name(root_name)
            .public_key(root_key.public_key())
            .serial_number(_random_serial())
            .not_valid_before(nb)
            .not_valid_after(na)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(x509.SubjectKeyIdentifier(root_ski), critical=False)
            .add_extension(x509.CertificatePolicies([x509.PolicyInformation(SMKI_POLICY_OID, None)]), critical=True)
            .sign(root_key, hashes.SHA256())
        )
        root = Credential(root_key, root_cert)

        iss_key = ec.generate_private_key(ec.SECP256R1())
        iss_cert = (
            x509.CertificateBuilder()
            .subject_name(_ca_name(ROLE_CODE_ISSUING_CA, f"{name}1"))
            .issuer_name(root_name)
            .public_key(iss_key.public_key())
            .serial_number(_random_serial())
            .not_valid_before(nb)
            .not_valid_after(na)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.SubjectKeyIdentifier(_key_id(iss_key.public_key())), critical=False)
            .add_extension(x509.CertificatePolicies([x509.PolicyInformation(SMKI_POLICY_OID, None)]), critical=True)
            .add_extension(_aki(root_ski), critical=False)
            .sign(root_key, hashes.SHA256())
        )
        return cls(root=root, issuing=Credential(iss_key, iss_cert), name=name)

    # ------------------------------------------------------------------ issuing
    def _issue(
        self,
        role_code: str,
        entity_id: str,
        *,
        digital_signature: bool,
        key_agreement: bool,
        not_before: datetime | None,
        not_after: datetime | None,
        common_name: str | None = None,
    ) -> Credential:
        nb, na = _window(not_before, not_after)
        key = ec.generate_private_key(ec.SECP256R1())
        iss_ski = _key_id(self.issuing.cert.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_entity_name(role_code, entity_id, common_name))
            .issuer_name(self.issuing.cert.subject)
            .public_key(key.public_key())
            .serial_number(_random_serial())
            .not_valid_before(nb)
            .not_valid_after(na)
            # extension order as in Z1-networkOperator-ds.pem
            .add_extension(
                _key_usage(digital_signature=digital_signature, key_agreement=key_agreement),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier(_key_id(key.public_key())), critical=False)
            .add_extension(x509.CertificatePolicies([x509.PolicyInformation(SMKI_POLICY_OID, None)]), critical=True)
            .add_extension(_aki(iss_ski), critical=False)
            .sign(self.issuing.key, hashes.SHA256())
        )
        return Credential(key, cert)

    def issue_xml_signing(
        self,
        entity_id: str,
        role_code: str = ROLE_CODE_XML_SIGNING,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> Credential:
        """XML-signing credential (subject OU ``87``, or ``89`` for the DSP), digitalSignature."""
        return self._issue(
            role_code, entity_id, digital_signature=True, key_agreement=False,
            not_before=not_before, not_after=not_after,
        )

    def issue_organisation_certificate(
        self,
        entity_id: str,
        remote_party_role: str,
        usage: str,
        *,
        role_code: str | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        common_name: str | None = None,
    ) -> Credential:
        """One Organisation certificate. ``role_code`` overrides the OU the role implies
        (for making deliberately wrong certificates)."""
        if remote_party_role not in ORGANISATION_ROLE_CODES:
            raise ValueError(f"remote_party_role must be one of {sorted(ORGANISATION_ROLE_CODES)}")
        if usage not in (DIGITAL_SIGNING, KEY_AGREEMENT):
            raise ValueError(f"usage must be {DIGITAL_SIGNING!r} or {KEY_AGREEMENT!r}")
        return self._issue(
            role_code or ORGANISATION_ROLE_CODES[remote_party_role], entity_id,
            digital_signature=usage == DIGITAL_SIGNING, key_agreement=usage == KEY_AGREEMENT,
            not_before=not_before, not_after=not_after, common_name=common_name,
        )

    def issue_organisation(
        self,
        entity_id: str,
        remote_party_role: str,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        common_name: str | None = None,
    ) -> OrganisationCredentials:
        """Digital-signing + key-agreement Organisation certificates (OU 02 or 03)."""
        kw = dict(not_before=not_before, not_after=not_after, common_name=common_name)
        return OrganisationCredentials(
            remote_party_role=remote_party_role,
            digital_signing=self.issue_organisation_certificate(entity_id, remote_party_role, DIGITAL_SIGNING, **kw),
            key_agreement=self.issue_organisation_certificate(entity_id, remote_party_role, KEY_AGREEMENT, **kw),
        )

    def issue_user(
        self,
        entity_id: str,
        roles: Iterable[str],
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> UserCredentials:
        """XML-signing credential plus, for supplier (IS/ES/GS) or network-operator (ED/GT)
        roles, the Organisation pair of that remote party role."""
        roles = frozenset(roles)
        rpr = remote_party_role_for(roles)
        user_id = normalise_eui64(entity_id)
        xml = self.issue_xml_signing(user_id, not_before=not_before, not_after=not_after)
        org = (
            self.issue_organisation(user_id, rpr, not_before=not_before, not_after=not_after)
            if rpr
            else None
        )
        return UserCredentials(user_id=user_id, roles=roles, xml_signing=xml, organisation=org)

    # ------------------------------------------------------------------ accessors
    @property
    def root_cert(self) -> x509.Certificate:
        return self.root.cert

    @property
    def issuing_cert(self) -> x509.Certificate:
        return self.issuing.cert

    @property
    def trust_anchors(self) -> list[x509.Certificate]:
        """The certificates a relying party trusts: [issuing CA, root CA]."""
        return [self.issuing.cert, self.root.cert]

    def certification_path(self) -> tuple[bytes, ...]:
        """DER of the CA certificates above an end-entity certificate: (issuing, root)."""
        return (self.issuing.cert_der(), self.root.cert_der())

    # ------------------------------------------------------------------ serialisation
    def to_pem_bundle(self, include_keys: bool = False) -> bytes:
        """Issuing then root CA certificate as PEM; with ``include_keys`` each key (PKCS#8)
        precedes its certificate, which :meth:`from_pem_bundle` reads back."""
        out = b""
        for cred in (self.issuing, self.root):
            if include_keys:
                out += cred.key_pem()
            out += cred.cert_pem()
        return out

    @classmethod
    def from_pem_bundle(cls, data: bytes, name: str | None = None) -> "TestSMKI":
        """Inverse of ``to_pem_bundle(include_keys=True)``."""
        keys = [
            serialization.load_pem_private_key(b, None)
            for b in _pem_blocks(data, b"PRIVATE KEY")
        ]
        certs = x509.load_pem_x509_certificates(data)
        if len(keys) != 2 or len(certs) != 2:
            raise ValueError("bundle must hold two keys and two certificates (issuing, root)")
        issuing, root = Credential(keys[0], certs[0]), Credential(keys[1], certs[1])
        if name is None:
            cn = issuing.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            name = str(cn[0].value)[:-1] if cn else "ZT"
        return cls(root=root, issuing=issuing, name=name)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the bundle with keys to ``path`` (a file)."""
        p = Path(path)
        p.write_bytes(self.to_pem_bundle(include_keys=True))
        return p

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TestSMKI":
        return cls.from_pem_bundle(Path(path).read_bytes())


# --------------------------------------------------------------------------- internals

def _aki(key_id: bytes) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier(
        key_identifier=key_id, authority_cert_issuer=None, authority_cert_serial_number=None
    )


def _window(not_before: datetime | None, not_after: datetime | None) -> tuple[datetime, datetime]:
    """Default: now - 1 day .. now + 10 years. Naive datetimes are UTC. Giving only one end
    keeps the other default unless that would make an empty window (e.g. an expired
    certificate: ``not_after`` in the past), then the other end sits one day away."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    nb = _utc(not_before) if not_before is not None else None
    na = _utc(not_after) if not_after is not None else None
    if nb is None:
        nb = now - DEFAULT_BACKDATE
        if na is not None and na <= nb:
            nb = na - DEFAULT_BACKDATE
    if na is None:
        na = now + DEFAULT_VALIDITY
        if na <= nb:
            na = nb + DEFAULT_BACKDATE
    if na <= nb:
        raise ValueError("not_after must be after not_before")
    return nb, na


def _utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


def _pem_blocks(data: bytes, label_suffix: bytes) -> list[bytes]:
    """PEM blocks whose label ends with ``label_suffix`` (e.g. ``PRIVATE KEY``), in order."""
    blocks, cur = [], None
    for line in data.splitlines(keepends=True):
        s = line.strip()
        if s.startswith(b"-----BEGIN ") and s.endswith(label_suffix + b"-----"):
            cur = [line]
        elif cur is not None:
            cur.append(line)
            if s.startswith(b"-----END "):
                blocks.append(b"".join(cur))
                cur = None
    return blocks
