"""A request carrying more than its signature covers - a processing instruction added before the root
after signing - is judged under MP107-R4.1 (the signature does not bind what was sent), not R4.2
(it is well-formed XML). The reference refuses it with E1 at its signature check, as xmlsec1 would;
a DSP whose check covers the document element only (here: the reference with dsp.signature broken)
accepts it, and the finding names R4.1 with evidence saying why."""
from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from adapters import hostile

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not (Path(__file__).resolve().parents[2] / "shared" / "duis" / "schema").is_dir(),
    reason="../shared/duis/schema (DUIS Schema V5.4) is absent")]

ROOT = Path(__file__).resolve().parents[1]
KIND = "a request with a processing instruction added before its root after signing"


def test_the_kind_is_r4_1_and_its_scenario_is_tagged_r4_1_only():
    assert hostile.MALFORMATIONS[KIND].requirement == "MP107-R4.1"
    assert "does not cover" in hostile.MALFORMATIONS[KIND].note
    feature = (ROOT / "features" / "requirement4_security_input.feature").read_text(encoding="utf-8")
    outline = feature[:feature.index(f"| {KIND}")].rsplit("Scenario Outline:", 1)
    assert outline[0].rstrip().splitlines()[-1].strip() == "@MP107-R4.1", outline[0][-200:]


def run(tmp_path: Path, *extra: str) -> tuple[ET.Element, list[dict], Path]:
    junit, allure = tmp_path / "junit.xml", tmp_path / "allure"
    cmd = [sys.executable, "-m", "pytest", "features", "-q", "-p", "no:cacheprovider", "-k", "carrying_more_than_its_signature",
           f"--junitxml={junit}", "--alluredir", str(allure), *extra]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert junit.exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
    results = [json.loads(p.read_text()) for p in allure.glob("*-result.json")]
    assert len(results) == 1, proc.stdout[-2000:]
    return ET.parse(junit).getroot(), results, allure


def test_the_reference_refuses_it_with_e1_because_the_signature_does_not_cover_it(tmp_path):
    junit, [result], allure = run(tmp_path)
    assert result["status"] == "passed", result.get("statusDetails")
    acks = [a for step in result["steps"] for a in step.get("attachments", []) if a["name"].startswith("acknowledgement")]
    assert acks and acks[0]["name"].startswith("acknowledgement E1")
    assert "outside the signed Request" in (allure / acks[0]["source"]).read_text()


def test_a_dsp_that_checks_the_document_element_only_breaks_r4_1_and_the_evidence_says_why(tmp_path):
    junit, [result], _ = run(tmp_path, "--reference-break", "dsp.signature")
    assert result["status"] == "failed"
    message = result["statusDetails"]["message"]
    assert "[DSP broke MP107-R4.1 at 'Then the DSP refuses it']" in message and "MP107-R4.2" not in message
    assert "does not cover it" in message and "Reference URI" in message
    [case] = list(junit.iter("testcase"))
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["violated"] == "MP107-R4.1" and properties["component"] == "DSP"
