"""The vocabulary of validation: findings, check outcomes, the report and the validator protocol.

Positions are LSP positions: a 0-based line and a 0-based character in UTF-16 code units (what tsc,
eslint and vitest report, once made 0-based). Paths are relative to the workspace root, with ``/``.

Statuses, as the pipeline uses them:
    pass          every requested check ran and found nothing the candidate introduced
    fail-syntax   syntax, type or lint errors: a fast repair can fix them
    fail-logic    tests fail (or time out): the logic is wrong
    incomplete    nothing failed, but a requested check was skipped or could not run: not validated
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from ..config import CheckName

Kind = Literal["syntax", "type", "lint", "test", "tool"]
Severity = Literal["error", "warning", "info", "hint"]
Status = Literal["pass", "fail-syntax", "fail-logic", "incomplete"]
# "skipped": deliberately not run (untrusted workspace, an earlier gate failed, nothing to check).
# "could-not-run": should have run but could not (node or a tool missing, a crash, a tool timeout).
OutcomeState = Literal["passed", "failed", "skipped", "could-not-run"]

CHECK_ORDER: tuple[CheckName, ...] = ("syntax", "typescript_compile", "eslint_strict", "vitest_run")


@dataclass(frozen=True, order=True)
class Position:
    line: int
    character: int


@dataclass(frozen=True, order=True)
class Range:
    start: Position
    end: Position

    @staticmethod
    def at(line: int, character: int, end_line: int | None = None, end_character: int | None = None) -> Range:
        start = Position(line, character)
        end = Position(line if end_line is None else end_line, character if end_character is None else end_character)
        return Range(start, max(start, end))


WHOLE_FILE = Range.at(0, 0)


@dataclass(frozen=True)
class Finding:
    path: str  # relative to the workspace root; "" for a finding about the whole project or a tool
    range: Range
    severity: Severity
    code: str  # "TS2322", an eslint rule id, a failing test's full name, "syntax:ERROR", ...
    message: str
    source: str  # the tool: "tree-sitter", "tsc", "eslint", "vitest", "ai-coding-router"
    kind: Kind

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "range": _range_dict(self.range),
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "source": self.source,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class CheckOutcome:
    check: CheckName
    state: OutcomeState
    duration_ms: float = 0.0
    findings: tuple[Finding, ...] = ()
    detail: str = ""  # why skipped / could not run, which config or tool was used
    tool: str = ""  # the tool and where it came from, e.g. "tsc 7.0.2 (toolchain)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "state": self.state,
            "duration_ms": round(self.duration_ms, 1),
            "detail": self.detail,
            "tool": self.tool,
            "findings": len(self.findings),
        }


@dataclass(frozen=True)
class ValidationReport:
    status: Status
    reason: str
    findings: tuple[Finding, ...]
    outcomes: tuple[CheckOutcome, ...]
    duration_ms: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def outcome(self, check: CheckName) -> CheckOutcome | None:
        return next((o for o in self.outcomes if o.check == check), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "duration_ms": round(self.duration_ms, 1),
            "outcomes": [o.to_dict() for o in self.outcomes],
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class Candidate:
    """A proposed edit: the workspace root and the new full text of each changed file (None deletes it).

    ``compare_with_original`` False judges the files as they are (the CLI's ``validate FILE``): every
    finding in them counts, not only those the edit introduced.
    """

    root: Path
    changes: Mapping[str, str | None]
    compare_with_original: bool = True
    # Unsaved editor texts the edit was computed from (relative path → text). Both the "before" and the
    # "after" project use them instead of the files on disk, so problems in unsaved typing are not blamed
    # on the edit.
    base: Mapping[str, str] = field(default_factory=dict)

    @property
    def changed_paths(self) -> tuple[str, ...]:
        return tuple(sorted(self.changes))

    @property
    def written_paths(self) -> tuple[str, ...]:
        return tuple(sorted(p for p, text in self.changes.items() if text is not None))


@dataclass(frozen=True)
class CheckContext:
    """What every check gets. Tool checks call ``workspace`` to get the overlay they run in."""

    candidate: Candidate
    originals: Mapping[str, str | None]  # the workspace's text of each changed path (None: did not exist)
    trusted: bool
    allow_running_tests: bool
    timeout_s: float
    extras: Mapping[str, Any] = field(default_factory=dict)


class Validator(Protocol):
    """One check. ``run`` never raises for a tool problem: it returns a could-not-run outcome."""

    @property
    def name(self) -> CheckName: ...

    async def run(self, context: CheckContext, workspace: WorkspaceProvider) -> CheckOutcome: ...


class WorkspaceProvider(Protocol):
    """Hands out the scratch copies the tools run in (created on first use, shared by the checks)."""

    async def candidate_dir(self) -> Path:
        """The overlay with the candidate applied."""
        ...

    async def original_dir(self) -> Path:
        """The overlay of the unedited workspace (for baselines)."""
        ...

    async def fingerprint(self) -> str:
        """A digest of the unedited workspace's contents (baseline cache key)."""
        ...

    def output_file(self, name: str) -> Path:
        """A fresh path outside both overlays for a tool's report (removed with them)."""
        ...


def tool_finding(check: CheckName, message: str, code: str = "could-not-run") -> Finding:
    """A finding that says a check could not run; kind ``tool`` so it never reads as a code problem."""
    return Finding("", WHOLE_FILE, "error", f"{check}:{code}", message, "ai-coding-router", "tool")


def could_not_run(check: CheckName, message: str, *, tool: str = "", duration_ms: float = 0.0) -> CheckOutcome:
    return CheckOutcome(check, "could-not-run", duration_ms, (tool_finding(check, message),), message, tool)


def skipped(check: CheckName, reason: str, *, tool: str = "") -> CheckOutcome:
    return CheckOutcome(check, "skipped", 0.0, (), reason, tool)


def outcome_from_findings(
    check: CheckName, findings: Sequence[Finding], *, duration_ms: float, detail: str = "", tool: str = ""
) -> CheckOutcome:
    failed = any(f.severity == "error" for f in findings)
    return CheckOutcome(check, "failed" if failed else "passed", duration_ms, tuple(findings), detail, tool)


def _range_dict(r: Range) -> dict[str, dict[str, int]]:
    return {
        "start": {"line": r.start.line, "character": r.start.character},
        "end": {"line": r.end.line, "character": r.end.character},
    }


_LSP_SEVERITY = {"error": 1, "warning": 2, "info": 3, "hint": 4}
DIAGNOSTIC_SOURCE = "ai-coding-router"


def to_lsp_diagnostic(finding: Finding) -> dict[str, Any]:
    """An LSP ``Diagnostic`` as a plain dict; the tool goes into ``data`` so diagnostics can be stored per tool."""
    return {
        "range": _range_dict(finding.range),
        "severity": _LSP_SEVERITY[finding.severity],
        "code": finding.code,
        "source": DIAGNOSTIC_SOURCE,
        "message": f"{finding.message} ({finding.source})",
        "data": {"tool": finding.source, "kind": finding.kind},
    }


def diagnostics_by_path(findings: Sequence[Finding]) -> dict[str, list[dict[str, Any]]]:
    """Group findings into LSP diagnostic dicts per workspace-relative path ("" = not tied to a file)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for finding in findings:
        grouped.setdefault(finding.path, []).append(to_lsp_diagnostic(finding))
    return grouped
