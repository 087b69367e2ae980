"""The real server over stdio: initialize, document sync, configuration reload, and no-key behaviour."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
from lsprotocol import types

from ai_coding_router.models.deprecations import sdk_deprecation_table

from .harness import CLIENTS, copy_workspace, lsp_session, open_document, server_env, server_state, wait_until

pytestmark = pytest.mark.parametrize("client_name", CLIENTS)


async def test_initialize_open_change_close(tmp_path: Path, client_name: str) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    async with lsp_session(workspace, client=client_name) as client:
        result = client.initialize_result  # type: ignore[attr-defined]
        assert result.server_info.name == "ai-coding-router"
        # UTF-16 whatever the client prefers (Neovim lists UTF-8 first).
        assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf16
        assert result.capabilities.text_document_sync.change == types.TextDocumentSyncKind.Incremental
        path = workspace / "src" / "user.ts"
        uri = open_document(client, path)
        text = path.read_text()
        # Incremental change after an emoji: UTF-16 counts 👋 as two units.
        insert = "// 👋 hi\n"
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=types.Position(line=1, character=0),
                                          end=types.Position(line=1, character=0)),
                        text=insert,
                    )
                ],
            )
        )
        # Replace "hi" after the emoji: UTF-16 columns 6..8 ("// " is 3 units, the emoji 2, the space 1).
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=3),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=types.Position(line=1, character=6),
                                          end=types.Position(line=1, character=8)),
                        text="yo",
                    )
                ],
            )
        )
        lines = text.splitlines(keepends=True)
        expected = "".join(lines[:1]) + "// 👋 yo\n" + "".join(lines[1:])
        state = await server_state(client)
        document = state["documents"][uri]
        assert document["version"] == 3
        assert document["sha256"] == hashlib.sha256(expected.encode()).hexdigest()
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        state = await server_state(client)
        assert uri not in state["documents"]


async def test_no_key_one_clear_message(tmp_path: Path, client_name: str) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    async with lsp_session(workspace, client=client_name, env=server_env(base_url="http://127.0.0.1:9")) as client:
        await wait_until(lambda: any("ANTHROPIC_API_KEY" in m.message for m in client.messages))
        state = await server_state(client)
        assert state["modelAvailable"] is False
        no_key = [m for m in client.messages if "ANTHROPIC_API_KEY" in m.message]
        assert len(no_key) == 1
        assert no_key[0].type == types.MessageType.Warning


async def test_config_file_reloaded_without_restart(tmp_path: Path, client_name: str) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    config_path = workspace / "ai-coding-router.config.yaml"
    config_path.write_text("routing:\n  max_latency_ms: 1500\n")
    async with lsp_session(workspace, client=client_name) as client:
        state = await server_state(client)
        assert state["config"]["routing"]["max_latency_ms"] == 1500
        config_path.write_text("routing:\n  max_latency_ms: 900\n")
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=config_path.as_uri(), type=types.FileChangeType.Changed)]
            )
        )
        state = await server_state(client)
        assert state["config"]["routing"]["max_latency_ms"] == 900

        # A broken file: a clear message naming the key and line; the last good config stays.
        config_path.write_text("routing:\n  max_latency_ms: 900\n  complexity_threshold: 4\n")
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=config_path.as_uri(), type=types.FileChangeType.Changed)]
            )
        )
        await wait_until(lambda: any("complexity_threshold (line 3)" in m.message for m in client.messages))
        state = await server_state(client)
        assert state["config"]["routing"]["complexity_threshold"] == 0.75
        assert state["config"]["routing"]["max_latency_ms"] == 900
        assert state["configError"]


async def test_a_deprecated_model_in_the_config_is_one_warning_per_model(tmp_path: Path, client_name: str) -> None:
    table = sdk_deprecation_table()
    assert len(table) >= 2, "the SDK's deprecation table lists fewer than two models: pick test models another way"
    first, second = list(table)[:2]
    workspace = copy_workspace(tmp_path / "ws")
    config_path = workspace / "ai-coding-router.config.yaml"
    config_path.write_text(f"routing:\n  default_model: {first}\n")
    async with lsp_session(workspace, client=client_name, env=server_env(api_key="sk-ant-test-0123456789")) as client:

        def warnings(model: str) -> list[str]:
            return [m.message for m in client.messages
                    if m.type == types.MessageType.Warning and f"'{model}'" in m.message]

        await wait_until(lambda: warnings(first), timeout=30)
        assert "routing.default_model" in warnings(first)[0] and table[first] in warnings(first)[0]
        # A reload that adds another deprecated model warns about that one; the first is not repeated.
        config_path.write_text(f"routing:\n  default_model: {first}\n  escalation_model: {second}\n")
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=config_path.as_uri(), type=types.FileChangeType.Changed)]
            )
        )
        await wait_until(lambda: warnings(second))
        assert "routing.escalation_model" in warnings(second)[0]
        assert len(warnings(first)) == 1


async def test_config_file_change_noticed_without_watcher(tmp_path: Path, client_name: str) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    config_path = workspace / "ai-coding-router.config.yaml"
    async with lsp_session(workspace, client=client_name) as client:
        config_path.write_text("context:\n  max_files: 3\n")

        async def max_files() -> int:
            return int((await server_state(client))["config"]["context"]["max_files"])

        # The server polls the file's mtime each second; allow a few polls.
        for _ in range(50):
            if await max_files() == 3:
                break
            await asyncio.sleep(0.2)
        assert await max_files() == 3


async def test_initialization_options_and_did_change_configuration(tmp_path: Path, client_name: str) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    options = {"aiCodingRouter": {"routing": {"complexity_threshold": 0.5}}, "workspaceTrusted": True}
    async with lsp_session(workspace, client=client_name, initialization_options=options) as client:
        state = await server_state(client)
        assert state["config"]["routing"]["complexity_threshold"] == 0.5
        assert state["workspaceTrusted"] is True
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"aiCodingRouter": {"context": {"max_files": 4}}})
        )
        state = await server_state(client)
        assert state["config"]["context"]["max_files"] == 4
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"aiCodingRouter": {"context": {"max_files": -4}}})
        )
        await wait_until(lambda: any("context.max_files" in m.message for m in client.messages))
        assert (await server_state(client))["config"]["context"]["max_files"] == 4


async def test_invalid_config_at_start_is_reported_and_defaults_serve(tmp_path: Path, client_name: str) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    (workspace / "ai-coding-router.config.yaml").write_text("routing: [not, a, mapping\n")
    async with lsp_session(workspace, client=client_name) as client:
        await wait_until(lambda: any("invalid YAML" in m.message for m in client.messages))
        state = await server_state(client)
        assert state["config"]["routing"]["max_latency_ms"] == 3000


async def test_line_breaks_follow_the_lsp_not_python(tmp_path: Path, client_name: str) -> None:
    """A form feed, U+2028 and NEL are not line breaks in LSP: an edit on line 1 lands on line 1."""
    workspace = copy_workspace(tmp_path / "ws")
    path = workspace / "src" / "odd.ts"
    path.write_text("const a = 1; // \f page \u2028 sep \x85 nel\nconst b = 2;\n", encoding="utf-8")
    async with lsp_session(workspace, client=client_name) as client:
        uri = open_document(client, path)
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=types.Position(line=1, character=6),
                                          end=types.Position(line=1, character=7)),
                        text="bee",
                    )
                ],
            )
        )
        expected = "const a = 1; // \f page \u2028 sep \x85 nel\nconst bee = 2;\n"
        state = await server_state(client)
        assert state["documents"][uri]["sha256"] == hashlib.sha256(expected.encode()).hexdigest()
