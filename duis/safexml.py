"""The one entry point for parsing untrusted XML.

lxml with entity resolution, network access, DTD loading and huge trees all off; any DOCTYPE or
ENTITY declaration is refused outright (:class:`HostileXML`), before and after parsing, so an
XXE document is never expanded and its target file never read. Input over a size limit is
refused unparsed (:class:`OversizedXML`); anything else lxml cannot parse is
:class:`MalformedXML`. So is what XML allows but DUIS has no use for and a parser may read in more
than one way: bytes in another encoding than the XML declaration names (XML 1.0 section 4.3.3 makes
that a fatal error; libxml2 believes the byte-order mark) and processing instructions inside the
document element. A processing instruction (or comment) before or after the document element is
well-formed and parsed; it is outside what a DUIS signature is checked over, so `duis.signing.verify`
refuses it (a signature that does not cover every node it was sent with: MP107-R4.1, not malformed XML).
"""

from __future__ import annotations

import re

from lxml import etree

from .errors import HostileXML, MalformedXML, OversizedXML

__all__ = ["parse", "DEFAULT_MAX_BYTES"]

DEFAULT_MAX_BYTES = 1024 * 1024  # 1 MiB

# Markers that a document declares a DTD. XML is case-sensitive, so these are exact. The
# post-parse docinfo check catches the same in encodings where these bytes do not appear.
_HOSTILE_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")


_DECLARED_ENCODING = re.compile(r"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._-]*)[\"']")

# XML 1.0 Appendix F: the encoding family the first bytes show (byte-order mark, or "<?" in it)
_FAMILIES = (
    (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"), (b"<\x00?\x00", "utf-16-le"),
)


def _check_declared_encoding(raw: bytes) -> None:
    """Refuse bytes whose encoding family (UTF-32, UTF-16, or one ASCII-compatible) is not the one
    the XML declaration names."""
    family = next((name for prefix, name in _FAMILIES if raw.startswith(prefix)), "ascii-compatible")
    head = raw[:512].decode(family if family != "ascii-compatible" else "latin-1", errors="ignore")
    found = _DECLARED_ENCODING.match(head.lstrip("\ufeff"))
    if found is None:
        return
    declared = found.group(1)
    name = declared.lower().replace("_", "-")
    wide = name.startswith(("utf-16", "utf16", "utf-32", "utf32", "ucs-2", "ucs2", "ucs-4", "ucs4", "iso-10646-ucs"))
    if family == "ascii-compatible":
        ok = not wide
    else:
        ok = name.replace("-", "").startswith(family[:5].replace("-", ""))
    if not ok:
        shown = "an ASCII-compatible encoding" if family == "ascii-compatible" else family.upper()
        raise MalformedXML(f"expected the bytes in the encoding the XML declaration names ({declared}), got "
                           f"{shown} (XML 1.0 section 4.3.3: a fatal error); refused")


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not safe to share between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=False,
    )


def _as_bytes(data: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise MalformedXML(f"expected XML as bytes, got {type(data).__name__}")


def _parse_unchecked(data: bytes) -> etree._Element:
    """Parse with the safe parser but without refusing DTDs (tests use it to prove no expansion)."""
    return etree.fromstring(data, parser=_parser())


def parse(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse ``data`` and return the root element, or raise a :class:`~duis.errors.DuisError`."""
    raw = _as_bytes(data)
    if len(raw) > max_bytes:
        raise OversizedXML(len(raw), max_bytes)
    for marker in _HOSTILE_MARKERS:
        if marker in raw:
            raise HostileXML(
                f"expected XML without DTD, DOCTYPE or ENTITY declarations, got a document containing "
                f"{marker.decode()!r}; refused without processing it"
            )
    if not raw.strip():
        raise MalformedXML("expected an XML document, got empty input")
    _check_declared_encoding(raw)
    try:
        root = _parse_unchecked(raw)
    except etree.XMLSyntaxError as exc:
        raise MalformedXML(f"expected well-formed XML, got a parse error: {exc}") from None
    except ValueError as exc:  # e.g. lxml refusing odd input types/encodings
        raise MalformedXML(f"expected well-formed XML, got: {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise HostileXML("expected XML without a DOCTYPE declaration, got one; refused")
    for _ in root.iter(etree.Entity):
        raise HostileXML("expected XML without entity references, got one; refused")
    for node in root.iter(etree.PI):
            raise MalformedXML(f"expected DUIS XML without processing instructions, got <?{node.target} ...?>; refused")
    return root
