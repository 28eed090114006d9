"""`mp107 diff RUN_A RUN_B`: every scenario whose outcome differs between two run folders - its verdict,
and per Service Request the acknowledgement code, the final code or S1SP alert and whose
certificates a 6.24.1 read back - as a table (terminal, markdown) or JSON; exit 1 when anything
differs, 0 when nothing does, 2 when a folder cannot be read. Uses: a vendor's DCC against the
reference, this release against the last, two shards' merged run against an unsharded one.

`mp107 diff RUN --by s1sp` compares the S1SPs within one run instead: each per-S1SP scenario of
S1SP1, S1SP2 and S1SP3 (same feature, same fuel) side by side, listed where they do not agree.

What a scenario saw is recorded by the steps on its Allure result (label mp107_observed, one per
request, adapters/observations.py) in words that do not change between runs (parties by their part,
not User IDs or certificate hashes). Scenarios are matched by feature and name (which carry the S1SP
and fuel of an outline's example)."""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from reports import collect
from reports.results import ResultsError, ScenarioResult, load_allure

EXIT_SAME, EXIT_DIFFERENT, EXIT_UNREADABLE = 0, 1, 2
FORMATS = ("terminal", "markdown", "json")
_S1SP = re.compile(r"S1SP\d+")
FIELDS = (("ack", "acknowledgement"), ("final", "final outcome"), ("slots", "slots read back"))


@dataclass
class Difference:
    scenario: str
    what: str
    values: dict[str, str]
    """column (run folder name, or S1SP) -> what it saw"""

    def as_json(self) -> dict:
        return {"scenario": self.scenario, "differs_in": self.what, "values": self.values}


def add_parser(sub) -> None:
    p = sub.add_parser("diff", help="list every scenario whose outcome differs between two runs (or between the "
                                    "S1SPs of one run, --by s1sp); exit 1 if any does",
                       description="Compare two run folders scenario by scenario: verdict, acknowledgement code, "
                                   "final code or S1SP alert, slot contents read back. With --by s1sp, compare the "
                                   "S1SPs within one run.",
                       epilog="Exit codes: 0 nothing differs, 1 something differs, 2 a folder cannot be read.")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="two run folders (one with --by s1sp)")
    p.add_argument("--format", choices=FORMATS, default="terminal")
    p.add_argument("--by", choices=("s1sp",), default=None, help="compare the S1SPs within one run")
    p.set_defaults(func=lambda args, extra: main(args))


