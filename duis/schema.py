"""DUIS Schema V5.4 validation, with libxml2 (lxml's ``XMLSchema``).

The schema folder is a setting (DCC Users hold their own copy): the environment variable
``DUIS_SCHEMA_DIR`` (the harness sets it from ``--duis-xsd`` or the profile). It is compiled
lazily, once per folder per process (about 0.03 s).

libxml2 rather than the ``xmlschema`` package: libxml2 validates in time linear in the input,
while ``xmlschema`` is super-linear on hostile input (a request with a few thousand attributes
on one element kept a CPU busy for minutes), and both the reference server and the harness
validate what the other side sends.

Adaptations, in memory only (the files on disk are only read, never written):

- DUIS Schema V5.4 imports ``schemaLocation="MMC Schema V5.4.xsd"``, and libxml2 reads a
  schemaLocation as a URI, in which a space cannot stand, so the import is skipped and
  ``ra:HeaderType`` "does not resolve". The schema text is parsed with its own path as base URL
  and the spaces of every ``xs:import`` / ``xs:include`` / ``xs:redefine`` schemaLocation are
  percent-encoded (``MMC%20Schema%20V5.4.xsd``) in the parsed tree before it is compiled.
- libxml2 checks two kinds of built-in type otherwise than XML Schema: it lets through base64Binary
  holding characters outside the base64 alphabet, and refuses dates and times with surrounding
  whitespace. Every reference to those types, in the schema and its imports, is redirected to a
  restriction of the type with a pattern that corrects this (:data:`ADAPTED_TYPES`), so verdicts
  are those of XML Schema (and of the ``xmlschema`` package used before). The base64 pattern is
  the one cost: about 50 us for the four certificates of a 6.15.1 request, linear in their size.

Imports are read from local disk only (a resolver serves them, adapted the same way): a
schemaLocation naming any other scheme (http:, ftp:, ...) is refused at compile time.

Where libxml2 and the ``xmlschema`` package still differ, libxml2 follows XML Schema: it refuses
non-ASCII digits and "_" in integers ("1_000", U+0663) and non-XML whitespace (U+00A0, U+2003)
where XML whitespace is allowed, all of which ``xmlschema`` accepted.

This module is the only validator of the harness and the reference. The ``xmlschema`` package
remains in two places, off every hot path: tests/test_duis_schema_lxml.py, where it is the oracle
(the verdicts above are shown equal to those of an independent XSD 1.0 implementation, which
libxml2 cannot show about itself), and bench/bench_validation.py, which measures the two against
each other.

Once per side: each document is validated once by the side that writes it (every encoder of
:mod:`duis.codec`) and once by the side that reads it (every decoder). An S1SP's nested
SMETS1SignedResponse or S1SPAlert is validated only as part of the Response that carries it: the
schema declares both as global elements that the Response refers to, so the whole covers them
(bench/PROFILE.md).

Thread safety: an lxml ``XMLSchema`` keeps one error log per instance, cleared and refilled by
every validation, so two threads validating with one instance at once read each other's errors
(measured: hundreds of wrong answers in 2,400 concurrent validations). Each compiled schema
therefore validates under its own lock. One compiled schema per thread was measured against it
(bench/bench_validation.py, 2 cores): the same on one thread; about 2x faster when several
threads do nothing but validate valid documents (libxml2 runs without the GIL); 1.7x slower on
concurrent hostile input (libxml2 reports each error through Python, under the GIL); and every
new worker thread compiles again (about 25 ms and 6 MB; the server's worker threads retire after
10 s idle and are re-created). At about 65 us a request, validation is a small part of serving
one, so the lock is the cheaper choice; a pool of at most ``os.cpu_count()`` compiled schemas
would be the next step if validation ever shows in a profile.

Documents given as bytes are parsed by :func:`duis.safexml.parse` (no network, no entities, no
DTD, no huge trees, size-capped) before validation.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lxml import etree

from . import safexml
from .errors import DuisConfigError, SchemaInvalid

__all__ = ["ENV_VAR", "SCHEMA_FILE", "DuisSchema", "SchemaError", "schema_dir", "validator", "validate"]

ENV_VAR = "DUIS_SCHEMA_DIR"
SCHEMA_FILE = "DUIS Schema V5.4.xsd"

XS_NS = "http://www.w3.org/2001/XMLSchema"
_SCHEMA_REFERENCES = (f"{{{XS_NS}}}import", f"{{{XS_NS}}}include", f"{{{XS_NS}}}redefine")

# The prefixes DUIS and its documents use, so messages read the same whatever prefixes a sender chose.
_PREFIXES = {
    "http://www.dccinterface.co.uk/ServiceUserGateway": "sr",
    "http://www.dccinterface.co.uk/ResponseAndAlert": "ra",
    "http://www.w3.org/2000/09/xmldsig#": "ds",
    XS_NS: "xs",
}
_MAX_REASON = 300

_lock = threading.Lock()
_cache: dict[Path, DuisSchema] = {}
_by_setting: dict[str, DuisSchema] = {}   # the absolute folder or file as given -> its compiled schema


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


# ----------------------------------------------------------------------------- compiling


# Two libxml2 checks of built-in types differ from XML Schema (and from the xmlschema package used
# before); both are corrected in memory by pointing every reference to the built-in type at a
# restriction of it, "<type>.libxml2", in the referring schema's own namespace:
# - base64Binary: libxml2 skips any character outside the base64 alphabet, so "!!MII..." passed. The
#   restriction's pattern admits only the alphabet, padding and whitespace (libxml2 still checks
#   the length and the padding itself).
# - the date and time types: libxml2 refuses surrounding whitespace (" 2022-07-22T09:37:56"), which
#   their whiteSpace facet (collapse) allows, unless the type carries a pattern facet, which makes
#   it collapse the value first. The restriction's pattern admits anything.
ADAPTED_SUFFIX = ".libxml2"
ADAPTED_TYPES = {
    "base64Binary": r"[A-Za-z0-9+/=\s]*",
    **{name: r"[\s\S]*" for name in ("dateTime", "date", "time", "duration",
                                      "gYear", "gYearMonth", "gMonth", "gMonthDay", "gDay")},
}
_QNAME_ATTRIBUTES = ("type", "base", "itemType", "memberTypes")


def _prefix_of(root: etree._Element, namespace: str) -> str | None:
    """A prefix ``root`` declares for ``namespace`` ("" for the default namespace), or None."""
    for prefix, uri in root.nsmap.items():
        if uri == namespace:
            return prefix or ""
    return None


def _adapt_builtin_types(root: etree._Element) -> dict[str, int]:
    """Point the references to :data:`ADAPTED_TYPES` in the schema ``root`` at their restrictions.

    Returns how many references to each built-in type were redirected. A schema document that
    declares no prefix for its own target namespace is left as it is (DUIS, MMC and xmldsig do).
    """
    namespace = root.get("targetNamespace")
    xs_prefix = _prefix_of(root, XS_NS)
    own_prefix = _prefix_of(root, namespace) if namespace else None
    if not own_prefix or xs_prefix is None:
        return {}
    existing = {el.get("name") for el in root.iterchildren(f"{{{XS_NS}}}simpleType", f"{{{XS_NS}}}complexType")}
    if any(name + ADAPTED_SUFFIX in existing for name in ADAPTED_TYPES):
        return {}
    changed: dict[str, int] = {}
    for el in root.iter(f"{{{XS_NS}}}*"):
        for attribute in _QNAME_ATTRIBUTES:
            value = el.get(attribute)
            if not value:
                continue
            names = value.split()
            for i, name in enumerate(names):
                prefix, _, local = name.rpartition(":")
                if local in ADAPTED_TYPES and el.nsmap.get(prefix or None) == XS_NS:
                    names[i] = f"{own_prefix}:{local}{ADAPTED_SUFFIX}"
                    changed[local] = changed.get(local, 0) + 1
            if names != value.split():
                el.set(attribute, " ".join(names))
    for local in changed:
        simple = etree.SubElement(root, f"{{{XS_NS}}}simpleType", name=local + ADAPTED_SUFFIX)
        base = f"{xs_prefix}:{local}" if xs_prefix else local
        restriction = etree.SubElement(simple, f"{{{XS_NS}}}restriction", base=base)
        etree.SubElement(restriction, f"{{{XS_NS}}}pattern", value=ADAPTED_TYPES[local])
    return changed


def schema_document(path: Path | str, parser: etree.XMLParser | None = None) -> etree._Element:
    """The schema file at ``path``, parsed and adapted to libxml2, in memory (the file is only read).

    Two adaptations: spaces in the ``schemaLocation`` of ``xs:import`` / ``xs:include`` /
    ``xs:redefine`` become ``%20``, so libxml2 can follow them; and the built-in types libxml2
    checks otherwise than XML Schema are redirected (:func:`_adapt_builtin_types`). The base URL
    is the file's own path, so relative locations resolve in its folder. ``parser`` defaults to
    the hardened parser of :mod:`duis.safexml` (no network, no entities, no DTD).
    """
    path = Path(path)
    parser = parser if parser is not None else safexml._parser()
    root = etree.fromstring(path.read_bytes(), parser=parser, base_url=str(path))
    for ref in root.iterchildren(*_SCHEMA_REFERENCES):
        location = ref.get("schemaLocation")
        if location and " " in location:
            ref.set("schemaLocation", location.replace(" ", "%20"))
    _adapt_builtin_types(root)
    return root


class _LocalImports(etree.Resolver):
    """Serve the schema's imports from local disk, adapted like the schema itself; refuse any other URL."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []

    def resolve(self, url, pubid, context):  # noqa: D401 - lxml API
        if not url:
            return None
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "file":
            path = Path(unquote(parts.path))
        elif scheme == "" or len(scheme) == 1:  # a path, or one with a Windows drive letter
            path = Path(url) if Path(url).exists() else Path(unquote(url))
        else:
            self.refused.append(f"{url!r}, which is not on local disk")
            raise DuisConfigError(f"refused to fetch {url!r}: DUIS schema imports are read from local disk only")
        try:
            text = etree.tostring(schema_document(path))
        except (OSError, etree.XMLSyntaxError) as exc:
            self.refused.append(f"{url!r}, which cannot be read: {exc}")
            raise
        return self.resolve_string(text, context, base_url=str(path))


