"""A scenario's preamble check and postamble, in the sense of ISO/IEC 9646 and TTCN-3.

Before the first step runs (`check`, called from the pytest-bdd hook in conftest.py), every
precondition of the whole scenario is checked: the target's conformance statement (a scenario it
rules out is *not applicable*), the capabilities the scenario needs and the users it speaks as (an
applicable scenario that cannot run here is *skipped*), and, for a target the harness cannot
provision, a device of the profile that fits and holds what the profile declares (read with SRV
6.24.1; a device found otherwise is reported by name and not used). So a skipped or not-applicable
scenario has changed nothing on the target.

After the last step (`postamble`), a profile device whose slots the scenario may have changed is
put back as the profile declares it, where the rules allow (the registered supplier's SRV 6.21
with the registered network operator's certificates); where they do not, the device is reported
as left changed.
"""
from __future__ import annotations

import re

import pytest

from adapters import service_requests as srv
from adapters.target import Capability
from adapters.world import ROLELESS_PARTIES, PARTIES, SMETS1_DEVICE_TYPE
from conformance.verdicts import NOT_APPLICABLE_PREFIX

from .vocabulary import FUEL, S1SP

ROLES = ("Supplier", "NetworkOperator")
_PARTY_WORDS = re.compile(r"\b(" + "|".join(sorted([*PARTIES, *ROLELESS_PARTIES], key=len, reverse=True)) + r")\b")

_DEVICE_STEPS = (
    (re.compile(rf"a commissioned SMETS1 device of {S1SP} supplying {FUEL}"), dict(smets=1)),
    (re.compile(rf"a commissioned SMETS2 device supplying {FUEL}"), dict(smets=2)),
    (re.compile(rf"a SMETS1 device of {S1SP} supplying {FUEL} and SMI status (?P<status>\w+)"), dict(smets=1)),
    (re.compile(rf"a commissioned SMETS1 communications hub of {S1SP} supplying {FUEL}"),
     dict(smets=1, device_type="CHF")),
)
_SWITCH = re.compile(r"the DSP feature switch is (?P<setting>on|off)")
_IMPLEMENTED = re.compile(rf"{S1SP} has (?P<negation>not )?implemented MP107")
_DATAFIX_RUN = re.compile(rf"the DCC runs the data fix(?: as a dry run)? on the database of {S1SP}")
_DATAFIX_APPLIED = re.compile(r"the DCC's operator has applied the data fix")
_DCC_INTERFACE = re.compile(r"the target speaks the DCC's own interface")


def runs_alone(state, scenario, baseline) -> str | None:
    """Why this scenario must have the target to itself when workers share it, or None: it sets the
    DSP feature switch or an S1SP's implemented flag away from `baseline` (the target's state,
    adapters.target.TargetState), or runs the data fix over an S1SP's database (adapters/leases.py). A
    setting the baseline does not show (the switch None, an S1SP the target's state leaves out) may be
    either, so a scenario that sets it runs alone whichever way it sets it. The reason is what a scenario
    whose wait for the target timed out says it waited for."""
    for step in scenario.steps:
        text = step.name
        m = _SWITCH.fullmatch(text)
        if m and state.can(Capability.SWITCHES) and (m["setting"] == "on") != baseline.mp107_switch:
            return f"it sets the DSP feature switch {m['setting']}"
        m = _IMPLEMENTED.fullmatch(text)
        if m and state.can(Capability.SWITCHES) and \
                (not m["negation"]) != baseline.s1sp_implemented.get(m["s1sp"]):
            return f"it sets {m['s1sp']} {'not ' if m['negation'] else ''}implemented"
        m = _DATAFIX_RUN.fullmatch(text)
        if m and state.can(Capability.DATAFIX):
            return f"it runs the data fix on the database of {m['s1sp']}"
        if _DATAFIX_APPLIED.fullmatch(text) and state.can(Capability.PROVISION) and state.can(Capability.DATAFIX) \
                and not state.statement.datafix.applied:
            return "it stages the data fix"
    return None


def not_applicable(reason: str) -> None:
    """The statement rules the scenario out: reported as not applicable, never as passed."""
    pytest.skip(NOT_APPLICABLE_PREFIX + reason)


def check(state, scenario, tags: list[str]) -> None:
    state.tags = tuple(tags)
    statement = state.statement
    device_step = None
    for step in scenario.steps:
        text = step.name
        for pattern, fixed in _DEVICE_STEPS:
            m = pattern.fullmatch(text)
            if m:
                device_step = {**fixed, **m.groupdict()}
        m = _SWITCH.fullmatch(text)
        if m:
            state.needs_switch = m["setting"] == "on"
            why = statement.why_not_switch(m["setting"] == "on", can_set=state.can(Capability.SWITCHES))
            if why:
                not_applicable(why)
        m = _IMPLEMENTED.fullmatch(text)
        if m:
            why = statement.why_not_implemented(m["s1sp"], not m["negation"], can_set=state.can(Capability.SWITCHES))
            if why:
                not_applicable(why)
        if _DCC_INTERFACE.fullmatch(text):
            why = statement.why_not_dialect("dcc")
            if why:
                not_applicable(why)
        m = _DATAFIX_RUN.fullmatch(text)
        if m and not state.can(Capability.DATAFIX):
            not_applicable(f"the harness cannot run the data fix on this target: [statement.datafix] runnable = "
                           f"false ({statement.source})")
        if _DATAFIX_APPLIED.fullmatch(text):
            if state.can(Capability.PROVISION) and state.can(Capability.DATAFIX) and not statement.datafix.applied:
                continue                # the harness stages it (steps/datafix.py)
            if not statement.datafix.applied:
                not_applicable(f"the statement does not declare the data fix applied: [statement.datafix] applied = "
                               f"false ({statement.source})")
            if not statement.datafix.fixed_devices and not statement.datafix.control_devices:
                not_applicable(f"the statement lists no device the data fix was to fix or leave alone "
                               f"({statement.source})")
    if device_step is not None:
        _check_device(state, device_step)
    fuel = device_step["fuel"] if device_step else None
    for step in scenario.steps:
        for label in _PARTY_WORDS.findall(step.name):
            if label in PARTIES and fuel is None:
                continue
            state.planned_fuel = fuel
            state.party(label)          # skips, saying why, if the target cannot know this party


