"""The `mp107` command: run the conformance suite against a target and judge it.

    mp107 run --target local|URL [--profile FILE] [--s1sp all|S1SP1|S1SP2|S1SP3] [--policy FILE]
              [--out DIR] [-- PYTEST ARGS...]
    mp107 run ... [--workers N] [--shard K/N]
    mp107 merge RUN_DIR... [--out DIR]        join shards' run folders into one report and verdict
    mp107 diff RUN_A [RUN_B] [--by s1sp]      every scenario whose outcome differs (exit 1 if any)
    mp107 report RUN_DIR [--policy FILE] [--baseline FILE]   re-judge a run folder and rewrite its report
    mp107 baseline RUN_DIR [-o FILE]          the run's failures as a baseline of known deviations
    mp107 allure-html RUN_DIR [--out DIR]     Allure's own HTML report, if the Allure CLI is installed
    mp107 bundle RUN_DIR / verify-bundle FILE  signed evidence of a run, checked offline (evidence_commands.py)

Exit codes: 0 conformant, 1 not conformant, 2 the run could not be judged.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

from conformance import baseline as baselines, catalogue, gate
from mp107 import evidence_commands
from reports import collect, environment, html

ROOT = Path(__file__).resolve().parent.parent
S1SP_CHOICES = ("all", "S1SP1", "S1SP2", "S1SP3")
OUTPUTS = ("allure-results", "junit.xml", "cucumber.json", "report.html", "run-info.json", "progress.jsonl",
           "verdict.json", "pytest.log", "allure-report", "wire", "certificates", "evidence-bundle.zip")
EXIT_NOT_JUDGED = gate.EXIT_NOT_JUDGED


def _err(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr, flush=True)


def harness_root() -> Path | None:
    """The harness checkout holding features/ and the root conftest.py (the suite runs from there)."""
    for candidate in (ROOT, Path.cwd()):
        if (candidate / "features").is_dir() and (candidate / "conftest.py").is_file():
            return candidate
    return None


def _default_out(root: Path) -> Path:
    return root / "reports" / "runs" / dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


# --- mp107 run -------------------------------------------------------------------------------

def _pytest_command(args, out: Path, extra: list[str]) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", "features",
           "-p", "reports.pytest_plugin", "--mp107-run-dir", str(out),
           "--alluredir", str(out / "allure-results"), "--clean-alluredir",
           f"--junitxml={out / 'junit.xml'}", f"--cucumberjson={out / 'cucumber.json'}",
           "-p", "no:cacheprovider", "--tb=short",
           "--target", args.target, "--s1sp", args.s1sp]
    if args.profile:
        cmd += ["--profile", str(args.profile)]
    if getattr(args, "shard", None):
        cmd += ["--shard", args.shard]
    workers = _workers(args)
    if workers:
        cmd += ["-n", workers, "--dist", "load"]     # scenarios one by one to whichever worker is free
    return cmd + extra


def _workers(args) -> str | None:
    """pytest-xdist's -n for this run: --workers as given; by default `auto` (one per core) where
    each worker can host its own reference (--target local or serve), one against a shared target
    unless asked (the workers then share it: adapters/leases.py)."""
    wanted = getattr(args, "workers", None)
    if wanted is None:
        wanted = "auto" if args.target in ("local", "serve") else "0"
    if wanted in ("0", "1"):
        return None
    import importlib.util
    if importlib.util.find_spec("xdist") is None:
        if getattr(args, "workers", None) is not None:
            raise SystemExit(f"mp107 run: --workers {wanted} needs pytest-xdist (pip install pytest-xdist)")
        return None
    return wanted


class Progress:
    """Turns the plugin's progress.jsonl into one line per scenario on stderr."""

    def __init__(self, path: Path, quiet: bool) -> None:
        self.path, self.quiet = path, quiet
        self.offset = 0
        self.total: int | None = None
        self.done = 0
        self.counts: dict[str, int] = {}
        self._partial = ""

    def poll(self) -> None:
        try:
            with self.path.open("r", encoding="utf-8") as f:
                f.seek(self.offset)
                chunk = f.read()
                self.offset = f.tell()
        except FileNotFoundError:
            return
        data = self._partial + chunk
        lines = data.split("\n")
        self._partial = lines.pop()
        for line in lines:
            if line.strip():
                try:
                    self.show(json.loads(line))
                except ValueError:
                    pass

    def show(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "collected":
            self.total = event.get("total")
            if not self.quiet:
                _err(f"mp107: {self.total} scenario(s) collected")
        elif kind == "scenario":
            self.done += 1
            status = event.get("status", "?")
            self.counts[status] = self.counts.get(status, 0) + 1
            if not self.quiet:
                width = len(str(self.total or 0))
                total = self.total if self.total is not None else "?"
                _err(f"[{self.done:>{width}}/{total}] {status.upper():<7} {event.get('name', '')}")


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def cmd_run(args, extra: list[str]) -> int:
    root = harness_root()
    if root is None:
        _err("mp107 run: cannot find the harness checkout (features/ and conftest.py); run it from there")
        return EXIT_NOT_JUDGED
    requirements = catalogue.load()
    try:
        policy = gate.load_policy(args.policy, requirements)
    except gate.PolicyError as exc:
        _err(f"mp107 run: {exc}", "mp107 run: NOT JUDGED (exit 2): the policy is unusable")
        return EXIT_NOT_JUDGED
    try:
        baseline = _baseline(args, requirements)
    except baselines.BaselineError as exc:
        _err(f"mp107 run: {exc}", "mp107 run: NOT JUDGED (exit 2): the baseline is unusable")
        return EXIT_NOT_JUDGED
    if args.profile:
        args.profile = Path(args.profile).resolve()
        if not args.profile.is_file():
            _err(f"mp107 run: profile file {args.profile} not found", "mp107 run: NOT JUDGED (exit 2)")
            return EXIT_NOT_JUDGED

    out = Path(args.out).resolve() if args.out else _default_out(root)
    out.mkdir(parents=True, exist_ok=True)
    for name in OUTPUTS:
        stale = out / name
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()

    cmd = _pytest_command(args, out, extra)
    if not args.quiet:
        _err(f"mp107: running the SECMP0107 suite against {args.target} (S1SP: {args.s1sp}) -> {out}")
    progress = Progress(out / "progress.jsonl", args.quiet)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    log = (out / "pytest.log").open("w", encoding="utf-8")
    try:
        proc = subprocess.Popen(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    except OSError as exc:
        log.close()
        _err(f"mp107 run: cannot start pytest: {exc}", "mp107 run: NOT JUDGED (exit 2)")
        return EXIT_NOT_JUDGED
    try:
        while proc.poll() is None:
            progress.poll()
            time.sleep(0.2)
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        _err("mp107 run: interrupted; NOT JUDGED (exit 2)")
        return EXIT_NOT_JUDGED
    finally:
        log.close()
    progress.poll()
    rc = proc.returncode
    if rc < 0:
        _err(f"mp107 run: the suite was killed by signal {-rc}")

    return evidence_commands.after_run(args, out, finish(out, policy, pytest_exit_code=rc, quiet=args.quiet,
                                                         baseline=baseline))


def _baseline(args, requirements):
    """The target's known deviations (--baseline FILE), or None."""
    path = getattr(args, "baseline", None)
    return baselines.load(path, set(requirements)) if path else None


def finish(run_dir: Path, policy: gate.Policy, *, pytest_exit_code: int | None, quiet: bool = False,
           baseline: baselines.Baseline | None = None) -> int:
    """Judge a run folder, write environment.properties, report.html and verdict.json, say where."""
    try:
        report = collect.judge(run_dir, policy, pytest_exit_code=pytest_exit_code, baseline=baseline)
        allure_dir = run_dir / collect.ALLURE_DIR
        if allure_dir.is_dir():
            env = environment.environment(report.info, policy=f"{policy.name} ({policy.source})",
                                          harness_commit=html.harness_commit())
            environment.write_environment(allure_dir, env)
            environment.write_categories(allure_dir)
        path = html.write(report)
        (run_dir / collect.VERDICT).write_text(json.dumps(report.as_json(), indent=2), encoding="utf-8")
    except Exception:                    # a harness bug: never a verdict
        _err(traceback.format_exc(), "mp107: the report could not be made; NOT JUDGED (exit 2)")
        return EXIT_NOT_JUDGED
    if report.exit_code == EXIT_NOT_JUDGED:
        _err("mp107: the run cannot be judged:", *(f"  - {r}" for r in report.gate.not_judged))
        tail = _tail(run_dir / "pytest.log")
        if tail and not quiet:
            _err("--- last lines of pytest.log ---", tail, "---")
    for f in report.gate.open_findings:
        if report.exit_code == EXIT_NOT_JUDGED and f.kind != "failed":
            continue
        _err(f"  finding: {f.text}" + (f" - cause: {f.cause}" if f.cause else "") + (f" - {f.reason}" if f.reason else ""))
    for w, fs in report.gate.waivers_expired:
        if fs:
            _err(f"  expired waiver ignored: {w.describe()}")
    for f in report.gate.known_deviations:
        _err(f"  known deviation{' (accepted)' if f.accepted else ''}: {f.text} - {f.known.reason}")
    for d, fs in report.gate.deviations_expired:
        _err(f"  expired baseline entry ignored: {d.describe()}")
    print(f"Report: {path}")
    print(report.verdict_line())
    return report.exit_code


# --- mp107 report ----------------------------------------------------------------------------

def cmd_report(args, extra: list[str]) -> int:
    run_dir = Path(args.run_dir).resolve()
    if not run_dir.is_dir():
        _err(f"mp107 report: {run_dir} is not a folder")
        return EXIT_NOT_JUDGED
    requirements = catalogue.load()
    try:
        policy = gate.load_policy(args.policy, requirements)
        baseline = _baseline(args, requirements)
    except (gate.PolicyError, baselines.BaselineError) as exc:
        _err(f"mp107 report: {exc}")
        return EXIT_NOT_JUDGED
    return finish(run_dir, policy, pytest_exit_code=None, baseline=baseline)


# --- mp107 baseline --------------------------------------------------------------------------

def cmd_baseline(args, extra: list[str]) -> int:
    """Write the run's failures as a baseline (conformance/baseline.py): one entry per failed scenario."""
    run_dir = Path(args.run_dir).resolve()
    if not run_dir.is_dir():
        _err(f"mp107 baseline: {run_dir} is not a folder")
        return EXIT_NOT_JUDGED
    requirements = catalogue.load()
    try:
        policy = gate.load_policy(args.policy, requirements)
        expires = dt.date.fromisoformat(args.expires) if args.expires else (
            dt.date.today() + dt.timedelta(days=baselines.DEFAULT_DAYS))
    except (gate.PolicyError, ValueError) as exc:
        _err(f"mp107 baseline: {exc}")
        return EXIT_NOT_JUDGED
    report = collect.judge(run_dir, policy)
    deviations = baselines.from_findings(report.gate.findings, ticket=args.ticket or "", expires=expires)
    text = baselines.render(deviations, source=str(run_dir), target=str(report.info.get("target_name", "")))
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"Baseline: {args.output} ({len(deviations)} known deviation(s), until {expires})")
    if deviations and not args.ticket:
        _err("mp107 baseline: fill in each entry's ticket before use (an entry without one is refused)")
    return 0


# --- mp107 allure-html -----------------------------------------------------------------------

INSTALL_HINT = ("The Allure command line is not installed. It is optional (report.html does not need it).\n"
                "Install Allure 3 from the npm registry, beside the harness:\n"
                "    npm install --no-save allure        # in the harness checkout (node >= 18)\n"
                "or globally: npm install -g allure\n"
                "then: mp107 allure-html RUN_DIR   (or: npx allure generate RUN_DIR/allure-results -o RUN_DIR/allure-report)")


def find_allure(root: Path | None = None) -> list[str] | None:
    """The command that runs the Allure CLI, or None. Never downloads anything."""
    override = os.environ.get("MP107_ALLURE")
    if override:
        return [override] if shutil.which(override) or Path(override).exists() else None
    for base in filter(None, (root, Path.cwd())):
        for local in (Path(base) / "node_modules" / ".bin" / "allure",
                      Path(base) / ".cache" / "allure" / "node_modules" / ".bin" / "allure"):   # scripts/install-deps.sh
            if local.exists():
                return [str(local)]
    found = shutil.which("allure")
    if found:
        return [found]
    npx = shutil.which("npx")
    if npx:
        try:
            probe = subprocess.run([npx, "--no-install", "allure", "--version"], capture_output=True, text=True,
                                   timeout=60, cwd=root or Path.cwd(), stdin=subprocess.DEVNULL)
            if probe.returncode == 0:
                return [npx, "--no-install", "allure"]
        except (OSError, subprocess.SubprocessError):
            pass
    return None


def allure_major_version(command: list[str]) -> int | None:
    try:
        probe = subprocess.run(command + ["--version"], capture_output=True, text=True, timeout=60,
                               stdin=subprocess.DEVNULL, env=dict(os.environ, NO_COLOR="1"))
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"\b(\d+)\.\d+", probe.stdout + probe.stderr)
    return int(m.group(1)) if m else None


