"""HttpTarget: any implementation that speaks SPEC §5 (Target Interface v1) over HTTP.

Same seam as LocalTarget: a signed DUIS Request goes in, the DSP's signed Response comes back;
the final outcome is awaited by RequestID. Over HTTP that means:

- one `requests.Session`, explicit (connect, read) timeouts from the profile on every call;
- a Service Request is POSTed exactly once: no retry adapter, no redirects. A timeout or a lost
  connection is a `TargetFault`, never a second submission;
- final outcomes are pushed to the harness's callback receiver (adapters/callbacks.py), which is
  registered for each sender with PUT /api/v1/users/{UserID}/callback before its first request;
  GET /api/v1/responses/{RequestID} is polled as the fallback (from the start in "poll" mode),
  until the outcome timeout;
- every answer is decoded by the codec and, when the profile gives the DSP certificate (or says
  "from-test-support"), its signature verified; the target's codes are mapped to the SPEC's
  through the profile's [codes] table;
- anything that stops the harness judging the target (refused connection, timeout, HTTP 5xx or
  another unexpected status, an unparseable or unsigned answer, an outcome that never arrives)
  is a `TargetFault` with a one-line reason naming the RequestID and the URL.

`ServedReference` starts `python -m reference serve` on a free loopback port for one run.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
import tempfile
import time
from base64 import b64encode
from pathlib import Path
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from duis import codec, errors
from duis.messages import ServiceResponse
from smki import inspect as cert_inspect

from .callbacks import CallbackReceiver
from .fixtures import Fixture
from .profile import AUTO, FROM_TEST_SUPPORT, Profile
from .target import Acknowledgement, Capability, Outcome, TargetFault, TargetState

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
SERVICE_REQUEST = "/api/v1/serviceRequest"
RESPONSES = "/api/v1/responses/"
TEST_SUPPORT = "/test-support/v1"
XML = "application/xml"


def _one_line(text: object, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _statuses(ok) -> str:
    classes = sorted({f"{code // 100}xx" for code in ok})
    return " or ".join(map(str, ok)) if len(ok) <= 3 else " or ".join(classes)


def _connection_problem(exc: requests.RequestException) -> str:
    """What went wrong on the wire, in a few words."""
    if isinstance(exc, requests.ConnectTimeout):
        return "no connection within the connect timeout"
    if isinstance(exc, requests.ReadTimeout):
        return "no answer within the read timeout (the request was not re-sent)"
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused (is the target running?)"
    if any(sign in text for sign in ("RemoteDisconnected", "Connection aborted", "Connection reset")):
        return "the connection was closed before an answer came (the request was not re-sent)"
    return f"{type(exc).__name__}: {_one_line(text, 160)}"


class HttpTarget:
    name = "http"

    def __init__(self, base_url: str, profile: Profile) -> None:
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.name = self.base_url
        self.timeout = (profile.timeouts.connect, profile.timeouts.read)
        self.session = requests.Session()
        no_retry = HTTPAdapter(max_retries=Retry(total=0, connect=0, read=0, redirect=0, status=0, other=0,
                                                 raise_on_redirect=False, raise_on_status=False))
        self.session.mount("http://", no_retry)
        self.session.mount("https://", no_retry)
        self.session.headers["User-Agent"] = "mp107-harness"
        self.receiver: CallbackReceiver | None = None
        self._callbacks: dict[str, str] = {}      # User ID -> "registered" or why not
        self.callback_refusal: str | None = None  # the first refusal of callback registration: poll from then on
        self._cohorts: dict[str, str] | None = dict(profile.cohorts) or None
        try:
            self.test_support = self._detect_test_support()
            self.dsp_certificate = self._dsp_certificate()
            self.capabilities = self._capabilities()
            if profile.callbacks.mode == "push":
                cb = profile.callbacks
                self.receiver = CallbackReceiver(cb.listen_host, cb.listen_port, public_url=cb.url)
        except BaseException:
            self.session.close()
            raise

    # --- HTTP ---------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _call(self, method: str, path: str, *, rid: str | None = None, ok=(200,), **kwargs) -> requests.Response:
        """One HTTP exchange; anything but an `ok` status is a TargetFault."""
        url = self._url(path)
        who = f"{rid}: " if rid else ""
        try:
            answer = self.session.request(method, url, timeout=self.timeout, allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            raise TargetFault(f"{who}{method} {url}: {_connection_problem(exc)}") from None
        if answer.status_code not in ok:
            raise TargetFault(f"{who}{method} {url}: HTTP {answer.status_code} "
                              f"(expected {_statuses(ok)}): {_one_line(answer.text, 200) or 'no body'}")
        return answer

    def _json(self, method: str, path: str, body=None, **kwargs):
        answer = self._call(method, path, json=body, **kwargs)
        try:
            return answer.json()
        except ValueError:
            raise TargetFault(f"{method} {self._url(path)}: expected JSON, got "
                              f"{_one_line(answer.text, 120) or 'no body'}") from None

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
        wanted = self.profile.dsp_certificate
        if wanted == FROM_TEST_SUPPORT or (wanted == AUTO and self.test_support):
            if not self.test_support:
                raise TargetFault(f"the profile {self.profile.where()} takes the DSP certificate from test support, "
                                  f"which {self.base_url} does not offer")
            answer = self._call("GET", f"{TEST_SUPPORT}/dsp-certificate")
            try:
                return cert_inspect.as_certificate(answer.content)
            except ValueError as exc:
                raise TargetFault(f"GET {self._url(TEST_SUPPORT + '/dsp-certificate')}: expected a certificate "
                                  f"(PEM), got {_one_line(exc, 120)}") from None
        return None if wanted == AUTO else wanted

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

    def submit(self, request_id: str, signed_request: bytes) -> Acknowledgement:
        self._ensure_callback(request_id.split(":")[0], request_id)
        url = self._url(SERVICE_REQUEST)
        answer = self._call("POST", SERVICE_REQUEST, rid=request_id, ok=(200, *range(400, 500)), data=signed_request,
                            headers={"Content-Type": XML})
        if 400 <= answer.status_code < 500:
            return self._refusal(request_id, url, answer)
        try:
            response = codec.decode_response(answer.content, verify_with=self.dsp_certificate)
        except errors.SignatureInvalid as exc:
            raise TargetFault(f"{request_id}: POST {url}: HTTP {answer.status_code}, but the answer's signature "
                              f"does not verify against the DSP certificate: {_one_line(exc, 200)}") from exc
        except errors.DuisError as exc:
            raise TargetFault(f"{request_id}: POST {url}: HTTP {answer.status_code}, but the answer is not a "
                              f"usable DUIS Response: {type(exc).__name__}: {_one_line(exc, 200)}") from exc
        if not response.has_signature:   # checked above when the profile gives the DSP certificate
            raise TargetFault(f"{request_id}: POST {url}: HTTP {answer.status_code}, but the answer is not signed")
        if response.request_id is not None and str(response.request_id) != request_id:
            raise TargetFault(f"{request_id}: POST {url}: the answer is for RequestID {response.request_id}")
        response = self._mapped(response)
        return Acknowledgement(request_id, answer.status_code, answer.content, response, response.reason)

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
            problem = f"the body is not a usable signed DUIS Response: {type(exc).__name__}: {_one_line(exc, 200)}"
            return Acknowledgement(request_id, status, body, None, f"HTTP {status}: {_one_line(answer.text, 120)}",
                                   body_problem=problem)
        if not response.has_signature:
            return Acknowledgement(request_id, status, body, None, f"HTTP {status}",
                                   body_problem="the body is a DUIS Response but it is not signed")
        if response.request_id is not None and str(response.request_id) != request_id:
            return Acknowledgement(request_id, status, body, None, f"HTTP {status}",
                                   body_problem=f"the body answers RequestID {response.request_id}")
        response = self._mapped(response)
        return Acknowledgement(request_id, status, body, response, response.reason)

    def await_outcome(self, request_id: str, timeout: float) -> Outcome:
        deadline = time.monotonic() + timeout
        cb = self.profile.callbacks
        xml, source, polls = None, None, 0
        pushed = self.receiver is not None and self.callback_refusal is None
        if pushed:
            xml = self.receiver.wait(request_id, min(cb.poll_after, timeout))
            source = f"the callback to {self.receiver.url}"
        while xml is None and time.monotonic() < deadline:
            xml = self._poll(request_id)
            polls += 1
            if xml is not None:
                source = f"GET {self._url(RESPONSES + quote(request_id, safe=':'))}"
                break
            pause = min(cb.poll_interval, max(0.0, deadline - time.monotonic()))
            if pushed:
                xml = self.receiver.wait(request_id, pause)
                source = f"the callback to {self.receiver.url}"
            else:
                time.sleep(pause)
        if xml is None:
            where = f"nothing POSTed to {self.receiver.url}, " if pushed else ""
            refused = f"; the callback receiver refused: {self.receiver.refused[-1]}" \
                if self.receiver is not None and self.receiver.refused else ""
            raise TargetFault(f"{request_id}: no final outcome within {timeout:g} s ({where}GET "
                              f"{self._url(RESPONSES + quote(request_id, safe=':'))} answered 404 {polls} times){refused}")
        try:
            response = codec.decode_response(xml, verify_with=self.dsp_certificate)
        except errors.SignatureInvalid as exc:
            raise TargetFault(f"{request_id}: the final outcome from {source} does not verify against the DSP "
                              f"certificate: {_one_line(exc, 200)}") from exc
        except errors.DuisError as exc:
            raise TargetFault(f"{request_id}: the final outcome from {source} is not a usable DUIS Response: "
                              f"{type(exc).__name__}: {_one_line(exc, 200)}") from exc
        if not response.has_signature:
            raise TargetFault(f"{request_id}: the final outcome from {source} is not signed")
        if str(response.request_id) != request_id:
            raise TargetFault(f"{request_id}: the final outcome from {source} is for RequestID {response.request_id}")
        return Outcome(request_id, xml, self._mapped(response))

    def _poll(self, request_id: str) -> bytes | None:
        answer = self._call("GET", RESPONSES + quote(request_id, safe=":"), rid=request_id, ok=(200, 404))
        return answer.content if answer.status_code == 200 else None

    def _mapped(self, response: ServiceResponse) -> ServiceResponse:
        """The target's codes in the SPEC's words (profile [codes])."""
        if not self.profile.codes:
            return response
        alert = response.s1sp_alert
        if alert is not None:
            alert = dataclasses.replace(alert, code=self.profile.map_code(alert.code))
        return dataclasses.replace(response, response_code=self.profile.map_code(response.response_code),
                                   s1sp_alert=alert)

    def _ensure_callback(self, user_id: str, request_id: str) -> None:
        """Register the callback receiver for `user_id` once (SPEC §5 delivery). A target that
        refuses is still judged: its outcomes are then polled."""
        if self.receiver is None or user_id in self._callbacks:
            return
        if self.callback_refusal is not None:     # refused once: the target does not offer it; poll
            self._callbacks[user_id] = self.callback_refusal
            return
        path = f"/api/v1/users/{quote(user_id)}/callback"
        try:
            answer = self._call("PUT", path, rid=request_id, ok=tuple(range(200, 600)), json={"url": self.receiver.url})
        except TargetFault as exc:
            refusal = f"no answer: {exc}"
        else:
            if answer.status_code < 300:
                self._callbacks[user_id] = "registered"
                return
            refusal = f"HTTP {answer.status_code}" + (f": {_one_line(answer.text, 120)}" if answer.text.strip() else " (no body)")
        self.callback_refusal = refusal
        self._callbacks[user_id] = refusal
        log.warning("PUT %s: %s; callback registration is taken as not offered, outcomes are polled for the rest "
                    "of the run", self._url(path), refusal)

    def describe(self) -> dict:
        cert = self.dsp_certificate
        out = {"target": f"http {self.base_url}", "profile": self.profile.where(),
               "test_support": self.test_support,
               "capabilities": sorted(c.value for c in self.capabilities),
               "dsp_signature": (f"verified against the DSP certificate serial {cert_inspect.serial_hex(cert)} "
                                 f"(sha1 {cert_inspect.sha1_hex(cert)})" if cert is not None else "NOT verified"),
               "outcomes": (f"polled: callback registration refused ({self.callback_refusal})"
                            if self.callback_refusal is not None else
                            f"pushed to {self.receiver.url}, polled after {self.profile.callbacks.poll_after:g} s"
                            if self.receiver is not None else "polled"),
               "code_map": dict(self.profile.codes)}
        if self.test_support:
            try:
                out.update({k: v for k, v in self._json("GET", f"{TEST_SUPPORT}/state").items()
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
        Returns (report, IDs of the devices whose slots it changed), as LocalTarget does."""
        from reference.datafix import CellCount, DatafixReport, Unfixable
        answer = self._json("POST", f"{TEST_SUPPORT}/s1sps/{quote(s1sp)}/datafix", {"dry_run": bool(dry_run)})
        try:
            r = answer["report"]
            report = DatafixReport(r["mode"], r["database"], [CellCount(**c) for c in r["cells"]],
                                   [Unfixable(**u) for u in r["unfixable"]], r["slot_rows"], r.get("run_id"),
                                   r.get("started_at"), r.get("finished_at"), r.get("seconds"),
                                   [tuple(step) for step in r.get("steps") or []])
            return report, set(answer["fixed"])
        except (KeyError, TypeError) as exc:
            raise TargetFault(f"POST {self._url(TEST_SUPPORT + '/s1sps/' + s1sp + '/datafix')}: expected "
                              f'{{"report": {{...}}, "fixed": [...]}}, got {_one_line(answer, 160)} ({exc!r})') from None

    def cohort_of(self, s1sp: str) -> str:
        if self._cohorts is None and self.test_support:
            self._cohorts = dict(self._json("GET", f"{TEST_SUPPORT}/state").get("cohorts") or {})
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
        s = self._json("GET", f"{TEST_SUPPORT}/state")
        return TargetState(s.get("mp107_switch"), dict(s.get("s1sp_implemented") or {}))

    def reset(self) -> None:
        self._json("POST", f"{TEST_SUPPORT}/reset")
        self._callbacks.clear()       # a reset forgets the users, and their callback URLs with them

    def close(self) -> None:
        if self.receiver is not None:
            self.receiver.close()
        self.session.close()


