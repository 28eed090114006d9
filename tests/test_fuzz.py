"""Property-based fuzzing (hypothesis) of what reads untrusted XML (MP107-R4.2).

(a) The codec's parser - duis.safexml.parse, duis.codec.decode_request / decode_response /
    decode_refusal, and signature verification - on arbitrary bytes and on structured mutations of
    real signed requests and responses (byte flips, truncations, insertions of XML-significant
    tokens, deletions, element deletions and duplications, new text values): it either returns or
    raises one of the codec's own DuisError subclasses, never anything else, and the error's message
    stays small whatever the input (the DSP echoes it in its refusal).
(b) The reference app's request endpoint, served in this process (adapters/reference_host.py): every
    mutated request - and every hostile kind of
    adapters/hostile.py - is answered with HTTP 200 (a signed Response: I99 or an E code) or a 4xx
    (a signed refusal, or no body), never a 5xx; an I99 gets its final outcome; and a valid request
    sent next still gets I99.

Bounded for CI (about 200 examples per parser property, 60 for the app; deadline off). Each run
draws a fresh seed; a failure prints it (MP107_FUZZ_SEED=...) and hypothesis's @reproduce_failure
blob. MP107_FUZZ_PROFILE=deep runs ten times as many examples.
"""
from __future__ import annotations

import os
import random
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, seed, settings
from hypothesis import strategies as st
from lxml import etree

from adapters import hostile, service_requests as srv
from adapters.client import Client
from adapters.reference_host import InProcessReference
from adapters.world import Cast, new_device
from duis import codec, errors, messages, safexml, signing
from duis.types import EUI64

pytestmark = pytest.mark.slow      # hypothesis fuzzing, hundreds of examples (quick loop: -m "not slow")

SHARED_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "duis" / "samples"

# --------------------------------------------------------------------------- run seed and profiles

RUN_SEED = int(os.environ.get("MP107_FUZZ_SEED") or random.SystemRandom().getrandbits(32))
REPRODUCE = (f"fuzz run seed {RUN_SEED}: reproduce with MP107_FUZZ_SEED={RUN_SEED} "
             f".venv/bin/python -m pytest tests/test_fuzz.py -p no:cacheprovider")
SCALE = {"ci": 1, "deep": 10}[os.environ.get("MP107_FUZZ_PROFILE", "ci")]
_COMMON = dict(deadline=None, derandomize=False, print_blob=True, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.large_base_example, HealthCheck.function_scoped_fixture])
settings.register_profile("mp107-fuzz-parser", max_examples=200 * SCALE, **_COMMON)
settings.register_profile("mp107-fuzz-app", max_examples=60 * SCALE, **_COMMON)
PARSER = settings.get_profile("mp107-fuzz-parser")
APP = settings.get_profile("mp107-fuzz-app")

MAX_ERROR_CHARS = 4096
"""The longest message a codec error may carry: the DSP puts it in its refusal."""
MAX_SECONDS = 5.0
"""One parse of one bounded input: linear-time parsing and validation take milliseconds."""


def fuzz(profile):
    """The run's seed (printed on failure) and the profile, on one test."""
    def decorate(test):
        return seed(RUN_SEED)(profile(test))
    return decorate


# --------------------------------------------------------------------------- real documents to mutate

