"""The device pool: devices a target already holds, listed by its profile (adapters/profile.py),
handed to scenarios one at a time when the harness cannot provision fresh ones."""
from __future__ import annotations

import threading

from .fixtures import DeviceFixture, Fixture, RegistrationFixture
from .profile import ProfileDevice
from .world import Cast, DeviceSetup

class DevicePool:
    """The profile's devices, for a target the harness cannot provision.

    Each scenario takes a device nobody used yet in this run (scenarios change slots, so a device
    serves once per run); devices the statement names for the data fix are never handed out. The
    steps survey a device before using it (`reject` one that does not hold what the profile
    declares) and restore it afterwards (`record`): `ledger` is what happened to each device, for
    the report, so that a device left changed is named, never silently reused."""

    def __init__(self, devices: tuple[ProfileDevice, ...], *, reserved: tuple[str, ...] = ()) -> None:
        self._free = [d for d in devices if d.device_id not in set(reserved)]
        self._taken: dict[str, ProfileDevice] = {}
        self._lock = threading.Lock()
        self.ledger: list[dict] = []

    def take(self, cast: Cast, *, fuel: str, smets: int, s1sp: str | None, device_type: str,
             status: str) -> DeviceSetup | None:
        """An unused device fitting the scenario, registered to the cast's registered supplier and
        network operator for `fuel`; None if the profile has none left."""
        supplier = cast.party("registered supplier", fuel).user_id
        operator = cast.party("registered network operator", fuel).user_id
        with self._lock:
            for d in self._free:
                if (d.fuel, d.smets, d.device_type, d.status, d.registered_supplier, d.registered_network_operator) == \
                        (fuel, smets, device_type, status, supplier, operator) and (smets == 2 or d.s1sp == s1sp):
                    self._free.remove(d)
                    self._taken[d.device_id] = d
                    break
            else:
                return None
        return setup_of(d, fuel, supplier, operator)

    def give_back(self, device_id: str) -> None:
        """A device its scenario provably left as the profile declares it (its slots read back unchanged,
        or no slot-changing request sent): first in line for the next scenario, which surveys it again."""
        with self._lock:
            d = self._taken.pop(device_id, None)
            if d is not None:
                self._free.insert(0, d)

    def reject(self, device_id: str, holds: str) -> None:
        """A surveyed device that does not hold what the profile declares: not used, and reported."""
        self.record(device_id, "not used", f"it does not hold what the profile declares: {holds}")

    def record(self, device_id: str, outcome: str, detail: str = "", scenario: str = "") -> None:
        with self._lock:
            self.ledger.append({"device": device_id, "outcome": outcome, "detail": detail, "scenario": scenario})

    def report(self) -> dict:
        with self._lock:
            ledger = list(self.ledger)
        return {"free": len(self._free), "ledger": ledger,
                "not_used": [e for e in ledger if e["outcome"] == "not used"],
                "left_changed": [e for e in ledger if e["outcome"] == "left changed"]}

    @staticmethod
    def wanted(cast: Cast, *, fuel: str, smets: int, s1sp: str | None, device_type: str, status: str) -> str:
        """What `take` looked for, in words (for the skip reason)."""
        of = f" of {s1sp}" if smets == 1 else ""
        return (f"unused SMETS{smets} {device_type}{of} with SMI status {status} registered to "
                f"{cast.party('registered supplier', fuel).user_id} (supplier) and "
                f"{cast.party('registered network operator', fuel).user_id} (network operator)")


def setup_of(d: ProfileDevice, fuel: str, supplier: str, operator: str) -> DeviceSetup:
    device = DeviceFixture(d.device_id, d.device_type, d.smets, d.mpxn, d.s1sp, None, d.status)
    return DeviceSetup(device, fuel, RegistrationFixture(d.mpxn, fuel, supplier, operator), Fixture())


def kind_of(d: ProfileDevice) -> tuple:
    """What makes two pool devices interchangeable for a scenario (what `DevicePool.take` matches)."""
    return (d.fuel, d.smets, d.device_type, d.status, d.s1sp if d.smets == 1 else None,
            d.registered_supplier, d.registered_network_operator)


def partition(devices: tuple[ProfileDevice, ...], index: int, count: int) -> tuple[ProfileDevice, ...]:
    """Shard `index` (from 0) of `count`'s part of the pool: of each kind of device, every count-th in
    the profile's order, starting at the index-th. Shards against one target never lease the same
    device; a kind with fewer devices than shards leaves some shards without one (their scenarios
    needing it are skipped, saying so)."""
    seen: dict[tuple, int] = {}
    mine = []
    for d in devices:
        n = seen.get(kind_of(d), 0)
        seen[kind_of(d)] = n + 1
        if n % count == index:
            mine.append(d)
    return tuple(mine)
