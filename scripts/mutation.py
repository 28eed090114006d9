"""Mutation testing of the verdict code: does every branch of the modules that decide a verdict have a
test that notices when it is changed?

    scripts/mutation.sh [MODULE ...] [--readme] [--jobs N]      (the shell wrapper runs this, niced)
    .venv/bin/python scripts/mutation.py --list [MODULE ...]    (the mutants and their identities, no tests run)

The tool is **mutmut 3.8.1** (pinned in pyproject's dev extras). Why mutmut 3 and not cosmic-ray or mutmut 2:
both of those write each mutant to disk and start a fresh pytest per mutant (about 2.5 s each here, so
the ~1,700 mutants of these five modules would take over an hour on 2 cores, and a killed run leaves a
mutated file in the work tree). mutmut 3 puts every mutant of a function behind one trampoline in a
*copy* of the code (`mutants/`), runs the selected tests once to learn which test reaches which
function, then forks per mutant and runs only those tests, so all five modules fit in minutes.

How this command uses it (mutmut reads its settings from setup.cfg or pyproject.toml in the folder it
runs in, one set of settings for the whole run, so each module gets its own folder):
- per module listed in `tests/mutation/modules.toml` (with the tests that exercise it: fast unit tests
  only, never a suite run), the tracked and new files of the project are copied to a folder of its
  own under the system's temporary folder (its log, `mutmut-run.log`, shows the progress), a `setup.cfg` there names every package as a source path (so the tests import
  nothing from the work tree) and only that module as mutated, and `mutmut run` runs there;
- mutmut 3 does not mutate decorated functions; for the `@property` methods of the verdict model
  (`GateResult.exit_code`, `Cell.status`, ...) the copy it mutates spells `@property def f` as the
  equivalent `def f` followed by `f = property(f)`, so they are mutated too. Code outside functions
  (module constants, class attributes, regular expressions compiled at import) is not mutated by
  mutmut 3 at all;
- every mutant has a stable identity that survives edits elsewhere in the file: the module, the
  function (`Class.method` or `function`), the source line(s) it changes and what it changes them to
  (mutmut's own name, `...x_evaluate__mutmut_57`, renumbers when the function changes);
- a surviving mutant is either listed in `tests/mutation/accepted.toml` by that identity with the
  reason it does not matter (wording nobody relies on) or it is a **survivor**: the command prints its
  diff and exits 1. The target is no survivor. `tests/test_mutation_list.py` (a fast test) checks that
  every accepted entry still names a mutant that exists, so the list cannot go stale;
- `--readme` rewrites the figures between the mutation markers in README.md (killed, accepted,
  survived per module, the time, the date).
Exit: 0 no survivor; 1 survivors; 2 the run could not be made (mutmut failed, a clean test failed).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "tests" / "mutation" / "modules.toml"
ACCEPTED = ROOT / "tests" / "mutation" / "accepted.toml"
README = ROOT / "README.md"
# mutmut's working copies live outside the work tree (tests that scan the project's files must not see
# them): one folder per project checkout, one subfolder per module, made afresh on each run.
WORK = Path(tempfile.gettempdir()) / f"mp107-mutation-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]}"
START, END = "<!-- mutation:start -->", "<!-- mutation:end -->"
MUTMUT_VERSION = "3.8.1"
# Every package of the project, copied whole into mutmut's mutants/ folder, so that the tests import
# the copy (and the one mutated module in it) and nothing from the work tree.
PACKAGES = ("duis", "smki", "httpsig", "gbcs", "reference", "adapters", "steps", "reports", "conformance", "mp107")
KILLED = {"killed", "timeout", "caught by type check", "segfault"}     # mutmut's words for a mutant noticed
MODULE_TIMEOUT_S = 1800          # one module's whole mutmut run, however loaded the machine (each mutant has its own limit)


# --- the table and the accepted list -----------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Module:
    path: str                       # "conformance/gate.py"
    tests: tuple[str, ...]          # the test files (or node IDs) that exercise it
    deselect: tuple[str, ...] = ()  # node IDs among them that never reach it and cost a suite run

    @property
    def pytest_args(self) -> list[str]:
        return [*self.tests, *(f"--deselect={d}" for d in self.deselect)]


def load_table(path: Path = TABLE) -> list[Module]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [Module(m["path"], tuple(m["tests"]), tuple(m.get("deselect", ()))) for m in data["module"]]


@dataclasses.dataclass(frozen=True)
class Identity:
    """What a mutant changes, independent of line numbers and mutmut's numbering."""
    module: str               # "conformance/gate.py"
    function: str             # "GateResult.exit_code", "evaluate"
    source: str               # the changed source line(s), stripped, joined by " / "
    mutant: str               # what they become

    def describe(self) -> str:
        return f"{self.module} {self.function}: {self.source!r} -> {self.mutant!r}"


