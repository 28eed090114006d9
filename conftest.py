"""Harness-wide pytest configuration: which target the suite runs against, the cast of DCC
Users, per-scenario state, and Allure labels traced to requirement IDs."""
from __future__ import annotations

import os
from pathlib import Path

import allure
import pytest

from adapters.client import Client
from adapters.target import Capability, TargetFault
from mp107 import catalogue, verdicts
from steps.scenario_state import ScenarioState

pytest_plugins = [
    "steps.devices", "steps.switches", "steps.service_requests", "steps.outcomes", "steps.security_input", "steps.datafix",
    "steps.interface",         # MP107-R4.4 (Target Interface v1.1); signs an HTTP target's callback and poll calls
    "reports.pytest_plugin",   # run-info for `mp107 run`; Allure environment.properties with --alluredir
]

ROOT = Path(__file__).resolve().parent
S1SP_NAMES = verdicts.S1SPS
DEFAULT_SHARED_DUIS = ROOT.parent / "shared" / "duis"


def pytest_addoption(parser):
    group = parser.getgroup("mp107", "SECMP0107 conformance harness")
    group.addoption("--target", default="local",
                    help="'local' (the reference DCC in-process, default); 'serve' (the reference DCC served over HTTP "
                         "on a free loopback port for this run); the base URL of a Target Interface v1 endpoint; or "
                         "'profile' (the [target].base_url of --profile)")
    group.addoption("--profile", default=None,
                    help="target profile (TOML) describing users, devices and capabilities (docs/targets.md); "
                         "default for 'serve': profiles/reference.toml")
    group.addoption("--s1sp", default="all", help="run the per-S1SP scenarios for one S1SP only (S1SP1, S1SP2, S1SP3) or 'all'")
    group.addoption("--duis-xsd", default=None,
                    help="folder holding 'DUIS Schema V5.4.xsd' (default: $DUIS_SCHEMA_DIR, else ../shared/duis/schema)")
    group.addoption("--outcome-timeout", type=float, default=None,
                    help="seconds to wait for a final outcome before the scenario is judged broken "
                         "(default: the profile's [timeouts].outcome, else 10)")
    group.addoption("--reference-break", action="append", default=[],
                    help="run the in-process reference with this rule deliberately broken (see reference/rules.py)")
    group.addoption("--reference-defect", action="append", default=[], metavar="NAME",
                    help="run the reference (--target local, or served with --target serve) with this realistic "
                         "defect of reference/defects.py switched on (repeatable); also the data-fix script the "
                         "PIT (tests/pit) runs in-process")
    group.addoption("--reference-s1sp-not-implemented", action="append", default=[], metavar="S1SP",
                    help="run the in-process reference with this S1SP not having implemented MP107 (repeatable)")
    group.addoption("--insecure-skip-response-verification", action="store_true", default=False,
                    help="drive an HTTP target whose DSP certificate is unknown (no [target].dsp_certificate in the "
                         "profile, no test support to fetch it from), taking every answer and outcome UNVERIFIED; "
                         "the report says so. Without it such a target is refused")


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
    _configure_target(config)


