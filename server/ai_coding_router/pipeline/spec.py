"""The pipeline's vocabulary: what a task is (``TaskSpec``) and what comes back (``TaskResult``).

Both are plain frozen data with a JSON form, so the job runner can persist them and the LSP layer can
turn a result into a versioned workspace edit after a restart (``base_texts`` are the texts the new
texts were computed from; ``versions`` the editor versions of those texts, when they were open).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from ..ledger.records import Outcome
from ..validation.base import Finding, Kind, Position, Range, Severity

TaskStatus = Literal["validated", "failed", "cancelled", "answered", "unvalidated"]
# validated    the edit passed every check that could run (and its sign-off): offer it
# failed       never validated, refused by the sign-off, blocked by the budget, or a model error: nothing to apply
# cancelled    stopped by the user: nothing to apply
# answered     an explanation or a review that needs no change: text only, nothing to apply
# unvalidated  validation.enabled is false: offered with needs_confirmation, clearly labelled
APPLICABLE: frozenset[str] = frozenset({"validated", "unvalidated"})
REVIEW_KINDS: frozenset[str] = frozenset({"security-review"})  # may answer "no change needed"
HIGH_STAKES_KINDS: frozenset[str] = frozenset({"security-review", "architecture"})


@dataclass(frozen=True)
class TextRange:
    """0-based lines and UTF-16 characters, as in LSP; the end is exclusive like an LSP range."""

    start_line: int
    start_character: int
    end_line: int
    end_character: int

    def to_json(self) -> dict[str, int]:
        return {"startLine": self.start_line, "startCharacter": self.start_character,
                "endLine": self.end_line, "endCharacter": self.end_character}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TextRange:
        return cls(int(data["startLine"]), int(data["startCharacter"]), int(data["endLine"]),
                   int(data["endCharacter"]))

    @property
    def last_line(self) -> int:
        """The last line the selection really covers (a range ending at column 0 stops the line before)."""
        if self.end_line > self.start_line and self.end_character == 0:
            return self.end_line - 1
        return max(self.start_line, self.end_line)


@dataclass(frozen=True)
class TaskSpec:
    """One background task. ``documents`` holds the editor's text of open files (it wins over the disk),
    ``versions`` their LSP versions; both by workspace-relative path."""

    task_id: str
    kind: str
    root: Path
    file: str  # relative to root, "/"-separated
    range: TextRange | None = None
    instruction: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    trusted: bool = False
    documents: Mapping[str, str] = field(default_factory=dict)
    versions: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "taskId": self.task_id, "kind": self.kind, "root": str(self.root), "file": self.file,
            "range": self.range.to_json() if self.range else None, "instruction": self.instruction,
            "tags": dict(self.tags), "trusted": self.trusted, "documents": dict(self.documents),
            "versions": dict(self.versions),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaskSpec:
        rng = data.get("range")
        return cls(
            task_id=str(data["taskId"]), kind=str(data["kind"]), root=Path(str(data["root"])),
            file=str(data["file"]), range=TextRange.from_json(rng) if rng else None,
            instruction=str(data.get("instruction") or ""), tags=dict(data.get("tags") or {}),
            trusted=bool(data.get("trusted")), documents=dict(data.get("documents") or {}),
            versions={k: int(v) for k, v in dict(data.get("versions") or {}).items()},
        )


@dataclass(frozen=True)
class CallSummary:
    """One model call as the result reports it (the ledger gets the full ``CallRecord``)."""

    role: str
    model: str
    outcome: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    latency_ms: float = 0.0
    batch: bool = False
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role, "model": self.model, "outcome": self.outcome, "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens, "cacheWriteTokens": self.cache_write_tokens,
            "cacheReadTokens": self.cache_read_tokens, "latencyMs": self.latency_ms,
            "batch": self.batch, "note": self.note,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CallSummary:
        return cls(
            str(data["role"]), str(data["model"]), str(data["outcome"]), int(data.get("inputTokens", 0)),
            int(data.get("outputTokens", 0)), int(data.get("cacheWriteTokens", 0)),
            int(data.get("cacheReadTokens", 0)), float(data.get("latencyMs", 0.0)), bool(data.get("batch")),
            str(data.get("note", "")),
        )


@dataclass(frozen=True)
class RequestSize:
    """A request's size as sent: system prompt and messages (estimated tokens, characters)."""

    tokens: int
    chars: int


