"""System prompts and payload builders for the background pipeline: generate, repair, escalate, sign-off.

Pure functions from plain data to ``ModelRequest``. The edit-format rules are one fixed text, the
``system_stable`` prefix of every edit request (marked for prompt caching: it is byte-identical across
tasks); what varies goes into ``system_dynamic`` and the user message.

Repair and escalation payloads are focused (the seed's pitfall #6): the failure signature, the validator
output condensed, the failing code segments in their current text and the outlines of the symbols those
segments use — never the first request's context again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .models.base import Message, ModelRequest
from .pipeline.context import ContextSnippet
from .pipeline.segments import Segment
from .validation.base import Finding

NO_CHANGES = "NO CHANGES"
GENERATE_MAX_TOKENS = 4096
REPAIR_MAX_TOKENS = 2048
ESCALATE_MAX_TOKENS = 4096
SIGNOFF_MAX_TOKENS = 1024
EXPLAIN_MAX_TOKENS = 1500
MAX_FINDINGS = 8
MAX_MESSAGE_CHARS = 400

EDIT_FORMAT = """\
You are a careful senior TypeScript engineer inside an automated pipeline. A program parses your answer \
and applies it; the TypeScript compiler, eslint and the project's tests check the result before anyone sees it.

Answer with SEARCH/REPLACE blocks, one per change, in exactly this form:

path/relative/to/workspace.ts
<<<<<<< SEARCH
exact existing lines
=======
replacement lines
>>>>>>> REPLACE

Rules:
- The file path comes first, alone on its line, relative to the workspace root, spelled as in the code headers.
- SEARCH repeats existing lines exactly, character for character, indentation and comments included, and \
must match exactly one place in the file. Quote only code marked "exact text"; code marked "outline" has \
bodies elided and cannot be quoted.
- Keep SEARCH short: the lines to change plus enough neighbouring lines to be unique.
- An empty SEARCH section creates a new file whose whole text is the REPLACE section.
- An empty REPLACE section deletes the SEARCH lines.
- Several changes: several blocks, in file order.
- Change only what the task needs. Follow the project's style; keep types strict (no `any`); add no dependencies.
- Outside the blocks, write at most two short sentences."""

KIND_GUIDANCE = {
    "fix": "Fix the problem in the selected code.",
    "quick_fix": "Fix the problem in the selected code.",
    "tests": "Write vitest unit tests for the selected code: extend the existing test file next to it, or create "
             "one named like the module with `.test.ts`. Cover edge cases. Do not change the code under test.",
    "refactor": "Refactor the selected code without changing its behaviour, and update every use shown.",
    "architecture": "Restructure the selected code as asked, keeping behaviour, and update every use shown.",
    "security-review": "Review the selected code for security problems (injection, unsafe comparison of "
                       "secrets, weak randomness, missing validation, leaked secrets) and fix those you find. "
                       f"If nothing needs to change, answer `{NO_CHANGES}` on the first line, then why, briefly.",
    "completion": "Complete the selected code.",
}
DEFAULT_GUIDANCE = "Make the change the task asks for."

REPAIR_SYSTEM = (
    "Your previous edit failed the checks below. Fix exactly these problems with SEARCH/REPLACE blocks against "
    "the current text shown; do not redo the task and do not undo the rest of the edit."
)
ESCALATE_SYSTEM = (
    "A faster model made the edit below; it fails the project's checks. Diagnose the cause from the failure "
    "and the code shown, then correct it with SEARCH/REPLACE blocks against the current text shown. The tests "
    "are the specification unless the task asks to change what they check: fix the code, not the tests."
)
SIGNOFF_SYSTEM = """\
You are the final security and architecture reviewer of an automated coding pipeline. A faster model produced \
the change below; it passed the compiler, the linter and the tests that could run. Decide whether it may be \
offered to the developer.

