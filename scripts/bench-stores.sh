#!/usr/bin/env bash
# taskwire on each store, side by side: one server on SQLite, one on Postgres, and two
# servers sharing one Postgres (sockets and creates spread over both). For each: the
# latency run (1,000 sockets × 50 creates/s) and the saturated run (creates as fast as
# 64 in flight allow), with events appended per second read from the servers' metrics.
# Rewrites the "Stores" table of docs/PERFORMANCE.md. BENCH_QUICK=1 for a short try.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
source "$ROOT/scripts/postgres.sh"
cd "$ROOT"

OUT="$ROOT/target/bench-stores"
mkdir -p "$OUT"
ulimit -n 20000
CLIENTS=1000
SECONDS_PER_RUN=10
if [ -n "${BENCH_QUICK:-}" ]; then CLIENTS=200; SECONDS_PER_RUN=3; fi
METRICS_TOKEN="bench-metrics-token-$$"

say "Building taskwire (release) and the load generator"
build_site
cargo build --release -p loadgen
LOAD="$ROOT/target/release/taskwire-load"

PIDS=()
stop_servers() {
  for pid in "${PIDS[@]:-}"; do
    if [ -n "$pid" ]; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  PIDS=()
}
trap 'stop_servers; pg_stop' EXIT
say "Starting a throwaway Postgres"
pg_start
PG_BASE="${TASKWIRE_TEST_POSTGRES_URL%/*}"

wait_for() {
  for _ in $(seq 1 100); do
    curl -fs "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2
  return 1
}

# serve PORT DATABASE_URL: one release server; appends to PIDS, URLS and SERVER_ARGS.
serve() {
  local port="$1" db="$2" data
  data="$(mktemp -d)"
  LEPTOS_OUTPUT_NAME=taskwire LEPTOS_SITE_ROOT="$ROOT/target/site" LEPTOS_SITE_PKG_DIR=pkg \
  LEPTOS_SITE_ADDR="127.0.0.1:$port" TASKWIRE_DATA_DIR="$data" RUST_LOG=warn \
  TASKWIRE_DATABASE_URL="${db:-sqlite://$data/taskwire.db}" \
  TASKWIRE_ANALYSIS_DELAY_MS=400 TASKWIRE_METRICS_TOKEN="$METRICS_TOKEN" \
  TASKWIRE_SIGNIN_PER_MINUTE=1000000 TASKWIRE_SIGNIN_BURST=100000 \
  TASKWIRE_ACTIONS_PER_MINUTE=10000000 TASKWIRE_ACTION_BURST=1000000 \
    "$ROOT/target/release/server" serve >"$OUT/server-$port.log" 2>&1 &
  PIDS+=("$!")
  SERVER_ARGS+=(--server-pid "$!")
  URLS+=("http://127.0.0.1:$port")
  wait_for "http://127.0.0.1:$port/api/health"
}

# Events the servers appended so far (the group commits' write counts, summed).
appended() {
  local total=0 n
  for url in "${URLS[@]}"; do
    n="$(curl -fs -H "authorization: Bearer $METRICS_TOKEN" "$url/metrics" \
      | awk '$1 == "taskwire_log_writes_per_commit_sum" { printf "%d", $2 }')"
    total=$((total + ${n:-0}))
  done
  echo "$total"
}

# start SETUP: fresh servers (and a fresh database) for one run.
start() {
  stop_servers
  URLS=(); SERVER_ARGS=()
  case "$1" in
    sqlite) serve 3810 "" ;;
    postgres|postgres2)
      # Assigned first: a failed creation then stops the script instead of handing
      # serve an empty URL (which would measure SQLite under Postgres's name).
      local db; db="$(pg_createdb "b$RANDOM$RANDOM")"
      serve 3810 "$db"
      [ "$1" = postgres ] || serve 3811 "$db" ;;
  esac
}

