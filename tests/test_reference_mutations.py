"""Tests must be able to fail: run the suite against the reference with one rule deliberately
broken, and show that the scenarios for that rule fail (and nothing passes by accident).

Each case runs pytest in a subprocess on the scenarios tagged for the rule, with
`--reference-break RULE`, and reads the JUnit XML it writes."""
from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from reference import rules

pytestmark = pytest.mark.slow      # a whole-suite or served-reference run in a subprocess (quick loop: -m "not slow")

ROOT = Path(__file__).resolve().parents[1]

# rule deliberately broken -> (scenarios to run, as a -m expression; -k filter or None)
MUTATIONS = {
    "dsp.rdp_exemption.6_2_d": ("MP107-R1.4", None),
    "s1sp.rdp_exemption.6_2_d": ("MP107-R1.4", None),
    "s1sp.ownership": ("MP107-R1.3 or MP107-R1.6", None),
    "dsp.registration_data": ("MP107-R1.7 or MP107-R1.11 or MP107-R3.2", "not registered_Supplier_still"),
    "dsp.role_access": ("MP107-R1.8", None),
    "dsp.remote_party_role": ("MP107-R1.12", None),
    "dsp.originator_counter": ("MP107-R4.3", None),
    "dsp.signature": ("MP107-R4.1", None),
    "dsp.known_user": ("MP107-R4.1", "does_not_know"),
    "dsp.command_variant": ("MP107-R4.2", "Command_Variant"),
    "dsp.device_exists": ("MP107-R4.2", "does_not_exist"),
    "dsp.device_status": ("MP107-R4.2", "SMI_status"),
    "dsp.device_type": ("MP107-R4.2", "wrong_type"),
    "dsp.rdp_exemption.smets2_critical": ("MP107-R3.1", "without_a_Registration"),
    "s1sp.registration_data": ("MP107-R1.10", None),
    "s1sp.replacement_certificates": ("MP107-R4.2", "replacement_certificates"),
    "smets2.ownership": ("MP107-R3.1", "owns_nothing"),
    "smets2.replacement_certificates": ("MP107-R3.1 and MP107-R4.2", None),
}


def run_suite(tmp_path: Path, marker: str, keyword: str | None, broken: str | None) -> dict[str, str]:
    junit = tmp_path / "junit.xml"
    cmd = [sys.executable, "-m", "pytest", "features", "-q", "-p", "no:cacheprovider", "-m", marker,
           f"--junitxml={junit}"]
    if keyword:
        cmd += ["-k", keyword]
    if broken:
        cmd += ["--reference-break", broken]
    subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert junit.exists(), f"no JUnit XML from {' '.join(cmd)}"
    verdicts = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        status = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                status = child.tag
        verdicts[case.get("name")] = status
    return verdicts


@pytest.mark.parametrize("rule", sorted(MUTATIONS))
def test_breaking_a_rule_fails_its_scenarios(rule, tmp_path):
    marker, keyword = MUTATIONS[rule]
    verdicts = run_suite(tmp_path, marker, keyword, rule)
    assert verdicts, f"no scenarios selected by -m {marker!r} -k {keyword!r}"
    failed = [n for n, s in verdicts.items() if s == "failure"]
    assert failed, f"with {rule} broken, no scenario of {marker} failed: {verdicts}"


def test_every_rule_is_in_the_mutation_table():
    assert set(MUTATIONS) == set(rules.all_rule_names())
