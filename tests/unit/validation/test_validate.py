"""``validate`` end to end on the fixture project, with the real tsc, eslint and vitest of the toolchain.

The fixture (tests/fixtures/validation/basic) has its own tsconfig, eslint config (with ``no-console``,
which the default config lacks) and a vitest test; ``src/legacy.ts`` has a type error and a lint error
from before any edit.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from ai_coding_router.config import ValidationConfig
from ai_coding_router.errors import EditError
from ai_coding_router.validation.base import Candidate, Position, ValidationReport
from ai_coding_router.validation.runner import ValidationSession, validate

TRUSTED = ValidationConfig(allow_running_tests=True, tool_timeout_s=60)
UNTRUSTED = ValidationConfig(allow_running_tests=False, tool_timeout_s=60)
ALL = ["syntax", "typescript_compile", "eslint_strict", "vitest_run"]


def process_gone(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" in status.read_text()  # a zombie is dead, just not reaped yet
    except FileNotFoundError:
        return True


async def assert_process_ends(pid: int) -> None:
    for _ in range(40):  # SIGKILL is immediate; init may take a moment to reap
        if process_gone(pid):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the test worker {pid} still runs")


def pid_written(path: Path) -> bool:
    return path.exists() and bool(path.read_text())


def directories(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*") if p.is_dir())


def edit(workspace: Path, rel: str, old: str, new: str) -> dict[str, str | None]:
    text = (workspace / rel).read_text()
    assert old in text
    return {rel: text.replace(old, new, 1)}


def codes(report: ValidationReport) -> set[tuple[str, str, str]]:
    return {(f.kind, f.path, f.code) for f in report.findings}


async def run(workspace: Path, changes: dict[str, str | None], session: ValidationSession, *,
              trusted: bool = True, config: ValidationConfig = TRUSTED, checks: list[str] | None = None,
              ) -> ValidationReport:
    candidate = Candidate(workspace, changes)
    return await asyncio.wait_for(
        validate(candidate, checks or ALL, trusted=trusted, config=config, session=session), timeout=120
    )


async def test_a_type_error_is_found_with_code_range_and_kind(workspace: Path, session: ValidationSession) -> None:
    changes = edit(workspace, "src/format.ts", "sum=${add(p.x, p.y)}", "sum=${add(p.x, String(p.y))}")
    report = await run(workspace, changes, session, checks=["syntax", "typescript_compile"])
    assert report.status == "fail-syntax"
    [finding] = report.findings  # legacy.ts's old TS2322 is not blamed on this edit
    assert (finding.kind, finding.path, finding.code, finding.source) == ("type", "src/format.ts", "TS2345", "tsc")
    assert finding.range.start == Position(3, 42)
    assert finding.range.end == Position(3, 48)  # widened to the token: "String"
    assert "not assignable to parameter of type 'number'" in finding.message
    assert report.outcome("typescript_compile").state == "failed"  # type: ignore[union-attr]


async def test_an_edit_that_breaks_another_file_is_blamed_there(workspace: Path, session: ValidationSession) -> None:
    changes = edit(workspace, "src/math.ts", "export function add(a: number, b: number): number",
                   "export function add(a: number, b: string): number")
    text = changes["src/math.ts"]
    assert text is not None
    changes = {"src/math.ts": text.replace("return a + b;", "return a + Number(b);")}
    report = await run(workspace, changes, session, checks=["typescript_compile"])
    assert report.status == "fail-syntax"
    assert {(f.path, f.code) for f in report.findings} == {("src/format.ts", "TS2345"), ("src/math.test.ts", "TS2345")}


async def test_a_lint_error_uses_the_workspace_config_when_trusted(workspace: Path, session: ValidationSession) -> None:
    changes = edit(workspace, "src/math.ts", "return a + b;", 'console.log("adding");\n  return a + b;')
    report = await run(workspace, changes, session, checks=["eslint_strict"])
    assert report.status == "fail-syntax"
    [finding] = report.findings
    assert (finding.kind, finding.code, finding.source) == ("lint", "no-console", "eslint")
    assert finding.range.start == Position(6, 2) and finding.range.end == Position(6, 13)
    outcome = report.outcome("eslint_strict")
    assert outcome is not None and outcome.detail == "workspace config eslint.config.mjs"


async def test_untrusted_lint_uses_the_strict_default_and_says_so(workspace: Path, session: ValidationSession) -> None:
    changes = edit(workspace, "src/math.ts", "return a + b;", "var total = a + b;\n  return total;")
    report = await run(workspace, changes, session, trusted=False, checks=["eslint_strict"])
    assert report.status == "fail-syntax"
    assert codes(report) == {("lint", "src/math.ts", "no-var")}
    assert report.findings[0].source == "eslint (default config)"
    outcome = report.outcome("eslint_strict")
    assert outcome is not None
    assert "strict default config" in outcome.detail and "not trusted" in outcome.detail


async def test_a_failing_test_is_a_logic_failure(workspace: Path, session: ValidationSession) -> None:
    changes = edit(workspace, "src/math.ts", "return a + b;", "return a * b;")
    report = await run(workspace, changes, session)
    assert report.status == "fail-logic", report.reason
    [finding] = report.findings
    assert (finding.kind, finding.path, finding.code) == ("test", "src/math.test.ts", "math adds")
    assert finding.source == "vitest"
    assert finding.message == "AssertionError: expected 6 to be 5 // Object.is equality"
    assert finding.range.start == Position(5, 22)
    assert report.outcome("vitest_run").detail == "2 related test(s), 1 failed"  # type: ignore[union-attr]


async def test_a_syntax_error_stops_before_the_tools(workspace: Path, session: ValidationSession) -> None:
    changes = edit(workspace, "src/math.ts", "q.y);", "q.y;")
    report = await run(workspace, changes, session)
    assert report.status == "fail-syntax"
    assert codes(report) == {("syntax", "src/math.ts", "syntax:missing")}
    assert report.findings[0].message == "Syntax error: missing `)`"
    assert report.findings[0].range.start == Position(10, 40)
    for check in ("typescript_compile", "eslint_strict", "vitest_run"):
        outcome = report.outcome(check)
        assert outcome is not None and outcome.state == "skipped"


async def test_pre_existing_problems_are_not_blamed(workspace: Path, session: ValidationSession) -> None:
    # Lines shift in the file that already has a type error and a lint error; the edit itself is clean.
    changes = edit(workspace, "src/legacy.ts", "// Problems", "/** Legacy code. */\n// Problems")
    report = await run(workspace, changes, session)
    assert report.status == "pass", report.reason
    assert report.findings == ()

    # Files judged as they are (the CLI's `validate FILE`) do report them.
    as_is = Candidate(workspace, {"src/legacy.ts": (workspace / "src/legacy.ts").read_text()},
                      compare_with_original=False)
    report = await validate(as_is, ALL, trusted=True, config=TRUSTED, session=session)
    assert codes(report) == {("type", "src/legacy.ts", "TS2322"), ("lint", "src/legacy.ts", "no-var")}


async def test_a_test_that_already_failed_is_not_blamed(workspace: Path, session: ValidationSession) -> None:
    math = workspace / "src" / "math.ts"
    math.write_text(math.read_text().replace("return a + b;", "return a - b;"))  # broken before the edit
    changes = edit(workspace, "src/math.ts", "export interface Point", "/** A point. */\nexport interface Point")
    report = await run(workspace, changes, session, checks=["vitest_run"])
    assert report.status == "pass", report.reason


async def test_untrusted_workspaces_do_not_run_tests(workspace: Path, session: ValidationSession) -> None:
    changes = edit(workspace, "src/math.ts", "return a + b;", "return a * b;")  # would fail a test
    report = await run(workspace, changes, session, trusted=False, config=TRUSTED)
    vitest = report.outcome("vitest_run")
    assert vitest is not None and vitest.state == "skipped"
    assert "not trusted" in vitest.detail
    assert report.status == "incomplete"  # never "pass" with the tests unrun
    assert "vitest_run skipped" in report.reason

    report = await run(workspace, changes, session, trusted=True, config=UNTRUSTED)
    vitest = report.outcome("vitest_run")
    assert vitest is not None and vitest.state == "skipped"
    assert "allow_running_tests" in vitest.detail
    assert report.status == "incomplete"


async def test_a_hanging_test_is_killed_at_the_time_limit(workspace: Path, session: ValidationSession,
                                                          tmp_path: Path) -> None:
    pid_file = tmp_path / "worker.pid"
    hang = (
        'import { it } from "vitest";\nimport { writeFileSync } from "node:fs";\n'
        f'it("hangs", () => {{\n  writeFileSync({str(pid_file)!r}, String(process.pid));\n  for (;;) {{}}\n}});\n'
    )
    config = ValidationConfig(allow_running_tests=True, tool_timeout_s=8)
    report = await run(workspace, {"src/hang.test.ts": hang}, session, config=config, checks=["vitest_run"])
    assert report.status == "fail-logic"
    assert codes(report) == {("test", "", "vitest:timeout")}
    assert "did not finish within 8 s" in report.findings[0].message
    await assert_process_ends(int(pid_file.read_text()))


async def test_missing_node_is_reported_as_could_not_run(workspace: Path, session: ValidationSession,
                                                         monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    report = await run(workspace, edit(workspace, "src/math.ts", "a + b", "b + a"), session)
    assert report.status == "incomplete"
    for check in ("eslint_strict", "vitest_run"):
        outcome = report.outcome(check)
        assert outcome is not None and outcome.state == "could-not-run"
        assert "node is not on PATH" in outcome.detail
    assert {f.kind for f in report.findings} == {"tool"}
    assert report.outcome("typescript_compile").state == "passed"  # type: ignore[union-attr]  # native binary


async def test_missing_tools_are_reported_as_could_not_run(workspace: Path, session: ValidationSession,
                                                           monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AI_CODING_ROUTER_TOOLCHAIN", str(tmp_path / "no-toolchain"))
    report = await run(workspace, edit(workspace, "src/math.ts", "a + b", "b + a"), session)
    assert report.status == "incomplete"
    for check in ("typescript_compile", "eslint_strict", "vitest_run"):
        outcome = report.outcome(check)
        assert outcome is not None and outcome.state == "could-not-run", outcome
        assert "npm ci --prefix toolchain" in outcome.detail
        assert any(f.kind == "tool" and f.code == f"{check}:could-not-run" for f in outcome.findings)


def _fingerprint(root: Path) -> dict[str, tuple[int, str]]:
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


async def test_validation_never_writes_the_users_files(workspace: Path, session: ValidationSession) -> None:
    before = _fingerprint(workspace)
    dirs_before = directories(workspace)
    changes = edit(workspace, "src/math.ts", "return a + b;", "var r: string = a * b;\n  return Number(r);")
    changes["src/new.ts"] = "export const created = 1;\n"
    changes["src/format.ts"] = None
    report = await run(workspace, changes, session)
    assert report.status == "fail-syntax"  # the tools really ran (lint error, type errors, a failing test)
    assert {o.state for o in report.outcomes[1:]} == {"failed"}
    assert _fingerprint(workspace) == before
    assert directories(workspace) == dirs_before  # no node_modules/.vite, no build info


async def test_concurrent_validations_do_not_see_each_other(workspace: Path, session: ValidationSession) -> None:
    broken = edit(workspace, "src/format.ts", "add(p.x, p.y)", "add(p.x, 'y')")
    clean = edit(workspace, "src/format.ts", "add(p.x, p.y)", "add(p.y, p.x)")
    reports = await asyncio.gather(
        run(workspace, broken, session, checks=["typescript_compile", "eslint_strict"]),
        run(workspace, clean, session, checks=["typescript_compile", "eslint_strict"]),
    )
    assert [r.status for r in reports] == ["fail-syntax", "pass"]
    assert codes(reports[0]) == {("type", "src/format.ts", "TS2345")}


async def test_cancelling_validate_removes_the_scratch_copy(workspace: Path, session: ValidationSession,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("AI_CODING_ROUTER_SCRATCH_DIR", str(scratch))
    pid_file = tmp_path / "worker.pid"
    hang = (
        'import { it } from "vitest";\nimport { writeFileSync } from "node:fs";\n'
        f'it("hangs", () => {{\n  writeFileSync({str(pid_file)!r}, String(process.pid));\n  for (;;) {{}}\n}});\n'
    )
    task = asyncio.create_task(run(workspace, {"src/hang.test.ts": hang}, session, checks=["vitest_run"]))
    for _ in range(600):
        if pid_written(pid_file):
            break
        await asyncio.sleep(0.05)
    assert list(scratch.iterdir())  # the scratch copy exists while the tests run
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list(scratch.iterdir()) == []
    await assert_process_ends(int(pid_file.read_text()))


async def test_paths_leaving_the_workspace_are_refused(workspace: Path, session: ValidationSession) -> None:
    with pytest.raises(EditError):
        await validate(Candidate(workspace, {"../evil.ts": "x"}), ALL, session=session)
    with pytest.raises(EditError):
        await validate(Candidate(workspace, {"node_modules/x.js": "x"}), ALL, session=session)


async def test_disabled_validation_is_incomplete_not_pass(workspace: Path, session: ValidationSession) -> None:
    report = await validate(Candidate(workspace, {"src/a.ts": "x"}), config=ValidationConfig(enabled=False),
                            session=session)
    assert report.status == "incomplete"


async def test_a_workspace_without_vitest_has_no_tests_to_run(workspace: Path, session: ValidationSession) -> None:
    (workspace / "vitest.config.ts").unlink()
    report = await run(workspace, edit(workspace, "src/math.ts", "return a + b;", "return a * b;"), session,
                       checks=["vitest_run"])
    assert report.status == "pass"
    assert report.outcome("vitest_run").detail == "the workspace does not use vitest: no tests to run"  # type: ignore[union-attr]
