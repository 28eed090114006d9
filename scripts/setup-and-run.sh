#!/usr/bin/env bash
# One command after cloning: create the virtual environment, install the harness, and run the
# SECMP0107 suite against the embedded reference DCC, ending with the conformance report.
# Extra arguments go to `mp107 run` (e.g. --s1sp S1SP2, --target URL --profile FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  echo "setting up .venv ..." >&2
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
# What the tests need beyond Python (PostgreSQL server binaries, Chromium, the Allure CLI), so that
# README's second command runs with nothing skipped.
bash scripts/install-deps.sh
exec .venv/bin/mp107 run --target local "$@"
