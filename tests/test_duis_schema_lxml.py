"""duis.schema on libxml2: the verdicts of the xmlschema package, linear on hostile input, thread-safe.

The schema workarounds are applied in memory only; the files of the schema folder are only read.
No timing assertions here: bench/bench_validation.py measures.
"""
from __future__ import annotations

import hashlib
import shutil
import threading

import pytest
from lxml import etree

from duis import codec, safexml, schema
from duis.errors import DuisConfigError, HostileXML, SchemaInvalid

SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"
NO_BY_NO = "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML"
MMC_LOCATION = b'schemaLocation="MMC Schema V5.4.xsd"'

# Every sample and what schema.validate made of it with the xmlschema package: accepted (then the
# local name of its document element: a Request or a Response), or the error it raised.
SAMPLES = {
    "CS02bNOByNOHandover_6.21_SUCCESS_REQUEST_DUIS.XML": "Request",
    "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML": "Request",
    "CS02bSupplierBySupplierHandover_6.21_SUCCESS_REQUEST_DUIS.XML": "Request",
    "CS02bSupplierBySupplier_6.15.1_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML": "Request",
    "CS02fMAC_6.24.1_SUCCESS_REQUEST_DUIS.XML": "Request",
    "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS-invalid.XML": SchemaInvalid,
    "acknowledgement-error.xml": "Response",
    "duis-xxe.xml": HostileXML,  # refused by safexml before any validation
    "readfw-response-badsignature.xml": "Response",  # schema-valid: the signature is another layer's business
    "readfw-response-no-signature.xml": "Response",
    "readfw-response-resigned.xml": "Response",
    "readfw-response.xml": "Response",
}

pytestmark = pytest.mark.usefixtures("shared_duis")


@pytest.fixture(scope="module")
def samples(shared_duis):
    return shared_duis / "samples"


@pytest.fixture(scope="module")
def template(samples) -> bytes:
    return (samples / NO_BY_NO).read_bytes()


def with_attributes(raw: bytes, count: int, element: bytes = b"<sr:Request ") -> bytes:
    """``raw`` with ``count`` undeclared attributes on the first ``element``."""
    attributes = b"".join(b' a%d="x"' % i for i in range(count))
    assert element in raw
    return raw.replace(element, element[:-1] + attributes + element[-1:], 1)


def verdict(raw: bytes):
    try:
        return etree.QName(schema.validate(raw)).localname
    except (SchemaInvalid, HostileXML) as exc:
        return type(exc)


# ----------------------------------------------------------------------------- the samples