def _configure_target(config):
    """Check --target and read --profile once, before any test runs: a mistake there is a usage
    error (exit 4), not 100 broken scenarios."""
    from adapters import profile as profiles
    spec = config.getoption("--target")
    if spec not in ("local", "serve", "profile") and not spec.startswith(("http://", "https://")):
        raise pytest.UsageError(f"--target {spec}: expected 'local', 'serve', 'profile' or an http(s):// base URL")
    path = config.getoption("--profile")
    if spec == "serve" and path is None:
        path = profiles.REFERENCE_PROFILE
    profile = None
    if path is not None:
        try:
            profile = profiles.load(path, base_url=spec if spec.startswith(("http://", "https://")) else None)
        except profiles.ProfileError as exc:
            raise pytest.UsageError(f"--profile: {exc}") from None
    if spec == "profile" and (profile is None or profile.base_url is None):
        raise pytest.UsageError("--target profile: expected --profile with a [target].base_url")
    from reference import rules
    unknown = set(config.getoption("--reference-break")) - set(rules.all_rule_names())
    if unknown:
        raise pytest.UsageError(f"--reference-break: no such rule {sorted(unknown)}; "
                                f"the reference's rules are {rules.all_rule_names()}")
    if spec != "local" and config.getoption("--reference-break"):
        raise pytest.UsageError("--reference-break works on the in-process reference only (--target local)")
    from reference import defects
    unknown = defects.unknown(config.getoption("--reference-defect"))
    if unknown:
        raise pytest.UsageError(f"--reference-defect: no such defect {unknown}; "
                                f"the reference's defects are {defects.all_defect_names()}")
    if spec not in ("local", "serve") and config.getoption("--reference-defect"):
        raise pytest.UsageError("--reference-defect works on the reference only (--target local or serve)")
    if config.getoption("--reference-defect"):      # the data-fix script the PIT drives in-process reads it
        os.environ[defects.ENVIRONMENT] = ",".join(config.getoption("--reference-defect"))
    s1sp = config.getoption("--s1sp")
    if s1sp != "all" and s1sp not in S1SP_NAMES:
        raise pytest.UsageError(f"--s1sp {s1sp}: expected one of {', '.join(S1SP_NAMES)} or 'all'")
    config.stash[_PROFILE] = profile


_PROFILE = pytest.StashKey()


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
def profile(request):
    """The target profile (adapters/profile.py), or None without --profile."""
    return request.config.stash[_PROFILE]


@pytest.fixture(scope="session")
def target(request, profile):
    spec = request.config.getoption("--target")
    if spec != "local":
        yield from _http_target(request, spec, profile)
        return
    from adapters.local import LocalTarget
    from reference.config import S1SPS, ReferenceConfig
    broken = frozenset(request.config.getoption("--reference-break"))
    not_implemented = set(request.config.getoption("--reference-s1sp-not-implemented"))
    tgt = LocalTarget(config=ReferenceConfig(
        broken=broken, s1sp_implemented={s: s not in not_implemented for s in S1SPS},
        defects=frozenset(request.config.getoption("--reference-defect"))))
    yield tgt
    tgt.close()


def _http_target(request, spec, profile):
    """HttpTarget at the URL given, the profile's URL, or a reference served for this run."""
    from adapters import profile as profiles
    from adapters.http import HttpTarget, ServedReference
    profile = profile or profiles.default_profile()
    served = None
    if spec == "serve":
        not_implemented = request.config.getoption("--reference-s1sp-not-implemented")
        defect_args = [arg for name in request.config.getoption("--reference-defect") for arg in ("--defect", name)]
        served = ServedReference(*(["--s1sp-not-implemented", *not_implemented] if not_implemented else []),
                                 *defect_args)
        base_url = served.start()
    else:
        base_url = profile.base_url if spec == "profile" else spec
    try:
        tgt = HttpTarget(base_url, profile, skip_response_verification=request.config.getoption(
            "--insecure-skip-response-verification"))
        try:
            yield tgt
        finally:
            tgt.close()
    finally:
        if served is not None:
            served.close()


@pytest.fixture(scope="session")
def cast(target, profile):
    from adapters.world import Cast
    the_cast = profile.cast() if profile is not None else Cast()
    if Capability.PROVISION in target.capabilities:
        target.provision(the_cast.fixture())
    return the_cast


@pytest.fixture(scope="session")
def statement(target, profile):
    """The target's conformance statement: the profile's [statement]; else, for the reference with
    test support, derived from its own state; else nothing declared (adapters/statement.py)."""
    from adapters.statement import Statement, derived_from_reference
    if profile is not None and profile.statement is not None:
        return profile.statement
    if Capability.SWITCHES in target.capabilities:
        return derived_from_reference(S1SP_NAMES, runnable_datafix=Capability.DATAFIX in target.capabilities)
    where = profile.where() if profile is not None else "no --profile"
    return Statement(source=f"{where}: no [statement] declared", feature_switch=None,
                     test_support=Capability.PROVISION in target.capabilities)


