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
if command -v npm >/dev/null 2>&1; then
  echo "==> vscode-client: build, lint, typecheck, unit tests, package"
  (cd vscode-client && npm ci --no-audit --no-fund --loglevel=error && npm run --silent ci)
fi
echo "==> pytest"
.venv/bin/pytest -q -p no:cacheprovider "$@"
