"""DocumentTrees: incremental re-parse equals a fresh parse; LSP UTF-16 positions; bad positions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_coding_router.context.languages import grammar_for, parse
from ai_coding_router.context.parse_cache import DocumentTrees, line_starts
from ai_coding_router.errors import ContextError

URI = "file:///ws/src/a.ts"


def sexp(tree: object) -> str:
    return str(tree.root_node)  # type: ignore[attr-defined]


def apply_lsp_edit(text: str, sl: int, sc: int, el: int, ec: int, new: str) -> str:
    """Reference implementation on Python strings: lines split like LSP, characters in UTF-16 units."""
    import re

    pieces = re.split(r"(\r\n|\r|\n)", text)
    lines = pieces[0::2]
    offsets = []
    pos = 0
    for i, line in enumerate(lines):
        offsets.append(pos)
        pos += len(line) + (len(pieces[2 * i + 1]) if 2 * i + 1 < len(pieces) else 0)

    def offset(line: int, char: int) -> int:
        if line >= len(lines):
            return len(text)
        units = 0
        for i, ch in enumerate(lines[line]):
            width = 2 if ord(ch) > 0xFFFF else 1
            if units + width > char:
                return offsets[line] + i
            units += width
        return offsets[line] + len(lines[line])

    return text[: offset(sl, sc)] + new + text[offset(el, ec) :]


def test_grammar_by_extension() -> None:
    assert grammar_for("a.ts") == "typescript" and grammar_for("a.mts") == "typescript"
    assert grammar_for("a.cts") == "typescript" and grammar_for("a.d.ts") == "typescript"
    assert grammar_for("a.tsx") == "tsx" and grammar_for("a.jsx") == "tsx" and grammar_for("a.js") == "tsx"
    assert grammar_for("a.py") is None and grammar_for("README.md") is None


def test_open_edit_close() -> None:
    docs = DocumentTrees()
    assert docs.open(URI, "const a = 1;\n", version=1)
    assert not docs.open("file:///ws/notes.md", "# hi")
    tree = docs.apply_change(URI, 0, 10, 0, 11, "42", version=2)
    assert docs.text(URI) == "const a = 42;\n"
    assert sexp(tree) == sexp(parse(b"const a = 42;\n", "typescript"))
    assert docs.version(URI) == 2
    docs.close(URI)
    assert docs.tree(URI) is None
    with pytest.raises(ContextError, match="not open"):
        docs.apply_change(URI, 0, 0, 0, 0, "x")


def test_crlf_and_surrogate_pairs() -> None:
    docs = DocumentTrees()
    text = 'const s = "😀x";\r\nconst t = 1;\r\n'
    docs.open(URI, text)
    # The 😀 is two UTF-16 units: character 13 is just after it, before "x".
    docs.apply_change(URI, 0, 13, 0, 14, "y")
    assert docs.text(URI) == 'const s = "😀y";\r\nconst t = 1;\r\n'
    docs.apply_change(URI, 1, 10, 1, 11, "2")
    assert docs.text(URI) == 'const s = "😀y";\r\nconst t = 2;\r\n'
    # A position inside the surrogate pair snaps to the start of the emoji.
    docs.apply_change(URI, 0, 12, 0, 12, "-")
    assert docs.text(URI) == 'const s = "-😀y";\r\nconst t = 2;\r\n'
    assert docs.tree(URI) is not None
    assert sexp(docs.tree(URI)) == sexp(parse(docs.source(URI), "typescript"))


def test_positions_past_the_end_are_clamped_and_reversed_ranges_rejected() -> None:
    docs = DocumentTrees()
    docs.open(URI, "let a;\nlet b;")
    docs.apply_change(URI, 0, 99, 0, 99, " // end of line 0")
    assert docs.text(URI) == "let a; // end of line 0\nlet b;"
    docs.apply_change(URI, 50, 0, 60, 0, "\nlet c;")
    assert docs.text(URI).endswith("let b;\nlet c;")
    with pytest.raises(ContextError, match="ends before it starts"):
        docs.apply_change(URI, 1, 3, 0, 1, "x")
    with pytest.raises(ContextError, match="negative"):
        docs.apply_change(URI, -1, 0, 0, 0, "x")


ALPHABET = st.sampled_from(["a", "b", " ", ";", "(", ")", "{", "}", "\n", "\r\n", "\r", "😀", "é", "const ", "x = 1"])
TEXT = st.lists(ALPHABET, max_size=30).map("".join)


@settings(max_examples=150, deadline=None)
@given(
    text=TEXT,
    edits=st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 12), st.integers(0, 6), st.integers(0, 12), TEXT),
        min_size=1,
        max_size=6,
    ),
)
def test_incremental_edits_match_a_fresh_parse(text: str, edits: list[tuple[int, int, int, int, str]]) -> None:
    docs = DocumentTrees()
    docs.open(URI, text)
    expected = text
    for sl, sc, el, ec, new in edits:
        if (el, ec) < (sl, sc):
            sl, sc, el, ec = el, ec, sl, sc
        expected = apply_lsp_edit(expected, sl, sc, el, ec, new)
        tree = docs.apply_change(URI, sl, sc, el, ec, new)
        assert docs.text(URI) == expected
        source = docs.source(URI)
        assert sexp(tree) == sexp(parse(source, "typescript"))
        assert line_starts(source) == docs._docs[URI].starts
