"""The DSP: the DCC's front door. Applies SPEC §4 in order (rules.DSP_CHECKS), answers
synchronously with a signed acknowledgement (I99) or E code, and sends accepted SMETS1 requests to
the device's S1SP (SMETS2 requests to the device), whose final outcome arrives later."""
from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from datetime import datetime, timezone

from duis import codec, errors

from . import codes, rules


@dataclass(frozen=True)
class Verdict:
    """The DSP's synchronous answer."""
    http_status: int
    response: bytes          # signed DUIS Response
    code: str                # the SPEC code (on the wire: ReferenceDCC.emit_code of it)
    reason: str | None
    accepted: "rules.Context | None" = None   # set when I99: what to route on


class OriginatorCounters:
    """Per user, the last OriginatorCounter the DSP accepted (MP107-R4.3, rule dsp.originator_counter).
    Kept in memory and, with `path`, written through to the DSP's own SQLite store in the DCC's data
    folder, so that replay protection survives a restart (issue 20, D8: a 6.21 captured before a
    restart was accepted after it and put the wrong NO's certificates back). A test-support reset
    forgets them (the harness's counters rise for ever anyway)."""

    def __init__(self, path: Path | str | None = None) -> None:
        self._last: dict[str, int] = {}
        self._lock = threading.Lock()
        self._db = None
        if path is not None:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS originator_counter "
                             "(user_id TEXT PRIMARY KEY, counter INTEGER NOT NULL)")
            self._last = {user: int(counter) for user, counter in
                          self._db.execute("SELECT user_id, counter FROM originator_counter")}

    def take(self, user_id: str, counter: int, *, equal_ok: bool = False) -> int | None:
        """Accept `counter` from `user_id` if it is greater than the last one accepted (or equal to it,
        with `equal_ok`: the defect replay-accepted) and remember it: None. Else the last one, and
        nothing is remembered."""
        with self._lock:
            last = self._last.get(user_id)
            if last is not None and (counter < last if equal_ok else counter <= last):
                return last
            if self._db is not None:          # stored before it counts: a restart never forgets it
                self._db.execute("INSERT INTO originator_counter (user_id, counter) VALUES (?, ?) ON CONFLICT "
                                 "(user_id) DO UPDATE SET counter = excluded.counter", (user_id, counter))
            self._last[user_id] = counter
            return None

    def clear(self) -> None:
        with self._lock:
            self._last.clear()
            if self._db is not None:
                self._db.execute("DELETE FROM originator_counter")

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _known_users(directory) -> list:
    """Every user in the DSP's directory (only the defect originator-not-bound-to-signer looks)."""
    with directory._lock:
        return list(directory._users.values())


class DSP:
    def __init__(self, dcc) -> None:
        self.dcc = dcc
        self.counters = OriginatorCounters(dcc.data_dir / "dsp.sqlite")

    def handle(self, xml: bytes, *, request=None) -> Verdict:
        """`request`: `xml` already decoded (the DCC's own interface decodes it to route it)."""
        admitted = self.admit(xml, request=request)
        if isinstance(admitted, Verdict):
            return admitted
        return self.acknowledge(admitted)

    def acknowledge(self, admitted: "rules.Context") -> Verdict:
        """I99 for a request every check admitted; the Verdict carries it on to be routed."""
        return self._answer(200, admitted.request, codes.I99, None, accepted=admitted)

    def admit(self, xml: bytes, *, request=None, skip: tuple[str, ...] = ()) -> "rules.Context | Verdict":
        """Decode `xml` (unless `request`, the request to judge, is given) and apply DSP_CHECKS but
        `skip`: the Context to act on when every check passes, else the signed refusal (a Verdict).
        The DCC's own interface (reference/critical.py) judges a signed Pre-Command this way: the
        transform request it belongs to, with the Command Variant 5 request's XML and signature."""
        if request is None:
            try:
                request = codec.decode_request(xml)
            except errors.UnsupportedServiceRequest as exc:
                return self._answer(400, None, codes.E1, f"unsupported Service Request: {exc}", srv=None)
            except errors.DuisError as exc:
                return self._answer(400, None, codes.E1, f"{type(exc).__name__}: {exc}", srv=None)
        dcc = self.dcc
        ctx = rules.Context(request=request, xml=xml, config=dcc.config,
                            sender=dcc.users.get(request.request_id.originator),
                            trust_anchors=dcc.users.trust_anchors, originator_counters=self.counters,
                            known_users=lambda: _known_users(dcc.users))
        for name in rules.DSP_CHECKS:
            if name in skip:
                continue
            if name == "dsp.device_exists":
                ctx.device = dcc.inventory.get(request.request_id.target)
            if name == "dsp.registration_data":
                ctx.registration = dcc.registrations.get(ctx.device.mpxn)
            rejection = rules.run_check(name, ctx)
            if rejection:
                return self._answer(200, request, rejection.code, f"{rejection.rule}: {rejection.reason}")
        return ctx

    def _answer(self, status, request, code, reason, *, srv="", accepted=None) -> Verdict:
        now = datetime.now(timezone.utc)
        if request is None:   # unreadable input: HTTP 400 with a Response that says why
            xml = codec.encode_refusal(code, reason, now)
        else:
            xml = codec.encode_acknowledgement(request.request_id, code, request.srv, now, reason=reason)
        return Verdict(status, self.dcc.sign_response(xml), code, reason, accepted)
