"""Registration Data (the RDP feed): who is registered, now, for an MPAN or MPRN."""
from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Registration:
    mpxn: str
    fuel: str                  # electricity | gas
    supplier_id: str           # registered Import Supplier (MPAN) or Gas Supplier (MPRN)
    network_operator_id: str   # registered Electricity Distributor (MPAN) or Gas Transporter (MPRN)

    def registered_for(self, role: str) -> str | None:
        """The User ID registered in `role` (IS, GS, ED, GT) for this supply, if the role fits its fuel."""
        if self.fuel == "electricity":
            return {"IS": self.supplier_id, "ED": self.network_operator_id}.get(role)
        return {"GS": self.supplier_id, "GT": self.network_operator_id}.get(role)


class RegistrationData:
    def __init__(self) -> None:
        self._by_mpxn: dict[str, Registration] = {}
        self._lock = threading.Lock()

    def put(self, registration: Registration) -> None:
        with self._lock:
            self._by_mpxn[registration.mpxn] = registration

    def get(self, mpxn: str | None) -> Registration | None:
        if mpxn is None:
            return None
        with self._lock:
            return self._by_mpxn.get(mpxn)

    def clear(self) -> None:
        with self._lock:
            self._by_mpxn.clear()
