"""What one scenario remembers between steps, and how a verdict explains itself."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import allure
import pytest

from adapters.client import Client, Exchange
from adapters.target import Capability, TargetFault
from adapters.world import Cast, DeviceSetup


@dataclass(repr=False)
class ScenarioState:
    cast: Cast
    client: Client
    device: DeviceSetup | None = None
    last: Exchange | None = None
    restore: list[Callable[[], None]] = field(default_factory=list)
    device_pool: object = None
    """adapters.profile.DevicePool: the profile's devices, for a target the harness cannot provision"""
    # Requirement 2 (data fix) scenarios
    pit_spec: tuple | None = None
    pit_db: object = None
    datafix_report: object = None
    datafix_fixed: set = field(default_factory=set)

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
        fuel = self.device.fuel if self.device else None
        party = self.cast.party(label, fuel)
        if not party.supplied:
            self.need(Capability.PROVISION, f"load the generated {party} (the profile names no user for it)")
        return party

    def need(self, capability: Capability, why: str) -> None:
        if capability not in self.target.capabilities:
            pytest.skip(f"target {self.target.name} lacks the '{capability.value}' capability needed to {why}")

    def record(self, exchange: Exchange) -> Exchange:
        """Keep the exchange as the last one and attach it to the Allure step."""
        self.last = exchange
        attach(exchange)
        return exchange


def attach(exchange: Exchange) -> None:
    name = f"{exchange.description} [{exchange.request_id}]"
    allure.attach(exchange.request_xml, f"request: {name}", allure.attachment_type.XML)
    if exchange.ack is not None:
        allure.attach(exchange.ack.xml, f"acknowledgement {exchange.ack.code}: {name}", allure.attachment_type.XML)
    if exchange.outcome is not None:
        allure.attach(exchange.outcome.xml, f"outcome {exchange.outcome.code}: {name}", allure.attachment_type.XML)


def explain(exchange: Exchange | None, expectation: str) -> str:
    """One paragraph a test manager can read: what was sent, what was expected, what came back."""
    if exchange is None:
        return f"expected {expectation}, but no Service Request was sent in this scenario"
    lines = [f"{exchange.description} from {exchange.sender}, RequestID {exchange.request_id}",
             f"  expected: {expectation}"]
    if exchange.ack is None:
        lines.append("  acknowledgement: none")
    else:
        ack = f"  acknowledgement: {exchange.ack.code} (HTTP {exchange.ack.http_status})"
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


__all__ = ["ScenarioState", "explain", "attach", "TargetFault"]
