#!/usr/bin/env bash
# A throwaway Postgres for the tests: Debian's postgresql package, a cluster in a temp
# dir, on a free loopback port, with fsync off (nothing in it outlives the run).
#
#   source scripts/postgres.sh; trap pg_stop EXIT; pg_start
#
# pg_start exports TASKWIRE_TEST_POSTGRES_URL (a superuser on the `postgres` database;
# each test makes a database of its own; pg_createdb NAME makes one and prints its URL).
# Installs the package when it is missing.
# Run directly (`bash scripts/postgres.sh`) it starts one and keeps it until Ctrl-C.

source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

pg_bindir() {
  # No match is no output, not a failure (callers run under `set -eo pipefail`).
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true
}

PG_DIR=""
PG_BINDIR=""
PG_AS=()
PG_KEEP=""

# pg_start            a throwaway cluster (temp dir, fsync off)
# pg_start DIR        a cluster kept in DIR (made the first time), durable
pg_start() {
  local bindir
  bindir="$(pg_bindir)"
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "Installing Debian's postgresql"
    apt_install postgresql
    bindir="$(pg_bindir)"
  fi
  PG_BINDIR="$bindir"
  local durability="-c fsync=off" nosync="--no-sync"
  if [ -n "${1:-}" ]; then
    PG_KEEP=1
    PG_DIR="$1"
    durability=""
    nosync=""
    mkdir -p "$PG_DIR"
  else
    PG_KEEP=""
    PG_DIR="$(mktemp -d)"
  fi
  # Postgres refuses to run as root; as root, the cluster belongs to the package's user.
  PG_AS=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$PG_DIR"
    PG_AS=(runuser -u postgres --)
  fi
  local port
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    "${PG_AS[@]}" "$bindir/initdb" -D "$PG_DIR/data" -U taskwire -A trust -E UTF8 \
      $nosync >"$PG_DIR/initdb.log" 2>&1 \
      || { cat "$PG_DIR/initdb.log"; return 1; }
  fi
  "${PG_AS[@]}" "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR $durability -c max_connections=300" \
    start >/dev/null || { cat "$PG_DIR/server.log"; return 1; }
  export TASKWIRE_TEST_POSTGRES_URL="postgres://taskwire@127.0.0.1:$port/postgres"
  echo "Postgres $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

# Makes database NAME on the running cluster and prints its URL.
pg_createdb() {
  "$PG_BINDIR/psql" "$TASKWIRE_TEST_POSTGRES_URL" -qc "CREATE DATABASE $1" >/dev/null
  echo "${TASKWIRE_TEST_POSTGRES_URL%/*}/$1"
}

# Stops the cluster and removes its directory; safe to call at any point of pg_start,
# or twice.
pg_stop() {
  if [ -n "${PG_DIR:-}" ]; then
    if [ -f "$PG_DIR/data/postmaster.pid" ]; then
      if [ -n "$PG_KEEP" ]; then
        "${PG_AS[@]}" "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
      else
        "${PG_AS[@]}" "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
      fi
    fi
    [ -n "$PG_KEEP" ] || rm -rf "$PG_DIR"
  fi
  PG_DIR=""
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  trap pg_stop EXIT
  pg_start
  echo "TASKWIRE_TEST_POSTGRES_URL=$TASKWIRE_TEST_POSTGRES_URL (Ctrl-C stops it)"
  while sleep 3600; do :; done
fi
