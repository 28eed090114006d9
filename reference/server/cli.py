"""`python -m reference serve`: the reference DCC as an HTTP server (SPEC §5, Target Interface v1).

    python -m reference serve --port 8800 [--host 127.0.0.1] [--interface v1|dcc]
        [--test-support [--test-support-token TOKEN]]
        [--body-timeout SECONDS] [--max-connections N]
        [--s1sp-not-implemented S1SP2 ...] [--switch on|off] [--load FILE] [--duis-xsd DIR]
        [--break RULE ...] [--defect NAME ...]
        [--dsp-certificate-out FILE] [--data-dir DIR] [--access-log]
        [--dsp-key FILE --dsp-certificate FILE] [--max-request-bytes N] [--oversize 400|413-empty]
        [--callbacks registration|501] [--code-table FILE] [--run-datafix-at-start]
        [--callback-allow HOST_OR_CIDR ...]
        [--tls-certificate FILE --tls-key FILE [--tls-client-ca FILE]] [--callback-ca FILE]

HTTPS (SPEC §5: mutual TLS "for anything else"): --tls-certificate and --tls-key (PEM) serve HTTPS;
--tls-client-ca (PEM CA bundle) then also requires every client to present a certificate issued by
one of those CAs, refused in the TLS handshake otherwise. The same certificate and key are the DCC's
client certificate when it POSTs outcomes to an https:// callback URL, whose server certificate is
verified against --callback-ca (default: --tls-client-ca, else the system's CAs).

The last group serves the reference as a *foreign target* (docs/reference.md): pre-provisioned
(--load, no --test-support), a fixed DSP key a profile can name, and the deviations seen in real
DCCs (413 without a body, no callback registration, its own code table, the data fix already run).

It listens on 127.0.0.1 unless --host says otherwise. Test support lets anyone who can reach the port
rewrite the DCC's data: on any address that is not loopback it refuses to start (exit 2) unless given a
token (--test-support-token, or $MP107_TEST_SUPPORT_TOKEN), and then every /test-support call must carry
`Authorization: Bearer TOKEN` (HTTP 401 otherwise). On loopback a token is optional, and enforced if
given. A request's head (request line and headers) must arrive within --body-timeout seconds of the
connection or of the previous answer (else the connection is closed), and its whole body within
--body-timeout seconds of its start (default 10; else HTTP 408), and so must a TLS handshake; at most
--max-connections connections are open at once (default 2048: beyond it the oldest one waiting for a
request head is closed; reference/server/protocol.py); an idle kept-alive connection is closed
after 5 s. With --port 0 the system picks a free port.
Once it accepts connections it prints one line to stdout:

    mp107-reference: serving Target Interface v1 at http://127.0.0.1:PORT (test support on)

(https:// with --tls-certificate; with `; defects: NAME, ...` inside the brackets when --defect
switched any on, `; mutual TLS` when --tls-client-ca asks clients for a certificate)

which is what scripts (and `pytest --target serve`) wait for. Ctrl-C or SIGTERM stops it.

--interface dcc serves the DCC's own interface, as DCC Boxed does, in place of serviceRequest: POST
/api/v1/serviceT (a Critical request with Command Variant 4 -> I0 and its GBCS Pre-Command), /serviceS
(the user's Signed Pre-Command with Command Variant 5, or a device request with Command Variant 1-3)
and /serviceD (reference/server/dcc_interface.py, reference/critical.py); the READY line then says
`interface dcc` inside the brackets. Outcomes go to the callback a user registered (v1.1), as in v1.
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

READY_PREFIX = "mp107-reference: serving Target Interface v1 at "
DATAFIX_PREFIX = "mp107-reference: data fix at start on "
DEFAULT_SCHEMA_DIR = Path(__file__).resolve().parents[3] / "shared" / "duis" / "schema"
CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
PROG = "python -m reference serve"
TOKEN_ENVIRONMENT = "MP107_TEST_SUPPORT_TOKEN"
TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")
"""RFC 6750 b64token: what an `Authorization: Bearer` header can carry."""
MIN_TOKEN_CHARS = 16
KEEP_ALIVE_SECONDS = 5
"""uvicorn's timeout_keep_alive: an idle connection between requests is closed after this."""