@dataclass(frozen=True)
class EscalationSize:
    """The focused escalation payload against the first request (the seed's pitfall #6, measured)."""

    first_request: RequestSize
    escalation: RequestSize

    @property
    def ratio(self) -> float:
        return self.escalation.tokens / self.first_request.tokens if self.first_request.tokens else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "firstRequestTokens": self.first_request.tokens, "firstRequestChars": self.first_request.chars,
            "escalationTokens": self.escalation.tokens, "escalationChars": self.escalation.chars,
            "ratio": round(self.ratio, 3),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EscalationSize:
        return cls(RequestSize(int(data["firstRequestTokens"]), int(data["firstRequestChars"])),
                   RequestSize(int(data["escalationTokens"]), int(data["escalationChars"])))


@dataclass(frozen=True)
class TaskResult:
    task_id: str
    kind: str
    status: TaskStatus
    outcome: Outcome  # the ledger's task outcome
    route: Mapping[str, Any]  # Route.as_json()
    summary: str
    new_texts: Mapping[str, str] = field(default_factory=dict)  # empty unless the status is applicable
    base_texts: Mapping[str, str | None] = field(default_factory=dict)  # None: the result creates the file
    versions: Mapping[str, int] = field(default_factory=dict)  # editor versions of the base texts
    findings: tuple[Finding, ...] = ()
    calls: tuple[CallSummary, ...] = ()
    escalation: EscalationSize | None = None
    needs_confirmation: bool = False
    answer: str | None = None  # an explanation or a review's text
    notes: tuple[str, ...] = ()  # budget messages, fallbacks, checks not run
    fallback: str | None = None  # set when a deep call ran on the fast model (deep model overloaded)

    @property
    def applicable(self) -> bool:
        return self.status in APPLICABLE and bool(self.new_texts)

    def unified_diff(self) -> str:
        """The result as a unified diff (``git apply`` compatible paths), empty when nothing applies."""
        if not self.applicable:
            return ""
        return unified_diff(self.base_texts, self.new_texts)

    def to_json(self) -> dict[str, Any]:
        return {
            "taskId": self.task_id, "kind": self.kind, "status": self.status, "outcome": self.outcome,
            "route": dict(self.route), "summary": self.summary, "newTexts": dict(self.new_texts),
            "baseTexts": dict(self.base_texts), "versions": dict(self.versions),
            "findings": [f.to_dict() for f in self.findings], "calls": [c.to_json() for c in self.calls],
            "escalation": self.escalation.to_json() if self.escalation else None,
            "needsConfirmation": self.needs_confirmation, "answer": self.answer, "notes": list(self.notes),
            "fallback": self.fallback,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaskResult:
        escalation = data.get("escalation")
        return cls(
            task_id=str(data["taskId"]), kind=str(data["kind"]), status=cast(TaskStatus, data["status"]),
            outcome=cast(Outcome, data["outcome"]), route=dict(data.get("route") or {}),
            summary=str(data.get("summary", "")), new_texts=dict(data.get("newTexts") or {}),
            base_texts=dict(data.get("baseTexts") or {}),
            versions={k: int(v) for k, v in dict(data.get("versions") or {}).items()},
            findings=tuple(finding_from_dict(f) for f in data.get("findings") or ()),
            calls=tuple(CallSummary.from_json(c) for c in data.get("calls") or ()),
            escalation=EscalationSize.from_json(escalation) if escalation else None,
            needs_confirmation=bool(data.get("needsConfirmation")), answer=data.get("answer"),
            notes=tuple(str(n) for n in data.get("notes") or ()), fallback=data.get("fallback"),
        )


def finding_from_dict(data: Mapping[str, Any]) -> Finding:
    """The inverse of ``Finding.to_dict``."""
    rng = data["range"]
    return Finding(
        str(data.get("path", "")),
        Range(Position(int(rng["start"]["line"]), int(rng["start"]["character"])),
              Position(int(rng["end"]["line"]), int(rng["end"]["character"]))),
        cast(Severity, data.get("severity", "error")), str(data.get("code", "")), str(data.get("message", "")),
        str(data.get("source", "")), cast(Kind, data.get("kind", "tool")),
    )


def unified_diff(base_texts: Mapping[str, str | None], new_texts: Mapping[str, str]) -> str:
    """One unified diff over every changed file, paths as ``a/rel`` and ``b/rel`` (``/dev/null`` when new)."""
    parts: list[str] = []
    for rel in sorted(new_texts):
        old = base_texts.get(rel)
        new = new_texts[rel]
        if old == new:
            continue
        old_lines = (old or "").splitlines(keepends=True)
        new_lines = new.splitlines(keepends=True)
        lines = list(difflib.unified_diff(
            old_lines, new_lines, fromfile="/dev/null" if old is None else f"a/{rel}", tofile=f"b/{rel}",
        ))
        for line in lines:
            parts.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(parts)
