"""`python -m reference serve`: the reference DCC as an HTTP server (SPEC §5, Target Interface v1).

    python -m reference serve --port 8800 [--host 127.0.0.1] [--test-support]
        [--s1sp-not-implemented S1SP2 ...] [--switch on|off] [--load FILE] [--duis-xsd DIR]
        [--dsp-certificate-out FILE] [--data-dir DIR] [--access-log]

It listens on 127.0.0.1 unless --host says otherwise (test support lets anyone who can reach the
port rewrite the DCC's data: keep it on loopback). With --port 0 the system picks a free port.
Once it accepts connections it prints one line to stdout:

    mp107-reference: serving Target Interface v1 at http://127.0.0.1:PORT (test support on)

which is what scripts (and `pytest --target serve`) wait for. Ctrl-C or SIGTERM stops it.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

READY_PREFIX = "mp107-reference: serving Target Interface v1 at "
DEFAULT_SCHEMA_DIR = Path(__file__).resolve().parents[3] / "shared" / "duis" / "schema"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..config import S1SPS
    parser.add_argument("--port", type=int, default=8800, help="TCP port (0: any free port; default 8800)")
    parser.add_argument("--host", default=None,
                        help="address to listen on (default 127.0.0.1; give e.g. 0.0.0.0 explicitly to expose it)")
    parser.add_argument("--test-support", action="store_true",
                        help="serve the test-support API under /test-support/v1 (load data, switches, reset)")
    parser.add_argument("--s1sp-not-implemented", nargs="+", action="extend", default=[], choices=S1SPS,
                        metavar="S1SP", help="S1SPs that have NOT implemented MP107 (they still raise S1VE4)")
    parser.add_argument("--switch", choices=("on", "off"), default="on", help="the DSP feature switch at start (default on)")
    parser.add_argument("--load", type=Path, metavar="FILE",
                        help="JSON file in the test-support 'load' shape (users, trust_anchors, devices, registrations, "
                             "anchor_slots) loaded at start and again after each test-support reset")
    parser.add_argument("--duis-xsd", type=Path, metavar="DIR",
                        help="folder holding 'DUIS Schema V5.4.xsd' (default $DUIS_SCHEMA_DIR, else ../shared/duis/schema)")
    parser.add_argument("--dsp-certificate-out", type=Path, metavar="FILE",
                        help="write the DSP's response-signing certificate (PEM) here at start, for a profile's "
                             "[target].dsp_certificate when the target runs without test support")
    parser.add_argument("--data-dir", type=Path, help="where the S1SPs keep their SQLite databases (default: a temporary folder)")
    parser.add_argument("--access-log", action="store_true", help="log every HTTP request")
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.duis_xsd:
        os.environ["DUIS_SCHEMA_DIR"] = str(args.duis_xsd.resolve())
    elif "DUIS_SCHEMA_DIR" not in os.environ and DEFAULT_SCHEMA_DIR.is_dir():
        os.environ["DUIS_SCHEMA_DIR"] = str(DEFAULT_SCHEMA_DIR)
    host = args.host or "127.0.0.1"
    if args.test_support and host not in ("127.0.0.1", "::1", "localhost"):
        print(f"warning: test support is on and the server listens on {host}: anyone who can reach it can "
              "rewrite the DCC's users, devices and switches", file=sys.stderr)

    from duis import errors, schema
    try:
        schema.validator()        # compile the DUIS schema now (about a second), not on the first request
    except errors.DuisConfigError as exc:
        print(f"python -m reference serve: {exc}", file=sys.stderr)
        return 2
    load = None
    if args.load:
        try:
            load = json.loads(args.load.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"python -m reference serve: --load {args.load}: expected a readable JSON file, got {exc}", file=sys.stderr)
            return 2

    import uvicorn

    from ..config import S1SPS, ReferenceConfig
    from ..dcc import ReferenceDCC
    from .app import create_app
    from .test_support import BadInput

    config = ReferenceConfig(mp107_switch=args.switch == "on",
                             s1sp_implemented={s: s not in args.s1sp_not_implemented for s in S1SPS})
    dcc = ReferenceDCC(config, data_dir=args.data_dir)
    try:
        if args.dsp_certificate_out:
            from cryptography.hazmat.primitives import serialization
            args.dsp_certificate_out.write_bytes(dcc.dsp_certificate.public_bytes(serialization.Encoding.PEM))
        try:
            app = create_app(dcc, test_support=args.test_support, load=load)
        except BadInput as exc:
            print(f"python -m reference serve: --load {args.load}: {exc}", file=sys.stderr)
            return 2
        server = _Server(uvicorn.Config(app, host=host, port=args.port, log_level=args.log_level,
                                        access_log=args.access_log, timeout_graceful_shutdown=3),
                         note="test support on" if args.test_support else "test support off")
        server.run()
        return 0 if server.started else 1
    finally:
        dcc.close()


def _Server(config, *, note: str):
    """uvicorn's Server, printing the READY line once it accepts connections (with --port 0 that
    line is the only place the port is told)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                host, port = self.servers[0].sockets[0].getsockname()[:2]
                shown = f"[{host}]" if ":" in host else host
                print(f"{READY_PREFIX}http://{shown}:{port} ({note})", flush=True)

    return Server(config)
