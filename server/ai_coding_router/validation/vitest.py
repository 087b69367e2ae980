"""The ``vitest_run`` check: the tests vitest relates to the changed files, with a time limit.

Running tests executes workspace code, so it happens only when the caller says the workspace is
trusted *and* ``validation.allow_running_tests`` is on; otherwise the outcome is ``skipped`` with the
reason (never "passed"). ``vitest related <files> --run`` picks the tests (vitest's own import-graph
selection); the JSON reporter writes to a file outside the scratch copy. At the time limit the whole
process group is killed and the run counts as a test failure (a hang is a logic problem). Tests that
already failed on the unedited workspace are not blamed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from .base import (
    WHOLE_FILE,
    CheckContext,
    CheckOutcome,
    Finding,
    Range,
    WorkspaceProvider,
    could_not_run,
    outcome_from_findings,
    skipped,
)
from .blame import by_test_name, introduced
from .common import BaselineCache, read_report, relative_path, scrub
from .tools import Tool, ToolMissing, find_vitest, run_tool

_CONFIG_STEMS = ("vitest.config", "vitest.workspace")
_CONFIG_EXTENSIONS = (".ts", ".mts", ".cts", ".js", ".mjs", ".cjs")
_FRAME = re.compile(r"(?:file://)?(?P<file>/[^\s():]+|[A-Za-z]:[\\/][^\s():]+):(?P<line>\d+):(?P<col>\d+)")
_MAX_MESSAGE = 2000
Baselines = BaselineCache[tuple[Finding, ...] | None]


def _assertion_message(failure: str) -> str:
    """The assertion part of a failure message: everything before the stack trace."""
    lines = failure.splitlines()
    kept: list[str] = []
    for line in lines:
        if line.lstrip().startswith("at ") and kept:
            break
        kept.append(line)
    message = "\n".join(kept).strip() or failure.strip()
    return message if len(message) <= _MAX_MESSAGE else message[:_MAX_MESSAGE] + "…"


def _failure_range(failure: str, test_file: str, root: Path | str, fallback: dict[str, Any] | None) -> Range:
    """Where the failing assertion is: the first stack frame in the test file, else the test's location."""
    for match in _FRAME.finditer(failure):
        if relative_path(match.group("file"), root) == test_file:
            line, col = int(match.group("line")) - 1, int(match.group("col")) - 1
            return Range.at(line, col)
    if fallback and "line" in fallback:
        return Range.at(int(fallback["line"]) - 1, max(int(fallback.get("column", 1)) - 1, 0))
    return WHOLE_FILE


def parse_vitest_json(text: str, root: Path | str) -> tuple[list[Finding], dict[str, Any]]:
    """Parse the JSON reporter's output into test findings and its summary counts. Raises ValueError."""
    data = json.loads(text)
    if not isinstance(data, dict) or "testResults" not in data:
        raise ValueError("not vitest JSON reporter output")
    findings: list[Finding] = []
    for suite in data["testResults"]:
        test_file = relative_path(str(suite.get("name", "")), root)
        failed_tests = 0
        for test in suite.get("assertionResults", []):
            if test.get("status") != "failed":
                continue
            failed_tests += 1
            failures = [str(m) for m in test.get("failureMessages", [])] or ["failed"]
            where = _failure_range(failures[0], test_file, root, test.get("location"))
            name = str(test.get("fullName") or test.get("title") or "test")
            findings.append(
                Finding(test_file, where, "error", name, _assertion_message(failures[0]), "vitest", "test")
            )
        if suite.get("status") == "failed" and not failed_tests:
            # The file failed outside any test: it did not load, or a hook threw.
            message = str(suite.get("message") or "the test file failed")
            findings.append(Finding(test_file, WHOLE_FILE, "error", f"{test_file} (file)", message, "vitest", "test"))
    summary = {k: v for k, v in data.items() if k != "testResults"}
    return findings, summary


def uses_vitest(root: Path) -> bool:
    """A vitest config, a vitest dependency in package.json, or vitest installed in node_modules."""
    if any((root / f"{stem}{ext}").is_file() for stem in _CONFIG_STEMS for ext in _CONFIG_EXTENSIONS):
        return True
    if (root / "node_modules" / "vitest").is_dir():
        return True
    try:
        package = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    sections = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
    return isinstance(package, dict) and any(
        isinstance(package.get(section), dict) and "vitest" in package[section] for section in sections
    )


