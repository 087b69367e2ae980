"""Cleaning model replies: every case from the issue, with real tree-sitter."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_coding_router.completion.postprocess import (
    clean_completion,
    clean_partial,
    cut_points,
    cut_repetition,
    is_usable_prefix,
    strip_stream_preamble,
)
from ai_coding_router.completion.prompt import HOLE

BODY_PREFIX = "export function add(a: number, b: number): number {\n  "
BODY_SUFFIX = "\n}\n\nexport const answer = add(1, 2);\n"


def clean(
    raw: str, prefix: str = BODY_PREFIX, suffix: str = BODY_SUFFIX, language_id: str = "typescript"
) -> str | None:
    return clean_completion(raw, prefix=prefix, suffix=suffix, language_id=language_id)


# --- prose, fences, tags, marker ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "Here is the code:\nreturn a + b;",
        "Here's the completion:\n\nreturn a + b;",
        "Sure! Here is the missing line:\n```ts\nreturn a + b;\n```",
        "```typescript\nreturn a + b;\n```",
        "```\nreturn a + b;\n```\nThis returns the sum of both numbers.",
        "return a + b;\n\nThis completes the function.",
        "<insert>return a + b;",
        "I'll add the return statement.\n<insert>return a + b;</insert> trailing words",
        "<insert>```ts\nreturn a + b;\n```",
    ],
)
def test_prose_fences_and_tags_are_stripped(raw: str) -> None:
    assert clean(raw) == "return a + b;"


def test_a_fence_after_code_ends_the_completion() -> None:
    assert clean("return a + b;\n```\n\nExplanation: adds.") == "return a + b;"


def test_code_that_merely_starts_like_prose_is_kept() -> None:
    prefix = "function f(ok: boolean) {\n  let here = 0;\n  "
    assert clean("here = ok ? 1 : 2;", prefix=prefix) == "here = ok ? 1 : 2;"


def test_an_echoed_hole_marker_is_removed() -> None:
    prefix = BODY_PREFIX + "return "
    assert clean(f"return {HOLE}a + b;", prefix=prefix) == "a + b;"  # "return " repeats the prefix
    assert clean(f"{HOLE}return a + b;") == "return a + b;"
    prefix = "const label = "
    assert clean(f"'x' + {HOLE}'y';", prefix=prefix, suffix="\n") == "'x' + 'y';"  # not an echo: just dropped


# --- echoed prefix -----------------------------------------------------------------------------------


def test_the_current_line_echoed_is_dropped() -> None:
    prefix = "function f(items: string[]) {\n  const total = "
    assert clean("const total = items.length;", prefix=prefix) == "items.length;"


def test_several_echoed_lines_are_dropped() -> None:
    prefix = "function f() {\n  const a = 1;\n  const b = 2;\n  "
    assert clean("const a = 1;\n  const b = 2;\n  return a + b;", prefix=prefix) == "return a + b;"


def test_doubled_indentation_and_space_are_removed() -> None:
    assert clean("\n    return a + b;", prefix=BODY_PREFIX) == "  return a + b;"
    assert clean(" a + b;", prefix="export function add(a: number, b: number) {\n  return ") == "a + b;"


# --- repetition --------------------------------------------------------------------------------------


def test_a_line_repeated_three_times_is_cut_to_one() -> None:
    prefix = "function f() {\n  let total = 0;\n  "
    raw = "total += 1;\ntotal += 1;\ntotal += 1;\ntotal += 1;\ntotal += 1;"
    assert clean(raw, prefix=prefix) == "total += 1;"


def test_a_repeated_block_is_cut_to_one_copy() -> None:
    raw = "a();\nb();\na();\nb();\na();\nb();\na();"
    assert cut_repetition(raw) == "a();\nb();"


def test_closing_braces_in_a_row_are_not_repetition() -> None:
    raw = "      x();\n    }\n  }\n}"
    assert cut_repetition(raw) == raw


def test_a_token_loop_running_to_the_end_is_cut() -> None:
    raw = "items" + ".map((x) => x)" * 9 + ".map((x"
    assert clean(raw, prefix="const r = ", suffix=";\n") == "items.map((x) => x)"


def test_a_legitimate_run_of_equal_tokens_is_kept() -> None:
    raw = "[0, 0, 0, 0, 0, 0, 0, 0, 0, 0];"
    assert clean(raw, prefix="const zeros = ", suffix="\n") == raw


def test_nothing_but_repetition_of_the_suffix_gives_none() -> None:
    prefix = "function f(x: number) {\n  "
    suffix = "\n  return x;\n}\n"
    assert clean("return x;", prefix=prefix, suffix=suffix) is None


# --- overlap with the suffix -------------------------------------------------------------------------


def test_overlap_with_an_auto_closed_paren_is_removed() -> None:
    assert clean("a, b);", prefix="const s = add(", suffix=");\n") == "a, b"
    assert clean("a, b)", prefix="const s = add(", suffix=")\n") == "a, b"


def test_overlap_with_the_following_lines_is_removed() -> None:
    prefix = "function f() {\n  "
    suffix = "\n  return x;\n}\n"
    assert clean("const x = 1;\n  return x;\n}", prefix=prefix, suffix=suffix) == "const x = 1;"


def test_the_syntax_rule_keeps_a_closer_that_is_needed() -> None:
    # f(g(x)): the completion's ")" closes g, the suffix's ")" closes f — removing it would be wrong.
    assert clean("x)", prefix="const v = f(g(", suffix=");\n") == "x)"


def test_overlap_inside_an_identifier_is_removed() -> None:
    prefix = "function f(oldValue: number) {\n  const v = "
    assert clean("newValue;", prefix=prefix, suffix="Value;\n}\n") == "new"


# --- syntax: block end, cuts, fallback ---------------------------------------------------------------


def test_the_completion_stops_at_the_end_of_the_enclosing_block() -> None:
    raw = "return a + b;\n}\n\nexport function other() {\n  return 2;\n}"
    assert clean(raw) == "return a + b;"


def test_a_cut_avoids_a_new_syntax_error() -> None:
    raw = "const sum = a + b;\nconst twice = sum * ;\nreturn twice;"
    assert clean(raw) == "const sum = a + b;"


def test_the_longest_clean_cut_is_chosen() -> None:
    raw = "const sum = a + b;\nconst twice = sum * 2;\nreturn twice +;"
    assert clean(raw) == "const sum = a + b;\nconst twice = sum * 2;"


def test_inside_an_expression_the_first_statement_end_is_a_cut() -> None:
    prefix = "function f(a: number) {\n  const v = g("
    suffix = ");\n}\n"
    assert clean("a, 1); h(;", prefix=prefix, suffix=suffix) == "a, 1"


def test_garbage_gives_none() -> None:
    assert clean("return a +;") is None
    assert clean(")))(((") is None


def test_unfinished_but_correct_code_is_kept() -> None:
    # Cut by max_tokens inside a block: only the closing brace is missing.
    prefix = "function f(xs: number[]) {\n  "
    assert clean("for (const x of xs) {\n    console.log(x);", prefix=prefix) == (
        "for (const x of xs) {\n    console.log(x);"
    )
    # A hard error in the body: the correct part (the header) is kept.
    assert clean("for (const x of xs) {\n    console.log(x +", prefix=prefix) == "for (const x of xs) {"


def test_an_existing_error_elsewhere_does_not_block_a_completion() -> None:
    prefix = "function f() {\n  const broken = ;\n  "
    assert clean("return 1;", prefix=prefix) == "return 1;"


@pytest.mark.parametrize("raw", ["", "   \n\t\n", "```\n```", "<insert></insert>", "Here is the code:"])
def test_empty_or_whitespace_gives_none(raw: str) -> None:
    assert clean(raw) is None


def test_jsx_through_the_tsx_grammar() -> None:
    prefix = "export function List({ items }) {\n  return (\n    <ul>\n      "
    suffix = "\n    </ul>\n  );\n}\n"
    raw = "{items.map((item) => <li key={item}>{item}</li>)}\n    </ul>\n  );\n}"
    expected = "{items.map((item) => <li key={item}>{item}</li>)}"
    assert clean(raw, prefix=prefix, suffix=suffix, language_id="javascriptreact") == expected
    assert clean(raw, prefix=prefix, suffix=suffix, language_id="typescriptreact") == expected


def test_crlf_documents() -> None:
    prefix = "function f() {\r\n  const a = 1;\r\n  "
    assert clean("return a;\r\n}", prefix=prefix, suffix="\r\n}\r\n") == "return a;"


def test_other_languages_get_the_text_steps_only() -> None:
    assert clean("```python\nreturn a +\n```", prefix="def f(a):\n    ", suffix="\n", language_id="python") == (
        "return a +"
    )


def test_a_large_file_uses_only_the_region_around_the_cursor() -> None:
    # A syntax error far above the cursor does not matter; the region is bounded.
    head = "const broken = ;\n" + "".join(f"export const c{i} = {i};\n" for i in range(5000))
    prefix = head + "export function f() {\n  "
    suffix = "\n}\n" + "".join(f"export const d{i} = {i};\n" for i in range(5000))
    assert clean("return c1 +;\nreturn 1;", prefix=prefix, suffix=suffix) is None
    assert clean("return c1;\nreturn 1 +;", prefix=prefix, suffix=suffix) == "return c1;"


def test_cut_points_are_longest_first_and_include_statement_ends() -> None:
    cuts = cut_points("a, 1); h(x); k(\nnext();\nmore();")
    assert cuts == sorted(cuts, key=len, reverse=True)
    assert "a, 1" in cuts  # just before the ")" that closes the prefix's bracket
    assert "a, 1); h(x); k(\nnext();" in cuts  # a line end
    assert "a, 1); h(x); k(" in cuts


# --- partial streams ---------------------------------------------------------------------------------


def test_partial_stream_is_cut_to_its_last_complete_line() -> None:
    raw = "<insert>const sum = a + b;\nreturn su"
    assert clean_partial(raw, prefix=BODY_PREFIX, suffix=BODY_SUFFIX, language_id="typescript") == (
        "const sum = a + b;"
    )


def test_partial_closing_tag_is_dropped() -> None:
    raw = "<insert>return a + b;</ins"
    assert clean_partial(raw, prefix=BODY_PREFIX, suffix=BODY_SUFFIX, language_id="typescript") == "return a + b;"


def test_is_usable_prefix() -> None:
    doc = {"prefix": BODY_PREFIX, "suffix": BODY_SUFFIX, "language_id": "typescript"}
    assert is_usable_prefix("<insert>return a + b;", **doc)
    assert is_usable_prefix("<insert>const sum = a + b;\n", **doc)
    assert not is_usable_prefix("<insert>return a + ", **doc)  # at a boundary, but a syntax error
    assert not is_usable_prefix("<insert>return a + b", **doc)  # "b" may be the start of "bValue"
    assert not is_usable_prefix("<ins", **doc)
    assert is_usable_prefix("return a + b;")  # without the document only the boundary is checked
    assert not is_usable_prefix("return a + b")


def test_strip_stream_preamble() -> None:
    assert strip_stream_preamble("<insert>foo(") == "foo("
    assert strip_stream_preamble("<ins") == ""
    assert strip_stream_preamble("<insert>foo()</insert>") == "foo()"
    assert strip_stream_preamble("<insert>foo()</in") == "foo()"


# --- robustness --------------------------------------------------------------------------------------

_PIECES = ["\n", "  ", "{", "}", "(", ")", ";", "`", "'", "x", "return ", "const a = 1", "```ts", "```", HOLE,
           "<insert>", "</insert>", "Here is the code:", "/*", "*/", "//", "\r\n", "\ud800", "é"]


@settings(max_examples=300, deadline=None)
@given(
    raw=st.lists(st.sampled_from(_PIECES), max_size=30).map("".join),
    prefix=st.lists(st.sampled_from(_PIECES), max_size=30).map("".join),
    suffix=st.lists(st.sampled_from(_PIECES), max_size=30).map("".join),
    language_id=st.sampled_from(["typescript", "typescriptreact", "javascript", "plaintext"]),
    partial=st.booleans(),
)
def test_cleaning_never_fails_and_never_leaks_markers(
    raw: str, prefix: str, suffix: str, language_id: str, partial: bool
) -> None:
    result = clean_completion(raw, prefix=prefix, suffix=suffix, language_id=language_id, partial=partial)
    assert result is None or (result.strip() and HOLE not in result and "<insert>" not in result)