run() {
  local name="$1" setup="$2"; shift 2
  start "$setup"
  say "$name on $setup"
  local before after started ended
  before="$(appended)"; started="$(date +%s.%N)"
  "$LOAD" --target taskwire --url "$(IFS=,; echo "${URLS[*]}")" "${SERVER_ARGS[@]}" \
    --label "$name-$setup" --json "$OUT/$name-$setup.json" "$@" | tee "$OUT/$name-$setup.txt"
  after="$(appended)"; ended="$(date +%s.%N)"
  python3 -c "import sys; print(round((int(sys.argv[2]) - int(sys.argv[1])) / (float(sys.argv[4]) - float(sys.argv[3]))))" \
    "$before" "$after" "$started" "$ended" > "$OUT/$name-$setup.appended"
}

for setup in sqlite postgres postgres2; do
  run latency "$setup" --clients "$CLIENTS" --rate 50 --seconds "$SECONDS_PER_RUN"
  run saturated "$setup" --clients "$CLIENTS" --rate 0 --concurrency 64 --seconds 5
done
stop_servers

say "Writing docs/PERFORMANCE.md"
PG_VERSION="$("$PG_BINDIR/postgres" --version | awk '{print $3}')" python3 - "$OUT" "$CLIENTS" <<'PY'
import json, os, platform, sys, datetime
out, clients = sys.argv[1:]
def r(name, setup):
    with open(os.path.join(out, f"{name}-{setup}.json")) as f:
        return json.load(f)
def appended(name, setup):
    return int(open(os.path.join(out, f"{name}-{setup}.appended")).read())
def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()
setups = [("sqlite", "one server, SQLite"), ("postgres", "one server, Postgres"), ("postgres2", "two servers, one Postgres")]
rows = []
def line(label, fn):
    cells = []
    for s, _ in setups:
        try:
            cells.append(fn(s))
        except Exception:
            cells.append("–")
    rows.append(f"| {label} | " + " | ".join(cells) + " |")
line(f"{clients} sockets × 50 creates/s: create → every socket, p50 / p99 / max", lambda s: "{:.1f} / {:.1f} / {:.1f} ms".format(r("latency", s)["latency_ms_p50"], r("latency", s)["latency_ms_p99"], r("latency", s)["latency_ms_max"]))
line("… delivered / lost / duplicates / out of order", lambda s: "{delivered} / {lost} / {duplicates} / {out_of_order}".format(**r("latency", s)))
line("… failed creates", lambda s: str(sum(n for _, n in r("latency", s)["creates_failed"])))
line("… servers' CPU while creating", lambda s: "{:.0f} %".format(r("latency", s)["server_cpu_percent"]))
line("saturated: log writes committed per second (creates and pipeline steps)", lambda s: "{:,}".format(appended("saturated", s)))
line("… frames delivered per second", lambda s: "{:,.0f}".format(r("saturated", s)["frames_per_sec"]))
line("… create → every socket, p50 / p99", lambda s: "{:.0f} / {:.0f} ms".format(r("saturated", s)["latency_ms_p50"], r("saturated", s)["latency_ms_p99"]))
line("… creates accepted in 5 s / failed", lambda s: "{} / {}".format(r("saturated", s)["creates_accepted"], sum(n for _, n in r("saturated", s)["creates_failed"])))
table = "\n".join(["| | " + " | ".join(n for _, n in setups) + " |", "|---|" + "---|" * len(setups)] + rows)
block = f"""<!-- stores:start -->
Measured by `scripts/bench-stores.sh` on {datetime.date.today().isoformat()}: {cpu()}, {os.cpu_count()} cores;
Postgres {os.environ.get("PG_VERSION", "?")} on the same machine (a throwaway cluster, `fsync` off), loopback,
load generator on the same machine. Each column is fresh servers on a fresh database; with
two servers, sockets and creates alternate between them.

{table}
<!-- stores:end -->"""
path = "docs/PERFORMANCE.md"
doc = open(path).read()
if "<!-- stores:start -->" in doc:
    start, end = doc.index("<!-- stores:start -->"), doc.index("<!-- stores:end -->") + len("<!-- stores:end -->")
    doc = doc[:start] + block + doc[end:]
else:
    doc = doc.rstrip("\n") + "\n\n## Stores\n\n" + block + "\n"
open(path, "w").write(doc)
print(block)
PY