ALLURE3_CONFIG = """// written by `mp107 allure-html`: Allure 3, one self-contained index.html
export default {{
  name: {name},
  plugins: {{ awesome: {{ options: {{ singleFile: true, reportName: {name} }} }} }},
}};
"""


def cmd_allure_html(args, extra: list[str]) -> int:
    run_dir = Path(args.run_dir).resolve()
    results = run_dir / "allure-results"
    if not results.is_dir():
        _err(f"mp107 allure-html: {results} does not exist (is {run_dir} a run folder of `mp107 run`?)")
        return EXIT_NOT_JUDGED
    command = find_allure(harness_root())
    if command is None:
        _err(INSTALL_HINT)
        return 3
    out = Path(args.out).resolve() if args.out else run_dir / "allure-report"
    major = allure_major_version(command)
    if major is not None and major < 3:
        cmd = command + ["generate", str(results), "-o", str(out), "--clean", "--single-file"]
    else:
        config = run_dir / "allurerc.mjs"
        config.write_text(ALLURE3_CONFIG.format(name=json.dumps(f"SECMP0107 conformance: {run_dir.name}")),
                          encoding="utf-8")
        cmd = command + ["generate", "--config", str(config), str(results), "-o", str(out)]
    _err("mp107 allure-html: " + " ".join(cmd))
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, env=dict(os.environ, NO_COLOR="1", ALLURE_NO_ANALYTICS="true"))
    if proc.returncode != 0:
        _err(f"mp107 allure-html: the Allure CLI failed (exit {proc.returncode})")
        return 1
    index = out / "index.html"
    if index.exists() and strip_analytics(index):
        _err("mp107 allure-html: removed the Google Analytics tag that Allure 3 puts in its report page")
    if index.exists() and "googletagmanager" in index.read_text(encoding="utf-8", errors="replace"):
        _err("mp107 allure-html: warning: the Allure page still loads Google Analytics when opened online")
    print(f"Allure report: {index if index.exists() else out}")
    return 0


