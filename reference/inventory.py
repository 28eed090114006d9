"""The Smart Metering Inventory: which devices exist, their type, generation, MPAN/MPRN, status
and (SMETS1) cohort."""
from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Device:
    device_id: str
    device_type: str          # ESME, GSME, GPF, CHF
    smets: int                # 1 or 2
    mpxn: str | None          # MPAN (electricity) or MPRN (gas)
    status: str = "Commissioned"
    cohort: str | None = None  # SMETS1 only: IOC, MOC, FOC

    @property
    def fuel(self) -> str:
        return "electricity" if self.device_type == "ESME" else "gas"


class SmartMeteringInventory:
    def __init__(self) -> None:
        self._devices: dict[str, Device] = {}
        self._lock = threading.Lock()

    def add(self, device: Device) -> None:
        with self._lock:
            self._devices[device.device_id] = device

    def get(self, device_id: str) -> Device | None:
        with self._lock:
            return self._devices.get(device_id)

    def clear(self) -> None:
        with self._lock:
            self._devices.clear()
