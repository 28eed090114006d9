"""duis.safexml: the one parser of untrusted XML refuses hostile, oversized and malformed input."""
from __future__ import annotations

import uuid

import pytest
from lxml import etree

from duis import codec, safexml
from duis.errors import DuisError, HostileXML, MalformedXML, OversizedXML


@pytest.fixture
def secret_file(tmp_path):
    """A file whose content must never show up anywhere: if it does, the parser read it."""
    marker = f"SECRET-{uuid.uuid4().hex}"
    path = tmp_path / "secret.txt"
    path.write_text(marker)
    return path, marker


def _xxe_pointing_at(shared_duis, target: str) -> bytes:
    original = (shared_duis / "samples" / "duis-xxe.xml").read_bytes()
    assert b"file:///etc/passwd" in original
    return original.replace(b"file:///etc/passwd", target.encode())


def test_parses_well_formed_xml():
    root = safexml.parse(b"<?xml version='1.0'?><a xmlns='urn:x'><b>text</b></a>")
    assert root.tag == "{urn:x}a" and root.findtext("{urn:x}b") == "text"


def test_accepts_str_input_as_utf8():
    assert safexml.parse("<a>é</a>").text == "é"


def test_refuses_the_xxe_sample(shared_duis):
    with pytest.raises(HostileXML, match="DOCTYPE"):
        safexml.parse((shared_duis / "samples" / "duis-xxe.xml").read_bytes())


def test_xxe_pointing_at_a_real_file_is_refused_and_the_file_never_read(shared_duis, secret_file):
    path, marker = secret_file
    xml = _xxe_pointing_at(shared_duis, path.as_uri())
    with pytest.raises(HostileXML) as info:
        safexml.parse(xml)
    assert marker not in str(info.value)
    # Even with the DOCTYPE refusal bypassed, the parser itself never expands the entity, so the
    # file's content cannot reach the tree (resolve_entities=False, load_dtd=False, no_network=True).
    root = safexml._parse_unchecked(xml)
    assert marker.encode() not in etree.tostring(root)
    assert list(root.iter(etree.Entity)), "the entity reference stays an unexpanded Entity node"


def test_xxe_pointing_at_a_missing_file_is_refused(shared_duis, tmp_path):
    xml = _xxe_pointing_at(shared_duis, (tmp_path / "does-not-exist").as_uri())
    with pytest.raises(HostileXML):
        safexml.parse(xml)


def test_xxe_in_utf16_is_refused_after_parsing(shared_duis, secret_file):
    """UTF-16 hides the '<!DOCTYPE' bytes from the pre-scan; the post-parse check still refuses it."""
    path, marker = secret_file
    text = _xxe_pointing_at(shared_duis, path.as_uri()).decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    xml = text.encode("utf-16")
    assert b"<!DOCTYPE" not in xml
    with pytest.raises(HostileXML) as info:
        safexml.parse(xml)
    assert marker not in str(info.value)


def test_codec_decoders_refuse_the_xxe_sample(shared_duis):
    xml = (shared_duis / "samples" / "duis-xxe.xml").read_bytes()
    with pytest.raises(HostileXML):
        codec.decode_response(xml)
    with pytest.raises(HostileXML):
        codec.decode_request(xml)


@pytest.mark.parametrize(
    "xml",
    [
        # billion laughs
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><a>&lol2;</a>',
        # external DTD over the network
        b'<?xml version="1.0"?><!DOCTYPE a SYSTEM "http://example.invalid/a.dtd"><a/>',
        # an internal subset without entities is still a DTD
        b"<!DOCTYPE a [<!ELEMENT a ANY>]><a/>",
        # parameter entity
        b'<!DOCTYPE a [<!ENTITY % p SYSTEM "file:///etc/hostname"> %p;]><a/>',
    ],
)
def test_refuses_any_dtd(xml):
    with pytest.raises(HostileXML):
        safexml.parse(xml)