@pytest.fixture(scope="session")
def device_pool(profile, statement):
    """The profile's devices, for a target without provisioning (None without a profile). Devices
    the statement names for the data fix are kept for the data-fix scenarios."""
    from adapters.profile import DevicePool
    if profile is None or not profile.devices:
        return None
    return DevicePool(profile.devices,
                      reserved=statement.datafix.fixed_devices + statement.datafix.control_devices)


@pytest.fixture(scope="session")
def client(target, request, profile):
    timeout = request.config.getoption("--outcome-timeout")
    if timeout is None:
        timeout = profile.timeouts.outcome if profile is not None else 10.0
    return Client(target, outcome_timeout=timeout)


@pytest.fixture
def state(request, cast, client, device_pool, statement, profile):
    s = ScenarioState(cast=cast, client=client, device_pool=device_pool, statement=statement,
                      profile_devices={d.device_id: d for d in profile.devices} if profile is not None else {})
    yield s
    from steps import preflight
    preflight.postamble(s, request.node.name)
    for undo in reversed(s.restore):
        undo()


def pytest_bdd_before_step(request, feature, scenario, step, step_func):
    if _is_suite(feature):
        request.getfixturevalue("state").current_step = f"{step.keyword} {step.name}"


def _is_suite(feature) -> bool:
    """A scenario of the conformance suite (features/), not a test of the reference under tests/."""
    return (ROOT / "features") in Path(feature.filename).resolve().parents


def pytest_bdd_before_scenario(request, feature, scenario):
    if _is_suite(feature):
        from steps import preflight      # every precondition, before the first request (docs/targets.md)
        preflight.check(request.getfixturevalue("state"), scenario, catalogue.requirement_tags(scenario.tags))
    allure.dynamic.epic("SECMP0107")
    allure.dynamic.feature(feature.name)
    for req_id in catalogue.requirement_tags(scenario.tags):
        allure.dynamic.story(req_id)
    example = getattr(getattr(request.node, "callspec", None), "params", {}).get("_pytest_bdd_example", {})
    for key in ("s1sp", "fuel"):
        if key in example:
            allure.dynamic.tag(example[key])


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """A TargetFault (the target could not be judged: refused connection, timeout, HTTP 5xx, an
    unusable answer, an outcome that never came) makes the scenario *broken*, not failed. Allure
    already files any non-assertion exception as broken (its hook runs inside this one and sees
    the report unchanged). JUnit has no "broken": it writes <error> for a failure outside the call
    phase and <failure> inside it, so the call report of a TargetFault is filed as "setup". The
    testcase also gets the property verdict=broken."""
    fault = call.excinfo is not None and call.excinfo.errisinstance(TargetFault)
    if fault:   # its reason says it all: show the project's frames only (site-packages ones cost time, say nothing)
        own = [entry for entry in call.excinfo.traceback if ROOT in Path(str(entry.path)).parents
               and ".venv" not in str(entry.path)]
        call.excinfo.traceback = call.excinfo.traceback.__class__(own[-4:] or list(call.excinfo.traceback)[-1:])
    outcome = yield
    report = outcome.get_result()
    violation = call.excinfo is not None and call.excinfo.errisinstance(AssertionError) \
        and hasattr(call.excinfo.value, "component")
    if report.failed and violation:     # JUnit readers see which component broke which requirement, where
        v = call.excinfo.value
        for name, value in (("component", v.component), ("violated", " ".join(v.requirements)), ("step", v.step)):
            report.user_properties.append((name, value))
            item.user_properties.append((name, value))
    if report.skipped and call.excinfo is not None and verdicts.is_not_applicable(str(call.excinfo.value)):
        item.user_properties.append(("verdict", "not applicable"))
    if report.failed and fault:
        item.user_properties.append(("verdict", "broken"))
        report.user_properties.append(("verdict", "broken"))
        report.mp107_broken = True
        if report.when == "call":
            report.when = "setup"
