#!/usr/bin/env bash
# The standard benchmark suite: taskwire, the bare fan-out server and the Socket.IO peer
# under the same load generator, on this machine, one after the other; then the
# server-rendered dashboard at 10,000 tasks and the size of what browsers download.
# Writes the figures (with the machine and the date) into docs/PERFORMANCE.md between
# its bench markers, and the raw reports under target/bench/.
#
#   bash scripts/bench.sh            the whole suite (about 6 minutes once built)
#   BENCH_QUICK=1 bash scripts/bench.sh   smaller runs, to try the script
#   BENCH_TARGETS=bare bash scripts/bench.sh   one server again, the others' figures kept
#   BENCH_ROUNDS=3 bash scripts/bench.sh   rounds of latency runs (default 5)
#
# Everything runs on loopback, every run is bounded in count and time, and every server
# it starts is stopped when it ends.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"

OUT="$ROOT/target/bench"
mkdir -p "$OUT"
# 10,000 sockets need 10,000 descriptors on each side.
ulimit -n 20000

QUICK="${BENCH_QUICK:-}"
CLIENTS=1000
BIG=10000
HOLD=18000
SECONDS_PER_RUN=10
SEED=10000
ROUNDS="${BENCH_ROUNDS:-5}"
if [ -n "$QUICK" ]; then CLIENTS=200; BIG=1000; HOLD=2000; SECONDS_PER_RUN=3; SEED=500; ROUNDS="${BENCH_ROUNDS:-2}"; fi

say "Building taskwire (release) and the load generator"
build_site
cargo build --release -p loadgen
LOAD="$ROOT/target/release/taskwire-load"

say "Installing the Socket.IO peer"
(cd "$ROOT/bench/socketio-peer" && npm ci --no-audit --no-fund --silent)

PIDS=()
stop_all() {
  for pid in "${PIDS[@]:-}"; do
    if [ -n "$pid" ]; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  PIDS=()
}
trap stop_all EXIT

wait_for() {
  for _ in $(seq 1 100); do
    curl -fs "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2
  return 1
}

# Starts one server fresh; sets SERVER_PID and URL.
start() {
  stop_all
  case "$1" in
    taskwire)
      local data; data="$(mktemp -d)"
      LEPTOS_OUTPUT_NAME=taskwire LEPTOS_SITE_ROOT="$ROOT/target/site" LEPTOS_SITE_PKG_DIR=pkg \
      LEPTOS_SITE_ADDR=127.0.0.1:3800 TASKWIRE_DATA_DIR="$data" RUST_LOG=warn \
      TASKWIRE_ANALYSIS_DELAY_MS="${ANALYSIS_DELAY_MS:-400}" \
      TASKWIRE_SIGNIN_PER_MINUTE=1000000 TASKWIRE_SIGNIN_BURST=100000 \
      TASKWIRE_ACTIONS_PER_MINUTE=10000000 TASKWIRE_ACTION_BURST=1000000 \
        "$ROOT/target/release/server" serve >"$OUT/taskwire.log" 2>&1 &
      SERVER_PID=$!; URL=http://127.0.0.1:3800; wait_for "$URL/api/health" ;;
    bare)
      "$ROOT/target/release/bare-fanout" 127.0.0.1:3901 >"$OUT/bare.log" 2>&1 &
      SERVER_PID=$!; URL=http://127.0.0.1:3901; wait_for "$URL/api/health" ;;
    socketio)
      (cd "$ROOT/bench/socketio-peer" && exec node server.js) >"$OUT/socketio.log" 2>&1 &
      SERVER_PID=$!; URL=http://127.0.0.1:3900; wait_for "$URL/api/tasks" ;;
  esac
  PIDS+=("$SERVER_PID")
}

# run NAME TARGET ARGS...: one fresh server, one load run, its JSON report kept.
run() {
  local name="$1" target="$2"; shift 2
  start "$target"
  say "$name on $target"
  "$LOAD" --target "$target" --url "$URL" --server-pid "$SERVER_PID" \
    --label "$name $BENCH_ID" --json "$OUT/$name-$target.json" "$@" | tee "$OUT/$name-$target.txt"
}

TARGETS="${BENCH_TARGETS:-taskwire bare socketio}"
# Marks this invocation's reports (in their label): rounds are compared with each other
# only when they ran together.
BENCH_ID="bench-$(date +%s)"

# The latency runs, in rounds: each round runs every server once, one after the other.
# One run's tail moves by more than the differences between the servers from one minute
# to the next on a shared machine; interleaved rounds let each server meet the same
# conditions, and the report gives every round's p99 and the median round.
for round in $(seq 1 "$ROUNDS"); do
  for target in $TARGETS; do
    run "latency-$round" "$target" --clients "$CLIENTS" --rate 50 --seconds "$SECONDS_PER_RUN"
  done
