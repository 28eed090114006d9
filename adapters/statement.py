"""The conformance statement of a target: what the implementation is and how it is set.

In the sense of ISO/IEC 9646's Implementation Conformance Statement (ICS) and Extra Information
for Testing (IXIT): the DSP feature switch as deployed, per S1SP whether it implements MP107 and
is in scope, the fuels and device types present, access- and code-table differences, whether the
Requirement 2 data fix has been applied (with the devices it was to fix and the control devices
it must leave alone), and the capabilities offered. Test selection follows from it (SPEC §5):

- a scenario the statement rules out is **not applicable**: reported and counted apart, never
  as passed (each `why_not_*` method says why, or None; steps/preflight.py acts on it);
- an applicable scenario that cannot run here is **skipped** with the reason;
- where the target's answers contradict the statement, that is a finding.

A profile carries it as `[statement]` (docs/targets.md); for `--target local` and the reference
served with test support it is derived from the reference's own state (`settable`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

SETTABLE = "settable"
FUELS = ("electricity", "gas")


@dataclass(frozen=True)
class S1SPStatement:
    implements_mp107: bool | str = SETTABLE     # True, False or "settable"
    in_scope: bool = True


@dataclass(frozen=True)
class DatafixStatement:
    applied: bool = False
    """the operator has applied the Requirement 2 data fix"""
    runnable: bool = False
    """the harness can run it itself (test support)"""
    fixed_devices: tuple[str, ...] = ()
    control_devices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statement:
    source: str
    """where it came from: the profile's path, or 'derived from the reference's state'"""
    feature_switch: bool | str | None = SETTABLE   # True (on), False (off), "settable", None (not declared)
    s1sps: dict[str, S1SPStatement] = field(default_factory=dict)
    fuels: tuple[str, ...] = FUELS
    smets2: bool = True
    access_differences: tuple[str, ...] = ()
    datafix: DatafixStatement = field(default_factory=DatafixStatement)
    test_support: bool = False
    callback_registration: bool = True
    dialect: str = "v1"
    """the interface the target speaks (the profile's [target].dialect): "v1" (Target Interface v1) or
    "dcc" (the DCC's own interface: the Critical round trip through a Pre-Command the user signs)"""

    # --- what a scenario may rely on ------------------------------------------------------------

    def switch_line(self) -> str:
        if self.feature_switch is None:
            return "[statement] feature_switch is not declared"
        shown = "settable" if self.feature_switch == SETTABLE else ("on" if self.feature_switch else "off")
        return f'[statement] feature_switch = "{shown}"'

    def s1sp(self, name: str) -> S1SPStatement:
        return self.s1sps.get(name, S1SPStatement(implements_mp107=False, in_scope=False))

    def why_not_switch(self, on: bool, *, can_set: bool) -> str | None:
        """The scenario needs the DSP feature switch `on`: not applicable where the statement says
        otherwise and the harness cannot set it."""
        if can_set or self.feature_switch == SETTABLE or self.feature_switch is on:
            return None
        return (f"needs the DSP feature switch {'on' if on else 'off'}; {self.switch_line()} "
                       f"({self.source})")

    def why_not_s1sp(self, name: str) -> str | None:
        st = self.s1sp(name)
        if st.in_scope:
            return None
        return (f"{name} is not in scope: [statement.s1sps.{name}] "
                           f"{'in_scope = false' if name in self.s1sps else 'is not declared'} ({self.source})")

    def why_not_implemented(self, name: str, implemented: bool, *, can_set: bool) -> str | None:
        st = self.s1sp(name)
        if can_set or st.implements_mp107 == SETTABLE or st.implements_mp107 is implemented:
            return None
        return (f"needs {name} {'' if implemented else 'not '}to have implemented MP107; "
                       f"[statement.s1sps.{name}] implements_mp107 = {str(st.implements_mp107).lower()} "
                       f"({self.source})")

    def why_not_fuel(self, fuel: str) -> str | None:
        if fuel in self.fuels:
            return None
        return (f"no {fuel} devices: [statement] fuels = {list(self.fuels)} ({self.source})")

    def why_not_smets2(self) -> str | None:
        if self.smets2:
            return None
        return (f"no SMETS2 devices: [statement] smets2 = false ({self.source})")

    def why_not_dialect(self, wanted: str) -> str | None:
        """The scenario is about the DCC's own interface (its Critical round trip): not applicable to a
        target driven through Target Interface v1, which completes a Critical request itself."""
        if self.dialect == wanted:
            return None
        names = {"dcc": "the DCC's own interface (serviceT / serviceS, a Pre-Command the user signs)",
                 "v1": "Target Interface v1"}
        return (f"needs a target that speaks {names.get(wanted, wanted)}; this one is driven through "
                f"{names.get(self.dialect, self.dialect)} ([target] dialect = \"{self.dialect}\")")

    def lines(self) -> list[str]:
        """The statement in words, for the report header."""
        out = [self.switch_line().removeprefix("[statement] ")]
        for name, st in sorted(self.s1sps.items()):
            out.append(f"{name}: implements MP107 = {str(st.implements_mp107).lower()}, "
                       f"in scope = {str(st.in_scope).lower()}")
        out.append(f"fuels = {list(self.fuels)}, SMETS2 devices = {str(self.smets2).lower()}")
        if self.access_differences:
            out.append(f"access differences: {list(self.access_differences)}")
        d = self.datafix
        out.append(f"data fix: applied = {str(d.applied).lower()}, runnable by the harness = "
                   f"{str(d.runnable).lower()}, {len(d.fixed_devices)} device(s) to have been fixed, "
                   f"{len(d.control_devices)} control device(s)")
        out.append(f"test support = {str(self.test_support).lower()}, callback registration = "
                   f"{str(self.callback_registration).lower()}")
        if self.dialect != "v1":
            out.append(f"interface: {self.dialect} (the DCC's own: Critical requests as signed Pre-Commands)")
        return out

    def as_json(self) -> dict:
        return {"source": self.source, "lines": self.lines()}


def derived_from_reference(s1sps, *, source: str = "derived from the reference's own state",
                           runnable_datafix: bool = True) -> Statement:
    """The reference with test support: the switch and every S1SP's flag can be set."""
    return Statement(source=source, feature_switch=SETTABLE,
                     s1sps={name: S1SPStatement(SETTABLE, True) for name in s1sps},
                     datafix=DatafixStatement(applied=False, runnable=runnable_datafix),
                     test_support=True, callback_registration=True)


__all__ = ["Statement", "S1SPStatement", "DatafixStatement", "SETTABLE", "derived_from_reference"]
