"""The pure parsers of tsc, eslint and vitest output, on real output saved from the pinned toolchain."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_coding_router.validation.base import Position, Range
from ai_coding_router.validation.eslint import parse_eslint_json
from ai_coding_router.validation.tsc import parse_tsc_output
from ai_coding_router.validation.vitest import parse_vitest_json

OUTPUTS = Path(__file__).resolve().parents[2] / "fixtures" / "validation" / "outputs"


def saved(name: str, root: Path) -> str:
    return (OUTPUTS / name).read_text(encoding="utf-8").replace("@ROOT@", str(root))


def test_tsc_errors_have_codes_zero_based_positions_and_relative_paths(tmp_path: Path) -> None:
    findings = parse_tsc_output(saved("tsc-7.0.2.txt", tmp_path), tmp_path)

    assert [(f.path, f.range.start.line, f.range.start.character, f.code) for f in findings] == [
        ("src/load.test.ts", 1, 21, "TS2307"),
        ("src/shapes.ts", 6, 61, "TS2322"),
        ("src/shapes.ts", 7, 40, "TS2322"),  # after an emoji: tsc counts UTF-16 units, as LSP does
        ("src/shapes.ts", 8, 24, "TS2307"),
        ("src/shapes.ts", 14, 38, "TS2322"),
        ("src/shapes.ts", 16, 13, "TS2322"),
        ("src/shapes.ts", 17, 6, "TS2322"),
        ("tsconfig.json", 2, 55, "TS5023"),
    ]
    assert {f.kind for f in findings} == {"type"}
    assert {f.source for f in findings} == {"tsc"}
    assert all(f.severity == "error" for f in findings)


def test_tsc_elaborated_message_keeps_its_continuation_lines(tmp_path: Path) -> None:
    findings = parse_tsc_output(saved("tsc-7.0.2.txt", tmp_path), tmp_path)
    elaborated = findings[6]
    assert elaborated.message.splitlines() == [
        "Type '(x: number) => number' is not assignable to type '(x: string) => number'.",
        "Types of parameters 'x' and 'x' are incompatible.",
        "Type 'string' is not assignable to type 'number'.",
    ]
    assert findings[7].message == "Unknown compiler option 'bogusOption'."


def test_tsc_absolute_paths_and_global_errors(tmp_path: Path) -> None:
    output = (
        f"{tmp_path}/src/a.ts(3,9): error TS2304: Cannot find name 'x'.\n"
        "error TS5058: The specified path does not exist: 'nothere.json'.\n"
        "/elsewhere/lib.d.ts(1,1): error TS1000: Outside.\n"
        "Found 3 errors.\n"
    )
    findings = parse_tsc_output(output, tmp_path)
    assert [(f.path, f.code) for f in findings] == [
        ("src/a.ts", "TS2304"), ("", "TS5058"), ("/elsewhere/lib.d.ts", "TS1000")
    ]
    assert findings[0].range == Range(Position(2, 8), Position(2, 8))
    assert findings[1].message == "The specified path does not exist: 'nothere.json'."
    assert findings[2].message == "Outside."  # the summary line is not glued to it


def test_tsc_empty_output_means_no_findings(tmp_path: Path) -> None:
    assert parse_tsc_output("", tmp_path) == []


def test_eslint_messages_become_lint_findings_with_full_ranges(tmp_path: Path) -> None:
    findings = parse_eslint_json(saved("eslint-10.15.0.json", tmp_path), tmp_path)
    by_code = {(f.path, f.code, f.range.start.line): f for f in findings}

    no_var = by_code[("src/shapes.ts", "no-var", 12)]
    assert no_var.range == Range(Position(12, 0), Position(12, 15))
    assert no_var.kind == "lint" and no_var.severity == "error" and no_var.source == "eslint"
    assert no_var.message == "Unexpected var, use let or const instead."

    eqeqeq = by_code[("src/shapes.ts", "eqeqeq", 18)]
    assert eqeqeq.severity == "warning"
    assert eqeqeq.range == Range(Position(18, 13), Position(18, 15))

    assert ("src/shapes.ts", "no-console", 18) in by_code
    assert sum(1 for f in findings if f.code == "@typescript-eslint/no-unused-vars") == 2
    assert len(findings) == 6  # calc.ts is clean: no finding for it


def test_eslint_fatal_parse_error_is_a_syntax_finding(tmp_path: Path) -> None:
    findings = parse_eslint_json(saved("eslint-10.15.0.json", tmp_path), tmp_path, source="eslint (default config)")
    fatal = [f for f in findings if f.path == "src/broken.ts"]
    assert len(fatal) == 1
    assert fatal[0].kind == "syntax"
    assert fatal[0].code == "parse-error"
    assert fatal[0].range.start == Position(1, 0)  # eslint says column 0 here: clamped, not -1
    assert fatal[0].source == "eslint (default config)"


def test_eslint_rejects_output_that_is_not_a_result_list(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        parse_eslint_json('{"oops": true}', tmp_path)
    with pytest.raises(ValueError):
        parse_eslint_json("Oops! Something went wrong!", tmp_path)


def test_vitest_failures_point_at_the_failing_assertion(tmp_path: Path) -> None:
    findings, summary = parse_vitest_json(saved("vitest-4.1.12.json", tmp_path), tmp_path)
    assert summary["numFailedTests"] == 2
    by_code = {f.code: f for f in findings}

    doubles = by_code["calc doubles"]
    assert doubles.path == "src/calc.test.ts"
    assert doubles.kind == "test" and doubles.source == "vitest" and doubles.severity == "error"
    assert doubles.message == "AssertionError: expected 6 to be 4 // Object.is equality"
    assert doubles.range.start == Position(5, 22)  # the expect() line from the stack, not the it() line

    thrown = by_code["calc throws nicely"]
    assert thrown.message == "TypeError: boom: not implemented"
    assert thrown.range.start == Position(13, 10)

    assert "calc keeps zero" not in by_code


def test_vitest_file_that_cannot_load_is_reported_once(tmp_path: Path) -> None:
    findings, _ = parse_vitest_json(saved("vitest-4.1.12.json", tmp_path), tmp_path)
    load = [f for f in findings if f.path == "src/load.test.ts"]
    assert len(load) == 1
    assert load[0].code == "src/load.test.ts (file)"
    assert "Cannot find module './nothere'" in load[0].message


def test_vitest_without_location_or_stack_falls_back_to_the_test_location(tmp_path: Path) -> None:
    text = (
        '{"numFailedTests": 1, "testResults": [{"name": "' + str(tmp_path / "a.test.ts") + '", "status": "failed",'
        ' "assertionResults": [{"fullName": "a b", "status": "failed", "failureMessages": ["Error: x"],'
        ' "location": {"line": 4, "column": 2}}]}]}'
    )
    findings, _ = parse_vitest_json(text, tmp_path)
    assert [(f.path, f.code, f.range.start) for f in findings] == [("a.test.ts", "a b", Position(3, 1))]


def test_vitest_rejects_other_json(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        parse_vitest_json("[]", tmp_path)