@dataclasses.dataclass(frozen=True)
class Accepted:
    identity: Identity
    why: str


def load_accepted(path: Path = ACCEPTED) -> list[Accepted]:
    if not path.exists():
        return []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    for i, entry in enumerate(data.get("accepted", []), start=1):
        missing = {"module", "function", "source", "mutant", "why"} - set(entry)
        if missing:
            raise ValueError(f"{path}: accepted entry {i} lacks {sorted(missing)}")
        if not entry["why"].strip():
            raise ValueError(f"{path}: accepted entry {i} gives no reason (why)")
        out.append(Accepted(Identity(entry["module"], entry["function"], entry["source"], entry["mutant"]),
                            entry["why"].strip()))
    return out


# --- the mutants, without running a test ----------------------------------------------------------------

def prepare_source(code: str) -> str:
    """The source mutmut mutates: `@property def f(...)` spelled `def f(...)` then `f = property(f)`,
    which Python treats the same, because mutmut 3 leaves decorated functions alone."""
    import libcst as cst

    class Undecorate(cst.CSTTransformer):
        def leave_ClassDef(self, original, updated):
            if not isinstance(updated.body, cst.IndentedBlock):
                return updated
            body = []
            for stmt in updated.body.body:
                if (isinstance(stmt, cst.FunctionDef) and len(stmt.decorators) == 1
                        and isinstance(stmt.decorators[0].decorator, cst.Name)
                        and stmt.decorators[0].decorator.value == "property"):
                    name = stmt.name.value
                    body.append(stmt.with_changes(decorators=[]))
                    body.append(cst.parse_statement(f"{name} = property({name})"))
                else:
                    body.append(stmt)
            return updated.with_changes(body=updated.body.with_changes(body=body))

    return cst.parse_module(code).visit(Undecorate()).code


@contextlib.contextmanager
def _mutmut_settings(folder: Path):
    """mutmut's settings come from setup.cfg in the working folder; the enumeration needs only its
    defaults (it reads do_not_mutate_patterns), so give it an empty folder of its own."""
    import mutmut.configuration as configuration
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / "setup.cfg"
    if not cfg.exists():
        cfg.write_text("[mutmut]\nsource_paths = .\n", encoding="utf-8")
    old = Path.cwd()
    os.chdir(folder)
    configuration.reset_config()
    try:
        configuration.config()
        yield
    finally:
        os.chdir(old)


def mutants_of(module: str, root: Path = ROOT, scratch: Path | None = None) -> dict[str, Identity]:
    """{mutmut's name: identity} of every mutant mutmut 3 makes of `module` (a path under `root`), named
    as mutmut names them (function by function, numbered in mutmut's order; `run_module` checks the
    names against mutmut's own); cheap: no test runs, no mutated file written."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider
    from mutmut.mutation import file_mutation as fm
    from mutmut.mutation.trampoline_templates import mangle_function_name

    code = prepare_source((root / module).read_text(encoding="utf-8"))
    scratch = scratch or (WORK / "_enumerate")
    with _mutmut_settings(scratch):
        tree, mutations, _, _ = fm.create_mutations(module, code)
    grouped = fm.group_by_top_level_node(mutations)
    positions = MetadataWrapper(tree, unsafe_skip_copy=True).resolve(PositionProvider)
    lines = code.splitlines()
    dotted = module[: -len(".py")].replace("/", ".")
    out: dict[str, Identity] = {}

    def add(func, cls_name):
        mangled = mangle_function_name(name=func.name.value, class_name=cls_name) + "__mutmut"
        shown = f"{cls_name}.{func.name.value}" if cls_name else func.name.value
        for i, mutation in enumerate(grouped.get(func, ()), start=1):
            # the source lines the mutated node spans, and the same lines with the node's code replaced
            where = positions[mutation.original_node]
            first, last = where.start.line - 1, where.end.line - 1
            before = lines[first: last + 1]
            changed = (lines[first][: where.start.column] + tree.code_for_node(mutation.mutated_node)
                       + lines[last][where.end.column:])
            before = [x.strip() for x in before]
            after = [x.strip() for x in changed.splitlines()]    # (libcst renders a node without its block's indent)
            if len(after) == len(before):     # only the lines that change (a call over several lines)
                pairs = [(b, a) for b, a in zip(before, after) if b != a]
                before, after = [b for b, _ in pairs], [a for _, a in pairs]
            out[f"{dotted}.{mangled}_{i}"] = Identity(module, shown, " / ".join(before), " / ".join(after))

    for stmt in tree.body:
        if isinstance(stmt, cst.FunctionDef):
            add(stmt, None)
        elif isinstance(stmt, cst.ClassDef) and isinstance(stmt.body, cst.IndentedBlock):
            for method in stmt.body.body:
                if isinstance(method, cst.FunctionDef):
                    add(method, stmt.name.value)
    return out


# --- one module under mutmut ------------------------------------------------------------------------------

def _project_files(root: Path) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=root, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    return [f for f in out if (root / f).is_file()]


def stage(module: Module, root: Path = ROOT) -> Path:
    """A fresh folder with a copy of the project and mutmut's settings for this module."""
    folder = WORK / module.path.replace("/", "-").removesuffix(".py")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name in _project_files(root):
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    (folder / module.path).write_text(prepare_source((root / module.path).read_text(encoding="utf-8")),
                                      encoding="utf-8")
    # The tests find ../shared/duis beside the project (tests/conftest.py, conftest.py): mutmut runs them
    # in <folder>/mutants, so <folder>/shared points at the real one (read in place, never copied).
    shared = root.parent / "shared"
    if shared.exists():
        (folder / "shared").symlink_to(shared)
    also = sorted({name.split("/")[0] for name in _project_files(root)} - set(PACKAGES) - {"tests", "pyproject.toml"})
    lines = ["[mutmut]",
             "source_paths =", *(f"    {p}" for p in PACKAGES),
             "only_mutate =", f"    {module.path}",
             "also_copy =", *(f"    {p}" for p in also),
             "pytest_add_cli_args_test_selection =", *(f"    {t}" for t in module.pytest_args),
             # one process per mutant already: no xdist workers, no cache written into the copy; and
             # not pytest's end-of-session hunt for unraisable and thread exceptions (forced garbage
             # collections: 0.45 of the 0.7 s a one-test run takes here), which only ever warns
             "pytest_add_cli_args =", "    -n", "    0", "    -p", "    no:cacheprovider",
             "    -p", "    no:unraisableexception", "    -p", "    no:threadexception",
             "use_git_change_detection = false",
             ""]
    (folder / "setup.cfg").write_text("\n".join(lines), encoding="utf-8")
    return folder


