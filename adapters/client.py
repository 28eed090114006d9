"""A DCC User's side of the conversation: build a DUIS Service Request, sign it with the user's
XML-signing key, submit it, and await the final outcome. Every exchange is kept whole (what was
sent, the acknowledgement, the outcome) so that a verdict can show it."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from duis import codec, messages, signing
from duis.types import EUI64, RequestID

from .silence import OutcomeWaits
from .target import Acknowledgement, Outcome, Target, TargetFault
from .wire import DSP, Signers, WireLeg, legs_of

CRITICAL_CV = 4      # 6.15.1: the DCC transforms the request (see reference docs on CV 4)
NON_CRITICAL_CV = 1  # 6.21, 6.24.1
DEFAULT_CV = {"6.15.1": CRITICAL_CV, "6.21": NON_CRITICAL_CV, "6.24.1": NON_CRITICAL_CV}


class OriginatorCounter:
    """Strictly rising per user for the whole life of a target, not per run: the current time in
    microseconds, bumped past the last value used (as DCC Boxed's signing tool does, in ms)."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}
        self._lock = threading.Lock()

    def last(self, user_id: str) -> int | None:
        """The last counter handed out for `user_id` in this run (None if none yet)."""
        with self._lock:
            return self._last.get(user_id)

    def next(self, user_id: str) -> int:
        with self._lock:
            value = max(self._last.get(user_id, 0) + 1, time.time_ns() // 1000)
            self._last[user_id] = value
            return value

    def end_turn(self, user_id: str) -> None:
        """The request carrying `user_id`'s last counter was answered: another may take the next.
        Nothing to do in one process (adapters/leases.py SharedCounter: several workers, one target)."""

    def end_turns(self) -> None:
        """End every turn still open (a scenario that built a request and never sent it)."""


@dataclass
class Exchange:
    """One Service Request and everything that came back."""
    sender: str
    description: str
    request_id: str
    request_xml: bytes
    ack: Acknowledgement | None = None
    outcome: Outcome | None = None
    notes: list[str] = field(default_factory=list)
    fault: str | None = None
    """hostile input only: how the target broke instead of answering (5xx, dropped connection, timeout)"""

    @property
    def legs(self) -> tuple:
        """On the DCC's own interface, every HTTP exchange the request took (adapters.target.Leg): for a
        6.15.1 the transform and the Signed Pre-Command, each with its GBCS command decoded."""
        return self.ack.legs if self.ack is not None else ()

    @property
    def final_code(self) -> str | None:
        if self.outcome is not None:
            return self.outcome.code
        return self.ack.code if self.ack is not None else None


class Client:
    def __init__(self, target: Target, *, outcome_timeout: float = 10.0,
                 counter: OriginatorCounter | None = None) -> None:
        """`counter`: adapters/leases.py SharedCounter when workers of one run share the target."""
        self.target = target
        self.outcome_timeout = outcome_timeout
        self.counter = counter or OriginatorCounter()
        self.exchanges: list[Exchange] = []
        self.waits = OutcomeWaits()
        """gives up on a silent target after a few outcome waits in a row that got nothing (adapters/silence.py)"""
        self.signers = Signers()
        """the certificates a leg's signature is known by (adapters/wire.py): every key this client signs with"""

    def outcome_waits(self) -> dict:
        """How the outcome waits went, for run-info.json (whether the harness gave up, and why)."""
        return self.waits.report()

    def know(self, signer: signing.Signer) -> None:
        """A key that signs requests this client sends as they are (send_raw): its leg names the signer."""
        self.signers.know(signer.cert)

    def wire_legs(self, exchange: Exchange) -> list[WireLeg]:
        """Every leg of `exchange` as it crossed the wire (adapters/wire.py), for the evidence."""
        dsp = getattr(self.target, "dsp_certificate", None)
        if dsp is not None:
            self.signers.know(dsp, DSP)
        return legs_of(exchange, self.signers)

    def request_id(self, user_id: str, device_id: str) -> RequestID:
        return RequestID(EUI64.parse(user_id), EUI64.parse(device_id), self.counter.next(user_id))

    def build(self, user_id: str, device_id: str, srv: str, body, command_variant: int | None = None,
              counter: int | None = None) -> messages.ServiceRequest:
        """`counter`: an explicit OriginatorCounter (MP107-R4.3 sends one lower than the last used)."""
        request_id = (RequestID(EUI64.parse(user_id), EUI64.parse(device_id), counter) if counter is not None
                      else self.request_id(user_id, device_id))
        return messages.ServiceRequest(request_id, command_variant or DEFAULT_CV[srv], srv, body)

    def send(self, signer: signing.Signer, request: messages.ServiceRequest, *, description: str = "",
             await_outcome: bool = True, hostile: bool = False, **submit_options) -> Exchange:
        """`hostile`: bad input on purpose (see send_raw). `submit_options` go to the target's submit
        (the DCC's own interface: `spoil`)."""
        xml = codec.encode_signed_request(request, signer)   # the wire bytes, sent as they are
        self.know(signer)
        sender = str(request.request_id.originator)
        register = getattr(self.target, "register_signer", None)   # Target Interface v1.1 signs its calls by this key
        if callable(register) and not self.target.signs_for(sender):
            register(sender, signer)
        return self.send_raw(str(request.request_id.originator), str(request.request_id), xml,
                             description=description or f"SRV {request.srv}", await_outcome=await_outcome,
                             hostile=hostile, submit_options=submit_options)

    def send_raw(self, sender: str, request_id: str, xml: bytes, *, description: str = "",
                 await_outcome: bool = True, hostile: bool = False, submit_options: dict | None = None) -> Exchange:
        """`hostile`: the request is bad input on purpose, so a target that breaks on it (HTTP 5xx, a
        dropped connection, a timeout) has failed MP107-R4.2 rather than left the run unjudgeable:
        the fault is kept on the exchange for the step to judge, not raised."""
        exchange = Exchange(sender, description, request_id, xml)
        self.exchanges.append(exchange)
        options = submit_options or {}
        try:
            if hostile:
                try:
                    exchange.ack = self.target.submit(request_id, xml, **options)
                except TargetFault as exc:
                    exchange.fault = str(exc)
                    return exchange
            else:
                exchange.ack = self.target.submit(request_id, xml, **options)
        finally:       # answered (or not): the sender's next counter may go; the outcome is awaited after
            self.counter.end_turn(sender)
        if not hostile:
            if exchange.ack.response is None:   # valid traffic deserves a DUIS answer: cannot be judged
                raise TargetFault(f"{request_id}: the target answered a valid request with {exchange.ack.reason}"
                                  + (f" ({exchange.ack.body_problem})" if exchange.ack.body_problem else ""))
        if len(exchange.legs) > 1:       # the DCC's own interface: say which way the request went
            exchange.notes.extend(leg.summary() for leg in exchange.legs)
        if await_outcome and exchange.ack.code == "I99":
            exchange.outcome = self.waits.await_outcome(self.target, request_id, self.outcome_timeout)
        return exchange
