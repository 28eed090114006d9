"""HttpTarget: any implementation that speaks SPEC §5 (Target Interface v1) over HTTP.

The one Target: a signed DUIS Request goes in, the DSP's signed Response comes back;
the final outcome is awaited by RequestID. Over HTTP that means:

- one `requests.Session`, explicit (connect, read) timeouts from the profile on every call, and
  an overall deadline per exchange (`[timeouts].exchange`: connect, send and the whole answer,
  whatever the peer does) and a maximum answer size (`MAX_ANSWER_BYTES`): requests' read timeout
  bounds each socket read only, so a target dripping a byte at a time would otherwise hold the
  harness for ever. Answers are streamed and read in chunks; when the deadline passes, a watchdog
  shuts the exchange's socket down, and an answer over the size is cut off unread. Either is a
  `TargetFault`; the connection is never reused;
- a Service Request is POSTed exactly once: no retry adapter, no redirects. A timeout or a lost
  connection is a `TargetFault`, never a second submission;
- final outcomes are pushed to the harness's callback receiver (adapters/callbacks.py), which is
  registered for each sender with PUT /api/v1/users/{UserID}/callback before its first request;
  GET /api/v1/responses/{RequestID} is polled as the fallback (from the start in "poll" mode),
  until the outcome timeout;
- Target Interface v1.1: those calls carry an HTTP Message Signature (RFC 9421,
  httpsig/) by the user's XML-signing key (`register_signer`; the suite
  registers every party's before its first scenario, steps/interface.py): the callback
  registration as the sender, the poll as the request's Business Originator. A target that does
  not check them ignores them. A 401 or 403 to one user's registration stops only that user's
  pushes (its outcomes are polled); any other refusal means the target offers none (poll all);
- every answer is decoded by the codec and its signature verified against the DSP certificate
  (the profile's [target].dsp_certificate, or from test support). Verification is mandatory: a
  target with neither is refused at start unless pytest was given
  --insecure-skip-response-verification, which `describe()` (and so the report) then shows. A
  pushed outcome is verified by the callback receiver as it arrives, with the same certificate: the
  first verified one per RequestID wins and anything else is kept as evidence (adapters/callbacks.py);
- the target's codes are mapped to the SPEC's through the profile's [codes] table;
- a profile with `[target] dialect = "dcc"` (the DCC's own interface, as DCC Boxed exposes it) makes
  every submission take that interface's way (`self.dialect`, adapters/dcc_dialect.py): a 6.15.1 is
  transformed (serviceT), its Pre-Command signed with the sender's Organisation key
  (`register_organisation_key`) and sent back with Command Variant 5 (serviceS), each leg kept on the
  acknowledgement; anything else goes to serviceS. Outcomes then also arrive at a response endpoint
  configured at the DCC: without callback registration the receiver is waited on, not polled;
- anything that stops the harness judging the target (refused connection, timeout, HTTP 5xx or
  another unexpected status, an unparseable or unsigned answer, an outcome that never arrives)
  is a `TargetFault` with a one-line reason naming the RequestID and the URL.

The transport under it (deadlines, size limits) is adapters/transport.py; hosting the reference
for a run, adapters/reference_host.py.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import time
from base64 import b64encode
from urllib.parse import quote

import requests
import urllib3
from urllib3.util.retry import Retry

from duis import codec, errors
from duis.messages import ServiceResponse
from smki import inspect as cert_inspect

import httpsig as message_signatures
from .callbacks import CallbackReceiver, NotFinal
from .dcc_dialect import DccDialect
from .datafix import DatafixReport, DatafixReportError
from .fixtures import Fixture
from .profile import AUTO, FROM_TEST_SUPPORT, Profile
from .target import (Acknowledgement, Capability, Outcome, TargetFault, TargetState, not_a_final_outcome,
                     state_problem, unsigned_reason)
from .transport import Deadline, DeadlineAdapter, TooLarge, connection_problem, current, one_line, read_answer

log = logging.getLogger(__name__)

SERVICE_REQUEST = "/api/v1/serviceRequest"
RESPONSES = "/api/v1/responses/"
TEST_SUPPORT = "/test-support/v1"
XML = "application/xml"
MAX_ANSWER_BYTES = 16 * 1024 * 1024
"""the largest answer the harness reads; a larger one is cut off and the target is broken"""
INSECURE_OPTION = "--insecure-skip-response-verification"


def _statuses(ok) -> str:
    classes = sorted({f"{code // 100}xx" for code in ok})
    return " or ".join(map(str, ok)) if len(ok) <= 3 else " or ".join(classes)


def _snippet(body: bytes, limit: int = 200) -> str:
    """The start of a body, on one line, for a reason (never decodes more than needed)."""
    return one_line(body[: limit * 4].decode("utf-8", errors="replace"), limit)


class HttpTarget:
    name = "http"

    def __init__(self, base_url: str, profile: Profile, *, skip_response_verification: bool = False) -> None:
        """`skip_response_verification` (pytest --insecure-skip-response-verification): drive a target
        whose DSP certificate is unknown, taking every answer unverified (describe() says so). Without
        it, a target whose answers cannot be verified is refused at start."""
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.name = self.base_url
        self.skip_response_verification = skip_response_verification
        self.exchange_timeout = profile.timeouts.exchange
        self.timeout = (profile.timeouts.connect, min(profile.timeouts.read, self.exchange_timeout))
        self.session = requests.Session()
        no_retry = DeadlineAdapter(max_retries=Retry(total=0, connect=0, read=0, redirect=0, status=0, other=0,
                                                      raise_on_redirect=False, raise_on_status=False))
        self.session.mount("http://", no_retry)
        self.session.mount("https://", no_retry)
        self.session.headers["User-Agent"] = "mp107-harness"
        self.session.headers["Accept-Encoding"] = "identity"     # what comes is what is counted
        tls = profile.tls
        if tls is not None:           # SPEC §5 mutual TLS: present our certificate, trust only the profile's CAs
            self.session.cert = tls.client_pair
            self.session.verify = tls.verify
        self.receiver: CallbackReceiver | None = None
        self._callbacks: dict[str, str] = {}      # User ID -> "registered" or why not
        self._keys: dict[str, object] = {}        # User ID -> its XML-signing private key (v1.1 signatures)
        self._verified: dict[str, tuple[bytes, ServiceResponse]] = {}
        """RequestID -> (body, decoded Response) of a pushed outcome the receiver verified as it arrived"""
        self._not_final: dict[str, str] = {}
        """RequestID -> why the last answer a poll got for it was not a final outcome"""
        self.callback_refusal: str | None = None  # the first refusal of callback registration: poll from then on
        self._cohorts: dict[str, str] | None = dict(profile.cohorts) or None
        self.dialect: DccDialect | None = DccDialect(self) if profile.dialect == "dcc" else None
        """the DCC's own interface (profile [target] dialect = "dcc"): adapters/dcc_dialect.py; None: v1"""
        try:
            self.test_support = self._detect_test_support()
            self.dsp_certificate = self._dsp_certificate()
            self.capabilities = self._capabilities()
            if profile.callbacks.mode == "push":
                cb = profile.callbacks
                self.receiver = CallbackReceiver(cb.listen_host, cb.listen_port, public_url=cb.url,
                                                 verify=self._verify_pushed,
                                                 tls=tls.receiver_context() if tls is not None else None)
        except BaseException:
            self.session.close()
            raise

    # --- HTTP ---------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _call(self, method: str, path: str, *, rid: str | None = None, ok=(200,), **kwargs) -> requests.Response:
        """One HTTP exchange, whole answer read, within the exchange deadline and the size limit;
        anything but an `ok` status is a TargetFault."""
        url = self._url(path)
        who = f"{rid}: " if rid else ""
        seconds = self.exchange_timeout
        late = (f"{who}{method} {url}: no complete answer within {seconds:g} s (the connection was closed; "
                f"the request was not re-sent)")
        deadline = Deadline(seconds)
        current.deadline = deadline
        answer = None
        try:
            try:
                answer = self.session.request(method, url, timeout=self.timeout, allow_redirects=False, stream=True,
                                              verify=self.session.verify, **kwargs)   # not $REQUESTS_CA_BUNDLE's
                encoding = (answer.headers.get("Content-Encoding") or "identity").strip().lower()
                if encoding != "identity":
                    raise TargetFault(f"{who}{method} {url}: HTTP {answer.status_code} with Content-Encoding "
                                      f"{one_line(encoding, 40)}, although the harness asked for identity")
                body = read_answer(answer, MAX_ANSWER_BYTES)
            except TooLarge as exc:
                raise TargetFault(f"{who}{method} {url}: answer larger than {MAX_ANSWER_BYTES} bytes ({exc}; "
                                  f"the connection was closed)") from None
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                self._drop_connections()
                if deadline.expired:
                    raise TargetFault(late) from None
                if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
                    exc = requests.ReadTimeout(str(exc))
                raise TargetFault(f"{who}{method} {url}: {connection_problem(exc)}") from None
            if deadline.expired:        # an answer without a length, ended by the watchdog: not complete
                raise TargetFault(late)
            answer._content, answer._content_consumed = body, True
        finally:
            deadline.finish()
            current.deadline = None
            if answer is not None:
                if not answer._content_consumed:
                    answer.raw.close()      # cut off: the connection goes, never back to the pool
                answer.close()
        if answer.status_code >= 500:
            self._drop_connections()
        if answer.status_code not in ok:
            raise TargetFault(f"{who}{method} {url}: HTTP {answer.status_code} "
                              f"(expected {_statuses(ok)}): {_snippet(answer.content) or 'no body'}")
        return answer

    def _drop_connections(self) -> None:
        """Forget every pooled connection after a 5xx or a broken exchange: a server that failed may be
        closing the connection it answered on, and a request sent on it in the meantime would be lost
        with it (the harness never re-sends one). The next exchange connects afresh."""
        for adapter in self.session.adapters.values():
            adapter.close()

    def _json(self, method: str, path: str, body=None, **kwargs):
        answer = self._call(method, path, json=body, **kwargs)
        try:
            return answer.json()
        except (ValueError, RecursionError) as exc:
            why = "JSON nested too deeply to read" if isinstance(exc, RecursionError) else "JSON"
            raise TargetFault(f"{method} {self._url(path)}: expected {why}, got "
                              f"{_snippet(answer.content, 120) or 'no body'}") from None

    def _state(self) -> dict:
        """Test support's GET /state, of the shape the harness reads (else a TargetFault saying why)."""
        data = self._json("GET", f"{TEST_SUPPORT}/state")
        problem = state_problem(data)
        if problem is not None:
            raise TargetFault(f"GET {self._url(TEST_SUPPORT + '/state')}: {problem}")
        return data

    # --- set-up -------------------------------------------------------------------------------

    def _detect_test_support(self) -> bool:
        wanted = self.profile.test_support
        if wanted is False:
            return False
        answer = self._call("GET", f"{TEST_SUPPORT}/state", ok=(200, 404))
        if answer.status_code == 200:
            return True
        if wanted is True:
            raise TargetFault(f"GET {self._url(TEST_SUPPORT + '/state')}: HTTP 404, but the profile "
                              f"{self.profile.where()} says the target has test support (start it with --test-support, "
                              f"or set [capabilities].test_support = false)")
        return False

    def _dsp_certificate(self):
        """The certificate every answer is verified against. None only when verification was given
        up on purpose: --insecure-skip-response-verification, or a Profile built in code with
        dsp_certificate=None (a profile file cannot say that)."""
        wanted = self.profile.dsp_certificate
        if wanted == AUTO and not self.test_support:
            if self.skip_response_verification:
                log.warning("%s: answers are NOT verified (%s): %s gives no [target].dsp_certificate "
                            "and the target has no test support", self.base_url, INSECURE_OPTION, self.profile.where())
                return None
            raise TargetFault(f"{self.base_url}: refused to start: no DSP certificate to verify its answers with "
                              f"({self.profile.where()} gives no [target].dsp_certificate and the target "
                              f"has no test support to fetch it from); set [target].dsp_certificate to the DSP's "
                              f"response-signing certificate, or run with {INSECURE_OPTION} to judge it on "
                              f"unverified answers")
        if wanted is None:
            log.warning("%s: answers are NOT verified: the profile object sets dsp_certificate = None", self.base_url)
        if wanted == FROM_TEST_SUPPORT or (wanted == AUTO and self.test_support):
            if not self.test_support:
                raise TargetFault(f"the profile {self.profile.where()} takes the DSP certificate from test support, "
                                  f"which {self.base_url} does not offer")
            answer = self._call("GET", f"{TEST_SUPPORT}/dsp-certificate")
            try:
                return cert_inspect.as_certificate(answer.content)
            except ValueError as exc:
                raise TargetFault(f"GET {self._url(TEST_SUPPORT + '/dsp-certificate')}: expected a certificate "
                                  f"(PEM), got {one_line(exc, 120)}") from None
        return wanted

    def _capabilities(self) -> frozenset[Capability]:
        if not self.test_support:
            return frozenset()
        caps = {Capability.PROVISION, Capability.RESET}
        if self.profile.datafix is not False:
            caps.add(Capability.DATAFIX)
        if self.profile.switches is not False:
            caps.add(Capability.SWITCHES)
        return frozenset(caps)

    # --- the seam ---------------------------------------------------------------------------

    def submit(self, request_id: str, signed_request: bytes, **options) -> Acknowledgement:
        """`options` (the DCC's own interface only): `spoil`, an adapters.dcc_dialect.Spoil."""
        self._ensure_callback(request_id.split(":")[0], request_id)
        if self.dialect is not None:
            return self.dialect.submit(request_id, signed_request, **options)
        if options:
            raise ValueError(f"{sorted(options)}: only for the DCC's own interface ([target] dialect = \"dcc\"); "
                             f"{self.profile.where()} says v1")
        return self.submit_to(SERVICE_REQUEST, request_id, signed_request)

    def submit_to(self, path: str, request_id: str, signed_request: bytes) -> Acknowledgement:
        """POST a signed DUIS request to `path` once; the answer decoded, verified and mapped."""
        url = self._url(path)
        answer = self._call("POST", path, rid=request_id, ok=(200, *range(400, 500)), data=signed_request,
                            headers={"Content-Type": XML})
        if 400 <= answer.status_code < 500:
            return self._refusal(request_id, url, answer)
        try:
            response = codec.decode_response(answer.content, verify_with=self.dsp_certificate)
        except errors.SignatureInvalid as exc:
            raise TargetFault(f"{request_id}: POST {url}: HTTP {answer.status_code}, but the answer's signature "
                              f"does not verify against the DSP certificate: {one_line(exc, 200)}") from exc
        except errors.DuisError as exc:
            raise TargetFault(f"{request_id}: POST {url}: HTTP {answer.status_code}, but the answer is not a "
                              f"usable DUIS Response: {type(exc).__name__}: {one_line(exc, 200)}") from exc
        if not response.has_signature:   # checked above when the profile gives the DSP certificate
            raise TargetFault(f"{request_id}: POST {url}: HTTP {answer.status_code}, but the answer is not signed")
        if response.request_id is not None and str(response.request_id) != request_id:
            raise TargetFault(f"{request_id}: POST {url}: the answer is for RequestID {response.request_id}")
        response = self._mapped(response)
        return Acknowledgement(request_id, answer.status_code, answer.content, response,
                               unsigned_reason(response.reason))

    def _refusal(self, request_id: str, url: str, answer: requests.Response) -> Acknowledgement:
        """An HTTP 4xx: a refusal (SPEC §5). Its body, if any, should be a signed DUIS Response; a 4xx
        with no body (413 from a proxy, say) is still a refusal; a body that is something else is
        kept with the reason, for the step to judge (MP107-R4.2), never raised as a fault."""
        status, body = answer.status_code, answer.content
        if not body.strip():
            return Acknowledgement(request_id, status, body, None, f"HTTP {status} with no body")
        try:
            response = codec.decode_refusal(body, verify_with=self.dsp_certificate)
        except errors.DuisError as exc:
            problem = f"the body is not a usable signed DUIS Response: {type(exc).__name__}: {one_line(exc, 200)}"
            return Acknowledgement(request_id, status, body, None, f"HTTP {status}: {_snippet(body, 120)}",
                                   body_problem=problem)
        if not response.has_signature:
            return Acknowledgement(request_id, status, body, None, f"HTTP {status}",
                                   body_problem="the body is a DUIS Response but it is not signed")
        if response.request_id is not None and str(response.request_id) != request_id:
            return Acknowledgement(request_id, status, body, None, f"HTTP {status}",
                                   body_problem=f"the body answers RequestID {response.request_id}")
        response = self._mapped(response)
        return Acknowledgement(request_id, status, body, response, unsigned_reason(response.reason))

    def await_outcome(self, request_id: str, timeout: float) -> Outcome:
        deadline = time.monotonic() + timeout
        cb = self.profile.callbacks
        xml, source, polls = None, None, 0
        pushed = (self.receiver is not None and self.callback_refusal is None
                  and self._callbacks.get(request_id.split(":")[0], "registered") == "registered")
        configured = self.dialect is not None and self.receiver is not None and not pushed
        if configured:       # the DCC's own interface: the response endpoint is configured at the DCC, not
            pushed = True    # registered; wait for its POSTs, and poll only a target that offers polling
        polls_offered = not configured or self.callback_refusal is None
        if pushed:
            xml = self.receiver.wait(request_id, min(cb.poll_after, timeout))
            source = f"the callback to {self.receiver.url}"
        pauses = cb.poll_pauses()
        while xml is None and time.monotonic() < deadline:
            xml = self._poll(request_id) if polls_offered else None
            polls += polls_offered
            if xml is not None:
                source = f"GET {self._url(RESPONSES + quote(request_id, safe=':'))}"
                break
            pause = min(next(pauses), max(0.0, deadline - time.monotonic()))
            if pushed:
                xml = self.receiver.wait(request_id, pause)
                source = f"the callback to {self.receiver.url}"
            else:
                time.sleep(pause)
        if xml is None:
            where = f"no verified outcome POSTed to {self.receiver.url}, " if pushed else ""
            kept = self.receiver.evidence(request_id) if self.receiver is not None else []
            if kept:
                came = (f"; the callback receiver did not take {len(kept)} POSTed for it, the last from "
                        f"{kept[-1].sender}: it {kept[-1].reason}")
            elif request_id in self._not_final:
                came = f"; GET answered with a signed answer that {self._not_final.pop(request_id)}"
            elif self.receiver is not None and self.receiver.refused:
                came = f"; the callback receiver refused: {self.receiver.refused[-1]}"
            else:
                came = ""
            raise TargetFault(one_line(f"{request_id}: no final outcome within {timeout:g} s ({where}GET "
                                        f"{self._url(RESPONSES + quote(request_id, safe=':'))} answered 404 {polls} "
                                        f"times){came}", 600))
        verified = self._verified.pop(request_id, None)
        self._not_final.pop(request_id, None)
        try:
            if verified is not None and verified[0] == xml:    # the very bytes the receiver verified as they came
                response = verified[1]
            else:
                response = codec.decode_response(xml, verify_with=self.dsp_certificate)
        except errors.SignatureInvalid as exc:
            raise TargetFault(f"{request_id}: the final outcome from {source} does not verify against the DSP "
                              f"certificate: {one_line(exc, 200)}") from exc
        except errors.DuisError as exc:
            raise TargetFault(f"{request_id}: the final outcome from {source} is not a usable DUIS Response: "
                              f"{type(exc).__name__}: {one_line(exc, 200)}") from exc
        if not response.has_signature:
            raise TargetFault(f"{request_id}: the final outcome from {source} is not signed")
        if str(response.request_id) != request_id:
            raise TargetFault(f"{request_id}: the final outcome from {source} is for RequestID {response.request_id}")
        return Outcome(request_id, xml, self._mapped(response))

    def _verify_pushed(self, body: bytes) -> ServiceResponse:
        """The callback receiver's test of a pushed outcome (run as it arrives): a DUIS Response signed
        by the DSP, checked with the same certificate as every other answer. Raises a DuisError saying
        why not; returns the Response decoded (the receiver reads its RequestID from it)."""
        try:
            response = codec.decode_response(body, verify_with=self.dsp_certificate)
        except errors.SignatureInvalid as exc:
            raise errors.SignatureInvalid(f"does not verify against the DSP certificate: {one_line(exc, 200)}") \
                from None
        if not response.has_signature:
            raise errors.SignatureInvalid("is not signed")
        why = not_a_final_outcome(self._mapped(response))     # D1: an I99 or a Transform answer is no outcome
        if why is not None:
            raise NotFinal(why, response)
        if response.request_id is not None:
            self._verified[str(response.request_id)] = (body, response)   # await_outcome need not do it again
        return response

    def _poll(self, request_id: str) -> bytes | None:
        """The outcome GET answers, or None (404, or a verified answer that is not a final outcome: polled
        again; an answer that does not verify is returned, for await_outcome to judge)."""
        path = responses_path(request_id)
        answer = self._call("GET", path, rid=request_id, ok=(200, 404),
                            headers=self._signature("GET", path, request_id.split(":")[0], None))
        if answer.status_code != 200:
            return None
        try:
            self._verify_pushed(answer.content)
        except NotFinal as exc:
            self._not_final[request_id] = str(exc)
            return None
        except errors.DuisError:
            pass
        return answer.content

    def _mapped(self, response: ServiceResponse) -> ServiceResponse:
        """The target's codes in the SPEC's words (profile [codes])."""
        if not self.profile.codes:
            return response
        alert = response.s1sp_alert
        if alert is not None:
            alert = dataclasses.replace(alert, code=self.profile.map_code(alert.code))
        return dataclasses.replace(response, response_code=self.profile.map_code(response.response_code),
                                   s1sp_alert=alert)

    def _ensure_callback(self, user_id: str, request_id: str | None) -> None:
        """Register the callback receiver for `user_id` once (SPEC §5 delivery). A target that
        refuses is still judged: its outcomes are then polled."""
        if self.receiver is None or user_id in self._callbacks:
            return
        if self.callback_refusal is not None:     # refused once: the target does not offer it; poll
            self._callbacks[user_id] = self.callback_refusal
            return
        path = callback_path(user_id)
        try:
            answer = self.interface_call("PUT", path, user_id=user_id, body={"url": self.receiver.url}, rid=request_id)
        except TargetFault as exc:
            refusal = f"no answer: {exc}"
        else:
            if answer.status_code < 300:
                self._callbacks[user_id] = "registered"
                return
            refusal = f"HTTP {answer.status_code}" + (f": {_snippet(answer.content, 120)}" if answer.content.strip()
                                                      else " (no body)")
            if answer.status_code in (401, 403):     # v1.1: not this user (no key, not known): poll its outcomes
                self._callbacks[user_id] = refusal
                log.warning("PUT %s: %s; outcomes of %s are polled", self._url(path), refusal, user_id)
                return
        self.callback_refusal = refusal
        self._callbacks[user_id] = refusal
        log.warning("PUT %s: %s; callback registration is taken as not offered, outcomes are polled for the rest "
                    "of the run", self._url(path), refusal)

    # --- Target Interface v1.1: the signed calls around the service request ---------------------

    def register_signer(self, user_id: str, signer) -> None:
        """The XML-signing key that signs `user_id`'s callback and responses calls (SPEC §5 v1.1): a
        duis.signing.Signer, or the EC private key itself. A user without one is sent unsigned. On the
        DCC's own interface a Signer also signs the user's Signed Pre-Commands (Command Variant 5)."""
        self._keys[user_id] = getattr(signer, "key", signer)
        if self.dialect is not None:
            self.dialect.register_signer(user_id, signer)

    def register_organisation_key(self, user_id: str, key) -> None:
        """The DCC's own interface: the private key of `user_id`'s Organisation digital-signing certificate,
        which signs its Pre-Commands (ignored on Target Interface v1)."""
        if self.dialect is not None:
            self.dialect.register_organisation_key(user_id, key)

    def signs_for(self, user_id: str) -> bool:
        return user_id in self._keys

    def _signature(self, method: str, path: str, user_id: str | None, body: bytes | None) -> dict[str, str]:
        key = self._keys.get(user_id) if user_id else None
        if key is None:
            return {}
        return message_signatures.signature_headers(method, self._url(path), key=key, key_id=user_id, body=body)

    def interface_call(self, method: str, path: str, *, user_id: str | None, body=None, sign: bool = True,
                       rid: str | None = None) -> requests.Response:
        """One call of the v1.1 interface (`callback_path`, `responses_path`) as `user_id`: `body`
        (JSON-able) sent as JSON, signed with the user's key unless `sign` is false (or no key is
        registered). Any HTTP status comes back, for the caller to judge; no answer is a TargetFault."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        if sign:
            headers.update(self._signature(method, path, user_id, data))
        return self._call(method, path, rid=rid, ok=tuple(range(100, 600)), data=data, headers=headers)

    @property
    def callback_url(self) -> str | None:
        """The harness's callback receiver, as registered with the target (None in "poll" mode)."""
        return self.receiver.url if self.receiver is not None else None

    def ensure_callback(self, user_id: str) -> str:
        """Register the callback receiver for `user_id` now (if not yet): "registered", or why not."""
        if self.receiver is None:
            return "no callback receiver (poll mode)"
        self._ensure_callback(user_id, None)
        return self._callbacks.get(user_id, "not registered")

    def forget_callback(self, user_id: str) -> None:
        """Register `user_id`'s callback again before its next request (a scenario may have changed it)."""
        self._callbacks.pop(user_id, None)

    def describe(self) -> dict:
        cert = self.dsp_certificate
        if cert is not None:
            signature = (f"verified against the DSP certificate serial {cert_inspect.serial_hex(cert)} "
                         f"(sha1 {cert_inspect.sha1_hex(cert)})")
        elif self.profile.dsp_certificate is None:
            signature = "NOT verified (the profile sets dsp_certificate = None)"
        else:
            signature = f"NOT verified ({INSECURE_OPTION})"
        out = {"target": f"http {self.base_url}", "profile": self.profile.where(),
               "interface": ("the DCC's own (serviceT, serviceS, serviceD)" if self.dialect is not None
                             else "Target Interface v1 (serviceRequest)"),
               "test_support": self.test_support,
               "capabilities": sorted(c.value for c in self.capabilities),
               "dsp_signature": signature,
               "outcomes": (f"polled: callback registration refused ({self.callback_refusal})"
                            if self.callback_refusal is not None else
                            f"pushed to {self.receiver.url}, polled after {self.profile.callbacks.poll_after:g} s"
                            if self.receiver is not None else "polled"),
               "code_map": dict(self.profile.codes)}
        if self.test_support:
            try:
                out.update({k: v for k, v in self._state().items()
                            if k in ("mp107_switch", "s1sp_implemented", "cohorts")})
            except TargetFault as exc:
                out["state"] = str(exc)
        return out

    # --- capabilities (test support) ----------------------------------------------------------

    def provision(self, fixture: Fixture) -> None:
        body = {
            "users": [{"user_id": u.user_id, "roles": sorted(u.roles),
                       "xml_signing_certificate": b64encode(u.xml_signing_cert_der).decode()} for u in fixture.users],
            "trust_anchors": [{"certificate": b64encode(der).decode()} for der in fixture.trust_anchors_der],
            "devices": [{"device_id": d.device_id, "device_type": d.device_type, "smets": d.smets, "mpxn": d.mpxn,
                         "status": d.status, **({"s1sp": d.s1sp} if d.smets == 1 else {})} for d in fixture.devices],
            "registrations": [{"mpxn": r.mpxn, "fuel": r.fuel, "supplier_id": r.supplier_id,
                               "network_operator_id": r.network_operator_id} for r in fixture.registrations],
            "anchor_slots": [{"device_id": s.device_id, "remote_party_role": s.remote_party_role,
                              "digital_signing_certificate": b64encode(s.digital_signing_der).decode(),
                              "key_agreement_certificate": b64encode(s.key_agreement_der).decode()}
                             for s in fixture.slots],
            "no_certificates": [{"entity_id": n.entity_id, "usage": n.usage,
                                 "certificate": b64encode(n.certificate_der).decode()}
                                for n in fixture.no_certificates],
        }
        self._json("POST", f"{TEST_SUPPORT}/load", body)

    def run_datafix(self, s1sp: str, *, dry_run: bool = False):
        """The Requirement 2 data fix on `s1sp`'s database, through the reference's test support.
        Returns (report, IDs of the devices whose slots it changed)."""
        answer = self._json("POST", f"{TEST_SUPPORT}/s1sps/{quote(s1sp)}/datafix", {"dry_run": bool(dry_run)})
        try:
            return DatafixReport.from_dict(answer["report"]), set(answer["fixed"])
        except (KeyError, TypeError, DatafixReportError) as exc:
            raise TargetFault(f"POST {self._url(TEST_SUPPORT + '/s1sps/' + s1sp + '/datafix')}: expected "
                              f'{{"report": {{...}}, "fixed": [...]}}, got {one_line(answer, 160)} ({exc!r})') from None

    def cohort_of(self, s1sp: str) -> str:
        if self._cohorts is None and self.test_support:
            self._cohorts = dict(self._state().get("cohorts") or {})
        for cohort, name in (self._cohorts or {}).items():
            if name == s1sp:
                return cohort
        raise KeyError(f"no cohort is served by {s1sp} at {self.base_url} (cohorts: {self._cohorts})")

    def set_switch(self, on: bool) -> None:
        self._json("PUT", f"{TEST_SUPPORT}/switch", {"on": bool(on)})

    def set_s1sp_implemented(self, s1sp: str, implemented: bool) -> None:
        self._json("PUT", f"{TEST_SUPPORT}/s1sps/{quote(s1sp)}/implemented", {"implemented": bool(implemented)})

    def state(self) -> TargetState:
        if not self.test_support:
            return TargetState()          # not observable without test support
        s = self._state()
        return TargetState(s.get("mp107_switch"), dict(s.get("s1sp_implemented") or {}))

    def reset(self) -> None:
        self._json("POST", f"{TEST_SUPPORT}/reset")
        self._callbacks.clear()       # a reset forgets the users, and their callback URLs with them

    def close(self) -> None:
        if self.receiver is not None:
            self.receiver.close()
        self.session.close()


def callback_path(user_id: str) -> str:
    return f"/api/v1/users/{quote(user_id)}/callback"


def responses_path(request_id: str) -> str:
    return RESPONSES + quote(request_id, safe=":")


def outcome_for(body: bytes, request_id: str) -> bool:
    """Whether `body` is a DUIS Response for `request_id` (its signature not checked): what a
    refusal to show someone else's outcome must not be."""
    try:
        response = codec.decode_response(body)
    except (errors.DuisError, ValueError):
        return False
    return str(response.request_id) == request_id
