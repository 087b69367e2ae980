"""Minimal text edits between two versions of a document, and applying edits to a text.

``text_edits`` diffs on lines (``diff.py``; a changed line is one hunk, as a reviewer reads it), then trims each
hunk to the characters that really differ, so an edit inside a long line does not replace the whole line
and cursor/marker positions elsewhere on it survive in the editor.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import EditError
from .diff import line_hunks
from .positions import LineIndex, PositionEncoding, Range, split_lines


@dataclass(frozen=True)
class TextEdit:
    """Replace ``range`` (in the document the edit was computed on) with ``new_text``."""

    range: Range
    new_text: str
    annotation_id: str | None = None


def trim_replacement(old: str, start: int, end: int, new: str) -> tuple[int, int, str]:
    """Shrink "replace ``old[start:end]`` with ``new``" to the characters that differ.

    Never leaves a boundary between ``\\r`` and ``\\n`` of ``old``: no LSP position can name that point.
    """
    seg = old[start:end]
    limit = min(len(seg), len(new))
    p = 0
    while p < limit and seg[p] == new[p]:
        p += 1
    s = 0
    while s < limit - p and seg[len(seg) - 1 - s] == new[len(new) - 1 - s]:
        s += 1
    a, b = start + p, end - s
    if p and 0 < a < len(old) and old[a - 1] == "\r" and old[a] == "\n":
        p -= 1
        a -= 1
    if s and 0 < b < len(old) and old[b - 1] == "\r" and old[b] == "\n":
        s -= 1
        b += 1
    return a, b, new[p : len(new) - s]


def text_edits(
    old: str, new: str, *, encoding: PositionEncoding = "utf-16", annotation_id: str | None = None
) -> list[TextEdit]:
    """Edits that turn ``old`` into ``new``; non-overlapping, in document order, ranges in ``old``."""
    if old == new:
        return []
    a, b = split_lines(old), split_lines(new)
    a_starts = [0]
    for line in a:
        a_starts.append(a_starts[-1] + len(line))
    b_starts = [0]
    for line in b:
        b_starts.append(b_starts[-1] + len(line))
    index = LineIndex(old, encoding)
    edits: list[TextEdit] = []
    for h in line_hunks(a, b):
        s, e, text = trim_replacement(old, a_starts[h.a_start], a_starts[h.a_end],
                                      new[b_starts[h.b_start] : b_starts[h.b_end]])
        if s == e and not text:
            continue
        edits.append(TextEdit(index.range(s, e), text, annotation_id))
    return edits


def resolve_edits(text: str, edits: Sequence[TextEdit], *, encoding: PositionEncoding = "utf-16"
                  ) -> list[tuple[int, int, str]]:
    """Edits as ``(start, end, new_text)`` offsets into ``text``, sorted; raises EditError on overlap.

    Insertions at the same point keep their given order, as the LSP specification requires.
    """
    index = LineIndex(text, encoding)
    spans = []
    for n, e in enumerate(edits):
        start, end = index.offsets(e.range)
        if end < start:
            raise EditError(f"edit {n} has its end before its start: {e.range}")
        spans.append((start, end, n, e.new_text))
    spans.sort(key=lambda t: (t[0], t[1], t[2]))
    for prev, cur in itertools.pairwise(spans):
        if cur[0] < prev[1]:
            raise EditError(f"edits {prev[2]} and {cur[2]} overlap")
    return [(s, e, t) for s, e, _, t in spans]


def apply_text_edits(text: str, edits: Sequence[TextEdit], *, encoding: PositionEncoding = "utf-16") -> str:
    """Apply LSP-style edits (all ranges refer to ``text``) and return the new text."""
    out: list[str] = []
    pos = 0
    for start, end, new_text in resolve_edits(text, edits, encoding=encoding):
        out.append(text[pos:start])
        out.append(new_text)
        pos = max(pos, end)
    out.append(text[pos:])
    return "".join(out)
