"""The certificates a run's signatures rest on, as adapters/run_certificates.py keeps them:

    RUN_DIR/certificates/<sha256 of the DER>.pem
    RUN_DIR/certificates/index-<worker>.jsonl   {"holder": "DSP" | EUI-64 | "CA", "usage", "sha256", "worker"}

`read` loads them, checking that each file holds one certificate whose DER hashes to its name (a
replaced certificate does not), and answers which certificate an XML signature's KeyInfo names.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Mapping

from cryptography import x509
from cryptography.hazmat.primitives import serialization

FOLDER = "certificates"
MAX_CERTIFICATE_BYTES = 64 * 1024


def _name_key(name: str) -> str:
    return ",".join(part.strip() for part in name.split(",")).casefold()


@dataclass
class Certificates:
    by_sha256: dict[str, x509.Certificate] = field(default_factory=dict)
    roles: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    """sha256 -> {(holder, usage)}"""

    def named_by(self, issuer: str, serial: int) -> list[tuple[str, x509.Certificate]]:
        """(sha256, certificate) of each certificate with this issuer (RFC 4514, blanks and case aside) and serial."""
        want = _name_key(issuer)
        return [(sha, c) for sha, c in self.by_sha256.items()
                if c.serial_number == serial and _name_key(c.issuer.rfc4514_string()) == want]

    def holders(self, sha256: str) -> str:
        return ", ".join(f"{h} ({u})" for h, u in sorted(self.roles.get(sha256, ()))) or "no holder recorded"

    def held_by(self, holder: str, usage: str) -> list[tuple[str, x509.Certificate]]:
        return [(sha, self.by_sha256[sha]) for sha, roles in self.roles.items()
                if (holder, usage) in roles and sha in self.by_sha256]

    def is_dsp(self, sha256: str) -> bool:
        return any(holder == "DSP" for holder, _ in self.roles.get(sha256, ()))


def read(files: Mapping[str, bytes]) -> tuple[Certificates, list[str]]:
    """The certificates of a run folder's files (a mapping of their paths in it to their bytes)."""
    certs = Certificates()
    problems: list[str] = []
    mine = sorted(n for n in files if n.startswith(f"{FOLDER}/") and n.count("/") == 1)
    for name in (n for n in mine if n.endswith(".pem")):
        data = files[name]
        stem = name[len(FOLDER) + 1:-4]
        if len(data) > MAX_CERTIFICATE_BYTES:
            problems.append(f"{name}: {len(data)} bytes is no certificate")
            continue
        try:
            found = x509.load_pem_x509_certificates(data)
        except ValueError as exc:
            problems.append(f"{name}: not a PEM certificate ({exc})")
            continue
        if len(found) != 1:
            problems.append(f"{name}: holds {len(found)} certificates; expected one")
            continue
        digest = hashlib.sha256(found[0].public_bytes(serialization.Encoding.DER)).hexdigest()
        if digest != stem:
            problems.append(f"{name}: the certificate in it ({found[0].subject.rfc4514_string()}) hashes to {digest}, "
                            "not to its name: the certificate was replaced")
            continue
        certs.by_sha256[digest] = found[0]
    for name in (n for n in mine if n.startswith(f"{FOLDER}/index") and n.endswith(".jsonl")):
        for n, line in enumerate(files[name].decode("utf-8", errors="replace").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                holder, usage, sha = entry["holder"], entry["usage"], entry["sha256"]
            except (ValueError, KeyError, TypeError) as exc:
                problems.append(f"{name} line {n}: not an index entry ({exc})")
                continue
            if sha not in certs.by_sha256 and f"{FOLDER}/{sha}.pem" not in files:
                problems.append(f"{name} line {n}: names certificate {sha} of {holder} ({usage}), "
                                "which is not in the bundle")
            certs.roles.setdefault(sha, set()).add((str(holder), str(usage)))
    return certs, problems
