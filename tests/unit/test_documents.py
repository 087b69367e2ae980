"""The server's documents: LSP line rules and the incrementally maintained line index."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from ai_coding_router.edits import ContentChange, apply_content_changes
from ai_coding_router.edits.positions import LineIndex, Position, Range
from ai_coding_router.lsp.documents import RouterTextDocument

ALPHABET = st.sampled_from(list("ab c;{}\n\r\t\f\u2028😀é"))


def make(text: str) -> RouterTextDocument:
    return RouterTextDocument("file:///t.ts", source=text, version=1, position_codec=PositionCodec())


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(ALPHABET, max_size=60),
    edits=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 12), st.integers(0, 8), st.integers(0, 12),
                             st.text(ALPHABET, max_size=4)), max_size=8),
)
def test_incremental_changes_match_the_spec_and_keep_the_index_exact(
    text: str, edits: list[tuple[int, int, int, int, str]]
) -> None:
    document = make(text)
    expected = text
    for l1, c1, l2, c2, new in edits:
        start, end = sorted([(l1, c1), (l2, c2)])
        change = types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(*start), end=types.Position(*end)), text=new
        )
        document.apply_change(change)
        expected = apply_content_changes(
            expected, [ContentChange(Range(Position(*start), Position(*end)), new)]
        )
        assert document.source == expected
        assert document.line_index.starts == LineIndex(expected).starts


def test_form_feed_is_not_a_line_break() -> None:
    document = make("a\fb\nc\n")
    assert list(document.lines) == ["a\fb\n", "c\n"]
    document.apply_change(types.TextDocumentContentChangePartial(
        range=types.Range(start=types.Position(1, 0), end=types.Position(1, 0)), text="X"))
    assert document.source == "a\fb\nXc\n"
