#!/usr/bin/env bash
# Run every check CI runs: set-up (idempotent), lint, types, then the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "==> ruff"
lint_dirs=(server tests scripts); [ -d bench ] && lint_dirs+=(bench)
.venv/bin/ruff check "${lint_dirs[@]}"
echo "==> mypy (strict, server/)"
.venv/bin/mypy
echo "==> pytest"
.venv/bin/pytest -q -p no:cacheprovider "$@"
