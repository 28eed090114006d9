"""Harness-wide pytest configuration: which target the suite runs against, the cast of DCC
Users, per-scenario state, and Allure labels traced to requirement IDs."""
from __future__ import annotations

import os
from pathlib import Path

import allure
import pytest

from adapters.client import Client
from adapters.target import Capability
from mp107 import catalogue
from steps.scenario_state import ScenarioState

pytest_plugins = [
    "steps.devices", "steps.switches", "steps.service_requests", "steps.outcomes", "steps.security_input", "steps.datafix",
]

ROOT = Path(__file__).resolve().parent
DEFAULT_SHARED_DUIS = ROOT.parent / "shared" / "duis"


def pytest_addoption(parser):
    group = parser.getgroup("mp107", "SECMP0107 conformance harness")
    group.addoption("--target", default="local",
                    help="'local' (the reference DCC in-process, default) or the base URL of a Target Interface v1 endpoint")
    group.addoption("--profile", default=None, help="target profile (TOML) describing users, devices and capabilities")
    group.addoption("--s1sp", default="all", help="run the per-S1SP scenarios for one S1SP only (S1SP1, S1SP2, S1SP3) or 'all'")
    group.addoption("--duis-xsd", default=None,
                    help="folder holding 'DUIS Schema V5.4.xsd' (default: $DUIS_SCHEMA_DIR, else ../shared/duis/schema)")
    group.addoption("--outcome-timeout", type=float, default=10.0,
                    help="seconds to wait for a final outcome before the scenario is judged broken")
    group.addoption("--reference-break", action="append", default=[],
                    help="run the in-process reference with this rule deliberately broken (see reference/rules.py)")
    group.addoption("--reference-s1sp-not-implemented", action="append", default=[], metavar="S1SP",
                    help="run the in-process reference with this S1SP not having implemented MP107 (repeatable)")


def pytest_configure(config):
    xsd = config.getoption("--duis-xsd")
    if xsd:
        os.environ["DUIS_SCHEMA_DIR"] = str(Path(xsd).resolve())
    elif "DUIS_SCHEMA_DIR" not in os.environ and (DEFAULT_SHARED_DUIS / "schema").is_dir():
        os.environ["DUIS_SCHEMA_DIR"] = str(DEFAULT_SHARED_DUIS / "schema")
    for req_id in catalogue.load():
        config.addinivalue_line("markers", f"{req_id}: SPEC requirement {req_id}")
    for tag in ("FIA-5.2", "FIA-4.2.2"):
        config.addinivalue_line("markers", f"{tag}: the FIA's own SIT/UIT test approach")


def pytest_collection_modifyitems(config, items):
    wanted = config.getoption("--s1sp")
    if wanted == "all":
        return
    keep, drop = [], []
    for item in items:
        example = getattr(getattr(item, "callspec", None), "params", {}).get("_pytest_bdd_example", {})
        (drop if example.get("s1sp") not in (None, wanted) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def target(request):
    spec = request.config.getoption("--target")
    if spec != "local":
        pytest.exit(f"--target {spec}: only 'local' is available in this build", returncode=2)
    from adapters.local import LocalTarget
    from reference.config import S1SPS, ReferenceConfig
    broken = frozenset(request.config.getoption("--reference-break"))
    not_implemented = set(request.config.getoption("--reference-s1sp-not-implemented"))
    tgt = LocalTarget(config=ReferenceConfig(
        broken=broken, s1sp_implemented={s: s not in not_implemented for s in S1SPS}))
    yield tgt
    tgt.close()


@pytest.fixture(scope="session")
def cast(target):
    from adapters.world import Cast
    the_cast = Cast()
    if Capability.PROVISION in target.capabilities:
        target.provision(the_cast.fixture())
    return the_cast


@pytest.fixture(scope="session")
def client(target, request):
    return Client(target, outcome_timeout=request.config.getoption("--outcome-timeout"))


@pytest.fixture
def state(cast, client):
    s = ScenarioState(cast=cast, client=client)
    yield s
    for undo in reversed(s.restore):
        undo()


def pytest_bdd_before_scenario(request, feature, scenario):
    allure.dynamic.epic("SECMP0107")
    allure.dynamic.feature(feature.name)
    for req_id in catalogue.requirement_tags(scenario.tags):
        allure.dynamic.story(req_id)
    example = getattr(getattr(request.node, "callspec", None), "params", {}).get("_pytest_bdd_example", {})
    for key in ("s1sp", "fuel"):
        if key in example:
            allure.dynamic.tag(example[key])
