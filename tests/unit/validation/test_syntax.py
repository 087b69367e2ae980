"""The tree-sitter syntax gate, with the real grammars."""

from __future__ import annotations

from pathlib import Path

from ai_coding_router.validation.base import Candidate, CheckContext, Position
from ai_coding_router.validation.syntax import SyntaxChecker

ORIGINAL = """export function add(a: number, b: number): number {
  return a + b;
}
"""


def test_a_missing_brace_is_found_with_code_range_and_kind() -> None:
    broken = ORIGINAL.replace("return a + b;\n}", "return a + b;\n")
    findings = SyntaxChecker().check_file("src/math.ts", ORIGINAL, broken)
    assert len(findings) == 1
    finding = findings[0]
    assert finding.code == "syntax:missing"
    assert finding.message == "Syntax error: missing `}`"
    assert finding.kind == "syntax" and finding.source == "tree-sitter" and finding.severity == "error"
    assert finding.path == "src/math.ts"
    assert finding.range.start == Position(1, 15)  # tree-sitter places it right after the last token


def test_unexpected_tokens_are_an_error_node_spanning_them() -> None:
    broken = ORIGINAL.replace("return a + b;", "return a + b;;; )(;")
    findings = SyntaxChecker().check_file("src/math.ts", ORIGINAL, broken)
    assert [f.code for f in findings] == ["syntax:error"]
    assert findings[0].range.start.line == 1
    assert "`" in findings[0].message


def test_a_clean_edit_has_no_findings() -> None:
    edited = ORIGINAL.replace("a + b", "b + a")
    assert SyntaxChecker().check_file("src/math.ts", ORIGINAL, edited) == []


def test_errors_already_in_the_original_are_not_blamed() -> None:
    already_broken = "const a = ;\n" + ORIGINAL
    edited = "// a comment that shifts every line\nconst a = ;\n" + ORIGINAL.replace("a + b", "a - b")
    assert SyntaxChecker().check_file("src/math.ts", already_broken, edited) == []


def test_a_new_error_in_an_already_broken_file_is_blamed() -> None:
    already_broken = "const a = ;\n" + ORIGINAL
    edited = already_broken + "const b = (;\n"
    findings = SyntaxChecker().check_file("src/math.ts", already_broken, edited)
    assert [f.range.start.line for f in findings] == [4]


def test_columns_are_utf16_like_lsp() -> None:
    text = "const s = '😀'; const t = ;\n"
    findings = SyntaxChecker().check_file("a.ts", None, text)
    assert len(findings) == 1
    # The error starts at the second "=": code point 23, but UTF-16 unit 24 (the emoji is a surrogate pair)
    assert findings[0].range.start == Position(0, 24)
    assert findings[0].message == "Syntax error: unexpected `=`"


def test_tsx_and_js_files_use_the_tsx_grammar_and_other_files_are_ignored() -> None:
    checker = SyntaxChecker()
    assert checker.check_file("view.tsx", None, "export const V = () => <div>{1}</div>;\n") == []
    assert checker.check_file("data.json", None, "{ not json") == []
    assert checker.check_file("a.js", None, "function (\n") != []


def test_the_original_tree_is_reused_across_candidates() -> None:
    checker = SyntaxChecker()
    checker.check_file("a.ts", ORIGINAL, ORIGINAL + "// one\n")
    first = checker.tree_for("typescript", ORIGINAL.encode())
    checker.check_file("a.ts", ORIGINAL, ORIGINAL + "// two\n")
    assert checker.tree_for("typescript", ORIGINAL.encode()) is first


async def test_run_judges_files_as_they_are_when_asked(tmp_path: Path) -> None:
    already_broken = "const a = ;\n"
    candidate = Candidate(tmp_path, {"a.ts": already_broken, "gone.ts": None}, compare_with_original=False)
    context = CheckContext(candidate, {"a.ts": already_broken, "gone.ts": "x"}, False, False, 10.0)
    outcome = await SyntaxChecker().run(context, workspace=None)  # type: ignore[arg-type]
    assert outcome.state == "failed"
    assert [f.path for f in outcome.findings] == ["a.ts"]
