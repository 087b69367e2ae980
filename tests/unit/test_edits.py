"""Unit tests of edits/: positions, minimal edits, rebase, the change-log mapper, workspace changes."""

from __future__ import annotations

import pytest
from lsprotocol import converters, types

from ai_coding_router.edits import (
    ContentChange,
    CreateFile,
    DocumentChange,
    FileUpdate,
    LineIndex,
    Position,
    Range,
    TextEdit,
    apply_content_changes,
    apply_text_edits,
    map_edits_through_changes,
    plan_workspace_change,
    rebase_text,
    split_lines,
    text_edits,
)
from ai_coding_router.edits.positions import code_units, end_position
from ai_coding_router.errors import EditError


def R(l1: int, c1: int, l2: int, c2: int) -> Range:
    return Range(Position(l1, c1), Position(l2, c2))


# --- positions ----------------------------------------------------------------------------------------

def test_split_lines_uses_only_lsp_line_breaks() -> None:
    # Form feed and U+2028 are not line breaks for editors; str.splitlines would split on them.
    text = "a\fb\u2028c\r\nd\re\nf"
    assert split_lines(text) == ["a\fb\u2028c\r\n", "d\r", "e\n", "f"]
    assert LineIndex(text).position(len(text)) == Position(3, 1)
    assert split_lines("") == []
    assert split_lines("x\n") == ["x\n"]


def test_utf16_columns_count_surrogate_pairs() -> None:
    text = 'x = "😋";\n'
    idx = LineIndex(text)
    quote = text.rindex('"')
    assert idx.position(quote) == Position(0, 7)  # 5 ASCII + the emoji's two UTF-16 units
    assert idx.offset(Position(0, 7)) == quote
    assert LineIndex(text, "utf-8").position(quote) == Position(0, 9)
    assert LineIndex(text, "utf-32").position(quote) == Position(0, 6)
    # A column in the middle of the pair rounds down to the emoji's start.
    assert idx.offset(Position(0, 6)) == text.index("😋")
    assert code_units("😋é", "utf-16") == 3 and code_units("😋é", "utf-8") == 6


def test_positions_clamp_like_clients() -> None:
    text = "ab\r\ncd"
    idx = LineIndex(text)
    assert idx.offset(Position(0, 99)) == 2  # past the end of the line: end of its content, before \r\n
    assert idx.offset(Position(9, 0)) == len(text)
    assert idx.position(3) == Position(0, 2)  # inside \r\n: before the \r
    assert idx.line_count == 2


def test_end_position_without_document_text() -> None:
    assert end_position(Position(2, 3), "x😀") == Position(2, 6)
    assert end_position(Position(2, 3), "a\r\nbc") == Position(3, 2)
    assert end_position(Position(2, 3), "a\n") == Position(3, 0)
    assert end_position(Position(2, 3), "") == Position(2, 3)


# --- text_edits ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("", "hello\n"),
        ("hello\n", ""),
        ("a\nb\nc\n", "a\nB\nc\n"),
        ("a\r\nb\r\nc\r\n", "a\r\nb2\r\nc\r\nd\r\n"),
        ("a\r\nb", "a\r\nb\r\n"),  # adding the final line break
        ("a\r\nb\r\n", "a\r\nb"),  # removing it
        ("x😀y\n", "x😀z🎉\n"),
        ("keep\nmiddle\nkeep\n", "keep\nkeep\n"),
        ("}\n" * 300 + "x\n", "}\n" * 300 + "y\n"),
        ("a\r\n", "a\rb\r\n"),
        ("no newline", "no newline at all"),
    ],
)
def test_text_edits_round_trip(old: str, new: str) -> None:
    edits = text_edits(old, new)
    assert apply_text_edits(old, edits) == new


def test_text_edits_are_minimal_and_in_utf16() -> None:
    old = "const s = '😀😀';\nconst t = 1;\n"
    new = "const s = '😀😀!';\nconst t = 1;\n"
    (edit,) = text_edits(old, new)
    assert edit == TextEdit(R(0, 15, 0, 15), "!")  # 11 ASCII + two emoji of 2 units each