def test_refuses_oversized_input_unparsed():
    big = b"<a>" + b"x" * (1024 * 1024) + b"</a>"
    with pytest.raises(OversizedXML) as info:
        safexml.parse(big)
    assert info.value.limit == safexml.DEFAULT_MAX_BYTES == 1024 * 1024
    assert info.value.size == len(big)
    assert f"at most {1024 * 1024} bytes, got {len(big)} bytes" in str(info.value)


def test_size_limit_is_a_parameter():
    assert safexml.parse(b"<a>12345</a>", max_bytes=12).text == "12345"
    with pytest.raises(OversizedXML):
        safexml.parse(b"<a>123456</a>", max_bytes=12)


def test_oversize_is_checked_before_hostility():
    """An oversized document is refused on size alone, without even scanning it."""
    with pytest.raises(OversizedXML):
        safexml.parse(b"<!DOCTYPE a []>" + b" " * 100 + b"<a/>", max_bytes=50)


@pytest.mark.parametrize(
    "xml, expected",
    [
        (b"", "empty input"),
        (b"   \n", "empty input"),
        (b"<a><b></a>", "well-formed"),
        (b"not xml at all", "well-formed"),
        (b"<a>", "well-formed"),
        (b"<a/><b/>", "well-formed"),
    ],
)
def test_malformed_input(xml, expected):
    with pytest.raises(MalformedXML, match=expected):
        safexml.parse(xml)


def test_non_bytes_input_is_malformed():
    with pytest.raises(MalformedXML, match="expected XML as bytes, got int"):
        safexml.parse(42)  # type: ignore[arg-type]


def test_all_refusals_are_duis_errors():
    for bad in (b"", b"<!DOCTYPE a []><a/>", b"<a>"):
        with pytest.raises(DuisError):
            safexml.parse(bad)


# --- what XML allows but DUIS has no use for, and a parser may read more than one way -------------

DECLARED = '<?xml version="1.0" encoding="{}"?><a>x</a>'


@pytest.mark.parametrize("data", [
    DECLARED.format("UTF-8").encode("utf-16"),            # UTF-16 bytes (with BOM) under a UTF-8 declaration
    DECLARED.format("UTF-8").encode("utf-32"),
    DECLARED.format("UTF-16").encode("utf-8"),            # UTF-8 bytes under a UTF-16 declaration
    DECLARED.format("UTF-16").encode("utf-32"),
], ids=["utf16-as-utf8", "utf32-as-utf8", "utf8-as-utf16", "utf32-as-utf16"])
def test_bytes_in_another_encoding_than_declared_are_refused(data):
    with pytest.raises(MalformedXML, match="encoding the XML declaration names"):
        safexml.parse(data)


@pytest.mark.parametrize("data", [
    DECLARED.format("UTF-8").encode(), b"\xef\xbb\xbf" + DECLARED.format("UTF-8").encode(),
    DECLARED.format("UTF-16").encode("utf-16"), DECLARED.format("UTF-32").encode("utf-32"),
    "<a>x</a>".encode("utf-16"), DECLARED.format("ISO-8859-1").encode(),
], ids=["utf8", "utf8-bom", "utf16", "utf32", "utf16-undeclared", "latin1"])
def test_bytes_in_the_declared_encoding_are_read(data):
    assert safexml.parse(data).text == "x"


def test_processing_instructions_inside_the_document_element_are_refused():
    with pytest.raises(MalformedXML, match="processing instructions"):
        safexml.parse(b"<a><?p q?></a>")


@pytest.mark.parametrize("data", [b'<?xml version="1.0"?><?xml-stylesheet href="x"?><a/>', b"<a/><?p q?>"],
                         ids=["before-root", "after-root"])
def test_processing_instructions_outside_the_document_element_are_left_to_the_signature_check(data):
    """Well-formed: not malformed input (R4.2) but something the signature does not cover (R4.1):
    duis.signing.verify refuses it (tests/test_duis_signing.py)."""
    assert safexml.parse(data).tag == "a"
