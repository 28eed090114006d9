"""What one scenario remembers between steps, and how a verdict explains itself."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

import allure
import pytest

from adapters.client import Client, Exchange
from adapters.statement import Statement
from adapters.target import Capability, TargetFault
from adapters.world import Cast, DeviceSetup
from conformance import catalogue, verdicts


@dataclass(repr=False)
class ScenarioState:
    cast: Cast
    client: Client
    device: DeviceSetup | None = None
    last: Exchange | None = None
    history: list[Exchange] = field(default_factory=list)
    """every exchange this scenario recorded, in order"""
    restore: list[Callable[[], None]] = field(default_factory=list)
    device_pool: object = None
    """adapters.device_pool.DevicePool: the profile's devices, for a target the harness cannot provision"""
    statement: Statement | None = None
    """the target's conformance statement: what scenarios may rely on (adapters/statement.py)"""
    tags: tuple[str, ...] = ()
    """the scenario's requirement IDs"""
    claimed: set[str] = field(default_factory=set)
    """requirements proven by the scenario's set-up steps, not by its Then steps (e.g. R3.3 by a 6.21)"""
    reserved: object = None
    """the pool device the preflight reserved for this scenario (adapters.profile.DeviceSetup)"""
    profile_devices: dict = field(default_factory=dict)
    """the profile's devices by ID (adapters.profile.ProfileDevice), for the statement's data-fix lists"""
    wire_log: Callable[[dict, bytes, bytes | None], None] | None = None
    """the run folder's wire log (reports/pytest_plugin.py, with --mp107-run-dir): each leg's index entry,
    exact bytes and signer certificate (PEM) go there; None without a run folder"""
    planned_fuel: str | None = None
    """the fuel of the scenario's device, known to the preflight before the device is set"""
    needs_switch: bool | None = None
    """the DSP feature switch setting the scenario states (a 'Given the DSP feature switch is ...' step)"""
    changed_slots: bool = False
    """a request of this scenario may have changed a slot (the postamble then restores a pool device)"""
    # Requirement 2 (data fix) scenarios
    datafix_report: object = None
    datafix_fixed: set = field(default_factory=set)
    datafix_devices: tuple = ((), ())
    """(devices the data fix was to fix, control devices): the statement's, or those the harness staged"""

    def __repr__(self) -> str:
        # Allure records step arguments by repr: keep it to what identifies the scenario's subject.
        device = self.device.device.device_id if self.device else None
        return f"ScenarioState(device={device})"

    @property
    def target(self):
        return self.client.target

    @property
    def fuel(self) -> str:
        return self.device.fuel

    def party(self, label: str):
        fuel = self.device.fuel if self.device else self.planned_fuel
        party = self.cast.party(label, fuel)
        if not party.supplied:
            self.need(Capability.PROVISION, f"load the generated {party} (the profile names no user for it)")
        return party

    def need(self, capability: Capability, why: str) -> None:
        if capability not in self.target.capabilities:
            pytest.skip(f"target {self.target.name} lacks the '{capability.value}' capability needed to {why}")

    def can(self, capability: Capability) -> bool:
        return capability in self.target.capabilities

    @property
    def device_component(self) -> str:
        """Who answers for a request to this scenario's device beyond the DSP: its S1SP, or the SMETS2
        device; in a data-fix scenario, what the slots hold is the data fix's doing."""
        if self.tags and all(t.startswith("MP107-R2.") for t in self.tags):
            return verdicts.DATA_FIX
        device = self.device.device if self.device else None
        if device is None or device.smets == 2:
            return verdicts.SMETS2_DEVICE
        return device.s1sp

    def violation(self, component: str, message: str, requirements: tuple[str, ...] | None = None) -> "Violation":
        """The failure of one step, on the component whose answer broke the rule and the requirements
        it breaks: `requirements` where the step knows them, else the scenario's requirements that
        judge that component (minus those its set-up steps prove)."""
        if not requirements:
            kind = "S1SP" if component in verdicts.S1SPS else component
            fitting = [r for r in self.tags if catalogue.judges(r, kind)]
            # The scenario's own rules of this component first; else what a set-up step claimed (the
            # read-back after a 6.21 set-up judges R3.3); else any tag. R1.9 ("each rule holds per S1SP")
            # goes with whichever rule broke, never alone when a rule of its own is there.
            own = [r for r in fitting if r not in self.claimed and r != PER_S1SP]
            claimed = [r for r in sorted(self.claimed) if catalogue.judges(r, kind)]
            chosen = own or claimed or [r for r in fitting if r != PER_S1SP] or fitting or list(self.tags)
            if PER_S1SP in fitting and PER_S1SP not in chosen:
                chosen.append(PER_S1SP)
            requirements = tuple(chosen)
        step = getattr(self, "current_step", "")
        contradiction = self.contradiction()
        if contradiction:
            message = f"{message}\n  contradicts the conformance statement: {contradiction}"
        allure.dynamic.label(verdicts.COMPONENT_LABEL, component)
        # one label, the IDs space-separated: allure-pytest drops a label whose value repeats another's
        allure.dynamic.label(verdicts.VIOLATED_LABEL, "violated: " + " ".join(requirements))
        if step:
            allure.dynamic.label(verdicts.STEP_LABEL, step)
        head = f"[{component} broke {', '.join(requirements)}" + (f" at '{step}'" if step else "") + "]"
        return Violation(f"{head}\n{message}", component=component, requirements=tuple(requirements), step=step)

    def contradiction(self) -> str | None:
        """Where the last answer is what the target's statement says it is not: e.g. E4 to a Network
        Operator's 6.15.1 from a DSP declared to have the feature switch on, or S1VE4 from an S1SP
        declared to have implemented MP107. The failure is the finding; this names the contradiction."""
        st, last = self.statement, self.last
        if st is None or last is None or last.ack is None:
            return None
        if last.ack.code == "E4" and self.needs_switch is True and st.feature_switch is True:
            return ('the DSP answered E4 as with the feature switch off; [statement] feature_switch = "on"')
        device = self.device.device if self.device else None
        if (last.outcome is not None and last.outcome.code == "S1VE4" and device is not None and device.smets == 1
                and st.s1sp(device.s1sp).implements_mp107 is True):
            return (f"{device.s1sp} answered S1VE4 as an S1SP that has not implemented MP107; "
                    f"[statement.s1sps.{device.s1sp}] implements_mp107 = true")
        return None

    def judge(self, ok: bool, component: str, message: str, requirements: tuple[str, ...] | None = None) -> None:
        if not ok:
            raise self.violation(component, message, requirements)

    def record(self, exchange: Exchange) -> Exchange:
        """Keep the exchange as the last one and attach it to the Allure step."""
        self.last = exchange
        self.history.append(exchange)
        legs = self.client.wire_legs(exchange)
        attach(exchange, legs)
        from adapters.observations import observe      # what `mp107 diff` compares between runs
        seen = {"n": len(self.history), **observe(exchange, self.cast)}    # numbered: Allure keeps no repeated label
        allure.dynamic.label(verdicts.OBSERVED_LABEL, json.dumps(seen, sort_keys=True))
        if self.wire_log is not None:
            for leg in legs:
                self.wire_log(leg.index_entry(), leg.data, leg.signer_certificate)
        return exchange


