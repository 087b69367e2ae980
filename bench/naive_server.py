"""The naive baseline for bench/interactive.py: an inline-completion server with no debounce, no cancel,
no cache. It uses the same prompt, model client and cleaning as ai-coding-router, so the figures differ
only by what the real server adds. Run: python bench/naive_server.py (stdio)."""

from __future__ import annotations

import asyncio

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from ai_coding_router.completion.postprocess import clean_completion
from ai_coding_router.completion.prompt import build_completion_request
from ai_coding_router.models.anthropic_client import AnthropicModelClient

server = LanguageServer("naive-baseline", "0")
client = AnthropicModelClient()
background: set[asyncio.Task[object]] = set()


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def inline_completion(ls: LanguageServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
    document = ls.workspace.get_text_document(params.text_document.uri)
    source = document.source
    offset = document.offset_at_position(params.position)
    prefix, suffix = source[:offset], source[offset:]
    request = build_completion_request(
        path=document.path, language_id="typescript", prefix=prefix, suffix=suffix, context_snippets=(),
        model="claude-sonnet-4-6", max_tokens=128, deadline_s=30.0,
    )
    # No cancellation: a cancelled request's stream runs to the end, as in a server that ignores it.
    task = asyncio.ensure_future(client.complete(request))
    background.add(task)
    task.add_done_callback(background.discard)
    result = await asyncio.shield(task)
    text = clean_completion(result.text, prefix=prefix, suffix=suffix, language_id="typescript")
    if not text:
        return types.InlineCompletionList(items=[])
    at = types.Range(start=params.position, end=params.position)
    return types.InlineCompletionList(items=[types.InlineCompletionItem(insert_text=text, range=at)])


if __name__ == "__main__":
    server.start_io()
