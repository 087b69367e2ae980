"""Pay the protocol's first-use costs at start-up instead of on the user's first keystroke.

pygls decodes and encodes messages through a cattrs converter that generates a structure or unstructure
function per message type the first time it meets one: 0.8–2.4 ms for each of the first inline completion,
didChange, completion, code action and their answers (measured on this machine). The first suggestion a
user asks for, and the first keystrokes, would pay all of that inside the latency budget. Decoding and
encoding one sample of each message on the interactive path once, at start-up, generates them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from lsprotocol import types
from pygls.protocol import JsonRPCProtocol

log = logging.getLogger(__name__)

_URI = "file:///warm-up/a.ts"
_POSITION = {"line": 0, "character": 0}
_RANGE = {"start": _POSITION, "end": _POSITION}
_TEXT_DOCUMENT = {"uri": _URI}

# One message of each kind on the interactive path, as clients send them.
SAMPLE_MESSAGES: list[dict[str, Any]] = [
    {"jsonrpc": "2.0", "id": 0, "method": types.TEXT_DOCUMENT_INLINE_COMPLETION, "params": {
        "textDocument": _TEXT_DOCUMENT, "position": _POSITION, "context": {"triggerKind": 2}}},
    {"jsonrpc": "2.0", "id": 0, "method": types.TEXT_DOCUMENT_COMPLETION, "params": {
        "textDocument": _TEXT_DOCUMENT, "position": _POSITION, "context": {"triggerKind": 1}}},
    {"jsonrpc": "2.0", "id": 0, "method": types.TEXT_DOCUMENT_CODE_ACTION, "params": {
        "textDocument": _TEXT_DOCUMENT, "range": _RANGE, "context": {"diagnostics": [
            {"range": _RANGE, "message": "m", "severity": 1, "source": "ts", "code": 2304}]}}},
    {"jsonrpc": "2.0", "method": types.TEXT_DOCUMENT_DID_CHANGE, "params": {
        "textDocument": {"uri": _URI, "version": 2},
        "contentChanges": [{"range": _RANGE, "text": "a"}]}},
    {"jsonrpc": "2.0", "method": types.CANCEL_REQUEST, "params": {"id": 0}},
]


def _sample_answers() -> list[Any]:
    """The answers those requests get (a union's member is chosen per value, so each shape we send)."""
    at = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
    inline = types.InlineCompletionList(items=[types.InlineCompletionItem(insert_text="x", range=at)])
    completion = types.CompletionList(is_incomplete=True, items=[types.CompletionItem(
        label="x", kind=types.CompletionItemKind.Snippet, detail="d",
        documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value="x"),
        text_edit=types.TextEdit(range=at, new_text="x"), insert_text_format=types.InsertTextFormat.PlainText,
        sort_text="0")])
    action = types.CodeAction(title="t", kind=types.CodeActionKind.QuickFix, data={"k": 1})
    return [
        types.InlineCompletionResponse(id=0, result=inline),
        types.InlineCompletionResponse(id=0, result=types.InlineCompletionList(items=[])),
        types.CompletionResponse(id=0, result=completion),
        types.CodeActionResponse(id=0, result=[action]),
    ]


async def warm_protocol(protocol: JsonRPCProtocol) -> None:
    """Decode and encode one sample of each interactive message through ``protocol``'s converter.

    On the event loop (the converter's caches are not meant to be filled from two threads at once), one
    message per turn of the loop, so a keystroke arriving meanwhile waits for one (≤ 2.5 ms), not all."""
    try:
        # Twice: cattrs registers a hook for each new list or mapping type, and each registration empties its
        # cache of the functions generated so far; the second pass fills it again and registers nothing.
        for _ in range(2):
            for message in SAMPLE_MESSAGES:
                # pygls's decoding itself: the router's override would answer the client if a sample failed.
                json.loads(json.dumps(message),
                           object_hook=lambda data: JsonRPCProtocol.structure_message(protocol, data))
                await asyncio.sleep(0)
            for answer in _sample_answers():
                json.dumps(answer, default=protocol._serialize_message)  # what pygls's _send_data does
                await asyncio.sleep(0)
    except Exception:  # an optimisation only: the first real message would generate the same functions
        log.warning("warming the protocol's converter failed", exc_info=True)
