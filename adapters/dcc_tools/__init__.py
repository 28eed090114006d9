"""The DCC's own DUIS tools, called from Python: the nearest thing to DCC Boxed that runs here.

Two npm packages the DCC publishes, installed by scripts/install-deps.sh at pinned versions into
``.cache/dcc-tools`` (or the folder ``$MP107_DCC_TOOLS`` names):

- ``@smartdcc/duis-sign-wrap`` ships ``dist/tool.jar``, the DCC's dccboxed-signing-tool (Java >= 11).
  ``uk.co.smartdcc.boxed.xmldsig.Validate FILE [CERT]`` checks a document against the DUIS schema it
  carries and its one ``ds:Signature`` (with CERT, or the ZAZ1 certificate whose serial the KeyInfo
  names); ``...Sign - [--preserveCounter] [CERT KEY]`` signs stdin as the ZAZ1 user the RequestID
  names (or with CERT and KEY). Exit codes: 0 done, 1 environment, 2 application error, 3 missing
  key material, 10 failed check. Two behaviours a caller must know, read from its source: a
  ``Response`` with no or more than one ``ds:Signature`` (a DSP's outcome carrying the S1SP's nested
  signature) exits 0 *without* checking any signature ("validation check skipped"): so a
  :class:`Validation` passes only when the tool said it checked the signature; and it parses with
  element-content whitespace ignored, so a signature over indented XML fails there (duis/wire.py).
- ``@smartdcc/duis-parser`` turns DUIS into JSON (``parseDuis('simplified', xml)``), through node.

Nothing here but :func:`harness_fields` (the harness's side of the comparison) imports the project: the tests (tests/test_dcc_tools.py, tests/test_dcc_tool_whole_run.py)
use it to check the harness and the reference against the DCC's tools. Every call has a timeout; a tool
that is missing raises :class:`ToolsMissing` saying what to install, which the tests turn into a skip
(or, with MP107_REQUIRE_DCC_TOOLS=1 as in CI, a failure).

Starting a JVM costs about 1 s of CPU, so :meth:`DccTools.validate_many` runs the tool's own
``Validate.main_aux`` on a whole list in one JVM (``ValidateMany.java`` beside this file, run by the
JDK's single-file source launcher, which Debian's headless JRE has).
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DccTools", "ToolsMissing", "ToolFailed", "Validation", "Signed", "Parsed", "harness_fields",
           "SIGN_WRAP", "DUIS_PARSER", "VERSIONS", "REQUIRE_ENV"]

SIGN_WRAP = "@smartdcc/duis-sign-wrap"
DUIS_PARSER = "@smartdcc/duis-parser"
VERSIONS = {SIGN_WRAP: "0.1.2", DUIS_PARSER: "0.6.0"}
"""the versions scripts/install-deps.sh pins, and the only ones accepted"""
REQUIRE_ENV = "MP107_REQUIRE_DCC_TOOLS"
"""set to 1 (CI does): a missing tool fails the tests that need it instead of skipping them"""
PACKAGE = "uk.co.smartdcc.boxed.xmldsig"
HERE = Path(__file__).resolve().parent
DEFAULT_HOME = HERE.parent.parent / ".cache" / "dcc-tools"
EXIT_MEANINGS = {0: "done", 1: "environment error", 2: "application error (e.g. unparseable input)",
                 3: "missing key material", 10: "validation failed"}
SIGNATURE_CHECKED = "[I] passed signature check"
SCHEMA_PASSED = "[I] passed xsd validation"


class ToolsMissing(RuntimeError):
    """java, node or one of the packages is not there (or not at the pinned version): says which and how to
    install it."""


class ToolFailed(RuntimeError):
    """A tool did not answer within its timeout, or answered something this module cannot read."""


@dataclass(frozen=True)
class Validation:
    """What ``Validate`` said about one document."""
    exit_code: int
    messages: tuple[str, ...]
    """its stderr, line by line ("[I] passed xsd validation", "[E] validation failed: ...")"""

    @property
    def schema_valid(self) -> bool:
        return SCHEMA_PASSED in self.messages

    @property
    def signature_checked(self) -> bool:
        """The tool verified the signature (not: skipped it, as it does for a Response without exactly one)."""
        return self.exit_code == 0 and SIGNATURE_CHECKED in self.messages

    @property
    def skipped(self) -> bool:
        """Exit 0 without a signature check: a Response with no, or more than one, ds:Signature."""
        return self.exit_code == 0 and SIGNATURE_CHECKED not in self.messages

    @property
    def ok(self) -> bool:
        """Schema-valid and its signature checked and valid."""
        return self.signature_checked

    def summary(self) -> str:
        meaning = EXIT_MEANINGS.get(self.exit_code, "unknown exit code")
        said = "; ".join(m for m in self.messages if not m.startswith("[I] certificate serial"))
        return f"exit {self.exit_code} ({meaning}): {said or 'nothing on stderr'}"


@dataclass(frozen=True)
class Signed:
    """What ``Sign -`` wrote: the signed document, or why not."""
    exit_code: int
    xml: bytes
    messages: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and bool(self.xml)


@dataclass(frozen=True)
class Parsed:
    """duis-parser's reading of one document (``parseDuis('simplified', ...)``), or its error."""
    duis: dict | None
    error: str | None = None

    @property
    def header(self) -> dict:
        return (self.duis or {}).get("header") or {}

    @property
    def body(self) -> dict:
        return (self.duis or {}).get("body") or {}

    def fields(self) -> dict:
        """The header fields the differential compares (see :func:`harness_fields`), as duis-parser reads
        them: its EUI-64s upper-cased; a response's ServiceReferenceVariant from its body's message (DUIS
        puts it there), None where the body names none (an S1SP alert)."""
        h = self.header
        rid = h.get("requestId") or {}
        out = {"originator": str(rid.get("originatorId", "")).upper(), "target": str(rid.get("targetId", "")).upper(),
               "counter": str(rid.get("counter"))}
        if h.get("type") == "request":
            cv, variant = h.get("commandVariant"), h.get("serviceReferenceVariant")
            out.update(command_variant=cv.get("number") if isinstance(cv, dict) else cv,
                       service_reference=h.get("serviceReference"),
                       srv=variant.get("Service Reference Variant") if isinstance(variant, dict) else variant)
        else:
            message = next(iter(self.body.values()), {}) if self.body else {}
            out.update(response_code=h.get("responseCode"),
                       srv=message.get("ServiceReferenceVariant") if isinstance(message, dict) else None)
        return out


