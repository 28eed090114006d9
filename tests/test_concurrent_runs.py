"""Whole-suite runs for issue 18: several scenarios at once against ONE slow target give the verdict
one worker gives against a quick one; shards merged give the verdict and results of an unsharded
run. `mp107 diff` is the judge of "the same": it compares every scenario's verdict and, per request,
the codes and slot contents that came back. No timings are asserted (bench/ measures them)."""
from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from adapters.reference_host import ServedReference
from test_foreign_reference import shipped_serve_args

pytestmark = pytest.mark.slow      # whole-suite runs in subprocesses (quick loop: -m "not slow")

ROOT = Path(__file__).resolve().parents[1]
FOREIGN = ROOT / "profiles" / "foreign-reference.toml"
UIT = ROOT / "policies" / "uit.toml"


def mp107(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mp107", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def foreign_profile(tmp_path: Path, base_url: str) -> Path:
    text = FOREIGN.read_text(encoding="utf-8").replace('"foreign-reference/', f'"{FOREIGN.parent}/foreign-reference/')
    text = text.replace('base_url = "http://127.0.0.1:8801"', f'base_url = "{base_url}"')
    path = tmp_path / f"foreign-{base_url.rsplit(':', 1)[1]}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_against_foreign(tmp_path: Path, name: str, *, delay: str | None, workers: str) -> Path:
    extra = ["--outcome-delay", delay] if delay else []
    reference = ServedReference(*shipped_serve_args(), *extra, test_support=False)
    base_url = reference.start()
    try:
        out = tmp_path / name
        done = mp107("run", "--target", "profile", "--profile", str(foreign_profile(tmp_path, base_url)),
                     "--policy", str(UIT), "--workers", workers, "--out", str(out), "-q")
    finally:
        reference.close()
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    return out


def verdict(run: Path) -> dict:
    return json.loads((run / "verdict.json").read_text(encoding="utf-8"))


def test_four_workers_against_a_slow_foreign_target_judge_as_one_worker_against_a_quick_one(tmp_path):
    quick = run_against_foreign(tmp_path, "one-worker", delay=None, workers="1")
    slow = run_against_foreign(tmp_path, "four-workers-slow", delay="0.3", workers="4")
    a, b = verdict(quick), verdict(slow)
    assert a["verdict"] == b["verdict"] == "CONFORMANT"
    assert a["counts"] == b["counts"] and a["cells"] == b["cells"]
    info = json.loads((slow / "run-info.json").read_text(encoding="utf-8"))
    assert len(info["workers"]) == 4
    pool = b["device_pool"]          # one ledger for the four workers: each device leased, none left changed
    assert pool["ledger"] and not pool["left_changed"] and not pool["not_used"]
    diff = mp107("diff", str(quick), str(slow))
    assert diff.returncode == 0, diff.stdout          # every scenario saw the same codes and slot contents


def test_workers_share_a_target_with_test_support_scenarios_that_set_its_switches_running_alone(tmp_path):
    """The reference served with test support and a delay: its switch and S1SP-flag scenarios and the
    data fix run alone, each worker loads users of its own, and the verdict is the in-process one's."""
    local = tmp_path / "local"
    done = mp107("run", "--target", "local", "--workers", "0", "--out", str(local), "-q")
    assert done.returncode == 0, done.stderr[-3000:]
    reference = ServedReference("--outcome-delay", "0.2")
    base_url = reference.start()
    try:
        shared = tmp_path / "shared"
        done = mp107("run", "--target", base_url, "--profile", str(ROOT / "profiles" / "reference.toml"),
                     "--workers", "3", "--out", str(shared), "-q")
    finally:
        reference.close()
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert verdict(local)["cells"] == verdict(shared)["cells"]
    diff = mp107("diff", str(local), str(shared))
    assert diff.returncode == 0, diff.stdout


def test_shards_merged_are_the_unsharded_run(tmp_path):
    whole = tmp_path / "whole"
    assert mp107("run", "--workers", "0", "--out", str(whole), "-q").returncode == 0
    shards = []
    for k in (1, 2):
        out = tmp_path / f"shard-{k}"
        done = mp107("run", "--workers", "0", "--shard", f"{k}/2", "--out", str(out), "-q")
        assert done.returncode == 2, done.stdout       # half the suite alone is incomplete, never a pass
        shards.append(out)
    merged = tmp_path / "merged"
    done = mp107("merge", *map(str, shards), "--out", str(merged))
    assert done.returncode == 0, done.stdout + done.stderr
    a, b = verdict(whole), verdict(merged)
    for key in ("verdict", "exit_code", "counts", "cells", "groups", "findings", "not_applicable", "incomplete"):
        assert a[key] == b[key], key
    junit = [{(c.get("classname"), c.get("name")) for c in ET.parse(run / "junit.xml").getroot().iter("testcase")}
             for run in (whole, merged)]
    assert junit[0] == junit[1]
    cucumber = [sorted((f["uri"], e["name"]) for f in json.loads((run / "cucumber.json").read_text()) for e in f["elements"])
                for run in (whole, merged)]
    assert cucumber[0] == cucumber[1]
    assert len(list((merged / "allure-results").glob("*-result.json"))) == a["counts"]["total"]
    assert (merged / "report.html").is_file()
    assert mp107("diff", str(whole), str(merged)).returncode == 0
    missing = mp107("merge", str(shards[0]), "--out", str(tmp_path / "half"))
    assert missing.returncode == 2 and "missing 2/2" in missing.stderr
