#!/usr/bin/env bash
# Mutation testing of the verdict modules (tests/mutation/modules.toml) with mutmut 3.8.1: every
# mutant either killed by a test or accepted with a reason (tests/mutation/accepted.toml).
#   scripts/mutation.sh                       all modules (under 10 min on 2 cores)
#   scripts/mutation.sh adapters/statement.py one module
#   scripts/mutation.sh --readme              and rewrite the figures in README.md
#   scripts/mutation.sh --list                the mutants and their identities, running no test
# Why mutmut 3 and how it is driven: scripts/mutation.py. Runs at nice 15: the machine is shared.
set -euo pipefail
cd "$(dirname "$0")/.."
exec nice -n 15 .venv/bin/python scripts/mutation.py "$@"