def test_every_sample_is_listed(samples):
    assert sorted(p.name for p in samples.iterdir()) == sorted(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_samples_keep_their_verdict(samples, name):
    assert verdict((samples / name).read_bytes()) == SAMPLES[name]


def test_the_invalid_sample_names_its_first_problem(samples):
    with pytest.raises(SchemaInvalid) as info:
        schema.validate((samples / "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS-invalid.XML").read_bytes())
    assert info.value.path == "/sr:Request/sr:Header/sr:RequestID"
    assert "pattern" in info.value.reason and "::1000" in info.value.reason
    assert "(line 4)" in info.value.reason


@pytest.fixture(scope="module")
def old_validator(shared_duis):
    """The xmlschema package, as duis.schema used it before: the oracle of the verdicts."""
    xmlschema = pytest.importorskip("xmlschema")
    return xmlschema.XMLSchema(str(shared_duis / "schema" / schema.SCHEMA_FILE), allow="local")


MUTATIONS = {
    "base64 with a character outside the alphabet": lambda raw: raw.replace(b"<sr:Certificate>", b"<sr:Certificate>!!", 1),
    "base64 with whitespace inside": lambda raw: raw.replace(b"<sr:Certificate>MII", b"<sr:Certificate>MII \n ", 1),
    "base64 of a wrong length": lambda raw: raw.replace(b"<sr:Certificate>MII", b"<sr:Certificate>MI", 1),
    "a RequestID with a bad EUI-64": lambda raw: raw.replace(b"90-B3-D5-1F-30-02-00-00:", b"ZZ-B3-D5-1F-30-02-00-00:"),
    "an unknown Service Reference Variant": lambda raw: raw.replace(b">6.15.1<", b">99.99.9<"),
    "an unknown role": lambda raw: raw.replace(b">NetworkOperator<", b">Nobody<"),
    "no schemaVersion": lambda raw: raw.replace(b'schemaVersion="5.4"', b""),
    "a missing header element": lambda raw: raw.replace(b"<sr:CommandVariant>4</sr:CommandVariant>", b""),
    "an undeclared element": lambda raw: raw.replace(b"</sr:CommandVariant>", b"</sr:CommandVariant><sr:Foo/>"),
    "the default namespace": lambda raw: raw.replace(b"sr:", b"").replace(b"xmlns:sr=", b"xmlns="),
}
RESPONSE_MUTATIONS = {
    "a date-time with surrounding whitespace": lambda raw: raw.replace(b"<sr:ResponseDateTime>", b"<sr:ResponseDateTime>\n  ")
    .replace(b"</sr:ResponseDateTime>", b" \n</sr:ResponseDateTime>"),
    "a date-time with a bad day": lambda raw: raw.replace(b"<sr:ResponseDateTime>2022-08-17", b"<sr:ResponseDateTime>2022-02-30"),
    "a signature value that is not base64": lambda raw: raw.replace(b"<ds:SignatureValue>", b"<ds:SignatureValue>#"),
}


def _old_verdict(old_validator, raw: bytes):
    root = safexml.parse(raw)
    return etree.QName(root).localname if old_validator.is_valid(root) else SchemaInvalid


@pytest.mark.parametrize("name", sorted(n for n, v in SAMPLES.items() if v is not HostileXML))
def test_samples_get_the_verdict_of_xmlschema(old_validator, samples, name):
    raw = (samples / name).read_bytes()
    assert verdict(raw) == _old_verdict(old_validator, raw)


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_mutated_requests_get_the_verdict_of_xmlschema(old_validator, template, mutation):
    raw = MUTATIONS[mutation](template)
    assert raw != template
    assert verdict(raw) == _old_verdict(old_validator, raw)


@pytest.mark.parametrize("mutation", sorted(RESPONSE_MUTATIONS))
def test_mutated_responses_get_the_verdict_of_xmlschema(old_validator, samples, mutation):
    original = (samples / "readfw-response.xml").read_bytes()
    raw = RESPONSE_MUTATIONS[mutation](original)
    assert raw != original
    assert verdict(raw) == _old_verdict(old_validator, raw)


def test_base64_with_a_stray_character_is_refused(template):
    # libxml2 alone skips characters outside the base64 alphabet; the in-memory adaptation refuses them.
    with pytest.raises(SchemaInvalid) as info:
        schema.validate(MUTATIONS["base64 with a character outside the alphabet"](template))
    assert info.value.path.endswith("/sr:CertificationPathCertificates/sr:Certificate")
    assert "'!!MII" in info.value.reason


def test_date_errors_name_the_built_in_type(samples):
    raw = RESPONSE_MUTATIONS["a date-time with a bad day"]((samples / "readfw-response.xml").read_bytes())
    with pytest.raises(SchemaInvalid) as info:
        schema.validate(raw)
    assert info.value.path == "/sr:Response/sr:Header/sr:ResponseDateTime"
    assert "'xs:dateTime'" in info.value.reason and "libxml2" not in info.value.reason


@pytest.mark.parametrize("value", ["1_000", "1\u0663", "\uff11"])
def test_integers_are_ascii_digits_only(template, value):
    # The xmlschema package accepted these (Python's int() does); XML Schema does not.
    raw = template.replace(b"<sr:RemotePartyFloorSeqNumber>", b"<sr:RemotePartyFloorSeqNumber>" + value.encode(), 1)
    with pytest.raises(SchemaInvalid, match="RemotePartyFloorSeqNumber"):
        schema.validate(raw)


def test_paths_use_the_duis_prefixes_whatever_the_sender_chose(template):
    raw = MUTATIONS["the default namespace"](template).replace(b"<CommandVariant>4<", b"<CommandVariant>x<")
    with pytest.raises(SchemaInvalid) as info:
        schema.validate(raw)
    assert info.value.path == "/sr:Request/sr:Header/sr:CommandVariant"
    assert "'x'" in info.value.reason and "(line 5)" in info.value.reason


def test_repeated_siblings_are_numbered(template):
    root = safexml.parse(template)
    certificates = root.find(f"{SR}Body/{SR}UpdateSecurityCredentialsKRP/{SR}CertificationPathCertificates")
    extra = etree.SubElement(certificates, f"{SR}Certificate")
    extra.text = "!!"
    error = schema.validator().first_error(root)
    assert error.path.endswith(f"/sr:CertificationPathCertificates/sr:Certificate[{len(certificates)}]")
    assert error.line is None, "an element built in memory has no source line"


def test_an_element_is_validated_as_the_document(template):
    root = safexml.parse(template)
    header = root.find(f"{SR}Header")
    with pytest.raises(SchemaInvalid, match="No matching global declaration"):
        schema.validate(header)
    assert header.getparent() is root, "the tree is left as it was"


def test_entity_references_are_refused_as_schema_invalid_not_a_crash(samples):
    # safexml refuses such documents; a tree that holds entity references anyway gets a DUIS error.
    root = safexml._parse_unchecked((samples / "duis-xxe.xml").read_bytes())
    with pytest.raises(SchemaInvalid, match="entity"):
        schema.validate(root)


def test_instance_schema_locations_are_ignored(tmp_path):
    other = tmp_path / "other.xsd"
    other.write_text('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:other">'
                     '<xs:element name="a" type="xs:string"/></xs:schema>')
    raw = (f'<o:a xmlns:o="urn:other" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           f'xsi:schemaLocation="urn:other {other.as_uri()}">x</o:a>').encode()
    with pytest.raises(SchemaInvalid, match="No matching global declaration"):
        schema.validate(raw)


# ----------------------------------------------------------------------------- hostile input


@pytest.mark.parametrize("count", [5_000, 50_000])
def test_a_request_with_many_attributes_is_refused(template, count):
    raw = with_attributes(template, count)
    assert len(raw) < safexml.DEFAULT_MAX_BYTES, "the attributes, not the size limit, are what is refused"
    with pytest.raises(SchemaInvalid) as info:
        schema.validate(raw)
    assert info.value.path == "/sr:Request"
    assert "'a0'" in info.value.reason and "not allowed" in info.value.reason


def test_many_attributes_on_a_nested_element_are_refused_by_the_codec(template):
    with pytest.raises(SchemaInvalid, match="/sr:Request/sr:Header/sr:RequestID"):
        codec.decode_request(with_attributes(template, 5_000, b"<sr:RequestID>"))


def test_a_hostile_document_leaves_no_errors_behind(template):
    validator = schema.validator()
    assert len(list(validator.iter_errors(safexml.parse(with_attributes(template, 5_000))))) == 5_000
    assert list(validator.iter_errors(safexml.parse(template))) == []


# ----------------------------------------------------------------------------- compiling


def _folder_state(folder):
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


@pytest.fixture
def schema_copy(shared_duis, tmp_path):
    folder = tmp_path / "schema"
    shutil.copytree(shared_duis / "schema", folder)
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


def test_the_schema_location_workaround_is_in_memory_only(schema_copy, template):
    before = _folder_state(schema_copy)
    assert MMC_LOCATION in (schema_copy / schema.SCHEMA_FILE).read_bytes()

    compiled = schema.DuisSchema(schema_copy / schema.SCHEMA_FILE)  # a fresh compile, not the cached one
    document = schema.schema_document(schema_copy / schema.SCHEMA_FILE)

    imports = [el.get("schemaLocation") for el in document.iterchildren("{http://www.w3.org/2001/XMLSchema}import")]
    assert "MMC%20Schema%20V5.4.xsd" in imports
    assert _folder_state(schema_copy) == before, "no file of the schema folder was written, added or removed"
    assert MMC_LOCATION in (schema_copy / schema.SCHEMA_FILE).read_bytes()
    assert compiled.first_error(safexml.parse(template)) is None


def test_the_shared_schema_files_are_unchanged(shared_duis):
    folder = shared_duis / "schema"
    before = _folder_state(folder)
    schema.DuisSchema(folder / schema.SCHEMA_FILE)
    assert _folder_state(folder) == before
    assert MMC_LOCATION in (folder / schema.SCHEMA_FILE).read_bytes()


def test_the_adapted_types_are_added_in_memory(shared_duis):
    document = schema.schema_document(shared_duis / "schema" / schema.SCHEMA_FILE)
    names = {el.get("name") for el in document.iterchildren("{http://www.w3.org/2001/XMLSchema}simpleType")}
    assert {"base64Binary.libxml2", "dateTime.libxml2"} <= names
    assert b"base64Binary.libxml2" not in (shared_duis / "schema" / schema.SCHEMA_FILE).read_bytes()


def test_a_fresh_compile_gives_the_same_verdicts(schema_copy, samples):
    compiled = schema.DuisSchema(schema_copy)
    for name, expected in SAMPLES.items():
        if expected is HostileXML:
            continue
        error = compiled.first_error(safexml.parse((samples / name).read_bytes()))
        assert (error is None) == (expected is not SchemaInvalid), name


def test_imports_from_the_network_are_refused(schema_copy):
    main = schema_copy / schema.SCHEMA_FILE
    main.write_bytes(main.read_bytes().replace(MMC_LOCATION, b'schemaLocation="http://127.0.0.1:9/MMC.xsd"'))
    with pytest.raises(DuisConfigError, match="not on local disk"):
        schema.DuisSchema(main)


def test_a_missing_import_is_a_config_error(schema_copy):
    (schema_copy / "MMC Schema V5.4.xsd").unlink()
    with pytest.raises(DuisConfigError, match="expected a compilable DUIS Schema V5.4"):
        schema.DuisSchema(schema_copy)


def test_the_validator_is_compiled_once_per_folder():
    first = schema.validator()
    assert isinstance(first, schema.DuisSchema)
    assert schema.validator(schema.schema_dir()) is first


# ----------------------------------------------------------------------------- threads


def test_concurrent_validations_each_get_their_own_verdict(template):
    validator = schema.validator()
    documents = {
        "valid": (safexml.parse(template), None),
        "role": (safexml.parse(MUTATIONS["an unknown role"](template)), "/sr:Request/sr:Body/sr:UpdateSecurityCredentialsKRP/sr:RemotePartyRole"),
        "variant": (safexml.parse(MUTATIONS["an unknown Service Reference Variant"](template)), "/sr:Request/sr:Header/sr:ServiceReferenceVariant"),
        "attributes": (safexml.parse(with_attributes(template, 200)), "/sr:Request"),
    }
    wrong: list[str] = []
    start = threading.Barrier(8)

    def work(name):
        root, expected = documents[name]
        start.wait()
        for _ in range(150):
            error = validator.first_error(root)
            got = None if error is None else error.path
            if got != expected:
                wrong.append(f"{name}: expected {expected}, got {got}")

    threads = [threading.Thread(target=work, args=(name,)) for name in list(documents) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
