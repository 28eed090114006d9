"""What scenarios in flight at once against ONE target share, and how they take turns (SPEC §5
"Latency"; docs/targets.md, "Several scenarios at once against one target").

The pytest-xdist workers of one run share a folder (the controller makes it and hands its path to
every worker, conftest.py). Everything here is a file in it, guarded by an `fcntl.flock` lock that
the kernel drops when its holder exits, so a crashed worker never leaves a lock behind:

- `SharedCounter`: per user, the last OriginatorCounter handed out. A counter is taken under the
  user's lock and the lock is held until the request carrying it has been acknowledged
  (`end_turn`, called by Client.send_raw once the target answered): so each user's requests reach
  the target with strictly rising counters, whichever worker sends them. Only that short step of
  counter, signature and send is serialised; the outcome is awaited after the lock is let go.
- `SharedDevicePool`: the profile's devices, each leased to one scenario at a time across all
  workers (taken, given back, the ledger of what happened to each).
- `Floor`: a readers-writer lock for the scenarios that change what the whole target does (the
  DSP feature switch, an S1SP's implemented flag, the data fix over an S1SP's database). Those run
  alone: a turnstile stops new scenarios while one waits, it waits for those in flight to finish,
  and runs with the floor to itself; every other scenario shares the floor.

Every wait is bounded: a lock not had within its bound raises `LeaseTimeout`, saying what was
waited for and how long (the scenario is then broken, not judged).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from pathlib import Path

from .client import OriginatorCounter
from .device_pool import DevicePool, setup_of
from .profile import ProfileDevice
from .target import TargetFault
from .world import Cast, DeviceSetup

FLOOR_WAIT = 1800.0
"""seconds a scenario waits for the floor (for the scenarios in flight to finish, or one running
alone): long enough for any scenario whose own waits are bounded, finite all the same"""


class LeaseTimeout(TargetFault):
    """A lock of the shared run folder was not had within its bound: the scenario cannot be judged
    (broken, as for any TargetFault), and the reason says what was waited for."""


class FileLock:
    """An `fcntl.flock` lock on one file of the shared folder, waited for at most `timeout` seconds."""

    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = Path(path), what
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float, *, shared: bool = False) -> None:
        if self._fd is not None:
            raise RuntimeError(f"{self.what}: already held by this process")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + timeout
        pause = 0.001
        while True:
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                self._fd = fd
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LeaseTimeout(f"{self.what}: not had within {timeout:g} s (another worker of this run "
                                       f"holds it; lock file {self.path})") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.02)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)          # closing the descriptor drops the lock

    @contextlib.contextmanager
    def held_for(self, timeout: float, *, shared: bool = False):
        self.acquire(timeout, shared=shared)
        try:
            yield
        finally:
            self.release()


def _read_json(path: Path, default):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default


def _write_json(path: Path, value) -> None:
    """Whole or not at all: a reader never sees half a file."""
    temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(value), encoding="utf-8")
    os.replace(temporary, path)


def _file_name(user_id: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "-", user_id)


class SharedCounter(OriginatorCounter):
    """OriginatorCounters shared by the workers of one run (module docstring). `wait`: seconds a worker
    waits for a user's turn (every holder lets go once its request is acknowledged, itself bounded by
    the exchange deadline)."""

    def __init__(self, folder: Path, *, wait: float) -> None:
        super().__init__()
        self.folder = Path(folder) / "counters"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.wait = wait
        self._turns: dict[str, FileLock] = {}

    def _paths(self, user_id: str) -> tuple[Path, Path]:
        name = _file_name(user_id)
        return self.folder / f"{name}.lock", self.folder / f"{name}.last"

    def last(self, user_id: str) -> int | None:
        _, value = self._paths(user_id)
        try:
            return int(value.read_text(encoding="ascii"))
        except (FileNotFoundError, ValueError):
            return None

    def next(self, user_id: str) -> int:
        """A counter above every one handed out for `user_id` by any worker: the current time in
        microseconds, bumped past the last. Opens the user's turn (held until `end_turn`)."""
        turn = self._turns.get(user_id)
        if turn is None:
            lock_path, _ = self._paths(user_id)
            turn = FileLock(lock_path, f"the OriginatorCounter turn of {user_id}")
            turn.acquire(self.wait)
            self._turns[user_id] = turn
        value = max((self.last(user_id) or 0) + 1, time.time_ns() // 1000)
        _write_json(self._paths(user_id)[1], value)
        return value

    def end_turn(self, user_id: str) -> None:
        turn = self._turns.pop(user_id, None)
        if turn is not None:
            turn.release()

    def end_turns(self) -> None:
        for user_id in list(self._turns):
            self.end_turn(user_id)


class SharedDevicePool(DevicePool):
    """The profile's devices leased across the workers of one run: the same rules as DevicePool (a
    device serves one scenario at a time; one left changed is never handed out again), kept in the
    shared folder. `partition`: (shard index from 0, number of shards) - this run leases only its
    shard's part of each kind of device (adapters/device_pool.py `partition`)."""

    def __init__(self, devices: tuple[ProfileDevice, ...], folder: Path, *, reserved: tuple[str, ...] = (),
                 wait: float = 60.0) -> None:
        super().__init__(devices, reserved=reserved)
        self._state = Path(folder) / "device-pool.json"
        self._file_lock = FileLock(Path(folder) / "device-pool.lock", "the device pool")
        self.wait = wait

    @contextlib.contextmanager
    def _shared_state(self):
        with self._file_lock.held_for(self.wait):
            state = _read_json(self._state, {"taken": [], "first": [], "ledger": []})
            yield state
            _write_json(self._state, state)

    def take(self, cast: Cast, *, fuel: str, smets: int, s1sp: str | None, device_type: str,
             status: str) -> DeviceSetup | None:
        supplier = cast.party("registered supplier", fuel).user_id
        operator = cast.party("registered network operator", fuel).user_id
        by_id = {d.device_id: d for d in self._free}
        with self._shared_state() as state:
            taken = set(state["taken"])
            order = [by_id[i] for i in state["first"] if i in by_id] + self._free
            for d in order:
                if d.device_id in taken:
                    continue
                if (d.fuel, d.smets, d.device_type, d.status, d.registered_supplier, d.registered_network_operator) == \
                        (fuel, smets, device_type, status, supplier, operator) and (smets == 2 or d.s1sp == s1sp):
                    state["taken"].append(d.device_id)
                    if d.device_id in state["first"]:
                        state["first"].remove(d.device_id)
                    break
            else:
                return None
        return setup_of(d, fuel, supplier, operator)

    def give_back(self, device_id: str) -> None:
        with self._shared_state() as state:
            if device_id in state["taken"]:
                state["taken"].remove(device_id)
                state["first"].insert(0, device_id)

    def record(self, device_id: str, outcome: str, detail: str = "", scenario: str = "") -> None:
        with self._shared_state() as state:
            state["ledger"].append({"device": device_id, "outcome": outcome, "detail": detail, "scenario": scenario})

    def report(self) -> dict:
        with self._shared_state() as state:
            ledger = list(state["ledger"])
            taken = set(state["taken"])
        return {"free": sum(1 for d in self._free if d.device_id not in taken), "ledger": ledger,
                "not_used": [e for e in ledger if e["outcome"] == "not used"],
                "left_changed": [e for e in ledger if e["outcome"] == "left changed"]}


class Floor:
    """Scenarios share the target; one that changes what the whole target does has it to itself."""

    def __init__(self, folder: Path, *, wait: float = FLOOR_WAIT) -> None:
        self.wait = wait
        self._turnstile = FileLock(Path(folder) / "floor-turnstile.lock", "the turnstile before the target")
        self._floor = FileLock(Path(folder) / "floor.lock", "the target")

    def enter(self, alone_because: str | None) -> None:
        """Share the target (`alone_because` None), or have it alone: wait (bounded) for the scenarios
        in flight to finish, while none starts. `leave` when the scenario is over."""
        if alone_because is None:
            with self._turnstile.held_for(self.wait):       # none passes while one waits to run alone
                pass
            self._floor.acquire(self.wait, shared=True)
            return
        try:
            self._turnstile.acquire(self.wait)
            try:
                self._floor.acquire(self.wait)
            except BaseException:
                self._turnstile.release()
                raise
        except LeaseTimeout as exc:     # the broken scenario says why it could not share the target
            raise LeaseTimeout(f"{exc}; this scenario waited to have it alone: {alone_because}") from None

    def leave(self) -> None:
        self._floor.release()
        self._turnstile.release()
