"""The certificates a run's signatures were made and checked with, kept in the run folder so that
its evidence can be re-verified later by someone who has only the folder (`mp107 bundle`,
`mp107 verify-bundle`; evidence/certificates.py reads what this writes).

Under `mp107 run` each pytest process (each xdist worker hosts its own reference and makes its own
cast) writes, once, when its cast is made:

    RUN_DIR/certificates/<sha256 of the DER>.pem      one certificate, PEM
    RUN_DIR/certificates/index-<worker>.jsonl         one JSON object a certificate:
        {"holder": "DSP" | a user's EUI-64 | "CA", "usage": one of USAGES, "sha256": ..., "worker": ...}

Only certificates: never a private key. A certificate the target's profile names (its DSP's, a
user's) is recorded as the harness used it; those the harness SMKI issued are recorded the same way.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

FOLDER = "certificates"
USAGES = ("dsp-xml-signing", "xml-signing", "organisation-digital-signing", "organisation-key-agreement",
          "certification-path", "trust-anchor")


def _der(cert) -> bytes:
    if isinstance(cert, x509.Certificate):
        return cert.public_bytes(serialization.Encoding.DER)
    return bytes(cert)


def entries(cast, target) -> list[tuple[str, str, bytes]]:
    """(holder, usage, DER) of every certificate the run's signatures rest on: the DSP's (what the
    harness verifies every answer with), each user's XML-signing and Organisation certificates, and
    the CAs above them."""
    out: list[tuple[str, str, bytes]] = []
    dsp = getattr(target, "dsp_certificate", None)
    if isinstance(dsp, x509.Certificate):
        out.append(("DSP", "dsp-xml-signing", _der(dsp)))
    for party in cast.parties:
        out.append((party.user_id, "xml-signing", _der(party.credentials.xml_signing.cert)))
        try:
            ds, ka = party.certificate_pair()
        except ValueError:              # a party holding no Organisation certificates (ES, OU)
            continue
        out.append((party.user_id, "organisation-digital-signing", ds))
        out.append((party.user_id, "organisation-key-agreement", ka))
    for der in cast.certification_path():
        out.append(("CA", "certification-path", der))
    for cert in cast.smki.trust_anchors:
        out.append(("CA", "trust-anchor", _der(cert)))
    return out


def record(run_dir: Path, cast, target, worker: str) -> Path:
    """Write the run's certificates into RUN_DIR/certificates (see the module's docstring); the index path."""
    folder = Path(run_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    seen: set[tuple[str, str, str]] = set()
    lines = []
    for holder, usage, der in entries(cast, target):
        digest = hashlib.sha256(der).hexdigest()
        if (holder, usage, digest) in seen:
            continue
        seen.add((holder, usage, digest))
        path = folder / f"{digest}.pem"
        if not path.exists():
            pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
            tmp = path.with_name(f".{digest}.{os.getpid()}.tmp")
            tmp.write_bytes(pem)
            os.replace(tmp, path)       # workers may write the same certificate at once: never half a file
        lines.append(json.dumps({"holder": holder, "usage": usage, "sha256": digest, "worker": worker}))
    index = folder / f"index-{worker}.jsonl"
    index.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return index
