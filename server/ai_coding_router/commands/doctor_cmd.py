"""`ai-coding-router doctor`: check everything the server needs and say what is missing, plainly."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import CONFIG_FILE_NAME, Config, load_config_file
from ..errors import ConfigError
from ..models.deprecations import deprecated_model_warnings, sdk_deprecation_table

PYTHON_PACKAGES = (
    "pygls", "lsprotocol", "anthropic", "tree-sitter", "tree-sitter-typescript", "cachetools", "PyYAML", "pydantic"
)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser("doctor", help="check the installation")
    parser.add_argument("--workspace", type=Path, default=Path.cwd(), help="workspace folder (default: cwd)")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")


def check_python_packages() -> list[Check]:
    checks = []
    for name in PYTHON_PACKAGES:
        try:
            checks.append(Check(f"python: {name}", True, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            checks.append(Check(f"python: {name}", False, "not installed: run the set-up command in README"))
    return checks


def check_grammars() -> list[Check]:
    try:
        import tree_sitter_typescript
        from tree_sitter import Language, Parser

        for name in ("language_typescript", "language_tsx"):
            parser = Parser(Language(getattr(tree_sitter_typescript, name)()))
            tree = parser.parse(b"const x: number = 1;\n")
            if tree.root_node.has_error:
                return [Check("tree-sitter grammars", False, f"{name} parsed a valid line with errors")]
    except Exception as error:
        return [Check("tree-sitter grammars", False, f"cannot load: {error}")]
    return [Check("tree-sitter grammars", True, "typescript, tsx")]


def check_node_tools(workspace: Path) -> list[Check]:
    """The same lookup the validation gates use (the project's pinned toolchain; the workspace's when trusted)."""
    from ..validation.tools import ToolMissing, clean_env, find_eslint, find_node, find_typescript, find_vitest

    node = find_node()
    if node is None:
        return [Check("node", False, "not found on PATH: TypeScript, eslint and vitest checks cannot run", False)]
    # The tools' allow-listed environment, as every node the server starts gets: no key for `node --version`.
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10,
                             env=clean_env()).stdout.strip()
    checks = [Check("node", True, version, False)]
    for name, finder in (("tsc", find_typescript), ("eslint", find_eslint), ("vitest", find_vitest)):
        try:
            tool = finder(workspace, trusted=False)
            checks.append(Check(f"tool: {name}", True, f"{tool.version} ({tool.origin})", False))
        except ToolMissing as missing:
            checks.append(Check(f"tool: {name}", False, str(missing), False))
    return checks


def check_config(workspace: Path) -> list[Check]:
    path = workspace / CONFIG_FILE_NAME
    if not path.is_file():
        return [Check("config", True, f"no {CONFIG_FILE_NAME} in {workspace}: defaults apply"), *check_models(Config())]
    try:
        config = load_config_file(path)
    except ConfigError as error:
        return [Check("config", False, "; ".join(error.problems))]
    return [Check("config", True, f"{path} is valid"), *check_models(config)]


def check_models(config: Config) -> list[Check]:
    warnings = deprecated_model_warnings(config, sdk_deprecation_table())
    if not warnings:
        return [Check("models", True, "no configured model is deprecated")]
    return [Check("models", False, message, required=False) for _, message in warnings]


def check_api_key() -> list[Check]:
    # Presence only: the key itself is never printed.
    key_set = bool(os.environ.get("ANTHROPIC_API_KEY"))
    base_url = os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com (default)"
    detail = f"ANTHROPIC_API_KEY is {'set' if key_set else 'not set: AI features stay off'}; endpoint {base_url}"
    return [Check("api key", key_set, detail, required=False)]


def _frame(payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _read_frame(stream: Any) -> dict[str, Any]:
    length = 0
    while True:
        line = stream.readline()
        if not line:
            raise EOFError("the server closed its output")
        if line in (b"\r\n", b"\n"):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    result: dict[str, Any] = json.loads(stream.read(length))
    return result


def check_server_starts(workspace: Path) -> list[Check]:
    """Start the real server over stdio and complete an LSP initialize handshake."""
    command = [sys.executable, "-m", "ai_coding_router", "serve", "--log-level", "WARNING"]
    started = time.monotonic()
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        params = {"processId": os.getpid(), "rootUri": workspace.resolve().as_uri(), "capabilities": {}}
        sent = time.monotonic()
        proc.stdin.write(_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}))
        proc.stdin.flush()
        while True:
            message = _read_frame(proc.stdout)
            if message.get("id") == 1:
                break
        answered = time.monotonic()
        proc.stdin.write(_frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        proc.stdin.write(_frame({"jsonrpc": "2.0", "method": "exit"}))
        proc.stdin.flush()
        proc.wait(timeout=10)
    except Exception as error:
        proc.kill()
        stderr = proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""
        return [Check("server", False, f"did not complete initialize: {error} {stderr}")]
    capabilities = sorted(message.get("result", {}).get("capabilities", {}))
    detail = (
        f"initialize answered in {(answered - sent) * 1000:.0f} ms "
        f"({(answered - started) * 1000:.0f} ms after start); capabilities: {', '.join(capabilities)}"
    )
    return [Check("server", "result" in message, detail)]


def run(args: argparse.Namespace) -> int:
    workspace: Path = args.workspace
    groups: list[Callable[[], list[Check]]] = [
        check_python_packages,
        check_grammars,
        lambda: check_node_tools(workspace),
        lambda: check_config(workspace),
        check_api_key,
        lambda: check_server_starts(workspace),
    ]
    checks = [check for group in groups for check in group()]
    if args.json:
        print(json.dumps([check.__dict__ for check in checks], indent=2))
    else:
        for check in checks:
            mark = "ok  " if check.ok else ("FAIL" if check.required else "warn")
            print(f"[{mark}] {check.name}: {check.detail}")
    failed = [check for check in checks if check.required and not check.ok]
    if not args.json:
        print(f"\n{len(checks) - len(failed)} of {len(checks)} checks passed" + ("" if not failed else
              "; fix the FAIL lines above"))
    return 1 if failed else 0
