#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on loopback for the data-fix tests and benchmark, and print
# the URL to use (stdout, one line; everything else goes to stderr):
#
#     export MP107_PG_URL="$(scripts/start-postgres.sh)"
#     scripts/start-postgres.sh stop
#
# Installs nothing: it uses the Debian server binaries (apt-get install -y postgresql) found under
# /usr/lib/postgresql/<version>/bin, newest version first. Idempotent: if a server already answers
# on the port it only prints the URL; an existing data directory is started, not re-initialised.
# As root the server runs as the `postgres` user (initdb refuses root); otherwise as you.
#
# Settings (environment): MP107_PG_PORT (55432), MP107_PG_DATA (/tmp/mp107-pgdata),
# MP107_PG_SOCKDIR (/tmp), MP107_PG_SHARED_BUFFERS (512MB; the PostgreSQL default of 128MB is
# too small to keep a million-device S1SP table in memory). The cluster trusts loopback
# connections: throwaway use only.
set -euo pipefail

PORT="${MP107_PG_PORT:-55432}"
DATA="${MP107_PG_DATA:-/tmp/mp107-pgdata}"
SOCKDIR="${MP107_PG_SOCKDIR:-/tmp}"
SHARED_BUFFERS="${MP107_PG_SHARED_BUFFERS:-512MB}"
URL="postgresql://postgres@127.0.0.1:${PORT}/postgres"

say() { echo "start-postgres: $*" >&2; }
die() { say "$*"; exit 2; }

BIN=""
for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then BIN="$dir"; break; fi
done
[ -n "$BIN" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install -y postgresql)"

if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user to run the server as"
  as_server() { runuser -u postgres -- "$@"; }
  OWNER=postgres
else
  as_server() { "$@"; }
  OWNER="$(id -un)"
fi

if [ "${1:-start}" = stop ]; then
  if [ -f "$DATA/postmaster.pid" ]; then
    as_server "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >&2
  else
    say "no server running from $DATA"
  fi
  exit 0
fi
[ "${1:-start}" = start ] || die "usage: $0 [start|stop]"

if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  say "already running on 127.0.0.1:$PORT"
  echo "$URL"
  exit 0
fi

if [ ! -s "$DATA/PG_VERSION" ]; then
  say "initialising $DATA with $BIN/initdb"
  mkdir -p "$DATA"
  chown "$OWNER" "$DATA"
  chmod 700 "$DATA"
  as_server "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$DATA.initdb.log" 2>&1 \
    || { cat "$DATA.initdb.log" >&2; die "initdb failed"; }
fi

say "starting PostgreSQL ($BIN) on 127.0.0.1:$PORT"
as_server "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
  -o "-p $PORT -k $SOCKDIR -c listen_addresses=127.0.0.1 -c shared_buffers=$SHARED_BUFFERS" start >&2 \
  || { tail -20 "$DATA/server.log" >&2 || true; die "server did not start (log: $DATA/server.log)"; }

for _ in $(seq 1 60); do
  if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then echo "$URL"; exit 0; fi
  sleep 0.5
done
die "server started but is not accepting connections on 127.0.0.1:$PORT"
