"""pytest plugin loaded by `mp107 run` (`-p reports.pytest_plugin --mp107-run-dir DIR`).

It records what the report's header needs and only the suite knows: the target's description
and its state (feature switch, S1SP flags) at the start and end of the session, the options the
suite ran with and the versions of the tools (`run-info.json`); and it appends one progress event
per scenario to `progress.jsonl`, which `mp107 run` turns into progress lines on stderr.
Without --mp107-run-dir it writes no run folder; with pytest's --alluredir (also when the suite is
run as plain pytest) it writes Allure's environment.properties (target, switch states, S1SP flags,
versions) and categories.json there at the end of the session.

Under pytest-xdist (`-n`), each worker hosts its own reference (--target local or serve) and runs
its share of the scenarios: workers append their scenarios' progress events to the same
progress.jsonl (one short line per write, appended), the first worker alone reports the collection,
and each hands its run information to the controller (`workeroutput`), which merges it into the one
run-info.json -- the target as the first worker saw it, and the number of workers.

With --mp107-run-dir it also keeps the exact bytes of every leg that crossed the wire (`wire/`, below):
the steps hand each leg to the `mp107_wire` fixture's log as data (its index entry, bytes and signer
certificate: adapters/wire.py makes them); nothing here parses them.

    RUN_DIR/wire/<sha256>.xml            the exact bytes of a leg, named by their SHA-256 (written once)
    RUN_DIR/wire/certificates/<sha256>.pem   a signer's certificate, named by the SHA-256 of the PEM
    RUN_DIR/wire/index.jsonl             one JSON object a line, one line per leg, in the order sent:
        {"scenario": pytest node ID, "request_id": ..., "leg": "request" | "transform" |
         "signed-pre-command" | "acknowledgement" | "outcome", "direction": "to-target" | "from-target",
         "signer": EUI-64 User ID | "DSP" | null (unsigned, or a certificate the harness does not hold:
         then "signer_unknown" names its issuer and serial), "sha256": hex, "length": bytes,
         "signer_certificate_sha256": the certificate file's name, where the harness holds it}

Under pytest-xdist each worker writes its own `index-<worker>.jsonl` (index-gw0.jsonl, ...): read
`wire/index*.jsonl`. Each line is written whole with one write and flushed.

In every run it labels each scenario's Allure result by requirement, from the catalogue: an `epic`
per requirement group and a `story` per requirement (ID and title), so that Allure's behaviours
tree groups results by requirement, not only by feature file.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import allure
import pytest

from conformance import catalogue, verdicts

RUN_INFO = "run-info.json"
PROGRESS = "progress.jsonl"
WIRE = "wire"

_info_key = pytest.StashKey[dict]()
_names_key = pytest.StashKey[dict]()
_outcome_key = pytest.StashKey[dict]()
_progress_key = pytest.StashKey[object]()
_wire_key = pytest.StashKey[object]()

OPTIONS = ("target", "profile", "s1sp", "outcome_timeout", "reference_break", "reference_s1sp_not_implemented", "shard")


def pytest_addoption(parser):
    group = parser.getgroup("mp107-report", "mp107 run: results folder")
    group.addoption("--mp107-run-dir", default=None,
                    help="folder of this run (written by `mp107 run`): run-info.json and progress.jsonl go there")


def _run_dir(config) -> Path | None:
    value = config.getoption("--mp107-run-dir", default=None)
    return Path(value) if value else None


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("mp107-harness", "pytest", "pytest-bdd", "allure-pytest-bdd", "allure-python-commons"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _jsonable(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _allure_dir(config) -> Path | None:
    value = getattr(config.option, "allure_report_dir", None)
    return Path(value) if value else None


def pytest_configure(config):
    run_dir = _run_dir(config)
    if run_dir is None and _allure_dir(config) is None:
        return
    options = {}
    for name in OPTIONS:
        try:
            options[name] = _jsonable(config.getoption(name))
        except ValueError:
            pass          # an option another conftest did not (yet) define
    config.stash[_info_key] = {"started": _now(), "options": options, "versions": versions(),
                               "args": list(config.invocation_params.args)}
    if run_dir is None:
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    config.stash[_names_key] = {}
    config.pluginmanager.register(_ScenarioNames(), "mp107-scenario-names")
    config.stash[_outcome_key] = {}
    config.stash[_progress_key] = (run_dir / PROGRESS).open("a", encoding="utf-8")
    config.stash[_wire_key] = WireLog(run_dir, _worker(config))


def _worker(config) -> str | None:
    """This process's xdist worker ID (gw0, gw1, ...), or None in the controller or without xdist."""
    return getattr(config, "workerinput", {}).get("workerid")


