"""adapters/run_certificates.py: what a run keeps of the certificates its signatures rest on. Every
party's XML-signing and Organisation certificates, the DSP's and the CAs, each file named by its DER's
SHA-256, indexed by holder and usage; never a private key; what evidence/certificates.py reads back."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from adapters import profile as profiles, run_certificates
from adapters.world import Cast
from evidence import certificates

ROOT = Path(__file__).resolve().parents[1]


class _Target:
    def __init__(self, cert):
        self.dsp_certificate = cert


def _files(folder: Path) -> dict[str, bytes]:
    return {f"{p.parent.name}/{p.name}": p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_generated_cast_and_the_dsp_are_recorded_and_read_back(tmp_path):
    cast = Cast()
    dsp = cast.smki.issue_xml_signing("90-B3-D5-1F-30-00-00-02").cert
    run_certificates.record(tmp_path, cast, _Target(dsp), "gw0")
    files = _files(tmp_path / "certificates")
    assert not any(b"PRIVATE KEY" in data for data in files.values())
    certs, problems = certificates.read(files)
    assert problems == []
    dsp_sha = hashlib.sha256(dsp.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert certs.is_dsp(dsp_sha)
    for party in cast.parties:
        xml = party.credentials.xml_signing.cert
        found = certs.named_by(xml.issuer.rfc4514_string(), xml.serial_number)
        assert found and (party.user_id, "xml-signing") in certs.roles[found[0][0]]
    entries = [json.loads(line) for line in files["certificates/index-gw0.jsonl"].decode().splitlines()]
    assert {e["usage"] for e in entries} == set(run_certificates.USAGES)


def test_a_profiles_own_certificates_are_recorded_as_the_harness_used_them(tmp_path):
    p = profiles.load(ROOT / "profiles" / "foreign-reference.toml")
    cast = p.cast()
    run_certificates.record(tmp_path, cast, _Target(None), "main")
    certs, problems = certificates.read(_files(tmp_path / "certificates"))
    assert problems == []
    supplied = (ROOT / "profiles" / "foreign-reference" / "users" / "90B3D51F30010003-org-ds.pem").read_bytes()
    from cryptography import x509
    der = x509.load_pem_x509_certificate(supplied).public_bytes(serialization.Encoding.DER)
    assert ("90-B3-D5-1F-30-01-00-03", "organisation-digital-signing") in certs.roles[hashlib.sha256(der).hexdigest()]
    assert not any(h == "DSP" for roles in certs.roles.values() for h, _ in roles)   # none given: none recorded