Answer APPROVE or REJECT alone on the first line. After REJECT, list the concrete problems, one per line. \
Reject changes that weaken security (authentication, secrets, injection, validation), that break callers, or \
that do not do what the task asks."""
EXPLAIN_SYSTEM = (
    "You are a senior TypeScript engineer. Explain the selected code to a colleague: what it does, how, and "
    "anything surprising or risky. Plain prose and short lists; no code changes."
)


@dataclass(frozen=True)
class TaskText:
    """What every prompt says about the task."""

    kind: str
    instruction: str
    file: str
    first_line: int  # 0-based
    last_line: int

    def line(self) -> str:
        what = self.instruction.strip() or KIND_GUIDANCE.get(self.kind, DEFAULT_GUIDANCE)
        return f"{self.kind}: {what} (in {self.file}, lines {self.first_line + 1}-{self.last_line + 1})"


def _fence_lang(path: str) -> str:
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    return {"ts": "ts", "mts": "ts", "cts": "ts", "tsx": "tsx", "js": "js", "mjs": "js", "cjs": "js",
            "jsx": "jsx", "json": "json"}.get(suffix, "")


def _block(header: str, path: str, text: str) -> str:
    fence = "````" if "```" in text else "```"
    return f"{header}\n{fence}{_fence_lang(path)}\n{text}\n{fence}\n"


def snippet_block(snippet: ContextSnippet, total_lines: int | None = None) -> str:
    span = f"lines {snippet.start_line + 1}-{snippet.end_line + 1}"
    if total_lines:
        span += f" of {total_lines}"
    label = "exact text" if snippet.verbatim else "outline"
    return _block(f"{snippet.path} ({span}, {label})", snippet.path, snippet.text)


def segment_block(segment: Segment) -> str:
    span = f"lines {segment.start_line + 1}-{segment.end_line + 1} of {segment.total_lines}"
    header = f"{segment.path} ({span}, exact text)"
    return _block(header, segment.path, segment.text)


def condense(findings: Sequence[Finding], limit: int = MAX_FINDINGS) -> str:
    """Findings as short lines: position, code, the first lines of the message (no stack traces)."""
    errors = [f for f in findings if f.severity == "error"] or list(findings)
    lines = []
    for finding in errors[:limit]:
        kept = [ln for ln in finding.message.splitlines() if ln.strip() and not ln.lstrip().startswith("at ")]
        message = " ".join(part.strip() for part in kept[:3])
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[:MAX_MESSAGE_CHARS] + "…"
        where = finding.path or "(project)"
        if finding.path:
            where += f":{finding.range.start.line + 1}:{finding.range.start.character + 1}"
        lines.append(f"- {where} [{finding.source} {finding.code}] {message}")
    if len(errors) > limit:
        lines.append(f"- … and {len(errors) - limit} more")
    return "\n".join(lines)


def failure_signature(status: str, findings: Sequence[Finding]) -> str:
    """One line: the status and what failed (test names, error codes) — what identifies this failure."""
    errors = [f for f in findings if f.severity == "error"]
    tests = list(dict.fromkeys(f.code for f in errors if f.kind == "test"))
    codes = list(dict.fromkeys(f.code for f in errors if f.kind != "test"))
    parts = []
    if tests:
        parts.append(f"{len(tests)} failing test(s): " + "; ".join(f'"{t}"' for t in tests[:5]))
    if codes:
        parts.append("errors " + ", ".join(codes[:8]))
    return f"{status} — " + (", ".join(parts) if parts else "no details")


def _request(model: str, dynamic: str, user: str, max_tokens: int, *, stable: str = EDIT_FORMAT) -> ModelRequest:
    return ModelRequest(model=model, messages=(Message("user", user),), max_tokens=max_tokens,
                        system_stable=stable, system_dynamic=dynamic)


def generate_request(model: str, task: TaskText, selection: str, snippets: Sequence[ContextSnippet],
                     total_lines: int) -> ModelRequest:
    parts = [f"Task: {task.line()}", _block("Selected lines:", task.file, selection),
             "Code (paths relative to the workspace root):\n"]
    for snippet in snippets:
        parts.append(snippet_block(snippet, total_lines if snippet.path == task.file else None))
    dynamic = f"Task kind: {task.kind}. " + KIND_GUIDANCE.get(task.kind, DEFAULT_GUIDANCE)
    return _request(model, dynamic, "\n".join(parts), GENERATE_MAX_TOKENS)


def repair_request(model: str, task: TaskText, reason: str, findings: Sequence[Finding],
                   segments: Sequence[Segment]) -> ModelRequest:
    parts = [f"Task (for reference): {task.line()}", f"The checks failed: {reason}", "Problems:",
             condense(findings), "", "Current text of the code concerned:\n"]
    parts.extend(segment_block(s) for s in segments)
    parts.append("Answer with SEARCH/REPLACE blocks against this current text.")
    return _request(model, REPAIR_SYSTEM, "\n".join(parts), REPAIR_MAX_TOKENS)


def escalate_request(model: str, task: TaskText, status: str, findings: Sequence[Finding],
                     segments: Sequence[Segment], symbols: Sequence[ContextSnippet]) -> ModelRequest:
    parts = [f"Task (for reference): {task.line()}", f"Failure signature: {failure_signature(status, findings)}",
             "Validator output (condensed):", condense(findings), "",
             "Failing code, current text (after the previous attempt):\n"]
    parts.extend(segment_block(s) for s in segments)
    if symbols:
        parts.append("Symbols this code uses:\n")
        parts.extend(snippet_block(s) for s in symbols)
    parts.append("Answer with SEARCH/REPLACE blocks against the current text shown.")
    return _request(model, ESCALATE_SYSTEM, "\n".join(parts), ESCALATE_MAX_TOKENS)


def signoff_request(model: str, task: TaskText, validation: str, diff: str, review: str | None = None
                    ) -> ModelRequest:
    parts = [f"Task: {task.line()}", f"Validation: {validation}"]
    if diff:
        parts.append(_block("The change (unified diff):", "change.diff", diff.rstrip("\n")))
    if review:
        parts.append(_block("The fast model's review (it proposes no change):", "review.md", review.strip()))
    return _request(model, "", "\n".join(parts), SIGNOFF_MAX_TOKENS, stable=SIGNOFF_SYSTEM)


def explain_request(model: str, task: TaskText, selection: str, snippets: Sequence[ContextSnippet],
                    total_lines: int) -> ModelRequest:
    parts = [f"Explain: {task.instruction.strip() or 'what the selected code does'} "
             f"(in {task.file}, lines {task.first_line + 1}-{task.last_line + 1})",
             _block("Selected lines:", task.file, selection), "Context:\n"]
    parts.extend(snippet_block(s, total_lines if s.path == task.file else None) for s in snippets)
    return _request(model, "", "\n".join(parts), EXPLAIN_MAX_TOKENS, stable=EXPLAIN_SYSTEM)


def parse_signoff(reply: str) -> tuple[bool, str]:
    """(approved, reasons). Anything but a clear APPROVE on the first line is a rejection."""
    lines = [ln.strip() for ln in reply.strip().splitlines() if ln.strip()]
    if not lines:
        return False, "the reviewer gave no answer"
    head = lines[0].lstrip("#*` ").upper()
    rest = "\n".join(lines[1:]).strip()
    if head.startswith("APPROVE"):
        return True, rest
    if head.startswith("REJECT"):
        inline = lines[0].split(":", 1)[1].strip() if ":" in lines[0] else ""
        return False, "\n".join(x for x in (inline, rest) if x) or "rejected without reasons"
    return False, f"the reviewer's answer did not start with APPROVE or REJECT: {lines[0][:200]}"


def says_no_changes(reply: str) -> bool:
    head = reply.strip().splitlines()[0] if reply.strip() else ""
    return head.strip("`*# ").upper().startswith(NO_CHANGES)


def request_text(request: ModelRequest) -> str:
    """Everything a request sends as text (system and messages): what its size is measured on."""
    return "\n".join([request.system_stable, request.system_dynamic, *(m.text for m in request.messages)])
