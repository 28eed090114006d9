"""The traceability matrix (reports/matrix.py) cell by cell: which column a scenario lands in, what a
cell and a row show (worst first, a skip never a pass), what an empty cell means (not covered, n/a,
not run), the named cause and who it counts against, and what the report lists apart (IDs outside
the catalogue, scenarios traced to nothing). Pinned case by case, as the mutation run
(scripts/mutation.sh) showed the gate's and report's tests leave them open."""
from __future__ import annotations

import pytest

from conformance import catalogue
from reports import matrix
from reports.matrix import Cell, Column, Entry, Row
from reports.results import ScenarioResult

REQS = catalogue.load()
S1SP_REQ, DSP_REQ = "MP107-R1.4", "MP107-R1.8"      # judged per S1SP and fuel / not S1SP-specific
SIGNATURE = "acknowledgement: I99 (HTTP 200)\n  final outcome: S1VE4 (S1SP alert)"


def sc(name="s", status="passed", reqs=(S1SP_REQ,), s1sp=None, fuel=None, message="", component=None, violated=()):
    return ScenarioResult(uuid=name, name=name, full_name=f"f.feature:{name}", feature="f", status=status,
                          message=message, trace="", requirements=list(reqs), s1sp=s1sp, fuel=fuel, parameters={},
                          steps=[], attachments=[], start=0, stop=1, file=f"{name}-result.json",
                          component=component, violated=list(violated))


def cell_of(*statuses) -> Cell:
    return Cell(S1SP_REQ, Column("S1SP1", "gas"), [Entry(sc(f"s{i}", st), st) for i, st in enumerate(statuses)])


# --- columns -----------------------------------------------------------------------------------------------

def test_columns_have_keys_and_labels_the_report_shows():
    assert (Column("S1SP2", "gas").key, Column("S1SP2", "gas").label) == ("S1SP2-gas", "S1SP2 gas")
    assert (Column(None, None).key, Column(None, None).label) == ("any", "not S1SP-specific")


def test_a_scenario_lands_in_its_s1sp_and_fuel_or_both_fuels_or_the_general_column():
    assert matrix.columns_of(sc(s1sp="S1SP3", fuel="gas")) == [Column("S1SP3", "gas")]
    assert matrix.columns_of(sc(s1sp="S1SP3")) == [Column("S1SP3", "electricity"), Column("S1SP3", "gas")]
    assert matrix.columns_of(sc()) == [Column(None, None)]
    assert matrix.columns_of(sc(s1sp="S1SP9", fuel="gas")) == [Column(None, None)]      # not an S1SP of SECMP0107


# --- a cell, a row -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("statuses, shown", [
    (("passed", "failed", "broken"), "failed"),
    (("passed", "broken"), "broken"),
    (("skipped", "passed"), "passed"),
    (("blocked", "skipped"), "skipped"),
    (("not applicable", "blocked"), "blocked"),
    (("not applicable",), "not applicable"),
    (("unknown",), "not covered"),                 # a result that says nothing covers nothing
    (("unknown", "something else"), "broken"),     # a status the matrix does not know is never a pass
])
def test_a_cell_shows_its_worst_result(statuses, shown):
    assert cell_of(*statuses).status == shown


def test_an_empty_cell_shows_what_its_emptiness_means():
    assert Cell(S1SP_REQ, Column("S1SP1", "gas")).status == "not covered"
    assert Cell(S1SP_REQ, Column("S1SP1", "gas"), empty_status="not run").status == "not run"


@pytest.mark.parametrize("statuses, executed", [
    (("broken",), True), (("failed",), True), (("passed",), True),
    (("skipped", "not applicable", "blocked", "unknown"), False),
])
def test_a_cell_was_executed_only_when_a_scenario_ran_to_a_verdict(statuses, executed):
    assert cell_of(*statuses).executed is executed


def test_a_cell_counts_its_entries_by_status_and_lists_its_notes_once():
    cell = cell_of("passed", "failed", "passed")
    assert (cell.count("passed"), cell.count("failed"), cell.count("skipped")) == (2, 1, 0)
    cell.entries[0].note = "b"
    cell.entries[1].note = "a"
    cell.entries[2].note = "b"
    assert cell.notes == ["a", "b"]
    assert cell.id == "cell-MP107-R1.4-S1SP1-gas"


def _row(*cell_statuses) -> Row:
    cells = {}
    for i, statuses in enumerate(cell_statuses):
        c = cell_of(*statuses) if statuses else Cell(S1SP_REQ, Column(f"S1SP{i}", "gas"))
        c.column = Column(f"S1SP{i}", "gas")
        cells[c.column.key] = c
    return Row(REQS[S1SP_REQ], cells)


@pytest.mark.parametrize("cells, shown", [
    ((("failed",), ("passed",)), "failed"),
    ((("passed",), ("skipped",)), "passed"),         # a skip in one cell beside a pass in another
    ((("skipped",), ("not applicable",)), "skipped"),
    (((), ("not applicable",)), "not applicable"),   # empty cells do not count
    (((), ()), "not covered"),
])
def test_a_row_shows_the_worst_of_its_cells(cells, shown):
    row = _row(*cells)
    assert row.status == shown
    assert row.id == "req-MP107-R1.4"


