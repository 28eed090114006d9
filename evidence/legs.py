"""Every leg's signatures re-verified with the certificates in the bundle, and held against what the
run concluded.

- A DUIS document's top-level XML signature is checked with the certificate its KeyInfo names
  (issuer and serial), looked up among the bundled certificates only.
- A leg **from the target** that the index says the DSP signed must verify with a DSP certificate
  of the bundle. If it does not, and its scenario passed, the record disagrees with itself: the
  harness verifies every answer before it believes it.
- A leg **to the target** is the harness's own request. The suite sends some with signatures that do
  not verify on purpose (MP107-R4); such a request agrees with the run when the DSP refused it. One
  the DSP *accepted* (an I-code) in a scenario that passed disagrees: the run passed a DSP that acted
  on a request whose signature does not verify.
- A Signed Pre-Command (Command Variant 5, the DCC's own interface) also carries a GBCS signature
  (gbcs/), checked with the Organisation digital-signing certificates the bundle holds for the
  user whose XML-signing certificate signed the leg. One that does not verify agrees with the run
  unless the request ended in I0 in a scenario that passed.

Nested signatures (an S1SP's SMETS1SignedResponse or S1SP alert inside a DSP-signed Response) are
not re-verified: the S1SPs' certificates are the target's, not the harness's, and the DSP's
signature covers them.
"""
from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import gbcs
from duis import errors as duis_errors, peek, signing

from .certificates import Certificates
from .wire import Leg


@dataclass
class LegResults:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        c = self.counts
        parts = [f"{c['legs']} legs", f"{c['verified']} DUIS signatures verified"]
        if c["refused unverifiable"]:
            parts.append(f"{c['refused unverifiable']} requests that do not verify, each refused by the DSP")
        if c["unsigned"]:
            parts.append(f"{c['unsigned']} unsigned")
        if c["gbcs verified"] or c["gbcs not verified"]:
            parts.append(f"{c['gbcs verified']} GBCS signatures verified"
                         + (f", {c['gbcs not verified']} not (each refused)" if c["gbcs not verified"] else ""))
        return ", ".join(parts)


def _verify_duis(xml: bytes, certs: Certificates, signer: str | None,
                 originator: str | None = None) -> tuple[str | None, str]:
    """(sha256 of the certificate that verifies the top-level signature, or None; why not). Tried: the
    certificate the signature's KeyInfo names, then those of the signer the index names, then (a
    request) those of its Business Originator: KeyInfo is not signed, and the index's signer is read
    from it; a DSP checks a request with its sender's certificate, whatever KeyInfo says (MP107-R4.1)."""
    try:
        issuer, serial = signing.signer_issuer_serial(xml)
        candidates = certs.named_by(issuer, serial)
        why = "" if candidates else f"its KeyInfo names {issuer} serial {serial}, which no certificate in the bundle is"
    except duis_errors.DuisError as exc:
        candidates, why = [], f"no usable signature: {exc}"
    except Exception as exc:        # noqa: BLE001 - hostile bytes: whatever cannot be read is not verified
        return None, f"not readable as signed DUIS XML: {type(exc).__name__}: {str(exc)[:200]}"
    if signer:
        usage = "dsp-xml-signing" if signer == "DSP" else "xml-signing"
        candidates += [c for c in certs.held_by(signer, usage) if c not in candidates]
    if originator:
        candidates += [c for c in certs.held_by(originator, "xml-signing") if c not in candidates]
    if not candidates:
        return None, why or f"no certificate of {signer} in the bundle"
    for sha, cert in candidates:
        try:
            signing.verify(xml, cert)
            return sha, ""
        except duis_errors.DuisError as exc:
            why = str(exc)[:300]
        except Exception as exc:    # noqa: BLE001
            why = f"{type(exc).__name__}: {str(exc)[:200]}"
    return None, why


_SHARED: tuple = ()
"""(legs, data, certs) for the worker processes of `_verify_all`, which inherit it by fork."""
PARALLEL_FROM = 200


def _verify_one(i: int) -> tuple[str | None, str]:
    legs, data, certs = _SHARED
    return _verify_leg(legs[i], data, certs)


def _verify_leg(leg: Leg, data: dict[str, bytes], certs: Certificates) -> tuple[str | None, str]:
    originator = leg.request_id.split(":")[0] if leg.direction == "to-target" and leg.request_id else None
    return _verify_duis(data[leg.sha256], certs, leg.signer, originator)


