#!/usr/bin/env bash
# Everything CI checks, in order: formatting, lints, Rust tests (on SQLite files, then
# the integration suite again on a throwaway Postgres, which stays up for the
# two-server browser test), then the Playwright suite in Debian's Chromium against a freshly
# built release server.
set -euo pipefail
# First, before any install or build: the repository must stand on its own.
bash "$(dirname "${BASH_SOURCE[0]}")/check-standalone.sh"
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
cd "$ROOT"
# A CI run builds once from clean: incremental state would only add gigabytes on disk.
if [ "${CI:-}" = "true" ]; then
  export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
fi

if [ ! -x /usr/bin/chromium ]; then
  say "Installing Debian's Chromium"
  apt_install chromium
fi

say "Formatting"
cargo fmt --all -- --check

say "Lints (server side, then the browser bundle)"
cargo clippy --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

say "Rust tests (SQLite files, with a throwaway Postgres for the store tests)"
source "$ROOT/scripts/postgres.sh"
trap pg_stop EXIT
pg_start
cargo test
say "The integration suite again, every server on the throwaway Postgres"
# The same packages as above (not `-p server`), so cargo reuses that build instead of
# compiling every dependency again with another feature set.
TASKWIRE_TEST_STORE=postgres cargo test --test api -- --skip cluster::

say "Fuzzing the frame decoder and the reducers (${FUZZ_SECONDS:=20} s each)"
if ! cargo fuzz --version 2>/dev/null | grep -q "0.13.2"; then
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
FUZZ_CORPUS="$(mktemp -d)"
for target in decode_frame reduce_frames; do
  # New inputs go to a throwaway corpus; the committed seeds are only read. A finding
  # fails the run and leaves its input under shared-protocol/fuzz/artifacts/.
  log="$FUZZ_CORPUS/$target.log"
  mkdir -p "$FUZZ_CORPUS/$target"
  if ! (cd "$ROOT/shared-protocol/fuzz" && cargo fuzz run "$target" "$FUZZ_CORPUS/$target" "seeds/$target" \
      --sanitizer none -- -max_total_time="$FUZZ_SECONDS" > "$log" 2>&1); then
    tail -40 "$log"
    echo "fuzzing $target failed"
    exit 1
  fi
  echo "$target: $(grep -E '^Done' "$log" | tail -1)"
done
rm -rf "$FUZZ_CORPUS"

say "Release build"
build_site

say "End-to-end tests (Playwright, Chromium)"
# Two servers on one Postgres, for the spec that puts a browser on each.
TASKWIRE_E2E_POSTGRES_URL="$(pg_createdb e2e)"
export TASKWIRE_E2E_POSTGRES_URL
cd "$ROOT/end2end"
# The suite's protocol types are generated from docs/protocol.schema.json, which a Rust
# test keeps in step with the types; both must be current, and the suite must type-check.
npm run -s types:check
npm run -s typecheck
rm -f test-results/results.json
set +e
npx playwright test
status=$?
set -e
node -e '
  const fs = require("fs");
  let r;
  try { r = JSON.parse(fs.readFileSync("test-results/results.json", "utf8")); } catch { r = null; }
  const s = (r && r.stats) || {};
  const passed = s.expected || 0;
  const failed = (s.unexpected || 0) + (s.flaky || 0);
  console.log(`end2end: ${passed} passed, ${failed} failed` + (s.skipped ? `, ${s.skipped} skipped` : ""));
'
exit $status
