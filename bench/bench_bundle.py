"""Issue 19's evidence bundle, as a benchmark (the tests never assert timings).

One whole run of the suite through the DCC's own interface (`mp107 run --profile
profiles/reference-dcc.toml --workers 2`: 183 scenarios, every leg's wire bytes, Signed Pre-Commands
with their GBCS signatures), then, `runs` times each and alternated:

- bundle: `mp107 bundle RUN_DIR -o FILE --key K --certificate C` (a throwaway test CA's key), as a
  user runs it: the interpreter's start included;
- verify: `mp107 verify-bundle FILE --ca CA.pem`, the same way; it must exit 0.

Reported: median wall time and CPU time (user + sys of the command and its children) of each, the
bundle's size and file and leg counts. Targets (issue 19): <= 2 s each on 2 cores.
"""
from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from common import PYTHON, ROOT, Options, Outcome, Row, fmt_s, median, run_timed, say

NAME = "bundle"
TARGET_SECONDS = 2.0


def _pki(folder: Path) -> tuple[Path, Path, Path]:
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from test_evidence_cms import write_pki
    finally:
        sys.path.remove(str(ROOT / "tests"))
    return write_pki(folder)


def run(opts: Options) -> Outcome:
    out = Outcome(NAME)
    work = Path(opts.workdir) / "bundle"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ca, key, cert = _pki(work / "pki")
    run_dir = work / "run"
    base = [PYTHON, "-m", "mp107", "run", "--target", "local", "--profile", "profiles/reference-dcc.toml",
            "--out", str(run_dir), "--quiet", "--workers", "2"]
    say("bundle: one whole run of the suite (the DCC's own interface)")
    ran = run_timed(base)
    if ran.returncode != 0:
        raise RuntimeError(f"mp107 run exited {ran.returncode}: {ran.stderr[-500:]}")
    if not list((run_dir / "wire").glob("index*.jsonl")):
        raise RuntimeError(f"the run recorded no wire bytes in {run_dir / 'wire'}: nothing to bundle")
    bundle = work / "evidence.zip"
    bundle_cmd = [PYTHON, "-m", "mp107", "bundle", str(run_dir), "-o", str(bundle), "--key", str(key),
                  "--certificate", str(cert)]
    verify_cmd = [PYTHON, "-m", "mp107", "verify-bundle", str(bundle), "--ca", str(ca)]
    runs = opts.runs_or(5, 1)
    made, checked = [], []
    for i in range(runs):
        say(f"bundle: run {i + 1}/{runs}")
        b = run_timed(bundle_cmd)
        if b.returncode != 0:
            raise RuntimeError(f"mp107 bundle exited {b.returncode}: {b.stderr[-500:]}")
        made.append(b)
        v = run_timed(verify_cmd)
        if v.returncode != 0:
            raise RuntimeError(f"mp107 verify-bundle exited {v.returncode}: {v.stdout[-800:]}")
        checked.append(v)
    counts = re.search(r"\((\d+) files, (\d+) wire legs", made[-1].stdout)
    files, legs = (int(counts.group(1)), int(counts.group(2))) if counts else (0, 0)
    size = bundle.stat().st_size
    folder_bytes = sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file() and p != bundle)
    sig = re.search(r"(\d+) DUIS signatures verified.*?(\d+) GBCS signatures verified", checked[-1].stdout)
    what = (f"{files} files ({folder_bytes / 1e6:.0f} MB; zip {size / 1e6:.1f} MB), {legs} wire legs"
            + (f", {sig.group(1)} DUIS and {sig.group(2)} GBCS signatures" if sig else ""))
    bw, bc = median(r.wall for r in made), median(r.cpu for r in made)
    vw, vc = median(r.wall for r in checked), median(r.cpu for r in checked)
    out.rows = [
        Row("evidence bundle of a whole run (`mp107 bundle`)", f"{fmt_s(bw)} wall, {fmt_s(bc)} CPU; {what}",
            f"<= {TARGET_SECONDS:.0f} s on 2 cores", bw <= TARGET_SECONDS),
        Row("its verification (`mp107 verify-bundle --ca`)", f"{fmt_s(vw)} wall, {fmt_s(vc)} CPU (signatures on 2 "
            "processes; verdict recomputed)", f"<= {TARGET_SECONDS:.0f} s on 2 cores", vw <= TARGET_SECONDS),
    ]
    out.data = {"bundle_wall": [r.wall for r in made], "bundle_cpu": [r.cpu for r in made],
                "verify_wall": [r.wall for r in checked], "verify_cpu": [r.cpu for r in checked],
                "files": files, "legs": legs, "zip_bytes": size, "folder_bytes": folder_bytes}
    return out


BENCHMARKS = {NAME: run}
