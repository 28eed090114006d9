"""Render the HTML conformance report: one self-contained file (inline CSS, no script, no external
resource of any kind; a Content-Security-Policy forbids the browser to fetch anything)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import jinja2

from .collect import ROOT, RunReport
from .matrix import COLUMNS, S1SPS
from .results import FUELS

TEMPLATES = Path(__file__).resolve().parent / "templates"


def harness_commit(root: Path = ROOT) -> str:
    """The harness checkout's commit (with '+dirty' for local changes), or '' outside git."""
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        if rev.returncode != 0:
            return ""
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def _plain(value) -> str:
    """A dict or list from run-info.json as a short human line."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items()) or "none"
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value) or "none"
    return str(value)


def _cell_label(cell_id: str, requirement: str) -> str:
    key = cell_id.removeprefix(f"cell-{requirement}-")
    return "not S1SP-specific" if key == "any" else key.replace("-", " ")


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["onoff"] = lambda v: {True: "on", False: "off"}.get(v, "unknown")
    env.filters["short_req"] = lambda rid: rid.removeprefix("MP107-")
    env.filters["plain"] = _plain
    env.filters["cell_label"] = _cell_label
    env.filters["short_cause"] = lambda title: title.split(" (", 1)[0].replace("DSP and S1SP releases", "releases")
    env.filters["css"] = lambda text: re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    return env


def render(report: RunReport, *, commit: str | None = None) -> str:
    template = _env().get_template("report.html.j2")
    scenarios_by_feature: dict[str, list] = {}
    for sc in report.scenarios:
        scenarios_by_feature.setdefault(sc.feature, []).append(sc)
    number = {sc.uuid: i for i, sc in enumerate(report.scenarios, start=1)}
    return template.render(
        r=report, info=report.info, options=report.info.get("options") or {}, g=report.gate,
        m=report.matrix, columns=COLUMNS, s1sps=S1SPS, fuels=FUELS, number=number,
        scenarios_by_feature=scenarios_by_feature, commit=harness_commit() if commit is None else commit,
        mandatory=set(report.gate.mandatory),
    )


def write(report: RunReport, path: Path | None = None) -> Path:
    path = Path(path or report.run_dir / "report.html")
    path.write_text(render(report), encoding="utf-8")
    return path
