"""Which findings an edit introduced: pure matching through a line diff, then by count."""

from __future__ import annotations

from ai_coding_router.validation.base import Finding, Range
from ai_coding_router.validation.blame import by_test_name, introduced, line_map


def f(path: str, line: int, code: str = "TS2322", message: str = "bad", character: int = 0) -> Finding:
    return Finding(path, Range.at(line, character), "error", code, message, "tsc", "type")


def test_line_map_follows_inserted_and_deleted_lines() -> None:
    old = "a\nb\nc\nd\n"
    new = "new\na\nb\nd\n"  # a line inserted at the top, "c" deleted
    mapping = line_map(old, new)
    assert mapping[1] == 0 and mapping[2] == 1 and mapping[3] == 3
    assert 0 not in mapping


def test_error_moved_down_by_an_insertion_is_not_blamed() -> None:
    old = "var x: number = 's';\n"
    new = "// a comment\nvar x: number = 's';\n"
    before = [f("a.ts", 0, character=4)]
    after = [f("a.ts", 1, character=4)]
    assert introduced(after, before, old_texts={"a.ts": old}, new_texts={"a.ts": new}) == []


def test_a_second_identical_error_is_new() -> None:
    old = "x\n"
    new = "x\ny\n"
    before = [f("a.ts", 0)]
    after = [f("a.ts", 0), f("a.ts", 1)]
    assert introduced(after, before, old_texts={"a.ts": old}, new_texts={"a.ts": new}) == [f("a.ts", 1)]


def test_an_error_on_an_edited_line_that_persists_is_matched_by_count() -> None:
    old = "let a: number = 'x';\n"
    new = "let a: number = 'x'; // edited\n"
    assert introduced([f("a.ts", 0)], [f("a.ts", 0)], old_texts={"a.ts": old}, new_texts={"a.ts": new}) == []


def test_different_message_or_file_is_new() -> None:
    before = [f("a.ts", 3, message="old problem"), f("b.ts", 3)]
    after = [f("a.ts", 3, message="new problem"), f("c.ts", 3)]
    assert introduced(after, before, old_texts={}, new_texts={}) == after


def test_unchanged_files_keep_their_positions() -> None:
    before = [f("other.ts", 5)]
    after = [f("other.ts", 5), f("other.ts", 9, message="new")]
    result = introduced(after, before, old_texts={"a.ts": "1\n"}, new_texts={"a.ts": "2\n"})
    assert result == [f("other.ts", 9, message="new")]


def test_every_finding_in_a_new_file_is_new() -> None:
    after = [f("new.ts", 0)]
    assert introduced(after, [f("x.ts", 0)], old_texts={"new.ts": None}, new_texts={"new.ts": "x\n"}) == after


def test_tests_are_matched_by_name_not_by_message() -> None:
    def t(name: str, message: str) -> Finding:
        return Finding("a.test.ts", Range.at(0, 0), "error", name, message, "vitest", "test")

    before = [t("suite keeps", "expected 1 to be 2")]
    after = [t("suite keeps", "expected 3 to be 2"), t("suite adds", "expected 0 to be 1")]
    result = introduced(after, before, old_texts={}, new_texts={}, key=by_test_name, use_positions=False)
    assert [x.code for x in result] == ["suite adds"]
