"""The ``eslint_strict`` check: eslint on the changed files, JSON output parsed into findings.

Config: the workspace's own flat config (``eslint.config.*`` at its root) when the workspace is trusted
(loading it runs its code), otherwise ai-coding-router's strict default
(``toolchain/eslint.config.strict.mjs``), which the outcome and every finding's source say. Problems
the original files already had are not blamed on the edit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from .base import (
    CheckContext,
    CheckOutcome,
    Finding,
    Kind,
    Range,
    Severity,
    WorkspaceProvider,
    could_not_run,
    outcome_from_findings,
)
from .blame import introduced
from .common import BaselineCache, read_report, relative_path, scrub
from .tools import Tool, ToolMissing, find_eslint, run_tool, toolchain_dir

CONFIG_NAMES = (
    "eslint.config.js", "eslint.config.mjs", "eslint.config.cjs", "eslint.config.ts", "eslint.config.mts",
    "eslint.config.cts",
)
DEFAULT_CONFIG_NAME = "eslint.config.strict.mjs"
LINTABLE = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
WORKSPACE_SOURCE = "eslint"
DEFAULT_SOURCE = "eslint (default config)"
_SEVERITY: dict[int, Severity] = {2: "error", 1: "warning"}

Baselines = BaselineCache[tuple[Finding, ...] | None]


def parse_eslint_json(text: str, root: Path | str, source: str = WORKSPACE_SOURCE) -> list[Finding]:
    """Parse ``eslint --format json`` output (a list of results, one per file). Raises ValueError."""
    results = json.loads(text)
    if not isinstance(results, list):
        raise ValueError("eslint JSON output is not a list")
    findings: list[Finding] = []
    for result in results:
        path = relative_path(str(result.get("filePath", "")), root)
        for message in result.get("messages", []):
            findings.append(_message_finding(path, message, source))
    return findings


def _message_finding(path: str, message: dict[str, Any], source: str) -> Finding:
    line = max(int(message.get("line") or 1) - 1, 0)
    column = max(int(message.get("column") or 1) - 1, 0)
    end_line = message.get("endLine")
    end_column = message.get("endColumn")
    where = Range.at(
        line, column,
        int(end_line) - 1 if end_line else None,
        int(end_column) - 1 if end_column else None,
    )
    rule = message.get("ruleId")
    fatal = bool(message.get("fatal"))
    kind: Kind = "syntax" if fatal else "lint"
    code = str(rule) if rule else ("parse-error" if fatal else "eslint")
    severity = _SEVERITY.get(int(message.get("severity") or 2), "error")
    return Finding(path, where, severity, code, str(message.get("message", "")), source, kind)


def workspace_config(root: Path) -> str | None:
    return next((name for name in CONFIG_NAMES if (root / name).is_file()), None)


class EslintChecker:
    name: Literal["eslint_strict"] = "eslint_strict"

    def __init__(self, baselines: Baselines | None = None) -> None:
        self._baselines: Baselines = baselines or BaselineCache()

    @staticmethod
    def _choose(context: CheckContext) -> tuple[Tool, Path | None, str, str]:
        """The tool, the ``--config`` to pass (None: the workspace's own), the finding source, a note."""
        root = Path(context.candidate.root)
        own = workspace_config(root)
        if own and context.trusted:
            return find_eslint(root, trusted=True), None, WORKSPACE_SOURCE, f"workspace config {own}"
        toolchain = toolchain_dir()
        default = toolchain / DEFAULT_CONFIG_NAME if toolchain else None
        if default is None or not default.is_file():
            raise ToolMissing(f"the default eslint config {DEFAULT_CONFIG_NAME} is missing from the toolchain")
        why = f"workspace not trusted, so its {own} was not loaded" if own else "the workspace has no eslint.config.*"
        # Our config imports typescript-eslint from the toolchain, so it runs with the toolchain's eslint.
        tool = find_eslint(root, trusted=False)
        return tool, default, DEFAULT_SOURCE, f"ai-coding-router strict default config ({why})"

    async def _lint(
        self, tool: Tool, config: Path | None, source: str, overlay: Path, output: Path, files: Sequence[str],
        context: CheckContext,
    ) -> list[Finding] | str:
        argv = [*tool.argv, "--format", "json", "--output-file", str(output), "--no-warn-ignored"]
        if config is not None:
            argv += ["--config", str(config)]
        argv += [f"./{f}" for f in files]  # "./" so a file named like an option stays a file
        run = await run_tool(argv, cwd=overlay, timeout_s=context.timeout_s)
        if run.timed_out:
            return f"eslint did not finish within {context.timeout_s:g} s and was stopped"
        if run.returncode not in (0, 1):
            return f"eslint failed (exit code {run.returncode}): {run.tail()}"
        try:
            parsed = parse_eslint_json(read_report(output), overlay, source)
        except (OSError, ValueError) as error:
            return f"eslint output could not be read ({error}): {run.tail()}"
        root = context.candidate.root
        return [
            Finding(f.path, f.range, f.severity, f.code, scrub(f.message, overlay, root), f.source, f.kind)
            for f in parsed
        ]

    async def run(self, context: CheckContext, workspace: WorkspaceProvider) -> CheckOutcome:
        started = time.perf_counter()
        candidate = context.candidate
        files = [f for f in candidate.written_paths if f.lower().endswith(LINTABLE)]
        try:
            tool, config, source, note = self._choose(context)
        except ToolMissing as missing:
            return could_not_run(self.name, str(missing))
        if not files:
            return CheckOutcome(self.name, "passed", 0.0, (), "no changed files to lint", tool.describe())
        overlay = await workspace.candidate_dir()
        after = await self._lint(tool, config, source, overlay, workspace.output_file("eslint.json"), files, context)
        if isinstance(after, str):
            return could_not_run(self.name, after, tool=tool.describe(),
                                 duration_ms=(time.perf_counter() - started) * 1000)
        findings = after
        existed = sorted({f.path for f in after} & {f for f in files if context.originals.get(f) is not None})
        if candidate.compare_with_original and existed:
            before = await self._baseline(tool, config, source, existed, workspace, context)
            if before is None:
                return could_not_run(self.name, "eslint failed on the unedited files (baseline)",
                                     tool=tool.describe(), duration_ms=(time.perf_counter() - started) * 1000)
            findings = introduced(after, before, old_texts=context.originals, new_texts=candidate.changes)
        return outcome_from_findings(
            self.name, findings, duration_ms=(time.perf_counter() - started) * 1000, detail=note,
            tool=tool.describe(),
        )

    async def _baseline(
        self, tool: Tool, config: Path | None, source: str, files: Sequence[str], workspace: WorkspaceProvider,
        context: CheckContext,
    ) -> tuple[Finding, ...] | None:
        key = ("eslint", await workspace.fingerprint(), tool.argv, tool.version, str(config), tuple(files))

        async def compute() -> tuple[tuple[Finding, ...] | None, bool]:
            overlay = await workspace.original_dir()
            output = workspace.output_file("eslint-baseline.json")
            result = await self._lint(tool, config, source, overlay, output, files, context)
            if isinstance(result, str):
                return None, False
            return tuple(result), True

        return await self._baselines.get(key, compute)
