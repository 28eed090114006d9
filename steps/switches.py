"""The DSP feature switch and each S1SP's 'implemented MP107' flag, stated rather than set: where
the target lets the harness set them, the step sets the state and restores it afterwards; where the
conformance statement declares that state, the scenario runs on it; elsewhere the preflight has
already found the scenario not applicable (steps/preflight.py), before it sent anything."""
from __future__ import annotations

from pytest_bdd import given, parsers

from adapters.target import Capability

from .vocabulary import S1SP


@given(parsers.re(r"the DSP feature switch is (?P<setting>on|off)"))
def feature_switch(state, setting):
    if not state.can(Capability.SWITCHES):
        return                                  # the statement declares it so (checked by the preflight)
    before = state.target.state().mp107_switch
    state.target.set_switch(setting == "on")
    state.restore.append(lambda: state.target.set_switch(before))


@given(parsers.re(rf"{S1SP} has (?P<negation>not )?implemented MP107"))
def s1sp_implemented(state, s1sp, negation):
    if not state.can(Capability.SWITCHES):
        return
    implemented = not negation
    before = state.target.state().s1sp_implemented.get(s1sp, True)
    state.target.set_s1sp_implemented(s1sp, implemented)
    state.restore.append(lambda: state.target.set_s1sp_implemented(s1sp, before))
