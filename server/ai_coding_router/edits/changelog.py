"""Map a job's edits forward through the user's incremental changes (the ``didChange`` log).

The secondary rebase method. It needs no text at all, only position arithmetic, so it is cheap for huge
documents and exact about what the user touched (a text diff may attribute a change to a neighbouring
identical line). But it trusts the log: a full-document change cannot be mapped (``full_sync``), and a
client whose positions were clamped, or an insertion that joins a ``\\r`` to a following ``\\n``, would map
wrongly. Use ``rebase.rebase_text`` unless the log is complete and the text is too large to diff.

Any user change that overlaps or touches a job edit holds the job back; touching counts because text
typed right at the edge of a rewritten region is usually part of the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .positions import LineIndex, Position, PositionEncoding, Range, end_position
from .textedits import TextEdit


@dataclass(frozen=True)
class ContentChange:
    """One ``TextDocumentContentChangeEvent``: ``range`` None means the whole text was replaced."""

    range: Range | None
    text: str


@dataclass(frozen=True)
class MappedEdits:
    edits: tuple[TextEdit, ...]  # against the text after all changes; empty unless ``ok``
    conflict: tuple[TextEdit, ContentChange] | None = None  # the first job edit a change touched
    full_sync: bool = False  # the log holds a full-text change: rebase by diff instead

    @property
    def ok(self) -> bool:
        return self.conflict is None and not self.full_sync


def _shift(p: Position, change_end: Position, new_end: Position) -> Position:
    """Move ``p`` (at or after ``change_end``) to where it is after the change."""
    if p.line == change_end.line:
        return Position(new_end.line, new_end.character + (p.character - change_end.character))
    return Position(p.line + (new_end.line - change_end.line), p.character)


def map_edits_through_changes(edits: Sequence[TextEdit], changes: Sequence[ContentChange], *,
                              encoding: PositionEncoding = "utf-16") -> MappedEdits:
    """Edits computed against the base version, moved through ``changes`` (applied in order)."""
    current = list(enumerate(edits))
    for change in changes:
        if change.range is None:
            return MappedEdits((), None, full_sync=True)
        start, end = change.range.start, change.range.end
        if end < start:
            start, end = end, start
        new_end = end_position(start, change.text, encoding)
        moved: list[tuple[int, TextEdit]] = []
        for n, e in current:
            if e.range.end < start:  # wholly before the change: unaffected
                moved.append((n, e))
            elif e.range.start > end:  # wholly after: shifted
                rng = Range(_shift(e.range.start, end, new_end), _shift(e.range.end, end, new_end))
                moved.append((n, TextEdit(rng, e.new_text, e.annotation_id)))
            else:
                return MappedEdits((), (edits[n], change))
        current = moved
    return MappedEdits(tuple(e for _, e in current))


def apply_content_changes(text: str, changes: Sequence[ContentChange], *,
                          encoding: PositionEncoding = "utf-16") -> str:
    """The document after ``didChange`` events, with LSP line rules (pygls 2.1's ``TextDocument`` splits
    lines with ``str.splitlines`` and so puts edits on the wrong line after a form feed, U+2028 or NEL).
    Out-of-range positions are clamped as clients clamp them."""
    for change in changes:
        if change.range is None:
            text = change.text
            continue
        index = LineIndex(text, encoding)
        start, end = sorted(index.offsets(change.range))
        text = text[:start] + change.text + text[end:]
    return text
