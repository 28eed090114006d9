"""The exact bytes of every leg of an exchange, as they crossed the wire, for the evidence.

An :class:`adapters.client.Exchange` holds what was sent and what came back; :func:`legs_of` lists
them leg by leg (the request; on the DCC's own interface the transform's answer and the Signed
Pre-Command; the acknowledgement; the outcome), each with its SHA-256, its direction, who signed it
(the EUI-64 User ID its signing certificate names, "DSP" for the DSP's, None when unsigned) and a
copy indented for people to read (duis.wire.for_reading: never the signed bytes). The steps attach
them to the Allure report and hand them to the run folder's wire log (reports/pytest_plugin.py) as
plain data: this module is where the bytes are known; nothing above it parses XML.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from duis import errors, signing, wire
from smki import inspect as cert_inspect

TO_TARGET = "to-target"
FROM_TARGET = "from-target"
DSP = "DSP"


@dataclass(frozen=True)
class WireLeg:
    request_id: str
    leg: str
    """request, transform, signed-pre-command, acknowledgement, outcome"""
    direction: str
    """to-target or from-target"""
    data: bytes
    """the exact bytes sent or received"""
    signer: str | None
    """the EUI-64 User ID named by the signing certificate, "DSP" for the DSP's, None when unsigned; for a
    signature by a certificate the harness does not hold, None, and `signer_unknown` says what it names"""
    signer_certificate: bytes | None = None
    """the signer's certificate (PEM), where the harness holds it"""
    signer_unknown: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def length(self) -> int:
        return len(self.data)

    def readable(self) -> bytes:
        """An indented copy for people to read (the bytes themselves when they are not DUIS)."""
        return wire.for_reading(self.data)

    def index_entry(self) -> dict:
        """One line of RUN_DIR/wire/index*.jsonl (docs/reports.md), but for "scenario", which the run's
        wire log adds (reports/pytest_plugin.py)."""
        entry = {"request_id": self.request_id, "leg": self.leg, "direction": self.direction,
                 "signer": self.signer, "sha256": self.sha256, "length": self.length}
        if self.signer_certificate is not None:
            entry["signer_certificate_sha256"] = hashlib.sha256(self.signer_certificate).hexdigest()
        if self.signer_unknown is not None:
            entry["signer_unknown"] = self.signer_unknown
        return entry


class Signers:
    """The certificates the harness knows a signature by (X509IssuerName, X509SerialNumber): every user
    whose key it signs with, and the DSP's."""

    def __init__(self) -> None:
        self._known: dict[int, list[tuple[x509.Certificate, str]]] = {}

    def know(self, cert: x509.Certificate, who: str | None = None) -> None:
        """`who`: "DSP", or None for the User ID the certificate names (its Entity Identifier)."""
        if cert is None:
            return
        if who is None:
            try:
                who = cert_inspect.entity_id(cert)
            except ValueError:
                return
        entries = self._known.setdefault(cert.serial_number, [])
        if all(c != cert for c, _ in entries):
            entries.append((cert, who))

    def of(self, data: bytes) -> tuple[str | None, bytes | None, str | None]:
        """(signer, certificate PEM, unknown) for a document: see WireLeg."""
        try:
            issuer, serial = signing.signer_issuer_serial(data)
        except (errors.DuisError, ValueError):
            return None, None, None          # unsigned, or not a document whose signature can be read
        for cert, who in self._known.get(serial, ()):
            if signing.issuer_serial_matches(cert, issuer, serial):
                return who, cert.public_bytes(serialization.Encoding.PEM), None
        return None, None, f"{issuer} serial {serial}"


def legs_of(exchange, signers: Signers) -> list[WireLeg]:
    """Every leg of `exchange` (adapters.client.Exchange), in the order they crossed the wire."""
    out: list[WireLeg] = []
    rid = exchange.request_id

    def add(leg: str, direction: str, data: bytes | None, request_id: str = rid) -> None:
        if data is None:
            return
        out.append(WireLeg(request_id, leg, direction, data, *signers.of(data)))

    legs = exchange.legs
    if len(legs) > 1:                     # the DCC's own interface: the transform, then the Signed Pre-Command
        for n, leg in enumerate(legs):
            first = n == 0
            add("request" if first else "signed-pre-command", TO_TARGET, leg.request, leg.request_id)
            add("transform" if first else "acknowledgement", FROM_TARGET, leg.answer, leg.request_id)
    else:
        add("request", TO_TARGET, exchange.request_xml)
        if exchange.ack is not None:
            add("acknowledgement", FROM_TARGET, exchange.ack.xml)
    if exchange.outcome is not None:
        add("outcome", FROM_TARGET, exchange.outcome.xml)
    return out
