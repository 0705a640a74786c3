#!/usr/bin/env bash
# A taskwire cluster on one machine: Postgres, two servers on it, and HAProxy in front
# (round-robin; WebSocket upgrades passed through), at http://127.0.0.1:3000.
#   scripts/cluster.sh                   with a Postgres of its own, kept between runs
#   scripts/cluster.sh --postgres URL    on an existing Postgres database
# Installs Debian's postgresql and haproxy when they are missing. Ctrl-C stops it all.
# TASKWIRE_CLUSTER_PORT moves the front door (the servers take the next two ports).
set -euo pipefail
DATABASE_URL=""
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres)
      [ $# -ge 2 ] || { echo "--postgres needs a URL: postgres://user:password@host:port/database" >&2; exit 2; }
      DATABASE_URL="$2"
      shift ;;
    --postgres=*) DATABASE_URL="${1#--postgres=}" ;;
    *) echo "unknown option: $1 (use --postgres URL, or nothing)" >&2; exit 2 ;;
  esac
  shift
done
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
source "$ROOT/scripts/postgres.sh"
cd "$ROOT"

FRONT="${TASKWIRE_CLUSTER_PORT:-3000}"
PORTS=("$((FRONT + 1))" "$((FRONT + 2))")
for port in "$FRONT" "${PORTS[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is in use; stop what listens there or set TASKWIRE_CLUSTER_PORT" >&2
    exit 1
  fi
done

if ! command -v haproxy >/dev/null; then
  say "Installing Debian's haproxy"
  apt_install haproxy
fi

say "Building (release)"
build_site

RUN_DIR="$ROOT/data/cluster"
mkdir -p "$RUN_DIR"
PIDS=()
stop_all() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pg_stop
}
trap stop_all EXIT
trap 'exit 130' INT TERM

if [ -z "$DATABASE_URL" ]; then
  # Postgres refuses to run as root, and runs as its own user then; that user can
  # always reach its home, where a clone may not be readable.
  if [ "$(id -u)" -eq 0 ]; then PG_HOME=/var/lib/postgresql/taskwire-cluster; else PG_HOME="$RUN_DIR/postgres"; fi
  say "Starting Postgres (kept in $PG_HOME)"
  pg_start "$PG_HOME"
  if [ -z "$("$PG_BINDIR/psql" "$TASKWIRE_TEST_POSTGRES_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = 'taskwire'")" ]; then
    pg_createdb taskwire >/dev/null
  fi
  DATABASE_URL="${TASKWIRE_TEST_POSTGRES_URL%/*}/taskwire"
fi

export LEPTOS_OUTPUT_NAME=taskwire
export LEPTOS_SITE_ROOT="$ROOT/target/site"
export LEPTOS_SITE_PKG_DIR=pkg
export TASKWIRE_DATABASE_URL="$DATABASE_URL"
# The servers see every client as the proxy; it says who the client is.
export TASKWIRE_TRUSTED_PROXIES=127.0.0.1
export TASKWIRE_PUBLIC_URL="http://127.0.0.1:$FRONT"
names=(a b)
for i in 0 1; do
  name="${names[$i]}"
  mkdir -p "$RUN_DIR/$name"
  LEPTOS_SITE_ADDR="127.0.0.1:${PORTS[$i]}" TASKWIRE_DATA_DIR="$RUN_DIR/$name" \
    "$ROOT/target/release/server" serve >"$RUN_DIR/$name/server.log" 2>&1 &
  PIDS+=("$!")
done
for i in 0 1; do
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:${PORTS[$i]}/api/health" >/dev/null 2>&1 && break
    kill -0 "${PIDS[$i]}" 2>/dev/null || { cat "$RUN_DIR/${names[$i]}/server.log"; exit 1; }
    sleep 0.2
  done
  curl -fsS "http://127.0.0.1:${PORTS[$i]}/api/health" >/dev/null \
    || { echo "server ${names[$i]} did not become healthy" >&2; cat "$RUN_DIR/${names[$i]}/server.log"; exit 1; }
done

cat >"$RUN_DIR/haproxy.cfg" <<EOF
global
    # Two descriptors per proxied connection, under the usual limit of 20,000.
    maxconn 9000

defaults
    mode http
    option forwardfor
    # A connection refused (a server that just died) is tried on the other server.
    retries 2
    option redispatch 1
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    # An upgraded WebSocket is a tunnel; the servers ping it every 15 s.
    timeout tunnel 1h

frontend taskwire
    bind 127.0.0.1:$FRONT
    default_backend servers

backend servers
    balance roundrobin
    option httpchk GET /api/health
    server a 127.0.0.1:${PORTS[0]} check inter 1s fall 2 rise 2
    server b 127.0.0.1:${PORTS[1]} check inter 1s fall 2 rise 2
EOF
haproxy -f "$RUN_DIR/haproxy.cfg" -db >"$RUN_DIR/haproxy.log" 2>&1 &
PROXY_PID=$!
PIDS+=("$PROXY_PID")
for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$FRONT/api/health" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$FRONT/api/health" >/dev/null || { cat "$RUN_DIR/haproxy.log"; exit 1; }

say "Cluster on http://127.0.0.1:$FRONT: HAProxy over servers a (:${PORTS[0]}, pid ${PIDS[0]}) and b (:${PORTS[1]}, pid ${PIDS[1]}); logs in $RUN_DIR; Ctrl-C stops"
# A server may be killed to see the other take over; the cluster lasts as long as the
# proxy does.
wait "$PROXY_PID" || true
echo "HAProxy stopped; stopping the rest" >&2
exit 1
