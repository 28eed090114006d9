"""A SMETS1 Service Provider: keeps its devices' virtual anchor slots in its own SQLite database
(schema in s1sp_db.py), applies its own checks (rules.S1SP_CHECKS) and answers, asynchronously, with
a signed SMETS1 response (I0) or a signed S1SP alert."""
from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from duis import codec, messages

from . import codes, defects, rules
from .anchor_slots import SlotCertificate, slot_from_pair, slot_owner
from .inventory import Device
from .registration import Registration
from .s1sp_db import create_schema


class S1SP:
    """`emit_code`: SPEC code -> the code this DCC puts in an S1SPAlertCode (ReferenceDCC.emit_code;
    the S1SP signs its alert itself, so the code is final before it is signed)."""

    def __init__(self, name: str, db_path: Path | str, signer,
                 emit_code: Callable[[str], str] | None = None) -> None:
        self.name = name
        self.signer = signer
        self.emit_code = emit_code or (lambda code: code)
        self.db_path = str(db_path)
        self._conn = sqlite3.connect(self.db_path, check_same_thread=False)
        # Write-ahead log, synced at checkpoints rather than at every commit: provisioning commits
        # once per device, registration and slot, and with the default rollback journal each of those
        # commits waited for two fsyncs (bench/PROFILE.md: about 0.9 s of a 5 s suite on a quiet
        # machine, most of it on a busy one). A crash of the process loses nothing committed; a crash
        # of the machine may lose the last commits, never the database. The data fix's own
        # connection (reference/datafix) works on it unchanged.
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._lock = threading.Lock()
        create_schema(self._conn, "sqlite")
        # Memory only the defects use (reference/defects.py); empty on the correct path.
        self._deferred_writes: list[tuple[str, str, dict]] = []        # i0-before-slot-written
        self._former_owners: dict[tuple[str, str], set[str]] = {}      # s1sp-remembers-previous-owner
        self._previous_request_id = None                               # outcome-carries-another-request-id

    # --- its database ---------------------------------------------------------------------

    def add_device(self, device: Device) -> None:
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO device (device_id, device_type, smets, mpxn, cohort, smi_status) "
                "VALUES (?, ?, 1, ?, ?, ?)",
                (device.device_id, device.device_type, device.mpxn, device.cohort or "", device.status))

    def put_registration(self, reg: Registration) -> None:
        """The S1SP's own copy of Registration Data (it checks it itself, SRPD 16.1)."""
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO registration (mpxn, fuel, supplier_id, network_operator_id) VALUES (?, ?, ?, ?)",
                (reg.mpxn, reg.fuel, reg.supplier_id, reg.network_operator_id))

    def put_no_certificate(self, entity_id: str, usage: str, der: bytes) -> None:
        cert = SlotCertificate.from_der(der)
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO no_certificate (entity_id, usage, certificate_serial, certificate) "
                "VALUES (?, ?, ?, ?)", (entity_id, usage, cert.serial, der))

    def registration(self, mpxn: str | None) -> Registration | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT mpxn, fuel, supplier_id, network_operator_id FROM registration WHERE mpxn = ?",
                (mpxn,)).fetchone()
        return Registration(*row) if row else None

    def put_slot(self, device_id: str, role: str, slot: dict[str, SlotCertificate]) -> None:
        with self._lock, self._conn:
            self._write_slot(device_id, role, slot)

    def _write_slot(self, device_id: str, role: str, slot: dict[str, SlotCertificate]) -> None:
        for usage, cert in slot.items():
            self._conn.execute(
                "INSERT OR REPLACE INTO anchor_slot (device_id, remote_party_role, usage, entity_id, "
                "certificate_serial, certificate, floor_seq) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (device_id, role, usage, cert.entity_id, cert.serial, cert.der, cert.floor_seq))

    def slot(self, device_id: str, role: str) -> dict[str, SlotCertificate]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT usage, entity_id, certificate_serial, certificate, floor_seq FROM anchor_slot "
                "WHERE device_id = ? AND remote_party_role = ?", (device_id, role)).fetchall()
        return {usage: SlotCertificate(eid, serial, bytes(der), floor) for usage, eid, serial, der, floor in rows}

    def reset(self) -> None:
        with self._lock, self._conn:
            for table in ("anchor_slot", "device", "registration", "no_certificate"):
                self._conn.execute(f"DELETE FROM {table}")
        self._deferred_writes.clear()
        self._former_owners.clear()
        self._previous_request_id = None

    def close(self) -> None:
        self._conn.close()

    # --- processing -----------------------------------------------------------------------

    def process(self, ctx: rules.Context) -> bytes:
        """Apply the S1SP's checks to a request the DSP accepted; return the final Response
        (before the DSP's outer signature)."""
        if self.name == "S1SP2" and defects.active(ctx.config, "s1sp2-not-implemented"):
            ctx.s1sp_implemented = False     # DEFECT: S1SP2's release lacks MP107, whatever it was deployed as
        if defects.active(ctx.config, "i0-before-slot-written"):
            # DEFECT: slot writes are queued, and the queue is flushed only after the next answer.
            earlier, self._deferred_writes = self._deferred_writes, []
            answer = self._answer(ctx)
            for device_id, role, slot in earlier:
                self.put_slot(device_id, role, slot)
            return answer
        return self._answer(ctx)

    def _answer(self, ctx: rules.Context) -> bytes:
        request = ctx.request
        device = ctx.device
        request_id = request.request_id
        if defects.active(ctx.config, "outcome-carries-another-request-id"):
            # DEFECT: the answer is stamped from a field still holding the previous request's ID.
            request_id, self._previous_request_id = self._previous_request_id or request_id, request_id
        ctx.registration = self.registration(device.mpxn)
        if request.srv in ("6.15.1", "6.21"):
            ctx.slot = self.slot(device.device_id, request.body.remote_party_role)
            if defects.active(ctx.config, "s1sp-remembers-previous-owner"):
                key = (device.device_id, request.body.remote_party_role)
                ctx.former_owners = frozenset(self._former_owners.get(key, ()))
        for name in rules.S1SP_CHECKS[request.srv]:
            rejection = rules.run_check(name, ctx)
            if rejection:
                return codec.encode_s1sp_alert(
                    request_id, device.device_id, self.emit_code(rejection.code), _now(), self.signer,
                    additional_information=f"{self.name} {rejection.rule}: {rejection.reason}"[:1000])
        return codec.encode_smets1_response(
            request_id, device.device_id, request.request_id.originator, request.srv,
            self._execute(ctx), _now(), self.signer)

    def _execute(self, ctx: rules.Context):
        request, device = ctx.request, ctx.device
        if request.srv == "6.24.1":
            details = []
            for role in request.body.remote_party_roles:
                for usage, cert in sorted(self.slot(device.device_id, role).items()):
                    details.append(messages.RemotePartyDetail(
                        role=role, usage=usage, remote_party_id=cert.entity_id,
                        certificate_hash=cert.sha1, floor_seq=cert.floor_seq))
            return messages.RetrieveDeviceSecurityCredentialsKRPRsp(details=tuple(details))
        body = request.body
        new_slot = slot_from_pair(body.replacement.digital_signing, body.replacement.key_agreement,
                                  body.floor_seq)
        if ctx.config.defects:
            self._execute_as_mistaken(ctx, new_slot)
        else:
            with self._lock, self._conn:
                self._write_slot(device.device_id, body.remote_party_role, new_slot)
        if request.srv == "6.21":
            return messages.RequestHandoverOfDCCControlledDeviceRsp()
        mode = "NetworkOperatorByNetworkOperator" if body.remote_party_role == "NetworkOperator" else "SupplierBySupplier"
        return messages.UpdateSecurityCredentialsKRPRsp(replacement_mode=mode)


    def _execute_as_mistaken(self, ctx: rules.Context, new_slot: dict[str, SlotCertificate]) -> None:
        """The slot write of _execute as an S1SP team might have got it wrong (reference/defects.py)."""
        request, device, body = ctx.request, ctx.device, ctx.request.body
        key = (device.device_id, body.remote_party_role)
        if request.srv == "6.15.1" and defects.active(ctx.config, "s1sp-replaces-digital-signing-only"):
            # DEFECT: only the certificate that authenticates commands is replaced; key agreement kept.
            new_slot = {**self.slot(*key), "DigitalSigning": new_slot["DigitalSigning"]}
        if defects.active(ctx.config, "s1sp-remembers-previous-owner"):
            # DEFECT: 6.15.1 adds the new owner to the authorised parties and never removes the old one
            # (6.21, a handover, starts the list again).
            if request.srv == "6.15.1" and slot_owner(ctx.slot):
                self._former_owners.setdefault(key, set()).add(slot_owner(ctx.slot))
            else:
                self._former_owners.pop(key, None)
        if defects.active(ctx.config, "i0-before-slot-written"):
            self._deferred_writes.append((*key, new_slot))     # DEFECT: written after the next answer
            return
        with self._lock, self._conn:
            self._write_slot(device.device_id, body.remote_party_role, new_slot)


def _now() -> datetime:
    return datetime.now(timezone.utc)


__all__ = ["S1SP", "codes"]
