"""Pure parts: focused segments, condensed findings, sign-off parsing, payload builders."""

from __future__ import annotations

from ai_coding_router import prompts as P
from ai_coding_router.pipeline.context import ContextSnippet
from ai_coding_router.pipeline.segments import file_segment, focus_segments, needed_symbols
from ai_coding_router.validation.base import Finding, Range

BASE = "\n".join(f"line {i}" for i in range(1, 41)) + "\n"


def finding(path: str, line: int, code: str = "TS2322", kind: str = "type", message: str = "bad") -> Finding:
    return Finding(path, Range.at(line, 0), "error", code, message, "tsc", kind)  # type: ignore[arg-type]


def test_segments_show_changed_lines_and_findings_with_neighbours_merged() -> None:
    new = BASE.replace("line 10\n", "line ten\n").replace("line 12\n", "line twelve\n")
    segments = focus_segments({"a.ts": BASE}, {"a.ts": new}, [finding("t.ts", 20)],
                              lambda p: BASE if p == "t.ts" else None, margin=2)
    assert [(s.path, s.start_line, s.end_line, s.reason) for s in segments] == [
        ("t.ts", 18, 22, "finding"),  # findings first: that is where the failure shows
        ("a.ts", 7, 13, "changed"),  # both hunks (lines 10 and 12) in one segment
    ]
    assert segments[1].text.splitlines()[2] == "line ten" and segments[1].total_lines == 40


def test_segments_respect_the_line_cap_and_skip_unknown_files() -> None:
    new = "\n".join(f"new {i}" for i in range(1, 41)) + "\n"
    segments = focus_segments({"a.ts": BASE}, {"a.ts": new}, [finding("gone.ts", 3)], lambda p: None,
                              max_lines=10)
    assert sum(s.size for s in segments) == 10 and {s.path for s in segments} == {"a.ts"}


def test_a_new_file_is_shown_whole_and_a_large_file_is_not_sent_whole() -> None:
    [created] = focus_segments({"n.ts": None}, {"n.ts": "a\nb\n"}, [], lambda p: None)
    assert (created.start_line, created.end_line, created.text) == (0, 1, "a\nb")
    assert file_segment("big.ts", "x\n" * 500) is None and file_segment("s.ts", "x\ny") is not None


def test_needed_symbols_are_the_outlines_the_segments_use() -> None:
    segments = focus_segments({}, {}, [finding("a.ts", 1)], lambda p: "const r = clamp(x, RANGE);\n")
    snippets = [
        ContextSnippet("m.ts", 0, 2, "export function clamp(v: number): number { … }", "definition", "clamp"),
        ContextSnippet("m.ts", 4, 5, "export function sum(v: number[]): number { … }", "definition", "sum"),
        ContextSnippet("u.ts", 0, 9, "whole file", "cursor", ""),
    ]
    assert [s.symbol for s in needed_symbols(segments, snippets)] == ["clamp"]


def test_condensed_findings_drop_stack_traces_and_cap_the_list() -> None:
    long = "AssertionError: expected 1 to be 2\n    at Object.<anonymous> (src/a.test.ts:3:5)\n    at run (x.js:1:1)"
    findings = [finding("a.ts", i, message=long, kind="test", code=f"suite test {i}") for i in range(12)]
    text = P.condense(findings, limit=3)
    assert text.count("\n- ") == 3 and "at Object" not in text and "… and 9 more" in text
    assert text.startswith("- a.ts:1:1 [tsc suite test 0] AssertionError: expected 1 to be 2")
    signature = P.failure_signature("fail-logic", findings[:2])
    assert signature == 'fail-logic — 2 failing test(s): "suite test 0"; "suite test 1"'


def test_sign_off_answers_are_parsed_strictly() -> None:
    assert P.parse_signoff("APPROVE\nLooks fine.") == (True, "Looks fine.")
    assert P.parse_signoff("**REJECT**: leaks the token\n- logs it") == (False, "leaks the token\n- logs it")
    approved, why = P.parse_signoff("I think this is fine.")
    assert not approved and "did not start with APPROVE or REJECT" in why
    assert P.parse_signoff("") == (False, "the reviewer gave no answer")


def test_the_stable_system_prefix_is_the_same_for_every_edit_request() -> None:
    task = P.TaskText("fix", "", "a.ts", 0, 1)
    requests = [
        P.generate_request("m", task, "x", [], 2),
        P.repair_request("m", task, "1 type error", [finding("a.ts", 0)], []),
        P.escalate_request("m", task, "fail-logic", [finding("a.ts", 0)], [], []),
    ]
    assert {r.system_stable for r in requests} == {P.EDIT_FORMAT}
    assert len({r.system_dynamic for r in requests}) == 3
    assert "Fix the problem in the selected code." in P.request_text(requests[0])
    assert P.says_no_changes("NO CHANGES\nall good") and not P.says_no_changes("src/a.ts\n<<<<<<< SEARCH")
