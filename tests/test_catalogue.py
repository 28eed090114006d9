"""The requirement catalogue is the one source of IDs: every requirement is either tagged by a
scenario or carries a not-tested reason, and every tag names a catalogued requirement."""
from pathlib import Path

from mp107 import catalogue

FEATURES = Path(__file__).resolve().parents[1] / "features"


def test_every_requirement_has_a_scenario_or_a_reason():
    tagged = catalogue.tags_in_features(FEATURES)
    missing = [r.id for r in catalogue.load().values() if r.id not in tagged and not r.not_tested]
    assert not missing, f"requirements with neither a scenario tag in features/ nor a not_tested reason: {missing}"


def test_every_tag_names_a_catalogued_requirement():
    known = catalogue.load()
    unknown = {tag: where for tag, where in catalogue.tags_in_features(FEATURES).items() if tag not in known}
    assert not unknown, f"tags in features/ that name no requirement in mp107/requirements.toml: {unknown}"


def test_a_not_tested_requirement_is_not_also_tagged():
    tagged = catalogue.tags_in_features(FEATURES)
    both = [r.id for r in catalogue.load().values() if r.not_tested and r.id in tagged]
    assert not both, f"requirements both tagged and marked not tested: {both}"


def test_catalogue_matches_spec_ids():
    spec = Path(__file__).resolve().parents[2] / "shared" / "SPEC.md"
    if not spec.exists():
        import pytest
        pytest.skip(f"{spec} is absent: cannot compare the catalogue with SPEC §3")
    import re
    spec_ids = set(re.findall(r"^\| (MP107-R\d+\.\d+) \|", spec.read_text(), flags=re.M))
    assert spec_ids == set(catalogue.load()), (
        f"catalogue and SPEC §3 differ: only in SPEC {sorted(spec_ids - set(catalogue.load()))}, "
        f"only in catalogue {sorted(set(catalogue.load()) - spec_ids)}")


def test_catalogue_detects_an_unknown_tag(tmp_path):
    (tmp_path / "x.feature").write_text("Feature: x\n  @MP107-R9.9\n  Scenario: y\n    Given z\n")
    assert "MP107-R9.9" in catalogue.tags_in_features(tmp_path)
    assert "MP107-R9.9" not in catalogue.load()
