"""Background jobs and code actions end to end: runTask → $/progress → versioned workspace/applyEdit."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from ai_coding_router.edits import TextEdit, apply_text_edits
from ai_coding_router.edits.positions import Position, Range
from tests.fake_anthropic import FakeAnthropic, Reply

from .harness import (
    CLIENTS,
    as_plain,
    copy_workspace,
    ledger_calls,
    lsp_session,
    open_document,
    server_env,
    server_state,
)

FAST, DEEP = "claude-sonnet-4-6", "claude-opus-4-7"
KEY = "sk-ant-e2e-jobs-0123456789abcdef"
pytestmark = pytest.mark.parametrize("client_name", CLIENTS)

SUM_BODY = "  let total = 0;\n  for (const value of values) {\n    total += value;\n  }\n  return total;"
SUM_REDUCE = "  return values.reduce((total, value) => total + value, 0);"
SUM_RANGE = {"start": {"line": 11, "character": 0}, "end": {"line": 17, "character": 1}}


def block(path: str, search: str, replace: str) -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


class EditRecorder:
    """Answers workspace/applyEdit like an editor: applies versioned edits only to the version they name."""

    def __init__(self, client: LanguageClient) -> None:
        self.client = client
        self.received: list[types.ApplyWorkspaceEditParams] = []
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.applied = asyncio.Event()

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            self.received.append(params)
            for change in params.edit.document_changes or []:
                if not isinstance(change, types.TextDocumentEdit):
                    continue
                uri = change.text_document.uri
                if change.text_document.version is not None and change.text_document.version != self.versions[uri]:
                    return types.ApplyWorkspaceEditResult(applied=False, failure_reason="version mismatch")
                edits = [
                    TextEdit(Range(Position(e.range.start.line, e.range.start.character),
                                   Position(e.range.end.line, e.range.end.character)), e.new_text)
                    for e in change.edits if isinstance(e, types.TextEdit | types.AnnotatedTextEdit)
                ]
                self.texts[uri] = apply_text_edits(self.texts[uri], edits)
                self.versions[uri] += 1
            self.applied.set()
            return types.ApplyWorkspaceEditResult(applied=True)

    def open(self, path: Path) -> str:
        uri = open_document(self.client, path)
        self.texts[uri], self.versions[uri] = path.read_text(), 1
        return uri

    def type(self, uri: str, line: int, character: int, text: str) -> None:
        self.versions[uri] += 1
        position = types.Position(line=line, character=character)
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(start=position, end=position), text=text)],
        ))
        lines = self.texts[uri].split("\n")
        lines[line] = lines[line][:character] + text + lines[line][character:]
        self.texts[uri] = "\n".join(lines)


async def execute(client: LanguageClient, command: str, *arguments: Any) -> Any:
    result = await asyncio.wait_for(client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=list(arguments))), 20)
    return as_plain(result)


async def run_task(client: LanguageClient, argument: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = await execute(client, "aiCodingRouter.runTask", argument)
    return result


async def job(client: LanguageClient, job_id: str, timeout: float = 60) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        jobs = await execute(client, "aiCodingRouter.listJobs")
        found = next((j for j in jobs if j["jobId"] == job_id), None)
        if found and found["status"] not in ("queued", "running"):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def env_for(fake: FakeAnthropic) -> dict[str, str]:
    return server_env(base_url=fake.base_url, api_key=KEY)


async def test_single_file_task_routed_fast_and_applied_with_its_version(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    fake_api.script(FAST, Reply(text=block("src/math.ts", SUM_BODY, SUM_REDUCE)))
    async with lsp_session(workspace, client=client_name, env=env_for(fake_api)) as client:
        editor = EditRecorder(client)
        uri = editor.open(workspace / "src" / "math.ts")
        started = await run_task(client, {"uri": uri, "range": SUM_RANGE, "kind": "refactor",
                                           "instruction": "Use reduce."})
        assert started["route"]["model"] == FAST
        assert any(r.startswith("kind=refactor") for r in started["route"]["reasons"])
        await asyncio.wait_for(editor.applied.wait(), 60)
        finished = await job(client, started["jobId"])
        assert finished["status"] == "validated"
        change = editor.received[0].edit.document_changes[0]
        assert change.text_document.version == 1  # the version the job started from
        assert SUM_REDUCE in editor.texts[uri] and "total += value" not in editor.texts[uri]
        # Progress: a server-created token, begun, reported by stage, ended.
        kinds = [getattr(p, "kind", None) for reports in client.progress_reports.values() for p in reports]
        assert kinds[0] == "begin" and kinds[-1] == "end" and "report" in kinds
        assert (workspace / "src" / "math.ts").read_text() != editor.texts[uri]  # the editor applies, not us


async def test_user_typing_during_a_job_is_never_overwritten(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    slow = Reply(text=block("src/math.ts", SUM_BODY, SUM_REDUCE), ttft_s=0.8)
    fake_api.script(FAST, slow, slow)
    async with lsp_session(workspace, client=client_name, env=env_for(fake_api)) as client:
        editor = EditRecorder(client)
        uri = editor.open(workspace / "src" / "math.ts")
        # Job 1: the user types far from the job's lines: the result is rebased and applied.
        started = await run_task(client, {"uri": uri, "range": SUM_RANGE, "kind": "refactor"})
        await fake_api.wait_for_requests_async(1, timeout=20)
        editor.type(uri, 0, 0, "// typed during the job\n")
        await asyncio.wait_for(editor.applied.wait(), 60)
        assert editor.texts[uri].startswith("// typed during the job\n")
        assert SUM_REDUCE in editor.texts[uri]
        assert editor.received[0].edit.document_changes[0].text_document.version == 2
        # Job 2 on the original lines, while the user types inside them: held back, their text kept.
        editor.applied.clear()
        before_messages = len(client.messages)
        started = await run_task(client, {"uri": uri, "range": SUM_RANGE, "kind": "refactor"})
        await fake_api.wait_for_requests_async(2, timeout=20)
        line = editor.texts[uri].split("\n").index("  return values.reduce((total, value) => total + value, 0);")
        editor.type(uri, line, 2, "/* mine */ ")
        finished = await job(client, started["jobId"])
        await asyncio.sleep(0.5)
        assert "/* mine */" in editor.texts[uri]
        assert len(editor.received) == 1  # nothing sent for job 2
        assert finished["applicable"] is False or any(
            "held back" in m.message or "did not apply" in m.message or "failed" in m.message
            for m in client.messages[before_messages:]
        )


async def test_cancel_job_mid_stream_closes_the_stream_and_leaves_no_edit(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    fake_api.script(FAST, Reply(text=block("src/math.ts", SUM_BODY, SUM_REDUCE) + "x " * 400, per_token_s=0.02))
    async with lsp_session(workspace, client=client_name, env=env_for(fake_api)) as client:
        editor = EditRecorder(client)
        uri = editor.open(workspace / "src" / "math.ts")
        started = await run_task(client, {"uri": uri, "range": SUM_RANGE, "kind": "refactor"})
        await fake_api.wait_for_requests_async(1, timeout=20)
        await asyncio.sleep(0.3)
        cancelled = await execute(client, "aiCodingRouter.cancelJob", {"jobId": started["jobId"]})
        assert cancelled["cancelled"] is True
        record = await fake_api.wait_for_disconnect_async(0, timeout=5)
        assert record.tokens_after_disconnect == 0
        finished = await job(client, started["jobId"])
        assert finished["status"] == "cancelled"
        await asyncio.sleep(0.3)
        assert editor.received == []
    # The generate call was cut mid-answer: still in the ledger, as cancelled, with the prompt it billed.
    calls = ledger_calls(workspace)
    assert [(c["role"], c["outcome"]) for c in calls] == [("generate", "cancelled")]
    call = calls[0]
    assert call["input_tokens"] + call["cache_write_tokens"] + call["cache_read_tokens"] > 0
    assert 0 < call["output_tokens"] <= record.streamed_tokens + 1


async def test_path_traversal_in_a_reply_is_refused(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    outside = tmp_path / "evil.ts"
    evil = block("../evil.ts", "", "export const pwned = true;")
    fake_api.set_default(Reply(text=evil))
    async with lsp_session(workspace, client=client_name, env=env_for(fake_api)) as client:
        editor = EditRecorder(client)
        uri = editor.open(workspace / "src" / "math.ts")
        started = await run_task(client, {"uri": uri, "range": SUM_RANGE, "kind": "refactor"})
        finished = await job(client, started["jobId"])
        assert finished["status"] == "failed"
        assert editor.received == []
        # The findings reach the editor as diagnostics of our own source, at the lines the job worked on.
        for _ in range(100):
            if client.diagnostics.get(uri):
                break
            await asyncio.sleep(0.05)
        diagnostics = client.diagnostics[uri]
        assert diagnostics and all(d.source == "ai-coding-router" for d in diagnostics)
        assert diagnostics[0].range.start.line == SUM_RANGE["start"]["line"]
        assert "not applied" in diagnostics[0].message
    assert not outside.exists()
    repairs = [str(r.body) for r in fake_api.requests[1:]]
    assert repairs and all("../evil.ts" in body for body in repairs)  # the repair was told which block failed


async def test_security_task_goes_to_the_deep_model(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    auth = workspace / "src" / "auth.ts"
    auth.write_text("import { createHash } from 'node:crypto';\n\nexport function hashPassword(p: string): string {\n"
                    "  return createHash('md5').update(p).digest('hex');\n}\n")
    fake_api.set_default(Reply(text="NO CHANGES: reviewed."))
    async with lsp_session(workspace, client=client_name, env=env_for(fake_api)) as client:
        uri = open_document(client, auth)
        rng = {"start": {"line": 2, "character": 0}, "end": {"line": 4, "character": 1}}
        started = await run_task(client, {"uri": uri, "range": rng, "kind": "security-review"})
        assert started["route"]["model"] == DEEP
        await job(client, started["jobId"])
    assert fake_api.requests and fake_api.requests[0].model == DEEP


async def test_code_actions_list_without_a_model_call(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    async with lsp_session(workspace, client=client_name, env=env_for(fake_api)) as client:
        uri = open_document(client, workspace / "src" / "math.ts")
        diagnostic = types.Diagnostic(range=types.Range(start=types.Position(12, 2), end=types.Position(12, 5)),
                                      message="'total' is never reassigned", source="eslint", code="prefer-const")
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(11, 0), end=types.Position(17, 1)),
            context=types.CodeActionContext(diagnostics=[diagnostic]),
        ))
        titles = [a.title for a in actions or []]
        assert any(t.startswith("Fix with AI: 'total' is never reassigned") for t in titles)
        assert any("Generate tests" in t for t in titles)
        assert (await server_state(client))["modelAvailable"] is True
    assert fake_api.requests == []


async def test_cancel_from_the_progress_notification(
    tmp_path: Path, fake_api: FakeAnthropic, client_name: str
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    fake_api.script(FAST, Reply(text=block("src/math.ts", SUM_BODY, SUM_REDUCE) + "x " * 400, per_token_s=0.02))
    async with lsp_session(workspace, client=client_name, env=env_for(fake_api)) as client:
        editor = EditRecorder(client)
        uri = editor.open(workspace / "src" / "math.ts")
        started = await run_task(client, {"uri": uri, "range": SUM_RANGE, "kind": "refactor"})
        await fake_api.wait_for_requests_async(1, timeout=20)
        [token] = list(client.progress_reports)
        client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
        await fake_api.wait_for_disconnect_async(0, timeout=5)
        finished = await job(client, started["jobId"])
        assert finished["status"] == "cancelled"
        await asyncio.sleep(0.3)
        assert editor.received == []