def test_text_edits_never_split_crlf() -> None:
    old = "a\r\nb\r\n"
    new = "a\rX\nb\r\n"  # the \r and \n of the first break are both kept, X goes between
    edits = text_edits(old, new)
    idx = LineIndex(old)
    for e in edits:
        for off in idx.offsets(e.range):
            assert not (0 < off < len(old) and old[off - 1] == "\r" and old[off] == "\n")
    assert apply_text_edits(old, edits) == new


def test_text_edits_at_end_of_file_and_empty_documents() -> None:
    assert text_edits("", "") == []
    assert text_edits("", "x") == [TextEdit(R(0, 0, 0, 0), "x")]
    assert text_edits("a\n", "a\nb\n") == [TextEdit(R(1, 0, 1, 0), "b\n")]
    assert text_edits("a", "ab") == [TextEdit(R(0, 1, 0, 1), "b")]


def test_apply_text_edits_rejects_overlaps_and_keeps_insert_order() -> None:
    with pytest.raises(EditError):
        apply_text_edits("abcdef", [TextEdit(R(0, 0, 0, 3), "x"), TextEdit(R(0, 2, 0, 4), "y")])
    text = apply_text_edits("ab", [TextEdit(R(0, 1, 0, 1), "1"), TextEdit(R(0, 1, 0, 1), "2")])
    assert text == "a12b"


# --- rebase_text --------------------------------------------------------------------------------------

BASE = "one\ntwo\nthree\nfour\nfive\n"


def test_rebase_without_user_edits_is_the_plain_diff() -> None:
    ours = BASE.replace("four", "FOUR")
    result = rebase_text(BASE, BASE, ours)
    assert not result.held_back
    assert result.text == ours
    assert list(result.edits) == text_edits(BASE, ours)


def test_rebase_non_overlapping_edits_keeps_both() -> None:
    now = "zero\n" + BASE.replace("two", "two // typed")  # the user added a line and edited line 2
    ours = BASE.replace("four\nfive", "FOUR\nfive")
    result = rebase_text(BASE, now, ours)
    assert not result.held_back
    assert result.text == "zero\none\ntwo // typed\nthree\nFOUR\nfive\n"
    assert result.edits == (TextEdit(R(4, 0, 4, 4), "FOUR"),)  # positions in the user's current text
    assert apply_text_edits(now, result.edits) == result.text


def test_rebase_overlap_is_held_back_and_described() -> None:
    now = BASE.replace("three", "three // mine")
    ours = BASE.replace("three", "3")
    result = rebase_text(BASE, now, ours)
    assert result.held_back and result.edits == () and result.text is None
    assert result.conflicts[0].job_lines == (2, 3)
    assert result.conflicts[0].describe() == "the result changes line 3, where you edited line 3"


def test_rebase_adjacent_lines_merge_but_same_point_insertions_conflict() -> None:
    ours = BASE.replace("three\n", "three\ninserted\n")
    assert not rebase_text(BASE, BASE.replace("three", "THREE"), ours).held_back  # different lines
    now_insert = BASE.replace("three\n", "three\nmine\n")  # the user inserted at the same point
    result = rebase_text(BASE, now_insert, ours)
    assert result.held_back  # "mine" before or after "inserted" cannot be known


def test_rebase_identical_change_is_already_applied() -> None:
    changed = BASE.replace("two", "2")
    result = rebase_text(BASE, changed, changed)
    assert not result.held_back and result.edits == () and result.text == changed
    both = BASE.replace("two", "2").replace("five", "5")
    result = rebase_text(BASE, changed, both)  # the user already made one of the job's two changes
    assert not result.held_back and result.text == both


def test_rebase_crlf_and_emoji() -> None:
    base = "a😀\r\nb\r\nc🎉\r\n"
    now = "a😀 typed😎\r\nb\r\nc🎉\r\n"
    ours = "a😀\r\nb\r\nc🎉 done\r\n"
    result = rebase_text(base, now, ours)
    assert result.text == "a😀 typed😎\r\nb\r\nc🎉 done\r\n"
    assert result.edits == (TextEdit(R(2, 3, 2, 3), " done"),)  # c + 🎉 = 3 UTF-16 units


