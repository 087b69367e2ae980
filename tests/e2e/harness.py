"""Start the real server as a subprocess, driven by pytest-lsp's client, against a temporary workspace."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

FIXTURE_WORKSPACE = Path(__file__).resolve().parents[1] / "fixtures" / "workspace"
SERVER_COMMAND = [sys.executable, "-m", "ai_coding_router", "serve", "--log-level", "DEBUG"]

# Client capability sets the suite runs with: what VS Code and Neovim really send.
CLIENTS = ("visual-studio-code", "neovim")


def server_env(base_url: str | None = None, api_key: str | None = None, **extra: str) -> dict[str, str]:
    """The server's environment: ours, minus any real key from the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    if base_url is not None:
        env["ANTHROPIC_BASE_URL"] = base_url
    if api_key is not None:
        env["ANTHROPIC_API_KEY"] = api_key
    env.update(extra)
    return env


def copy_workspace(target: Path, source: Path = FIXTURE_WORKSPACE) -> Path:
    shutil.copytree(source, target, dirs_exist_ok=True)
    return target


def capabilities_for(client: str, *, inline_completion: bool = True) -> types.ClientCapabilities:
    """Real client capabilities from pytest-lsp's recordings, plus inline completion when the client has it.

    VS Code (vscode-languageclient 10) and Neovim 0.12 send inline-completion capabilities; the recordings
    shipped with pytest-lsp predate LSP 3.18, so it is added here.
    """
    caps = client_capabilities(client)
    if inline_completion:
        text = caps.text_document or types.TextDocumentClientCapabilities()
        text = attrs.evolve(text, inline_completion=types.InlineCompletionClientCapabilities())
        caps = attrs.evolve(caps, text_document=text)
    return caps


@contextlib.asynccontextmanager
async def lsp_session(
    workspace: Path,
    *,
    client: str = "visual-studio-code",
    env: dict[str, str] | None = None,
    initialization_options: Any = None,
    capabilities: types.ClientCapabilities | None = None,
) -> AsyncIterator[LanguageClient]:
    """An initialized session with the real server; shut down cleanly afterwards."""
    config = ClientServerConfig(server_command=SERVER_COMMAND, server_env=env or server_env())
    lsp_client = await config.start()
    assert isinstance(lsp_client, LanguageClient)
    try:
        lsp_client.initialize_result = await lsp_client.initialize_session(  # type: ignore[attr-defined]
            types.InitializeParams(
                capabilities=capabilities or capabilities_for(client),
                root_uri=workspace.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name=workspace.name)],
                initialization_options=initialization_options,
                client_info=types.ClientInfo(name=client),
            )
        )
        yield lsp_client
    finally:
        # Shut down even when the test failed, or stopping the client waits for the server forever.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(lsp_client.shutdown_session(), timeout=10)
        server = getattr(lsp_client, "_server", None)
        if server is not None and server.returncode is None:
            server.kill()
        await asyncio.wait_for(lsp_client.stop(), timeout=10)


def as_plain(value: Any) -> Any:
    """pygls hands results of custom requests back as named tuples; turn them into plain data."""
    if hasattr(value, "_asdict"):
        return {k: as_plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: as_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_plain(v) for v in value]
    return value


async def request(lsp_client: LanguageClient, method: str, params: Any = None, timeout: float = 15.0) -> Any:
    """A custom request, its result as plain data."""
    result = await asyncio.wait_for(lsp_client.protocol.send_request_async(method, params or {}), timeout)
    return as_plain(result)


async def server_state(lsp_client: LanguageClient) -> dict[str, Any]:
    state: dict[str, Any] = await request(lsp_client, "aiCodingRouter/serverStatus")
    state["documents"] = {d["uri"]: d for d in state["documents"]}
    return state


async def wait_until(predicate: Any, timeout: float = 10.0, interval: float = 0.02) -> None:
    """Poll a condition (explicit waits, never bare sleeps)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


def open_document(lsp_client: LanguageClient, path: Path, language_id: str = "typescript", version: int = 1) -> str:
    uri = path.as_uri()
    lsp_client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id=language_id, version=version, text=path.read_text(encoding="utf-8")
            )
        )
    )
    return uri


def ledger_calls(workspace: Path) -> list[dict[str, Any]]:
    """The calls the server wrote to its default ledger (read after the session ended), oldest first."""
    path = workspace / ".ai-coding-router" / "ledger.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM calls ORDER BY id")]
