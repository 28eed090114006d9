"""SMETS2 devices: they hold real anchor slots and enforce ownership themselves; the DSP does no
Registration Data check for their Critical requests. The reference answers for the device."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

from duis import codec

from . import codes, rules
from .anchor_slots import SlotCertificate, slot_from_pair


class Smets2Devices:
    def __init__(self) -> None:
        self._slots: dict[tuple[str, str], dict[str, SlotCertificate]] = {}
        self._lock = threading.Lock()

    def put_slot(self, device_id: str, role: str, slot: dict[str, SlotCertificate]) -> None:
        with self._lock:
            self._slots[(device_id, role)] = dict(slot)

    def slot(self, device_id: str, role: str) -> dict[str, SlotCertificate]:
        with self._lock:
            return dict(self._slots.get((device_id, role), {}))

    def reset(self) -> None:
        with self._lock:
            self._slots.clear()

    def process(self, ctx: rules.Context) -> bytes:
        request = ctx.request
        if request.srv in ("6.15.1", "6.21"):
            ctx.slot = self.slot(ctx.device.device_id, request.body.remote_party_role)
        for name in rules.SMETS2_CHECKS[request.srv]:
            rejection = rules.run_check(name, ctx)
            if rejection:
                return codec.encode_acknowledgement(request.request_id, rejection.code, request.srv, _now(),
                                                    reason=f"SMETS2 device {rejection.rule}: {rejection.reason}")
        if request.srv in ("6.15.1", "6.21"):
            body = request.body
            self.put_slot(ctx.device.device_id, body.remote_party_role,
                          slot_from_pair(body.replacement.digital_signing, body.replacement.key_agreement,
                                         body.floor_seq))
        return codec.encode_acknowledgement(request.request_id, codes.I0, request.srv, _now())


def _now() -> datetime:
    return datetime.now(timezone.utc)
