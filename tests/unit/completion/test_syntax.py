"""The region around the cursor and the error counts it is judged by."""

from __future__ import annotations

from ai_coding_router.completion import syntax
from ai_coding_router.completion.syntax import (
    MAX_LINES_AFTER,
    MAX_LINES_BEFORE,
    SyntaxJudge,
    bracket_events,
    count_errors,
    find_region,
    grammar_for_language,
)
from ai_coding_router.context.languages import parser


def _big_class(methods: int) -> str:
    body = "".join(
        f"  method{m}(items: number[], limit: number): number {{\n"
        f"    let total = 0;\n"
        f"    for (const item of items) {{\n"
        f"      total += item * {m};\n"
        f"    }}\n"
        f"    return total;\n"
        f"  }}\n\n"
        for m in range(methods)
    )
    return "import { x } from './x';\n\nexport class Big {\n" + body + "}\n\nexport const after = 1;\n"


def test_a_small_file_is_one_top_level_region() -> None:
    prefix = "import { a } from './a';\n\nfunction f() {\n  const x = 1;\n  "
    suffix = "\n}\n\nfunction g() {}\n"
    region = find_region(prefix, suffix)
    assert region.head == "function f() {\n  const x = 1;\n  "
    assert region.tail == "\n}\n\n"


def test_a_big_class_gives_the_method_wrapped_in_a_class_shell() -> None:
    source = _big_class(40)
    # The user pressed Enter after "let total = 0;" in method30.
    end_of_line = source.index("    let total = 0;", source.index("method30(")) + len("    let total = 0;")
    prefix, suffix = source[:end_of_line] + "\n    ", source[end_of_line:]
    region = find_region(prefix, suffix)
    assert region.head.startswith("class __R {\n  method30(")
    assert region.tail.endswith("\n}\n")
    assert "method29" not in region.head and "method31" not in region.tail
    judge = SyntaxJudge(prefix, suffix, "typescript")
    assert judge.base_errors.total == 0  # the shell makes the member parse as it does in place
    assert judge.added_errors("const y = 2;") == 0
    assert judge.added_errors("const y = ;") > 0


def test_regions_are_bounded_in_lines() -> None:
    # One enormous function: no level fits, the innermost one is clipped to the caps.
    body = "".join(f"  const v{i} = {i};\n" for i in range(3000))
    source = "function huge() {\n" + body + "}\n"
    cursor = source.index("  const v1500")
    region = find_region(source[:cursor], source[cursor:])
    assert region.head.count("\n") <= MAX_LINES_BEFORE + 1
    assert region.tail.count("\n") <= MAX_LINES_AFTER + 2


def test_count_errors_separates_unclosed_from_hard_errors() -> None:
    def errors(source: str) -> tuple[int, int]:
        found = count_errors(parser("typescript").parse(source.encode()).root_node)
        return found.hard, found.unclosed

    assert errors("const a = 1;") == (0, 0)
    assert errors("function f() {\n  return 1;\n") == (0, 1)  # unfinished
    assert errors("function f(x) {\n  return x +;\n}\n") == (1, 0)  # wrong
    assert errors("const s = add(a, b));\n") == (1, 0)


def test_bracket_events_skip_strings_and_comments() -> None:
    text = "f(')', \"}\", `${x}]`) // )\n/* } */ g(a); }"
    events = [(char, depth) for _, char, depth in bracket_events(text)]
    assert events == [("(", 1), (")", 0), ("(", 1), (")", 0), (";", 0), ("}", -1)]


def test_grammar_for_language() -> None:
    assert grammar_for_language("typescript") == "typescript"
    assert grammar_for_language("typescriptreact") == "tsx"
    assert grammar_for_language("javascript") == "tsx"
    assert grammar_for_language("javascriptreact") == "tsx"
    assert grammar_for_language("python") is None


def test_the_base_count_is_cached_per_region() -> None:
    syntax._base_cache.clear()
    SyntaxJudge("function f() {\n  ", "\n}\n", "typescript")
    SyntaxJudge("function f() {\n  ", "\n}\n", "typescript")
    assert len(syntax._base_cache) == 1
    SyntaxJudge("function f() {\n  x", "\n}\n", "typescript")
    assert len(syntax._base_cache) == 2
