#!/usr/bin/env bash
# Run every check CI runs: set-up (idempotent), lint, types, then the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "==> ruff"
.venv/bin/ruff check server tests bench
echo "==> mypy (strict, server/)"
.venv/bin/mypy
echo "==> pytest"
.venv/bin/pytest -q -p no:cacheprovider "$@"
