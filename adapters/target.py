"""The Target protocol: one narrow seam between the suite and an implementation under test.

Like httpx's transport, it is a handful of plain methods: submit a signed DUIS request and get the
DSP's acknowledgement; await the final outcome by RequestID with a timeout. Optional capabilities
(provision fixtures, flip the feature switch and S1SP flags, reset) are declared, never assumed: a
scenario that needs one the target lacks is skipped with that reason.

Two kinds of failure are kept apart. A *non-conformance* is an answer that breaks a rule: the
scenario fails. A *target fault* (`TargetFault`: refused connection, timeout, HTTP 5xx, an
unparseable or unsigned answer, an outcome that never arrives) means the target could not be
judged: the scenario is broken, with a one-line reason naming the RequestID and the URL.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from duis.messages import ServiceResponse


class Capability(str, enum.Enum):
    PROVISION = "provision"          # load users, trust anchors, devices, registrations, anchor slots
    SWITCHES = "switches"            # set the DSP feature switch and each S1SP's implemented flag
    RESET = "reset"
    DATAFIX = "datafix"              # run the Requirement 2 data fix on one S1SP's database


class TargetFault(Exception):
    """The target could not be judged (not a conformance failure)."""


class CapabilityMissing(Exception):
    """The target lacks a capability a scenario needs: skip the scenario, saying which."""


@dataclass(frozen=True)
class Leg:
    """One HTTP exchange of a request's way through a target (the DCC's own interface makes a 6.15.1
    two: the transform, then the Signed Pre-Command; adapters/dcc_dialect.py)."""
    name: str
    url: str
    request_id: str
    request: bytes
    http_status: int
    answer: bytes
    code: str
    gbcs: dict | None = None
    """the GBCS command this leg carried, decoded for people (gbcs.describe), where it carried one"""

    def summary(self) -> str:
        line = f"{self.name}: POST {self.url} [{self.request_id}] -> {self.code}"
        g = self.gbcs or {}
        if "error" in g:
            line += f"; GBCS not readable: {g['error']}"
        elif g:
            line += (f"; GBCS {g.get('message')} counter {g.get('originator_counter')} from "
                     f"{g.get('originator_system_title')} to {g.get('recipient_system_title')}, signature "
                     f"{(g.get('signature') or {}).get('state')}")
        return line


@dataclass(frozen=True)
class Acknowledgement:
    request_id: str
    http_status: int
    xml: bytes
    response: ServiceResponse | None
    """None: an HTTP 4xx refusal without a usable DUIS Response (SPEC §5 lets a target answer bad
    input with, e.g., 413 and no body); `reason` says what came instead"""
    reason: str | None = None        # the target's own explanation, where it gives one
    body_problem: str | None = None
    """a 4xx whose body is there but is not a signed DUIS Response: why (R4.2 judges it)"""
    legs: tuple[Leg, ...] = ()
    """on the DCC's own interface: every HTTP exchange the request took, in order (this
    acknowledgement is the last one's answer)"""

    @property
    def code(self) -> str:
        return self.response.response_code if self.response is not None else f"HTTP {self.http_status}"


@dataclass(frozen=True)
class Outcome:
    request_id: str
    xml: bytes
    response: ServiceResponse

    @property
    def code(self) -> str:
        """I0, or the S1SP alert's code, or whatever code ended the request."""
        return self.response.outcome_code


UNSIGNED = "[unsigned: an XML comment outside the DSP's signature, which anyone on the way may have rewritten]"


def unsigned_reason(reason: str | None) -> str | None:
    """The free-text reason of a DSP answer, labelled for what it is: DUIS carries it in an XML comment,
    which exclusive C14N leaves out of the signature (issue 20: a relay rewrote it and the answer still
    verified). So it is never shown as the target's word without saying that it is unsigned."""
    return f"{reason} {UNSIGNED}" if reason else None


def not_a_final_outcome(response: ServiceResponse) -> str | None:
    """Why a DSP-signed `response` (its codes in the SPEC's words) is not a request's final outcome, or
    None when it is one. SPEC §2 and §5: the final outcome is I0 or an S1SP alert (or whatever code ends
    the request); the DSP's acknowledgement (I99) is not, and neither is the Transform's answer on the
    DCC's own interface (I0 carrying a Pre-Command for the user to sign), though both come signed by the
    DSP under the request's RequestID. Whoever pushes one to the callback receiver, or answers a poll with
    it, has sent something that must never be taken for the outcome (issue 20, D1)."""
    if response.pre_command is not None:
        return (f"is not a final outcome: it is the Transform's answer ({response.response_code} with a "
                f"Pre-Command to sign), which comes before the request is sent on")
    if response.s1sp_alert is None and response.response_code == "I99":
        return "is not a final outcome: it is the DSP's acknowledgement (I99), which comes before the outcome"
    return None


@dataclass
class TargetState:
    mp107_switch: bool | None = None
    s1sp_implemented: dict[str, bool] = field(default_factory=dict)


def state_problem(data) -> str | None:
    """Why `data` (a target's test-support GET /state, JSON) is not of the shape the harness reads, or None:
    an object whose mp107_switch is a boolean, whose s1sp_implemented maps names to booleans and whose
    cohorts map cohorts to names (each may be absent or null). Issue 20, D10: a wrong shape crashed the
    harness (AttributeError) instead of making the target broken with a reason."""
    if not isinstance(data, dict):
        return f"expected a JSON object, got {type(data).__name__}"
    if data.get("mp107_switch") is not None and not isinstance(data["mp107_switch"], bool):
        return f"expected mp107_switch true or false, got {type(data['mp107_switch']).__name__}"
    for key, value_type in (("s1sp_implemented", bool), ("cohorts", str)):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, value_type)
                                                  for k, v in value.items()):
            return f"expected {key} an object of {value_type.__name__} values, got {str(value)[:80]!r}"
    return None


@runtime_checkable
class Target(Protocol):
    name: str
    capabilities: frozenset[Capability]

    def submit(self, request_id: str, signed_request: bytes) -> Acknowledgement: ...

    def await_outcome(self, request_id: str, timeout: float) -> Outcome: ...

    def describe(self) -> dict: ...

    # optional, per `capabilities`
    def provision(self, fixture) -> None: ...

    def set_switch(self, on: bool) -> None: ...

    def set_s1sp_implemented(self, s1sp: str, implemented: bool) -> None: ...

    def state(self) -> TargetState: ...

    def reset(self) -> None: ...