def _compile(path: Path) -> etree.XMLSchema:
    resolver = _LocalImports()
    parser = safexml._parser()
    parser.resolvers.add(resolver)  # libxml2 loads the imports through the resolvers of the document's parser
    try:
        return etree.XMLSchema(schema_document(path, parser))
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError, OSError) as exc:
        detail = f"an import from {resolver.refused[0]}" if resolver.refused else exc
        raise DuisConfigError(f"expected a compilable DUIS Schema V5.4 at {str(path)!r}, got an error: {detail}") from exc


# ----------------------------------------------------------------------------- validating


@dataclass(frozen=True)
class SchemaError:
    """One way a document breaks the schema: where (``path``, ``line``) and what was expected (``reason``)."""

    path: str | None
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = " ".join(part for part in (self.path, f"line {self.line}" if self.line else None) if part)
        return f"{where}: {self.reason}" if where else self.reason


class DuisSchema:
    """DUIS Schema V5.4 compiled by libxml2; safe to share between threads (validations take a lock)."""

    def __init__(self, path: Path | str):
        """Compile the schema at ``path``: the schema file, or the folder holding :data:`SCHEMA_FILE`."""
        self.path = _schema_file(Path(path))
        self._schema = _compile(self.path)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DuisSchema({str(self.path)!r})"

    def _entries(self, root: etree._Element) -> list:
        """libxml2's error entries for ``root`` (empty when valid)."""
        with self._lock:
            try:
                if self._schema(root):
                    return []
                entries = [entry for entry in self._schema.error_log if entry.level >= etree.ErrorLevels.ERROR]
            except etree.XMLSchemaValidateError as exc:  # libxml2 gave up, e.g. on unexpanded entity references
                log = [entry for entry in exc.error_log if entry.level >= etree.ErrorLevels.ERROR]
                entries = log or [f"libxml2 could not validate the document ({exc})"]
            finally:
                clear = getattr(self._schema, "_clear_error_log", None)
                if clear is not None:
                    clear()  # do not keep a hostile document's thousands of entries alive until the next call
        return entries or ["libxml2 found the document invalid without saying why"]

    def iter_errors(self, document: etree._Element | etree._ElementTree) -> Iterator[SchemaError]:
        """Every schema error of ``document``, first one first (nothing if it is valid)."""
        root = document.getroot() if isinstance(document, etree._ElementTree) else document
        for entry in self._entries(root):
            yield _describe(root, entry)

    def first_error(self, document: etree._Element | etree._ElementTree) -> SchemaError | None:
        """The first schema error of ``document``, or ``None`` if it is valid."""
        return next(self.iter_errors(document), None)

    def is_valid(self, document: etree._Element | etree._ElementTree) -> bool:
        return self.first_error(document) is None