class StartError(Exception):
    """A start option that cannot be used (exit code 2, one line saying why)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..config import S1SPS
    parser.add_argument("--port", type=int, default=8800, help="TCP port (0: any free port; default 8800)")
    parser.add_argument("--host", default=None,
                        help="address to listen on (default 127.0.0.1; give e.g. 0.0.0.0 explicitly to expose it)")
    from .dcc_interface import DIALECTS
    parser.add_argument("--interface", choices=DIALECTS, default="v1",
                        help="v1 (default): Target Interface v1, POST /api/v1/serviceRequest, Critical requests "
                             "completed by the DCC; dcc: the DCC's own interface as DCC Boxed exposes it, POST "
                             "/api/v1/serviceT (transform, Command Variant 4 -> Pre-Command), /api/v1/serviceS "
                             "(Signed Pre-Command, Command Variant 5; device requests) and /api/v1/serviceD")
    parser.add_argument("--test-support", action="store_true",
                        help="serve the test-support API under /test-support/v1 (load data, switches, reset)")
    parser.add_argument("--test-support-token", metavar="TOKEN", default=None,
                        help=f"every test-support call must carry 'Authorization: Bearer TOKEN' (default "
                             f"${TOKEN_ENVIRONMENT}); needed to serve test support on a non-loopback --host; at "
                             f"least {MIN_TOKEN_CHARS} characters of A-Z a-z 0-9 . _ ~ + / -")
    from .app import BODY_TIMEOUT
    parser.add_argument("--body-timeout", type=float, default=BODY_TIMEOUT, metavar="SECONDS",
                        help=f"a request's whole body must arrive within this many seconds of its start, else "
                             f"HTTP 408 (default {BODY_TIMEOUT:g}); a request head and a TLS handshake too")
    from .protocol import MAX_CONNECTIONS
    parser.add_argument("--max-connections", type=int, default=MAX_CONNECTIONS, metavar="N",
                        help=f"connections open at once; beyond it the oldest one waiting for a request head is "
                             f"closed (default {MAX_CONNECTIONS})")
    parser.add_argument("--s1sp-not-implemented", nargs="+", action="extend", default=[], choices=S1SPS,
                        metavar="S1SP", help="S1SPs that have NOT implemented MP107 (they still raise S1VE4)")
    parser.add_argument("--outcome-delay", type=_seconds, default=0.0, metavar="SECONDS",
                        help="seconds between a request's acknowledgement and its final outcome, as a real DCC's "
                             "S1SP and device take (SPEC §5 Latency); other requests are not held up (default 0)")
    parser.add_argument("--switch", choices=("on", "off"), default="on", help="the DSP feature switch at start (default on)")
    parser.add_argument("--break", dest="broken", action="append", default=[], metavar="RULE",
                        help="serve with this rule of reference/rules.py deliberately broken (repeatable), to show "
                             "that the suite's verdict fails where it must")
    parser.add_argument("--defect", dest="defects", action="append", default=[], metavar="NAME",
                        help="serve with this realistic defect of reference/defects.py switched on (repeatable): a "
                             "mistake a DSP, S1SP or data-fix team could make, to show the suite catches it")
    parser.add_argument("--load", type=Path, metavar="FILE",
                        help="JSON file in the test-support 'load' shape (users, trust_anchors, devices, registrations, "
                             "anchor_slots, no_certificates) loaded at start (with or without --test-support) and "
                             "again after each test-support reset")
    parser.add_argument("--duis-xsd", type=Path, metavar="DIR",
                        help="folder holding 'DUIS Schema V5.4.xsd' (default $DUIS_SCHEMA_DIR, else ../shared/duis/schema)")
    parser.add_argument("--dsp-certificate-out", type=Path, metavar="FILE",
                        help="write the DSP's response-signing certificate (PEM) here at start, for a profile's "
                             "[target].dsp_certificate when the target runs without test support")
    parser.add_argument("--data-dir", type=Path, help="where the S1SPs keep their SQLite databases (default: a temporary folder)")
    parser.add_argument("--access-log", action="store_true", help="log every HTTP request")
    parser.add_argument("--callback-allow", action="append", default=[], metavar="HOST_OR_CIDR",
                        help="Target Interface v1.1: a callback URL host the DCC may POST outcomes to although it "
                             "is loopback, link-local or private (repeatable): a host name, an address or a CIDR, "
                             "e.g. 127.0.0.1 for a harness on this machine. Callback and responses calls always "
                             "need an HTTP Message Signature (RFC 9421) by the user's XML-signing key")
    tls = parser.add_argument_group("HTTPS and mutual TLS (SPEC §5)")
    tls.add_argument("--tls-certificate", type=Path, metavar="FILE",
                     help="serve HTTPS with this certificate (PEM, chain after it if any); needs --tls-key. Also the "
                          "client certificate presented to an https:// callback URL")
    tls.add_argument("--tls-key", type=Path, metavar="FILE", help="the private key (PEM) of --tls-certificate")
    tls.add_argument("--tls-client-ca", type=Path, metavar="FILE",
                     help="mutual TLS: every client must present a certificate issued by a CA in this PEM bundle "
                          "(refused in the TLS handshake otherwise); needs --tls-certificate")
    tls.add_argument("--callback-ca", type=Path, metavar="FILE",
                     help="PEM CA bundle an https:// callback URL's server certificate is verified against (default: "
                          "--tls-client-ca if given, else the system's CAs)")
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    from .app import CALLBACK_MODES, MAX_REQUEST_BYTES, OVERSIZE_ANSWERS
    foreign = parser.add_argument_group(
        "serving as a foreign target",
        "how an independent DCC looks to the harness: pre-provisioned with --load (no --test-support), "
        "signing with a key its profile names, and with deviations seen in the field")
    foreign.add_argument("--dsp-key", type=Path, metavar="FILE",
                         help="the DSP's response-signing EC P-256 private key (PEM or DER) instead of a fresh one "
                              "per start; needs --dsp-certificate")
    foreign.add_argument("--dsp-certificate", type=Path, metavar="FILE",
                         help="the certificate (PEM or DER) of --dsp-key, for a profile's [target].dsp_certificate; "
                              "needs --dsp-key")
    foreign.add_argument("--max-request-bytes", type=int, default=MAX_REQUEST_BYTES, metavar="N",
                         help=f"largest Service Request body read (default {MAX_REQUEST_BYTES}); a larger one is "
                              "answered as --oversize says")
    foreign.add_argument("--oversize", choices=OVERSIZE_ANSWERS, default="400",
                         help="answer to a Service Request body over --max-request-bytes: 400 (default) a signed "
                              "DUIS refusal (E1) with HTTP 400; 413-empty HTTP 413 with no body")
    foreign.add_argument("--callbacks", choices=CALLBACK_MODES, default="registration",
                         help="registration (default): PUT/GET/DELETE /api/v1/users/{UserID}/callback work; "
                              "501: they answer HTTP 501 with no body, and outcomes are only readable with "
                              "GET /api/v1/responses/{RequestID}")
    foreign.add_argument("--code-table", type=Path, metavar="FILE",
                         help='JSON object SPEC code -> this DCC\'s own code, e.g. {"E4": "E004", '
                              '"S1VE64": "S1VE064"}, applied to every code it emits (ResponseCode, '
                              "S1SPAlertCode); codes not in it are sent unchanged")
    foreign.add_argument("--run-datafix-at-start", action="store_true",
                         help="after --load, run the Requirement 2 data fix on every S1SP's database before "
                              "serving, as the DCC's operator would (and again after a test-support reset); "
                              "prints one line per S1SP with the devices found and fixed")


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        with serving(args) as served:
            served.server.run()
            return 0 if served.server.started else 1
    except StartError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds >= 0, got {text!r}")
    return value


def parse(argv: list[str]) -> argparse.Namespace:
    """`python -m reference serve`'s options from `argv` (for serving in another program's process,
    e.g. the harness's in-process target); a bad option raises ValueError with argparse's message."""
    parser = _Parser(prog=PROG)
    add_arguments(parser)
    return parser.parse_args(argv)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise ValueError(f"{self.prog}: {message}")


@dataclass
class Served:
    """What `serving` prepared: the uvicorn server (not yet running), the DCC behind it and the
    one-line note the READY line carries."""
    server: object
    dcc: object
    note: str


@contextmanager
def serving(args: argparse.Namespace, *, announce: bool = True) -> Iterator[Served]:
    """Everything `serve` does before uvicorn runs: check the options (a bad one raises StartError,
    one line saying why), compile the schema, build the DCC and its app. The DCC is closed on exit.
    `announce`: print the READY line once it accepts connections (what scripts wait for)."""
    if args.duis_xsd:
        os.environ["DUIS_SCHEMA_DIR"] = str(args.duis_xsd.resolve())
    elif "DUIS_SCHEMA_DIR" not in os.environ and DEFAULT_SCHEMA_DIR.is_dir():
        os.environ["DUIS_SCHEMA_DIR"] = str(DEFAULT_SCHEMA_DIR)
    host = args.host or "127.0.0.1"
    token = _test_support_token(args, host)
    if not 0 < args.body_timeout < float("inf"):
        raise StartError(f"--body-timeout: expected a positive number of seconds, got {args.body_timeout:g}")
    if args.max_connections < 1:
        raise StartError(f"--max-connections: expected a positive number, got {args.max_connections}")

    from duis import errors, schema
    try:
        schema.validator()        # compile the DUIS schema now (libxml2: some 25 ms), not on the first request
    except errors.DuisConfigError as exc:
        raise StartError(str(exc)) from None
    load = _json_file(args.load, "--load") if args.load else None
    dsp_signer = _dsp_signer(args.dsp_key, args.dsp_certificate)
    code_table = _code_table(args.code_table) if args.code_table else None
    if args.max_request_bytes < 1:
        raise StartError(f"--max-request-bytes: expected a positive number of bytes, got {args.max_request_bytes}")
    from .auth import Policy
    try:
        interface = Policy(callback_allow=tuple(args.callback_allow))
    except ValueError as exc:
        raise StartError(f"--callback-allow: {exc}") from None
    tls_options, callback_tls = _tls(args)

    import uvicorn

    from ..config import S1SPS, ReferenceConfig
    from ..dcc import ReferenceDCC
    from .app import create_app
    from .test_support import BadInput

    from ..rules import all_rule_names
    unknown = sorted(set(args.broken) - set(all_rule_names()))
    if unknown:
        raise StartError(f"--break {unknown[0]}: no such rule; the rules are {all_rule_names()}")
    from ..defects import all_defect_names, unknown as unknown_defects
    unknown = unknown_defects(args.defects)
    if unknown:
        raise StartError(f"--defect {unknown[0]}: no such defect; the defects are {all_defect_names()}")
    config = ReferenceConfig(mp107_switch=args.switch == "on", broken=frozenset(args.broken),
                             s1sp_implemented={s: s not in args.s1sp_not_implemented for s in S1SPS},
                             defects=frozenset(args.defects), outcome_delay=args.outcome_delay)
    dcc = ReferenceDCC(config, data_dir=args.data_dir, dsp_signer=dsp_signer, code_table=code_table)
    from .callbacks import CallbackDelivery
    delivery = CallbackDelivery(tls_context=callback_tls) if callback_tls is not None else None   # else the app's own
    try:
        if args.dsp_certificate_out:
            from cryptography.hazmat.primitives import serialization
            args.dsp_certificate_out.write_bytes(dcc.dsp_certificate.public_bytes(serialization.Encoding.PEM))
        try:
            app = create_app(dcc, test_support=args.test_support, load=load,
                             max_request_bytes=args.max_request_bytes, oversize=args.oversize,
                             callbacks=args.callbacks, datafix_at_start=args.run_datafix_at_start,
                             body_timeout=args.body_timeout, test_support_token=token,
                             interface=interface, delivery=delivery, dialect=args.interface,
                             test_support_loopback_only=args.test_support and token is None)
        except BadInput as exc:
            raise StartError(f"--load {args.load}: {exc}") from None
        for name, (report, fixed) in app.state.service.datafix_results.items():
            total = report.total
            print(f"{DATAFIX_PREFIX}{name}: found {total.found}, fixed {total.fixed}, "
                  f"not fixable {len(report.unfixable)} (run {report.run_id})", flush=True)
        notes = ["test support on" if args.test_support else "test support off"]
        if args.interface != "v1":
            notes.append(f"interface {args.interface}")
        if token:
            notes.append("test support needs its bearer token")
        if args.callbacks != "registration":
            notes.append(f"callbacks {args.callbacks}")
        if args.oversize != "400":
            notes.append(f"oversize {args.oversize} over {args.max_request_bytes} bytes")
        if code_table:
            notes.append(f"{len(code_table)} codes mapped")
        if config.broken:
            notes.append(f"broken: {', '.join(sorted(config.broken))}")
        if config.defects:
            notes.append(f"defects: {', '.join(sorted(config.defects))}")
        if tls_options.get("ssl_ca_certs"):
            notes.append("mutual TLS")
        note = "; ".join(notes)
        from .app import MAX_HEAD_BYTES
        from .protocol import with_head_deadline
        _enough_file_descriptors(args.max_connections)
        server = _Server(uvicorn.Config(app, host=host, port=args.port, log_level=args.log_level,
                                        access_log=args.access_log, timeout_graceful_shutdown=3,
                                        timeout_keep_alive=KEEP_ALIVE_SECONDS,
                                        # a head still incomplete beyond twice the head limit is refused
                                        # unparsed; a complete one, by the app's one limit (_HeadChecks)
                                        h11_max_incomplete_event_size=2 * MAX_HEAD_BYTES,
                                        http=with_head_deadline(args.body_timeout,
                                                                max_connections=args.max_connections),
                                        **tls_options),
                         note=note, announce=announce, handshake_timeout=args.body_timeout)
        yield Served(server, dcc, note)
    finally:
        if delivery is not None:        # ours, not the app's: the app closes only the one it made
            delivery.close()
        dcc.close()


def is_loopback(host: str) -> bool:
    """Whether `host` (an --host value) is a loopback address, or the name localhost. Anything else,
    a name included, is taken to be reachable from elsewhere."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _test_support_token(args: argparse.Namespace, host: str) -> str | None:
    """The test-support bearer token (--test-support-token, else $MP107_TEST_SUPPORT_TOKEN; None when
    neither): refuses test support on a non-loopback host without one, and a token a header cannot carry."""
    token = args.test_support_token if args.test_support_token is not None else os.environ.get(TOKEN_ENVIRONMENT)
    where = "--test-support-token" if args.test_support_token is not None else f"${TOKEN_ENVIRONMENT}"
    if not args.test_support:
        if args.test_support_token is not None:
            print(f"{PROG}: warning: --test-support-token is ignored without --test-support", file=sys.stderr)
        return None
    if token is not None and token.strip() == "" and args.test_support_token is None:
        token = None                      # an empty environment variable is no token
    if token is None:
        if not is_loopback(host):
            raise StartError(f"--test-support on --host {host}: test support lets anyone who can reach the port "
                              f"rewrite the DCC's users, devices and switches, so off loopback it needs a token: "
                              f"give --test-support-token TOKEN (or ${TOKEN_ENVIRONMENT}), at least "
                              f"{MIN_TOKEN_CHARS} characters; calls then carry 'Authorization: Bearer TOKEN'")
        return None
    if not TOKEN.fullmatch(token) or len(token) < MIN_TOKEN_CHARS:
        raise StartError(f"{where}: expected at least {MIN_TOKEN_CHARS} characters of A-Z a-z 0-9 . _ ~ + / - "
                          f"(then '=' only at the end), as an 'Authorization: Bearer' header carries them; got "
                          f"{len(token)} characters{'' if TOKEN.fullmatch(token) else ' with others among them'}")
    return token


