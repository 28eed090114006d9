"""Result collection (Allure JSON, JUnit), the traceability matrix, named causes and the HTML report,
on small hand-made result folders (no suite run)."""
from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conformance import catalogue, gate
from reports import collect, environment, html, matrix
from reports.results import load_allure, load_junit

REQS = catalogue.load()
TODAY = dt.date(2026, 11, 25)
SIGNATURE = ("SRV 6.15.1 replacing the NetworkOperator slot, RequestID X\n  expected: final outcome I0\n"
             "  acknowledgement: I99 (HTTP 200)\n  final outcome: S1VE4 (S1SP alert; header ResponseCode I0)")
REQUEST_XML = b'<?xml version="1.0"?><sr:Request xmlns:sr="urn:x"><sr:Header><sr:RequestID>A:B:1</sr:RequestID></sr:Header></sr:Request>'


def write_result(folder: Path, name, status, stories, s1sp=None, fuel=None, message="", step_status=None,
                 attach: bytes | None = REQUEST_XML, feature="F", component=None, violated=(),
                 attach_name="request: SRV 6.15.1 [A:B:1]"):
    folder.mkdir(parents=True, exist_ok=True)
    uid = str(uuid.uuid4())
    steps = [{"name": "Given a commissioned SMETS1 device", "status": "passed"},
             {"name": "When the wrong network operator sends SRV 6.15.1", "status": "passed", "attachments": []},
             {"name": "Then the final outcome is I0", "status": step_status or status,
              **({"statusDetails": {"message": message}} if message else {})}]
    if attach is not None:
        src = f"{uuid.uuid4()}-attachment.xml"
        (folder / src).write_bytes(attach)
        steps[1]["attachments"].append({"name": attach_name, "source": src, "type": "application/xml"})
    labels = [{"name": "epic", "value": "SECMP0107"}, {"name": "feature", "value": feature}]
    labels += [{"name": "story", "value": s} for s in stories]
    if component:          # as ScenarioState.violation labels a failed step (conformance/verdicts.py)
        labels.append({"name": "mp107_component", "value": component})
        labels.append({"name": "mp107_violated", "value": "violated: " + " ".join(violated)})
    params = []
    for key, value in (("s1sp", s1sp), ("fuel", fuel)):
        if value:
            labels.append({"name": "tag", "value": value})
            params.append({"name": key, "value": value})
    raw = {"name": name, "status": status, "steps": steps, "labels": labels, "parameters": params, "uuid": uid,
           "fullName": f"features/x.feature:{name}", "start": 1000, "stop": 1500,
           **({"statusDetails": {"message": message, "trace": "Traceback ..."}} if message else {})}
    (folder / f"{uid}-result.json").write_text(json.dumps(raw))
    return uid


def write_junit(path: Path, tests=1, failures=0, errors=0, skipped=0):
    cases = []
    for i in range(tests):
        inner = ""
        if i < failures:
            inner = '<failure message="boom"/>'
        elif i < failures + errors:
            inner = '<error message="failed on setup with TargetFault: refused"/>'
        elif i < failures + errors + skipped:
            inner = '<skipped message="lacks switches"/>'
        cases.append(f'<testcase classname="features.test_scenarios" name="t{i}">{inner}</testcase>')
    path.write_text(f'<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="{tests}">'
                    f'{"".join(cases)}</testsuite></testsuites>')


