"""Positions as LSP counts them, and the line splitting every edit computation here shares.

Lines end at ``\\r\\n``, ``\\n`` or ``\\r`` only (the LSP rule). ``str.splitlines`` is not used on purpose: it
also breaks at form feed, ``\\x1c``-``\\x1e``, ``\\x85``, U+2028 and U+2029, which editors do not, so positions
computed with it drift from the client's as soon as a file contains one of those.

Columns count code units of the negotiated position encoding (UTF-16 unless the client offered another):
an emoji outside the BMP is two UTF-16 units, one code point in Python.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Literal

PositionEncoding = Literal["utf-16", "utf-8", "utf-32"]

EOL_RE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, order=True)
class Position:
    """0-based line and column (in code units of the position encoding)."""

    line: int
    character: int


@dataclass(frozen=True)
class Range:
    start: Position
    end: Position

    @staticmethod
    def at(line: int, character: int) -> Range:
        """An empty range: an insertion point."""
        p = Position(line, character)
        return Range(p, p)


def split_lines(text: str) -> list[str]:
    """Lines with their line breaks kept; ``""`` has no lines, ``"a\\n"`` has one."""
    out: list[str] = []
    start = 0
    for m in EOL_RE.finditer(text):
        out.append(text[start : m.end()])
        start = m.end()
    if start < len(text):
        out.append(text[start:])
    return out


def split_eol(line: str) -> tuple[str, str]:
    """``("abc", "\\r\\n")`` from ``"abc\\r\\n"``; the break is ``""`` for a last line without one."""
    if line.endswith("\r\n"):
        return line[:-2], "\r\n"
    if line.endswith(("\n", "\r")):
        return line[:-1], line[-1]
    return line, ""


def code_units(text: str, encoding: PositionEncoding = "utf-16") -> int:
    """Length of ``text`` in code units of ``encoding``."""
    if encoding == "utf-32" or text.isascii():
        return len(text)
    if encoding == "utf-16":
        return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)
    return len(text.encode("utf-8", "surrogatepass"))


def _unit_width(ch: str, encoding: PositionEncoding) -> int:
    o = ord(ch)
    if encoding == "utf-32":
        return 1
    if encoding == "utf-16":
        return 2 if o > 0xFFFF else 1
    return 1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4


def end_position(start: Position, inserted: str, encoding: PositionEncoding = "utf-16") -> Position:
    """Where the end of ``inserted`` lands when it is inserted at ``start``; needs no document text."""
    lines = split_lines(inserted)
    if not lines:
        return start
    breaks = sum(1 for _ in EOL_RE.finditer(inserted))
    if breaks == 0:
        return Position(start.line, start.character + code_units(inserted, encoding))
    last = "" if split_eol(lines[-1])[1] else lines[-1]
    return Position(start.line + breaks, code_units(last, encoding))


class LineIndex:
    """Offsets (code points into the Python string) <-> LSP positions for one immutable text."""

    def __init__(self, text: str, encoding: PositionEncoding = "utf-16") -> None:
        self.text = text
        self.encoding: PositionEncoding = encoding
        # starts[i] is the offset where line i begins; a text ending with a break has an empty last line.
        self.starts = [0] + [m.end() for m in EOL_RE.finditer(text)]

    @classmethod
    def with_starts(cls, text: str, starts: list[int], encoding: PositionEncoding = "utf-16") -> LineIndex:
        """An index whose line starts the caller already knows (kept up to date across small edits)."""
        index = cls.__new__(cls)
        index.text, index.encoding, index.starts = text, encoding, starts
        return index

    @property
    def line_count(self) -> int:
        return len(self.starts)

    def line_content_end(self, line: int) -> int:
        """Offset of the end of ``line``'s content, before its line break."""
        if line + 1 < len(self.starts):
            end = self.starts[line + 1]
            brk = self.text[end - 2 : end]
            return end - 2 if brk == "\r\n" else end - 1
        return len(self.text)

    def position(self, offset: int) -> Position:
        """The position of ``offset``; one inside a ``\\r\\n`` pair is moved before the ``\\r``."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        offset = min(offset, self.line_content_end(line))
        return Position(line, code_units(self.text[self.starts[line] : offset], self.encoding))

    def offset(self, pos: Position) -> int:
        """The offset of ``pos``, clamped as clients do: past the last line is the end of the text,
        past the end of a line is the end of its content; a column inside a surrogate pair (or a UTF-8
        sequence) rounds down to the start of that character."""
        if pos.line < 0:
            return 0
        if pos.line >= len(self.starts):
            return len(self.text)
        start = self.starts[pos.line]
        end = self.line_content_end(pos.line)
        want = max(0, pos.character)
        segment = self.text[start:end]
        if self.encoding == "utf-32" or segment.isascii():
            return start + min(want, len(segment))
        units = 0
        for i, ch in enumerate(segment):
            w = _unit_width(ch, self.encoding)
            if units + w > want:
                return start + i
            units += w
        return end

    def range(self, start: int, end: int) -> Range:
        return Range(self.position(start), self.position(end))

    def offsets(self, rng: Range) -> tuple[int, int]:
        return self.offset(rng.start), self.offset(rng.end)
