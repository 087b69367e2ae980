"""Pure parts of the report: combining outcomes into a status, LSP diagnostics, check selection."""

from __future__ import annotations

import pytest

from ai_coding_router.config import ValidationConfig
from ai_coding_router.validation.base import (
    CheckOutcome,
    Finding,
    Range,
    diagnostics_by_path,
    skipped,
    to_lsp_diagnostic,
    tool_finding,
)
from ai_coding_router.validation.runner import combine, resolve_checks


def finding(kind: str, severity: str = "error", path: str = "a.ts") -> Finding:
    return Finding(path, Range.at(1, 2, 1, 5), severity, "X1", f"a {kind} problem", "tool", kind)  # type: ignore[arg-type]


def test_type_or_lint_errors_are_fail_syntax_even_with_failing_tests() -> None:
    outcomes = [
        CheckOutcome("typescript_compile", "failed", 1.0, (finding("type"),)),
        CheckOutcome("vitest_run", "failed", 1.0, (finding("test"),)),
    ]
    status, reason, findings = combine(outcomes)
    assert status == "fail-syntax"
    assert reason == "1 type error(s), 1 failing test(s)"
    assert len(findings) == 2


def test_failing_tests_alone_are_fail_logic() -> None:
    status, reason, _ = combine([CheckOutcome("vitest_run", "failed", 1.0, (finding("test"), finding("test")))])
    assert (status, reason) == ("fail-logic", "2 failing test(s)")


def test_warnings_do_not_fail() -> None:
    status, _, findings = combine([CheckOutcome("eslint_strict", "passed", 1.0, (finding("lint", "warning"),))])
    assert status == "pass"
    assert len(findings) == 1


def test_skipped_or_could_not_run_is_never_pass() -> None:
    outcomes = [
        CheckOutcome("typescript_compile", "passed"),
        skipped("vitest_run", "tests not run: the workspace is not trusted"),
        CheckOutcome("eslint_strict", "could-not-run", 0.0, (tool_finding("eslint_strict", "node is missing"),),
                     "node is missing"),
    ]
    status, reason, _ = combine(outcomes)
    assert status == "incomplete"
    assert "vitest_run skipped: tests not run" in reason and "eslint_strict could-not-run: node is missing" in reason


def test_everything_passed() -> None:
    assert combine([CheckOutcome("syntax", "passed"), CheckOutcome("typescript_compile", "passed")])[:2] == (
        "pass", "2 check(s) passed"
    )


def test_findings_become_lsp_diagnostics() -> None:
    diagnostic = to_lsp_diagnostic(Finding("src/a.ts", Range.at(3, 4, 3, 9), "warning", "eqeqeq", "Use ===",
                                           "eslint", "lint"))
    assert diagnostic == {
        "range": {"start": {"line": 3, "character": 4}, "end": {"line": 3, "character": 9}},
        "severity": 2,
        "code": "eqeqeq",
        "source": "ai-coding-router",
        "message": "Use === (eslint)",
        "data": {"tool": "eslint", "kind": "lint"},
    }
    grouped = diagnostics_by_path([finding("type", path="a.ts"), finding("lint", path="b.ts"), finding("type")])
    assert sorted(grouped) == ["a.ts", "b.ts"]
    assert [d["severity"] for d in grouped["a.ts"]] == [1, 1]


def test_check_selection_adds_the_syntax_gate_and_keeps_order() -> None:
    assert resolve_checks(None, ValidationConfig()) == ["syntax", "typescript_compile", "eslint_strict", "vitest_run"]
    assert resolve_checks(["vitest_run", "syntax"], ValidationConfig()) == ["syntax", "vitest_run"]
    with pytest.raises(ValueError, match="unknown check"):
        resolve_checks(["pylint"], ValidationConfig())