@pytest.fixture
def s1sp2_run(tmp_path):
    """A run folder shaped like S1SP2 not implementing MP107: its R1.2/R1.4 scenario fails with I99 then S1VE4."""
    results = tmp_path / "allure-results"
    n = 0
    for s1sp in matrix.S1SPS:
        for fuel in ("electricity", "gas"):
            failing = s1sp == "S1SP2"
            write_result(results, f"FIA SIT script on a {fuel} device of {s1sp}", "failed" if failing else "passed",
                         ["MP107-R1.4", "MP107-R1.1", "MP107-R1.2", "MP107-R1.9", "MP107-R3.3"], s1sp, fuel,
                         message=SIGNATURE if failing else "", component="S1SP2" if failing else None,
                         violated=("MP107-R1.4", "MP107-R1.2", "MP107-R1.9") if failing else ())
            n += 1
    write_result(results, "a <b>hostile</b> & odd scenario name", "passed", ["MP107-R1.8"])
    n += 1
    write_junit(tmp_path / "junit.xml", tests=n, failures=2)
    (tmp_path / "run-info.json").write_text(json.dumps({
        "options": {"target": "local", "s1sp": "all", "profile": None},
        "state_start": {"mp107_switch": True, "s1sp_implemented": {"S1SP1": True, "S1SP2": False, "S1SP3": True}},
        "versions": {"mp107-harness": "0.1.0", "pytest": "9"}, "pytest_exit_code": 1,
        "started": "2026-11-25T10:00:00+00:00", "finished": "2026-11-25T10:00:07+00:00"}))
    return tmp_path


def relaxed_policy():
    return gate.parse_policy({"policy": {"name": "t", "mandatory": ["MP107-R1.1", "MP107-R1.2", "MP107-R1.4"]}}, REQS)


# --- results ----------------------------------------------------------------------------------------

def test_allure_results_are_read_with_requirements_s1sp_fuel_steps_and_attachments(s1sp2_run):
    scenarios = load_allure(s1sp2_run / "allure-results")
    assert len(scenarios) == 7
    sit = next(s for s in scenarios if s.s1sp == "S1SP2" and s.fuel == "gas")
    assert sit.status == "failed" and "S1VE4" in sit.message
    assert sit.requirements == ["MP107-R1.4", "MP107-R1.1", "MP107-R1.2", "MP107-R1.9", "MP107-R3.3"]
    assert [s.status for s in sit.steps] == ["passed", "passed", "failed"]
    [att] = sit.all_attachments()
    assert att.kind == "request" and att.text().startswith("<?xml")
    assert len({s.anchor for s in scenarios}) == 7


def test_junit_counts(tmp_path):
    write_junit(tmp_path / "j.xml", tests=5, failures=1, errors=2, skipped=1)
    j = load_junit(tmp_path / "j.xml")
    assert (j.tests, j.failures, j.errors, j.skipped) == (5, 1, 2, 1)
    assert "TargetFault" in j.error_cases[0]
    assert load_junit(tmp_path / "absent.xml") is None


# --- named cause and attribution ---------------------------------------------------------------------

def test_the_coordination_signature_is_named_r1_10_and_counts_only_against_the_s1sp(s1sp2_run):
    m = matrix.build(load_allure(s1sp2_run / "allure-results"), REQS)
    titles = set(m.cause_summary())
    assert titles == {"R1.10: DSP and S1SP releases not coordinated (S1SP2 has not implemented MP107)"}
    for rid in ("MP107-R1.2", "MP107-R1.4"):
        assert {k: c.status for k, c in m.rows[rid].cells.items()} == {
            "S1SP1-electricity": "passed", "S1SP1-gas": "passed", "S1SP2-electricity": "failed",
            "S1SP2-gas": "failed", "S1SP3-electricity": "passed", "S1SP3-gas": "passed", "any": "n/a"}
    # The failing step judged S1SP2: the DSP's requirement of the same scenario was not reached in
    # it after the failure, which is neither a pass nor a finding on the DSP.
    assert m.cell("MP107-R1.1", "S1SP2-gas").status == "blocked"
    assert "S1SP2's part" in m.cell("MP107-R1.1", "S1SP2-gas").notes[0]


