"""Binds tests/pit/datafix_pit.feature (the reference's PIT of its own data-fix script) to pytest.
Its steps are in tests/pit/conftest.py. The feature lives here, not under features/, so that the
conformance suite's verdict on a target never rests on the reference's script."""
from pathlib import Path

from pytest_bdd import scenarios

# pyproject.toml sets bdd_features_base_dir = "features"; this feature is found beside this file.
scenarios("datafix_pit.feature", features_base_dir=str(Path(__file__).resolve().parent))
