"""Latency between the acknowledgement and the final outcome (`python -m reference serve
--outcome-delay SECONDS`, SPEC §5 "Latency").

A real DCC's outcome comes seconds to minutes after its I99 (DSP -> S1SP -> device and back). The
reference processes a request at once, on its S1SP's worker, in arrival order, and files its
outcome only after the delay: a timer per outcome, so no S1SP worker and no other request waits
for it. Closing the DCC forgets the outcomes still to come."""
from __future__ import annotations

import threading
from typing import Callable


class OutcomeDelay:
    def __init__(self, seconds: float = 0.0) -> None:
        if not seconds >= 0 or seconds == float("inf"):
            raise ValueError(f"outcome delay: expected a finite number of seconds >= 0, got {seconds!r}")
        self.seconds = float(seconds)
        self._pending: set[threading.Timer] = set()
        self._lock = threading.Lock()
        self._closed = False

    def after(self, publish: Callable[[], None]) -> None:
        """Run `publish` once the delay has passed (at once without one), on a timer thread."""
        if self.seconds <= 0:
            publish()
            return

        def fire() -> None:
            with self._lock:
                self._pending.discard(timer)
                if self._closed:
                    return
            publish()

        timer = threading.Timer(self.seconds, fire)
        timer.daemon = True
        timer.name = "outcome-delay"
        with self._lock:
            if self._closed:
                return
            self._pending.add(timer)
        timer.start()

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pending, self._pending = self._pending, set()
        for timer in pending:
            timer.cancel()
