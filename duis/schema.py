"""DUIS Schema V5.4 validation.

The schema folder is a setting (DCC Users hold their own copy): the environment variable
``DUIS_SCHEMA_DIR`` (the harness sets it from ``--duis-xsd`` or the profile). The schema is
compiled with the ``xmlschema`` package (libxml2, i.e. lxml's XMLSchema, cannot compile it:
``ra:HeaderType`` does not resolve), lazily, once per folder per process (about 0.8 s).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import xmlschema
from lxml import etree

from . import safexml
from .errors import DuisConfigError, SchemaInvalid

__all__ = ["ENV_VAR", "SCHEMA_FILE", "schema_dir", "validator", "validate"]

ENV_VAR = "DUIS_SCHEMA_DIR"
SCHEMA_FILE = "DUIS Schema V5.4.xsd"

_lock = threading.Lock()
_cache: dict[Path, xmlschema.XMLSchema] = {}


def schema_dir() -> Path:
    """The configured schema folder (from ``DUIS_SCHEMA_DIR``)."""
    value = os.environ.get(ENV_VAR, "").strip()
    if not value:
        raise DuisConfigError(
            f"expected the DUIS Schema V5.4 folder in the environment variable {ENV_VAR} "
            "(set it, or pass --duis-xsd to the harness), got nothing"
        )
    return Path(value)


def _schema_file(directory: Path) -> Path:
    directory = Path(directory)
    if directory.is_file():
        return directory.resolve()
    candidate = directory / SCHEMA_FILE
    if candidate.is_file():
        return candidate.resolve()
    if not directory.is_dir():
        raise DuisConfigError(
            f"expected a folder holding {SCHEMA_FILE!r} (from {ENV_VAR} / --duis-xsd), got {str(directory)!r}, "
            "which does not exist"
        )
    present = sorted(p.name for p in directory.glob("*.xsd"))
    raise DuisConfigError(
        f"expected {SCHEMA_FILE!r} in the DUIS schema folder {str(directory)!r}, found only {present}"
    )


def validator(dir: Path | str | None = None) -> xmlschema.XMLSchema:  # noqa: A002 - contract name
    """The compiled DUIS schema for ``dir`` (default: :func:`schema_dir`), compiled once per process."""
    path = _schema_file(Path(dir) if dir is not None else schema_dir())
    compiled = _cache.get(path)
    if compiled is not None:
        return compiled
    with _lock:
        compiled = _cache.get(path)
        if compiled is None:
            try:
                # allow="local": the schema and its imports are read from disk only, never the network.
                compiled = xmlschema.XMLSchema(str(path), allow="local")
            except (xmlschema.XMLSchemaException, OSError) as exc:
                raise DuisConfigError(
                    f"expected a compilable DUIS Schema V5.4 at {str(path)!r}, got an error: {exc}"
                ) from exc
            _cache[path] = compiled
    return compiled


def _describe(error: xmlschema.XMLSchemaValidationError) -> tuple[str | None, str]:
    reason = (error.reason or str(error.message) or "invalid").strip()
    if len(reason) > 300:
        reason = reason[:297] + "..."
    got = None
    obj = getattr(error, "obj", None)
    elem = getattr(error, "elem", None)
    if isinstance(obj, str):
        got = obj
    elif isinstance(elem, etree._Element) and len(elem) == 0 and elem.text and elem.text.strip():
        got = elem.text.strip()
    if got is not None:
        if len(got) > 80:
            got = got[:77] + "..."
        reason = f"{reason} (got {got!r})"
    return error.path, reason


def validate(document: etree._Element | bytes, *, dir: Path | str | None = None) -> etree._Element:  # noqa: A002
    """Validate ``document`` (element or bytes); return its root element or raise :class:`SchemaInvalid`."""
    root = document if isinstance(document, etree._Element) else safexml.parse(document)
    schema = validator(dir)
    for error in schema.iter_errors(root):
        path, reason = _describe(error)
        raise SchemaInvalid(path, reason)
    return root
