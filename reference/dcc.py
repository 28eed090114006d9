"""The reference DCC: one DSP, three S1SPs, SMETS2 devices, Registration Data, the Smart Metering
Inventory and users. `handle_service_request` is the whole Target Interface (SPEC §5) in-process;
the `load_*`/`set_*`/`reset` methods are its test-support API."""
from __future__ import annotations

import functools

import logging
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from typing import Mapping

from cryptography import x509
from lxml import etree

from duis import codec, safexml, signing
from smki import TestSMKI

from . import config as cfg, defects
from .anchor_slots import slot_from_pair
from .critical import CriticalFlow
from .dsp import DSP, Verdict
from .inventory import Device, SmartMeteringInventory
from .latency import OutcomeDelay
from .outbox import Outbox
from .registration import Registration, RegistrationData
from .rules import Context
from .s1sp import S1SP
from .smets2 import Smets2Devices
from .users import User, UserDirectory

log = logging.getLogger(__name__)

DSP_USER_ID = "90-B3-D5-1F-30-00-00-02"
"""The DSP's EUI-64, as in DCC Boxed's DSP XML-signing certificate."""

# Reference-defined codes (docs/reference.md) for a request that the DSP accepted (I99) but whose
# processing raised inside the DCC: the user still gets a signed final answer, never a lost outcome.
S1VE_FAILED_IN_DCC = "S1VE99"
"""S1SPAlertCode of the S1SP alert that ends a SMETS1 request whose processing failed inside the DCC."""
E_FAILED_IN_DCC = "E100"
"""ResponseCode (one of DUIS Schema V5.4's) of the final Response that ends a SMETS2 request whose
processing failed inside the DCC (and a SMETS1 one whose S1SP could not even sign its alert)."""


