"""Devices, their Registration Data and anchor slots: provisioned fresh for each scenario, or, on a
target the harness cannot provision, the profile device the preflight reserved (steps/preflight.py)."""
from __future__ import annotations

from pytest_bdd import given, parsers

from adapters.target import Capability
from adapters.world import new_device

from .vocabulary import FUEL, S1SP


def _provision(state, *, fuel, smets, s1sp=None, device_type=None, status="Commissioned"):
    if state.reserved is not None:
        state.device = state.reserved
        return state.device
    state.need(Capability.PROVISION, "provision a fresh device with its Registration Data and anchor slots")
    cohort = state.target.cohort_of(s1sp) if s1sp else None
    state.device = new_device(state.cast, fuel=fuel, smets=smets, s1sp=s1sp, cohort=cohort,
                              device_type=device_type, status=status)
    state.target.provision(state.device.fixture)
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
