"""Harness-wide pytest configuration: which target the suite runs against, the cast of DCC
Users, per-scenario state, and Allure labels traced to requirement IDs."""
from __future__ import annotations

import functools
import os
from pathlib import Path

import allure
import pytest

from adapters.client import Client
from adapters.target import Capability, TargetFault
from conformance import catalogue, verdicts
from steps.scenario_state import ScenarioState

pytest_plugins = [
    "steps.devices", "steps.switches", "steps.service_requests", "steps.outcomes", "steps.security_input", "steps.datafix",
    "steps.interface",         # MP107-R4.4 (Target Interface v1.1); signs an HTTP target's callback and poll calls
    "steps.critical_flow",     # the DCC's own interface: the Critical round trip, and spoiled ones
    "reports.pytest_plugin",   # run-info for `mp107 run`; Allure environment.properties with --alluredir
]

ROOT = Path(__file__).resolve().parent
S1SP_NAMES = verdicts.S1SPS
DEFAULT_SHARED_DUIS = ROOT.parent / "shared" / "duis"


def pytest_addoption(parser):
    group = parser.getgroup("mp107", "SECMP0107 conformance harness")
    group.addoption("--target", default="local",
                    help="'local' (the reference DCC served over HTTP in this process, default); 'serve' (the same, "
                         "as a subprocess: `python -m reference serve` on a free loopback port); the base URL of a Target Interface v1 endpoint; or "
                         "'profile' (the [target].base_url of --profile)")
    group.addoption("--profile", default=None,
                    help="target profile (TOML) describing users, devices and capabilities (docs/targets.md); "
                         "default for 'local' and 'serve': profiles/reference.toml")
    group.addoption("--s1sp", default="all", help="run the per-S1SP scenarios for one S1SP only (S1SP1, S1SP2, S1SP3) or 'all'")
    group.addoption("--duis-xsd", default=None,
                    help="folder holding 'DUIS Schema V5.4.xsd' (default: $DUIS_SCHEMA_DIR, else ../shared/duis/schema)")
    group.addoption("--outcome-timeout", type=float, default=None,
                    help="seconds to wait for a final outcome before the scenario is judged broken "
                         "(default: the profile's [timeouts].outcome, else 10)")
    group.addoption("--reference-break", action="append", default=[],
                    help="run the reference (--target local or serve) with this rule deliberately broken (see reference/rules.py)")
    group.addoption("--reference-defect", action="append", default=[], metavar="NAME",
                    help="run the reference (--target local, or served with --target serve) with this realistic "
                         "defect of reference/defects.py switched on (repeatable); also the data-fix script the "
                         "PIT (tests/pit) runs in-process")
    group.addoption("--reference-s1sp-not-implemented", action="append", default=[], metavar="S1SP",
                    help="run the reference (--target local or serve) with this S1SP not having implemented MP107 (repeatable)")
    group.addoption("--shard", default=None, metavar="K/N",
                    help="run shard K of N: a stable part of the selected scenarios and of the profile's device "
                         "pool (mp107/shard.py); `mp107 merge` joins the shards' run folders into one verdict")
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
    if spec in ("local", "serve") and path is None:
        path = profiles.REFERENCE_PROFILE
    profile = None
    if path is not None:
        try:
            profile = profiles.load(path, base_url=spec if spec.startswith(("http://", "https://")) else None)
        except profiles.ProfileError as exc:
            raise pytest.UsageError(f"--profile: {exc}") from None
    if spec == "profile" and (profile is None or profile.base_url is None):
        raise pytest.UsageError("--target profile: expected --profile with a [target].base_url")
    if spec in ("local", "serve") and profile is not None and profile.tls is not None:
        try:
            profile.tls.serve_arguments()      # the reference this run hosts serves HTTPS with this pair
        except profiles.ProfileError as exc:
            raise pytest.UsageError(f"--target {spec} --profile {path}: {exc}") from None
    from reference import rules
    unknown = set(config.getoption("--reference-break")) - set(rules.all_rule_names())
    if unknown:
        raise pytest.UsageError(f"--reference-break: no such rule {sorted(unknown)}; "
                                f"the reference's rules are {rules.all_rule_names()}")
    workers = getattr(config.option, "numprocesses", None)
    if workers and spec not in ("local", "serve") and not hasattr(config, "workerinput"):
        _check_sharable(config, spec, profile)     # workers share this one target: adapters/leases.py
    if spec not in ("local", "serve") and config.getoption("--reference-break"):
        raise pytest.UsageError("--reference-break works on the reference only (--target local or serve)")
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
    shard = config.getoption("--shard")
    if shard is not None:
        from mp107 import shard as shards
        try:
            config.stash[_SHARD] = shards.parse(shard)
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.stash[_PROFILE] = profile


_PROFILE = pytest.StashKey()
_SHARD = pytest.StashKey()
_SHARED = pytest.StashKey()


