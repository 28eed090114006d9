"""The conformance statement (adapters/statement.py): what each `why_not_*` lets a scenario rely on, and
the exact words of each reason, because the report and verdict.json show them to the target's owner
as *why* a scenario was not applicable (a wrong word there sends them to the wrong line of their profile)."""
from __future__ import annotations

import pytest

from adapters.statement import (SETTABLE, DatafixStatement, S1SPStatement, Statement, derived_from_reference)

SRC = "dcc.toml [statement]"


def stmt(**kw) -> Statement:
    return Statement(source=SRC, **kw)


# --- the feature switch -------------------------------------------------------------------------------

@pytest.mark.parametrize("switch, line", [
    (None, "[statement] feature_switch is not declared"),
    (SETTABLE, '[statement] feature_switch = "settable"'),
    (True, '[statement] feature_switch = "on"'),
    (False, '[statement] feature_switch = "off"'),
])
def test_the_switch_line_says_what_the_statement_declares(switch, line):
    assert stmt(feature_switch=switch).switch_line() == line


@pytest.mark.parametrize("switch, on, can_set, applies", [
    (True, True, False, True), (False, False, False, True),       # as deployed
    (True, False, False, False), (False, True, False, False),     # the other way: not applicable
    (SETTABLE, True, False, True), (SETTABLE, False, False, True),
    (False, True, True, True),                                    # the harness can set it
    (None, True, False, False), (None, False, False, False),      # not declared: nothing to rely on
])
def test_a_scenario_needing_the_switch_applies_only_where_it_is_so_or_can_be_set(switch, on, can_set, applies):
    why = stmt(feature_switch=switch).why_not_switch(on, can_set=can_set)
    assert (why is None) is applies


def test_why_not_switch_names_the_setting_needed_and_the_line_that_rules_it_out():
    assert stmt(feature_switch=False).why_not_switch(True, can_set=False) == (
        'needs the DSP feature switch on; [statement] feature_switch = "off" (dcc.toml [statement])')
    assert stmt(feature_switch=True).why_not_switch(False, can_set=False) == (
        'needs the DSP feature switch off; [statement] feature_switch = "on" (dcc.toml [statement])')
    assert stmt(feature_switch=None).why_not_switch(False, can_set=False) == (
        "needs the DSP feature switch off; [statement] feature_switch is not declared (dcc.toml [statement])")


# --- S1SPs ------------------------------------------------------------------------------------------------

def test_an_s1sp_the_statement_does_not_declare_is_out_of_scope_and_not_implementing():
    st = stmt(s1sps={"S1SP1": S1SPStatement(True, True)})
    assert st.s1sp("S1SP1") == S1SPStatement(True, True)
    assert st.s1sp("S1SP2") == S1SPStatement(implements_mp107=False, in_scope=False)


def test_why_not_s1sp_says_whether_it_is_out_of_scope_or_not_declared():
    st = stmt(s1sps={"S1SP1": S1SPStatement(True, True), "S1SP2": S1SPStatement(True, in_scope=False)})
    assert st.why_not_s1sp("S1SP1") is None
    assert st.why_not_s1sp("S1SP2") == (
        "S1SP2 is not in scope: [statement.s1sps.S1SP2] in_scope = false (dcc.toml [statement])")
    assert st.why_not_s1sp("S1SP3") == (
        "S1SP3 is not in scope: [statement.s1sps.S1SP3] is not declared (dcc.toml [statement])")


@pytest.mark.parametrize("implements, wanted, can_set, applies", [
    (True, True, False, True), (False, False, False, True),
    (True, False, False, False), (False, True, False, False),
    (SETTABLE, True, False, True), (SETTABLE, False, False, True),
    (False, True, True, True),
])
def test_a_scenario_needing_an_s1sp_implemented_or_not(implements, wanted, can_set, applies):
    st = stmt(s1sps={"S1SP2": S1SPStatement(implements, True)})
    assert (st.why_not_implemented("S1SP2", wanted, can_set=can_set) is None) is applies