def _json_file(path: Path, option: str):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StartError(f"{option} {path}: expected a readable JSON file, got {exc}") from None


def _dsp_signer(key_path: Path | None, cert_path: Path | None):
    """The DSP's fixed signing identity from --dsp-key and --dsp-certificate (both or neither)."""
    if key_path is None and cert_path is None:
        return None
    if key_path is None or cert_path is None:
        given, missing = ("--dsp-key", "--dsp-certificate") if cert_path is None else ("--dsp-certificate", "--dsp-key")
        raise StartError(f"{given}: expected {missing} too (both or neither), got only {given}")
    from cryptography.hazmat.primitives.asymmetric import ec

    from duis import signing
    from duis.errors import DuisError
    try:
        key = signing.load_private_key(key_path.read_bytes())
    except (OSError, DuisError) as exc:
        raise StartError(f"--dsp-key {key_path}: expected an EC P-256 private key (PEM or DER), got {exc}") from None
    if not isinstance(key.curve, ec.SECP256R1):
        raise StartError(f"--dsp-key {key_path}: expected an EC P-256 private key, got curve {key.curve.name}")
    try:
        cert = signing.load_certificate(cert_path.read_bytes())
    except (OSError, DuisError) as exc:
        raise StartError(f"--dsp-certificate {cert_path}: expected an X.509 certificate (PEM or DER), got {exc}") from None
    try:
        return signing.Signer(key, cert)
    except DuisError as exc:
        raise StartError(f"--dsp-key {key_path} / --dsp-certificate {cert_path}: {exc}") from None


