#!/usr/bin/env bash
# Install everything ai-coding-router needs into this checkout: a Python venv (.venv) with the server and
# its dev tools, and the pinned Node toolchain (TypeScript, eslint, vitest) the validation gates run.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "==> installing the Python package and dev tools"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  rm -f .venv/.installed-* && touch "$stamp"
fi

if [ -f toolchain/package-lock.json ]; then
  if command -v npm >/dev/null 2>&1; then
    lock_stamp=toolchain/node_modules/.installed-$(sha256sum toolchain/package-lock.json | cut -c1-16)
    if [ ! -f "$lock_stamp" ]; then
      echo "==> installing the TypeScript toolchain (npm ci)"
      npm ci --prefix toolchain --no-audit --no-fund --loglevel=error
      touch "$lock_stamp"
    fi
  else
    echo "warning: npm not found; the TypeScript/eslint/vitest checks will report that they cannot run" >&2
  fi
fi
echo "==> set-up done"
