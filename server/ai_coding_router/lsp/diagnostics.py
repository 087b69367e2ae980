"""Diagnostics the server publishes, stored per (source, uri) so one tool's results never replace another's.

A failed background job's findings refer to the edit the model proposed, which was not applied; they are
shown at the lines the job worked on, each saying where in the proposed edit it was found.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from lsprotocol import types

from ..validation.base import Finding

if TYPE_CHECKING:
    from .server import RouterServer

SOURCE = "ai-coding-router"
SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning,
            "info": types.DiagnosticSeverity.Information}


class DiagnosticsStore:
    def __init__(self) -> None:
        self._by_uri: dict[str, dict[str, list[types.Diagnostic]]] = defaultdict(dict)

    def set(self, ls: RouterServer, uri: str, source: str, diagnostics: list[types.Diagnostic]) -> None:
        self._by_uri[uri][source] = diagnostics
        merged = [d for per_source in self._by_uri[uri].values() for d in per_source]
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=merged))

    def clear(self, ls: RouterServer, uri: str, source: str) -> None:
        if source in self._by_uri.get(uri, {}):
            self.set(ls, uri, source, [])


def job_findings(findings: tuple[Finding, ...], at: types.Range, what: str) -> list[types.Diagnostic]:
    """One diagnostic per finding of a job that was not applied, anchored at the job's range."""
    diagnostics = []
    for finding in findings[:20]:
        where = f"{finding.path}:{finding.range.start.line + 1}" if finding.path else "the project"
        diagnostics.append(types.Diagnostic(
            range=at,
            severity=SEVERITY.get(finding.severity, types.DiagnosticSeverity.Warning),
            code=finding.code or None,
            source=SOURCE,
            message=f"{what} not applied — {finding.source} at {where} of the proposed edit: {finding.message}",
        ))
    return diagnostics
