"""The manifest's signature (evidence/cms.py) and the profile's redaction (evidence/redact.py), without a
suite run: a detached CMS SignedData that openssl and the harness both accept from the right CA and
refuse over changed content or from another CA; a one-off key gives integrity, never trust; no
private-key path survives in a profile handed over."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from evidence import cms, redact

ROOT = Path(__file__).resolve().parents[1]


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test assurance"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str = "Test evidence CA"):
    """A CA and a document-signing certificate it issued (what an organisation's PKI would give)."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=365))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(f"{cn} signer")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return ca, key, cert


def write_pki(folder: Path, cn: str = "Test evidence CA") -> tuple[Path, Path, Path]:
    """(CA file, signing key, signing certificate) as PEM files in `folder`."""
    ca, key, cert = make_ca(cn)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "signer.key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                              serialization.PrivateFormat.PKCS8,
                                                              serialization.NoEncryption()))
    (folder / "signer.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return folder / "ca.pem", folder / "signer.key.pem", folder / "signer.pem"


def openssl_verify(folder: Path, content: bytes, signature: bytes, ca: Path | None) -> subprocess.CompletedProcess:
    """README's command, run as an auditor would: openssl alone, on the two files."""
    (folder / "manifest.json").write_bytes(content)
    (folder / "manifest.p7s").write_bytes(signature)
    trust = ["-CAfile", str(ca)] if ca is not None else ["-noverify"]
    return subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", "manifest.p7s",
                           "-content", "manifest.json", *trust, "-purpose", "any", "-out", "/dev/null"],
                          cwd=folder, capture_output=True, text=True, timeout=60)


def needs_openssl(test):
    """The test runs README's openssl command: skipped without openssl, unless MP107_REQUIRE_OPENSSL=1 (as
    .ci/run sets it; then it fails, so that CI cannot go green without having looked; scripts/install-deps.sh
    installs it)."""
    import functools

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        if shutil.which("openssl") is None:
            message = "the openssl command is not installed (apt-get install openssl; scripts/install-deps.sh)"
            if os.environ.get("MP107_REQUIRE_OPENSSL") == "1":
                pytest.fail(message)
            pytest.skip(message)
        return test(*args, **kwargs)
    return wrapper


def test_a_signature_from_the_ca_verifies_here_and_changed_content_or_another_ca_does_not():
    ca, key, cert = make_ca()
    other_ca, _, _ = make_ca("Another CA")
    content = b'{"files": {}}\n'
    signature = cms.sign_detached(content, key, cert)
    signed = cms.verify_detached(signature, content, [ca])
    assert signed.trusted and signed.certificate == cert and signed.signing_time is not None
    with pytest.raises(cms.CmsError, match="changed after signing"):
        cms.verify_detached(signature, content + b" ", [ca])
    with pytest.raises(cms.CmsError, match="does not chain to the given CA"):
        cms.verify_detached(signature, content, [other_ca])
    assert cms.verify_detached(signature, content, None).trusted is False
    with pytest.raises(cms.CmsError, match="not a DER CMS SignedData"):
        cms.verify_detached(b"\x30\x03\x02\x01\x00", content, [ca])


@needs_openssl
def test_openssl_cms_verify_accepts_the_signature_and_refuses_changed_content_or_another_ca(tmp_path):
    ca_file, key_file, cert_file = write_pki(tmp_path / "pki")
    other_ca, _, _ = write_pki(tmp_path / "other", "Another CA")
    key, cert, extra = cms.load_key_and_certificate(key_file.read_bytes(), cert_file.read_bytes())
    content = b'{"files": {"run/verdict.json": {}}}\n'
    signature = cms.sign_detached(content, key, cert, extra)
    ok = openssl_verify(tmp_path, content, signature, ca_file)
    assert ok.returncode == 0 and "Verification successful" in ok.stderr, ok.stderr
    changed = openssl_verify(tmp_path, content.replace(b"verdict", b"vERdict"), signature, ca_file)
    assert changed.returncode != 0 and "Verification failure" in changed.stderr
    untrusted = openssl_verify(tmp_path, content, signature, other_ca)
    assert untrusted.returncode != 0


def test_a_one_off_key_proves_integrity_and_is_trusted_by_no_ca():
    ca, _, _ = make_ca()
    key, cert = cms.one_off_signer()
    content = b"manifest"
    signature = cms.sign_detached(content, key, cert)
    assert cms.verify_detached(signature, content).trusted is False
    with pytest.raises(cms.CmsError, match="does not chain"):
        cms.verify_detached(signature, content, [ca])
    assert "integrity only" in cert.subject.rfc4514_string()


def test_a_key_that_is_not_the_certificates_is_refused():
    _, key, _ = make_ca()
    _, _, cert = make_ca("Other")
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(cms.CmsError, match="not the key of the certificate"):
        cms.load_key_and_certificate(pem, cert.public_bytes(serialization.Encoding.PEM))


@pytest.mark.parametrize("name", ["foreign-reference.toml", "reference-tls.toml", "dcc-boxed.toml", "zaz1.toml"])
def test_a_profile_handed_over_names_no_private_key_and_keeps_the_rest(name):
    text = (ROOT / "profiles" / name).read_text(encoding="utf-8")
    out = redact.profile(text)
    original, redacted = tomllib.loads(text), tomllib.loads(out)
    keys = redact._key_values(original, [])
    assert keys, f"{name} names no private key: the test proves nothing"
    for path in keys:
        assert path not in out, f"{path} survived"
    assert ".key" not in out.replace("(removed)", "")
    assert redacted.get("statement") == original.get("statement")
    assert redacted.get("target") == original.get("target")
    assert len(out.splitlines()) == len(text.splitlines())      # comments and layout kept


def test_a_private_key_path_the_redaction_cannot_reach_stops_the_hand_over():
    text = 'key = """\nusers/secret.key.pem"""\n'      # a multi-line string the line-wise pass does not see
    with pytest.raises(redact.RedactionError):
        redact.profile(text)