PER_S1SP = "MP107-R1.9"


class Violation(AssertionError):
    """A step's finding: which component broke which requirements, at which step."""

    def __init__(self, message: str, *, component: str, requirements: tuple[str, ...], step: str) -> None:
        super().__init__(message)
        self.component, self.requirements, self.step = component, requirements, step


def attach(exchange: Exchange, legs=()) -> None:
    """Every leg of the exchange (adapters/wire.py) as two attachments: a copy indented for reading,
    under the name the report sorts by ("request: ...", "acknowledgement E1: ...", "outcome I0: ..."),
    and the exact bytes that crossed the wire, in an attachment of their own whose name carries their
    SHA-256 (what a signature can be checked on again). Bytes that are not a DUIS document are their
    own readable copy: one attachment, named with both."""
    name = f"{exchange.description} [{exchange.request_id}]"
    for leg in legs:
        title = _title(exchange, leg.leg)
        exact = f"wire bytes of the {leg.leg} ({leg.direction}, {leg.length} bytes), sha256 {leg.sha256} [{leg.request_id}]"
        readable = leg.readable()
        if readable == leg.data:
            allure.attach(leg.data, f"{title}: {name}; exact bytes, sha256 {leg.sha256}", allure.attachment_type.XML)
            continue
        allure.attach(readable, f"{title}: {name}", allure.attachment_type.XML)
        allure.attach(leg.data, exact, "text/plain", "xml")
    for n, leg in enumerate(exchange.legs if len(exchange.legs) > 1 else (), start=1):   # the DCC's own interface
        if leg.gbcs is not None:
            allure.attach(json.dumps(leg.gbcs, indent=2), f"leg {n} GBCS command decoded", allure.attachment_type.JSON)


def _title(exchange: Exchange, leg: str) -> str:
    if leg == "acknowledgement" and exchange.ack is not None:
        return f"acknowledgement {exchange.ack.code}"
    if leg == "outcome" and exchange.outcome is not None:
        return f"outcome {exchange.outcome.code}"
    if leg == "transform" and exchange.legs:
        return f"transform answer {exchange.legs[0].code}"
    return {"signed-pre-command": "Signed Pre-Command"}.get(leg, leg)


def explain(exchange: Exchange | None, expectation: str) -> str:
    """One paragraph a test manager can read: what was sent, what was expected, what came back."""
    if exchange is None:
        return f"expected {expectation}, but no Service Request was sent in this scenario"
    lines = [f"{exchange.description} from {exchange.sender}, RequestID {exchange.request_id}",
             f"  expected: {expectation}"]
    if exchange.fault is not None:
        lines.append(f"  the target broke instead of answering: {exchange.fault}")
    elif exchange.ack is None:
        lines.append("  acknowledgement: none")
    else:
        ack = (f"  acknowledgement: {exchange.ack.code} (HTTP {exchange.ack.http_status})"
               if exchange.ack.response is not None else
               f"  acknowledgement: HTTP {exchange.ack.http_status} with no DUIS Response")
        if exchange.ack.reason:
            ack += f" - {exchange.ack.reason}"
        lines.append(ack)
    if exchange.outcome is not None:
        out = exchange.outcome.response
        line = f"  final outcome: {exchange.outcome.code}"
        if out.s1sp_alert is not None:
            line += f" (S1SP alert; header ResponseCode {out.response_code})"
            if out.s1sp_alert.additional_information:
                line += f" - {out.s1sp_alert.additional_information}"
        lines.append(line)
    elif exchange.ack is not None and exchange.ack.code == "I99":
        lines.append("  final outcome: not awaited")
    lines.extend(f"  note: {n}" for n in exchange.notes)
    return "\n".join(lines)


__all__ = ["ScenarioState", "Violation", "explain", "attach", "TargetFault"]
