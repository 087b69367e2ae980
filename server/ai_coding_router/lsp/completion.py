"""Inline completion (LSP 3.18) and its `textDocument/completion` fallback: protocol ⇄ CompletionService."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.uris import to_fs_path

from ..completion.service import MAX_CONTEXT_DOCUMENT_CHARS, CompletionAnswer, CompletionQuery, Trigger
from ..edits.positions import LineIndex, end_position
from ..edits.positions import Position as EditPosition
from ..errors import ModelUnavailable
from ..models.anthropic_client import NO_KEY_MESSAGE
from .documents import RouterTextDocument

if TYPE_CHECKING:
    from .server import RouterServer

log = logging.getLogger(__name__)

LANGUAGE_BY_SUFFIX = {
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "typescriptreact",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascriptreact",
}
FALLBACK_LABEL_PREFIX = "✨ AI: "


def snapshot(
    ls: RouterServer, uri: str, position: types.Position, trigger: Trigger
) -> CompletionQuery | None:
    """Copy what the request needs out of the live document before the first ``await``."""
    document = ls.workspace.text_documents.get(uri)
    if document is None:
        return None
    source = document.source
    index = document.line_index if isinstance(document, RouterTextDocument) else LineIndex(source)
    # Past-the-end positions are clamped to the end of the line / document, as clients clamp them.
    offset = index.offset(EditPosition(position.line, position.character))
    path = to_fs_path(uri) or uri
    suffix = "." + path.rsplit(".", 1)[-1] if "." in path else ""
    language_id = document.language_id or LANGUAGE_BY_SUFFIX.get(suffix, "typescript")
    return CompletionQuery(
        uri=uri,
        path=path,
        language_id=language_id,
        version=document.version or 0,
        prefix=source[:offset],
        suffix=source[offset:],
        trigger=trigger,
    )


def cursor_after(changes: Sequence[types.TextDocumentContentChangeEvent]) -> types.Position | None:
    """Where the cursor most likely is after a didChange: the end of the last incremental change's text."""
    if not changes:
        return None
    last = changes[-1]
    if not isinstance(last, types.TextDocumentContentChangePartial):
        return None  # the whole text was replaced: no cursor to infer
    start = last.range.start
    end = end_position(EditPosition(start.line, start.character), last.text)
    return types.Position(line=end.line, character=end.character)


def snapshot_for_prepare(ls: RouterServer, uri: str, position: types.Position) -> CompletionQuery | None:
    """The query an explicit request at ``position`` would make; None for documents too large to prepare."""
    document = ls.workspace.text_documents.get(uri)
    if document is None or len(document.source) > MAX_CONTEXT_DOCUMENT_CHARS:
        return None
    return snapshot(ls, uri, position, "invoked")


def _is_current(ls: RouterServer, query: CompletionQuery) -> bool:
    document = ls.workspace.text_documents.get(query.uri)
    return document is not None and (document.version or 0) == query.version


async def _answer(ls: RouterServer, query: CompletionQuery | None) -> CompletionAnswer | None:
    if query is None:
        return None
    services = ls.services
    try:
        answer = await services.completion.complete(query, lambda: _is_current(ls, query))
    except ModelUnavailable:
        ls.show_once("no-key", NO_KEY_MESSAGE)
        return None
    log.debug("inline completion %s: %s", answer.source, answer.reason)
    if answer.model:
        ls.note_model_used(answer.model)
    return answer if answer.text else None


def register(server: RouterServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: RouterServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList:
        invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
        query = snapshot(ls, params.text_document.uri, params.position, "invoked" if invoked else "automatic")
        answer = await _answer(ls, query)
        if answer is None or answer.text is None or query is None:
            return types.InlineCompletionList(items=[])
        at = types.Range(start=params.position, end=params.position)
        return types.InlineCompletionList(items=[types.InlineCompletionItem(insert_text=answer.text, range=at)])


def _documentation(ls: RouterServer, text: str) -> types.MarkupContent | str:
    """Markdown only for clients that list it (Helix, Zed and eglot take plain text)."""
    text_caps = ls.client_capabilities.text_document
    completion = text_caps.completion if text_caps else None
    item = completion.completion_item if completion else None
    formats = (item.documentation_format or ()) if item else ()
    if types.MarkupKind.Markdown in formats:
        return types.MarkupContent(kind=types.MarkupKind.Markdown, value=f"```\n{text}\n```")
    return text


def register_completion_fallback(server: RouterServer) -> None:
    """For clients without inline completion (Helix, older Neovim): one clearly marked completion item."""

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[".", "(", " "]))
    async def completion(ls: RouterServer, params: types.CompletionParams) -> types.CompletionList:
        invoked = params.context is not None and params.context.trigger_kind == types.CompletionTriggerKind.Invoked
        query = snapshot(ls, params.text_document.uri, params.position, "invoked" if invoked else "automatic")
        answer = await _answer(ls, query)
        if answer is None or answer.text is None:
            return types.CompletionList(is_incomplete=True, items=[])
        first_line = answer.text.strip().splitlines()[0] if answer.text.strip() else answer.text
        item = types.CompletionItem(
            label=FALLBACK_LABEL_PREFIX + first_line[:60],
            kind=types.CompletionItemKind.Snippet,
            detail=f"ai-coding-router · {answer.model or 'cache'}",
            documentation=_documentation(ls, answer.text),
            text_edit=types.TextEdit(range=types.Range(start=params.position, end=params.position),
                                     new_text=answer.text),
            insert_text_format=types.InsertTextFormat.PlainText,
            sort_text="0",
        )
        # Incomplete: the next keystroke asks again, so the suggestion follows the cursor.
        return types.CompletionList(is_incomplete=True, items=[item])
