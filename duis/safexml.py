"""The one entry point for parsing untrusted XML.

lxml with entity resolution, network access, DTD loading and huge trees all off; any DOCTYPE or
ENTITY declaration is refused outright (:class:`HostileXML`), before and after parsing, so an
XXE document is never expanded and its target file never read. Input over a size limit is
refused unparsed (:class:`OversizedXML`); anything else lxml cannot parse is
:class:`MalformedXML`.
"""

from __future__ import annotations

from lxml import etree

from .errors import HostileXML, MalformedXML, OversizedXML

__all__ = ["parse", "DEFAULT_MAX_BYTES"]

DEFAULT_MAX_BYTES = 1024 * 1024  # 1 MiB

# Markers that a document declares a DTD. XML is case-sensitive, so these are exact. The
# post-parse docinfo check catches the same in encodings where these bytes do not appear.
_HOSTILE_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")


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
    return root
