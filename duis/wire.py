"""The wire form of a DUIS document, and a copy of it for people to read.

DCC Boxed and the DCC's own signing tool (dccboxed-signing-tool, in the npm package
``@smartdcc/duis-sign-wrap``) write DUIS without whitespace-only text between elements, and the tool
parses what it checks with "ignoring element content whitespace" on: it drops such text before it
digests the document. XML-DSig keeps it. So a signature made over an indented document verifies here
(signxml) and fails there. Every document this project signs is therefore :func:`compact` first,
signed in that form and sent byte for byte (``duis.signing.sign_element`` does it); a well-signed
indented document from someone else is still accepted, since verification checks what arrived.

:func:`for_reading` is the other direction, for evidence only: an indented copy of what was sent,
never the bytes a signature covers.
"""

from __future__ import annotations

from lxml import etree

from . import safexml
from .errors import DuisError

__all__ = ["compact", "blank_text_between_elements", "for_reading"]


def _blank(text: str | None) -> bool:
    return text is not None and text != "" and not text.strip(" \t\r\n")


def compact(root: etree._Element) -> etree._Element:
    """Drop, in place, every whitespace-only text node between elements of ``root``: the text before
    an element's first child and every child's tail, where the element has element children (element
    content, as the DUIS schema defines every such element). Text of a leaf element (``<a> </a>``) is
    content, and stays. Returns ``root``."""
    for el in root.iter():
        children = [c for c in el if isinstance(c.tag, str)]
        if not children:
            continue
        if _blank(el.text):
            el.text = None
        for child in el:            # elements, comments and processing instructions alike
            if _blank(child.tail):
                child.tail = None
    return root


def blank_text_between_elements(root: etree._Element) -> int:
    """How many whitespace-only text nodes :func:`compact` would drop (0: already in wire form)."""
    count = 0
    for el in root.iter():
        if not any(isinstance(c.tag, str) for c in el):
            continue
        count += _blank(el.text)
        count += sum(_blank(child.tail) for child in el)
    return count


def for_reading(xml: bytes) -> bytes:
    """An indented copy of ``xml`` (one element a line), XML declaration kept, for people to read.
    ``xml`` unchanged where it is not a DUIS document the safe parser reads (hostile or malformed input
    is evidence: shown as sent, never expanded)."""
    try:
        root = safexml.parse(xml)
    except DuisError:
        return xml
    root = etree.fromstring(etree.tostring(root, encoding="UTF-8"))   # a copy: indent changes the tree
    compact(root)
    etree.indent(root, space="  ")
    body = etree.tostring(root, encoding="UTF-8")
    declaration = xml.lstrip()[:5] == b"<?xml"
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n") if declaration else body + b"\n"