def _check_sharable(config, spec, profile) -> None:
    """-n N against one shared target: what cannot be shared is refused here, before anything runs.
    The rest is shared through a folder the workers get from the controller (adapters/leases.py)."""
    import tempfile
    callbacks = profile.callbacks if profile is not None else None
    if callbacks is not None and callbacks.mode == "push" and callbacks.listen_port != 0:
        raise pytest.UsageError(
            f"-n {config.option.numprocesses} with --target {spec}: the profile's [callbacks].listen names a fixed port "
            f"({callbacks.listen_host}:{callbacks.listen_port}) for the callback receiver, which only one worker can "
            f"listen on (and a DCC posts each user's outcomes to one address). Run with one worker, or give "
            f"listen = \"{callbacks.listen_host}:0\" if the target lets each user register its callback URL")
    config.stash[_SHARED] = tempfile.mkdtemp(prefix="mp107-shared-target-")


def pytest_configure_node(node):
    """xdist, in the controller: every worker learns the folder in which they share the target."""
    folder = node.config.stash.get(_SHARED, None)
    if folder is not None:
        node.workerinput["mp107_shared"] = folder


def pytest_unconfigure(config):
    folder = config.stash.get(_SHARED, None)
    if folder is not None:
        import shutil
        shutil.rmtree(folder, ignore_errors=True)


def _shared_folder(config) -> str | None:
    """The folder this worker shares the target through, or None (one worker, or a target of its own)."""
    return getattr(config, "workerinput", {}).get("mp107_shared")


def _worker_number(config) -> int:
    return int(getattr(config, "workerinput", {}).get("workerid", "gw0")[2:] or 0)


def pytest_collection_modifyitems(config, items):
    wanted = config.getoption("--s1sp")
    keep, drop = [], []
    for item in items:
        example = getattr(getattr(item, "callspec", None), "params", {}).get("_pytest_bdd_example", {})
        (drop if wanted != "all" and example.get("s1sp") not in (None, wanted) else keep).append(item)
    shard = config.stash.get(_SHARD, None)
    if shard is not None:
        from mp107 import shard as shards
        mine = shards.deal([item.nodeid for item in keep], *shard)
        drop += [item for item in keep if item.nodeid not in mine]
        keep = [item for item in keep if item.nodeid in mine]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def profile(request):
    """The target profile (adapters/profile.py), or None without --profile."""
    return request.config.stash[_PROFILE]


@pytest.fixture(scope="session")
def target(request, profile):
    """HttpTarget, always (one path from a step to an implementation): at the URL given, at the
    profile's URL, or at the reference hosted for this run -- in this process (`local`, the default)
    or as a subprocess (`serve`), with the same `python -m reference serve` options."""
    from adapters import profile as profiles
    from adapters.http import HttpTarget
    from adapters.reference_host import InProcessReference, ServedReference
    spec = request.config.getoption("--target")
    profile = profile or profiles.default_profile()
    host = None
    if spec in ("local", "serve"):
        tls = profile.tls.serve_arguments() if profile.tls is not None else []   # [tls]: HTTPS, mutual TLS
        host = (InProcessReference if spec == "local" else ServedReference)(*_reference_args(request.config, profile),
                                                                            *tls)
        base_url = host.start()
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
        if host is not None:
            host.close()


def _reference_args(config, profile=None) -> list[str]:
    """`python -m reference serve` options for the reference this run hosts (--reference-*; and the
    profile's [target].dialect: "dcc" serves the DCC's own interface, --interface dcc)."""
    not_implemented = config.getoption("--reference-s1sp-not-implemented")
    return [*(["--interface", profile.dialect] if profile is not None and profile.dialect != "v1" else []),
            *(["--s1sp-not-implemented", *not_implemented] if not_implemented else []),
            *(arg for name in config.getoption("--reference-defect") for arg in ("--defect", name)),
            *(arg for rule in config.getoption("--reference-break") for arg in ("--break", rule))]


@pytest.fixture(scope="session")
def cast(request, target, profile):
    from adapters.world import Cast
    namespace = _worker_number(request.config) + 1 if _shared_folder(request.config) else 0   # users of its own
    the_cast = profile.cast(namespace) if profile is not None else Cast(namespace=namespace)
    if Capability.PROVISION in target.capabilities:
        target.provision(the_cast.fixture())
    run_dir = request.config.getoption("--mp107-run-dir", default=None)
    if run_dir:                # `mp107 run`: the certificates this run's signatures rest on, for its evidence bundle
        from adapters import run_certificates
        run_certificates.record(run_dir, the_cast, target, getattr(request.config, "workerinput", {}).get("workerid", "main"))
    return the_cast


@pytest.fixture(scope="session")
def statement(target, profile):
    """The target's conformance statement: the profile's [statement]; else, for the reference with
    test support, derived from its own state; else nothing declared (adapters/statement.py). The
    interface it speaks is the profile's [target].dialect (v1, or the DCC's own)."""
    import dataclasses
    return dataclasses.replace(_statement(target, profile), dialect=profile.dialect if profile is not None else "v1")


