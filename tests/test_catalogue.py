"""The requirement catalogue is the one source of IDs: every requirement is either tagged by a
scenario or carries a not-tested reason, and every tag names a catalogued requirement."""
from pathlib import Path

from conformance import catalogue

FEATURES = Path(__file__).resolve().parents[1] / "features"


def test_every_requirement_has_a_scenario_or_a_reason():
    tagged = catalogue.tags_in_features(FEATURES)
    missing = [r.id for r in catalogue.load().values() if r.id not in tagged and not r.not_tested]
    assert not missing, f"requirements with neither a scenario tag in features/ nor a not_tested reason: {missing}"


def test_every_tag_names_a_catalogued_requirement():
    known = catalogue.load()
    unknown = {tag: where for tag, where in catalogue.tags_in_features(FEATURES).items() if tag not in known}
    assert not unknown, f"tags in features/ that name no requirement in conformance/requirements.toml: {unknown}"


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


def test_every_requirement_belongs_to_a_group_with_a_title():
    groups = catalogue.load_groups()
    assert set(groups) == {"MP107-R1", "MP107-R2", "MP107-R3", "MP107-R4"}      # SPEC §3: R1 to R4
    assert all(g.title for g in groups.values())
    assert {r.group for r in catalogue.load().values()} == set(groups)


def test_a_requirement_outside_every_group_is_refused(tmp_path):
    path = tmp_path / "requirements.toml"
    path.write_text('[[group]]\nid = "MP107-R1"\ntitle = "t"\n\n'
                    '[[requirement]]\nid = "MP107-R5.1"\nactor = "DSP"\ntext = "x"\n')
    import pytest
    with pytest.raises(ValueError, match="MP107-R5.1"):
        catalogue.load_groups(path)


def test_behaviour_labels_group_by_requirement_group_then_requirement():
    """Allure's behaviours tree: epic = the requirement group, story = the requirement (ID first,
    so that reports/results.py reads the ID back), each once, in catalogue order."""
    reqs = catalogue.load()
    labels = catalogue.behaviour_labels(["MP107-R3.3", "MP107-R1.4", "MP107-R1.10", "MP107-R1.4"])
    assert labels == [
        ("epic", "MP107-R1 The change itself (FIA Requirement 1)"),
        ("epic", "MP107-R3 What must not change"),
        ("story", f"MP107-R1.4 {reqs['MP107-R1.4'].title}"),
        ("story", f"MP107-R1.10 {reqs['MP107-R1.10'].title}"),
        ("story", f"MP107-R3.3 {reqs['MP107-R3.3'].title}"),
    ]
    assert [catalogue.requirement_id(v) for k, v in labels if k == "story"] == ["MP107-R1.4", "MP107-R1.10",
                                                                                "MP107-R3.3"]
    assert catalogue.behaviour_labels(["MP107-R9.9"]) == [("story", "MP107-R9.9")]   # not catalogued: bare


def test_a_title_is_the_rules_text_shortened_at_a_word():
    short = catalogue.load()["MP107-R1.2"]
    assert short.title == short.text                     # short enough as it is
    long = catalogue.load()["MP107-R1.10"]
    assert len(long.title) <= catalogue.TITLE_CHARS + 1 and long.title.endswith("\u2026")
    assert long.text.startswith(long.title[:-1])


def test_requirement_id_reads_the_id_a_label_starts_with():
    assert catalogue.requirement_id("MP107-R1.4 The wrong NO ...") == "MP107-R1.4"
    assert catalogue.requirement_id("MP107-R1.4") == "MP107-R1.4"
    assert catalogue.requirement_id("MP107-R1.45") == "MP107-R1.45"
    assert catalogue.requirement_id("MP107-R1.4x") is None
    assert catalogue.requirement_id("SECMP0107") is None
