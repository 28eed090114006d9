"""`mp107 run` end to end on the in-process reference: the four outputs, the verdict and exit code,
the R1.10 cause, waivers, and runs that cannot be judged (exit 2). Each full run takes seconds:
the runs are module-scoped and shared between tests."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mp107 import cli

pytestmark = pytest.mark.slow      # a whole-suite or served-reference run in a subprocess (quick loop: -m "not slow")

ROOT = Path(__file__).resolve().parents[1]
R110 = "R1.10: DSP and S1SP releases not coordinated (S1SP2 has not implemented MP107)"
EXPECTED_FAILED = {f"cell-MP107-R1.{n}-S1SP2-{fuel}" for n in (2, 4, 9) for fuel in ("electricity", "gas")}
"""S1SP2's failing steps break R1.2 and R1.4 (and R1.9, each rule per S1SP): in the R1.5 and R1.6
scenarios it is their set-up 6.15.1 (R1.4) that fails, so R1.5 and R1.6 are not reached there."""
TODAY = dt.date.today()


def mp107(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "mp107", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})


def verdict(run_dir: Path) -> dict:
    return json.loads((run_dir / "verdict.json").read_text())


def policy_file(path: Path, waivers: list[tuple[str, str, dt.date, str]]) -> Path:
    text = '[policy]\nname = "test release"\nmandatory = ["MP107-R1.*", "MP107-R3.*", "MP107-R4.*"]\n' \
           'mandatory_if_tagged = ["MP107-R2.*"]\n'
    for rid, s1sp, expires, reason in waivers:
        text += f'\n[[waiver]]\nrequirement = "{rid}"\ns1sp = "{s1sp}"\nreason = "{reason}"\nexpires = {expires.isoformat()}\n'
    path.write_text(text)
    return path


def shared_run(tmp_path_factory, key: str) -> tuple[Path, subprocess.CompletedProcess]:
    """The full runs the tests share, once per test session (tests/test_browser_report.py uses them too):
    'ok' is the reference as it is; 's1sp2' has S1SP2 not implementing MP107, judged with a policy
    whose waiver for S1SP2's R1.4 expired yesterday."""
    base = tmp_path_factory.getbasetemp() / "mp107-runs" / key
    out, record = base / "run", base / "proc.json"
    if not record.exists():
        base.mkdir(parents=True, exist_ok=True)
        if key == "ok":
            args = ["run", "--target", "local", "--out", str(out)]
        elif key == "s1sp2":
            pol = policy_file(base / "expired.toml",
                              [("MP107-R1.4", "S1SP2", TODAY - dt.timedelta(days=1), "stale waiver")])
            args = ["run", "--out", str(out), "--policy", str(pol), "--", "--reference-s1sp-not-implemented", "S1SP2"]
        else:
            raise ValueError(key)
        proc = mp107(*args)
        record.write_text(json.dumps({"args": proc.args, "rc": proc.returncode, "out": proc.stdout, "err": proc.stderr}))
    saved = json.loads(record.read_text())
    return out, subprocess.CompletedProcess(saved["args"], saved["rc"], saved["out"], saved["err"])


@pytest.fixture(scope="module")
def ok_run(tmp_path_factory):
    return shared_run(tmp_path_factory, "ok")


@pytest.fixture(scope="module")
def s1sp2_run(tmp_path_factory):
    return shared_run(tmp_path_factory, "s1sp2")


# --- a conformant run ---------------------------------------------------------------------------

def test_a_run_on_the_embedded_reference_is_conformant_and_exits_0(ok_run):
    out, proc = ok_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Report: {out / 'report.html'}" in proc.stdout
    assert "SECMP0107 verdict: CONFORMANT (exit 0)" in proc.stdout
    assert verdict(out)["verdict"] == "CONFORMANT"