def _event(config, **event) -> None:
    stream = config.stash.get(_progress_key, None)
    if stream is not None:
        stream.write(json.dumps(event) + "\n")
        stream.flush()


class WireLog:
    """RUN_DIR/wire: the exact bytes of every leg, and one index line per leg (module docstring)."""

    def __init__(self, run_dir: Path, worker: str | None) -> None:
        self.folder = run_dir / WIRE
        self.index_path = self.folder / (f"index-{worker}.jsonl" if worker else "index.jsonl")
        self.index = None          # opened at the first leg: a process that sends nothing writes nothing

    @staticmethod
    def _once(path: Path, data: bytes) -> None:
        if path.exists():
            return
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_bytes(data)
        os.replace(partial, path)          # whole or absent, whichever worker writes it first

    def record(self, scenario: str, entry: dict, data: bytes, certificate: bytes | None) -> None:
        if hashlib.sha256(data).hexdigest() != entry.get("sha256") or len(data) != entry.get("length"):
            raise ValueError(f"wire log: the entry for the {entry.get('leg')} of {entry.get('request_id')} does not "
                             "describe its bytes")
        if self.index is None:
            (self.folder / "certificates").mkdir(parents=True, exist_ok=True)
            self.index = self.index_path.open("a", encoding="utf-8")
        self._once(self.folder / f"{entry['sha256']}.xml", data)
        if certificate is not None:
            self._once(self.folder / "certificates" / f"{hashlib.sha256(certificate).hexdigest()}.pem", certificate)
        self.index.write(json.dumps({"scenario": scenario, **entry}) + "\n")
        self.index.flush()

    def close(self) -> None:
        if self.index is not None:
            self.index.close()


@pytest.fixture
def mp107_wire(request):
    """The run folder's wire log for this test: a callable (index entry, exact bytes, signer certificate
    PEM or None), or None when there is no run folder (--mp107-run-dir)."""
    log = request.config.stash.get(_wire_key, None)
    if log is None:
        return None
    nodeid = request.node.nodeid
    return lambda entry, data, certificate=None: log.record(nodeid, entry, data, certificate)


@pytest.fixture(scope="session", autouse=True)
def _mp107_run_info(request):
    """Record the target's description and state at the start and at the end of the session.
    Asks for `target` only when `mp107 run` loaded the plugin with a run folder."""
    info = request.config.stash.get(_info_key, None)
    if info is None:
        yield
        return
    try:
        target = request.getfixturevalue("target")
    except pytest.FixtureLookupError:
        info["target_error"] = "the suite defines no 'target' fixture"
        yield
        return
    except Exception as exc:
        # The session's target could not be set up (e.g. unreachable): every scenario would break the
        # same way, so stop after this one instead of rendering the same fault for each of them.
        info["target_error"] = f"{type(exc).__name__}: {exc}"
        request.session.shouldstop = f"the target could not be set up: {type(exc).__name__}: {exc}"
        raise
    info["target_name"] = getattr(target, "name", str(target))
    info["capabilities"] = sorted(getattr(c, "value", str(c)) for c in getattr(target, "capabilities", ()))
    for key, call in (("target", "describe"), ("state_start", "state")):
        try:
            info[key] = _jsonable(getattr(target, call)())
        except Exception as exc:       # a target that cannot describe itself is still recorded
            info[key] = {"error": f"{type(exc).__name__}: {exc}"}
    recorded = {}
    for key, fixture, call in (("statement", "statement", "as_json"), ("device_pool", "device_pool", "report"),
                               ("outcome_waits", "client", "outcome_waits")):     # adapters/silence.py
        try:
            value = request.getfixturevalue(fixture)
        except Exception:              # a suite without it, or one that could not be made
            continue
        if value is not None and hasattr(value, call):
            recorded[key] = getattr(value, call)
    yield
    try:
        info["state_end"] = _jsonable(target.state())
        info["target"] = _jsonable(target.describe())      # what it learnt on the way (e.g. polling)
    except Exception as exc:
        info["state_end"] = {"error": f"{type(exc).__name__}: {exc}"}
    for key, call in recorded.items():
        info[key] = _jsonable(call())


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report):
    """pytest-bdd's Cucumber JSON under xdist. pytest-bdd keeps each report's scenario in a registry
    keyed by the report object, in the process that made it; its Cucumber JSON writer runs in the
    controller, which only sees the reports xdist re-created there, so it would write no scenario.
    Here, in a worker (before xdist serialises the report, which carries its attributes), the
    scenario rides on the report as `mp107_bdd_scenario`; in the controller it goes back into the
    registry before the writer looks. Uses pytest_bdd.reporting's registry (pytest-bdd 9);
    tests/test_cli.py checks the Cucumber JSON of a parallel run lists every scenario that ran."""
    from pytest_bdd import reporting
    context = reporting.test_report_context_registry.get(report)
    if context is not None:
        report.mp107_bdd_scenario = {"scenario": context.scenario, "name": context.name}
    elif isinstance(getattr(report, "mp107_bdd_scenario", None), dict):
        carried = report.mp107_bdd_scenario
        reporting.test_report_context_registry[report] = reporting.ReportContext(**carried)