def _verify_all(todo: list[int], legs: list[Leg], data: dict[str, bytes], certs: Certificates) -> dict[int, tuple]:
    """`_verify_duis` of each leg in `todo`: in one process per core where there are many (signature
    checking is most of a bundle's verification), in this one otherwise."""
    global _SHARED
    workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1), 4)
    if workers < 2 or len(todo) < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return {i: _verify_leg(legs[i], data, certs) for i in todo}
    _SHARED = (legs, data, certs)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return dict(zip(todo, pool.map(_verify_one, todo, chunksize=max(1, len(todo) // (workers * 4)))))
    finally:
        _SHARED = ()


def _code(xml: bytes) -> str | None:
    return peek.outcome_code(xml)


def _answers(legs: list[Leg]) -> dict[tuple[str, str, str], list[Leg]]:
    by: dict[tuple[str, str, str], list[Leg]] = {}
    for leg in legs:
        if leg.direction == "from-target":
            by.setdefault((leg.where.split(" line ")[0], leg.scenario, leg.request_id), []).append(leg)
    return by


def check(legs: list[Leg], data: dict[str, bytes], certs: Certificates, scenario_status: dict[str, str]) -> LegResults:
    """Re-verify every leg (`data`: bytes by SHA-256, those whose file checked out); `scenario_status`:
    node ID -> passed / failed / error / skipped, from the bundled JUnit."""
    out = LegResults()
    answers = _answers(legs)
    verified = _verify_all([i for i, leg in enumerate(legs) if leg.sha256 in data and leg.signer is not None],
                           legs, data, certs)
    for i, leg in enumerate(legs):
        xml = data.get(leg.sha256)
        if xml is None:
            continue                # its file is missing or altered: already a problem
        out.counts["legs"] += 1
        passed = scenario_status.get(leg.scenario) == "passed"
        if leg.signer is None:
            out.counts["unsigned"] += 1
            continue
        verified_by, why = verified[i]
        if leg.direction == "from-target":
            if verified_by is not None and certs.is_dsp(verified_by):
                out.counts["verified"] += 1
            elif verified_by is not None:
                _disagree(out, passed, f"{leg.describe()}: signed by {certs.holders(verified_by)}, not by the DSP")
            else:
                _disagree(out, passed, f"{leg.describe()}: the DSP's signature does not verify with the bundled "
                                       f"certificates: {why}")
            continue
        later = [a for a in answers.get((leg.where.split(" line ")[0], leg.scenario, leg.request_id), ())
                 if a.order > leg.order]
        ack = next((a for a in later), None)
        ack_code = _code(data[ack.sha256]) if ack is not None and ack.sha256 in data else None
        if verified_by is not None:
            out.counts["verified"] += 1
            holders = {h for h, _ in certs.roles.get(verified_by, ())}
            if leg.signer not in holders:
                out.notes.append(f"{leg.describe()}: the index says {leg.signer} signed it; it verifies with the "
                                 f"certificate of {certs.holders(verified_by)}")
        elif ack_code is not None and ack_code.startswith("I") and passed:
            out.problems.append(f"{leg.describe()}: its signature does not verify ({why}), yet the DSP accepted it "
                                f"({ack_code}) and the scenario passed")
        else:
            out.counts["refused unverifiable"] += 1
        _check_gbcs(out, leg, xml, verified_by, certs, later, data, passed)
    return out


def _disagree(out: LegResults, passed: bool, text: str) -> None:
    if passed:
        out.problems.append(text + "; the scenario passed")
    else:
        out.notes.append(text + " (its scenario did not pass)")


def _check_gbcs(out: LegResults, leg: Leg, xml: bytes, verified_by: str | None, certs: Certificates,
                later: list[Leg], data: dict[str, bytes], passed: bool) -> None:
    payload = peek.signed_pre_command_payload(xml)
    if payload is None:
        return
    holders = sorted({h for h, u in certs.roles.get(verified_by, ()) if u == "xml-signing"}) if verified_by else []
    holders = holders or ([leg.signer] if leg.signer else [])
    candidates = [(h, sha, c) for h in holders for sha, c in certs.held_by(h, "organisation-digital-signing")]
    for holder, _sha, cert in candidates:
        try:
            if gbcs.verify(bytes(payload), cert):
                out.counts["gbcs verified"] += 1
                return
        except gbcs.GbcsError:
            break
    outcome = next((a for a in later if a.leg == "outcome"), None) or (later[-1] if later else None)
    code = _code(data[outcome.sha256]) if outcome is not None and outcome.sha256 in data else None
    who = ", ".join(holders) or "nobody the bundle knows"
    if not candidates:
        text = f"{leg.describe()}: no Organisation digital-signing certificate of {who} in the bundle to check its GBCS signature"
    else:
        text = f"{leg.describe()}: its GBCS signature does not verify with the Organisation digital-signing certificate of {who}"
    if code == "I0" and passed:
        out.problems.append(f"{text}, yet the request ended in I0 and the scenario passed")
    else:
        out.counts["gbcs not verified"] += 1
        out.notes.append(f"{text} (it ended in {code or 'no outcome'}, as a refused Pre-Command should)")
