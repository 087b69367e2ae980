#!/usr/bin/env bash
# Run every check CI runs: set-up (idempotent), lint, types, then the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v nvim >/dev/null 2>&1; then
  # The headless Neovim test (tests/e2e/neovim) runs Debian's neovim; CI runs as root and installs it.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Neovim for tests/e2e/neovim"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq neovim) >/dev/null
  else
    echo "note: nvim is missing; install it (apt-get install neovim) or the Neovim e2e test fails" >&2
  fi
fi
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