class _EncryptedKey(Exception):
    pass


def _encrypted_key() -> bytes:
    raise _EncryptedKey      # asked for a password: never prompt on a terminal, say so instead


def _ssl_text(exc: Exception) -> str:
    """An OSError or ssl.SSLError in a few words: '[X509: KEY_VALUES_MISMATCH] key values mismatch'."""
    import ssl
    if isinstance(exc, _EncryptedKey):
        return "an encrypted key (give it unencrypted)"
    text = str(exc) if isinstance(exc, ssl.SSLError) else getattr(exc, "strerror", None) or str(exc)
    return re.sub(r"\s*\(_ssl\.c:\d+\)$", "", text) or type(exc).__name__


def _tls(args: argparse.Namespace):
    """uvicorn's ssl_* options from --tls-certificate, --tls-key and --tls-client-ca ({}: plain HTTP),
    and the TLS client context outcome deliveries use (--callback-ca, else --tls-client-ca, and the DCC's
    certificate as client certificate; None when no TLS option was given: the system's CAs, no client
    certificate). Every file is loaded here, so a bad one is a one-line StartError, not uvicorn's traceback."""
    import ssl
    cert, key, client_ca = args.tls_certificate, args.tls_key, args.tls_client_ca
    if (cert is None) != (key is None):
        given, missing = ("--tls-certificate", "--tls-key") if key is None else ("--tls-key", "--tls-certificate")
        raise StartError(f"{given}: expected {missing} too (both or neither), got only {given}")
    if client_ca is not None and cert is None:
        raise StartError("--tls-client-ca: expected --tls-certificate and --tls-key too (mutual TLS is HTTPS), "
                         "got neither")
    options: dict = {}
    if cert is not None:
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            server.load_cert_chain(cert, key, password=_encrypted_key)
        except (OSError, ssl.SSLError, _EncryptedKey) as exc:
            raise StartError(f"--tls-certificate {cert} / --tls-key {key}: expected a PEM certificate and its "
                             f"unencrypted PEM private key, got {_ssl_text(exc)}") from None
        options = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
        if client_ca is not None:
            try:
                server.load_verify_locations(cafile=str(client_ca))
            except (OSError, ssl.SSLError) as exc:
                raise StartError(f"--tls-client-ca {client_ca}: expected a PEM bundle of CA certificates, got "
                                 f"{_ssl_text(exc)}") from None
            options.update(ssl_ca_certs=str(client_ca), ssl_cert_reqs=ssl.CERT_REQUIRED)
    callback_ca = args.callback_ca or client_ca
    if callback_ca is None and cert is None:
        return options, None
    from .callbacks import client_tls_context
    try:
        context = client_tls_context(str(callback_ca) if callback_ca else None)
    except (OSError, ssl.SSLError) as exc:
        option = "--callback-ca" if args.callback_ca else "--tls-client-ca"
        raise StartError(f"{option} {callback_ca}: expected a PEM bundle of CA certificates, got "
                         f"{_ssl_text(exc)}") from None
    if cert is not None:
        context.load_cert_chain(cert, key)      # loaded above already
    return options, context