@pytest.mark.parametrize("message, status, reqs, named", [
    (SIGNATURE, "failed", ["MP107-R1.5"], True),
    ("acknowledgement: I99\n final outcome: S1VE64", "failed", ["MP107-R1.4"], False),
    ("acknowledgement: E4", "failed", ["MP107-R1.4"], False),
    (SIGNATURE, "failed", ["MP107-R1.3"], False),         # not one of R1.2, R1.4-R1.6
    (SIGNATURE, "broken", ["MP107-R1.4"], False),         # a target fault is never a named non-conformance
])
def test_known_cause_needs_the_exact_signature(tmp_path, message, status, reqs, named):
    write_result(tmp_path, "x", status, reqs, "S1SP3", "gas", message=message)
    [sc] = load_allure(tmp_path)
    cause = matrix.known_cause(sc)
    assert (cause is not None) == named
    if named:
        assert cause.title == "R1.10: DSP and S1SP releases not coordinated (S1SP3 has not implemented MP107)"


def test_without_a_known_cause_a_failure_fails_every_requirement_it_traces_to(tmp_path):
    write_result(tmp_path, "x", "failed", ["MP107-R1.4", "MP107-R1.1"], "S1SP1", "gas", message="final outcome: E4")
    m = matrix.build(load_allure(tmp_path), REQS)
    assert m.cell("MP107-R1.1", "S1SP1-gas").status == m.cell("MP107-R1.4", "S1SP1-gas").status == "failed"


def test_a_requirement_with_no_scenario_is_not_covered_never_passed(s1sp2_run):
    m = matrix.build(load_allure(s1sp2_run / "allure-results"), REQS)
    row = m.rows["MP107-R3.1"]
    assert row.status == "not covered" and {c.status for c in row.cells.values()} == {"not covered"}


# --- judging a run folder ---------------------------------------------------------------------------

def test_judge_the_s1sp2_run(s1sp2_run):
    report = collect.judge(s1sp2_run, relaxed_policy(), today=TODAY)
    assert report.exit_code == 1 and not report.gate.not_judged
    assert report.gate.groups["S1SP2"]["verdict"] == "NOT CONFORMANT"
    assert report.gate.groups["DSP"]["verdict"] == "CONFORMANT"
    assert report.gate.groups["S1SP2"]["causes"] == [
        "R1.10: DSP and S1SP releases not coordinated (S1SP2 has not implemented MP107)"]
    assert "S1SP2 not conformant" in report.verdict_line()


def test_a_broken_scenario_makes_the_run_not_judged(tmp_path):
    write_result(tmp_path / "allure-results", "x", "broken", ["MP107-R1.8"], message="TargetFault: connection refused")
    write_junit(tmp_path / "junit.xml", tests=1, failures=1)
    report = collect.judge(tmp_path, relaxed_policy(), pytest_exit_code=1, today=TODAY)
    assert report.exit_code == 2 and "broken" in report.gate.not_judged[0]


def test_a_junit_error_makes_the_run_not_judged(tmp_path):
    write_result(tmp_path / "allure-results", "x", "passed", ["MP107-R1.8"])
    write_junit(tmp_path / "junit.xml", tests=1, errors=1)
    report = collect.judge(tmp_path, relaxed_policy(), pytest_exit_code=1, today=TODAY)
    assert report.exit_code == 2 and any("JUnit reports 1 error" in r for r in report.gate.not_judged)


@pytest.mark.parametrize("rc, words", [(2, "interrupted"), (3, "internal error"), (4, "usage error"),
                                       (5, "no tests collected"), (-9, "crashed or killed")])
def test_a_pytest_exit_code_other_than_0_or_1_is_not_judged(tmp_path, rc, words):
    report = collect.judge(tmp_path, relaxed_policy(), pytest_exit_code=rc, today=TODAY)
    assert report.exit_code == 2 and words in report.gate.not_judged[0]
    assert any("no scenario results" in r for r in report.gate.not_judged)


