#!/usr/bin/env bash
# Builds taskwire in release mode and serves it on http://127.0.0.1:3000 with an
# embedded SQLite database under data/ (or on a Postgres server).
#   scripts/run.sh                   serve
#   scripts/run.sh --demo            serve, and drive labelled demo tasks through the pipeline
#   scripts/run.sh --postgres URL    serve on the Postgres database at URL (the same as
#                                    TASKWIRE_DATABASE_URL=URL); any number of servers
#                                    may share it
set -euo pipefail
while [ $# -gt 0 ]; do
  case "$1" in
    --demo) export TASKWIRE_DEMO=true ;;
    --postgres)
      [ $# -ge 2 ] || { echo "--postgres needs a URL: postgres://user:password@host:port/database" >&2; exit 2; }
      export TASKWIRE_DATABASE_URL="$2"
      shift ;;
    --postgres=*) export TASKWIRE_DATABASE_URL="${1#--postgres=}" ;;
    *) echo "unknown option: $1 (use --demo, --postgres URL, or nothing)" >&2; exit 2 ;;
  esac
  shift
done
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"

say "Building (release)"
build_site

export LEPTOS_OUTPUT_NAME=taskwire
export LEPTOS_SITE_ROOT="$ROOT/target/site"
export LEPTOS_SITE_PKG_DIR=pkg
export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
export TASKWIRE_DATA_DIR="${TASKWIRE_DATA_DIR:-$ROOT/data}"
if [[ "${TASKWIRE_DATABASE_URL:-}" == postgres* ]]; then
  say "Serving on http://$LEPTOS_SITE_ADDR (data on Postgres; Ctrl-C stops)"
else
  say "Serving on http://$LEPTOS_SITE_ADDR (data in $TASKWIRE_DATA_DIR; Ctrl-C stops)"
fi
exec "$ROOT/target/release/server" serve