def pytest_collection_finish(session):
    if _worker(session.config) in (None, "gw0"):     # every worker collects the whole suite: say it once
        _event(session.config, event="collected", total=len(session.items))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """xdist, in the controller: a worker finished; merge what it recorded into this run's info."""
    info = node.config.stash.get(_info_key, None)
    theirs = getattr(node, "workeroutput", {}).get("mp107_info")
    if info is None or not theirs:
        return
    workers = info.setdefault("workers", [])
    workers.append(theirs.get("worker"))
    for key, value in theirs.items():
        if key in ("started", "finished", "options", "versions", "args", "worker", "pytest_exit_code", "collected"):
            continue
        if key == "outcome_waits" and isinstance(value, dict) and value.get("gave_up"):
            info.setdefault("outcome_waits_gave_up", []).append(f"{theirs.get('worker')}: {value['gave_up']}")
        if key == "device_pool" and len((value or {}).get("ledger", ())) > len((info.get(key) or {}).get("ledger", ())):
            info[key] = value                # workers sharing one target share one ledger: the fullest is the last
        info.setdefault(key, value)          # the first worker's view of the target; the rest agree on it


class _ScenarioNames:
    """Records each scenario's name before any other before-scenario hook runs (the preflight may
    end a scenario as not applicable there, and then later hooks never run)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_bdd_before_scenario(self, request, feature, scenario):
        names = request.config.stash.get(_names_key, None)
        if names is not None:
            names[request.node.nodeid] = scenario.name


def pytest_bdd_before_scenario(request, feature, scenario):
    for name, value in catalogue.behaviour_labels(catalogue.requirement_tags(scenario.tags)):
        allure.dynamic.label(name, value)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    outcomes = item.config.stash.get(_outcome_key, None)
    if outcomes is None:
        return report
    if report.skipped and report.when in ("setup", "call"):
        status = "n/a" if verdicts.is_not_applicable(str(getattr(report, "longrepr", ""))) else "skipped"
    elif report.failed:
        assertion = call.excinfo is not None and call.excinfo.errisinstance((AssertionError, pytest.fail.Exception))
        status = "failed" if report.when == "call" and assertion else "broken"
    else:
        status = "passed"
    rank = {"passed": 0, "n/a": 1, "skipped": 1, "failed": 2, "broken": 3}
    prior = outcomes.get(item.nodeid, "passed")
    outcomes[item.nodeid] = status if rank[status] >= rank[prior] else prior
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    # Set-up, call and tear-down of one scenario are done when the inner protocol returns.
    try:
        return (yield)
    finally:
        outcomes = item.config.stash.get(_outcome_key, None)
        if outcomes is not None:
            _event(item.config, event="scenario", nodeid=item.nodeid, status=outcomes.get(item.nodeid, "passed"),
                   name=item.config.stash[_names_key].get(item.nodeid, item.name))


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    wire = config.stash.get(_wire_key, None)
    if wire is not None:
        wire.close()
        del config.stash[_wire_key]
    info = config.stash.get(_info_key, None)
    if info is None:
        return
    if _worker(config) is not None:          # xdist worker: hand it to the controller, which writes the files
        info["worker"] = _worker(config)
        config.workeroutput["mp107_info"] = json.loads(json.dumps(info, default=str))
        stream = config.stash.get(_progress_key, None)
        if stream is not None:
            stream.close()
            del config.stash[_progress_key]
        return
    info["finished"] = _now()
    info["pytest_exit_code"] = int(exitstatus)
    info["collected"] = getattr(session, "testscollected", None)
    allure_dir = _allure_dir(config)
    if allure_dir is not None:
        from .environment import environment, write_categories, write_environment
        write_environment(allure_dir, environment(info))
        write_categories(allure_dir)
    if _run_dir(config) is None:
        return
    path = _run_dir(config) / RUN_INFO
    path.write_text(json.dumps(info, indent=2, sort_keys=True), encoding="utf-8")
    _event(config, event="finished", exit_code=int(exitstatus))
    stream = config.stash.get(_progress_key, None)
    if stream is not None:
        stream.close()
        del config.stash[_progress_key]
