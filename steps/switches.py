"""The DSP feature switch and each S1SP's 'implemented MP107' flag. A scenario that needs a state
sets it and restores it afterwards; a target that cannot be switched skips such scenarios."""
from __future__ import annotations

from pytest_bdd import given, parsers

from adapters.target import Capability

from .vocabulary import S1SP


@given(parsers.re(r"the DSP feature switch is (?P<setting>on|off)"))
def feature_switch(state, setting):
    state.need(Capability.SWITCHES, f"turn the DSP feature switch {setting}")
    before = state.target.state().mp107_switch
    state.target.set_switch(setting == "on")
    state.restore.append(lambda: state.target.set_switch(before))


@given(parsers.re(rf"{S1SP} has (?P<negation>not )?implemented MP107"))
def s1sp_implemented(state, s1sp, negation):
    implemented = not negation
    state.need(Capability.SWITCHES, f"set {s1sp} to {'' if implemented else 'not '}having implemented MP107")
    before = state.target.state().s1sp_implemented.get(s1sp, True)
    state.target.set_s1sp_implemented(s1sp, implemented)
    state.restore.append(lambda: state.target.set_s1sp_implemented(s1sp, before))
