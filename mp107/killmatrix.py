"""The kill matrix: the gate's exit code against every known defect of the reference.

Each defect the reference can be switched into (`python -m reference defects --json`: name,
component, requirements, observable) is run through the whole suite with `mp107 run`, and judged
on what a user relies on: the exit code, the components the findings name, the requirements the
failing scenarios carry. Where a defect shows:

- **foreign**: the reference served as a foreign target (profiles/foreign-reference: no test
  support, profile and statement only) under policies/uit.toml - what a user sees from outside;
- **in-process**: the reference in-process with test support under policies/release.toml - for
  defects that need a state a foreign target does not stage (the feature switch off, an S1SP flag,
  the data fix run by the harness);
- **pit**: the reference's own data-fix script (`pytest tests/pit`): defects only its PIT sees.

A defect is *killed* when: the exit code is 1 (2 where its outcomes cannot be read: observable
"unreadable"), every failing scenario carries one of its requirements, and every finding names its
component. The correct reference, in each mode, must give exit 0 and no finding; so must a
*tolerated* defect (observable "tolerated": something SPEC §5 does not forbid, such as pushing the
acknowledgement to the callback too), run in-process where outcomes are pushed: the harness must see
through it, and a finding or a broken run there is the harness's mistake.

    mp107 kill-matrix [--jobs 3] [--only NAME ...] [--json FILE] [--readme]

`--readme` rewrites the table between the kill-matrix markers in README.md, with the date.
This module starts processes only: it imports nothing of the reference.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOREIGN_PROFILE = ROOT / "profiles" / "foreign-reference.toml"
FOREIGN_WORLD = ROOT / "profiles" / "foreign-reference"
UIT, RELEASE = ROOT / "policies" / "uit.toml", ROOT / "policies" / "release.toml"
README = ROOT / "README.md"
START, END = "<!-- kill-matrix:start -->", "<!-- kill-matrix:end -->"
S1SPS = ("S1SP1", "S1SP2", "S1SP3")
STAGED_ONLY = ("MP107-R1.10", "MP107-R1.11", "MP107-R2.")
"""requirements a foreign target under uit does not stage (switch off, S1SP flags, the harness's data-fix run)"""
RUN_TIMEOUT = 900
UNREADABLE_OUTCOME_TIMEOUT = 1.0
"""seconds to wait for an outcome when the defect loses or spoils them (every wait then runs out)"""
READY = "mp107-reference: serving Target Interface v1 at "
CORRECT = "(correct reference)"


@dataclass(frozen=True)
class Defect:
    name: str
    component: str
    requirements: tuple[str, ...]
    observable: str
    description: str = ""

    @property
    def mode(self) -> str:
        """foreign where a user could see it from outside (some requirement it breaks is observable
        on a target without test support), in-process where only a staged state shows it."""
        if self.observable == "pit":
            return "pit"
        if self.observable == "tolerated":     # in-process: callbacks registered, outcomes pushed (and polled)
            return "in-process"
        if all(r.startswith(STAGED_ONLY) for r in self.requirements):
            return "in-process"
        return "foreign"

    def components(self) -> set[str]:
        return set(S1SPS) if self.component == "S1SP" else {self.component}


@dataclass
class Result:
    defect: str
    mode: str
    exit_code: int
    components: list[str] = field(default_factory=list)         # the findings' components
    requirements: list[str] = field(default_factory=list)       # the findings' requirements
    failing: list[tuple[str, list[str]]] = field(default_factory=list)   # (scenario, its requirements)
    findings: int = 0
    seconds: float = 0.0
    note: str = ""

    def killed(self, defect: Defect | None) -> tuple[bool, str]:
        """Whether this run kills `defect` (None: the correct reference, which must pass clean)."""
        if defect is None:
            ok = self.exit_code == 0 and self.findings == 0
            return ok, "" if ok else f"the correct reference gave exit {self.exit_code} with {self.findings} finding(s)"
        if defect.observable == "tolerated":
            ok = self.exit_code == 0 and self.findings == 0
            return ok, "" if ok else (f"tolerated, yet exit {self.exit_code} with {self.findings} finding(s): the "
                                      "harness took what it should have seen through")
        if defect.mode == "pit":
            return (self.exit_code == 1, "" if self.exit_code == 1 else f"tests/pit exited {self.exit_code}")
        expected = 2 if defect.observable == "unreadable" else 1
        if self.exit_code != expected:
            return False, f"exit {self.exit_code}, expected {expected}"
        if expected == 2:
            return True, ""
        wrong = set(self.components) - defect.components()
        if wrong:
            return False, f"findings on {sorted(wrong)}, not only on {defect.component}"
        stray = [name for name, reqs in self.failing if not set(reqs) & set(defect.requirements)]
        if stray:
            return False, f"failing scenarios without a declared requirement: {stray[:3]}"
        return True, ""


def load_defects() -> list[Defect]:
    proc = subprocess.run([sys.executable, "-m", "reference", "defects", "--json"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"python -m reference defects --json failed: {proc.stderr[-1000:]}")
    return [Defect(d["name"], d["component"], tuple(d["requirements"]), d["observable"], d.get("description", ""))
            for d in json.loads(proc.stdout)]


def _foreign_serve_args() -> list[str]:
    text = (FOREIGN_WORLD / "serve.sh").read_text(encoding="utf-8")
    args = shlex.split(text.split("-m reference serve", 1)[1].split('"$@"', 1)[0].replace("\\\n", " "))
    i = args.index("--port")
    return [*args[:i], *args[i + 2:]]


class _Served:
    """`python -m reference serve --port 0 ...` for one run."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "reference", "serve", "--port", "0", *args], cwd=ROOT,
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def url(self, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log.read_text(errors="replace").splitlines():
                if line.startswith(READY):
                    return line[len(READY):].split()[0]
            if self.proc.poll() is not None:
                raise RuntimeError(f"the served reference exited: {self.log.read_text(errors='replace')[-1500:]}")
            time.sleep(0.05)
        raise RuntimeError(f"the served reference did not start within {timeout:g} s")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _judge_folder(out: Path) -> tuple[list[str], list[str], list[tuple[str, list[str]]], int]:
    verdict = json.loads((out / "verdict.json").read_text())
    comps = sorted({f["component"] for f in verdict["findings"] if not f["waived_by"]})
    reqs = sorted({f["requirement"] for f in verdict["findings"] if not f["waived_by"]})
    failing = []
    for path in (out / "allure-results").glob("*-result.json"):
        raw = json.loads(path.read_text())
        if raw.get("status") == "failed":       # what it is tagged with and what its failing step broke
            labels = raw.get("labels", [])
            carried = [lab["value"] for lab in labels if lab.get("name") == "story"]
            carried += [rid for lab in labels if lab.get("name") == "mp107_violated"
                        for rid in lab["value"].removeprefix("violated:").split()]
            failing.append((raw.get("name", path.name), carried))
    return comps, reqs, failing, len([f for f in verdict["findings"] if not f["waived_by"]])


def run_one(defect: Defect | None, mode: str, workdir: Path) -> Result:
    """The suite (or the PIT) against the reference with `defect` switched on (None: correct)."""
    name = defect.name if defect else CORRECT
    started = time.monotonic()
    out = workdir / re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{mode}-{name}")
    out.mkdir(parents=True, exist_ok=True)
    if mode == "pit":
        env = {**os.environ, "MP107_REFERENCE_DEFECTS": defect.name if defect else ""}
        proc = subprocess.run([sys.executable, "-m", "pytest", "tests/pit", "-q", "-p", "no:cacheprovider",
                               f"--basetemp={out / 'tmp'}"], cwd=ROOT, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL, env=env)
        return Result(name, mode, proc.returncode, seconds=time.monotonic() - started,
                      note=(proc.stdout.strip().splitlines() or [""])[-1])
    served = None
    try:
        pytest_args = ["--reference-defect", defect.name] if defect and mode == "in-process" else []
        if defect and defect.observable == "unreadable":
            pytest_args += ["--outcome-timeout", str(UNREADABLE_OUTCOME_TIMEOUT)]
        if mode == "foreign":
            served = _Served([*_foreign_serve_args(), *(["--defect", defect.name] if defect else [])], out / "served.log")
            cmd = ["--target", served.url(), "--profile", str(FOREIGN_PROFILE), "--policy", str(UIT)]
        else:
            cmd = ["--target", "local", "--policy", str(RELEASE)]
        extra = ["--", *pytest_args] if pytest_args else []
        proc = subprocess.run([sys.executable, "-m", "mp107", "run", *cmd, "--out", str(out / "run"), "-q", *extra],
                              cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
    finally:
        if served is not None:
            served.close()
    result = Result(name, mode, proc.returncode, seconds=time.monotonic() - started,
                    note=(proc.stdout.strip().splitlines() or [""])[-1])
    if (out / "run" / "verdict.json").exists():
        result.components, result.requirements, result.failing, result.findings = _judge_folder(out / "run")
    return result


def run_matrix(defects: list[Defect], *, jobs: int = 3, workdir: Path | None = None) -> dict[str, Result]:
    """Every defect, and the correct reference in every mode used: name (or 'mode (correct reference)') -> Result."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="mp107-kill-matrix-"))
    modes = sorted({d.mode for d in defects})
    jobs_list = [(None, m) for m in modes] + [(d, d.mode) for d in defects]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(lambda job: run_one(job[0], job[1], workdir), jobs_list))
    return {(f"{mode} {CORRECT}" if d is None else d.name): r for (d, mode), r in zip(jobs_list, results)}


def table(defects: list[Defect], results: dict[str, Result], today: dt.date) -> str:
    lines = [f"Kill matrix, {today.isoformat()} (`mp107 kill-matrix --readme`): {len(defects)} defects of the "
             "reference, each run through the whole suite.", "",
             "| defect | breaks (component: requirements) | run as | exit | findings on | requirements found | killed |",
             "| --- | --- | --- | ---: | --- | --- | --- |"]
    by_name = {d.name: d for d in defects}
    for key, r in sorted(results.items(), key=lambda kv: (CORRECT not in kv[0], kv[0])):
        d = by_name.get(key)
        ok, why = r.killed(d)
        declared = (f"{d.component}: {', '.join(x.removeprefix('MP107-') for x in d.requirements)}"
                    if d and d.requirements else f"{d.component}: nothing (tolerated)" if d else "nothing")
        found_on = ", ".join(r.components) or ("-" if r.mode != "pit" else "tests/pit")
        found = ", ".join(x.removeprefix("MP107-") for x in r.requirements) or "-"
        if d is None or d.observable == "tolerated":
            verdict = ("clean" if ok else f"NOT CLEAN: {why}") if d is None else \
                ("tolerated: judged conformant" if ok else f"NO: {why}")
        else:
            verdict = "yes" if ok else f"NO: {why}"
        lines.append(f"| {key} | {declared} | {r.mode} | {r.exit_code} | {found_on} | {found} | {verdict} |")
    return "\n".join(lines) + "\n"


def write_readme(text: str, readme: Path = README) -> None:
    content = readme.read_text(encoding="utf-8")
    if START not in content or END not in content:
        raise RuntimeError(f"{readme}: no {START} ... {END} markers")
    head, rest = content.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{text}{END}{tail}", encoding="utf-8")


def main(args) -> int:
    defects = load_defects()
    if args.only:
        unknown = sorted(set(args.only) - {d.name for d in defects})
        if unknown:
            print(f"mp107 kill-matrix: no defect {unknown}", file=sys.stderr)
            return 2
        defects = [d for d in defects if d.name in args.only]
    print(f"mp107 kill-matrix: {len(defects)} defect(s), {args.jobs} at a time", file=sys.stderr)
    results = run_matrix(defects, jobs=args.jobs)
    text = table(defects, results, dt.date.today())
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps({k: asdict(v) for k, v in results.items()}, indent=2), encoding="utf-8")
    by_name = {d.name: d for d in defects}
    bad = [k for k, r in results.items() if not r.killed(by_name.get(k))[0]]
    if args.readme and not args.only:
        write_readme(text)
        print("mp107 kill-matrix: README.md updated", file=sys.stderr)
    if bad:
        print(f"mp107 kill-matrix: not killed (or not clean): {bad}", file=sys.stderr)
        return 1
    return 0