class Corpus:
    """Real signed requests and responses (the cast's, a device's), built once per module."""

    def __init__(self) -> None:
        self.cast = Cast()
        self.setup = new_device(self.cast, fuel="electricity", smets=1, s1sp="S1SP1", cohort="IOC")
        self.client = Client(None)
        dsp = self.cast.smki.issue_xml_signing("90-B3-D5-1F-30-00-00-02", role_code="89")
        self.dsp_signer = signing.Signer(dsp.key, dsp.cert)

    def party(self, label):
        return self.cast.party(label, "electricity")

    @property
    def device_id(self) -> str:
        return self.setup.device.device_id

    def request(self, which: str) -> tuple[messages.ServiceRequest, signing.Signer]:
        """A correct request of one of three shapes, with a fresh counter, and its sender's signer."""
        path = self.cast.certification_path()
        if which == "6.21":
            sender = self.party("registered supplier")
            body = srv.handover(self.party("wrong network operator").certificate_pair(), path)
        elif which == "6.24.1":
            sender = self.party("registered network operator")
            body = srv.retrieve_security_credentials("NetworkOperator", "Supplier")
        else:
            sender = self.party("registered network operator")
            body = srv.update_security_credentials("NetworkOperator",
                                                   self.party("third network operator").certificate_pair(), path)
        return self.client.build(sender.user_id, self.device_id, which, body), sender.signer

    def signed(self, which: str) -> bytes:
        request, signer = self.request(which)
        return signing.sign(codec.encode_request(request), signer)

    def base(self) -> hostile.Base:
        """What adapters/hostile.py spoils: the registered NO's 6.15.1 handing its slot over."""
        request, signer = self.request("6.15.1")
        return hostile.Base(request=request, signed=hostile.signed(request, signer),
                            signer=signer, other_signer=self.party("wrong network operator").signer,
                            stranger_signer=hostile.stranger_signer(str(request.request_id.originator)),
                            other_certificates=self.party("wrong network operator").certificate_pair())

    def requests(self) -> list[bytes]:
        docs = [self.signed(w) for w in ("6.15.1", "6.21", "6.24.1")]
        docs.append(codec.encode_request(self.request("6.24.1")[0]))        # unsigned
        if SHARED_SAMPLES.is_dir():
            docs += [p.read_bytes() for p in sorted(SHARED_SAMPLES.glob("*_REQUEST_DUIS*.XML"))]
        return docs

    def responses(self) -> list[bytes]:
        now = datetime.now(timezone.utc)
        request, _ = self.request("6.24.1")
        rid, device, user = request.request_id, EUI64(self.device_id), request.request_id.originator
        operator = self.party("registered network operator")
        details = tuple(messages.RemotePartyDetail("NetworkOperator", usage, EUI64(eid), sha1, 0)
                        for usage, (eid, sha1) in operator.slot_entries().items())
        s1sp = self.cast.smki.issue_xml_signing("90-B3-D5-1F-30-00-00-11")
        s1sp_signer = signing.Signer(s1sp.key, s1sp.cert)
        unsigned = [
            codec.encode_acknowledgement(rid, "I99", "6.24.1", now),
            codec.encode_acknowledgement(rid, "E4", "6.24.1", now, reason="not registered"),
            codec.encode_refusal("E1", "MalformedXML: something", now),
            codec.encode_smets1_response(rid, device, user, "6.24.1",
                                         messages.RetrieveDeviceSecurityCredentialsKRPRsp(details), now, s1sp_signer),
            codec.encode_s1sp_alert(rid, device, "S1VE64", now, s1sp_signer, "not the owner"),
        ]
        docs = [signing.sign(d, self.dsp_signer) for d in unsigned]
        if SHARED_SAMPLES.is_dir():
            docs += [p.read_bytes() for p in sorted(SHARED_SAMPLES.glob("*response*.xml"))]
            docs.append((SHARED_SAMPLES / "acknowledgement-error.xml").read_bytes())
        return docs


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus()


# --------------------------------------------------------------------------- mutations

TOKENS = [b"<", b">", b"&", b"&amp;", b"&xxe;", b"&#0;", b"&#x110000;", b"<!DOCTYPE r [<!ENTITY a 'b'>]>",
          b"<!ENTITY", b"<![CDATA[", b"]]>", b"<!--", b"-->", b"<?pi x?>", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf",
          b"\xc3", b"\xf0\x9f\x92", "\u00e9\u2003\U0001f600".encode(), b"\r\n", b' xmlns="urn:x"',
          b' xmlns:sr="urn:x"', b" a='1'", b"<sr:Body/>", b"</sr:Body>", b"<ds:Signature/>", b"<x>" * 300,
          b"9" * 30, b"-1", b":", b"00-DB-00-00-00-00-00-01", b"6.15.1", b"NetworkOperator", b"Supplier"]


def _parsed(data: bytes):
    try:
        return etree.fromstring(data, parser=safexml._parser())
    except (etree.XMLSyntaxError, ValueError):
        return None


def _elements(root) -> list:
    return [el for el in root.iter() if isinstance(el.tag, str)]