def test_rebase_empty_documents() -> None:
    assert rebase_text("", "", "new\n").text == "new\n"
    assert rebase_text("", "typed", "new\n").held_back  # both insert at the start of an empty document
    assert rebase_text("x\n", "", "y\n").held_back  # the user deleted what the job changed


def test_rebase_never_glues_lines_at_end_of_file() -> None:
    base = "a\nb\n"
    appended = "a\nb\nc\n"
    # The user typed on the last, empty line: appending the job's line there would give "typedc".
    assert rebase_text(base, "a\nb\ntyped", appended).held_back
    # The user removed the final line break: the job's appended line would join "b".
    assert rebase_text(base, "a\nb", appended).held_back
    # The job's last line has no break and the user appended a line after it.
    assert rebase_text(base, "a\nb\nmine\n", "a\nB").held_back
    # Away from the end nothing is glued.
    assert rebase_text(base, "a\nb\nmine", "A\nb\n").text == "A\nb\nmine"


# --- map_edits_through_changes ------------------------------------------------------------------------

def test_change_log_shifts_edits_after_the_user_change() -> None:
    base = "line0\nline1\nline2\n"
    edits = text_edits(base, base.replace("line2", "LINE2"))
    changes = [ContentChange(R(0, 5, 0, 5), " typed😀\nnew"), ContentChange(R(1, 0, 1, 0), ">")]
    mapped = map_edits_through_changes(edits, changes)
    assert mapped.ok
    now = base
    for c in changes:
        assert c.range is not None
        now = apply_text_edits(now, [TextEdit(c.range, c.text)])
    assert now == "line0 typed😀\n>new\nline1\nline2\n"
    assert apply_text_edits(now, mapped.edits) == "line0 typed😀\n>new\nline1\nLINE2\n"


def test_change_log_same_line_shift_counts_utf16() -> None:
    edits = [TextEdit(R(0, 4, 0, 5), "X")]
    mapped = map_edits_through_changes(edits, [ContentChange(R(0, 0, 0, 1), "😀😀")])
    assert mapped.edits == (TextEdit(R(0, 7, 0, 8), "X"),)


def test_change_log_touching_or_overlapping_holds_back() -> None:
    edits = [TextEdit(R(1, 2, 1, 4), "X")]
    for rng in (R(1, 4, 1, 4), R(1, 0, 1, 2), R(1, 3, 1, 3), R(0, 0, 2, 0)):
        mapped = map_edits_through_changes(edits, [ContentChange(rng, "u")])
        assert not mapped.ok and mapped.conflict is not None and mapped.conflict[0] == edits[0]
    assert map_edits_through_changes(edits, [ContentChange(R(1, 5, 1, 5), "u")]).ok
    assert map_edits_through_changes(edits, [ContentChange(R(1, 1, 1, 1), "u")]).edits == (
        TextEdit(R(1, 3, 1, 5), "X"),)


def test_change_log_with_a_full_sync_asks_for_a_diff() -> None:
    mapped = map_edits_through_changes([TextEdit(R(0, 0, 0, 1), "x")], [ContentChange(None, "all new")])
    assert mapped.full_sync and not mapped.ok


# --- workspace changes --------------------------------------------------------------------------------

def test_plan_versions_creates_and_annotations() -> None:
    plan = plan_workspace_change(
        [
            FileUpdate("file:///ws/a.ts", "let a = 1;\n", "let a = 2;\n", version=7),
            FileUpdate("file:///ws/new.ts", None, "export {};\n"),
            FileUpdate("file:///ws/same.ts", "x\n", "x\n", version=1),
        ],
        label="Security review",
        needs_confirmation=True,
    )
    assert not plan.held_back
    change = plan.change
    a, create, new = change.changes
    assert isinstance(a, DocumentChange) and a.version == 7 and a.uri == "file:///ws/a.ts"
    assert a.edits == (TextEdit(R(0, 8, 0, 9), "2", "aiCodingRouter.result"),)
    assert create == CreateFile("file:///ws/new.ts", "aiCodingRouter.result")
    assert isinstance(new, DocumentChange) and new.version is None
    assert apply_text_edits("", new.edits) == "export {};\n"
    assert change.annotations["aiCodingRouter.result"].needs_confirmation
    assert not change.is_empty


