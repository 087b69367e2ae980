"""Start-up generates the converter functions of the interactive messages (lsp/warm.py): the first
inline completion a user asks for decodes and encodes like the hundredth."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from lsprotocol import types

from ai_coding_router.lsp.server import create_server
from ai_coding_router.lsp.warm import SAMPLE_MESSAGES, warm_protocol

REQUEST = {"jsonrpc": "2.0", "id": 41, "method": types.TEXT_DOCUMENT_INLINE_COMPLETION, "params": {
    "textDocument": {"uri": "file:///w/src/main.ts"}, "position": {"line": 12, "character": 4},
    "context": {"triggerKind": 1}}}


def python_calls(work: Callable[[], Any]) -> int:
    """How many Python functions ``work`` runs: generating a converter function takes hundreds."""
    calls = 0

    def count(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(count)
    try:
        work()
    finally:
        sys.setprofile(None)
    return calls


def first_request_and_answer(warm: bool) -> int:
    protocol = create_server().protocol
    if warm:
        asyncio.run(warm_protocol(protocol))

    def handle() -> None:
        message = json.loads(json.dumps(REQUEST), object_hook=protocol.structure_message)
        at = types.Range(start=message.params.position, end=message.params.position)
        answer = types.InlineCompletionResponse(id=message.id, result=types.InlineCompletionList(
            items=[types.InlineCompletionItem(insert_text="return 1;", range=at)]))
        json.dumps(answer, default=protocol._serialize_message)

    return python_calls(handle)


def test_after_start_up_the_first_inline_completion_generates_nothing() -> None:
    cold, warmed = first_request_and_answer(warm=False), first_request_and_answer(warm=True)
    # Both the same work; measured here 2,000+ calls cold and ~60 warmed.
    assert warmed < 150 < cold


def test_after_start_up_the_first_keystroke_decodes_without_generating() -> None:
    did_change = {"jsonrpc": "2.0", "method": types.TEXT_DOCUMENT_DID_CHANGE, "params": {
        "textDocument": {"uri": "file:///w/src/main.ts", "version": 9}, "contentChanges": [{"range": {
            "start": {"line": 3, "character": 1}, "end": {"line": 3, "character": 1}}, "text": "x"}]}}
    counts = []
    for warm in (False, True):
        protocol = create_server().protocol
        if warm:
            asyncio.run(warm_protocol(protocol))
        counts.append(python_calls(
            lambda protocol=protocol: json.loads(json.dumps(did_change), object_hook=protocol.structure_message)))
    cold, warmed = counts
    assert warmed < 100 < cold


def test_every_sample_is_a_message_the_protocol_accepts() -> None:
    protocol = create_server().protocol
    for sample in SAMPLE_MESSAGES:
        message = json.loads(json.dumps(sample), object_hook=protocol.structure_message)
        assert getattr(message, "method", None) == sample["method"]
        assert type(message).__name__ != "JsonRPCRequestMessage"  # a typed LSP message, not the fallback
