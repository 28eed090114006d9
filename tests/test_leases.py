"""Scenarios in flight at once against one target (adapters/leases.py): what the workers of one run
share - each user's OriginatorCounters, the profile's device pool, the floor - and that every wait
for it is bounded. Worker processes are real processes here (multiprocessing), as xdist's are."""
from __future__ import annotations

import fcntl
import json
import multiprocessing
import random
import time
from pathlib import Path

import pytest

from adapters.client import Client
from adapters.device_pool import kind_of, partition
from adapters.leases import Floor, LeaseTimeout, SharedCounter, SharedDevicePool
from adapters.profile import ProfileDevice
from adapters.target import Acknowledgement
from adapters.world import Cast
from mp107 import shard

USER = "90-B3-D5-1F-30-01-00-03"
DEVICE = "00-DB-00-00-00-00-00-01"


class _ArrivalTarget:
    """A target that notes each RequestID's counter as it arrives (in a file every process appends to)."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def submit(self, request_id: str, xml: bytes) -> Acknowledgement:
        time.sleep(random.uniform(0, 0.004))        # on the way: others may overtake a request not serialised
        with open(self.log, "a", encoding="ascii") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write(request_id.rsplit(":", 1)[1] + "\n")
        return Acknowledgement(request_id, 400, b"", None, "refused")


def _worker(folder: str, log: str, n: int) -> None:
    client = Client(_ArrivalTarget(Path(log)), counter=SharedCounter(Path(folder), wait=30))
    for _ in range(n):
        request_id = client.request_id(USER, DEVICE)
        time.sleep(random.uniform(0, 0.002))        # signing
        client.send_raw(USER, str(request_id), b"<x/>", hostile=True)


def test_each_users_counters_reach_the_target_rising_whichever_worker_sends(tmp_path):
    log = tmp_path / "arrivals"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_worker, args=(str(tmp_path / "shared"), str(log), 25)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    arrived = [int(line) for line in log.read_text().split()]
    assert len(arrived) == 100
    assert all(a < b for a, b in zip(arrived, arrived[1:])), "a counter reached the target below an earlier one"


def test_a_users_turn_is_held_from_counter_to_acknowledgement_and_waits_are_bounded(tmp_path):
    mine, theirs = SharedCounter(tmp_path, wait=0.2), SharedCounter(tmp_path, wait=0.2)
    first = mine.next(USER)
    with pytest.raises(LeaseTimeout, match=f"OriginatorCounter turn of {USER}.*0.2 s"):
        theirs.next(USER)
    assert theirs.next("90-B3-D5-1F-30-01-00-01") > 0      # another user's turn is its own
    theirs.end_turns()
    assert mine.next(USER) > first                          # the same turn: this worker may build another
    mine.end_turn(USER)
    assert theirs.next(USER) > first and theirs.last(USER) == mine.last(USER)
    theirs.end_turn(USER)


def _device(n: int, *, s1sp="S1SP1", device_type="ESME", mpxn="1234567890128") -> ProfileDevice:
    return ProfileDevice(f"00-DB-00-00-00-00-00-{n:02X}", device_type, 1, s1sp, mpxn, "Commissioned",
                         "90-B3-D5-1F-30-01-00-01", "90-B3-D5-1F-30-01-00-03")


def test_the_pool_leases_each_device_to_one_worker_at_a_time(tmp_path):
    cast = Cast()
    supplier = cast.party("registered supplier", "electricity").user_id
    operator = cast.party("registered network operator", "electricity").user_id
    devices = tuple(ProfileDevice(f"00-DB-00-00-00-00-00-0{n}", "ESME", 1, "S1SP1", "1234567890128", "Commissioned",
                                  supplier, operator) for n in (1, 2))
    a, b = (SharedDevicePool(devices, tmp_path) for _ in range(2))
    want = dict(fuel="electricity", smets=1, s1sp="S1SP1", device_type="ESME", status="Commissioned")
    first = a.take(cast, **want).device.device_id
    second = b.take(cast, **want).device.device_id
    assert first != second and a.take(cast, **want) is None and b.take(cast, **want) is None
    a.record(first, "unchanged", scenario="one")
    a.give_back(first)
    assert b.take(cast, **want).device.device_id == first
    b.record(second, "left changed", "a slot", "two")
    assert [e["device"] for e in a.report()["ledger"]] == [first, second]    # one ledger for the run
    assert a.report()["left_changed"] == b.report()["left_changed"] != []


def test_shards_deal_the_pool_per_kind_and_never_share_a_device():
    devices = (*(_device(n) for n in range(5)), *(_device(10 + n, s1sp="S1SP2") for n in range(2)),
               _device(20, device_type="GPF", mpxn="1234567890"))
    parts = [partition(devices, k, 3) for k in range(3)]
    assert sorted(d.device_id for p in parts for d in p) == sorted(d.device_id for d in devices)
    assert all(not set(p) & set(q) for i, p in enumerate(parts) for q in parts[i + 1:])
    assert [sum(kind_of(d) == kind_of(devices[0]) for d in p) for p in parts] == [2, 2, 1]


def test_shards_deal_the_scenarios_stably_and_whole():
    ids = [f"features/x.py::test_{n}" for n in range(10)]
    deals = [shard.deal(ids, k, 3) for k in range(3)]
    assert set().union(*deals) == set(ids) and sum(map(len, deals)) == 10
    assert deals == [shard.deal(list(reversed(ids)), k, 3) for k in range(3)]
    assert shard.parse("2/3") == (1, 3)
    for bad in ("0/3", "4/3", "3", "a/b", ""):
        with pytest.raises(ValueError, match="expected K/N"):
            shard.parse(bad)


def test_a_scenario_that_changes_the_target_has_it_alone(tmp_path):
    sharing, alone, later = Floor(tmp_path, wait=0.2), Floor(tmp_path, wait=0.2), Floor(tmp_path, wait=0.2)
    sharing.enter(None)
    with pytest.raises(LeaseTimeout) as timed_out:
        alone.enter("it sets the DSP feature switch off")       # waits for the one in flight, bounded
    assert str(timed_out.value).startswith("the target: not had within 0.2 s")
    assert str(timed_out.value).endswith("; this scenario waited to have it alone: it sets the DSP feature switch off")
    later.enter(None)                                           # sharing with sharing is fine
    later.leave()
    sharing.leave()
    alone.enter("it sets the DSP feature switch off")
    with pytest.raises(LeaseTimeout):
        later.enter(None)                                       # nobody shares it meanwhile
    alone.leave()
    later.enter(None)
    later.leave()
