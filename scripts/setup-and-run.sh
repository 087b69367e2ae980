#!/usr/bin/env bash
# Install everything, then run the main job. Without ANTHROPIC_API_KEY nothing calls a model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "==> ai-coding-router doctor"
.venv/bin/ai-coding-router doctor --workspace examples/workspace || true
echo "==> ai-coding-router run examples/tasks.yaml (a dry run without ANTHROPIC_API_KEY)"
cd examples && ../.venv/bin/ai-coding-router run tasks.yaml "$@"