def _code_table(path: Path) -> dict[str, str]:
    table = _json_file(path, "--code-table")
    if not isinstance(table, dict):
        raise StartError(f'--code-table {path}: expected a JSON object of SPEC code -> own code, e.g. '
                          f'{{"E4": "E004"}}, got {type(table).__name__}')
    for spec_code, own in table.items():
        if not CODE.fullmatch(spec_code) or not isinstance(own, str) or not CODE.fullmatch(own):
            raise StartError(f"--code-table {path}: expected codes like \"E4\": \"E004\" (a letter, then letters, "
                              f"digits, '_', '.', '-'), got {spec_code!r}: {own!r}")
    return dict(table)


def _enough_file_descriptors(connections: int) -> None:
    """Raise this process's soft limit of open files (up to its hard limit) so that the connection cap,
    not the file descriptors, is what runs out first; say so if it cannot."""
    try:
        import resource
    except ImportError:            # not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + 512
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        except (ValueError, OSError):
            new = soft
        if new < wanted:
            print(f"{PROG}: warning: {new} open files allowed (ulimit -n); the connection cap of {connections} "
                  f"needs about {wanted}", file=sys.stderr)


def _Server(config, *, note: str, announce: bool = True, handshake_timeout: float = 10.0):
    """uvicorn's Server, printing the READY line once it accepts connections (with --port 0 that
    line is the only place the port is told) when `announce`. Over TLS, a handshake that has not
    finished within `handshake_timeout` seconds is dropped (asyncio's default is 60 s, and uvicorn
    offers no option for it: its call to the loop's create_server is given the argument here)."""
    import asyncio

    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            loop = asyncio.get_running_loop()
            if self.config.is_ssl:
                create_server = loop.create_server

                async def bounded_handshake(*args, **kwargs):
                    kwargs.setdefault("ssl_handshake_timeout", handshake_timeout)
                    return await create_server(*args, **kwargs)
                loop.create_server = bounded_handshake
            try:
                await super().startup(sockets=sockets)
            finally:
                loop.__dict__.pop("create_server", None)
            if self.started and announce:
                host, port = self.servers[0].sockets[0].getsockname()[:2]
                shown = f"[{host}]" if ":" in host else host
                scheme = "https" if self.config.is_ssl else "http"
                print(f"{READY_PREFIX}{scheme}://{shown}:{port} ({note})", flush=True)

    return Server(config)
