"""`mp107 merge RUN_DIR... [--out DIR]`: the run folders of the shards of one run (`mp107 run --shard
K/N` on N CI runners) joined into one run folder - Allure results, JUnit XML, Cucumber JSON, run
information - then judged once, as `mp107 run` judges its own folder: one report.html, one
verdict.json, one exit code.

It refuses (exit 2, saying why) what would not make one run: a folder that is not a run folder, a
shard missing or given twice, shards of runs with different targets, profiles or S1SP selections, or
one scenario in two folders. A missing shard would judge a part as the whole."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from conformance import baseline as baselines, catalogue, gate
from reports import collect

EXIT_NOT_JUDGED = gate.EXIT_NOT_JUDGED
SAME = ("target", "profile", "s1sp")
"""options every shard of one run must share"""
NOT_COPIED = {"environment.properties", "categories.json"}
"""written afresh for the merged run"""


class MergeError(Exception):
    """The folders cannot be merged into one run, and why."""


def add_parser(sub, *, finish) -> None:
    p = sub.add_parser("merge", help="join the run folders of a sharded run (mp107 run --shard K/N) into one report "
                                     "and one verdict",
                       description="Join the run folders of the shards of one run into one run folder (Allure "
                                   "results, JUnit, Cucumber JSON, run information) and judge it once.",
                       epilog="Exit codes: 0 conformant, 1 not conformant, 2 not judged (or the folders do not make "
                              "one run).")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--out", default=None, help="the merged run folder (default reports/runs/<UTC time>-merged)")
    p.add_argument("--policy", default=None, type=Path, help="release gate policy (TOML); default policies/release.toml")
    p.add_argument("--baseline", default=None, type=Path,
                   help="the target's known deviations (TOML), as for `mp107 run --baseline`")
    p.set_defaults(func=lambda args, extra: main(args, finish))


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(args, finish) -> int:
    try:
        requirements = catalogue.load()
        policy = gate.load_policy(args.policy, requirements)
        known = baselines.load(args.baseline, set(requirements)) if args.baseline else None
    except (gate.PolicyError, baselines.BaselineError) as exc:
        _err(f"mp107 merge: {exc}")
        return EXIT_NOT_JUDGED
    runs = [Path(d).resolve() for d in args.run_dirs]
    out = Path(args.out).resolve() if args.out else (
        Path.cwd() / "reports" / "runs" / (dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-merged"))
    try:
        exit_code = merge(runs, out)
    except MergeError as exc:
        _err(f"mp107 merge: {exc}")
        _err("mp107 merge: NOT JUDGED (exit 2)")
        return EXIT_NOT_JUDGED
    return finish(out, policy, pytest_exit_code=exit_code, baseline=known)


def merge(runs: list[Path], out: Path) -> int | None:
    """Write the merged run folder `out`; return the merged run's pytest exit code."""
    infos = [_run_info(run) for run in runs]
    _check_one_run(runs, infos)
    if out in runs:
        raise MergeError(f"--out {out} is one of the folders merged")
    out.mkdir(parents=True, exist_ok=True)
    for name in (collect.ALLURE_DIR, collect.JUNIT, collect.CUCUMBER, collect.RUN_INFO, collect.REPORT,
                 collect.VERDICT, "progress.jsonl", "pytest.log", *EVIDENCE_FOLDERS):
        stale = out / name
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    _allure(runs, out / collect.ALLURE_DIR)
    _junit(runs, out / collect.JUNIT)
    _cucumber(runs, out / collect.CUCUMBER)
    for folder in EVIDENCE_FOLDERS:
        _evidence(runs, folder, out / folder)
    for name in ("progress.jsonl", "pytest.log"):
        with open(out / name, "wb") as merged:
            for run in runs:
                if (run / name).exists():
                    if name == "pytest.log":
                        merged.write(f"===== {run} =====\n".encode())
                    merged.write((run / name).read_bytes())
    info = _merged_info(runs, infos)
    (out / collect.RUN_INFO).write_text(json.dumps(info, indent=2, sort_keys=True), encoding="utf-8")
    return info.get("pytest_exit_code")


EVIDENCE_FOLDERS = ("wire", "certificates")
"""what the evidence bundle reads (docs/ARCHITECTURE.md, "The run folder's evidence"): files named by their
SHA-256, and index*.jsonl files, one per worker"""


def _evidence(runs: list[Path], folder: str, out: Path) -> None:
    """Join the shards' evidence folders: content-addressed files once each (the same name must hold the same
    bytes), every index kept under a name of its shard's (shards' workers are all called gw0, gw1 ...)."""
    for shard, run in enumerate(runs, 1):
        src = run / folder
        if not src.is_dir():
            continue
        out.mkdir(parents=True, exist_ok=True)
        for path in sorted(src.iterdir()):
            if not path.is_file():
                continue
            if path.name.startswith("index") and path.suffix == ".jsonl":
                shutil.copyfile(path, out / f"index-shard{shard}-{path.stem[len('index'):].lstrip('-') or 'main'}.jsonl")
                continue
            target = out / path.name
            if target.exists():
                if target.read_bytes() != path.read_bytes():
                    raise MergeError(f"{path} and {target} have one name and different bytes: the evidence of "
                                     f"these runs disagrees")
                continue
            shutil.copyfile(path, target)


def _run_info(run: Path) -> dict:
    if not run.is_dir():
        raise MergeError(f"{run} is not a folder")
    missing = [name for name in (collect.RUN_INFO, collect.ALLURE_DIR, collect.JUNIT) if not (run / name).exists()]
    if missing:
        raise MergeError(f"{run} is not a run folder of `mp107 run` (no {', '.join(missing)})")
    info = collect.read_info(run)
    if "error" in info:
        raise MergeError(f"{run}: {info['error']}")
    return info