def test_why_not_implemented_names_what_is_needed_and_the_declared_value():
    st = stmt(s1sps={"S1SP1": S1SPStatement(False, True), "S1SP2": S1SPStatement(True, True)})
    assert st.why_not_implemented("S1SP1", True, can_set=False) == (
        "needs S1SP1 to have implemented MP107; [statement.s1sps.S1SP1] implements_mp107 = false "
        "(dcc.toml [statement])")
    assert st.why_not_implemented("S1SP2", False, can_set=False) == (
        "needs S1SP2 not to have implemented MP107; [statement.s1sps.S1SP2] implements_mp107 = true "
        "(dcc.toml [statement])")
    # an undeclared S1SP is taken as not implementing it
    assert st.why_not_implemented("S1SP3", True, can_set=False) == (
        "needs S1SP3 to have implemented MP107; [statement.s1sps.S1SP3] implements_mp107 = false "
        "(dcc.toml [statement])")
    assert st.why_not_implemented("S1SP3", False, can_set=False) is None


# --- fuels, SMETS2, the interface ---------------------------------------------------------------------------

def test_why_not_fuel():
    st = stmt(fuels=("electricity",))
    assert st.why_not_fuel("electricity") is None
    assert st.why_not_fuel("gas") == "no gas devices: [statement] fuels = ['electricity'] (dcc.toml [statement])"
    assert stmt().why_not_fuel("gas") is None                   # both fuels unless the statement says otherwise


def test_why_not_smets2():
    assert stmt().why_not_smets2() is None
    assert stmt(smets2=False).why_not_smets2() == "no SMETS2 devices: [statement] smets2 = false (dcc.toml [statement])"


def test_why_not_dialect_names_both_interfaces_in_words():
    assert stmt(dialect="dcc").why_not_dialect("dcc") is None
    assert stmt().why_not_dialect("v1") is None
    assert stmt().why_not_dialect("dcc") == (
        "needs a target that speaks the DCC's own interface (serviceT / serviceS, a Pre-Command the user signs); "
        'this one is driven through Target Interface v1 ([target] dialect = "v1")')
    assert stmt(dialect="dcc").why_not_dialect("v1") == (
        "needs a target that speaks Target Interface v1; this one is driven through the DCC's own interface "
        '(serviceT / serviceS, a Pre-Command the user signs) ([target] dialect = "dcc")')
    assert stmt(dialect="x2").why_not_dialect("y3") == (
        'needs a target that speaks y3; this one is driven through x2 ([target] dialect = "x2")')


# --- the statement in words (report header, verdict.json) -----------------------------------------------

def test_the_statement_in_words_for_the_report():
    st = stmt(feature_switch=True,
              s1sps={"S1SP2": S1SPStatement(False, True), "S1SP1": S1SPStatement(SETTABLE, False)},
              fuels=("gas",), smets2=False, access_differences=("no 6.24.1 for NOs",),
              datafix=DatafixStatement(applied=True, runnable=False, fixed_devices=("A", "B"), control_devices=("C",)),
              test_support=False, callback_registration=False, dialect="dcc")
    assert st.lines() == [
        'feature_switch = "on"',
        "S1SP1: implements MP107 = settable, in scope = false",
        "S1SP2: implements MP107 = false, in scope = true",
        "fuels = ['gas'], SMETS2 devices = false",
        "access differences: ['no 6.24.1 for NOs']",
        "data fix: applied = true, runnable by the harness = false, 2 device(s) to have been fixed, 1 control device(s)",
        "test support = false, callback registration = false",
        "interface: dcc (the DCC's own: Critical requests as signed Pre-Commands)",
    ]
    assert st.as_json() == {"source": SRC, "lines": st.lines()}


def test_the_defaults_in_words_have_no_access_or_interface_line():
    assert stmt().lines() == [
        'feature_switch = "settable"',
        "fuels = ['electricity', 'gas'], SMETS2 devices = true",
        "data fix: applied = false, runnable by the harness = false, 0 device(s) to have been fixed, 0 control device(s)",
        "test support = false, callback registration = true",
    ]


def test_the_reference_with_test_support_can_set_everything():
    st = derived_from_reference(("S1SP1", "S1SP3"))
    assert st == Statement(source="derived from the reference's own state", feature_switch=SETTABLE,
                           s1sps={"S1SP1": S1SPStatement(SETTABLE, True), "S1SP3": S1SPStatement(SETTABLE, True)},
                           datafix=DatafixStatement(applied=False, runnable=True),
                           test_support=True, callback_registration=True)
    assert derived_from_reference((), source="x", runnable_datafix=False).datafix.runnable is False
    assert derived_from_reference((), source="x").source == "x"