def test_plan_rebases_onto_the_current_version() -> None:
    base = "a\nb\nc\n"
    plan = plan_workspace_change(
        [FileUpdate("file:///ws/a.ts", base, "a\nb\nC\n", version=9, current_text="typed\na\nb\nc\n")],
        label="Fix")
    (doc,) = plan.change.changes
    assert isinstance(doc, DocumentChange) and doc.version == 9  # the version of the current text
    assert apply_text_edits("typed\na\nb\nc\n", doc.edits) == "typed\na\nb\nC\n"
    assert doc.edits[0].range.start.line == 3


def test_plan_holds_back_everything_when_one_file_conflicts() -> None:
    plan = plan_workspace_change(
        [
            FileUpdate("file:///ws/ok.ts", "x\n", "y\n", version=1),
            FileUpdate("file:///ws/busy.ts", "a\nb\n", "a\nB\n", version=5, current_text="a\nb // mine\n"),
            FileUpdate("file:///ws/new.ts", None, "n\n", current_text="the user made it\n"),
        ],
        label="Refactor")
    assert plan.held_back and plan.change.is_empty and plan.change.changes == ()
    assert plan.conflicts == {
        "file:///ws/busy.ts": ("the result changes line 2, where you edited line 2",),
        "file:///ws/new.ts": ("the file was created in the meantime",),
    }


def test_workspace_change_json_is_valid_lsp() -> None:
    change = plan_workspace_change(
        [FileUpdate("file:///ws/a.ts", "a\n", "b\n", version=3), FileUpdate("file:///ws/n.ts", None, "n\n")],
        label="Refactor", needs_confirmation=True, description="moves code",
    ).change
    params = converters.get_converter().structure(change.to_lsp(), types.ApplyWorkspaceEditParams)
    assert params.label == "Refactor"
    doc_changes = params.edit.document_changes
    assert doc_changes is not None
    first, create, second = doc_changes
    assert isinstance(first, types.TextDocumentEdit) and first.text_document.version == 3
    assert isinstance(create, types.CreateFile) and create.options is not None
    assert create.options.overwrite is False and create.options.ignore_if_exists is False
    assert isinstance(second, types.TextDocumentEdit) and second.text_document.version is None
    assert params.edit.change_annotations is not None
    ann = params.edit.change_annotations["aiCodingRouter.result"]
    assert ann.needs_confirmation is True and ann.description == "moves code"
    plain = change.without_annotations().to_lsp()
    assert "changeAnnotations" not in plain["edit"]
    assert all("annotationId" not in e for c in plain["edit"]["documentChanges"] for e in c.get("edits", []))


@pytest.mark.parametrize("sep", ["\f", "\u2028", "\x85", "\x1c"])
def test_apply_content_changes_follows_lsp_lines_unlike_splitlines(sep: str) -> None:
    # The client counts line 1 as "c": typing at its start must land there (pygls 2.1 puts it after sep).
    text = f"a{sep}b\nc\n"
    assert apply_content_changes(text, [ContentChange(R(1, 0, 1, 0), "X")]) == f"a{sep}b\nXc\n"


def test_apply_content_changes_sequence_full_sync_and_clamping() -> None:
    changes = [ContentChange(R(0, 1, 0, 1), "😀"), ContentChange(R(0, 3, 0, 4), "!"),
               ContentChange(R(5, 0, 9, 9), " end")]
    assert apply_content_changes("ab\r\ncd", changes) == "a😀!\r\ncd end"
    assert apply_content_changes("old", [ContentChange(None, "new"), ContentChange(R(0, 3, 0, 3), "!")]) == "new!"
