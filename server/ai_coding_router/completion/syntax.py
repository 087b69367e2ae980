"""Syntax errors a completion would add, measured on the code around the cursor only.

Re-parsing a 5,000-line file for every candidate cut costs ~10 ms each; the interactive budget allows
about 2 ms for the whole cleaning step. So we parse only the *region* around the cursor, found from the
text alone (no tree needed):

* Level 0: from the top-level statement that contains the cursor (the nearest line at or above the cursor
  that starts at column 0 with a statement-starting character) to the next such line after the cursor.
* When that region is longer than ``MAX_LINES_BEFORE`` / ``MAX_LINES_AFTER`` lines (a big class, a long
  function), the next indentation level inward is tried: from the enclosing member's line to the next
  sibling line at the same indentation (or a line that dedents). The region is then wrapped in a
  synthetic shell chosen from its parent line (``class __R {`` for class members, a function for
  statements, ``type __R = {`` / ``enum`` / an object or call for the rest) so it parses as it would in place.

Only *differences* in error counts matter (``prefix + candidate + suffix`` against ``prefix + suffix``), so
a region that is not a perfect syntactic unit only adds the same constant to both counts. Weak spots,
accepted for speed: column-0 lines inside template literals look like statement starts, and tree-sitter's
error recovery may fold a new error into an ERROR node the region already had.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import tree_sitter

from ..context.languages import GrammarName, parser

MAX_LINES_BEFORE = 60  # region lines above the cursor line (parse cost is ~2 µs per line)
MAX_LINES_AFTER = 30  # region lines below it
_TAIL_CHARS = 6_000  # characters of the prefix / suffix ever looked at: work is independent of file size
_HEAD_CHARS = 3_000

_GRAMMARS: dict[str, GrammarName] = {
    "typescript": "typescript",
    "typescriptreact": "tsx",
    "javascript": "tsx",  # the TSX grammar parses plain JavaScript and JSX
    "javascriptreact": "tsx",
}


def grammar_for_language(language_id: str) -> GrammarName | None:
    """The tree-sitter grammar for an LSP languageId, or None when we have none (no syntax checks then)."""
    return _GRAMMARS.get(language_id.lower())


# --- a tiny lexer: brackets and statement ends outside strings and comments -------------------------

_OPENERS = "([{"
_CLOSERS = ")]}"


def bracket_events(text: str) -> Iterator[tuple[int, str, int]]:
    """Yield ``(index, char, depth_after)`` for brackets and ``;`` outside strings and comments.

    Template literals are skipped whole (``${...}`` included) and regex literals are not recognised:
    good enough to find where a completion closes a block it did not open.
    """
    depth = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "/" and i + 1 < n and text[i + 1] == "/":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch == "/" and i + 1 < n and text[i + 1] == "*":
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if ch in "'\"`":
            i += 1
            while i < n and text[i] != ch:
                if text[i] == "\\":
                    i += 1
                elif text[i] == "\n" and ch != "`":
                    break  # an unterminated ordinary string ends at the line
                i += 1
            i += 1
            continue
        if ch in _OPENERS:
            depth += 1
            yield i, ch, depth
        elif ch in _CLOSERS:
            depth -= 1
            yield i, ch, depth
        elif ch == ";":
            yield i, ch, depth
        i += 1


# --- regions ----------------------------------------------------------------------------------------

_CONTINUATION_CHARS = set(")]}.,+-*/%=&|?:<>")
_CONTINUATION_WORDS = re.compile(r"(else|catch|finally)\b")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _is_starter(line: str) -> bool:
    """Could this (non-blank) line begin a statement or member, rather than continue or close one?"""
    body = line.lstrip(" \t")
    if not body:
        return False
    if body.startswith(("//", "/*")):
        return True
    if body[0] in _CONTINUATION_CHARS:
        return False
    return _CONTINUATION_WORDS.match(body) is None


_CLASS_PARENT = re.compile(r"\b(class|interface)\b[^=]*\{\s*$")
_ENUM_PARENT = re.compile(r"\benum\b[^=]*\{\s*$")
_TYPE_PARENT = re.compile(r"\btype\b[^=]*=\s*\{\s*$")
_BLOCK_PARENT = re.compile(r"(\)|=>|\belse|\btry|\bfinally|\bdo|:\s*[\w.<>\[\], |]+)\s*\{\s*$")


def _wrapper(parent: str) -> tuple[str, str]:
    """A shell that makes a nested region parse the way it does inside ``parent``."""
    text = parent.rstrip()
    if _CLASS_PARENT.search(text):
        return "class __R {\n", "\n}\n"
    if _ENUM_PARENT.search(text):
        return "enum __R {\n", "\n}\n"
    if _TYPE_PARENT.search(text):
        return "type __R = {\n", "\n};\n"
    if _BLOCK_PARENT.search(text) or re.search(r"\b(namespace|module)\b", text):
        return "async function* __r() {\n", "\n}\n"
    if text.endswith("{"):
        return "__r = {\n", "\n};\n"  # an object literal
    if text.endswith(("(", ",")):
        return "__r(\n", "\n);\n"
    if text.endswith("["):
        return "__r = [\n", "\n];\n"
    return "", ""


@dataclass(frozen=True)
class Region:
    """The text around the cursor that is parsed: ``head + insertion + tail``."""

    head: str
    tail: str


def find_region(prefix: str, suffix: str) -> Region:
    """The region to parse: the outermost enclosing level that fits the line caps (see the module doc)."""
    # Only these windows matter; memoised because every cleaning of a reply for one cursor asks again.
    return _find_region(prefix[-_TAIL_CHARS:], suffix[:_HEAD_CHARS], len(prefix) > _TAIL_CHARS,
                        len(suffix) > _HEAD_CHARS)


@functools.lru_cache(maxsize=64)
def _find_region(prefix: str, suffix: str, truncated_before: bool, truncated_after: bool) -> Region:
    before = prefix.replace("\r\n", "\n").split("\n")
    after = suffix.replace("\r\n", "\n").split("\n")
    cursor_head = before.pop()
    cursor_rest = after.pop(0)
    if truncated_before and before:
        before.pop(0)  # a partial line
    if truncated_after and after:
        after.pop()

    # Ancestors and parents are looked for in everything we have; the region itself is capped.
    lines = [*before, cursor_head + cursor_rest, *after]
    c = len(before)
    first_allowed = max(0, c - MAX_LINES_BEFORE)
    last_allowed = min(len(lines), c + 1 + MAX_LINES_AFTER)
    cursor_line = lines[c]
    cursor_indent = _indent(cursor_line) if cursor_line.strip() else len(cursor_head)

    # Indentation levels enclosing the cursor, outermost first.
    levels = [0]
    current = cursor_indent
    for i in range(c - 1, -1, -1):
        line = lines[i]
        if line.strip() and _indent(line) < current:
            current = _indent(line)
            if current == 0:
                break
            levels.insert(1, current)
    if cursor_indent > levels[-1]:
        levels.append(cursor_indent)  # the statement level inside the innermost block

    chosen: tuple[int, int, int] | None = None
    for level in levels:
        start = next((i for i in range(c, -1, -1) if _indent(lines[i]) <= level and _is_starter(lines[i])), None)
        if start is None and not truncated_before:
            start = 0  # the file's first line
        end = next(
            (
                j
                for j in range(c + 1, len(lines))
                if lines[j].strip()
                and (_indent(lines[j]) < level or (_indent(lines[j]) == level and _is_starter(lines[j])))
            ),
            None if truncated_after else len(lines),
        )
        fits = start is not None and end is not None and start >= first_allowed and end <= last_allowed
        chosen = (level, max(first_allowed, start or 0), min(last_allowed, len(lines) if end is None else end))
        if fits:
            break
    # When no level fits, the innermost one is used, clipped to the caps.
    level, start, end = chosen or (0, first_allowed, last_allowed)

    opener, closer = "", ""
    if level > 0:
        parent = next(
            (lines[i] for i in range(start - 1, -1, -1) if lines[i].strip() and _indent(lines[i]) < level), ""
        )
        opener, closer = _wrapper(parent)
    above = "\n".join(lines[start:c])
    below = "\n".join(lines[c + 1 : end])
    head = opener + (above + "\n" if start < c else "") + cursor_head
    tail = cursor_rest + ("\n" + below if end > c + 1 else "") + "\n" + closer
    return Region(head, tail)


# --- counting errors --------------------------------------------------------------------------------


_CLOSING_TOKENS = frozenset({"}", ")", "]", ">", "`", "'", '"', "*/"})


@dataclass(frozen=True)
class Errors:
    """Syntax errors in a tree: ``unclosed`` are MISSING closing delimiters (code that is unfinished but
    right so far, e.g. a block whose ``}`` is still to come); ``hard`` are ERROR nodes and other MISSING
    nodes (code that is wrong, e.g. ``x +;``)."""

    hard: int = 0
    unclosed: int = 0

    @property
    def total(self) -> int:
        return self.hard + self.unclosed


def count_errors(node: tree_sitter.Node) -> Errors:
    """ERROR and MISSING nodes in the tree; subtrees without errors are skipped (``has_error``)."""
    hard = 0
    unclosed = 0
    stack = [node]
    while stack:
        current = stack.pop()
        if current.is_missing:
            if current.type in _CLOSING_TOKENS:
                unclosed += 1
            else:
                hard += 1
        elif current.is_error:
            hard += 1
        stack.extend(child for child in current.children if child.has_error or child.is_missing)
    return Errors(hard, unclosed)


# Errors of the region without an insertion, shared by the calls made while one suggestion streams.
_base_cache: OrderedDict[tuple[str, str, str], Errors] = OrderedDict()
_base_lock = threading.Lock()
_BASE_CACHE_SIZE = 64


class SyntaxJudge:
    """How many syntax errors the region has with a given insertion at the cursor."""

    def __init__(self, prefix: str, suffix: str, grammar: GrammarName) -> None:
        self.region = find_region(prefix, suffix)
        self.grammar = grammar
        self._memo: dict[str, Errors] = {}
        key = (grammar, self.region.head, self.region.tail)
        with _base_lock:
            cached = _base_cache.get(key)
            if cached is not None:
                _base_cache.move_to_end(key)
        if cached is None:
            cached = self._parse_errors("")
            with _base_lock:
                _base_cache[key] = cached
                if len(_base_cache) > _BASE_CACHE_SIZE:
                    _base_cache.popitem(last=False)
        # Errors of prefix + suffix alone: the bar a candidate must not raise.
        self.base_errors = cached
        self._memo[""] = cached

    def _parse_errors(self, insertion: str) -> Errors:
        source = (self.region.head + insertion + self.region.tail).encode("utf-8", errors="surrogatepass")
        return count_errors(parser(self.grammar).parse(source).root_node)

    def errors_with(self, insertion: str) -> Errors:
        found = self._memo.get(insertion)
        if found is None:
            found = self._parse_errors(insertion)
            self._memo[insertion] = found
        return found

    def added_errors(self, insertion: str) -> int:
        """Errors the insertion adds (negative when it repairs some)."""
        return self.errors_with(insertion).total - self.base_errors.total

    def only_unclosed_added(self, insertion: str) -> bool:
        """True when the insertion adds no hard error: at worst it leaves brackets to be closed later."""
        return self.errors_with(insertion).hard <= self.base_errors.hard
