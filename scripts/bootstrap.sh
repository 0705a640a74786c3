# Installs what building taskwire needs, skipping whatever is already there.
# Sourced by the scripts; leaves PATH pointing at the tools it checked, and defines
# build_site (the release build every script serves).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_LEPTOS_VERSION="0.3.10"

say() { printf '\033[1m==> [%ss] %s\033[0m\n' "$SECONDS" "$*"; }

export PATH="$ROOT/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# The SQL queries are checked by tests, not at compile time: never let a stray
# DATABASE_URL change how the server compiles.
export SQLX_OFFLINE=true

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "Adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  say "Installing cargo-leptos $CARGO_LEPTOS_VERSION (about 10 minutes, once)"
  # no_downloads: a missing helper tool is a clear error, never a download attempt.
  # The profile overrides only make the install faster; the tool works the same.
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION" --features no_downloads
fi

# The CLI must match the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")"
if [ -z "$WASM_BINDGEN_VERSION" ]; then
  echo "cannot read the wasm-bindgen version from Cargo.lock" >&2
  exit 1
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
  say "Installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# npm packages: Playwright for the tests, and binaryen's wasm-opt for release builds.
if [ ! -x "$ROOT/end2end/node_modules/.bin/wasm-opt" ] || [ "$ROOT/end2end/package-lock.json" -nt "$ROOT/end2end/node_modules/.package-lock.json" ]; then
  say "Installing end2end npm packages"
  (cd "$ROOT/end2end" && npm ci --no-audit --no-fund)
fi
case "$(command -v wasm-opt)" in
  "$ROOT/end2end/node_modules/.bin/wasm-opt") ;;
  *) echo "wasm-opt on PATH is not binaryen's npm build: $(command -v wasm-opt)" >&2; exit 1 ;;
esac

# The release build, its static files precompressed. cargo-leptos writes brotli at full
# quality but gzip at a low level (its .wasm.gz is some 15 % larger than `gzip -9`'s):
# a browser that takes only gzip gets files made again with `gzip -9`.
build_site() {
  cargo leptos build --release --precompress
  local gz
  while IFS= read -r -d '' gz; do
    if [ -f "${gz%.gz}" ]; then
      gzip -9 -n -c "${gz%.gz}" > "$gz.tmp"
      mv "$gz.tmp" "$gz"
    fi
  done < <(find "$ROOT/target/site" -name '*.gz' -print0)
  if ! compgen -G "$ROOT/target/site/pkg/taskwire.*.wasm.gz" > /dev/null; then
    echo "the release build left no gzip copy of the bundle" >&2
    return 1
  fi
}
