#!/usr/bin/env bash
# JavaScript tools the tests use as independent parsers (installed from npm, pinned by the lock file).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f tests/js/package.json ]; then
  if [ ! -d tests/js/node_modules ] || [ tests/js/package.json -nt tests/js/node_modules ]; then
    (cd tests/js && npm install --no-audit --no-fund --silent) && touch tests/js/node_modules
  fi
fi
