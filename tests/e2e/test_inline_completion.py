"""Inline completion end to end: the real server over stdio, the real SDK, the loopback fake API."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.fake_anthropic import FakeAnthropic, Reply

from .harness import (
    CLIENTS,
    capabilities_for,
    copy_workspace,
    ledger_calls,
    lsp_session,
    open_document,
    server_env,
    server_state,
    wait_until,
)

SONNET, OPUS = "claude-sonnet-4-6", "claude-opus-4-7"
KEY = "sk-ant-e2e-key-0123456789abcdef"
pytestmark = pytest.mark.parametrize("client_name", CLIENTS)

# src/user.ts line 11 is `  return { id, name, age: clamp(age, AGE_RANGE) };` in createUser; we complete
# inside greet's body, after `return `.
GREET_LINE = 15


def env_for(fake: FakeAnthropic) -> dict[str, str]:
    return server_env(base_url=fake.base_url, api_key=KEY)


def inline_params(uri: str, line: int, character: int, invoked: bool = True) -> types.InlineCompletionParams:
    kind = types.InlineCompletionTriggerKind.Invoked if invoked else types.InlineCompletionTriggerKind.Automatic
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
        context=types.InlineCompletionContext(trigger_kind=kind),
    )


def insert(client: LanguageClient, uri: str, version: int, line: int, character: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(line=line, character=character),
                                      end=types.Position(line=line, character=character)),
                    text=text,
                )
            ],
        )
    )


def blank_return(workspace: Path) -> tuple[Path, int, int]:
    """Make greet's body `  return ` with the cursor after it; return (path, line, character)."""
    path = workspace / "src" / "user.ts"
    text = path.read_text().replace("  return `Hello, ${user.name}!`;", "  return ")
    path.write_text(text)
    return path, GREET_LINE, len("  return ")