def _statement(target, profile):
    from adapters.statement import Statement, derived_from_reference
    if profile is not None and profile.statement is not None:
        return profile.statement
    if Capability.SWITCHES in target.capabilities:
        return derived_from_reference(S1SP_NAMES, runnable_datafix=Capability.DATAFIX in target.capabilities)
    where = profile.where() if profile is not None else "no --profile"
    return Statement(source=f"{where}: no [statement] declared", feature_switch=None,
                     test_support=Capability.PROVISION in target.capabilities)


@pytest.fixture(scope="session")
def device_pool(request, profile, statement, client):
    """The profile's devices, for a target without provisioning (None without a profile). Devices
    the statement names for the data fix are kept for the data-fix scenarios. With --shard, this
    shard's part; with workers sharing the target, leased across them (adapters/leases.py)."""
    from adapters.device_pool import DevicePool, partition
    if profile is None or not profile.devices:
        return None
    devices = profile.devices
    shard = request.config.stash.get(_SHARD, None)
    if shard is not None:
        devices = partition(devices, *shard)
    reserved = statement.datafix.fixed_devices + statement.datafix.control_devices
    folder = _shared_folder(request.config)
    if folder is None:
        return DevicePool(devices, reserved=reserved)
    from adapters.leases import SharedDevicePool
    return SharedDevicePool(devices, folder, reserved=reserved, wait=client.counter.wait)


@pytest.fixture(scope="session")
def client(target, request, profile):
    timeout = request.config.getoption("--outcome-timeout")
    if timeout is None:
        timeout = profile.timeouts.outcome if profile is not None else 10.0
    folder = _shared_folder(request.config)
    if folder is None:
        return Client(target, outcome_timeout=timeout)
    from adapters.leases import SharedCounter       # each user's counters rise as the target receives them
    exchange = profile.timeouts.exchange if profile is not None else 30.0
    workers = int(request.config.workerinput.get("workercount", 1))
    return Client(target, outcome_timeout=timeout, counter=SharedCounter(folder, wait=workers * (2 * exchange + 5)))


@pytest.fixture
def state(request, cast, client, device_pool, statement, profile, mp107_wire):
    s = ScenarioState(cast=cast, client=client, device_pool=device_pool, statement=statement, wire_log=mp107_wire,
                      profile_devices={d.device_id: d for d in profile.devices} if profile is not None else {})
    yield s
    from steps import preflight
    client.counter.end_turns()          # a request built and never sent gives its user's turn back
    preflight.postamble(s, request.node.name)
    for undo in reversed(s.restore):
        undo()


def pytest_bdd_before_step(request, feature, scenario, step, step_func):
    if _is_suite(feature):
        request.getfixturevalue("state").current_step = f"{step.keyword} {step.name}"


def _is_suite(feature) -> bool:
    """A scenario of the conformance suite (features/), not a test of the reference under tests/."""
    return _in_features(feature.filename)


@functools.lru_cache(maxsize=None)
def _in_features(filename: str) -> bool:
    return (ROOT / "features") in Path(filename).resolve().parents


def pytest_collection_finish(session):
    """hypothesis's pytest plugin imports the whole of hypothesis at the end of every session (some
    0.5 s); a run that collected nothing using it (e.g. `pytest features`) does without it."""
    import sys
    plugin = session.config.pluginmanager.get_plugin("hypothesispytest")
    if plugin is not None and "hypothesis" not in sys.modules:
        session.config.pluginmanager.unregister(plugin)


def pytest_bdd_before_scenario(request, feature, scenario):
    if _is_suite(feature):
        from steps import preflight      # every precondition, before the first request (docs/targets.md)
        state = request.getfixturevalue("state")
        folder = _shared_folder(request.config)
        if folder is not None:           # workers share the target: this one shares it, or has it alone
            _enter_floor(request.config, state, folder, scenario)
        preflight.check(state, scenario, catalogue.requirement_tags(scenario.tags))
    allure.dynamic.feature(feature.name)    # epic (requirement group) and story (requirement): reports/pytest_plugin.py
    example = getattr(getattr(request.node, "callspec", None), "params", {}).get("_pytest_bdd_example", {})
    for key in ("s1sp", "fuel"):
        if key in example:
            allure.dynamic.tag(example[key])


def _enter_floor(config, state, folder, scenario) -> None:
    """Share the target with the other workers' scenarios, or have it alone where this scenario changes
    what the whole target does, compared with its state when no such scenario runs (adapters/leases.py)."""
    from adapters.leases import Floor
    from steps import preflight
    floor = Floor(folder)
    floor.enter(None)
    state.restore.insert(0, floor.leave)       # the last undo: after the switches are set back
    if _BASELINE not in config.stash:          # read while sharing: no scenario that changes it is running
        config.stash[_BASELINE] = state.target.state()
    alone = preflight.runs_alone(state, scenario, config.stash[_BASELINE])
    if alone is not None:
        floor.leave()
        floor.enter(alone)


_BASELINE = pytest.StashKey()


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
        for name, value in (("component", v.component), ("violated", " ".join(v.requirements)), ("step", v.step),
                            ("reason", verdicts.reason_line(str(v)))):     # one line: expected / got / RequestID
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