def _qname(el: etree._Element) -> str:
    q = etree.QName(el)
    if q.namespace is None:
        return q.localname
    prefix = _PREFIXES.get(q.namespace) or el.prefix
    return f"{prefix}:{q.localname}" if prefix else f"{{{q.namespace}}}{q.localname}"


_STEP = re.compile(r"(?:(?P<prefix>[^:\[\]/]+):)?(?P<name>[^:\[\]/]+)(?:\[(?P<index>[0-9]+)\])?")


def _locate(root: etree._Element, path: str) -> etree._Element | None:
    """The element at libxml2's node path (relative to the validated ``root``), or ``None``."""
    steps = path.split("/")
    if len(steps) < 2 or steps[0] != "":
        return None
    el = root
    for step in steps[2:]:  # steps[1] names the validated element itself
        m = _STEP.fullmatch(step)
        if m is None:  # text(), comment(), @attribute...: keep libxml2's own path
            return None
        if m["name"] == "*" and m["prefix"] is None:  # libxml2 writes a default-namespace element as *
            candidates = [c for c in el if isinstance(c.tag, str)]
        else:
            candidates = [c for c in el if isinstance(c.tag, str) and c.prefix == m["prefix"]
                          and etree.QName(c).localname == m["name"]]
        index = int(m["index"] or 1)
        if index > len(candidates):
            return None
        el = candidates[index - 1]
    return el


