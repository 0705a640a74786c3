#!/usr/bin/env bash
# Builds taskwire in release mode and serves it on http://127.0.0.1:3000 with an
# embedded SQLite database under data/.
#   scripts/run.sh           serve
#   scripts/run.sh --demo    serve, and drive labelled demo tasks through the pipeline
set -euo pipefail
for arg in "$@"; do
  case "$arg" in
    --demo) export TASKWIRE_DEMO=true ;;
    *) echo "unknown option: $arg (use --demo or nothing)" >&2; exit 2 ;;
  esac
done
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"

say "Building (release)"
cargo leptos build --release --precompress

export LEPTOS_OUTPUT_NAME=taskwire
export LEPTOS_SITE_ROOT="$ROOT/target/site"
export LEPTOS_SITE_PKG_DIR=pkg
export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
export TASKWIRE_DATA_DIR="${TASKWIRE_DATA_DIR:-$ROOT/data}"
say "Serving on http://$LEPTOS_SITE_ADDR (data in $TASKWIRE_DATA_DIR; Ctrl-C stops)"
exec "$ROOT/target/release/server" serve