async def wait_ready(client: LanguageClient, flag: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not (await server_state(client))[flag]:
        assert time.monotonic() < deadline, f"server never reported {flag}"
        await asyncio.sleep(0.05)


async def complete(client: LanguageClient, uri: str, line: int, character: int, invoked: bool = True) -> list[str]:
    result = await asyncio.wait_for(
        client.text_document_inline_completion_async(inline_params(uri, line, character, invoked)), 20
    )
    items = result.items if isinstance(result, types.InlineCompletionList) else (result or [])
    return [item.insert_text if isinstance(item.insert_text, str) else item.insert_text.value for item in items]


async def test_completion_uses_the_fast_model_and_pruned_context(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    path, line, character = blank_return(workspace)
    fake_api.script(SONNET, Reply(text="<insert>`Hello, ${user.name}!`;</insert>"))
    async with lsp_session(workspace, client=client_name, env=env_for(fake_api)) as client:
        uri = open_document(client, path)
        await wait_ready(client, "indexReady")  # the prompt carries pruned context once the index is built
        assert await complete(client, uri, line, character) == ["`Hello, ${user.name}!`;"]
    request = fake_api.requests[0]
    assert request.model == SONNET  # pinned to the fast model
    assert request.body["stream"] is True
    system = "".join(block["text"] for block in request.body["system"])
    # The pruned context: signatures of what user.ts imports from math.ts, bodies elided, not whole files.
    assert "export function clamp(value: number, range: Range): number { … }" in system
    assert "total += value" not in system  # sum's body is not needed
    assert request.body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert request.body["max_tokens"] == 128


async def test_prompt_is_prepared_in_the_typing_pause(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    """After a keystroke and a pause the prompt for the cursor is built (again after the re-index); the
    explicit request uses it."""
    workspace = copy_workspace(tmp_path / "ws")
    path, line, character = blank_return(workspace)
    fake_api.script(SONNET, Reply(text="<insert>user.name;</insert>"))
    async with lsp_session(workspace, client=client_name, env=env_for(fake_api)) as client:
        uri = open_document(client, path)
        await wait_ready(client, "indexReady")
        await wait_ready(client, "modelReady")  # the SDK is loaded: the call is built in the pause too
        insert(client, uri, 2, line, character, "`${")
        await prompts_built(client, 1)
        # ~1.5 s into the pause the edited file is re-indexed: the prompt is built again with the new index.
        await prompts_built(client, 2)
        assert await complete(client, uri, line, character + 3) == ["user.name;"]
        status = (await server_state(client))["completion"]
    # The request built no prompt of its own, and it sent the call built in the pause. The re-index rebuilt
    # the same prompt text (user.ts's signatures did not change), so the call already waiting was kept.
    assert status == {"modelCalls": 1, "promptsBuilt": 2, "callsParked": 1, "parkedCallsTaken": 1,
                      "parkedCallsDropped": 0}
    assert len(fake_api.requests) == 1
    sent = fake_api.requests[0].body
    assert "return `${<|cursor|>" in sent["messages"][0]["content"]
    assert "export function clamp(value: number, range: Range): number { … }" in sent["system"][0]["text"]


async def prompts_built(client: LanguageClient, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while (await server_state(client))["completion"]["promptsBuilt"] < count:
        assert time.monotonic() < deadline, f"fewer than {count} prompts built"
        await asyncio.sleep(0.02)


async def test_security_scoped_code_still_uses_the_fast_model(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    path = workspace / "src" / "auth.ts"
    path.write_text(
        "import { createHash } from 'node:crypto';\nexport function hashPassword(p: string) {\n  return \n}\n"
    )
    fake_api.script(None, Reply(text="<insert>createHash('sha256').update(p).digest('hex');</insert>"))
    async with lsp_session(workspace, client=client_name, env=env_for(fake_api)) as client:
        uri = open_document(client, path)
        assert await complete(client, uri, 2, 9)
    assert [r.model for r in fake_api.requests] == [SONNET]


async def test_request_superseded_by_typing_closes_the_stream(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    path, line, character = blank_return(workspace)
    slow = Reply(text="<insert>" + "user.name + " * 60 + "'';</insert>", ttft_s=0.05, per_token_s=0.05)
    fake_api.script(SONNET, slow, Reply(text="<insert>user.name;</insert>"))
    async with lsp_session(workspace, client=client_name, env=env_for(fake_api)) as client:
        uri = open_document(client, path)
        first = asyncio.ensure_future(complete(client, uri, line, character))
        await fake_api.wait_for_requests_async(1, timeout=10)
        await asyncio.sleep(0.2)  # tokens are flowing
        # "(" does not continue the older suggestion ("user.name + …"), so its stream cannot be reused.
        typed_at = time.monotonic()
        insert(client, uri, 2, line, character, "(")
        second = await complete(client, uri, line, character + 1)
        assert await first == []  # the older request answers empty, not an error
        disconnected = await fake_api.wait_for_disconnect_async(0, timeout=5)
        assert disconnected.client_disconnected_at is not None
        assert disconnected.client_disconnected_at - typed_at < 1.0  # closed by the newer request, not a deadline
        assert disconnected.tokens_after_disconnect == 0
        assert disconnected.streamed_tokens < disconnected.planned_tokens
        assert second, "the newer request is answered"
    # The superseded call still billed its prompt: it is in the ledger as cancelled, beside the answered one.
    calls = ledger_calls(workspace)
    assert [c["outcome"] for c in calls] == ["cancelled", "ok"]
    assert all(c["task_kind"] == "inline_completion" and c["model"] == SONNET for c in calls)
    cancelled = calls[0]
    assert cancelled["input_tokens"] + cancelled["cache_write_tokens"] + cancelled["cache_read_tokens"] > 0
    assert 0 < cancelled["output_tokens"] <= disconnected.streamed_tokens + 1
    assert all(0 < c["latency_ms"] < 10_000 for c in calls)


async def test_cancel_request_closes_the_stream(tmp_path: Path, fake_api: FakeAnthropic, client_name: str) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    path, line, character = blank_return(workspace)
    fake_api.script(SONNET, Reply(text="<insert>" + "x + " * 200 + "1;</insert>", per_token_s=0.05))
    async with lsp_session(workspace, client=client_name, env=env_for(fake_api)) as client:
        uri = open_document(client, path)
        msg_id = "cancel-me"
        future = client.protocol.send_request(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(uri, line, character), msg_id=msg_id
        )
        await fake_api.wait_for_requests_async(1, timeout=10)
        await asyncio.sleep(0.2)
        cancelled_at = time.monotonic()
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
        with pytest.raises(Exception) as info:
            await asyncio.wait_for(asyncio.wrap_future(future), 10)
        assert "cancel" in str(info.value).lower() or "-32800" in str(info.value)
        record = await fake_api.wait_for_disconnect_async(0, timeout=5)
        assert record.client_disconnected_at is not None
        assert record.client_disconnected_at - cancelled_at < 1.0
        assert record.tokens_after_disconnect == 0
    assert [c["outcome"] for c in ledger_calls(workspace)] == ["cancelled"]


async def test_result_for_an_older_version_is_dropped(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    path, line, character = blank_return(workspace)
    fake_api.script(SONNET, Reply(text="<insert>user.name;</insert>", ttft_s=0.6))
    async with lsp_session(workspace, client=client_name, env=env_for(fake_api)) as client:
        uri = open_document(client, path)
        pending = asyncio.ensure_future(complete(client, uri, line, character))
        await fake_api.wait_for_requests_async(1, timeout=10)
        insert(client, uri, 2, 0, 0, "// edited elsewhere\n")  # the document moves on; no new request
        assert await pending == []
        assert len(fake_api.requests) == 1


async def test_budget_exceeded_returns_empty_in_time(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    path, line, character = blank_return(workspace)
    (workspace / "ai-coding-router.config.yaml").write_text("routing:\n  max_latency_ms: 400\n")
    fake_api.script(SONNET, Reply(text="<insert>user.name;</insert>", ttft_s=3.0))
    async with lsp_session(workspace, client=client_name, env=env_for(fake_api)) as client:
        uri = open_document(client, path)
        await wait_ready(client, "modelReady")  # the SDK is imported in the background; measure a warm server
        started = time.monotonic()
        assert await complete(client, uri, line, character) == []
        elapsed = time.monotonic() - started
        await fake_api.wait_for_disconnect_async(0, timeout=5)
    assert elapsed < 3.0  # answered at the budget, not when the model finally spoke


async def test_forward_typing_is_served_from_the_cache(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    path, line, character = blank_return(workspace)
    fake_api.script(SONNET, Reply(text="<insert>`Hi ${user.name}`;</insert>"))
    async with lsp_session(workspace, client=client_name, env=env_for(fake_api)) as client:
        uri = open_document(client, path)
        assert await complete(client, uri, line, character) == ["`Hi ${user.name}`;"]
        insert(client, uri, 2, line, character, "`Hi")
        assert await complete(client, uri, line, character + 3, invoked=False) == [" ${user.name}`;"]
    assert len(fake_api.requests) == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Here is the completion:\n```ts\n<insert>user.name;</insert>\n```", ["user.name;"]),
        ("<insert>user.name;\nuser.name;\nuser.name;\nuser.name;\nuser.name;</insert>", ["user.name;"]),
        ("I cannot help with that request.", []),
    ],
    ids=["prose-and-fence", "repeated-lines", "prose-only"],
)
async def test_garbage_output_is_cleaned_or_dropped(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str, raw: str, expected: list[str]
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    path, line, character = blank_return(workspace)
    fake_api.script(SONNET, Reply(text=raw))
    async with lsp_session(workspace, client=client_name, env=env_for(fake_api)) as client:
        uri = open_document(client, path)
        assert await complete(client, uri, line, character) == expected


async def test_completion_fallback_for_clients_without_inline_completion(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    path, line, character = blank_return(workspace)
    fake_api.script(SONNET, Reply(text="<insert>user.name;</insert>"))
    caps = capabilities_for(client_name, inline_completion=False)
    async with lsp_session(workspace, client=client_name, env=env_for(fake_api), capabilities=caps) as client:
        capabilities = client.initialize_result.capabilities  # type: ignore[attr-defined]
        assert capabilities.completion_provider is not None
        uri = open_document(client, path)
        result: Any = await client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line, character=character),
                context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked),
            )
        )
        items = result.items if isinstance(result, types.CompletionList) else result
        assert len(items) == 1
        assert items[0].label.startswith("✨ AI:")
        assert items[0].text_edit.new_text == "user.name;"


async def test_inline_capability_advertised_to_clients_that_have_it(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    async with lsp_session(workspace, client=client_name, env=env_for(fake_api)) as client:
        capabilities = client.initialize_result.capabilities  # type: ignore[attr-defined]
        assert capabilities.inline_completion_provider is not None
        assert capabilities.completion_provider is None  # no duplicate suggestions in the suggest widget


async def test_no_key_one_message_and_empty_results(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    path, line, character = blank_return(workspace)
    async with lsp_session(workspace, client=client_name, env=server_env(base_url=fake_api.base_url)) as client:
        uri = open_document(client, path)
        for _ in range(3):
            assert await complete(client, uri, line, character) == []
        await wait_until(lambda: any("ANTHROPIC_API_KEY" in m.message for m in client.messages))
        assert sum("ANTHROPIC_API_KEY" in m.message for m in client.messages) == 1
    assert fake_api.requests == []
