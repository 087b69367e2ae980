"""The ``typescript_compile`` check: a real type check of the project with the candidate applied.

Measured on this machine (2 cores), TypeScript 7's native ``tsc --noEmit`` checks a 200-file project in
~0.1-0.2 s and 2,000 files in ~0.3 s. A warm ``--incremental`` build info copied into the scratch copy
halved a leaf-file edit in a 1,500-file project (0.6 → 0.3 s) but made an edit near the root of the
import graph slower (1.1 s: it rechecks dependents on one checker and rewrites the build info), so the
check runs plain ``tsc --noEmit``: predictable, and no state to keep right. Only errors the edit
introduced are reported: the unedited project's errors (computed only when the candidate has errors,
then cached on the workspace's content fingerprint) are subtracted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from .base import (
    WHOLE_FILE,
    CheckContext,
    CheckOutcome,
    Finding,
    Range,
    Severity,
    WorkspaceProvider,
    could_not_run,
    outcome_from_findings,
)
from .blame import introduced
from .common import BaselineCache, relative_path, scrub, widen_to_token
from .tools import Tool, ToolMissing, ToolRun, find_typescript, run_tool

_LOCATED = re.compile(
    r"^(?P<file>.+?)\((?P<line>\d+),(?P<col>\d+)\): (?P<cat>error|warning|message|suggestion) "
    r"(?P<code>TS\d+): (?P<msg>.*)$"
)
_GLOBAL = re.compile(r"^(?P<cat>error|warning|message) (?P<code>TS\d+): (?P<msg>.*)$")
_TS_EXTENSIONS = (".ts", ".tsx", ".mts", ".cts")
_SEVERITY: dict[str, Severity] = {"error": "error", "warning": "warning", "message": "info", "suggestion": "hint"}
Baselines = BaselineCache[tuple[Finding, ...] | None]
_NO_CONFIG_OPTIONS = (
    "--strict", "--skipLibCheck", "--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler",
    "--jsx", "preserve",
)


def parse_tsc_output(text: str, root: Path | str) -> list[Finding]:
    """Parse ``tsc --pretty false`` output. Continuation lines (indented) join the message before them."""
    findings: list[Finding] = []
    current: dict[str, str] | None = None
    extra: list[str] = []

    def flush() -> None:
        if current is None:
            return
        message = "\n".join([current["msg"], *extra]).rstrip()
        if "file" in current:
            line, col = int(current["line"]) - 1, int(current["col"]) - 1
            path = relative_path(current["file"], root)
            where = Range.at(line, col)
        else:
            path, where = "", WHOLE_FILE
        findings.append(
            Finding(path, where, _SEVERITY[current["cat"]], current["code"], message, "tsc", "type")
        )

    for raw in text.splitlines():
        located = _LOCATED.match(raw)
        glob = None if located else _GLOBAL.match(raw)
        if located or glob:
            flush()
            current = (located or glob).groupdict()  # type: ignore[union-attr]
            extra = []
        elif current is not None and raw.startswith(" ") and raw.strip():
            extra.append(raw.strip())
        elif raw.strip() and current is not None:
            flush()  # a line we do not know (a summary, say) ends the message
            current, extra = None, []
    flush()
    return findings


class TypeScriptChecker:
    name: Literal["typescript_compile"] = "typescript_compile"

    def __init__(self, baselines: Baselines | None = None) -> None:
        self._baselines: Baselines = baselines or BaselineCache()

    @staticmethod
    def command(tool: Tool, overlay: Path, files: Sequence[str]) -> tuple[list[str], str]:
        """The argument list and a note on how the project is checked."""
        if (overlay / "tsconfig.json").is_file():
            return [*tool.argv, "-p", "tsconfig.json", "--noEmit", "--pretty", "false"], "tsconfig.json"
        ts_files = [f"./{f}" for f in files if f.endswith(_TS_EXTENSIONS)]
        argv = [*tool.argv, "--noEmit", "--pretty", "false", *_NO_CONFIG_OPTIONS, *ts_files]
        return argv, "no tsconfig.json: the changed files with strict defaults"

    async def _check(
        self, tool: Tool, overlay: Path, context: CheckContext
    ) -> tuple[list[Finding], ToolRun, str]:
        argv, note = self.command(tool, overlay, context.candidate.written_paths)
        run = await run_tool(argv, cwd=overlay, timeout_s=context.timeout_s)
        workspace = context.candidate.root
        findings = [
            Finding(f.path, f.range, f.severity, f.code, scrub(f.message, overlay, workspace), f.source, f.kind)
            for f in parse_tsc_output(run.stdout, overlay)
        ]
        return findings, run, note

    @staticmethod
    def _failure(run: ToolRun, findings: Sequence[Finding], timeout_s: float) -> str | None:
        if run.timed_out:
            return f"tsc did not finish within {timeout_s:g} s and was stopped"
        if run.returncode not in (0, 1, 2) or (run.returncode != 0 and not findings):
            return f"tsc failed (exit code {run.returncode}): {run.tail()}"
        return None

    async def run(self, context: CheckContext, workspace: WorkspaceProvider) -> CheckOutcome:
        started = time.perf_counter()
        candidate = context.candidate
        try:
            tool = find_typescript(candidate.root, trusted=context.trusted)
        except ToolMissing as missing:
            return could_not_run(self.name, str(missing))
        written = candidate.written_paths
        if not (Path(candidate.root) / "tsconfig.json").is_file() and not any(
            f.endswith(_TS_EXTENSIONS) for f in written
        ):
            return CheckOutcome(self.name, "passed", 0.0, (), "no tsconfig.json and no changed TypeScript files",
                                tool.describe())
        overlay = await workspace.candidate_dir()
        after, run, note = await self._check(tool, overlay, context)
        failure = self._failure(run, after, context.timeout_s)
        if failure:
            return could_not_run(self.name, failure, tool=tool.describe(),
                                 duration_ms=(time.perf_counter() - started) * 1000)
        texts = candidate.changes
        after = [widen_to_token(f, texts[f.path] if f.path in texts else _read(overlay, f.path)) for f in after]
        if not candidate.compare_with_original:
            changed = set(candidate.changes)
            findings = [f for f in after if f.path in changed or f.path == ""]
        elif any(f.severity == "error" for f in after):
            before = await self._baseline(tool, workspace, context)
            if before is None:
                return could_not_run(self.name, "tsc failed on the unedited workspace (baseline)",
                                     tool=tool.describe(), duration_ms=(time.perf_counter() - started) * 1000)
            findings = introduced(after, before, old_texts=context.originals, new_texts=candidate.changes)
        else:
            findings = after
        return outcome_from_findings(
            self.name, findings, duration_ms=(time.perf_counter() - started) * 1000, detail=note,
            tool=tool.describe(),
        )

    async def _baseline(
        self, tool: Tool, workspace: WorkspaceProvider, context: CheckContext
    ) -> tuple[Finding, ...] | None:
        # cwd is the overlay and paths are relative, so the argument list does not depend on where it runs.
        argv, _ = self.command(tool, Path(context.candidate.root), context.candidate.written_paths)
        key = ("tsc", await workspace.fingerprint(), tuple(argv), tool.version)

        async def compute() -> tuple[tuple[Finding, ...] | None, bool]:
            overlay = await workspace.original_dir()
            findings, run, _ = await self._check(tool, overlay, context)
            if self._failure(run, findings, context.timeout_s):
                return None, False
            return tuple(findings), True

        return await self._baselines.get(key, compute)


def _read(overlay: Path, rel: str) -> str | None:
    if not rel:
        return None
    try:
        return (overlay / rel).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
