"""What a scenario saw, in words that mean the same in every run and on every target: per Service
Request, who sent what, the acknowledgement code, the final code (or S1SP alert), and whose
certificates a 6.24.1 read back in each slot. `mp107 diff` compares two runs by it (mp107/diff.py);
the steps record one per exchange on the scenario's Allure result (steps/scenario_state.py).

Parties are named by their part in the scenario (the cast's labels), never by User ID, certificate
hash or device ID, which differ between runs (fresh SMKI, fresh devices) and between targets."""
from __future__ import annotations

import re

from .client import Exchange
from .world import Cast


_REQUEST_ID = re.compile(r"\b[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}:[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}:\w+")
_COUNTER = re.compile(r"\b\d{10,}\b")


def _words(text: str, device: str | None) -> str:
    """A description without what changes from run to run: RequestIDs, counters, the device's ID."""
    text = _COUNTER.sub("<counter>", _REQUEST_ID.sub("<RequestID>", text))
    return text.replace(device, "<device>") if device else text


def observe(exchange: Exchange, cast: Cast) -> dict:
    device = exchange.request_id.split(":")[1] if exchange.request_id.count(":") == 2 else None
    description = _words(exchange.description, device)
    seen: dict = {"request": description, "from": _who(cast, exchange.sender)}
    if exchange.fault is not None:
        seen["ack"] = "no answer (the target broke)"
    elif exchange.ack is not None:
        seen["ack"] = exchange.ack.code
    if exchange.outcome is not None:
        response = exchange.outcome.response
        seen["final"] = (f"S1SP alert {response.s1sp_alert.code}" if response.s1sp_alert is not None
                         else response.response_code)
        slots = _slots(cast, response.credentials or ())
        if slots:
            seen["slots"] = slots
    return seen


def _who(cast: Cast, user_id: str) -> str:
    labels = sorted({p.label for p in cast.parties if p.user_id == user_id})
    return " / ".join(labels) or f"user {user_id}"


def _slots(cast: Cast, credentials) -> dict[str, str]:
    owners: dict[tuple[str, str], str] = {}
    entities: dict[str, str] = {}
    for party in cast.parties:
        try:
            entries = party.slot_entries()
        except ValueError:          # a party without Organisation certificates
            continue
        for entity, sha1 in entries.values():
            owners.setdefault((entity, sha1.lower()), party.label)
            entities.setdefault(entity, party.label)
    by_role: dict[str, dict[str, str]] = {}
    for detail in credentials:
        entity, sha1 = str(detail.remote_party_id), (detail.certificate_hash or "").lower()
        owner = owners.get((entity, sha1)) or (f"{entities[entity]} (another certificate)" if entity in entities
                                               else f"unknown entity {entity}")
        by_role.setdefault(detail.role, {})[detail.usage] = owner
    return {role: (next(iter(set(usages.values()))) if len(set(usages.values())) == 1
                   else "; ".join(f"{usage}: {owner}" for usage, owner in sorted(usages.items())))
            for role, usages in sorted(by_role.items())}
