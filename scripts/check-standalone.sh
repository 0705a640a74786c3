#!/usr/bin/env bash
# Fails if a tracked file refers to a directory beside the repository (the shared
# fixtures or tools some checkouts happen to have next to them). Everything the project
# builds, tests or runs lives inside it; a clone with nothing beside it must work.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# What it looks for: a relative path that climbs out of the repository into a sibling
# named shared (one or more parent steps, then that name), written as a path or as
# path segments. The pattern is spelled with character classes so this file never
# matches itself.
dotdot='[.][.]'
pattern="${dotdot}/(${dotdot}/)*shared([/\"'\`[:space:]]|\$)|['\"]${dotdot}['\"],[[:space:]]*['\"]shared['\"]"

if hits="$(git ls-files -z | xargs -0 grep -nIE "$pattern" -- 2>/dev/null)"; then
  echo "These tracked files refer to a directory outside the repository:" >&2
  echo "$hits" >&2
  echo "Copy what they need into the repository (for example server/tests/fixtures/) and point them there." >&2
  exit 1
fi
