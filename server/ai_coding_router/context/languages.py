"""File extension → tree-sitter language, and cached parsers.

TypeScript files use the ``typescript`` grammar (its ``<T>expr`` casts are not valid TSX); everything that
may hold JSX — ``.tsx``, ``.js``, ``.jsx``, ``.mjs``, ``.cjs`` — uses the ``tsx`` grammar, which parses
plain JavaScript as well.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import PurePath
from typing import Literal

import tree_sitter
import tree_sitter_typescript

GrammarName = Literal["typescript", "tsx"]

_EXTENSIONS: dict[str, GrammarName] = {
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".js": "tsx",
    ".jsx": "tsx",
    ".mjs": "tsx",
    ".cjs": "tsx",
}

# Extensions the index treats as source files, in the order module resolution probes them.
SOURCE_EXTENSIONS: tuple[str, ...] = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")


def grammar_for(path: str | PurePath) -> GrammarName | None:
    """The grammar for a file name, or None when it is not a source file we parse."""
    name = PurePath(path).name.lower()
    if name.endswith(".d.ts") or name.endswith(".d.mts") or name.endswith(".d.cts"):
        return "typescript"
    return _EXTENSIONS.get(PurePath(name).suffix)


def is_source_file(path: str | PurePath) -> bool:
    return grammar_for(path) is not None


@cache
def language(grammar: GrammarName) -> tree_sitter.Language:
    if grammar == "typescript":
        return tree_sitter.Language(tree_sitter_typescript.language_typescript())
    return tree_sitter.Language(tree_sitter_typescript.language_tsx())


# A Parser is not safe to share between threads; the index builds on a worker thread while the LSP
# loop parses open documents, so each thread gets its own parsers.
_local = threading.local()


def parser(grammar: GrammarName) -> tree_sitter.Parser:
    parsers: dict[str, tree_sitter.Parser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = {}
        _local.parsers = parsers
    found = parsers.get(grammar)
    if found is None:
        found = tree_sitter.Parser(language(grammar))
        parsers[grammar] = found
    return found


def parse(source: bytes, grammar: GrammarName, old_tree: tree_sitter.Tree | None = None) -> tree_sitter.Tree:
    p = parser(grammar)
    if old_tree is None:
        return p.parse(source)
    return p.parse(source, old_tree)
