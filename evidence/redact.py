"""A target profile fit to hand over: every private-key path taken out, everything else as written.

A profile names private keys in keys called `key` or ending in `_key` (a user's XML-signing key,
`organisation_key`, [tls] `client_key`, `receiver_key`, `serve_key`). Their values become
"(removed)", and any path to a key file in a comment too (`*.key`, `*.key.pem`, `*-key.pem`).
The result is parsed again and checked: if a key-ish value survived, or the text no longer parses
as TOML, the redaction is refused rather than handed over.
"""
from __future__ import annotations

import re
import tomllib

REMOVED = "(removed)"
_ASSIGNMENT = re.compile(r"""(?P<name>(?<![\w-])(?:[A-Za-z0-9_-]*_)?key)(?P<eq>\s*=\s*)(?P<value>"(?:[^"\\]|\\.)*"|'[^']*')""")
_KEY_PATH = re.compile(r"""[^\s"'=,\[\]{}]+(?:\.key|\.key\.pem|\.key\.der|[-_]key\.pem)(?![\w.])""")


class RedactionError(Exception):
    """The profile could not be redacted safely."""


def _is_key_name(name: str) -> bool:
    return name == "key" or name.endswith("_key")


def _key_values(data, found: list[str]) -> list[str]:
    if isinstance(data, dict):
        for k, v in data.items():
            if _is_key_name(str(k)) and isinstance(v, str):
                found.append(v)
            else:
                _key_values(v, found)
    elif isinstance(data, list):
        for v in data:
            _key_values(v, found)
    return found


def profile(text: str) -> str:
    """`text` (a profile's TOML) with its private-key paths removed."""
    try:
        original = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RedactionError(f"the profile is not TOML: {exc}") from None
    out_lines = []
    for line in text.splitlines(keepends=True):
        code, hash_, comment = _split_comment(line)
        code = _ASSIGNMENT.sub(lambda m: f'{m["name"]}{m["eq"]}"{REMOVED}"', code)
        code = _KEY_PATH.sub(REMOVED, code) if not code.strip() else code
        comment = _KEY_PATH.sub(REMOVED, comment)
        out_lines.append(code + hash_ + comment)
    redacted = "".join(out_lines)
    try:
        again = tomllib.loads(redacted)
    except tomllib.TOMLDecodeError as exc:
        raise RedactionError(f"the redacted profile does not parse ({exc}); not handed over") from None
    left = [v for v in _key_values(again, []) if v != REMOVED]
    if left or len(_key_values(again, [])) != len(_key_values(original, [])):
        raise RedactionError("a private-key path survived redaction; not handed over")
    return redacted


def _split_comment(line: str) -> tuple[str, str, str]:
    """(code, '#', comment) of a TOML line: the first # outside a string starts the comment."""
    quote = None
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[:i], "#", line[i + 1:]
        i += 1
    return line, "", ""
