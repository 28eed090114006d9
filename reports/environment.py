"""Allure's environment widget and categories for a run (written into allure-results/)."""
from __future__ import annotations

import json
from pathlib import Path


def _escape(text: str, key: bool = False) -> str:
    text = str(text).replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    if key:
        for ch in " =:":
            text = text.replace(ch, "\\" + ch)
    return text


def environment(info: dict, *, policy: str = "", harness_commit: str = "") -> dict[str, str]:
    """Flat key -> value facts about a run, from run-info.json."""
    env: dict[str, str] = {}
    options = info.get("options") or {}
    env["target"] = str(options.get("target", "unknown"))
    env["target.name"] = str(info.get("target_name", "unknown"))
    for key, value in sorted((info.get("target") or {}).items()):
        if key in ("mp107_switch", "s1sp_implemented"):
            continue
        env[f"target.{key}"] = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    env["profile"] = str(options.get("profile") or "none (built-in cast)")
    env["s1sp"] = str(options.get("s1sp", "all"))
    state = info.get("state_start") or {}
    if "error" in state:
        env["state"] = f"unknown: {state['error']}"
    else:
        env["switch.mp107"] = {True: "on", False: "off"}.get(state.get("mp107_switch"), "unknown")
        for s1sp, implemented in sorted((state.get("s1sp_implemented") or {}).items()):
            env[f"{s1sp}.implemented_mp107"] = str(implemented).lower()
    for extra in ("reference_break", "reference_s1sp_not_implemented"):
        if options.get(extra):
            env[f"reference.{extra}"] = ", ".join(options[extra])
    for dist, ver in sorted((info.get("versions") or {}).items()):
        env[f"version.{dist}"] = str(ver)
    if harness_commit:
        env["harness.commit"] = harness_commit
    if policy:
        env["policy"] = policy
    if info.get("capabilities") is not None:
        env["target.capabilities"] = ", ".join(info["capabilities"])
    return env


def write_environment(allure_dir: Path, env: dict[str, str]) -> Path:
    allure_dir = Path(allure_dir)
    allure_dir.mkdir(parents=True, exist_ok=True)
    path = allure_dir / "environment.properties"
    path.write_text("".join(f"{_escape(k, key=True)}={_escape(v)}\n" for k, v in env.items()), encoding="utf-8")
    return path


CATEGORIES = [
    {"name": "R1.10: DSP and S1SP releases not coordinated (an S1SP has not implemented MP107)",
     "matchedStatuses": ["failed"], "messageRegex": "[\\s\\S]*\\bI99\\b[\\s\\S]*\\bS1VE4\\b[\\s\\S]*"},
    {"name": "Non-conformance (a rule is broken)", "matchedStatuses": ["failed"]},
    {"name": "Target fault or harness error (not a verdict)", "matchedStatuses": ["broken"]},
]


def write_categories(allure_dir: Path) -> Path:
    path = Path(allure_dir) / "categories.json"
    path.write_text(json.dumps(CATEGORIES, indent=2), encoding="utf-8")
    return path
