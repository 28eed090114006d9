"""The requirement catalogue (requirements.toml) and the tags in features/ that trace to it."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

CATALOGUE = Path(__file__).with_name("requirements.toml")
TAG = re.compile(r"@(MP107-R\d+\.\d+)\b")
REQUIREMENT_ID = re.compile(r"MP107-R\d+\.\d+")
TITLE_CHARS = 80


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

    @property
    def group(self) -> str:
        """The requirement group of SPEC §3 it belongs to: "MP107-R1" for MP107-R1.4."""
        return self.id.rsplit(".", 1)[0]

    @property
    def title(self) -> str:
        """The rule's text, shortened at a word to about TITLE_CHARS characters (a label, a tree node)."""
        text = " ".join(self.text.split())
        if len(text) <= TITLE_CHARS:
            return text
        return text[:TITLE_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:") + "\u2026"


@dataclass(frozen=True)
class Group:
    """A requirement group of SPEC §3 (R1 the change, R2 the data fix, R3 what must not change, R4
    the harness's own promises)."""
    id: str
    title: str


def load(path: Path = CATALOGUE) -> dict[str, Requirement]:
    data = _read(path)
    reqs = [Requirement(r["id"], r["text"], r["actor"], r.get("fia", ""), r.get("not_tested"),
                        tuple(r.get("components", ())))
            for r in data["requirement"]]
    ids = [r.id for r in reqs]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"{path}: duplicate requirement IDs {sorted(duplicates)}")
    return {r.id: r for r in sorted(reqs, key=lambda r: r.sort_key)}


def load_groups(path: Path = CATALOGUE) -> dict[str, Group]:
    """The requirement groups ([[group]] tables), by ID; every requirement's group must be one of them."""
    data = _read(path)
    groups = {g["id"]: Group(g["id"], g["title"]) for g in data.get("group", [])}
    orphans = sorted({r["id"] for r in data["requirement"] if r["id"].rsplit(".", 1)[0] not in groups})
    if orphans:
        raise ValueError(f"{path}: requirements in no [[group]]: {orphans}")
    return groups


def _read(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


_CACHE: dict[str, Requirement] | None = None
_GROUPS: dict[str, Group] | None = None


def _catalogue() -> dict[str, Requirement]:
    global _CACHE
    if _CACHE is None:
        _CACHE = load()
    return _CACHE


def judges(requirement_id: str, component: str) -> bool:
    """Whether a requirement judges answers of `component` ("DSP", "S1SP", "SMETS2 device", "Data fix")."""
    req = _catalogue().get(requirement_id)
    return req is not None and component in req.components


def behaviour_labels(requirement_ids, requirements: dict[str, Requirement] | None = None,
                     groups: dict[str, Group] | None = None) -> list[tuple[str, str]]:
    """The Allure labels that place a scenario in the behaviours tree by requirement: one `epic` per
    requirement group ("MP107-R1 The change itself (FIA Requirement 1)") and one `story` per
    requirement ("MP107-R1.4 The wrong NO (owner of ...)"), in catalogue order. A story starts with
    the requirement ID (`requirement_id` reads it back); an ID the catalogue lacks is labelled bare."""
    global _GROUPS
    if requirements is None:
        requirements = _catalogue()
    if groups is None:
        if _GROUPS is None:
            _GROUPS = load_groups()
        groups = _GROUPS
    ids = list(dict.fromkeys(requirement_ids))
    known = sorted((requirements[i] for i in ids if i in requirements), key=lambda r: r.sort_key)
    epics = list(dict.fromkeys(r.group for r in known))
    labels = [("epic", f"{g} {groups[g].title}" if g in groups else g) for g in epics]
    labels += [("story", f"{r.id} {r.title}") for r in known]
    labels += [("story", i) for i in ids if i not in requirements]
    return labels


def requirement_id(label: str) -> str | None:
    """The requirement ID a label starts with ("MP107-R1.4" of "MP107-R1.4 The wrong NO ..."), else None."""
    m = REQUIREMENT_ID.match(label.strip())
    return m.group(0) if m and label.strip()[m.end():m.end() + 1] in ("", " ") else None


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
