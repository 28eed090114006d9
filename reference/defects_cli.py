"""`python -m reference defects`: the named defects the reference can be switched into, for people
(a table) and for tools (`--json`: what `mp107 kill-matrix` reads, so the harness never imports
the reference)."""
from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON list: name, component, requirements, "
                                                            "observable, description, where")


def main(args: argparse.Namespace) -> int:
    from .defects import DEFECTS
    if args.json:
        print(json.dumps([{"name": d.name, "component": d.component, "requirements": list(d.requirements),
                           "observable": d.observable, "description": d.description, "where": d.where}
                          for d in DEFECTS.values()], indent=2))
        return 0
    for d in DEFECTS.values():
        print(f"{d.name:38} {d.component:9} {' '.join(r.removeprefix('MP107-') for r in d.requirements):22} "
              f"{d.observable:10} {d.description}")
    return 0