def _readable_path(root: etree._Element, el: etree._Element) -> str:
    """``/sr:Request/sr:Body/...`` from ``root`` to ``el``, with [n] where a name repeats among siblings."""
    parts = []
    while el is not None:
        name = _qname(el)
        parent = el.getparent()
        if el is not root and parent is not None:
            same = [c for c in parent if c.tag == el.tag]
            if len(same) > 1:
                name += f"[{same.index(el) + 1}]"
        parts.append(name)
        if el is root:
            break
        el = parent
    return "/" + "/".join(reversed(parts))


_ADAPTED_NAME = re.compile(r"'[^':\s]+:([A-Za-z]+)%s'" % re.escape(ADAPTED_SUFFIX))
_QUOTED = re.compile(r"'([^']*)'")


def _clip_quoted(match: re.Match) -> str:
    text = match.group(1)
    return f"'{text[:77]}...'" if len(text) > 80 else match.group(0)


def _shorten(message: str) -> str:
    for namespace, prefix in _PREFIXES.items():
        message = message.replace(f"{{{namespace}}}", f"{prefix}:")
    message = " ".join(message.split())
    message = _QUOTED.sub(_clip_quoted, message)  # a long value or pattern: its start, then the rest of the message
    message = _ADAPTED_NAME.sub(r"'xs:\1'", message)  # name the built-in type, not its in-memory restriction
    if len(message) > _MAX_REASON:
        message = message[: _MAX_REASON - 3] + "..."
    return message


def _describe(root: etree._Element, entry) -> SchemaError:
    if isinstance(entry, str):
        return SchemaError(None, None, entry)
    path = entry.path
    if path:
        el = _locate(root, path)
        if el is not None:
            path = _readable_path(root, el)
    return SchemaError(path or None, entry.line or None, _shorten(entry.message or "invalid"))


def validator(dir: Path | str | None = None) -> DuisSchema:  # noqa: A002 - contract name
    """The compiled DUIS schema for ``dir`` (default: :func:`schema_dir`), compiled once per process."""
    # Every validation asks for its schema: look it up by the absolute folder as given (or the
    # environment variable's value) before resolving the path, which costs a handful of system
    # calls each time (bench/PROFILE.md).
    key = str(dir) if dir is not None else os.environ.get(ENV_VAR, "").strip()
    compiled = _by_setting.get(key)
    if compiled is not None:
        return compiled
    path = _schema_file(Path(dir) if dir is not None else schema_dir())
    compiled = _cache.get(path)
    if compiled is None:
        with _lock:
            compiled = _cache.get(path)
            if compiled is None:
                compiled = DuisSchema(path)
                _cache[path] = compiled
    if os.path.isabs(key):
        _by_setting[key] = compiled
    return compiled


def validate(document: etree._Element | bytes, *, dir: Path | str | None = None) -> etree._Element:  # noqa: A002
    """Validate ``document`` (element or bytes); return its root element or raise :class:`SchemaInvalid`.

    The error names the first problem: where (the element's path, and its line when the document
    was parsed from bytes) and what the schema expected.
    """
    root = document if isinstance(document, etree._Element) else safexml.parse(document)
    error = validator(dir).first_error(root)
    if error is not None:
        reason = f"{error.reason} (line {error.line})" if error.line else error.reason
        raise SchemaInvalid(error.path, reason)
    return root
