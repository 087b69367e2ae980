"""The router dispatches each message to pygls's request or notification path without isinstance checks
against pygls's runtime Protocols (70–140 µs each after an idle pause; lsp/dispatch.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pygls.lsp.server import LanguageServer
from pygls.protocol import json_rpc

from ai_coding_router.lsp.dispatch import message_kind
from ai_coding_router.lsp.server import create_server

MESSAGES: list[dict[str, Any]] = [
    {"jsonrpc": "2.0", "id": 1, "method": "textDocument/inlineCompletion", "params": {
        "textDocument": {"uri": "file:///w/a.ts"}, "position": {"line": 0, "character": 0},
        "context": {"triggerKind": 1}}},
    {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": "file:///w/a.ts", "version": 2},
        "contentChanges": [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                            "text": "a"}]}},
    {"jsonrpc": "2.0", "id": "s", "method": "shutdown"},
    {"jsonrpc": "2.0", "method": "exit"},
    {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 1}},
    {"jsonrpc": "2.0", "id": 7, "method": "custom/unknownRequest", "params": {"x": 1}},
    {"jsonrpc": "2.0", "method": "custom/unknownNotification", "params": [1, 2]},
    {"jsonrpc": "2.0", "id": 3, "result": None},
    {"jsonrpc": "2.0", "id": 4, "result": {"applied": True}},
    {"jsonrpc": "2.0", "id": 5, "error": {"code": -32601, "message": "no"}},
]


def pygls_kind(message: Any) -> str:
    """The branch pygls's own handle_message takes."""
    if isinstance(message, json_rpc.RPCRequest):
        return "request"
    if isinstance(message, json_rpc.RPCNotification):
        return "notification"
    if isinstance(message, json_rpc.RPCResponse):
        return "response"
    return "error"


@pytest.mark.parametrize("raw", MESSAGES, ids=lambda m: str(m.get("method", m.get("id"))))
def test_each_message_takes_the_branch_pygls_would_take(raw: dict[str, Any]) -> None:
    protocol = LanguageServer("t", "1").protocol
    message = json.loads(json.dumps(raw), object_hook=protocol.structure_message)
    assert message_kind(message) == pygls_kind(message)


class _Counting(type):
    checks = 0

    def __instancecheck__(cls, instance: object) -> bool:
        _Counting.checks += 1
        return False


class _Writer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.sent.append(json.loads(data.split(b"\r\n\r\n", 1)[1]))


async def test_requests_and_notifications_are_handled_without_protocol_isinstance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = create_server()
    writer = _Writer()
    server.protocol.set_writer(writer)  # type: ignore[arg-type]

    def receive(raw: dict[str, Any]) -> None:
        server.protocol.handle_message(json.loads(json.dumps(raw), object_hook=server.protocol.structure_message))

    receive({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}})
    await asyncio.sleep(0.05)
    assert any(reply.get("id") == 1 and "capabilities" in reply.get("result", {}) for reply in writer.sent)
    # From here on pygls's Protocol classes answer False and count: a message that reached them would be
    # dropped (no answer, no document).
    monkeypatch.setattr(json_rpc, "RPCRequest", _Counting("RPCRequest", (), {}))
    monkeypatch.setattr(json_rpc, "RPCNotification", _Counting("RPCNotification", (), {}))
    uri = (tmp_path / "a.ts").as_uri()
    receive({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "typescript", "version": 1, "text": "const a = 1;\n"}}})
    receive({"jsonrpc": "2.0", "id": 2, "method": "aiCodingRouter/serverStatus", "params": {}})
    for _ in range(100):
        await asyncio.sleep(0.01)
        if any(reply.get("id") == 2 for reply in writer.sent):
            break
    try:
        assert server.workspace.text_documents.get(uri) is not None
        assert any(reply.get("id") == 2 and "result" in reply for reply in writer.sent)
        assert _Counting.checks == 0
    finally:
        await server.aclose()