def _check_device(state, wanted: dict) -> None:
    statement, fuel = state.statement, wanted["fuel"]
    for why in (statement.why_not_fuel(fuel),
                statement.why_not_s1sp(wanted["s1sp"]) if wanted.get("s1sp") else None,
                statement.why_not_smets2() if wanted["smets"] == 2 else None):
        if why:
            not_applicable(why)
    state.planned_fuel = fuel
    if state.can(Capability.PROVISION) or state.device_pool is None:
        return                          # a fresh device is provisioned by the Given step
    spec = dict(fuel=fuel, smets=wanted["smets"], s1sp=wanted.get("s1sp") if wanted["smets"] == 1 else None,
                device_type=wanted.get("device_type") or SMETS1_DEVICE_TYPE[fuel],
                status=wanted.get("status", "Commissioned"))
    pool = state.device_pool
    while True:
        setup = pool.take(state.cast, **spec)
        if setup is None:
            pytest.skip(f"target {state.target.name} cannot be provisioned and its profile lists no "
                        f"{pool.wanted(state.cast, **spec)} that holds what it declares (each serves one "
                        f"scenario per run)")
        holds = survey(state, setup)
        if holds is None:
            state.reserved = setup
            return
        pool.reject(setup.device.device_id, holds)


def _observable(setup) -> bool:
    d = setup.device
    return d.status == "Commissioned" and d.device_type != "CHF" and d.smets == 1


def _declared(state, setup) -> dict[str, dict[str, tuple[str, str]]]:
    from .outcomes import expected_pair
    cast, fuel = state.cast, setup.fuel
    return {"Supplier": expected_pair(cast.party("registered supplier", fuel)),
            "NetworkOperator": expected_pair(cast.party("registered network operator", fuel))}


def _read_slots(state, setup):
    """SRV 6.24.1 of both slots, from the registered network operator (read-only)."""
    operator = state.cast.party("registered network operator", setup.fuel)
    request = state.client.build(operator.user_id, setup.device.device_id, "6.24.1",
                                 srv.retrieve_security_credentials(*ROLES))
    return state.client.send(operator.signer, request, description="SRV 6.24.1 reading both slots (device survey)")


def survey(state, setup) -> str | None:
    """None if the device holds what the profile declares; else what it holds, in words. SMETS2
    devices (6.24.1 shows no slot contents in every implementation), decommissioned devices and
    communications hubs (which refuse 6.24.1) are taken as declared."""
    if not _observable(setup):
        return None
    exchange = _read_slots(state, setup)
    if exchange.ack.code != "I99" or exchange.outcome is None or exchange.outcome.code != "I0":
        return f"its 6.24.1 read-back ended in {exchange.final_code}"
    return _difference(state, setup, exchange)


def _difference(state, setup, exchange) -> str | None:
    from .outcomes import slot_holds
    wrong = []
    for role, expected in _declared(state, setup).items():
        ok, shown = slot_holds(state, exchange, role, expected)
        if not ok:
            wrong.append(f"{role} slot: {shown}")
    return "; ".join(wrong) or None


def postamble(state, scenario_name: str) -> None:
    """Put a profile device back as declared, where the rules allow; record what happened."""
    setup, pool = state.reserved, state.device_pool
    if setup is None or pool is None:
        return
    device_id = setup.device.device_id
    if not state.changed_slots:
        pool.record(device_id, "unchanged", scenario=scenario_name)
        pool.give_back(device_id)
        return
    try:
        if _observable(setup):
            difference = _difference(state, setup, _read_slots(state, setup))
            if difference is None:
                pool.record(device_id, "unchanged", scenario=scenario_name)
                pool.give_back(device_id)
                return
            if "Supplier slot" in difference:
                pool.record(device_id, "left changed", f"{difference}; the Supplier slot cannot be restored by "
                            "the harness (only its owner could replace it)", scenario_name)
                return
        operator = state.cast.party("registered network operator", setup.fuel)
        supplier = state.cast.party("registered supplier", setup.fuel)
        request = state.client.build(supplier.user_id, device_id, "6.21",
                                     srv.handover(operator.certificate_pair(), state.cast.certification_path()))
        exchange = state.client.send(supplier.signer, request,
                                     description="SRV 6.21 restoring the registered network operator's certificates (postamble)")
        if exchange.final_code != "I0":
            pool.record(device_id, "left changed", f"the restoring 6.21 ended in {exchange.final_code}", scenario_name)
            return
        if _observable(setup):
            difference = _difference(state, setup, _read_slots(state, setup))
            if difference is not None:
                pool.record(device_id, "left changed", f"after the restoring 6.21: {difference}", scenario_name)
                return
        pool.record(device_id, "restored", "the registered supplier's 6.21 put the declared certificates back",
                    scenario_name)
    except Exception as exc:           # the postamble never turns a verdict; it reports
        pool.record(device_id, "left changed", f"the postamble could not finish: {type(exc).__name__}: {exc}",
                    scenario_name)
