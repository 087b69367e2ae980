"""Interactive code actions: listed without a model call, resolved on the fast model inside the budget."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.fake_anthropic import FakeAnthropic, Reply

from .harness import CLIENTS, copy_workspace, lsp_session, open_document, server_env, server_state

FAST, DEEP = "claude-sonnet-4-6", "claude-opus-4-7"
KEY = "sk-ant-e2e-quickfix-0123456789"
pytestmark = pytest.mark.parametrize("client_name", CLIENTS)

LET_LINE = "  let total = 0;"


def block(path: str, search: str, replace: str) -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


def diagnostic() -> types.Diagnostic:
    return types.Diagnostic(range=types.Range(start=types.Position(12, 6), end=types.Position(12, 11)),
                            message="Variable 'total' is mutated in a loop", source="eslint", code="no-loop-mutation")


async def list_actions(client: LanguageClient, uri: str, rng: types.Range,
                       diagnostics: list[types.Diagnostic]) -> list[types.CodeAction]:
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=rng,
        context=types.CodeActionContext(diagnostics=diagnostics),
    ))
    return [a for a in actions or [] if isinstance(a, types.CodeAction)]


async def resolve(client: LanguageClient, action: types.CodeAction) -> tuple[types.CodeAction, float]:
    started = time.monotonic()
    resolved = await asyncio.wait_for(client.code_action_resolve_async(action), 20)
    return resolved, time.monotonic() - started


async def wait_until_ready(client: LanguageClient) -> None:
    for _ in range(200):
        if (await server_state(client))["indexReady"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the workspace index never became ready")


def fix_action(actions: list[types.CodeAction]) -> types.CodeAction:
    return next(a for a in actions if a.title.startswith("Fix with AI"))


async def test_resolve_returns_a_validated_versioned_edit_from_the_fast_model(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    reply = block("src/math.ts", "  let total = 0;\n  for (const value of values) {\n    total += value;\n  }\n"
                  "  return total;", "  return values.reduce((total, value) => total + value, 0);")
    fake_api.script(FAST, Reply(text=reply, ttft_s=0.1))
    env = server_env(base_url=fake_api.base_url, api_key=KEY)
    async with lsp_session(workspace, client=client_name, env=env) as client:
        uri = open_document(client, workspace / "src" / "math.ts")
        rng = types.Range(start=types.Position(12, 0), end=types.Position(12, 16))
        actions = await list_actions(client, uri, rng, [diagnostic()])
        assert fake_api.requests == []  # listing makes no model call
        action = fix_action(actions)
        assert action.edit is None and action.data is not None
        resolved, elapsed = await resolve(client, action)
        assert resolved.edit is not None, resolved.disabled
        change = resolved.edit.document_changes[0]
        assert change.text_document.version == 1
        assert "values.reduce" in change.edits[0].new_text
        # Resolving the same action again is served from the cache.
        again, _ = await resolve(client, action)
        assert again.edit is not None
    assert [r.model for r in fake_api.requests] == [FAST]
    assert elapsed < 3.0 + 1.0  # inside the default 3 s budget (plus process scheduling slack)


async def test_slow_model_turns_the_action_into_a_background_job(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    (workspace / "ai-coding-router.config.yaml").write_text("routing:\n  max_latency_ms: 500\n")
    fake_api.script(FAST, Reply(text=block("src/math.ts", LET_LINE, "  const total = 0;"), ttft_s=5.0))
    env = server_env(base_url=fake_api.base_url, api_key=KEY)
    async with lsp_session(workspace, client=client_name, env=env) as client:
        uri = open_document(client, workspace / "src" / "math.ts")
        rng = types.Range(start=types.Position(12, 0), end=types.Position(12, 16))
        action = fix_action(await list_actions(client, uri, rng, [diagnostic()]))
        resolved, elapsed = await resolve(client, action)
    assert resolved.edit is None
    assert resolved.command is not None and resolved.command.command == "aiCodingRouter.runTask"
    assert "background job" in resolved.title
    assert elapsed < 4.0  # it did not wait for the model's 5 s


async def test_a_reply_with_a_syntax_error_is_not_returned_as_an_edit(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    fake_api.script(FAST, Reply(text=block("src/math.ts", LET_LINE, "  const total = = 0 {;")))
    env = server_env(base_url=fake_api.base_url, api_key=KEY)
    async with lsp_session(workspace, client=client_name, env=env) as client:
        uri = open_document(client, workspace / "src" / "math.ts")
        rng = types.Range(start=types.Position(12, 0), end=types.Position(12, 16))
        action = fix_action(await list_actions(client, uri, rng, [diagnostic()]))
        resolved, _ = await resolve(client, action)
    assert resolved.edit is None
    assert resolved.disabled is not None and "syntax" in resolved.disabled.reason


async def test_a_security_scoped_selection_is_offered_as_a_deep_background_job(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    auth = workspace / "src" / "auth.ts"
    auth.write_text("import { createHash } from 'node:crypto';\n\nexport function hashPassword(p: string): string {\n"
                    "  return createHash('md5').update(p).digest('hex');\n}\n")
    env = server_env(base_url=fake_api.base_url, api_key=KEY)
    async with lsp_session(workspace, client=client_name, env=env) as client:
        uri = open_document(client, auth)
        await wait_until_ready(client)  # the index (security facts) is built in the background at start
        rng = types.Range(start=types.Position(2, 0), end=types.Position(4, 1))
        actions = await list_actions(client, uri, rng, [])
        rewrite = next(a for a in actions if a.title == "AI: Simplify")
        resolved, _ = await resolve(client, rewrite)
        assert resolved.command is not None and resolved.command.command == "aiCodingRouter.runTask"
        started = await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command=resolved.command.command, arguments=resolved.command.arguments))
        route = started["route"] if isinstance(started, dict) else started.route
        model = route["model"] if isinstance(route, dict) else route.model
        assert model == DEEP
    assert all(r.model != FAST for r in fake_api.requests)  # nothing was tried on the fast model first
