"""Devices, their Registration Data and anchor slots: provisioned fresh for each scenario."""
from __future__ import annotations

import pytest
from pytest_bdd import given, parsers

from adapters.target import Capability
from adapters.world import SMETS1_DEVICE_TYPE, new_device

from .vocabulary import FUEL, S1SP


def _provision(state, *, fuel, smets, s1sp=None, device_type=None, status="Commissioned"):
    if Capability.PROVISION not in state.target.capabilities and state.device_pool is not None:
        return _from_pool(state, fuel=fuel, smets=smets, s1sp=s1sp, device_type=device_type, status=status)
    state.need(Capability.PROVISION, "provision a fresh device with its Registration Data and anchor slots")
    cohort = state.target.cohort_of(s1sp) if s1sp else None
    state.device = new_device(state.cast, fuel=fuel, smets=smets, s1sp=s1sp, cohort=cohort,
                              device_type=device_type, status=status)
    state.target.provision(state.device.fixture)
    return state.device


def _from_pool(state, *, fuel, smets, s1sp, device_type, status):
    """A target without provisioning: one of the devices its profile lists, unused in this run."""
    wanted = dict(fuel=fuel, smets=smets, s1sp=s1sp, status=status,
                  device_type=device_type or SMETS1_DEVICE_TYPE[fuel])
    state.device = state.device_pool.take(state.cast, **wanted)
    if state.device is None:
        pytest.skip(f"target {state.target.name} cannot be provisioned and its profile lists no "
                    f"{state.device_pool.wanted(state.cast, **wanted)} (each serves one scenario per run)")
    return state.device


@given(parsers.re(rf"a commissioned SMETS1 device of {S1SP} supplying {FUEL}"))
def smets1_device(state, s1sp, fuel):
    _provision(state, fuel=fuel, smets=1, s1sp=s1sp)


@given(parsers.re(rf"a commissioned SMETS2 device supplying {FUEL}"))
def smets2_device(state, fuel):
    _provision(state, fuel=fuel, smets=2)


@given(parsers.re(rf"a SMETS1 device of {S1SP} supplying {FUEL} and SMI status (?P<status>\w+)"))
def smets1_device_with_status(state, s1sp, fuel, status):
    _provision(state, fuel=fuel, smets=1, s1sp=s1sp, status=status)


@given(parsers.re(rf"a commissioned SMETS1 communications hub of {S1SP} supplying {FUEL}"))
def smets1_comms_hub(state, s1sp, fuel):
    _provision(state, fuel=fuel, smets=1, s1sp=s1sp, device_type="CHF")
