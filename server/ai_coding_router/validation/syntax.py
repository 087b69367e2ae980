"""The syntax gate: tree-sitter ERROR and MISSING nodes in the changed files, in-process.

Only what the edit adds counts: the original file is parsed too (its tree is cached by content), the
candidate is parsed incrementally from it (a few ms for a 5,000-line file instead of ~50 ms), and
errors that were already there are not blamed (see ``blame``).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import OrderedDict
from pathlib import PurePosixPath
from typing import Literal

import tree_sitter
import tree_sitter_typescript

from .base import CheckContext, CheckOutcome, Finding, Range, WorkspaceProvider, outcome_from_findings
from .blame import introduced

Grammar = Literal["typescript", "tsx"]
_GRAMMARS: dict[str, Grammar] = {
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx", ".js": "tsx", ".jsx": "tsx", ".mjs": "tsx", ".cjs": "tsx",
}
_SNIPPET = 40
_INLINE_LIMIT = 64_000  # characters


def grammar_for(path: str) -> Grammar | None:
    return _GRAMMARS.get(PurePosixPath(path).suffix.lower())


_languages: dict[Grammar, tree_sitter.Language] = {}


def _language(grammar: Grammar) -> tree_sitter.Language:
    if grammar not in _languages:
        raw = tree_sitter_typescript.language_typescript() if grammar == "typescript" else (
            tree_sitter_typescript.language_tsx()
        )
        _languages[grammar] = tree_sitter.Language(raw)
    return _languages[grammar]


def _common_prefix(a: bytes, b: bytes) -> int:
    # Binary search with slice comparisons: memcmp speed instead of a Python loop per byte.
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid:] == b[len(b) - mid:]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _point(source: bytes, offset: int) -> tuple[int, int]:
    row = source.count(b"\n", 0, offset)
    return row, offset - (source.rfind(b"\n", 0, offset) + 1)


def _utf16_column(source: bytes, row_start: int, byte_column: int) -> int:
    prefix = source[row_start:row_start + byte_column]
    if prefix.isascii():
        return byte_column
    text = prefix.decode("utf-8", errors="replace")
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def error_nodes(tree: tree_sitter.Tree) -> list[tree_sitter.Node]:
    """Outermost ERROR nodes and MISSING nodes, visiting only subtrees that contain an error."""
    found: list[tree_sitter.Node] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            found.append(node)
            continue
        if node.has_error:
            stack.extend(reversed(node.children))
    return found


def _finding(path: str, source: bytes, node: tree_sitter.Node) -> Finding:
    (start_row, start_col), (end_row, end_col) = node.start_point, node.end_point
    start_line_at = node.start_byte - start_col
    end_line_at = node.end_byte - end_col
    start = _utf16_column(source, start_line_at, start_col)
    end = _utf16_column(source, end_line_at, end_col)
    if node.is_missing:
        code, message = "syntax:missing", f"Syntax error: missing `{node.type}`"
    else:
        text = source[node.start_byte:node.end_byte].decode("utf-8", errors="replace")
        snippet = " ".join(text.split())
        snippet = snippet if len(snippet) <= _SNIPPET else snippet[:_SNIPPET] + "…"
        code = "syntax:error"
        message = f"Syntax error: unexpected `{snippet}`" if snippet else "Syntax error"
    return Finding(path, Range.at(start_row, start, end_row, end), "error", code, message, "tree-sitter", "syntax")


class SyntaxChecker:
    """Implements the ``syntax`` check. Keeps recent original trees so re-checks are incremental."""

    name: Literal["syntax"] = "syntax"

    def __init__(self, cache_size: int = 64) -> None:
        self._trees: OrderedDict[tuple[Grammar, bytes], tuple[bytes, tree_sitter.Tree]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._local = threading.local()

    def _parser(self, grammar: Grammar) -> tree_sitter.Parser:
        parsers: dict[Grammar, tree_sitter.Parser] | None = getattr(self._local, "parsers", None)
        if parsers is None:
            parsers = self._local.parsers = {}
        if grammar not in parsers:
            parsers[grammar] = tree_sitter.Parser(_language(grammar))
        return parsers[grammar]

    def tree_for(self, grammar: Grammar, source: bytes) -> tree_sitter.Tree:
        """The parse tree of ``source``, from the cache when seen before."""
        key = (grammar, hashlib.blake2b(source, digest_size=16).digest())
        with self._lock:
            hit = self._trees.get(key)
            if hit is not None:
                self._trees.move_to_end(key)
                return hit[1]
        tree = self._parser(grammar).parse(source)
        with self._lock:
            self._trees[key] = (source, tree)
            while len(self._trees) > self._cache_size:
                self._trees.popitem(last=False)
        return tree

    def parse_edited(self, grammar: Grammar, old: bytes, old_tree: tree_sitter.Tree, new: bytes) -> tree_sitter.Tree:
        """Parse ``new`` reusing ``old_tree``: one edit spanning everything between the common ends."""
        prefix = _common_prefix(old, new)
        suffix = _common_suffix(old, new, min(len(old), len(new)) - prefix)
        edited = old_tree.copy()
        edited.edit(
            start_byte=prefix,
            old_end_byte=len(old) - suffix,
            new_end_byte=len(new) - suffix,
            start_point=_point(old, prefix),
            old_end_point=_point(old, len(old) - suffix),
            new_end_point=_point(new, len(new) - suffix),
        )
        return self._parser(grammar).parse(new, old_tree=edited)

    def check_file(self, path: str, old_text: str | None, new_text: str) -> list[Finding]:
        """Syntax errors in ``new_text`` that ``old_text`` (None: a new file, or judge as is) did not have."""
        grammar = grammar_for(path)
        if grammar is None:
            return []
        new = new_text.encode("utf-8")
        if old_text is None:
            tree = self._parser(grammar).parse(new)
            return [_finding(path, new, node) for node in error_nodes(tree)]
        old = old_text.encode("utf-8")
        old_tree = self.tree_for(grammar, old)
        tree = self.parse_edited(grammar, old, old_tree, new)
        after = [_finding(path, new, node) for node in error_nodes(tree)]
        if not after:
            return []
        before = [_finding(path, old, node) for node in error_nodes(old_tree)]
        return introduced(after, before, old_texts={path: old_text}, new_texts={path: new_text})

    def _check_all(self, context: CheckContext) -> tuple[list[Finding], int]:
        candidate = context.candidate
        findings: list[Finding] = []
        checked = 0
        for path, text in sorted(candidate.changes.items()):
            if text is None or grammar_for(path) is None:
                continue
            checked += 1
            original = context.originals.get(path) if candidate.compare_with_original else None
            findings.extend(self.check_file(path, original, text))
        return findings, checked

    async def run(self, context: CheckContext, workspace: WorkspaceProvider) -> CheckOutcome:
        started = time.perf_counter()
        size = sum(len(text) for text in context.candidate.changes.values() if text is not None)
        # Small edits parse in a few ms on the loop; big cold parses go to a thread (parsers are per thread).
        if size > _INLINE_LIMIT:
            findings, checked = await asyncio.to_thread(self._check_all, context)
        else:
            findings, checked = self._check_all(context)
        duration_ms = (time.perf_counter() - started) * 1000
        if not checked:
            return CheckOutcome(self.name, "passed", duration_ms, (), "no changed TypeScript/JavaScript files",
                                "tree-sitter")
        return outcome_from_findings(self.name, findings, duration_ms=duration_ms, tool="tree-sitter")