def test_results_that_disagree_are_not_judged(tmp_path):
    write_result(tmp_path / "allure-results", "x", "passed", ["MP107-R1.8"])
    write_junit(tmp_path / "junit.xml", tests=2)
    report = collect.judge(tmp_path, relaxed_policy(), pytest_exit_code=0, today=TODAY)
    assert report.exit_code == 2 and "disagree" in report.gate.not_judged[0]


# --- the HTML -------------------------------------------------------------------------------------

class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.hrefs, self.srcs, self.tags, self.cells = set(), [], [], [], {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if "id" in a:
            self.ids.add(a["id"])
        if "href" in a:
            self.hrefs.append(a["href"])
        for key in ("src", "srcset", "poster", "data"):
            if key in a:
                self.srcs.append(a[key])
        if "data-status" in a and (a.get("class") or "").startswith("cell") and "id" in a:
            self.cells[a["id"]] = a["data-status"]


def test_the_report_is_one_self_contained_offline_file(s1sp2_run):
    text = html.render(collect.judge(s1sp2_run, relaxed_policy(), today=TODAY), commit="abc123")
    page = _Page()
    page.feed(text)
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags and "iframe" not in page.tags
    assert not page.srcs
    assert all(h.startswith("#") for h in page.hrefs), [h for h in page.hrefs if not h.startswith("#")]
    missing = {h for h in page.hrefs if h[1:] not in page.ids}
    assert not missing, f"in-page links to nothing: {missing}"
    assert "default-src 'none'" in text
    assert not re.search(r"url\(|@import|@font-face", text)


def test_the_report_shows_header_matrix_cause_and_escaped_evidence(s1sp2_run):
    text = html.render(collect.judge(s1sp2_run, relaxed_policy(), today=TODAY), commit="abc123")
    page = _Page()
    page.feed(text)
    failed = {k for k, v in page.cells.items() if v == "failed"}
    assert failed == {f"cell-{r}-S1SP2-{f}" for r in ("MP107-R1.2", "MP107-R1.4", "MP107-R1.9")
                      for f in ("electricity", "gas")}
    assert page.cells["cell-MP107-R3.1-any"] == "not covered"
    assert "R1.10: DSP and S1SP releases not coordinated (S1SP2 has not implemented MP107)" in text
    assert "S1SP2 has NOT implemented MP107" in text          # the header's switch states
    assert "&lt;sr:Request" in text and "<sr:Request" not in text
    assert "a &lt;b&gt;hostile&lt;/b&gt; &amp; odd scenario name" in text
    assert "final outcome: S1VE4" in text                      # the explain() text
    for rule in (REQS["MP107-R1.4"].text, REQS["MP107-R2.1"].text):
        assert rule.replace("'", "&#39;") in text


ACK_XML = ("<?xml version='1.0' encoding='UTF-8'?>\n<sr:Response xmlns:sr=\"urn:x\"><sr:Header><sr:ResponseCode>E1"
           "</sr:ResponseCode></sr:Header><sr:Body><sr:ResponseMessage><!-- reason: got \u2039!DOCTYPE\u203a -->"
           "</sr:ResponseMessage></sr:Body></sr:Response>").encode()


def _pre_of(text: str, summary: str) -> str:
    """The escaped content of the <pre> of the attachment whose <summary> is `summary`."""
    return text.split(f"<summary>{summary}</summary><pre class=\"xml\">", 1)[1].split("</pre>", 1)[0]


@pytest.mark.parametrize("name", ["acknowledgement E1: SRV 6.15.1 [A:B:1]", "outcome S1VE4: SRV 6.15.1 [A:B:1]"])
def test_the_report_pretty_prints_the_acknowledgement_and_outcome_as_the_request(tmp_path, name):
    """A target's answers arrive signed on one line; the report shows them one element a line and
    indented, as it shows the request the harness wrote, and leaves the attachment file as it came."""
    results = tmp_path / "allure-results"
    write_result(results, "s", "passed", ["MP107-R1.8"], attach=ACK_XML, attach_name=name)
    write_junit(tmp_path / "junit.xml")
    text = html.render(collect.judge(tmp_path, relaxed_policy(), pytest_exit_code=0, today=TODAY), commit="")
    shown = _pre_of(text, name)
    assert shown.splitlines() == [
        "&lt;?xml version=&#39;1.0&#39; encoding=&#39;UTF-8&#39;?&gt;",
        "&lt;sr:Response xmlns:sr=&#34;urn:x&#34;&gt;",
        "  &lt;sr:Header&gt;",
        "    &lt;sr:ResponseCode&gt;E1&lt;/sr:ResponseCode&gt;",
        "  &lt;/sr:Header&gt;",
        "  &lt;sr:Body&gt;",
        "    &lt;sr:ResponseMessage&gt;",
        "      &lt;!-- reason: got \u2039!DOCTYPE\u203a --&gt;",
        "    &lt;/sr:ResponseMessage&gt;",
        "  &lt;/sr:Body&gt;",
        "&lt;/sr:Response&gt;",
    ], shown
    assert [p.read_bytes() for p in results.glob("*-attachment.xml")] == [ACK_XML]


def test_xml_that_does_not_parse_or_declares_entities_is_shown_as_sent(tmp_path):
    results = tmp_path / "allure-results"
    hostile = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;&a;</r>'
    write_result(results, "hostile", "passed", ["MP107-R4.2"], attach=hostile, attach_name="request: hostile")
    write_result(results, "malformed", "passed", ["MP107-R4.2"], attach=b"<not-duis", attach_name="request: bad")
    write_junit(tmp_path / "junit.xml", tests=2)
    text = html.render(collect.judge(tmp_path, relaxed_policy(), pytest_exit_code=0, today=TODAY), commit="")
    assert _pre_of(text, "request: hostile") == ('&lt;?xml version=&#34;1.0&#34;?&gt;&lt;!DOCTYPE r [&lt;!ENTITY a '
                                                 '&#34;aaaa&#34;&gt;]&gt;&lt;r&gt;&amp;a;&amp;a;&lt;/r&gt;')
    assert _pre_of(text, "request: bad") == "&lt;not-duis"


def test_the_served_references_reason_for_unreadable_xml_shows_as_text(tmp_path):
    """The served reference refuses a document with a DOCTYPE (R4.2) with a signed Response whose
    comment says why, the input's < and > written as \u2039 \u203a. The refusal, the harness's
    reading of it and the report show those characters, never the character reference as text."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from duis import codec
    from reference.config import ReferenceConfig
    from reference.dcc import ReferenceDCC
    from reference.server import create_app
    dcc = ReferenceDCC(ReferenceConfig())
    try:
        with TestClient(create_app(dcc, test_support=False)) as http:
            answer = http.post("/api/v1/serviceRequest", content=b'<!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>')
        refusal = codec.decode_refusal(answer.content, verify_with=dcc.dsp_certificate)
    finally:
        dcc.close()
    assert answer.status_code == 400 and refusal.response_code == "E1"
    assert "\u2039!DOCTYPE" in refusal.reason and "&#8249;" not in refusal.reason, refusal.reason
    results = tmp_path / "allure-results"
    name = "acknowledgement E1: a document with a DOCTYPE"
    write_result(results, "hostile", "passed", ["MP107-R4.2"], attach=answer.content, attach_name=name)
    write_junit(tmp_path / "junit.xml")
    shown = _pre_of(html.render(collect.judge(tmp_path, relaxed_policy(), pytest_exit_code=0, today=TODAY),
                                commit=""), name)
    assert "\u2039!DOCTYPE" in shown
    assert "#8249;" not in shown, shown


def test_the_report_lists_used_and_expired_waivers(s1sp2_run):
    pol = gate.parse_policy({"policy": {"name": "t", "mandatory": ["MP107-R1.2", "MP107-R1.4"]}, "waiver": [
        {"requirement": "MP107-R1.2", "s1sp": "S1SP2", "reason": "S1SP2 January release", "expires": TODAY},
        {"requirement": "MP107-R1.4", "s1sp": "S1SP2", "reason": "stale waiver", "expires": dt.date(2026, 11, 1)},
    ]}, REQS)
    report = collect.judge(s1sp2_run, pol, today=TODAY)
    assert report.exit_code == 1
    text = html.render(report, commit="")
    used = text.split("<h3>Used</h3>")[1].split("</table>")[0]
    expired = text.split("<h3>Expired, ignored</h3>")[1].split("</table>")[0]
    assert "S1SP2 January release" in used and "stale waiver" in expired
    assert "MP107-R1.4 failed on S1SP2" in expired


def test_environment_properties(tmp_path, s1sp2_run):
    info = collect.read_info(s1sp2_run)
    env = environment.environment(info, policy="release", harness_commit="abc")
    assert env["switch.mp107"] == "on" and env["S1SP2.implemented_mp107"] == "false"
    assert env["version.pytest"] == "9" and env["policy"] == "release"
    path = environment.write_environment(tmp_path, {"a key": "line1\nline2", "k": "v=1"})
    assert path.read_text() == "a\\ key=line1\\nline2\nk=v=1\n"


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    """The Allure results of one scenario of the suite run as plain pytest (not through `mp107 run`)."""
    import subprocess
    import sys
    root = Path(__file__).resolve().parents[1]
    results = tmp_path_factory.mktemp("plain") / "allure-results"
    proc = subprocess.run([sys.executable, "-m", "pytest", "features", "-q", "-p", "no:cacheprovider",
                           "-k", "FIA_SIT and S1SP1 and gas", f"--alluredir={results}"],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return results


def test_plain_pytest_with_alluredir_writes_the_environment_file(plain_run):
    """Allure's environment widget names the target, the switch states and the versions even when
    the suite runs as plain pytest, not through `mp107 run`."""
    env = dict(line.split("=", 1) for line in (plain_run / "environment.properties").read_text().splitlines())
    assert env["target"] == "local"
    assert env["switch.mp107"] == "on"
    assert {env[f"S1SP{n}.implemented_mp107"] for n in (1, 2, 3)} == {"true"}
    assert env["version.pytest-bdd"] and env["version.allure-pytest-bdd"]


def test_allure_groups_results_by_requirement_from_the_catalogue(plain_run):
    """Allure's behaviours tree groups by epic, feature and story: each scenario's result carries,
    from the catalogue, an epic per requirement group and a story per requirement (ID and title)."""
    (result,) = [json.loads(p.read_text()) for p in plain_run.glob("*-result.json")]
    epics = {lab["value"] for lab in result["labels"] if lab["name"] == "epic"}
    stories = {lab["value"] for lab in result["labels"] if lab["name"] == "story"}
    tagged = catalogue.requirement_tags(lab["value"] for lab in result["labels"] if lab["name"] == "tag")
    assert set(tagged) >= {"MP107-R1.4", "MP107-R3.3"}          # the FIA SIT script's tags
    groups = catalogue.load_groups()
    for rid in tagged:
        assert f"{rid} {REQS[rid].title}" in stories
        assert f"{REQS[rid].group} {groups[REQS[rid].group].title}" in epics
    assert "MP107-R1 The change itself (FIA Requirement 1)" in epics and "MP107-R3 What must not change" in epics
    # and the report reads the requirement IDs back from those stories
    scenario = load_allure(plain_run)[0]
    assert set(scenario.requirements) == set(tagged)


def test_a_story_label_with_the_requirement_title_is_read_as_its_id(tmp_path):
    results = tmp_path / "allure-results"
    write_result(results, "s", "passed", [f"MP107-R1.4 {REQS['MP107-R1.4'].title}", "MP107-R1.1"])
    (scenario,) = load_allure(results)
    assert scenario.requirements == ["MP107-R1.4", "MP107-R1.1"]
