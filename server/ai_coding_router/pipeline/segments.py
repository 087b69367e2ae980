"""Focused code segments for repair and escalation prompts. Pure.

A repair or an escalation does not resend the task's context (the seed's pitfall #6): it shows the lines
the previous attempt changed and the lines the validators point at, each with a few neighbours, merged
per file and capped; plus the outlines of the symbols those lines use, picked from the first request's
context. Segments are exact current text, so the model can quote them in SEARCH.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..edits.diff import line_hunks
from ..validation.base import Finding
from .context import ContextSnippet

MARGIN = 3  # neighbour lines shown around a change or a finding
MAX_SEGMENT_LINES = 160  # all segments of one prompt together
MAX_FILE_LINES = 200  # a whole file is shown for a SEARCH that did not match, up to this size
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")


@dataclass(frozen=True)
class Segment:
    path: str
    start_line: int  # 0-based
    end_line: int  # inclusive
    text: str
    total_lines: int
    reason: str = ""  # "changed", "finding", "file"

    @property
    def size(self) -> int:
        return self.end_line - self.start_line + 1


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "" and len(lines) > 1:
        lines.pop()  # the break after the last line is not a line of its own
    return [line.rstrip("\r") for line in lines]


def _spans_changed(old: str | None, new: str, margin: int) -> list[tuple[int, int]]:
    new_lines = _lines(new)
    if old is None:
        return [(0, len(new_lines) - 1)] if new_lines else []
    spans = []
    for hunk in line_hunks(_lines(old), new_lines):
        start = max(0, hunk.b_start - margin)
        end = min(len(new_lines) - 1, max(hunk.b_end - 1, hunk.b_start) + margin)
        if end >= start:
            spans.append((start, end))
    return spans


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def focus_segments(
    base_texts: Mapping[str, str | None],
    current_texts: Mapping[str, str],
    findings: Sequence[Finding],
    text_of: Callable[[str], str | None],
    *,
    margin: int = MARGIN,
    max_lines: int = MAX_SEGMENT_LINES,
) -> list[Segment]:
    """The changed lines and the lines findings point at, in current text, merged per file, capped.

    ``text_of(path)`` gives the current text of a file the candidate did not change (for a failing test
    file). Findings come first when the cap bites: they are where the problem shows.
    """
    spans: dict[str, list[tuple[int, int]]] = {}
    reasons: dict[str, str] = {}
    for finding in findings:
        if not finding.path:
            continue
        start = max(0, finding.range.start.line - margin)
        end = max(finding.range.end.line, finding.range.start.line) + margin
        spans.setdefault(finding.path, []).append((start, end))
        reasons[finding.path] = "finding"
    for path, new in current_texts.items():
        if base_texts.get(path) == new:
            continue
        spans.setdefault(path, []).extend(_spans_changed(base_texts.get(path), new, margin))
        reasons.setdefault(path, "changed")
    segments: list[Segment] = []
    budget = max_lines
    for path in sorted(spans, key=lambda p: (reasons[p] != "finding", p)):
        text = current_texts.get(path)
        if text is None:
            text = text_of(path)
        if text is None:
            continue
        lines = _lines(text)
        if not lines:
            continue
        for start, end in _merge(spans[path]):
            end = min(end, len(lines) - 1)
            if start > end or budget <= 0:
                continue
            end = min(end, start + budget - 1)
            budget -= end - start + 1
            segments.append(Segment(path, start, end, "\n".join(lines[start : end + 1]), len(lines), reasons[path]))
    return segments


def file_segment(path: str, text: str, *, max_lines: int = MAX_FILE_LINES) -> Segment | None:
    """A whole (small) file, for a SEARCH that matched nothing; None when the file is too large."""
    lines = _lines(text)
    if not lines or len(lines) > max_lines:
        return None
    return Segment(path, 0, len(lines) - 1, "\n".join(lines), len(lines), "file")


def needed_symbols(segments: Sequence[Segment], snippets: Sequence[ContextSnippet], *, limit: int = 12
                   ) -> list[ContextSnippet]:
    """The outlines (from the first request's context) of the symbols the segments use, not already shown."""
    used: set[str] = set()
    for segment in segments:
        used.update(_IDENT.findall(segment.text))
    shown = {(s.path, s.start_line, s.end_line) for s in segments}
    picked: list[ContextSnippet] = []
    for snippet in snippets:
        if snippet.kind not in ("definition", "type", "local") or not snippet.symbol:
            continue
        name = snippet.symbol.rsplit(".", 1)[-1]
        covered = any(s.path == snippet.path and s.start_line <= snippet.start_line and snippet.end_line <= s.end_line
                      for s in segments)
        if name in used and not covered and (snippet.path, snippet.start_line, snippet.end_line) not in shown:
            picked.append(snippet)
        if len(picked) >= limit:
            break
    return picked
