"""The reference DCC's settings: data, not code."""
from __future__ import annotations

from dataclasses import dataclass, field

S1SPS = ("S1SP1", "S1SP2", "S1SP3")

DEFAULT_COHORTS = {"IOC": "S1SP1", "MOC": "S1SP2", "FOC": "S1SP3"}
"""Which S1SP serves which SMETS1 cohort."""

DEFAULT_ACCESS = {
    "6.15.1": frozenset({"IS", "GS", "ED", "GT"}),
    "6.21": frozenset({"IS", "GS"}),
    "6.24.1": frozenset({"IS", "GS", "ED", "GT"}),
}
"""SPEC §4 access table: which user roles may send which SRV (anything else is E2)."""

DEFAULT_COMMAND_VARIANTS = {
    "6.15.1": frozenset({4, 5, 6, 7}),
    "6.21": frozenset({1, 2, 3}),
    "6.24.1": frozenset({1, 2, 3}),
}
"""SPEC §4: Command Variants each SRV takes (E12 otherwise)."""

CRITICAL_COMMAND_VARIANTS = frozenset({4, 5, 6, 7})

DEVICE_TYPES_FOR_SRV = {
    "6.15.1": frozenset({"ESME", "GSME", "GPF"}),
    "6.21": frozenset({"ESME", "GSME", "GPF"}),
    "6.24.1": frozenset({"ESME", "GSME", "GPF"}),
}
"""Device types each SRV may target (E11 otherwise)."""

STATUSES_FOR_SRV = frozenset({"Commissioned", "InstalledNotCommissioned"})
"""SMI statuses the reference accepts these SRVs for (E5 otherwise)."""


@dataclass
class ReferenceConfig:
    mp107_switch: bool = True
    """The DSP feature switch turning the SRPD 6.2(d) exemption on (all S1SPs)."""
    s1sp_implemented: dict[str, bool] = field(default_factory=lambda: {s: True for s in S1SPS})
    """Per S1SP: has it implemented MP107 (no S1VE4 for a NO's 6.15.1 on NetworkOperator)?"""
    cohorts: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_COHORTS))
    access: dict[str, frozenset[str]] = field(default_factory=lambda: dict(DEFAULT_ACCESS))
    broken: frozenset[str] = frozenset()
    """Names of rules (reference/rules.py) deliberately broken, to prove which scenarios catch them."""
    defects: frozenset[str] = frozenset()
    """Names of realistic defects (reference/defects.py) switched on: half a rule, a rule in the wrong
    place, or an answer lost on the way back."""
    outcome_delay: float = 0.0
    """Seconds between a request's acknowledgement and its final outcome (reference/latency.py)."""

    def __post_init__(self) -> None:
        from .defects import check_names
        self.defects = check_names(self.defects)