done

# BENCH_TARGETS runs a subset; the report reads the others' last reports from target/bench.
for target in $TARGETS; do
  if [ "$target" = taskwire ]; then
    # The same load with each task's analysis ending after the run: a create is then one
    # write to each socket (created and analysing, committed together), as for the
    # references, instead of two (dispatched follows 400 ms later).
    ANALYSIS_DELAY_MS=60000 run latency-one "$target" --clients "$CLIENTS" --rate 50 --seconds "$SECONDS_PER_RUN"
  fi
  run saturated "$target" --clients "$CLIENTS" --rate 0 --concurrency 64 --seconds 5
  run drops "$target" --clients "$CLIENTS" --rate 50 --seconds "$SECONDS_PER_RUN" --drop-every 2
  run idle "$target" --clients "$BIG" --idle
  # The most this machine's open-file limit (20,000 per process) leaves room for.
  [ "$target" = socketio ] || run hold "$target" --clients "$HOLD" --idle
done

say "Server-rendered dashboard with $SEED tasks"
start taskwire
"$LOAD" --target taskwire --url "$URL" --clients 0 --rate 0 --concurrency 32 \
  --creates "$SEED" --seconds 600 --settle 1 --label seed --json "$OUT/seed.json" >/dev/null
TOKEN="$(curl -fs -X POST "$URL/api/auth/signup" -H 'content-type: application/json' \
  -d '{"username":"benchreader","password":"bench reader password"}' \
  | sed -E 's/.*"token":"([^"]+)".*/\1/')"
: > "$OUT/first-load.txt"
for _ in $(seq 1 21); do
  curl -s -o /dev/null -H "cookie: taskwire_session=$TOKEN" -H 'accept: text/html' \
    -w '%{time_starttransfer} %{size_download}\n' "$URL/" >> "$OUT/first-load.txt"
done
TTFB_P50="$(sort -n "$OUT/first-load.txt" | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] * 1000 }')"
HTML_BYTES="$(tail -1 "$OUT/first-load.txt" | awk '{ print $2 }')"

say "What browsers download, as the server sends it"
# Bytes on the wire for one encoding (curl does not decode what it is not asked to).
served() {
  curl -fs -o /dev/null -H "accept-encoding: $2" -w '%{size_download}' "$URL/pkg/$(basename "$1")"
}
WASM="$(ls "$ROOT"/target/site/pkg/*.wasm | head -1)"
JS="$(ls "$ROOT"/target/site/pkg/*.js | head -1)"
CSS="$(ls "$ROOT"/target/site/pkg/*.css | head -1)"
WASM_RAW="$(served "$WASM" identity)"
WASM_GZ="$(served "$WASM" gzip)"
WASM_BR="$(served "$WASM" br)"
TEXT_BR="$(( $(served "$JS" br) + $(served "$CSS" br) ))"
CACHE="$(curl -fsI "$URL/pkg/$(basename "$WASM")" | tr -d '\r' | awk -F': ' 'tolower($1) == "cache-control" { print $2 }')"
stop_all

say "Writing docs/PERFORMANCE.md"
python3 - "$OUT" "$TTFB_P50" "$HTML_BYTES" "$WASM_RAW" "$WASM_GZ" "$CLIENTS" "$BIG" "$SEED" \
  "$WASM_BR" "$TEXT_BR" "$CACHE" "$HOLD" "$ROUNDS" <<'PY'
import json, os, platform, subprocess, sys, datetime
out, ttfb, html, wasm_raw, wasm_gz, clients, big, seed, wasm_br, text_br, cache, hold, nrounds = sys.argv[1:]
def r(name, target):
    with open(os.path.join(out, f"{name}-{target}.json")) as f:
        return json.load(f)
def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()
mem = next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1]
targets = [("taskwire", "taskwire"), ("bare", "bare fan-out"), ("socketio", "Socket.IO peer")]
rows = []
def line(label, fn):
    cells = []
    for t, _ in targets:
        try:
            cells.append(fn(t))
        except Exception:
            cells.append("–")
    rows.append(f"| {label} | " + " | ".join(cells) + " |")
# The latency rounds: every round's report of one server, and the round with its median p99.
def rounds(t):
    return [r(f"latency-{k}", t) for k in range(1, int(nrounds) + 1)]
def median(t):
    runs = sorted(rounds(t), key=lambda x: x["latency_ms_p99"])
    return runs[(len(runs) - 1) // 2]
def against_bare(t):
    if t == "bare":
        raise ValueError("the bare server is the yardstick")
    mine, bare = rounds(t), rounds("bare")
    ratio = "{:.2f}×".format(median(t)["latency_ms_p99"] / median("bare")["latency_ms_p99"])
    if any(a["args"]["label"] != b["args"]["label"] for a, b in zip(mine, bare)):
        return ratio + " (not run in the same rounds)"
    each = ", ".join("{:.2f}".format(a["latency_ms_p99"] / b["latency_ms_p99"]) for a, b in zip(mine, bare))
    return "{} (rounds: {})".format(ratio, each)
line(f"{clients} sockets × 50 creates/s, {nrounds} interleaved rounds: create → every socket, p99 of each round", lambda t: ", ".join("{:.1f}".format(x["latency_ms_p99"]) for x in rounds(t)) + " ms")
line("… the median round: p50 / p99 / max", lambda t: "{:.1f} / {:.1f} / {:.1f} ms".format(median(t)["latency_ms_p50"], median(t)["latency_ms_p99"], median(t)["latency_ms_max"]))
line("… median p99 against the bare server's (each round against the bare server's in the same round)", against_bare)
line("… delivered / lost / duplicates / out of order, all rounds", lambda t: " / ".join(str(sum(x[k] for x in rounds(t))) for k in ("delivered", "lost", "duplicates", "out_of_order")))
line("… failed creates, all rounds", lambda t: str(sum(n for x in rounds(t) for _, n in x["creates_failed"])))
line("… server CPU while creating, each round", lambda t: ", ".join("{:.0f}".format(x["server_cpu_percent"]) for x in rounds(t)) + " %")
line("same, each task's dispatch after the run (one write per create per socket): p50 / p99 / max", lambda t: "{:.1f} / {:.1f} / {:.1f} ms".format(r("latency-one", t)["latency_ms_p50"], r("latency-one", t)["latency_ms_p99"], r("latency-one", t)["latency_ms_max"]))
line("… delivered / lost / server CPU", lambda t: "{} / {} / {:.0f} %".format(r("latency-one", t)["delivered"], r("latency-one", t)["lost"], r("latency-one", t)["server_cpu_percent"]))
line(f"saturated, {clients} sockets: frames delivered per second", lambda t: "{:,.0f}".format(r("saturated", t)["frames_per_sec"]))
line("… creates accepted in 5 s (all stored, for taskwire)", lambda t: str(r("saturated", t)["creates_accepted"]))
line("forced drops every ~2 s: delivered", lambda t: "{:.2f} %".format(100 * r("drops", t)["delivered"] / max(1, r("drops", t)["expected_deliveries"])))
line("… reconnects / snapshots needed", lambda t: "{reconnects} / {snapshots}".format(**r("drops", t)))
line(f"{big} idle sockets: connect time", lambda t: "{:.1f} s".format(r("idle", t)["connect_secs"]))
line("… resident memory per socket", lambda t: "{:.1f} KiB".format(r("idle", t)["rss_per_socket_kib"]))
line("… whole server's resident memory", lambda t: "{:,.0f} MiB".format(r("idle", t)["server_rss_kib"] / 1024))
line(f"{hold} idle sockets held: connected / failed, per socket", lambda t: "{} / {}, {:.1f} KiB".format(r("hold", t)["sockets"], r("hold", t)["connect_failures"], r("hold", t)["rss_per_socket_kib"]))
table = "\n".join(["| | " + " | ".join(n for _, n in targets) + " |", "|---|" + "---|" * len(targets)] + rows)
kib = lambda n: f"{int(n) / 1024:,.0f} KiB"
block = f"""<!-- bench:start -->
Measured by `scripts/bench.sh` on {datetime.date.today().isoformat()}: {cpu()}, {os.cpu_count()} cores,
{int(mem) // 1024 // 1024} GiB; loopback, load generator on the same machine. Each row is a fresh server.

{table}

| first load and assets | taskwire |
|---|---|
| server-rendered dashboard with {int(seed):,} tasks: time to first byte, p50 of 21 | {ttfb} ms |
| … HTML size | {kib(html)} |
| WASM on the wire: brotli / gzip / uncompressed | {kib(wasm_br)} / {kib(wasm_gz)} / {kib(wasm_raw)} |
| JS + CSS on the wire (brotli) | {kib(text_br)} |
| `Cache-Control` of the hashed assets | `{cache}` |
<!-- bench:end -->"""
path = "docs/PERFORMANCE.md"
doc = open(path).read()
start, end = doc.index("<!-- bench:start -->"), doc.index("<!-- bench:end -->") + len("<!-- bench:end -->")
open(path, "w").write(doc[:start] + block + doc[end:])
print(block)
PY
