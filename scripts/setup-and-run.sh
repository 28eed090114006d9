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
# The data-fix scenarios on PostgreSQL need a server: use one if configured, else start a throwaway
# loopback one when the Debian binaries are here; otherwise they are skipped, with that reason.
if [ -z "${MP107_PG_URL:-}" ]; then
  if url="$(bash scripts/start-postgres.sh 2>/dev/null)"; then
    export MP107_PG_URL="$url"
  else
    echo "note: no PostgreSQL server (apt-get install postgresql): the PostgreSQL data-fix scenarios will be skipped" >&2
  fi
fi
exec .venv/bin/mp107 run --target local "$@"
