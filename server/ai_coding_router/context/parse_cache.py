"""One tree-sitter tree per open document, re-parsed incrementally on each edit.

Positions arrive as LSP positions: a 0-based line (lines end at ``\\r\\n``, ``\\r`` or ``\\n``) and a
character offset in UTF-16 code units. Tree-sitter wants byte offsets into the UTF-8 source, so each
document keeps the byte offset of every line start, updated locally on each edit (a keystroke in a
5,000-line file must not rescan the whole file).

Out-of-range positions are clamped as the LSP specification says for characters past the end of a line
(and, by extension, lines past the end of the document); a position inside a surrogate pair snaps to the
start of that character. A range whose start is after its end raises ContextError.
"""

from __future__ import annotations

import bisect
import re
import threading
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import tree_sitter

from ..errors import ContextError
from .languages import GrammarName, grammar_for, parse

_EOL = re.compile(rb"\r\n|\r|\n")


def uri_to_path(uri: str) -> str:
    """The file-system path of a ``file:`` URI (other schemes: the URI's path part)."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return unquote(parsed.path) if parsed.scheme else uri
    return unquote(parsed.path)


def line_starts(source: bytes) -> list[int]:
    return [0, *(m.end() for m in _EOL.finditer(source))]


def utf16_to_byte_column(line: bytes, character: int) -> int:
    """Byte offset within ``line`` (no terminator) of a UTF-16 ``character`` offset, clamped to the line."""
    if character <= 0:
        return 0
    if line.isascii():
        return min(character, len(line))
    units = 0
    offset = 0
    for ch in line.decode("utf-8", errors="replace"):
        width = 2 if ord(ch) > 0xFFFF else 1
        if units + width > character:
            break  # the position falls inside a surrogate pair: snap to the character's start
        units += width
        offset += len(ch.encode("utf-8", errors="replace"))
        if units == character:
            break
    return min(offset, len(line))


def byte_to_utf16_column(line: bytes, byte_column: int) -> int:
    prefix = line[:byte_column].decode("utf-8", errors="replace")
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in prefix)


def _ts_point(source: bytes, offset: int) -> tuple[int, int]:
    # tree-sitter counts rows by b"\n" only, whatever the LSP line terminators are.
    row = source.count(b"\n", 0, offset)
    last = source.rfind(b"\n", 0, offset)
    return row, offset - (last + 1)


@dataclass
class _Document:
    uri: str
    grammar: GrammarName
    source: bytes
    starts: list[int]
    tree: tree_sitter.Tree
    version: int | None = None

    def line_bytes(self, line: int) -> bytes:
        start = self.starts[line]
        end = self.starts[line + 1] if line + 1 < len(self.starts) else len(self.source)
        content = self.source[start:end]
        if content.endswith(b"\r\n"):
            return content[:-2]
        if content.endswith((b"\n", b"\r")):
            return content[:-1]
        return content

    def offset(self, line: int, character: int) -> int:
        if line < 0 or character < 0:
            raise ContextError(f"negative position ({line}:{character}) in {self.uri}")
        if line >= len(self.starts):
            return len(self.source)  # past the last line: the end of the document
        return self.starts[line] + utf16_to_byte_column(self.line_bytes(line), character)


class DocumentTrees:
    """Thread-safe store of the open documents' sources and trees."""

    def __init__(self) -> None:
        self._docs: dict[str, _Document] = {}
        self._lock = threading.Lock()

    @staticmethod
    def supports(uri: str) -> bool:
        return grammar_for(uri_to_path(uri)) is not None

    def open(self, uri: str, text: str, version: int | None = None) -> bool:
        """Track a document; returns False (and tracks nothing) for a language we do not parse."""
        grammar = grammar_for(uri_to_path(uri))
        if grammar is None:
            return False
        source = text.encode("utf-8", errors="surrogatepass")
        doc = _Document(uri, grammar, source, line_starts(source), parse(source, grammar), version)
        with self._lock:
            self._docs[uri] = doc
        return True

    def replace(self, uri: str, text: str, version: int | None = None) -> None:
        """A full-document change: parse from scratch."""
        doc = self._get(uri)
        source = text.encode("utf-8", errors="surrogatepass")
        with self._lock:
            doc.source, doc.starts, doc.version = source, line_starts(source), version
            doc.tree = parse(source, doc.grammar)

    def apply_change(
        self,
        uri: str,
        start_line: int,
        start_char: int,
        end_line: int,
        end_char: int,
        new_text: str,
        version: int | None = None,
    ) -> tree_sitter.Tree:
        """Apply one ranged ``didChange`` edit and re-parse incrementally; returns the new tree."""
        doc = self._get(uri)
        with self._lock:
            start = doc.offset(start_line, start_char)
            old_end = doc.offset(end_line, end_char)
            if old_end < start:
                raise ContextError(
                    f"edit range ends before it starts ({start_line}:{start_char} > {end_line}:{end_char})"
                )
            inserted = new_text.encode("utf-8", errors="surrogatepass")
            old_source = doc.source
            source = old_source[:start] + inserted + old_source[old_end:]
            new_end = start + len(inserted)
            doc.starts = _update_starts(doc.starts, source, start, old_end, new_end)
            doc.tree.edit(
                start_byte=start,
                old_end_byte=old_end,
                new_end_byte=new_end,
                start_point=_ts_point(old_source, start),
                old_end_point=_ts_point(old_source, old_end),
                new_end_point=_ts_point(source, new_end),
            )
            doc.source = source
            doc.tree = parse(source, doc.grammar, doc.tree)
            doc.version = version
            return doc.tree

    def close(self, uri: str) -> None:
        with self._lock:
            self._docs.pop(uri, None)

    def tree(self, uri: str) -> tree_sitter.Tree | None:
        doc = self._docs.get(uri)
        return doc.tree if doc else None

    def text(self, uri: str) -> str:
        return self._get(uri).source.decode("utf-8", errors="replace")

    def source(self, uri: str) -> bytes:
        return self._get(uri).source

    def version(self, uri: str) -> int | None:
        return self._get(uri).version

    def uris(self) -> list[str]:
        return list(self._docs)

    def byte_offset(self, uri: str, line: int, character: int) -> int:
        return self._get(uri).offset(line, character)

    def _get(self, uri: str) -> _Document:
        doc = self._docs.get(uri)
        if doc is None:
            raise ContextError(f"document not open: {uri}")
        return doc


def _update_starts(old: list[int], source: bytes, start: int, old_end: int, new_end: int) -> list[int]:
    """Line starts of ``source`` after replacing old bytes [start, old_end) with new bytes ending at new_end.

    A line start at q depends only on bytes q-1 and q, so starts well before the edit are kept, starts
    after it are shifted, and only the region around the edit is rescanned.
    """
    delta = new_end - old_end
    line = bisect.bisect_right(old, start) - 1
    region_start = old[max(0, line - 1)]
    after = bisect.bisect_right(old, old_end + 1)
    region_end = old[after] + delta if after < len(old) else len(source)
    head = old[: bisect.bisect_right(old, region_start)]
    middle = [m.end() for m in _EOL.finditer(source, region_start, region_end)]
    middle = [q for q in middle if q < region_end] if after < len(old) else middle
    tail = [s + delta for s in old[after:]] if delta else old[after:]
    return head + [q for q in middle if q > region_start] + tail
