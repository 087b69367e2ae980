"""Open documents with the LSP's line rules.

pygls 2.1's ``TextDocument`` splits lines with ``str.splitlines``, which also breaks at a form feed, U+2028
and NEL: an edit after one of those lands on the wrong line, and an edit computed from that text could
overwrite what the user typed. The LSP breaks lines only at ``\\r\\n``, ``\\n`` and ``\\r``. It also rebuilds
the whole text line by line in Python on every keystroke; this applies a change by offsets instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types
from pygls.workspace import TextDocument, Workspace

from ..edits.positions import LineIndex, Position, Range, split_lines


class RouterTextDocument(TextDocument):
    _line_cache: tuple[str, tuple[str, ...]] | None = None

    @property
    def lines(self) -> Sequence[str]:
        source = self.source
        cached = self._line_cache
        if cached is None or cached[0] is not source:
            cached = (source, tuple(split_lines(source)))
            self._line_cache = cached
        return cached[1]

    def _apply_incremental_change(self, change: types.TextDocumentContentChangePartial) -> None:
        text = self.source
        index = LineIndex(text, "utf-16")
        start = Position(change.range.start.line, change.range.start.character)
        end = Position(change.range.end.line, change.range.end.character)
        first, last = sorted(index.offsets(Range(start, end)))
        self._source = text[:first] + change.text + text[last:]


class RouterWorkspace(Workspace):
    def _create_text_document(
        self,
        doc_uri: str,
        source: str | None = None,
        version: int | None = None,
        language_id: str | None = None,
    ) -> TextDocument:
        return RouterTextDocument(
            doc_uri,
            source=source,
            version=version,
            language_id=language_id,
            sync_kind=self._sync_kind,
            position_codec=self._position_codec,
        )