class ReferenceDCC:
    """`dsp_signer`: the DSP's response-signing key and certificate (default: fresh ones from an SMKI
    of its own, made at each start). `code_table`: SPEC code -> the code this DCC emits instead (a
    target whose code table differs, SPEC §2); applied where codes become XML, see `emit_code`."""

    def __init__(self, config: cfg.ReferenceConfig | None = None, *, data_dir: Path | str | None = None,
                 dsp_signer: signing.Signer | None = None, code_table: Mapping[str, str] | None = None) -> None:
        self.config = config or cfg.ReferenceConfig()
        self.code_table: dict[str, str] = dict(code_table or {})
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="mp107-reference-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.users = UserDirectory()
        self.inventory = SmartMeteringInventory()
        self.registrations = RegistrationData()
        self.outbox = Outbox()
        self._latency = OutcomeDelay(self.config.outcome_delay)
        self.smets2 = Smets2Devices()
        # The DCC's own signing credentials, from an SMKI of its own.
        self._smki = TestSMKI.generate(name="ZD")
        if dsp_signer is None:
            dsp_cred = self._smki.issue_xml_signing(DSP_USER_ID, role_code="89")
            dsp_signer = signing.Signer(dsp_cred.key, dsp_cred.cert)
        self.dsp_signer = dsp_signer
        self.s1sps: dict[str, S1SP] = {}
        for n, name in enumerate(cfg.S1SPS, start=1):
            cred = self._smki.issue_xml_signing(f"90-B3-D5-1F-30-00-01-0{n}", role_code="89")
            self.s1sps[name] = S1SP(name, self.data_dir / f"{name.lower()}.sqlite",
                                    signing.Signer(cred.key, cred.cert), emit_code=self.emit_code)
        self._workers = {name: ThreadPoolExecutor(1, thread_name_prefix=name) for name in [*self.s1sps, "SMETS2"]}
        self.dsp = DSP(self)
        self.critical = CriticalFlow(self)
        """The DCC's own interface (serviceT / serviceS / serviceD): the Critical flow's bookkeeping."""

    # --- certificates a user of this DCC needs -------------------------------------------------

    @property
    def dsp_certificate(self) -> x509.Certificate:
        return self.dsp_signer.cert

    def s1sp_certificate(self, name: str) -> x509.Certificate:
        return self.s1sps[name].signer.cert

    # --- codes on the wire ----------------------------------------------------------------------
    #
    # Inside, the reference speaks SPEC codes (rules.py, codes.py, Verdict.code). A code becomes
    # XML in exactly two places, and the code table is applied there and nowhere else:
    #   1. `sign_response`: every Response the DSP sends (acknowledgement, refusal of unreadable or
    #      oversized input, final outcome) passes through it to get the DSP's signature; it rewrites
    #      the header's ResponseCode first.
    #   2. the S1SP's alert (S1SP.process): the S1SP signs its S1SPAlert itself, nested inside the
    #      Response, so its S1SPAlertCode cannot be rewritten afterwards; the S1SP asks `emit_code`.
    # A mapped ResponseCode outside DUIS's enumeration (e.g. E004) makes the Response invalid
    # against DUIS Schema V5.4, exactly as a DCC with its own code table would send it.

    def emit_code(self, code: str) -> str:
        """The code this DCC puts on the wire for the SPEC code `code` (unchanged if not in the table)."""
        return self.code_table.get(code, code)

    def sign_response(self, unsigned: bytes) -> bytes:
        """The DSP's signature over a Response it sends, after mapping the header's ResponseCode."""
        if self.config.defects:
            return self._sign_response_as_mistaken(unsigned)
        if not self.code_table:
            return signing.sign(unsigned, self.dsp_signer)
        root = safexml.parse(unsigned)
        element = root.find(f"{{{codec.SR_NS}}}Header/{{{codec.SR_NS}}}ResponseCode")
        if element is not None and element.text:
            element.text = self.emit_code(element.text.strip())
        return signing.sign(root, self.dsp_signer)

    def _sign_response_as_mistaken(self, unsigned: bytes) -> bytes:
        """sign_response as a DSP team might have got it wrong (reference/defects.py)."""
        root = safexml.parse(unsigned)
        element = root.find(f"{{{codec.SR_NS}}}Header/{{{codec.SR_NS}}}ResponseCode")
        if element is not None and element.text:
            element.text = self.emit_code(element.text.strip())
        if defects.active(self.config, "responses-unsigned"):
            return etree.tostring(root, xml_declaration=True, encoding="UTF-8")    # DEFECT: never signed
        signer = self.dsp_signer
        if defects.active(self.config, "responses-signed-by-another-key"):
            signer = self.s1sps["S1SP1"].signer      # DEFECT: the wrong key taken from the key store
        return signing.sign(root, signer)

    # --- the Target Interface ------------------------------------------------------------------

    def handle_service_request(self, xml: bytes, *, request=None) -> Verdict:
        """`request`: `xml` already decoded by the caller, so it is not parsed twice."""
        verdict = self.dsp.handle(xml, request=request)
        if verdict.accepted is not None:
            self._publish_early(verdict.accepted, verdict)
            self._route(verdict.accepted)
        return verdict

    def accept(self, admitted) -> Verdict:
        """Acknowledge (I99) and route a request the DSP admitted (reference/critical.py's signed
        Pre-Command, admitted against the transform request it belongs to)."""
        verdict = self.dsp.acknowledge(admitted)
        self._publish_early(admitted, verdict)
        self._route(admitted)
        return verdict

    def _publish_early(self, ctx: Context, verdict: Verdict) -> None:
        """Nothing, in a correct DCC: its acknowledgement is the synchronous answer only."""
        if self.config.defects and defects.active(self.config, "acknowledgements-published"):
            # DEFECT (tolerated): the acknowledgement also goes where outcomes go, as if it were one.
            self.outbox.publish_early(ctx.sender.user_id, str(ctx.request.request_id), verdict.response)

    def response(self, request_id: str) -> bytes | None:
        return self.outbox.get(request_id)

    def subscribe(self, user_id: str, deliver) -> None:
        """`deliver(request_id, response_xml)` is called with each final outcome for `user_id`."""
        self.outbox.subscribe(user_id, deliver)

    def s1sp_for(self, device: Device) -> S1SP:
        return self.s1sps[self.config.cohorts[device.cohort]]

    def _route(self, ctx: Context) -> None:
        if ctx.device.smets == 2:
            self._workers["SMETS2"].submit(self._complete, ctx, self.smets2.process)
        else:
            s1sp = self.s1sp_for(ctx.device)
            ctx.s1sp_implemented = self.config.s1sp_implemented.get(s1sp.name, False)
            self._workers[s1sp.name].submit(self._complete, ctx, s1sp.process)

    def _complete(self, ctx: Context, process) -> None:
        """Run on a worker: `process` the accepted request and file its signed final outcome. Whatever
        raises in there, the user still gets a signed final answer (MP107-R4.2: never a lost outcome)."""
        rid = str(ctx.request.request_id)
        try:
            outcome = self.sign_response(process(ctx))
        except Exception as exc:  # a bug in a rule, the S1SP or the signing: answer anyway, and log it
            log.exception("processing %s failed inside the DCC; answering with a failure outcome", rid)
            try:
                outcome = self._failure_outcome(ctx, exc)
            except Exception:
                log.exception("could not make a failure outcome for %s either: its outcome is lost", rid)
                return
        if ctx.device.smets == 1 and self.config.defects:
            answer = safexml.parse(outcome)
            alert = answer.find(".//{*}S1SPAlert") is not None
            if alert and defects.active(self.config, "s1sp-alerts-never-delivered"):
                # DEFECT: S1SP alerts arrive on the S1SP alert interface, which is not wired to the outbox.
                log.info("S1SP alert for %s not forwarded", rid)
                return
            if defects.active(self.config, "outcome-carries-another-request-id"):
                # DEFECT: filed under the RequestID the S1SP wrote in its answer.
                rid = answer.findtext(f"{{{codec.SR_NS}}}Header/{{{codec.SR_NS}}}RequestID") or rid
        self._latency.after(functools.partial(self.outbox.put, ctx.sender.user_id, rid, outcome))

    def pending_outcomes(self) -> int:
        """Outcomes processed but held back by --outcome-delay (reference/latency.py)."""
        return self._latency.pending()

    def _failure_outcome(self, ctx: Context, exc: Exception) -> bytes:
        """The signed final answer to a request whose processing raised: for SMETS1 an S1SP alert
        (S1VE_FAILED_IN_DCC) signed by the device's S1SP; for SMETS2, or if the S1SP cannot sign, a
        Response with E_FAILED_IN_DCC. Both carry the RequestID and say that the request failed inside
        the DCC (the exception's type only; its detail is in the DCC's log)."""
        request = ctx.request
        reason = f"the request failed inside the DCC ({type(exc).__name__}); see the DCC's log"
        now = datetime.now(timezone.utc)
        if ctx.device.smets == 1:
            s1sp = self.s1sp_for(ctx.device)
            try:
                return self.sign_response(codec.encode_s1sp_alert(
                    request.request_id, ctx.device.device_id, self.emit_code(S1VE_FAILED_IN_DCC), now,
                    s1sp.signer, additional_information=f"{s1sp.name}: {reason}"))
            except Exception:
                log.exception("%s could not sign its alert for %s; the DSP answers instead", s1sp.name,
                              request.request_id)
        return self.sign_response(codec.encode_acknowledgement(request.request_id, E_FAILED_IN_DCC, request.srv,
                                                               now, reason=reason))

    # --- test support --------------------------------------------------------------------------

    def load_user(self, user_id: str, roles, xml_signing_certificate: x509.Certificate) -> None:
        self.users.add(User(user_id, frozenset(roles), xml_signing_certificate))

    def load_trust_anchor(self, certificate: x509.Certificate) -> None:
        self.users.add_trust_anchor(certificate)

    def load_device(self, device: Device) -> None:
        if device.smets == 1:
            if device.cohort not in self.config.cohorts:
                raise ValueError(f"SMETS1 device {device.device_id}: cohort {device.cohort!r} is not served "
                                 f"by any S1SP ({self.config.cohorts})")
            self.s1sp_for(device).add_device(device)
        self.inventory.add(device)

    def load_registration(self, registration: Registration) -> None:
        self.registrations.put(registration)
        for s1sp in self.s1sps.values():
            s1sp.put_registration(registration)

    def load_anchor_slot(self, device_id: str, role: str, digital_signing: bytes, key_agreement: bytes) -> None:
        device = self.inventory.get(device_id)
        if device is None:
            raise KeyError(f"device {device_id} is not in the inventory: load it first")
        slot = slot_from_pair(digital_signing, key_agreement)
        if device.smets == 2:
            self.smets2.put_slot(device_id, role, slot)
        else:
            self.s1sp_for(device).put_slot(device_id, role, slot)

    def load_no_certificate(self, entity_id: str, usage: str, certificate: bytes) -> None:
        """An entry of the NO certificate repository (ERM31), which every S1SP holds."""
        for s1sp in self.s1sps.values():
            s1sp.put_no_certificate(entity_id, usage, certificate)

    def run_datafix(self, s1sp: str, *, dry_run: bool = False):
        """The Requirement 2 data fix on `s1sp`'s own database, as the DCC would run it on LIVE.
        Returns (report, IDs of the devices whose slots it changed)."""
        from . import datafix
        with datafix.connect(f"sqlite:///{self.s1sps[s1sp].db_path}") as db:
            if dry_run:
                return datafix.dry_run(db, defects=self.config.defects), set()
            report = datafix.run(db, defects=self.config.defects)
            fixed = {row[0] for row in db.query("SELECT device_id FROM datafix_audit WHERE run_id = :run_id",
                                                {"run_id": report.run_id})}
        return report, fixed

    def anchor_slot(self, device_id: str, role: str):
        device = self.inventory.get(device_id)
        if device is None:
            raise KeyError(device_id)
        return self.smets2.slot(device_id, role) if device.smets == 2 else self.s1sp_for(device).slot(device_id, role)

    def set_switch(self, on: bool) -> None:
        self.config.mp107_switch = bool(on)

    def set_s1sp_implemented(self, name: str, implemented: bool) -> None:
        if name not in self.s1sps:
            raise KeyError(f"unknown S1SP {name!r}; expected one of {sorted(self.s1sps)}")
        self.config.s1sp_implemented[name] = bool(implemented)

    def state(self) -> dict:
        return {"mp107_switch": self.config.mp107_switch,
                "s1sp_implemented": dict(self.config.s1sp_implemented),
                "cohorts": dict(self.config.cohorts),
                "broken": sorted(self.config.broken),
                "defects": sorted(self.config.defects)}

    def reset(self) -> None:
        for worker in self._workers.values():
            worker.submit(lambda: None).result()
        self.users.clear()
        self.inventory.clear()
        self.registrations.clear()
        self.outbox.reset()
        self.dsp.counters.clear()
        self.critical.reset()
        self.smets2.reset()
        for s1sp in self.s1sps.values():
            s1sp.reset()

    def close(self) -> None:
        self._latency.close()
        for worker in self._workers.values():
            worker.shutdown(wait=True)
        for s1sp in self.s1sps.values():
            s1sp.close()
        self.dsp.counters.close()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
