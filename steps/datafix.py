"""The Requirement 2 data fix, judged on the target: either the harness runs the target's data fix
through test support and reads the devices back (SIT), or the target's conformance statement says
its operator applied it and 6.24.1 reads back the devices it lists. The PIT of the reference's own
script is not here: it is a test of the reference (tests/pit/), not evidence about a target."""
from __future__ import annotations

from dataclasses import dataclass

from pytest_bdd import given, parsers, then, when

from adapters.world import new_device, with_wrong_network_operator
from conformance.verdicts import DATA_FIX

from .outcomes import expected_pair, slot_holds
from .scenario_state import explain
from .vocabulary import S1SP


@when(parsers.re(rf"the DCC runs the data fix(?P<dry> as a dry run)? on the database of {S1SP}"))
def dcc_runs_datafix(state, dry, s1sp):
    state.changed_slots = True
    state.datafix_report, state.datafix_fixed = state.target.run_datafix(s1sp, dry_run=bool(dry))


def _summary(state) -> str:
    r = state.datafix_report
    return (f"the data fix's report: {r.mode}, found {r.total.found}, fixed {r.total.fixed}, unfixable "
            f"{[(u.device_id, u.reason) for u in r.unfixable][:5]}; it changed {len(state.datafix_fixed)} device(s)")


@then("the data fix reports this device as found and fixed")
def fixed_this_device(state):
    device = state.device.device.device_id
    state.judge(device in state.datafix_fixed, DATA_FIX,
                f"device {device} (NetworkOperator slot left wrong by 6.21) to be among the devices the data fix "
                f"fixed; {_summary(state)}")


@then("the data fix has not changed this device")
def not_changed(state):
    device = state.device.device.device_id
    state.judge(device not in state.datafix_fixed, DATA_FIX,
                f"device {device} to be left alone by this run of the data fix; {_summary(state)}")


@dataclass(frozen=True)
class StagedDevice:
    device_id: str
    fuel: str
    s1sp: str
    device_type: str


@given("the DCC's operator has applied the data fix")
def operator_applied(state):
    """Stated, not set, where the statement declares it (its fixed and control devices); where the
    harness can provision devices and run the data fix (test support), it stages the same world: per
    S1SP and fuel a device left wrong and a correct control device, then the data fix on each S1SP's
    database, as the operator would. (The preflight found the scenario not applicable otherwise.)"""
    if state.statement.datafix.applied:
        state.datafix_devices = (state.statement.datafix.fixed_devices, state.statement.datafix.control_devices)
        return
    fixed, control = [], []
    for s1sp in ("S1SP1", "S1SP2", "S1SP3"):
        cohort = state.target.cohort_of(s1sp)
        for fuel in ("electricity", "gas"):
            for wrong, bucket in ((True, fixed), (False, control)):
                setup = new_device(state.cast, fuel=fuel, smets=1, s1sp=s1sp, cohort=cohort)
                if wrong:
                    setup = with_wrong_network_operator(state.cast, setup)
                state.target.provision(setup.fixture)
                d = setup.device
                state.profile_devices[d.device_id] = StagedDevice(d.device_id, fuel, s1sp, d.device_type)
                bucket.append(d.device_id)
        state.target.run_datafix(s1sp)
    state.datafix_devices = (tuple(fixed), tuple(control))


def _read_back(state, device_id: str):
    from adapters import service_requests as srv
    device = state.profile_devices[device_id]
    operator = state.cast.party("registered network operator", device.fuel)
    request = state.client.build(operator.user_id, device_id, "6.24.1",
                                 srv.retrieve_security_credentials("Supplier", "NetworkOperator"))
    exchange = state.client.send(operator.signer, request, description=f"SRV 6.24.1 reading both slots of {device_id}")
    state.record(exchange)
    return device, exchange


def _check_devices(state, ids, roles: tuple[str, ...], what: str) -> None:
    wrong = []
    for device_id in ids:
        device, exchange = _read_back(state, device_id)
        if exchange.final_code != "I0":
            wrong.append(explain(exchange, "I99 then I0 for the 6.24.1 read-back"))
            continue
        parties = {"Supplier": state.cast.party("registered supplier", device.fuel),
                   "NetworkOperator": state.cast.party("registered network operator", device.fuel)}
        for role in roles:
            ok, shown = slot_holds(state, exchange, role, expected_pair(parties[role]))
            if not ok:
                wrong.append(f"{device_id} ({device.s1sp} {device.device_type}) {role} slot: expected "
                             f"{parties[role]}'s certificates; {shown}")
    state.judge(not wrong, DATA_FIX, f"{what}, {len(ids)} device(s); {len(wrong)} do not:\n" + "\n".join(wrong))


@then(parsers.re(r"SRV 6\.24\.1 shows the registered network operator's certificates in the NetworkOperator slot "
                 r"of every device the statement lists as fixed"))
def statement_fixed_devices(state):
    _check_devices(state, state.datafix_devices[0], ("NetworkOperator",),
                   "every device the statement lists as fixed to hold its registered NO's certificates")


@then("SRV 6.24.1 shows the declared certificates in both slots of every control device the statement lists")
def statement_control_devices(state):
    _check_devices(state, state.datafix_devices[1], ("Supplier", "NetworkOperator"),
                   "every control device to hold the declared certificates in both slots")
