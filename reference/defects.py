"""Named, realistic defects the reference can be switched into: mistakes a DSP, S1SP or data-fix team
could plausibly make implementing SECMP0107, so that the harness is seen to catch them.

Not "drop a rule" (that is `ReferenceConfig.broken` / `serve --break RULE`, reference/rules.py):
each defect here does half of a rule, does it in the wrong place, or loses what should be
delivered. Each declares the component it breaks, the SPEC requirements (MP107-Rx.y) it breaks,
and how a harness can see it:

    outcome     a scenario's answers are wrong (a failed scenario, a finding on that component)
    unreadable  the harness only gets answers it cannot read or trust (a missing, unsigned or
                misaddressed outcome): the run is *broken* (exit 2), not failed
    pit         only the reference's own data-fix PIT (tests/pit) can see it: it leaves no trace a
                test through the DCC reads
    tolerated   not a finding: the DCC does something SPEC §5 does not ask for but does not forbid, and
                a correct harness must see through it and judge the DCC on what it must do (the kill
                matrix expects exit 0 and no finding); such a defect declares no requirement

Switch them on by name:

    ReferenceConfig(defects=frozenset({"dsp-exemption-gt-only"}))
    python -m reference serve --defect dsp-exemption-gt-only [--defect ...]
    pytest features --reference-defect dsp-exemption-gt-only          (--target local or serve)
    python -m reference datafix --db URL --run --defect datafix-not-atomic
    MP107_REFERENCE_DEFECTS=datafix-not-atomic pytest tests/pit       (the data-fix script in-process)

Each defect's code sits where a real team would have made the mistake, guarded by
`if defects.active(ctx.config, "name")`, so that the correct path is unchanged and reads as it did.
`where` names that place.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable

COMPONENTS = ("DSP", "S1SP", "S1SP1", "S1SP2", "S1SP3", "SMETS2 device", "Data fix", "delivery")
""""S1SP": all three S1SPs (the same release deployed at each)."""
OBSERVABLE = ("outcome", "unreadable", "pit", "tolerated")
ENVIRONMENT = "MP107_REFERENCE_DEFECTS"
"""Comma-separated defect names for the data-fix script when it is called without an explicit set
(the PIT of tests/pit drives `reference.datafix.run` in-process; `pytest --reference-defect` sets it)."""


@dataclass(frozen=True)
class Defect:
    name: str
    component: str
    requirements: tuple[str, ...]
    description: str
    observable: str
    where: str

    def __post_init__(self) -> None:
        if self.component not in COMPONENTS:
            raise ValueError(f"defect {self.name}: component {self.component!r} is not one of {COMPONENTS}")
        if self.observable not in OBSERVABLE:
            raise ValueError(f"defect {self.name}: observable {self.observable!r} is not one of {OBSERVABLE}")
        if (self.observable == "tolerated") == bool(self.requirements):
            raise ValueError(f"defect {self.name}: a tolerated defect breaks no requirement; any other breaks one")


DEFECTS: dict[str, Defect] = {}


def _defect(name: str, component: str, requirements: tuple[str, ...], description: str, observable: str,
            where: str) -> None:
    if name in DEFECTS:
        raise ValueError(f"defect {name} declared twice")
    DEFECTS[name] = Defect(name, component, requirements, description, observable, where)


# --- DSP: the SRPD 6.2(d) exemption and the checks around it --------------------------------------

_defect("dsp-exemption-gt-only", "DSP", ("MP107-R1.1", "MP107-R1.4", "MP107-R1.10"),
        "The DSP applies the MP107 exemption only to Gas Transporters, so an Electricity Distributor "
        "correcting an electricity meter still gets E4.",
        "outcome", "rules.py dsp_exemption_6_2_d")
_defect("dsp-exemption-ed-only", "DSP", ("MP107-R1.1", "MP107-R1.4", "MP107-R1.10"),
        "The DSP applies the MP107 exemption only to Electricity Distributors, so a Gas Transporter "
        "correcting a gas proxy function still gets E4.",
        "outcome", "rules.py dsp_exemption_6_2_d")
_defect("dsp-exemption-every-srv", "DSP", ("MP107-R3.2",),
        "The DSP skips the Registration Data check for every request a Network Operator sends to a SMETS1 "
        "device, so an unregistered Network Operator's 6.24.1 is accepted instead of getting E4.",
        "outcome", "rules.py dsp_exemption_6_2_d")
_defect("dsp-exemption-suppliers-too", "DSP", ("MP107-R1.7",),
        "The DSP skips the Registration Data check for every 6.15.1 to a SMETS1 device, so a Supplier that "
        "is not the registered one is accepted instead of getting E4.",
        "outcome", "rules.py dsp_exemption_6_2_d")
_defect("dsp-exemption-ignores-switch", "DSP", ("MP107-R1.11",),
        "The DSP applies the MP107 exemption even when its feature switch is off, so the switch cannot "
        "hold the change back.",
        "outcome", "rules.py dsp_exemption_6_2_d")
_defect("dsp-no-rdp-check-for-6.21", "DSP", ("MP107-R3.3",),
        "The DSP no longer checks Registration Data for 6.21 (taken for a change-of-supplier request), so a "
        "Supplier that is not registered is accepted instead of getting E4.",
        "outcome", "rules.py dsp_registration_data")
_defect("dsp-export-supplier-may-send", "DSP", ("MP107-R1.8",),
        "The DSP's access table lets Export Suppliers and Other Users send 6.15.1, so they are turned away "
        "later (E4) instead of getting E2.",
        "outcome", "rules.py dsp_role_access")
_defect("dsp-supplier-may-replace-no-slot", "DSP", ("MP107-R1.12",),
        "The DSP checks only that a Network Operator does not replace the Supplier slot, not the reverse, so "
        "the registered Supplier's 6.15.1 for the NetworkOperator slot is accepted (I99) instead of getting E3.",
        "outcome", "rules.py dsp_remote_party_role")

# --- S1SP -------------------------------------------------------------------------------------

_defect("s1sp-ownership-by-registration", "S1SP", ("MP107-R1.3", "MP107-R1.4"),
        "The S1SP checks that the sender is the Network Operator registered for the supply instead of the "
        "owner of the certificate in the slot, so the wrong Network Operator cannot correct its mistake and "
        "the registered one can overwrite it directly.",
        "outcome", "rules.py s1sp_ownership")
_defect("s1sp-replaces-digital-signing-only", "S1SP", ("MP107-R1.4", "MP107-R1.6", "MP107-R4.2"),
        "The S1SP replaces only the digital-signing certificate of the slot on 6.15.1 and keeps the old "
        "key-agreement certificate, so the slot ends up holding two organisations' certificates.",
        "outcome", "s1sp.py S1SP._execute")
_defect("s1sp-remembers-previous-owner", "S1SP", ("MP107-R1.6",),
        "The S1SP adds the new owner to the slot's authorised parties but never removes the old one, so after "
        "the correction the wrong Network Operator can still replace the certificates.",
        "outcome", "s1sp.py S1SP._execute and rules.py s1sp_ownership")
_defect("s1sp-accepts-any-role-or-usage", "S1SP", ("MP107-R4.2",),
        "The S1SP validates replacement certificates against the role and key usage they claim for themselves "
        "instead of those of the slot, so a Supplier's certificate or swapped key usages are accepted (the "
        "SMKI chain is still checked).",
        "outcome", "rules.py replacement_problems")
_defect("s1sp2-not-implemented", "S1SP2", ("MP107-R1.2", "MP107-R1.4"),
        "S1SP2 was deployed as if it had implemented MP107 but its release lacks the change, so it still "
        "rejects the wrong Network Operator's correction with S1VE4 (releases not coordinated).",
        "outcome", "s1sp.py S1SP.process")
_defect("i0-before-slot-written", "S1SP", ("MP107-R1.3", "MP107-R1.4", "MP107-R3.3", "MP107-R4.2"),
        "The S1SP answers I0 before it has written the new certificates and writes them only after it has "
        "answered its next request, so an immediate 6.24.1 still shows the old ones.",
        "outcome", "s1sp.py S1SP.process and S1SP._execute")

# --- delivery: what the user gets back ----------------------------------------------------------

_defect("s1sp-alerts-never-delivered", "delivery", ("MP107-R1.3", "MP107-R1.6", "MP107-R1.10", "MP107-R4.2"),
        "S1SP alerts (S1VE4, S1VE64, ...) are produced but never reach the user's outbox or callback; I0 "
        "outcomes still do, so every S1SP rejection looks like an outcome that never came.",
        "unreadable", "dcc.py ReferenceDCC._complete")
_defect("outcome-carries-another-request-id", "delivery", ("MP107-R4.2", "MP107-R4.4"),
        "The S1SP stamps each answer with the RequestID of the request it processed before, and the DSP files "
        "it under that RequestID, so a user's request never gets its outcome and the outcome can be read under "
        "someone else's request.",
        "unreadable", "s1sp.py S1SP.process and dcc.py ReferenceDCC._complete")
_defect("responses-unsigned", "delivery", ("MP107-R4.2",),
        "The DSP sends its acknowledgements and outcomes without the XML signature, so a user cannot trust "
        "any answer.",
        "unreadable", "dcc.py ReferenceDCC.sign_response")
_defect("responses-signed-by-another-key", "delivery", ("MP107-R4.2",),
        "The DSP signs its answers with the wrong key (an S1SP's, loaded from the key store by mistake), so "
        "no answer verifies against the DSP's certificate.",
        "unreadable", "dcc.py ReferenceDCC.sign_response")

_defect("acknowledgements-published", "delivery", (),
        "The DSP also pushes its acknowledgement (I99; on the DCC's own interface, the Transform's I0 with its "
        "Pre-Command) to the user's callback, and answers it to GET /api/v1/responses/{RequestID} until the "
        "outcome exists, as a relay in front of a DCC might. Tolerated: SPEC §5 asks that the final outcome be "
        "pushed and readable there, not that nothing else be; every answer is signed and says what it is "
        "(SPEC §2: I99 is the acknowledgement, a Pre-Command is the Transform's answer), so a user tells them "
        "apart, and the harness must judge such a DCC conformant on its real outcomes.",
        "tolerated", "dcc.py ReferenceDCC._publish_early and critical.py CriticalFlow.transform")

# --- security: who signed, and replays ----------------------------------------------------------

_defect("signature-not-verified", "DSP", ("MP107-R4.1",),
        "The DSP checks that a request carries an XML signature but never verifies it, so a request altered "
        "after signing or signed by someone else is accepted.",
        "outcome", "rules.py dsp_signature")
_defect("originator-not-bound-to-signer", "DSP", ("MP107-R4.1",),
        "The DSP verifies the signature with whichever known user's certificate the signature names, not with "
        "the certificate of the request's Business Originator, so one user can send requests in another's name.",
        "outcome", "rules.py dsp_signature")
_defect("replay-accepted", "DSP", ("MP107-R4.3",),
        "The DSP refuses an OriginatorCounter lower than the last one accepted but not an equal one, so the "
        "same signed request sent again (a replay) is accepted and executed again.",
        "outcome", "rules.py dsp_originator_counter")

# --- the Requirement 2 data fix ------------------------------------------------------------------

_defect("datafix-touches-correct-devices", "Data fix", ("MP107-R2.2", "MP107-R2.3"),
        "The data fix rewrites the NetworkOperator slot of every SMETS1 meter with the registered Network "
        "Operator's certificates, correct ones too, and lists them all as fixed.",
        "outcome", "datafix/sql.py find_candidates(every_device=True), from fix.py _find")
_defect("datafix-touches-supplier-slots", "Data fix", ("MP107-R2.2",),
        "The data fix's update matches slot rows by device and key usage but not by role, so it also puts the "
        "registered Network Operator's certificates into the Supplier slot of every device it fixes.",
        "pit", "datafix/sql.py APPLY_CHANGES_ANY_ROLE, from fix.py _apply_any_role")
_defect("datafix-report-ignores-cohort", "Data fix", ("MP107-R2.4",),
        "The data fix's report counts devices by device type only and files them all under one cohort, so "
        "the per-cohort census (IOC, MOC, FOC) is wrong although the right devices are fixed.",
        "pit", "datafix/sql.py COUNT_BY_TYPE_ONLY, from fix.py _find")
_defect("datafix-not-atomic", "Data fix", ("MP107-R2.3",),
        "The data fix commits after each device, so a failure half-way leaves the database partly fixed "
        "instead of as it was.",
        "pit", "datafix/fix.py _apply_per_device")
_defect("datafix-not-idempotent", "Data fix", ("MP107-R2.3",),
        "The data fix also re-selects every device an earlier run audited (a 'resume' for failed runs), so a "
        "second run fixes and reports the same devices again.",
        "outcome", "datafix/sql.py find_candidates(with_audited=True), from fix.py _find")


def all_defect_names() -> list[str]:
    return sorted(DEFECTS)


def unknown(names: Iterable[str]) -> list[str]:
    """The names among `names` that are not defects."""
    return sorted(set(names) - set(DEFECTS))


def check_names(names: Iterable[str]) -> frozenset[str]:
    """`names` as a frozenset; ValueError naming every defect if one is unknown."""
    names = frozenset(names)
    bad = unknown(names)
    if bad:
        raise ValueError(f"no such defect {bad}; the defects are {all_defect_names()}")
    return names


def active(config, name: str) -> bool:
    """Whether defect `name` is switched on in `config` (a ReferenceConfig, or anything with a
    `defects` set). An unregistered `name` is a programming error: a hook that could never fire."""
    if name not in DEFECTS:
        raise KeyError(f"defect hook for {name!r}, which reference/defects.py does not declare")
    return name in (getattr(config, "defects", None) or ())


def from_environment() -> frozenset[str]:
    """The defects named in $MP107_REFERENCE_DEFECTS (comma or space separated); ValueError if unknown."""
    text = os.environ.get(ENVIRONMENT, "")
    return check_names(n for n in text.replace(",", " ").split() if n)


class Switched:
    """A `defects` holder for code that has no ReferenceConfig (the data-fix script)."""

    def __init__(self, defects: Iterable[str] | None) -> None:
        self.defects = from_environment() if defects is None else check_names(defects)
