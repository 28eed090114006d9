"""The requirement catalogue (requirements.toml) and the tags in features/ that trace to it."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

CATALOGUE = Path(__file__).with_name("requirements.toml")
TAG = re.compile(r"@(MP107-R\d+\.\d+)\b")


@dataclass(frozen=True)
class Requirement:
    id: str
    text: str
    actor: str
    fia: str
    not_tested: str | None = None
    components: tuple[str, ...] = ()
    """whose answers it judges: DSP, S1SP, SMETS2 device, Data fix"""

    @property
    def sort_key(self) -> tuple[int, ...]:
        return tuple(int(x) for x in self.id.removeprefix("MP107-R").split("."))


def load(path: Path = CATALOGUE) -> dict[str, Requirement]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    reqs = [Requirement(r["id"], r["text"], r["actor"], r.get("fia", ""), r.get("not_tested"),
                        tuple(r.get("components", ())))
            for r in data["requirement"]]
    ids = [r.id for r in reqs]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"{path}: duplicate requirement IDs {sorted(duplicates)}")
    return {r.id: r for r in sorted(reqs, key=lambda r: r.sort_key)}


_CACHE: dict[str, Requirement] | None = None


def judges(requirement_id: str, component: str) -> bool:
    """Whether a requirement judges answers of `component` ("DSP", "S1SP", "SMETS2 device", "Data fix")."""
    global _CACHE
    if _CACHE is None:
        _CACHE = load()
    req = _CACHE.get(requirement_id)
    return req is not None and component in req.components


def requirement_tags(tags) -> list[str]:
    """The requirement IDs among a scenario's tags (with or without the leading @)."""
    out = []
    for tag in tags:
        tag = tag if tag.startswith("@") else "@" + tag
        m = TAG.fullmatch(tag)
        if m:
            out.append(m.group(1))
    return out


def tags_in_features(features_dir: Path) -> dict[str, list[str]]:
    """Requirement ID -> feature files (with line numbers) that tag it."""
    found: dict[str, list[str]] = {}
    for feature in sorted(features_dir.rglob("*.feature")):
        for lineno, line in enumerate(feature.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip().startswith("@"):
                for m in TAG.finditer(line):
                    found.setdefault(m.group(1), []).append(f"{feature.name}:{lineno}")
    return found