@st.composite
def mutation(draw, data: bytes) -> bytes:
    """One structured change to `data`."""
    op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "drop_element", "duplicate_element",
                               "set_text", "add_attribute"]))
    if op in ("flip", "truncate", "insert", "delete") or not data:
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
        if op == "truncate":
            return data[:at]
        if op == "delete":
            return data[:at] + data[at + draw(st.integers(1, 64)):]
        piece = draw(st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=32)))
        return data[:at] + piece + data[at:]
    root = _parsed(data)
    if root is None:
        return data[: len(data) // 2]
    elements = _elements(root)
    el = elements[draw(st.integers(0, len(elements) - 1))]
    if op == "drop_element" and el.getparent() is not None:
        el.getparent().remove(el)
    elif op == "duplicate_element" and el.getparent() is not None:
        el.addnext(etree.fromstring(etree.tostring(el)))
    elif op == "set_text":
        try:
            el.text = draw(st.text(max_size=40))
        except ValueError:          # characters XML cannot hold
            el.text = "\ufffd"
    else:
        name = draw(st.sampled_from(["Id", "a", "{http://www.w3.org/XML/1998/namespace}lang", "schemaVersion"]))
        el.set(name, draw(st.text(alphabet=st.characters(codec="ascii", min_codepoint=32), max_size=20)))
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


@st.composite
def mutated(draw, documents: list[bytes]) -> bytes:
    data = draw(st.sampled_from(documents))
    for _ in range(draw(st.integers(1, 4))):
        data = draw(mutation(data))
    note(f"mutated document ({len(data)} bytes): {data[:300]!r}...")
    return data


def _codec_only(call, *args, **kwargs):
    """`call` returns, or raises a DuisError with a small message, quickly; anything else fails."""
    note(REPRODUCE)
    started = time.perf_counter()
    try:
        call(*args, **kwargs)
    except errors.DuisError as exc:
        assert len(str(exc)) <= MAX_ERROR_CHARS, f"{type(exc).__name__} message of {len(str(exc))} characters"
    seconds = time.perf_counter() - started
    assert seconds < MAX_SECONDS, f"{call.__name__} took {seconds:.1f} s"


# --------------------------------------------------------------------------- (a) the parser

@fuzz(PARSER)
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes_get_a_codec_error_or_a_document(data):
    _codec_only(safexml.parse, data)
    _codec_only(codec.decode_request, data)
    _codec_only(codec.decode_response, data)


@fuzz(PARSER)
@given(text=st.text(max_size=2048))
def test_arbitrary_text_as_utf8_gets_a_codec_error_or_a_document(text):
    data = text.encode("utf-8", "surrogatepass")
    _codec_only(safexml.parse, data)
    _codec_only(codec.decode_request, data)
    _codec_only(codec.decode_refusal, data)


@fuzz(PARSER)
@given(data=st.data())
def test_mutated_requests_get_a_codec_error_or_a_request(corpus, data):
    xml = data.draw(mutated(_requests(corpus)))
    _codec_only(codec.decode_request, xml)
    signer = corpus.party("registered network operator").signer
    _codec_only(signing.verify, xml, signer.cert)
    _codec_only(signing.signer_issuer_serial, xml)


@fuzz(PARSER)
@given(data=st.data())
def test_mutated_responses_get_a_codec_error_or_a_response(corpus, data):
    xml = data.draw(mutated(_responses(corpus)))
    _codec_only(codec.decode_response, xml)
    _codec_only(codec.decode_response, xml, verify_with=corpus.dsp_signer.cert)
    _codec_only(codec.decode_refusal, xml)
    _codec_only(codec.verify_nested, xml, corpus.dsp_signer.cert)


@fuzz(PARSER)
@given(name=st.sampled_from(sorted(hostile.MALFORMATIONS)))
def test_every_hostile_kind_gets_a_codec_error_or_a_request(corpus, name):
    kind = hostile.MALFORMATIONS[name]
    base = corpus.base()
    if kind.needs_earlier:
        earlier = corpus.signed("6.24.1")
        base = replace(base, earlier=(str(codec.decode_request(earlier).request_id), earlier))
    note(name)
    _codec_only(codec.decode_request, kind.spoil(base).xml)


_CACHE: dict[str, list[bytes]] = {}


def _requests(corpus) -> list[bytes]:
    return _CACHE.setdefault("requests", corpus.requests())


def _responses(corpus) -> list[bytes]:
    return _CACHE.setdefault("responses", corpus.responses())


# --------------------------------------------------------------------------- (b) the reference app

class App:
    """The reference DCC behind its HTTP app, served in this process, loaded with the corpus's cast and device."""

    def __init__(self, corpus: Corpus) -> None:
        import requests
        self.corpus = corpus
        self.host = InProcessReference()
        target = self.host.target()
        self.dcc = self.host.dcc
        target.provision(corpus.cast.fixture())
        target.provision(corpus.setup.fixture)
        self.http = requests.Session()
        self.url = self.host.base_url + "/api/v1/serviceRequest"

    def post(self, xml: bytes):
        return self.http.post(self.url, data=xml, headers={"Content-Type": "application/xml"}, timeout=30)

    def close(self) -> None:
        self.http.close()
        self.host.close()


@pytest.fixture(scope="module")
def app(corpus):
    the_app = App(corpus)
    yield the_app
    the_app.close()


def _answered_as_r42_wants(app: App, answer, what: str) -> None:
    """HTTP 200 with a signed Response (I99 or an E code; an I99's outcome arrives), or a 4xx with a
    signed refusal or no body; never a 5xx."""
    status, body, cert = answer.status_code, answer.content, app.dcc.dsp_certificate
    assert status == 200 or 400 <= status < 500, f"{what}: HTTP {status}: {body[:300]!r}"
    if 400 <= status < 500:
        if body.strip():
            refusal = codec.decode_refusal(body, verify_with=cert)
            assert refusal.response_code.startswith("E"), f"{what}: HTTP {status} with {refusal.response_code}"
        return
    response = codec.decode_response(body, verify_with=cert)
    assert response.response_code == "I99" or response.response_code.startswith("E"), \
        f"{what}: HTTP 200 with {response.response_code}"
    if response.response_code == "I99":
        outcome = app.dcc.outbox.wait(str(response.request_id), 10)
        assert outcome is not None, f"{what}: I99 for {response.request_id}, but its final outcome was lost"


def _still_serves(app: App) -> None:
    request, signer = app.corpus.request("6.24.1")
    answer = app.post(signing.sign(codec.encode_request(request), signer))
    assert answer.status_code == 200, f"a valid request after the mutated one: HTTP {answer.status_code}"
    ack = codec.decode_response(answer.content, verify_with=app.dcc.dsp_certificate)
    assert ack.response_code == "I99", f"a valid request after the mutated one: {ack.response_code} ({ack.reason})"


@fuzz(APP)
@given(which=st.sampled_from(["6.15.1", "6.21", "6.24.1"]), data=st.data())
def test_mutated_requests_never_get_a_5xx_and_leave_the_dsp_serving(app, which, data):
    note(REPRODUCE)
    xml = app.corpus.signed(which)
    for _ in range(data.draw(st.integers(1, 3))):
        xml = data.draw(mutation(xml))
    note(f"mutated SRV {which} ({len(xml)} bytes): {xml[:300]!r}...")
    _answered_as_r42_wants(app, app.post(xml), f"mutated SRV {which}")
    _still_serves(app)


@fuzz(APP)
@given(name=st.sampled_from(sorted(hostile.MALFORMATIONS)))
def test_hostile_kinds_never_get_a_5xx_and_leave_the_dsp_serving(app, name):
    note(REPRODUCE)
    note(name)
    kind = hostile.MALFORMATIONS[name]
    earlier = None
    if kind.needs_earlier:
        request, signer = app.corpus.request("6.24.1")
        xml = signing.sign(codec.encode_request(request), signer)
        _answered_as_r42_wants(app, app.post(xml), "the 6.24.1 accepted before")
        earlier = (str(request.request_id), xml)
    base = app.corpus.base()
    spoiled = kind.spoil(replace(base, earlier=earlier))
    _answered_as_r42_wants(app, app.post(spoiled.xml), name)
    _still_serves(app)
