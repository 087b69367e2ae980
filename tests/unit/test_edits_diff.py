"""The line diff under text_edits and rebase: always a valid diff, small on real-looking code."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_coding_router.edits import diff
from ai_coding_router.edits.diff import LineHunk, equal_runs, line_hunks

LINES = st.lists(st.sampled_from(["}", "", "x", "y", "return;", "a", "b"]), max_size=40)


def rebuild(a: list[str], b: list[str], hunks: list[LineHunk]) -> list[str]:
    out: list[str] = []
    pos = 0
    for h in hunks:
        out.extend(a[pos : h.a_start])
        out.extend(b[h.b_start : h.b_end])
        pos = h.a_end
    out.extend(a[pos:])
    return out


def check_valid(a: list[str], b: list[str], hunks: list[LineHunk]) -> None:
    assert rebuild(a, b, hunks) == b
    for prev, cur in itertools.pairwise(hunks):
        assert prev.a_end < cur.a_start and prev.b_end < cur.b_start  # an equal line between hunks
        assert cur.a_start - prev.a_end == cur.b_start - prev.b_end
    for i, j, n in equal_runs(hunks, len(a), len(b)):
        assert a[i : i + n] == b[j : j + n]


@settings(max_examples=300, deadline=None)
@given(a=LINES, b=LINES)
def test_line_hunks_is_always_a_valid_diff(a: list[str], b: list[str]) -> None:
    check_valid(a, b, line_hunks(a, b))


@settings(max_examples=100, deadline=None)
@given(a=LINES, b=LINES)
def test_coarse_fallback_is_still_valid(a: list[str], b: list[str]) -> None:
    saved = diff.MAX_EDIT_DISTANCE
    diff.MAX_EDIT_DISTANCE = 2
    try:
        check_valid(a, b, line_hunks(a, b))
    finally:
        diff.MAX_EDIT_DISTANCE = saved


@pytest.mark.parametrize("n", [200, 20_000])
def test_one_changed_line_in_repetitive_code_is_one_small_hunk(n: int) -> None:
    a = ["function f() {", "  return;", "}", ""] * n
    b = list(a)
    b[len(b) // 2 + 1] = "  return 1;"
    assert line_hunks(a, b) == [LineHunk(len(a) // 2 + 1, len(a) // 2 + 2, len(a) // 2 + 1, len(a) // 2 + 2)]


def test_moved_block_and_identical_inputs() -> None:
    a = [f"line {i}" for i in range(10)]
    b = a[5:] + a[:5]
    hunks = line_hunks(a, b)
    check_valid(a, b, hunks)
    assert sum(h.a_end - h.a_start for h in hunks) == 5  # the shorter half moves
    assert line_hunks(a, a) == [] and line_hunks([], []) == []
    assert line_hunks([], ["x"]) == [LineHunk(0, 0, 0, 1)]