def harness_fields(data: bytes, *, to_target: bool) -> dict:
    """The same header fields as the harness's codec reads them: a request's RequestID parts,
    CommandVariant, ServiceReference and ServiceReferenceVariant; a response's RequestID parts,
    ResponseCode and ServiceReferenceVariant (a refusal of unreadable input has only its ResponseCode). Raises duis.errors.DuisError where the codec does not read
    `data` as DUIS."""
    from duis import codec, errors
    if to_target:
        request = codec.decode_request(data, signed_pre_command=True)
        rid = request.request_id
        return {"originator": str(rid.originator), "target": str(rid.target), "counter": str(rid.counter),
                "command_variant": request.command_variant, "service_reference": request.service_reference,
                "srv": request.srv}
    try:
        response = codec.decode_response(data)
    except errors.SchemaInvalid:
        response = codec.decode_refusal(data)    # the answer to unreadable input (codec.encode_refusal)
    rid = response.request_id
    return {"originator": str(rid.originator) if rid else "", "target": str(rid.target) if rid else "",
            "counter": str(rid.counter) if rid else "None", "response_code": response.response_code,
            "srv": response.srv}


def _lines(raw: bytes) -> tuple[str, ...]:
    return tuple(line.strip() for line in raw.decode("utf-8", errors="replace").splitlines() if line.strip())


