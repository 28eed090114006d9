"""Give up on a silent target quickly.

A target whose final outcomes never arrive (or arrive under other RequestIDs, or unsigned) would
otherwise cost every remaining scenario its full outcome timeout: 183 scenarios x 10 s. So the
client waits for outcomes through one `OutcomeWaits`: after `GIVE_UP_AFTER` outcome waits in a row
(across scenarios) in which nothing verifiable arrived for the RequestID awaited, it stops waiting.
Every later wait ends at once in a `TargetFault` naming the RequestIDs that went unanswered and what
did arrive meanwhile (e.g. outcomes under other RequestIDs, as the callback receiver saw them), so the
remaining scenarios that need an outcome are broken with that cause and the run ends NOT JUDGED in
about GIVE_UP_AFTER outcome timeouts. Scenarios that need no outcome (a DSP rejection) still run.

One `OutcomeWaits` per `Client`, so per pytest process: under pytest-xdist each worker keeps its
own count and gives up after its own GIVE_UP_AFTER silent waits. An outcome that does arrive resets
the count; once given up, the process does not wait again.
"""
from __future__ import annotations

import threading
import time
from collections import deque

from .target import Outcome, TargetFault
from .transport import one_line

GIVE_UP_AFTER = 5
"""outcome waits in a row with nothing verifiable before the harness stops waiting"""
SHOWN = 8
"""arrivals kept to describe what came instead"""


class OutcomeWaits:
    def __init__(self, limit: int = GIVE_UP_AFTER) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._silent: list[tuple[str, str]] = []      # (RequestID, why) of the waits in a row that got nothing
        self._arrived: deque[tuple[str, str]] = deque(maxlen=SHOWN)     # (RequestID, what came for it)
        self.gave_up: str | None = None
        """why the harness stopped waiting (None while it still waits)"""
        self.not_waited: list[str] = []
        """RequestIDs whose outcome was not awaited after giving up (the first SHOWN of them)"""
        self.not_waited_count = 0
        self.waits = self.answered = 0

    def await_outcome(self, target, request_id: str, timeout: float) -> Outcome:
        """`target.await_outcome(request_id, timeout)`, unless the harness has given up on the target."""
        with self._lock:
            if self.gave_up is not None:
                self.not_waited_count += 1
                if len(self.not_waited) < SHOWN:
                    self.not_waited.append(request_id)
                raise TargetFault(f"{request_id}: outcome not awaited: {self.gave_up}")
            self.waits += 1
        started = time.time()
        try:
            outcome = target.await_outcome(request_id, timeout)
        except TargetFault as exc:
            self._nothing(request_id, one_line(exc, 240), _arrivals(target, started, request_id))
            raise
        with self._lock:
            self._silent.clear()
            self.answered += 1
        return outcome

    def _nothing(self, request_id: str, why: str, arrived: list[str]) -> None:
        with self._lock:
            self._silent.append((request_id, why))
            self._arrived.extend(a for a in arrived if a not in self._arrived)
            if len(self._silent) < self.limit or self.gave_up is not None:
                return
            rids = ", ".join(rid for rid, _ in self._silent)
            unanswered = {rid for rid, _ in self._silent}
            came = "; ".join(f"{what} for RequestID {rid}" + (" (after its own wait had ended)" if rid in unanswered
                                                               else "") for rid, what in self._arrived)
            came = came or "nothing for any RequestID"
            self.gave_up = one_line(
                f"the harness stopped waiting for outcomes after {len(self._silent)} outcome waits in a row in which "
                f"nothing verifiable arrived (unanswered RequestIDs: {rids}; the last: {self._silent[-1][1]}); what "
                f"did arrive meanwhile: {came}", 1500)

    def report(self) -> dict:
        """For run-info.json: whether and why the harness gave up, and the counts."""
        with self._lock:
            return {"waits": self.waits, "answered": self.answered, "gave_up": self.gave_up,
                    "unanswered": [rid for rid, _ in self._silent], "not_waited": self.not_waited_count,
                    "not_waited_first": list(self.not_waited), "limit": self.limit}


def _arrivals(target, since: float, awaited: str) -> list[tuple[str, str]]:
    """What the target's callback receiver took or kept since `since`, for other RequestIDs than `awaited`."""
    receiver = getattr(target, "receiver", None)
    recent = getattr(receiver, "arrivals", None)
    if recent is None:
        return []
    return [(rid, what) for at, rid, what in list(recent) if at >= since and rid != awaited]