# --- the reference, served for one run ------------------------------------------------------------

READY_PREFIX = "mp107-reference: serving Target Interface v1 at "   # reference/server/cli.py prints it


class ServedReference:
    """`python -m reference serve --port 0` (a free loopback port) as a subprocess, for one run.

        with ServedReference("--s1sp-not-implemented", "S1SP2") as base_url: ...

    Its output goes to `log_path` (a temporary file unless given), never to a pipe nobody reads."""

    def __init__(self, *args: str, test_support: bool = True, log_path: Path | None = None,
                 startup_timeout: float = 60.0) -> None:
        self.args = [*(["--test-support"] if test_support else []), *args]
        self.startup_timeout = startup_timeout
        self._own_log = log_path is None
        self.log_path = Path(log_path or tempfile.mkstemp(prefix="mp107-served-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None
        self.base_url: str | None = None

    def start(self) -> str:
        cmd = [sys.executable, "-m", "reference", "serve", "--port", "0", "--host", "127.0.0.1", *self.args]
        with open(self.log_path, "wb") as log_file:
            self.process = subprocess.Popen(cmd, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
            for line in text.splitlines():
                if line.startswith(READY_PREFIX):
                    self.base_url = line[len(READY_PREFIX):].split()[0]
                    return self.base_url
            if self.process.poll() is not None:
                raise RuntimeError(f"{' '.join(cmd)} exited with {self.process.returncode} before serving:\n{text[-2000:]}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{' '.join(cmd)} did not report serving within {self.startup_timeout:g} s; see {self.log_path}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def close(self) -> None:
        """Stop it; remove its log (a temporary file) unless it died on its own, which the log explains."""
        crashed = self.process is not None and self.process.poll() is not None
        self.stop()
        if self._own_log and not crashed:
            self.log_path.unlink(missing_ok=True)
        elif crashed:
            log.warning("the served reference exited with %s; its log: %s", self.process.returncode, self.log_path)

    def kill(self) -> None:
        """Simulate a crash: SIGKILL, no graceful shutdown."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