def _check_one_run(runs: list[Path], infos: list[dict]) -> None:
    options = [info.get("options") or {} for info in infos]
    for key in SAME:
        values = {json.dumps(o.get(key)) for o in options}
        if len(values) > 1:
            raise MergeError(f"the folders are not shards of one run: their --{key} differ "
                             f"({', '.join(sorted(values))})")
    shards = [o.get("shard") for o in options]
    if any(shards):
        if not all(shards):
            raise MergeError("some folders are shards (--shard K/N) and some are not: "
                             + ", ".join(f"{run.name}: {s or 'unsharded'}" for run, s in zip(runs, shards)))
        from .shard import parse
        dealt = [parse(s) for s in shards]
        counts = {n for _, n in dealt}
        if len(counts) > 1:
            raise MergeError(f"the folders are shards of different splits: {', '.join(sorted(set(shards)))}")
        count = counts.pop()
        seen = sorted(k + 1 for k, _ in dealt)
        if seen != list(range(1, count + 1)):
            twice = sorted({k for k in seen if seen.count(k) > 1})
            missing = sorted(set(range(1, count + 1)) - set(seen))
            raise MergeError(f"shards of {count}: " + "; ".join(
                filter(None, [f"missing {', '.join(f'{k}/{count}' for k in missing)}" if missing else "",
                              f"given twice {', '.join(f'{k}/{count}' for k in twice)}" if twice else ""]))
                             + " (a part would be judged as the whole)")


def _allure(runs: list[Path], out: Path) -> None:
    out.mkdir(parents=True)
    owner: dict[str, Path] = {}
    histories: dict[str, Path] = {}
    for run in runs:
        for path in sorted((run / collect.ALLURE_DIR).iterdir()):
            if path.name in NOT_COPIED or not path.is_file():
                continue
            if path.name in owner:
                raise MergeError(f"{path.name} is in both {owner[path.name]} and {run}")
            if path.name.endswith("-result.json"):
                history = json.loads(path.read_text(encoding="utf-8")).get("historyId")
                if history and history in histories:
                    raise MergeError(f"one scenario ran in both {histories[history]} and {run} (Allure historyId "
                                     f"{history}): shards never share a scenario")
                histories[history] = run
            owner[path.name] = run
            shutil.copy2(path, out / path.name)


def _junit(runs: list[Path], out: Path) -> None:
    cases, totals = [], {"tests": 0, "errors": 0, "failures": 0, "skipped": 0}
    seconds = 0.0
    started = []
    for run in runs:
        try:
            root = ET.parse(run / collect.JUNIT).getroot()
        except ET.ParseError as exc:
            raise MergeError(f"{run / collect.JUNIT} is not XML: {exc}") from None
        suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
        for suite in suites:
            for key in totals:
                totals[key] += int(suite.get(key, 0))
            seconds += float(suite.get("time", 0) or 0)
            if suite.get("timestamp"):
                started.append(suite.get("timestamp"))
            cases.extend(suite.findall("testcase"))
    cases.sort(key=lambda case: (case.get("classname", ""), case.get("name", "")))
    suites = ET.Element("testsuites", name="pytest tests")
    suite = ET.SubElement(suites, "testsuite", name="pytest", **{k: str(v) for k, v in totals.items()},
                          time=f"{seconds:.3f}", **({"timestamp": min(started)} if started else {}))
    suite.extend(cases)
    ET.ElementTree(suites).write(out, encoding="utf-8", xml_declaration=True)


def _cucumber(runs: list[Path], out: Path) -> None:
    features: dict[str, dict] = {}
    for run in runs:
        path = run / collect.CUCUMBER
        if not path.exists():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise MergeError(f"{path} is not JSON: {exc}") from None
        for feature in data:
            merged = features.setdefault(feature.get("uri") or feature.get("id"), {**feature, "elements": []})
            merged["elements"].extend(feature.get("elements") or [])
    for feature in features.values():
        feature["elements"].sort(key=lambda e: (e.get("line", 0), e.get("id", "")))
    out.write_text(json.dumps([features[k] for k in sorted(features)], indent=2), encoding="utf-8")


def _merged_info(runs: list[Path], infos: list[dict]) -> dict:
    info = dict(infos[0])
    info["options"] = {**(info.get("options") or {}), "shard": None}
    info["merged_from"] = [{"run_dir": str(run), "shard": (i.get("options") or {}).get("shard"),
                            "started": i.get("started"), "finished": i.get("finished"),
                            "pytest_exit_code": i.get("pytest_exit_code"), "collected": i.get("collected")}
                           for run, i in zip(runs, infos)]
    info["started"] = min((i.get("started") for i in infos if i.get("started")), default=None)
    info["finished"] = max((i.get("finished") for i in infos if i.get("finished")), default=None)
    codes = [i.get("pytest_exit_code") for i in infos]
    odd = [c for c in codes if c not in (0, 1)]
    info["pytest_exit_code"] = odd[0] if odd else max(codes)
    info["collected"] = sum(i.get("collected") or 0 for i in infos)
    errors = [f"{run.name}: {i['target_error']}" for run, i in zip(runs, infos) if i.get("target_error")]
    if errors:
        info["target_error"] = "; ".join(errors)
    pools = [i.get("device_pool") for i in infos if i.get("device_pool")]
    if pools:
        ledger = [entry for pool in pools for entry in pool.get("ledger", [])]
        info["device_pool"] = {"free": sum(pool.get("free", 0) for pool in pools), "ledger": ledger,
                               "not_used": [e for e in ledger if e["outcome"] == "not used"],
                               "left_changed": [e for e in ledger if e["outcome"] == "left changed"]}
    info["workers"] = [w for i in infos for w in (i.get("workers") or [])]
    return info
