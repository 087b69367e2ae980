"""Where the cursor is after a didChange: the position a prompt is prepared for in the typing pause."""

from __future__ import annotations

from lsprotocol import types

from ai_coding_router.lsp.completion import cursor_after


def change(
    line: int, character: int, text: str, end: tuple[int, int] | None = None
) -> types.TextDocumentContentChangePartial:
    end_line, end_character = end if end is not None else (line, character)
    return types.TextDocumentContentChangePartial(
        range=types.Range(start=types.Position(line=line, character=character),
                          end=types.Position(line=end_line, character=end_character)),
        text=text,
    )


def test_a_typed_character_puts_the_cursor_after_it() -> None:
    assert cursor_after([change(4, 10, "x")]) == types.Position(line=4, character=11)


def test_a_new_line_puts_the_cursor_on_the_next_line_after_the_indentation() -> None:
    assert cursor_after([change(4, 10, "\n    ")]) == types.Position(line=5, character=4)
    assert cursor_after([change(4, 10, "\r\n")]) == types.Position(line=5, character=0)


def test_a_deletion_leaves_the_cursor_where_the_range_starts() -> None:
    assert cursor_after([change(4, 9, "", end=(4, 10))]) == types.Position(line=4, character=9)


def test_characters_outside_the_basic_plane_count_two_utf16_units() -> None:
    assert cursor_after([change(0, 2, "😀")]) == types.Position(line=0, character=4)


def test_the_last_change_of_several_wins() -> None:
    assert cursor_after([change(1, 0, "a"), change(7, 3, "bc")]) == types.Position(line=7, character=5)


def test_a_whole_text_replacement_or_no_change_has_no_cursor() -> None:
    assert cursor_after([types.TextDocumentContentChangeWholeDocument(text="all new")]) is None
    assert cursor_after([]) is None