@dataclass
class DccTools:
    java: str
    node: str
    home: Path
    timeout: float = 60.0
    """seconds for one call (a batch gets this plus `per_item` for each document)"""
    per_item: float = 2.0
    calls: dict = field(default_factory=lambda: {"jvm_starts": 0, "node_starts": 0})
    """how many processes were started (the batching's effect, for figures)"""

    @property
    def jar(self) -> Path:
        return self.home / "node_modules" / SIGN_WRAP / "dist" / "tool.jar"

    @property
    def node_modules(self) -> Path:
        return self.home / "node_modules"

    @classmethod
    def find(cls, home: str | Path | None = None, **kwargs) -> "DccTools":
        """The tools in `home` (default $MP107_DCC_TOOLS, else .cache/dcc-tools of this checkout), with
        java and node from PATH. Raises ToolsMissing naming what is not there."""
        home = Path(home or os.environ.get("MP107_DCC_TOOLS") or DEFAULT_HOME)
        missing = []
        java, node = shutil.which("java"), shutil.which("node")
        if java is None:
            missing.append("java (Java >= 11: apt-get install default-jre-headless)")
        if node is None:
            missing.append("node (apt-get install nodejs)")
        for package, wanted in VERSIONS.items():
            manifest = home / "node_modules" / package / "package.json"
            try:
                got = json.loads(manifest.read_text(encoding="utf-8")).get("version")
            except (OSError, ValueError):
                missing.append(f"{package}@{wanted} (not in {home}/node_modules)")
                continue
            if got != wanted:
                missing.append(f"{package}@{wanted} ({home}/node_modules has {got})")
        if missing:
            raise ToolsMissing("the DCC's tools are not all installed: " + ", ".join(missing)
                               + " (scripts/install-deps.sh installs them)")
        tools = cls(java, node, home, **kwargs)
        if not tools.jar.is_file():
            raise ToolsMissing(f"{tools.jar} is missing from {SIGN_WRAP} (scripts/install-deps.sh installs it)")
        return tools

    # --- the signing tool --------------------------------------------------------------------

    def _java(self, args: list[str], stdin: bytes, timeout: float) -> subprocess.CompletedProcess:
        self.calls["jvm_starts"] += 1
        try:
            return subprocess.run([self.java, "-cp", str(self.jar), *args], input=stdin, capture_output=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ToolFailed(f"java {' '.join(args[:1])} gave no answer within {timeout:g} s (killed)") from None

    def validate(self, xml: bytes, certificate: bytes | None = None) -> Validation:
        """``Validate -`` (xml on stdin; the ZAZ1 certificate its KeyInfo's serial names), or with
        `certificate` (PEM) ``Validate FILE CERT``: that signer's certificate, whoever it is."""
        if certificate is None:
            done = self._java([f"{PACKAGE}.Validate", "-"], xml, self.timeout)
            return Validation(done.returncode, _lines(done.stderr))
        with tempfile.TemporaryDirectory(prefix="mp107-dcc-") as tmp:
            message, cert = Path(tmp) / "message.xml", Path(tmp) / "signer.pem"
            message.write_bytes(xml)
            cert.write_bytes(certificate)
            done = self._java([f"{PACKAGE}.Validate", str(message), str(cert)], b"", self.timeout)
        return Validation(done.returncode, _lines(done.stderr))

    def validate_many(self, items: list[tuple[bytes, bytes | None]]) -> list[Validation]:
        """``Validate FILE [CERT]`` for each (xml, certificate PEM or None), in as few JVMs as the tool
        allows (one, unless it ends the JVM itself on a document it cannot parse: then a new one goes
        on after that document). Results in the order given."""
        if not items:
            return []
        results: list[Validation | None] = [None] * len(items)
        with tempfile.TemporaryDirectory(prefix="mp107-dcc-") as tmp:
            folder = Path(tmp)
            certs: dict[bytes, Path] = {}
            lines = []
            for i, (xml, cert) in enumerate(items):
                path = folder / f"{i}.xml"
                path.write_bytes(xml)
                cert_path = ""
                if cert is not None:
                    if cert not in certs:
                        certs[cert] = folder / f"cert-{len(certs)}.pem"
                        certs[cert].write_bytes(cert)
                    cert_path = str(certs[cert])
                if "\t" in str(path) or "\n" in str(path) or "\t" in cert_path:
                    raise ToolFailed(f"a temporary path holds a tab or newline: {path}")
                lines.append(f"{path}\t{cert_path}")
            start = 0
            while start < len(items):
                batch = lines[start:]
                timeout = self.timeout + self.per_item * len(batch)
                done = self._java([str(HERE / "ValidateMany.java")], ("\n".join(batch) + "\n").encode(), timeout)
                got = 0
                for line in done.stdout.decode("utf-8", errors="replace").splitlines():
                    if not line.startswith("RESULT\t"):
                        continue
                    _, n, code, said = line.split("\t", 3)
                    results[start + int(n)] = Validation(int(code), _lines(base64.b64decode(said)))
                    got = int(n) + 1
                if got < len(batch):
                    if got == 0 and "ValidateMany.java" in done.stderr.decode("utf-8", errors="replace"):
                        raise ToolFailed(f"ValidateMany.java did not run: {_lines(done.stderr)[-5:]}")
                    if done.returncode == 0:
                        raise ToolFailed(f"ValidateMany stopped after {got} of {len(batch)} documents with exit 0: "
                                         f"{_lines(done.stderr)[-3:]}")
                    # the tool ended the JVM on document `got` itself: that is its answer for it
                    results[start + got] = Validation(done.returncode, _lines(done.stderr))
                    got += 1
                start += got
        return [r for r in results if r is not None]

    def sign(self, xml: bytes, *, preserve_counter: bool = True, certificate: bytes | None = None,
             key_pkcs8_der: bytes | None = None) -> Signed:
        """``Sign -``: the tool's signature on `xml`, as the ZAZ1 user its RequestID names, or with
        `certificate` (PEM) and `key_pkcs8_der`. `preserve_counter` keeps the RequestID's counter (the
        tool otherwise puts the current time in milliseconds there)."""
        args = [f"{PACKAGE}.Sign", "-"] + (["--preserveCounter"] if preserve_counter else [])
        if certificate is None:
            done = self._java(args, xml, self.timeout)
        else:
            if key_pkcs8_der is None:
                raise ValueError("a certificate to sign with needs its private key (PKCS#8 DER)")
            with tempfile.TemporaryDirectory(prefix="mp107-dcc-") as tmp:
                cert, key = Path(tmp) / "signer.pem", Path(tmp) / "signer.key"
                cert.write_bytes(certificate)
                key.write_bytes(key_pkcs8_der)
                done = self._java([*args, str(cert), str(key)], xml, self.timeout)
        return Signed(done.returncode, done.stdout, _lines(done.stderr))

    # --- the parser --------------------------------------------------------------------------

    def parse(self, documents: list[bytes]) -> list[Parsed]:
        """duis-parser's ``parseDuis('simplified', ...)`` on each document, in one node process."""
        if not documents:
            return []
        with tempfile.TemporaryDirectory(prefix="mp107-dcc-") as tmp:
            names = []
            for i, xml in enumerate(documents):
                path = Path(tmp) / f"{i}.xml"
                path.write_bytes(xml)
                names.append(str(path))
            self.calls["node_starts"] += 1
            timeout = self.timeout + 0.05 * len(documents)
            env = {**os.environ, "NODE_PATH": str(self.node_modules)}
            try:
                done = subprocess.run([self.node, str(HERE / "parse_duis.js")], input=json.dumps(names).encode(),
                                      capture_output=True, timeout=timeout, check=False, env=env)
            except subprocess.TimeoutExpired:
                raise ToolFailed(f"node (duis-parser) gave no answer within {timeout:g} s (killed)") from None
        lines = done.stdout.decode("utf-8", errors="replace").splitlines()
        if done.returncode != 0 or len(lines) != len(documents):
            raise ToolFailed(f"duis-parser: exit {done.returncode}, {len(lines)} answers for {len(documents)} "
                             f"documents: {_lines(done.stderr)[-5:]}")
        out = []
        for line in lines:
            answer = json.loads(line)
            out.append(Parsed(answer.get("duis"), answer.get("error")) if answer.get("ok")
                       else Parsed(None, answer.get("error") or "unknown error"))
        return out


def timed(call, *args, **kwargs):
    """(result, seconds) of one call: for the figures the tests print."""
    start = time.perf_counter()
    result = call(*args, **kwargs)
    return result, time.perf_counter() - start