ANALYTICS = re.compile(r'<script async src="https://www\.googletagmanager\.com/[^"]*"></script>\s*'
                       r'(<script>\s*window\.dataLayer[\s\S]*?</script>)?')


def strip_analytics(index: Path) -> bool:
    """Allure 3's report page (awesome plugin, 3.18) loads Google Analytics, whatever ALLURE_NO_ANALYTICS
    says: take the tag out, so that the page makes no request of its own. True if something was removed."""
    text = index.read_text(encoding="utf-8")
    cleaned, n = ANALYTICS.subn("", text, count=1)
    if n:
        index.write_text(cleaned, encoding="utf-8")
    return bool(n)


# --- entry point -----------------------------------------------------------------------------

BASELINE_HELP = ("the target's known deviations (TOML, conformance/baseline.py): a failure it lists is a known "
                 "deviation (accepted under policies/uit.toml, a finding under release), one that no longer fails "
                 "is a finding 'baseline stale', an expired entry accepts nothing")

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mp107", description="SECMP0107 conformance harness: run the suite, judge it, write the reports.",
        epilog="Exit codes: 0 conformant, 1 not conformant, 2 the run could not be judged.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the suite against a target and judge it",
                         description="Run the SECMP0107 suite (pytest on features/) in a subprocess and write "
                                     "allure-results/, junit.xml, cucumber.json and report.html into the run folder. "
                                     "Arguments after '--' go to pytest unchanged.",
                         epilog="Exit codes: 0 conformant, 1 not conformant, 2 the run could not be judged.")
    run.add_argument("--target", default="local",
                     help="'local' (the reference DCC served in this process, default), the base URL of a Target Interface v1.1 "
                          "endpoint, or what the suite's --target also takes ('serve', 'profile')")
    run.add_argument("--profile", default=None, help="target profile (TOML)")
    run.add_argument("--s1sp", default="all", choices=S1SP_CHOICES, help="run the per-S1SP scenarios for one S1SP only")
    run.add_argument("--policy", default=None, type=Path,
                     help="release gate policy (TOML); default policies/release.toml")
    run.add_argument("--out", default=None, help="run folder (default reports/runs/<UTC timestamp>)")
    run.add_argument("--baseline", default=None, type=Path, help=BASELINE_HELP)
    run.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    run.add_argument("--workers", default=None, metavar="N|auto",
                     help="run N scenarios at once in pytest-xdist workers (default: auto, one per core, for --target "
                          "local or serve, each worker hosting its own reference; 1 for any other target). Against "
                          "one shared target the workers lease its pool devices and take turns per user for "
                          "OriginatorCounters; a scenario that sets its switches or runs its data fix has it alone. "
                          "A slow target: give more workers than cores (docs/targets.md)")
    run.add_argument("--shard", default=None, metavar="K/N",
                     help="run shard K of N (a stable part of the scenarios and of the profile's device pool); "
                          "join the shards' run folders with `mp107 merge`")
    evidence_commands.add_run_options(run)
    run.set_defaults(func=cmd_run)

    from . import diff, merge          # their own modules; only the sub-commands are wired here
    merge.add_parser(sub, finish=finish)
    diff.add_parser(sub)

    rep = sub.add_parser("report", help="re-judge a run folder (e.g. with another policy) and rewrite report.html")
    rep.add_argument("run_dir")
    rep.add_argument("--policy", default=None, type=Path)
    rep.add_argument("--baseline", default=None, type=Path, help=BASELINE_HELP)
    rep.set_defaults(func=cmd_report)

    base = sub.add_parser("baseline", help="write a run's failures as a baseline of known deviations (TOML)")
    base.add_argument("run_dir")
    base.add_argument("-o", "--output", default="-", help="file to write (default: standard output)")
    base.add_argument("--ticket", default=None, help="the ticket reference every entry gets (else fill them in)")
    base.add_argument("--expires", default=None, metavar="YYYY-MM-DD",
                      help=f"the last day the entries hold (default: {baselines.DEFAULT_DAYS} days from today)")
    base.add_argument("--policy", default=None, type=Path, help="the policy the run is judged with (default release)")
    base.set_defaults(func=cmd_baseline)

    km = sub.add_parser("kill-matrix", help="run the suite against every known defect of the reference and check "
                                             "the gate kills each on the right component (mp107/killmatrix.py)")
    km.add_argument("--jobs", type=int, default=3, help="runs at a time (default 3)")
    km.add_argument("--only", nargs="+", metavar="DEFECT", help="only these defects (README is then left alone)")
    km.add_argument("--json", metavar="FILE", help="write every run's result here")
    km.add_argument("--readme", action="store_true", help="rewrite README.md's kill-matrix table, with the date")
    km.set_defaults(func=lambda args, extra: __import__("mp107.killmatrix", fromlist=["main"]).main(args))

    al = sub.add_parser("allure-html", help="generate Allure's HTML report from a run folder (needs the Allure CLI)")
    al.add_argument("run_dir")
    al.add_argument("--out", default=None, help="output folder (default RUN_DIR/allure-report)")
    al.set_defaults(func=cmd_allure_html)
    evidence_commands.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    args = build_parser().parse_args(argv)
    if extra and args.command != "run":
        _err(f"mp107 {args.command}: arguments after '--' are only for `mp107 run`")
        return EXIT_NOT_JUDGED
    return args.func(args, extra)


if __name__ == "__main__":
    sys.exit(main())