@dataclasses.dataclass
class Outcome:
    module: str
    seconds: float
    statuses: dict[str, str]                  # mutmut name -> mutmut status
    identities: dict[str, Identity]
    error: str = ""

    def classify(self, accepted: list[Accepted]) -> dict[str, list[str]]:
        ok = {a.identity for a in accepted}
        out: dict[str, list[str]] = {"killed": [], "accepted": [], "survived": []}
        for name, status in self.statuses.items():
            if status in KILLED:
                out["killed"].append(name)
            elif self.identities[name] in ok:
                out["accepted"].append(name)
            else:
                out["survived"].append(name)
        return out


def run_module(module: Module, jobs: int) -> Outcome:
    identities = mutants_of(module.path)
    folder = stage(module)
    env = {**os.environ,
           # tests/conftest.py starts a throwaway PostgreSQL per session unless one is named; no test
           # selected here uses it, and mutmut makes a pytest session per mutant
           "MP107_PG_URL": os.environ.get("MP107_PG_URL") or "postgresql://mutation-testing-needs-no-database@127.0.0.1:9/none",
           "PYTHONDONTWRITEBYTECODE": "1"}
    mutmut = Path(sys.executable).parent / "mutmut"
    started = time.monotonic()
    log = folder / "mutmut-run.log"          # progress as it goes: tail -f it
    print(f"mutation: {module.path}: mutmut runs in {folder} (progress: {log})", file=sys.stderr, flush=True)
    try:
        with log.open("w", encoding="utf-8") as out:
            proc = subprocess.run([str(mutmut), "run", "--max-children", str(jobs)], cwd=folder, env=env,
                                  stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  timeout=MODULE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return Outcome(module.path, time.monotonic() - started, {}, identities,
                       error=f"mutmut run did not finish in {MODULE_TIMEOUT_S} s (stopped); {log}")
    seconds = time.monotonic() - started
    meta = folder / "mutants" / (module.path + ".meta")
    if proc.returncode != 0 or not meta.exists():
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        return Outcome(module.path, seconds, {}, identities,
                       error=f"mutmut run failed (exit {proc.returncode}); {log}:\n{tail}")
    from mutmut.stats import status_by_exit_code
    codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    statuses = {name: status_by_exit_code[code] for name, code in codes.items()}
    if set(statuses) != set(identities):       # named as mutmut names them (the same mutmut, pinned)
        odd = sorted(set(statuses) ^ set(identities))
        return Outcome(module.path, seconds, statuses, identities,
                       error=f"mutmut {MUTMUT_VERSION}'s mutants are not the ones enumerated here: {odd[:5]}")
    return Outcome(module.path, seconds, statuses, identities)


# --- reporting -------------------------------------------------------------------------------------------

def diff_of(identity: Identity) -> str:
    return f"    - {identity.source}\n    + {identity.mutant}"


def toml_entry(identity: Identity) -> str:
    def q(s):
        return json.dumps(s, ensure_ascii=False)   # a TOML basic string is a JSON string
    return (f"[[accepted]]\nmodule = {q(identity.module)}\nfunction = {q(identity.function)}\n"
            f"source = {q(identity.source)}\nmutant = {q(identity.mutant)}\nwhy = \"\"\n")


def readme_rows(outcomes: list[Outcome], accepted: list[Accepted]) -> dict[str, str]:
    rows = {}
    for o in outcomes:
        c = o.classify(accepted)
        total = len(o.statuses)
        rows[o.module] = (f"| `{o.module}` | {total} | {len(c['killed'])} | {len(c['accepted'])} | "
                          f"{len(c['survived'])} | {o.seconds / 60:.1f} min |")
    return rows


def write_readme(outcomes: list[Outcome], accepted: list[Accepted], jobs: int, load: tuple[float, float],
                 readme: Path = README) -> None:
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise RuntimeError(f"{readme}: no {START} ... {END} markers")
    head, rest = text.split(START, 1)
    old, tail = rest.split(END, 1)
    rows = {line.split("`")[1]: line for line in old.splitlines() if line.startswith("| `")}
    rows.update(readme_rows(outcomes, accepted))
    order = [m.path for m in load_table()]
    body = [f"Mutation testing, {dt.date.today().isoformat()} (`scripts/mutation.sh --readme`, mutmut "
            f"{MUTMUT_VERSION}, {jobs} worker(s) at nice 15 on {os.cpu_count()} cores, load average "
            f"{load[0]:.1f} at the start and {load[1]:.1f} at the end; the time is the module's whole `mutmut run`):",
            "",
            "| module | mutants | killed | accepted | survived | time |",
            "| --- | --- | --- | --- | --- | --- |",
            *(rows[m] for m in order if m in rows), ""]
    minutes = sum(float(rows[m].split("|")[-2].split()[0]) for m in order if m in rows)
    body.append(f"All {len([m for m in order if m in rows])} modules: {minutes:.1f} min of `mutmut run`.")
    body.append("")
    readme.write_text(f"{head}{START}\n" + "\n".join(body) + f"{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="modules of tests/mutation/modules.toml (default: all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="mutants tested at once")
    parser.add_argument("--readme", action="store_true", help="rewrite the figures in README.md")
    parser.add_argument("--list", action="store_true", help="print every mutant's identity; run no test")
    parser.add_argument("--toml", action="store_true",
                        help="also print each survivor as an accepted.toml entry (its why left to write)")
    args = parser.parse_args(argv)
    table = load_table()
    known = {m.path: m for m in table}
    unknown = [m for m in args.modules if m not in known]
    if unknown:
        parser.error(f"not in {TABLE.relative_to(ROOT)}: {unknown}")
    chosen = [known[m] for m in args.modules] if args.modules else table
    accepted = load_accepted()

    if args.list:
        for m in chosen:
            for name, identity in mutants_of(m.path).items():
                print(f"{name}\t{identity.describe()}")
        return 0

    outcomes, failed = [], False
    load_at_start = os.getloadavg()[0]
    for m in chosen:
        print(f"mutation: {m.path} with {' '.join(m.tests)} ...", file=sys.stderr, flush=True)
        o = run_module(m, args.jobs)
        if o.error:
            print(f"mutation: {m.path}: {o.error}", file=sys.stderr)
            failed = True
            continue
        outcomes.append(o)
        c = o.classify(accepted)
        print(f"mutation: {m.path}: {len(o.statuses)} mutants, {len(c['killed'])} killed, {len(c['accepted'])} "
              f"accepted, {len(c['survived'])} survived ({o.seconds:.0f} s)", file=sys.stderr, flush=True)
        for name in c["survived"]:
            ident = o.identities[name]
            print(f"\nSURVIVED {name} [{o.statuses[name]}] in {ident.function}\n{diff_of(ident)}")
        if c["survived"] and args.toml:
            for name in c["survived"]:
                print(toml_entry(o.identities[name]), file=sys.stderr)
        stale = [a for a in accepted if a.identity.module == m.path
                 and not any(o.identities[n] == a.identity for n in c["accepted"])]
        for a in stale:
            print(f"mutation: accepted but not surviving (killed now?): {a.identity.describe()}", file=sys.stderr)
    if args.readme and outcomes:
        write_readme(outcomes, accepted, args.jobs, (load_at_start, os.getloadavg()[0]))
        print("mutation: README.md updated", file=sys.stderr)
    if failed:
        return 2
    return 1 if any(o.classify(accepted)["survived"] for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