# --- building the matrix ---------------------------------------------------------------------------------------

def test_empty_cells_are_not_covered_n_a_or_not_run():
    m = matrix.build([sc("p", reqs=[S1SP_REQ], s1sp="S1SP1", fuel="gas"), sc("d", reqs=[DSP_REQ])], REQS,
                     ("S1SP1", "S1SP2"))
    assert m.cell(S1SP_REQ, "S1SP2-gas").status == "not covered"     # selected, nothing ran there
    assert m.cell(S1SP_REQ, "S1SP3-gas").status == "not run"         # not selected
    assert m.cell(S1SP_REQ, "any").status == "n/a"                   # traced per S1SP only
    assert m.cell(DSP_REQ, "S1SP2-gas").status == "n/a"              # traced in the general column only
    assert m.cell(DSP_REQ, "S1SP3-gas").status == "not run"
    assert m.cell("MP107-R1.3", "any").status == "not covered"       # traced nowhere: every cell not covered
    assert m.cell("MP107-R1.3", "S1SP1-gas").status == "not covered"


def test_a_requirement_traced_both_per_s1sp_and_generally_has_no_n_a_cell():
    m = matrix.build([sc("p", reqs=[S1SP_REQ], s1sp="S1SP1", fuel="gas"), sc("g", reqs=[S1SP_REQ])], REQS)
    assert m.cell(S1SP_REQ, "S1SP2-gas").status == "not covered"
    assert m.cell(S1SP_REQ, "any").status == "passed"


def test_a_failure_counts_on_the_requirements_its_step_broke_and_blocks_the_rest():
    failed = sc("f", "failed", reqs=[S1SP_REQ, "MP107-R1.1"], s1sp="S1SP2", fuel="gas", component="S1SP2",
                violated=["MP107-R1.3"])          # a requirement the step broke, beyond the scenario's tags
    m = matrix.build([failed], REQS)
    [broke] = m.cell("MP107-R1.3", "S1SP2-gas").entries
    assert (broke.status, broke.component, broke.note) == ("failed", "S1SP2", "")
    [blocked] = m.cell(S1SP_REQ, "S1SP2-gas").entries
    assert (blocked.status, blocked.component) == ("blocked", None)
    assert blocked.note == "not reached: the scenario failed earlier, on S1SP2's part"


def test_a_failure_without_a_named_step_fails_every_requirement_it_traces_to_on_no_named_component():
    m = matrix.build([sc("f", "failed", reqs=[S1SP_REQ, "MP107-R1.1"], s1sp="S1SP2", fuel="gas")], REQS)
    for rid in (S1SP_REQ, "MP107-R1.1"):
        [entry] = m.cell(rid, "S1SP2-gas").entries
        assert (entry.status, entry.component, entry.note) == ("failed", None, "")
    passed = matrix.build([sc("p", "passed", reqs=[S1SP_REQ], s1sp="S1SP2", fuel="gas", violated=["MP107-R1.3"])], REQS)
    assert not passed.cell("MP107-R1.3", "S1SP2-gas").entries       # only a failure is attributed


def test_the_coordination_signature_is_named_on_every_entry_of_the_scenario():
    coord = sc("c", "failed", reqs=[S1SP_REQ], s1sp="S1SP2", fuel="gas", message=SIGNATURE)
    cause = matrix.known_cause(coord)
    assert cause == matrix.Cause("MP107-R1.10", "R1.10: DSP and S1SP releases not coordinated (S1SP2 has not "
                                 "implemented MP107)", "S1SP", "S1SP2", (S1SP_REQ,))
    m = matrix.build([coord], REQS)
    assert m.cell(S1SP_REQ, "S1SP2-gas").entries[0].note == cause.title
    assert m.causes == {"c": cause} and m.cause_summary() == {cause.title: [coord]}
    attributed = sc("a", "failed", reqs=[S1SP_REQ, "MP107-R1.1"], s1sp="S1SP2", fuel="gas", message=SIGNATURE,
                    component="S1SP2", violated=[S1SP_REQ])
    m = matrix.build([attributed], REQS)
    assert m.cell(S1SP_REQ, "S1SP2-gas").entries[0].note == matrix.known_cause(attributed).title
    assert m.cell("MP107-R1.1", "S1SP2-gas").entries[0].note.startswith("not reached")


def test_ids_outside_the_catalogue_and_untraced_scenarios_are_listed_apart():
    odd = sc("odd", reqs=["MP107-R9.9", S1SP_REQ], s1sp="S1SP1", fuel="gas")
    bare = sc("bare", reqs=[])
    m = matrix.build([odd, bare, sc("odd2", reqs=["MP107-R9.9"])], REQS)
    assert list(m.unknown_requirements) == ["MP107-R9.9"]
    assert [s.name for s in m.unknown_requirements["MP107-R9.9"]] == ["odd", "odd2"]
    assert m.untraced == [bare]
    assert m.cell(S1SP_REQ, "S1SP1-gas").status == "passed"           # the known ID after the unknown one counts
    assert m.scenarios == [odd, bare, m.scenarios[2]] and not m.causes