def main(args) -> int:
    wanted = 1 if args.by else 2
    if len(args.run_dirs) != wanted:
        print(f"mp107 diff: expected {'one run folder with --by s1sp' if args.by else 'two run folders'}, got "
              f"{len(args.run_dirs)}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        runs = [_load(Path(d)) for d in args.run_dirs]
    except ResultsError as exc:
        print(f"mp107 diff: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.by:
        columns, differences = list(_s1sps(runs[0])), by_s1sp(runs[0])
        title = f"S1SPs compared within {args.run_dirs[0]}"
    else:
        columns = _names(args.run_dirs)
        differences = between(runs[0], runs[1], columns)
        title = f"{args.run_dirs[0]} against {args.run_dirs[1]}"
    print(render(differences, columns, args.format, title))
    return EXIT_DIFFERENT if differences else EXIT_SAME


def _load(run: Path) -> list[ScenarioResult]:
    if not (run / collect.ALLURE_DIR).is_dir():
        raise ResultsError(f"{run} is not a run folder (no {collect.ALLURE_DIR}/)")
    return load_allure(run / collect.ALLURE_DIR)


def _names(dirs: list[str]) -> list[str]:
    names = [Path(d).resolve().name for d in dirs]
    return names if len(set(names)) == len(names) else [f"A ({names[0]})", f"B ({names[1]})"]


def _key(sc: ScenarioResult) -> str:
    return sc.full_name or f"{sc.feature}:{sc.name}"


def _requests(sc: ScenarioResult) -> list[dict]:
    return sorted(sc.observed, key=lambda o: o.get("n", 0))


def _show(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def compare(a: ScenarioResult | None, b: ScenarioResult | None) -> tuple[str, str, str] | None:
    """(what differs, A's, B's) for the first difference between two results of one scenario, or None."""
    if a is None or b is None:
        return ("ran in one run only", a.status if a else "not in this run", b.status if b else "not in this run")
    seen = _first_difference(_requests(a), _requests(b))
    if a.status != b.status:
        if seen is None:
            return ("verdict", a.status, b.status)
        return (f"verdict; {seen[0]}", f"{a.status}: {seen[1]}", f"{b.status}: {seen[2]}")
    return seen


def _first_difference(ra: list[dict], rb: list[dict]) -> tuple[str, str, str] | None:
    for n, (x, y) in enumerate(zip(ra, rb), start=1):
        if (x.get("request"), x.get("from")) != (y.get("request"), y.get("from")):
            return (f"request {n}", f"{x.get('request')} from {x.get('from')}", f"{y.get('request')} from {y.get('from')}")
        for field, words in FIELDS:
            if x.get(field) != y.get(field):
                return (f"request {n} ({x.get('request')} from {x.get('from')}): {words}",
                        _show(x.get(field)), _show(y.get(field)))
    if len(ra) != len(rb):
        return ("number of requests", str(len(ra)), str(len(rb)))
    return None


def between(a: list[ScenarioResult], b: list[ScenarioResult], columns: list[str]) -> list[Difference]:
    left, right = {_key(sc): sc for sc in a}, {_key(sc): sc for sc in b}
    out = []
    for key in sorted(set(left) | set(right)):
        found = compare(left.get(key), right.get(key))
        if found is not None:
            what, x, y = found
            out.append(Difference(key, what, {columns[0]: x, columns[1]: y}))
    return out


def _s1sps(run: list[ScenarioResult]) -> list[str]:
    return sorted({sc.s1sp for sc in run if sc.s1sp})


def _neutral(sc: ScenarioResult) -> ScenarioResult:
    """The result with its own S1SP's name taken out of what it saw (so S1SPs can be compared)."""
    import dataclasses
    observed = [json.loads(_S1SP.sub("<S1SP>", json.dumps(o))) for o in sc.observed]
    return dataclasses.replace(sc, observed=observed)


def by_s1sp(run: list[ScenarioResult]) -> list[Difference]:
    groups: dict[str, dict[str, ScenarioResult]] = {}
    for sc in run:
        if sc.s1sp:
            groups.setdefault(_S1SP.sub("<S1SP>", _key(sc)), {})[sc.s1sp] = _neutral(sc)
    names = _s1sps(run)
    out = []
    for key in sorted(groups):
        group = groups[key]
        present = [name for name in names if name in group]
        if len(present) < 2:                   # one S1SP's own scenario: nothing to compare it with
            continue
        first = group[present[0]]
        for other in present[1:]:
            found = compare(first, group[other])
            if found is not None:
                what = found[0]
                values = {}
                for name in names:
                    sc = group.get(name)
                    if sc is None:
                        values[name] = "not in this run"
                    elif found[0] == "verdict":
                        values[name] = sc.status
                    elif found[0].startswith("verdict; "):
                        values[name] = f"{sc.status}: {_detail(sc, found[0].removeprefix('verdict; '))}"
                    else:
                        values[name] = _detail(sc, what)
                out.append(Difference(key, what, values))
                break
    return out


def _detail(sc: ScenarioResult, what: str) -> str:
    m = re.match(r"request (\d+)", what)
    if not m:
        return str(len(sc.observed)) if what == "number of requests" else sc.status
    requests = _requests(sc)
    n = int(m[1])
    if n > len(requests):
        return "-"
    seen = requests[n - 1]
    for field, words in FIELDS:
        if what.endswith(words):
            return _show(seen.get(field))
    return f"{seen.get('request')} from {seen.get('from')}"


def render(differences: list[Difference], columns: list[str], fmt: str, title: str) -> str:
    if fmt == "json":
        return json.dumps({"compared": title, "columns": columns, "differences": [d.as_json() for d in differences],
                           "differ": len(differences)}, indent=2)
    head = ["scenario", "differs in", *columns]
    rows = [[d.scenario, d.what, *(d.values.get(c, "") for c in columns)] for d in differences]
    summary = (f"{len(differences)} scenario(s) differ" if differences else "no scenario differs") + f" ({title})"
    if fmt == "markdown":
        cell = lambda text: str(text).replace("|", "\\|").replace("\n", " ")   # noqa: E731
        lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
        return "\n".join([f"**{summary}**", "", *lines]) if rows else f"**{summary}**"
    if not rows:
        return summary
    widths = [min(60, max(len(str(r[i])) for r in [head, *rows])) for i in range(len(head))]
    fit = lambda text, w: (text if len(text) <= w else text[: w - 1] + "…").ljust(w)   # noqa: E731
    lines = ["  ".join(fit(str(c), w) for c, w in zip(head, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(fit(str(c), w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join([*lines, "", summary])