class VitestChecker:
    name: Literal["vitest_run"] = "vitest_run"

    def __init__(self, baselines: Baselines | None = None) -> None:
        self._baselines: Baselines = baselines or BaselineCache()

    @staticmethod
    def command(tool: Tool, output: Path, files: Sequence[str]) -> list[str]:
        return [
            *tool.argv, "related", *(f"./{f}" for f in files), "--run", "--reporter=json", f"--outputFile={output}",
            "--passWithNoTests", "--includeTaskLocation",
        ]

    async def _run_tests(
        self, tool: Tool, overlay: Path, output: Path, files: Sequence[str], context: CheckContext
    ) -> tuple[list[Finding], str] | str:
        """Findings and a summary note, or a string saying why the tests could not run."""
        run = await run_tool(self.command(tool, output, files), cwd=overlay, timeout_s=context.timeout_s)
        if run.timed_out:
            message = (
                f"the tests did not finish within {context.timeout_s:g} s (a hang or an endless loop?); "
                "vitest and its workers were killed"
            )
            return [Finding("", WHOLE_FILE, "error", "vitest:timeout", message, "vitest", "test")], "timed out"
        try:
            findings, summary = parse_vitest_json(read_report(output), overlay)
        except (OSError, ValueError) as error:
            return f"vitest failed (exit code {run.returncode}, {error}): {run.tail()}"
        root = context.candidate.root
        findings = [
            Finding(f.path, f.range, f.severity, f.code, scrub(f.message, overlay, root), f.source, f.kind)
            for f in findings
        ]
        if run.returncode != 0 and not findings:
            message = scrub(f"vitest reported errors outside the tests: {run.tail()}", overlay, root)
            findings.append(Finding("", WHOLE_FILE, "error", "vitest:error", message, "vitest", "test"))
        total = summary.get("numTotalTests", 0)
        note = f"{total} related test(s), {summary.get('numFailedTests', 0)} failed" if total else "no related tests"
        return findings, note

    async def run(self, context: CheckContext, workspace: WorkspaceProvider) -> CheckOutcome:
        started = time.perf_counter()
        if not context.trusted:
            return skipped(self.name, "tests not run: the workspace is not trusted (running tests executes its code)")
        if not context.allow_running_tests:
            return skipped(self.name, "tests not run: validation.allow_running_tests is off")
        candidate = context.candidate
        if not uses_vitest(Path(candidate.root)):
            return CheckOutcome(self.name, "passed", 0.0, (), "the workspace does not use vitest: no tests to run")
        try:
            tool = find_vitest(candidate.root, trusted=True)
        except ToolMissing as missing:
            return could_not_run(self.name, str(missing))
        files = candidate.written_paths
        if not files:
            return CheckOutcome(self.name, "passed", 0.0, (), "no changed files to relate tests to", tool.describe())
        overlay = await workspace.candidate_dir()
        result = await self._run_tests(tool, overlay, workspace.output_file("vitest.json"), files, context)
        if isinstance(result, str):
            return could_not_run(self.name, result, tool=tool.describe(),
                                 duration_ms=(time.perf_counter() - started) * 1000)
        findings, note = result
        if candidate.compare_with_original and any(f.code != "vitest:timeout" for f in findings):
            before = await self._baseline(tool, files, workspace, context)
            if before is not None:  # a baseline that cannot run blames nothing away
                findings = introduced(
                    findings, before, old_texts=context.originals, new_texts=candidate.changes,
                    key=by_test_name, use_positions=False,
                )
        return outcome_from_findings(
            self.name, findings, duration_ms=(time.perf_counter() - started) * 1000, detail=note,
            tool=tool.describe(),
        )

    async def _baseline(
        self, tool: Tool, files: Sequence[str], workspace: WorkspaceProvider, context: CheckContext
    ) -> tuple[Finding, ...] | None:
        existing = [f for f in files if context.originals.get(f) is not None]
        if not existing:
            return ()
        key = ("vitest", await workspace.fingerprint(), tool.argv, tool.version, tuple(existing))

        async def compute() -> tuple[tuple[Finding, ...] | None, bool]:
            overlay = await workspace.original_dir()
            output = workspace.output_file("vitest-baseline.json")
            result = await self._run_tests(tool, overlay, output, existing, context)
            if isinstance(result, str) or any(f.code == "vitest:timeout" for f in result[0]):
                return None, False
            return tuple(result[0]), True

        return await self._baselines.get(key, compute)
