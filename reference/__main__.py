"""`python -m reference <command>`: the reference DCC's operator commands.

Each command is one entry of COMMANDS: a module with `add_arguments(parser)` and
`main(args) -> int` (the exit code). To add a command (e.g. `serve`),
add its line to COMMANDS."""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module, one-line help)
    "datafix": ("reference.datafix.cli", "SECMP0107 Requirement 2: fix wrong NO certificates in an S1SP database"),
    "census": ("reference.census", "build an S1SP database shaped like LIVE (the FIA census of wrong devices)"),
    "serve": ("reference.server.cli", "serve the reference DCC over HTTP (SPEC §5 Target Interface v1)"),
    "defects": ("reference.defects_cli", "list the named defects the reference can be switched into (--defect NAME)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reference", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(importlib.import_module(args._module).main(args))


if __name__ == "__main__":
    sys.exit(main())