def test_a_run_writes_allure_junit_cucumber_and_the_html_report(ok_run):
    out, _ = ok_run
    results = list((out / "allure-results").glob("*-result.json"))
    assert results and list((out / "allure-results").glob("*-attachment.xml"))
    junit = ET.parse(out / "junit.xml").getroot()
    assert len(list(junit.iter("testcase"))) == len(results)
    cucumber = json.loads((out / "cucumber.json").read_text())
    # pytest-bdd's Cucumber JSON lists the scenarios that reached their steps: not those the
    # preflight found not applicable before the first step.
    reached = [r for r in results if "not applicable: " not in
               (json.loads(r.read_text()).get("statusDetails") or {}).get("message", "")]
    assert isinstance(cucumber, list) and sum(len(f["elements"]) for f in cucumber) == len(reached)
    html = (out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "SECMP0107 conformance report" in html


def test_a_run_writes_the_allure_environment_and_run_info(ok_run):
    out, _ = ok_run
    env = (out / "allure-results" / "environment.properties").read_text()
    for line in ("target=local", "switch.mp107=on", "S1SP2.implemented_mp107=true", "version.pytest-bdd=9.0.1",
                 "version.allure-pytest-bdd="):
        assert line in env
    info = json.loads((out / "run-info.json").read_text())
    assert info["options"]["target"] == "local" and info["pytest_exit_code"] == 0
    assert info["state_start"]["s1sp_implemented"] == {"S1SP1": True, "S1SP2": True, "S1SP3": True}
    assert json.loads((out / "allure-results" / "categories.json").read_text())


def test_a_run_shows_progress_on_stderr(ok_run):
    out, proc = ok_run
    total = len(list((out / "allure-results").glob("*-result.json")))
    assert f"{total} scenario(s) collected" in proc.stderr
    lines = re.findall(r"^\[\s*(\d+)/(\d+)\] (PASSED|SKIPPED|N/A|FAILED|BROKEN)\s+\S", proc.stderr, flags=re.M)
    assert len(lines) == total and lines[-1][:2] == (str(total), str(total))


# --- S1SP2 has not implemented MP107 -------------------------------------------------------------------

def test_s1sp2_not_implementing_mp107_is_not_conformant_and_exits_1(s1sp2_run):
    out, proc = s1sp2_run
    assert proc.returncode == 1, proc.stdout + proc.stderr
    v = verdict(out)
    assert v["verdict"] == "NOT CONFORMANT"
    assert {name: g["verdict"] for name, g in v["groups"].items() if name != "Data fix"} == {
        "DSP": "CONFORMANT", "S1SP1": "CONFORMANT", "S1SP2": "NOT CONFORMANT", "S1SP3": "CONFORMANT",
        "SMETS2 device": "CONFORMANT"}
    assert v["groups"]["S1SP2"]["causes"] == [R110]


def test_exactly_s1sp2s_r1_2_and_r1_4_to_r1_6_cells_fail_naming_the_r1_10_cause(s1sp2_run):
    out, _ = s1sp2_run
    cells = verdict(out)["cells"]
    assert {k for k, v in cells.items() if v == "failed"} == EXPECTED_FAILED
    assert not {k for k, v in cells.items() if v in ("broken", "skipped")}
    html = (out / "report.html").read_text()
    for cell in EXPECTED_FAILED:
        td = re.search(rf'<td id="{re.escape(cell)}"[^>]*>(.*?)</td>', html, flags=re.S)
        assert td and 'data-status="failed"' in td.group(0) and f'data-cause="{R110}"' in td.group(1)
    assert R110 in html
    assert list(verdict(out)["causes"]) == [R110]


def test_each_finding_says_why_in_one_line_in_verdict_json_junit_and_the_report(s1sp2_run):
    """Issue 17: someone reading only verdict.json (a CI log, a dashboard) can tell what broke: the
    first failing step, what was expected, what came, and the RequestID to look up."""
    out, proc = s1sp2_run
    findings = verdict(out)["findings"]
    assert findings
    for f in findings:
        assert "\n" not in f["reason"] and "expected" in f["reason"] and "S1VE4" in f["reason"], f
        assert re.search(r"RequestID [0-9A-F-]+:[0-9A-F-]+:\d+$", f["reason"]), f
        assert f["scenarios"] and all(s.startswith("features/") for s in f["scenarios"])
        assert f["reason"] in proc.stderr
    junit = ET.parse(out / "junit.xml").getroot()
    reasons = [p.get("value") for case in junit.iter("testcase") if case.find("failure") is not None
               for p in case.iter("property") if p.get("name") == "reason"]
    failures = [case for case in junit.iter("testcase") if case.find("failure") is not None]
    assert failures and len(reasons) == len(failures) and all("expected" in r and "RequestID" in r for r in reasons)
    html = (out / "report.html").read_text()
    assert all(f'<span class="reason">{f["reason"]}' in html.replace("&#39;", "'") for f in findings)


def test_an_expired_waiver_does_not_waive_end_to_end(s1sp2_run):
    out, proc = s1sp2_run
    v = verdict(out)
    assert v["waivers_used"] == []
    assert [w for w in v["waivers_expired_ignored"] if w.startswith("MP107-R1.4 for S1SP2")]
    assert "expired waiver ignored: MP107-R1.4 for S1SP2" in proc.stderr
    r14 = [f for f in v["findings"] if f["requirement"] == "MP107-R1.4"]
    assert r14 and r14[0]["waived_by"] is None
    html = (out / "report.html").read_text()
    assert "stale waiver" in html.split("<h3>Expired, ignored</h3>")[1].split("</table>")[0]


def test_valid_waivers_let_the_same_results_pass_when_re_judged(s1sp2_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(s1sp2_run[0], out)
    pol = policy_file(tmp_path / "valid.toml", [(f"MP107-R1.{n}", "S1SP2", TODAY + dt.timedelta(days=30),
                                                 "S1SP2 ships MP107 in January") for n in (2, 4, 9)])
    proc = mp107("report", str(out), "--policy", str(pol))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    v = verdict(out)
    assert len(v["waivers_used"]) == 3 and v["verdict"] == "CONFORMANT"
    assert {k for k, c in v["cells"].items() if c == "failed"} == EXPECTED_FAILED   # waived, still shown failed
    used = (out / "report.html").read_text().split("<h3>Used</h3>")[1].split("</table>")[0]
    assert used.count("S1SP2 ships MP107 in January") == 3


# --- runs that cannot be judged: exit 2 ----------------------------------------------------------

def test_a_missing_profile_file_is_exit_2(tmp_path):
    proc = mp107("run", "--out", str(tmp_path / "run"), "--profile", str(tmp_path / "absent.toml"))
    assert proc.returncode == 2 and "not found" in proc.stderr


def test_an_invalid_policy_is_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[policy]\nmandatory = ["MP107-R9.*"]\n')
    proc = mp107("run", "--out", str(tmp_path / "run"), "--policy", str(bad))
    assert proc.returncode == 2 and "names no requirement" in proc.stderr


def test_a_pytest_usage_error_is_exit_2(tmp_path):
    out = tmp_path / "run"
    proc = mp107("run", "-q", "--out", str(out), "--", "--no-such-pytest-option")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "pytest exited with 4 (usage error)" in proc.stderr
    assert (out / "report.html").exists() and verdict(out)["verdict"] == "NOT JUDGED"


def test_no_scenario_collected_is_exit_2(tmp_path):
    proc = mp107("run", "-q", "--out", str(tmp_path / "run"), "--", "-k", "no_scenario_has_this_name")
    assert proc.returncode == 2 and "no tests collected" in proc.stderr


FAULT_PLUGIN = '''
def pytest_bdd_before_step_call(request, feature, scenario, step, step_func, step_func_args):
    if "S1SP3" in scenario.name and "gas" in scenario.name and step.keyword == "Then":
        raise RuntimeError("injected harness fault")
'''


def test_a_broken_scenario_is_exit_2_not_a_verdict(tmp_path):
    (tmp_path / "mp107_injected_fault.py").write_text(FAULT_PLUGIN)
    out = tmp_path / "run"
    proc = mp107("run", "-q", "--out", str(out), "--", "-p", "mp107_injected_fault", "-k", "fia_sit_script",
                 env={"PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    v = verdict(out)
    assert v["counts"]["broken"] == 1 and any("broken" in r for r in v["not_judged"])
    assert v["cells"]["cell-MP107-R1.4-S1SP3-gas"] == "broken"


@pytest.mark.skipif(not (ROOT / "adapters" / "http.py").exists(), reason="--target URL needs adapters/http.py (not yet in this checkout)")
def test_an_unreachable_target_is_exit_2(tmp_path):
    out = tmp_path / "run"
    proc = mp107("run", "-q", "--out", str(out), "--target", "http://127.0.0.1:9")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "NOT JUDGED (exit 2)" in proc.stdout
    assert verdict(out)["verdict"] == "NOT JUDGED"


def test_a_target_that_is_neither_local_nor_a_url_is_exit_2(tmp_path):
    proc = mp107("run", "--out", str(tmp_path / "run"), "--target", "ftp://x")
    assert proc.returncode == 2


# --- the command itself --------------------------------------------------------------------------

def test_help_names_the_exit_codes():
    proc = mp107("run", "--help")
    assert proc.returncode == 0 and "0 conformant, 1 not conformant, 2" in proc.stdout


def test_the_console_script_is_declared():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'mp107 = "mp107.cli:main"' in text


def test_allure_html_says_how_to_install_allure_when_it_is_missing(tmp_path, monkeypatch, capsys):
    (tmp_path / "allure-results").mkdir()
    monkeypatch.setattr(cli, "find_allure", lambda root=None: None)
    assert cli.main(["allure-html", str(tmp_path)]) == 3
    assert "npm install" in capsys.readouterr().err


def test_allure_html_generates_allures_report_when_allure_is_installed(ok_run, tmp_path):
    if cli.find_allure(ROOT) is None:
        pytest.skip("the Allure CLI is not installed (npm install --no-save allure, or set MP107_ALLURE)")
    out, _ = ok_run
    proc = mp107("allure-html", str(out), "--out", str(tmp_path / "allure-report"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    index = tmp_path / "allure-report" / "index.html"
    assert index.exists() and "googletagmanager" not in index.read_text(encoding="utf-8", errors="replace")


def test_the_analytics_tag_of_allures_page_is_removed(tmp_path):
    index = tmp_path / "index.html"
    index.write_text('<head><script src="app.js"></script>\n    <script async src="https://www.googletagmanager.com/gtag/js?id=G-X">'
                     '</script>\n    <script>\n        window.dataLayer = window.dataLayer || [];\n        gtag("js");\n'
                     '    </script>\n    <script async>window.allureReportData = {};</script></head>')
    assert cli.strip_analytics(index) is True
    text = index.read_text()
    assert "googletagmanager" not in text and "dataLayer" not in text
    assert '<script src="app.js"></script>' in text and "window.allureReportData" in text
    assert cli.strip_analytics(index) is False
