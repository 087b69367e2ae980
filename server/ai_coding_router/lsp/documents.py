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


def _no_break(text: str) -> bool:
    return "\n" not in text and "\r" not in text


class RouterTextDocument(TextDocument):
    _line_cache: tuple[str, tuple[str, ...]] | None = None
    _index: LineIndex | None = None

    @property
    def line_index(self) -> LineIndex:
        """UTF-16 line index of the current text, kept up to date across keystrokes without a rescan."""
        source = self.source
        if self._index is None or self._index.text is not source:
            self._index = LineIndex(source, "utf-16")
        return self._index

    @property
    def lines(self) -> Sequence[str]:
        source = self.source
        cached = self._line_cache
        if cached is None or cached[0] is not source:
            cached = (source, tuple(split_lines(source)))
            self._line_cache = cached
        return cached[1]

    def _apply_incremental_change(self, change: types.TextDocumentContentChangePartial) -> None:
        index = self.line_index
        text = index.text
        start = Position(change.range.start.line, change.range.start.character)
        end = Position(change.range.end.line, change.range.end.character)
        first, last = sorted(index.offsets(Range(start, end)))
        new_text = text[:first] + change.text + text[last:]
        self._source = new_text
        removed = text[first:last]
        if _no_break(change.text) and _no_break(removed):
            # A keystroke within one line: later lines just shift (no rescan of a large file).
            line = index.position(first).line
            delta = len(change.text) - len(removed)
            starts = index.starts[: line + 1] + [s + delta for s in index.starts[line + 1 :]]
            self._index = LineIndex.with_starts(new_text, starts, "utf-16")


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
