"""The run's exact wire bytes, as the suite's plugin records them (`reports/pytest_plugin.py`, `mp107_wire`).

    RUN_DIR/wire/<sha256>.xml          the exact bytes of one leg, as sent or received
    RUN_DIR/wire/index*.jsonl          one JSON object a leg (index-<worker>.jsonl under xdist):
        {"scenario": pytest node ID, "request_id", "leg": "request" | "acknowledgement" | "outcome" |
         "transform" | "signed-pre-command" | ..., "direction": "to-target" | "from-target",
         "signer": a user's EUI-64, "DSP", or null if unsigned, "sha256", "length"}

`read` takes the index apart, refusing lines that do not keep that shape; `check_files` checks that
every leg's file is there, is as long as the index says and hashes to its name and its index entry.
Both read a run folder's files as a mapping of their paths in it to their bytes (a bundle's, read
into memory: nothing is unpacked to disk).
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Mapping

FOLDER = "wire"
MAX_INDEX_LINE = 64 * 1024
MAX_LEGS = 1_000_000
SHA256 = re.compile(r"[0-9a-f]{64}")
DIRECTIONS = ("to-target", "from-target")


@dataclass(frozen=True)
class Leg:
    scenario: str
    request_id: str
    leg: str
    direction: str
    signer: str | None
    sha256: str
    length: int
    where: str                 # "wire/index-gw0.jsonl line 12": how a problem names it
    order: int                 # position in its index file (the order the legs were recorded)

    @property
    def file(self) -> str:
        return f"{FOLDER}/{self.sha256}.xml"

    def describe(self) -> str:
        return f"{self.leg} {self.direction} [{self.request_id}] of {self.scenario} ({self.file})"


def read(files: Mapping[str, bytes]) -> tuple[list[Leg], list[str]]:
    """Every leg of every index file, in recorded order per file, and the problems of the index itself."""
    legs: list[Leg] = []
    problems: list[str] = []
    indexes = sorted(n for n in files if n.startswith(f"{FOLDER}/index") and n.endswith(".jsonl") and n.count("/") == 1)
    for name in indexes:
        for n, raw in enumerate(files[name].split(b"\n"), start=1):
            where = f"{name} line {n}"
            if len(raw) > MAX_INDEX_LINE:
                problems.append(f"{where}: a line of {len(raw)} bytes is not an index entry")
                continue
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw)
            except ValueError as exc:
                problems.append(f"{where}: not JSON ({exc})")
                continue
            leg, why = _leg(entry, where, n)
            if leg is None:
                problems.append(f"{where}: {why}")
            else:
                legs.append(leg)
            if len(legs) > MAX_LEGS:
                problems.append(f"{name}: more than {MAX_LEGS} legs; the rest are not read")
                return legs, problems
    return legs, problems


def _leg(entry, where: str, order: int) -> tuple[Leg | None, str]:
    if not isinstance(entry, dict):
        return None, "not a JSON object"
    text = {k: entry.get(k) for k in ("scenario", "request_id", "leg", "direction", "sha256")}
    missing = [k for k, v in text.items() if not isinstance(v, str) or not v]
    if missing:
        return None, f"missing or not text: {', '.join(missing)}"
    if text["direction"] not in DIRECTIONS:
        return None, f"direction {text['direction']!r} is neither {' nor '.join(DIRECTIONS)}"
    if not SHA256.fullmatch(text["sha256"]):
        return None, f"sha256 {text['sha256'][:80]!r} is not 64 lower-case hex digits"
    signer = entry.get("signer")
    if signer is not None and (not isinstance(signer, str) or not signer):
        return None, f"signer {signer!r} is neither text nor null"
    length = entry.get("length")
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        return None, f"length {length!r} is not a byte count"
    return Leg(text["scenario"], text["request_id"], text["leg"], text["direction"], signer, text["sha256"],
               length, where, order), ""


def check_files(files: Mapping[str, bytes], legs: list[Leg]) -> tuple[dict[str, bytes], list[str], list[str]]:
    """Each leg's bytes by SHA-256, the problems (a file missing, of another length, or whose hash is not
    its name), and notes (files no index names)."""
    data: dict[str, bytes] = {}
    problems: list[str] = []
    wanted = {leg.sha256 for leg in legs}
    for leg in legs:
        if leg.sha256 in data:
            if len(data[leg.sha256]) != leg.length:
                problems.append(f"{leg.where}: {leg.file} is {len(data[leg.sha256])} bytes; the index says {leg.length}")
            continue
        content = files.get(leg.file)
        if content is None:
            problems.append(f"{leg.where}: {leg.describe()}: the file is missing")
            continue
        actual = hashlib.sha256(content).hexdigest()
        if actual != leg.sha256:
            problems.append(f"{leg.file}: its bytes hash to {actual}, not to its name and index entry "
                            f"({leg.describe()}): the wire bytes were changed")
            continue
        if len(content) != leg.length:
            problems.append(f"{leg.where}: {leg.file} is {len(content)} bytes; the index says {leg.length}")
        data[leg.sha256] = content
    notes = [f"{name}: no index names it" for name in sorted(files)
             if name.startswith(f"{FOLDER}/") and name.endswith(".xml") and name[len(FOLDER) + 1:-4] not in wanted]
    return data, problems, notes
