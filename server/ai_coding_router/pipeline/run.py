"""``run_task``: route → generate → apply the blocks → validate → repair (fast) / escalate (deep) → sign-off.

Nothing is written to the workspace: the candidate lives in memory and is validated on a scratch
overlay; a validated result carries the new texts and the base texts they were computed from, and the
LSP layer (or ``ai-coding-router run``) applies them. A result that never validates carries findings
and nothing to apply. Cancelling the task closes the model stream or kills the validators at once; the
calls made so far are written to the ledger as ``cancelled`` and the ``CancelledError`` propagates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Literal

from .. import prompts as P
from ..config import CheckName
from ..errors import EditError, ModelError, ModelTimeout
from ..ledger.records import CallRole, Outcome
from ..models.base import ModelRequest, ModelResult, Usage
from ..patches import FileContent, PatchProblem, disk_files, parse_and_apply, problem_findings
from ..validation.base import WHOLE_FILE, Candidate, Finding, ValidationReport
from ..validation.runner import validate
from .calls import BudgetBlocked, Caller, CallLog, maybe_await, request_size
from .prepare import PipelineDeps, PreparedTask, prepare_task
from .segments import Segment, file_segment, focus_segments, needed_symbols
from .spec import (
    HIGH_STAKES_KINDS,
    REVIEW_KINDS,
    EscalationSize,
    RequestSize,
    TaskResult,
    TaskSpec,
    TaskStatus,
    unified_diff,
)

log = logging.getLogger(__name__)

Stage = Literal["routing", "generating", "validating", "repairing", "escalating", "applying"]
Progress = Callable[[str, str], None]
TARGET_MARGIN = 20  # lines around the selection shown when the target file is too large to show whole
_SEARCH_PROBLEMS = ("patch:no-match", "patch:ambiguous-match", "patch:file-exists")


def _no_progress(stage: str, message: str) -> None:
    return None


async def run_task(
    task: TaskSpec,
    deps: PipelineDeps,
    progress: Progress = _no_progress,
    *,
    prepared: PreparedTask | None = None,
    first_result: ModelResult | None = None,
) -> TaskResult:
    """Run one task to a result. ``first_result`` is the generate call's result when it was obtained
    elsewhere (a Message Batch); the rest of the pipeline runs as usual."""
    if prepared is None:
        progress("routing", f"routing {task.kind} on {task.file}")
        prepared = await prepare_task(task, deps)
    run = _Run(prepared, deps, progress)
    try:
        return await run.execute(first_result)
    except asyncio.CancelledError:
        await run.calls.settle("cancelled")
        await run.record_outcome("cancelled")
        raise


class _Run:
    def __init__(self, prepared: PreparedTask, deps: PipelineDeps, progress: Progress) -> None:
        self.p = prepared
        self.task = prepared.task
        self.route = prepared.route
        self.deps = deps
        self.config = deps.config
        self.progress = progress
        self.caller = Caller(deps.client, deps.config, deps.budget_check, deps.overload_fallback)
        self.calls = CallLog(self.task, self.route, deps.record_call, deps.config.cost_tracking.store_prompts)
        self.base: dict[str, str | None] = {}
        self.current: dict[str, str] = {}
        self._disk = disk_files([self.task.root], overlay=dict(self.task.documents))
        self.notes: list[str] = []
        self.repairs = 0
        self.escalated = False
        self.first_size: RequestSize | None = None
        self.escalation: EscalationSize | None = None
        self.checks = self._checks()

    # -- files -------------------------------------------------------------------------------------
    def _load(self, key: str) -> FileContent:
        if key in self.current:
            return self.current[key]
        content = self._disk(key)
        if key not in self.base:
            self.base[key] = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        return content

    def _text_of(self, key: str) -> str | None:
        try:
            content = self._load(key)
        except (EditError, OSError):
            return None
        return content.decode("utf-8", "replace") if isinstance(content, bytes) else content

    def changes(self) -> dict[str, str]:
        return {k: v for k, v in self.current.items() if self.base.get(k) != v}

    def apply(self, reply: str) -> tuple[PatchProblem, ...]:
        result = parse_and_apply(reply, self._load, [self.task.root])
        for key, file in result.files.items():
            self.current[key] = file.new_text
        problems = result.problems
        if not problems and not self.changes():
            problems = (PatchProblem("no-blocks", "with these blocks the files equal the originals: the edit "
                                     "as a whole changes nothing; make the change the task asks for"),)
        return problems

    # -- checks ------------------------------------------------------------------------------------
    def _checks(self) -> list[CheckName]:
        checks: list[CheckName] = ["syntax", *self.config.validation.checks]
        if "vitest_run" in checks and not (self.task.trusted and self.config.validation.allow_running_tests):
            checks.remove("vitest_run")
            why = "the workspace is not trusted" if not self.task.trusted else "validation.allow_running_tests is off"
            self.notes.append(f"tests were not run: {why}")
        return list(dict.fromkeys(checks))

    async def _validate(self) -> ValidationReport:
        self.progress("validating", ", ".join(self.checks))
        try:
            base = {k: v for k, v in self.task.documents.items() if isinstance(v, str)}  # unsaved editor texts
            return await validate(Candidate(self.task.root, self.changes(), base=base), self.checks,
                                  trusted=self.task.trusted,
                                  config=self.config.validation, session=self.deps.session)
        except EditError as error:
            finding = Finding("", WHOLE_FILE, "error", "patch:refused", str(error), "ai-coding-router", "syntax")
            return ValidationReport("fail-syntax", str(error), (finding,), ())

    # -- the run -----------------------------------------------------------------------------------
    async def execute(self, first_result: ModelResult | None) -> TaskResult:
        try:
            if self.task.kind == "explain":
                return await self._explain()
            return await self._edit(first_result)
        except (ModelError, BudgetBlocked) as error:
            await self.calls.settle("failed")
            outcome: Outcome = "timed_out" if isinstance(error, ModelTimeout) else "failed"
            return await self._finish("failed", outcome, f"{type(error).__name__}: {error}")

    async def _call(self, request: ModelRequest, role: CallRole) -> ModelResult:
        billed: list[Usage] = []  # filled when the call is cancelled after the API started answering
        request = replace(request, on_cancelled=billed.append)
        try:
            result, note = await self.caller.call(request, role)
        except asyncio.CancelledError:
            if billed:  # run_task writes it as ``cancelled``: its prompt was billed all the same
                await self.calls.settle("cancelled")
                cut = ModelResult(text="", usage=billed[-1], stop_reason="unknown")
                self.calls.add(cut, role, "cancelled while answering", P.request_text(request))
            raise
        self.calls.add(result, role, note, P.request_text(request))
        return result

    async def _edit(self, first_result: ModelResult | None) -> TaskResult:
        request = self.p.generate_request()
        self.first_size = request_size(request)
        self.progress("generating", f"{self.route.tier} model {self.route.model}")
        if first_result is not None:
            self.calls.add(first_result, "generate", "message batch", P.request_text(request))
            reply = first_result
        else:
            reply = await self._call(request, "generate")
        if self.task.kind in REVIEW_KINDS and P.says_no_changes(reply.text):
            return await self._no_changes(reply.text)
        problems = self.apply(reply.text)
        while True:
            if problems:
                report = ValidationReport("fail-syntax", f"{len(problems)} edit block(s) could not be applied",
                                          problem_findings(problems), ())
            else:
                report = await self._validate()
            if report.status == "pass":
                return await self._passed(report)
            if report.status == "incomplete":
                return await self._incomplete(report)
            step = self._next_step(report.status)
            if step == "repair":
                await self.calls.settle("repaired")
                self.repairs += 1
                self.progress("repairing", f"attempt {self.repairs}: {report.reason}")
                problems = await self._repair(report)
            elif step == "escalate":
                await self.calls.settle("escalated")
                self.escalated = True
                self.progress("escalating", f"{self.config.routing.escalation_model}: {report.reason}")
                problems = await self._escalate(report)
            else:
                await self.calls.settle("failed")
                return await self._finish("failed", "failed", f"not validated: {report.reason}", report.findings)

    def _next_step(self, status: str) -> str | None:
        validation = self.config.validation
        if status == "fail-syntax" and self.repairs < validation.max_repair_attempts:
            return "repair"
        if self.escalated or validation.escalation_on == "never":
            return None
        if status == "fail-logic" or (status == "fail-syntax" and validation.escalation_on == "fail-syntax"):
            return "escalate"
        return None

    def _segments(self, findings: Sequence[Finding]) -> list[Segment]:
        code = [f for f in findings if not f.code.startswith("patch:")]
        segments = focus_segments(self.base, self.current, code, self._text_of)
        shown = {s.path for s in segments}
        for finding in findings:
            if finding.code in _SEARCH_PROBLEMS and finding.path and finding.path not in shown:
                text = self._text_of(finding.path)
                whole = file_segment(finding.path, text) if text is not None else None
                if whole is not None:
                    segments.append(whole)
                    shown.add(finding.path)
        if not segments:  # e.g. every block was refused: show the target, so the task can still be done
            segments.extend(self._target_segment())
        return segments

    def _target_segment(self) -> list[Segment]:
        text = self._text_of(self.task.file)
        if text is None:
            return []
        whole = file_segment(self.task.file, text)
        if whole is not None:
            return [whole]
        first, last = self.p.lines
        lines = text.split("\n")
        start, end = max(0, first - TARGET_MARGIN), min(len(lines) - 1, last + TARGET_MARGIN)
        return [Segment(self.task.file, start, end, "\n".join(lines[start : end + 1]), len(lines), "file")]

    async def _repair(self, report: ValidationReport) -> tuple[PatchProblem, ...]:
        request = P.repair_request(self.config.routing.default_model, self.p.task_text(), report.reason,
                                   report.findings, self._segments(report.findings))
        return self.apply((await self._call(request, "repair")).text)

    async def _escalate(self, report: ValidationReport) -> tuple[PatchProblem, ...]:
        segments = self._segments(report.findings)
        symbols = needed_symbols(segments, self.p.context.snippets)
        request = P.escalate_request(self.config.routing.escalation_model, self.p.task_text(), report.status,
                                     report.findings, segments, symbols)
        size = request_size(request)
        first = self.first_size or size
        self.escalation = EscalationSize(first, size)
        log.info("task %s: escalation payload %d tokens (%d chars) vs first request %d tokens (%d chars)",
                 self.task.task_id, size.tokens, size.chars, first.tokens, first.chars)
        return self.apply((await self._call(request, "escalate")).text)

    @property
    def needs_signoff(self) -> bool:
        fell_back = self.caller.fallback is not None and self.task.kind in HIGH_STAKES_KINDS
        return self.route.needs_signoff or fell_back

    async def _signoff(self, validation: str, diff: str, review: str | None = None) -> str | None:
        """None when approved, else the reasons. The deep model reviews; it is never replaced by the fast one."""
        self.progress("validating", f"sign-off review by {self.config.routing.escalation_model}")
        request = P.signoff_request(self.config.routing.escalation_model, self.p.task_text(), validation, diff, review)
        reply = await self._call(request, "signoff")
        approved, reasons = P.parse_signoff(reply.text)
        await self.calls.settle("ok" if approved else "failed")
        return None if approved else reasons

    async def _passed(self, report: ValidationReport) -> TaskResult:
        await self.calls.settle("validated")
        changes = self.changes()
        if self.needs_signoff:
            rejected = await self._signoff(report.reason, unified_diff(self.base, changes))
            if rejected is not None:
                finding = Finding("", WHOLE_FILE, "error", "signoff:rejected", rejected, "signoff", "tool")
                return await self._finish("failed", "failed", "the deep-model sign-off rejected the change",
                                          (finding,))
            self.notes.append(f"signed off by {self.config.routing.escalation_model}")
        outcome: Outcome = "escalated" if self.escalated else "repaired" if self.repairs else "validated"
        self.progress("applying", f"{len(changes)} file(s) ready")
        path = "after escalation" if self.escalated else f"after {self.repairs} repair(s)" if self.repairs else ""
        summary = f"validated{' ' + path if path else ''}: {report.reason}; changes {', '.join(sorted(changes))}"
        return await self._finish("validated", outcome, summary, report.findings, changes)

    async def _incomplete(self, report: ValidationReport) -> TaskResult:
        if self.config.validation.enabled:
            await self.calls.settle("failed")
            return await self._finish("failed", "failed", report.reason, report.findings)
        await self.calls.settle("ok")
        changes = self.changes()
        self.notes.append("NOT VALIDATED: validation.enabled is false")
        return await self._finish("unvalidated", "ok", "not validated (validation is disabled)", (), changes)

    async def _no_changes(self, review: str) -> TaskResult:
        await self.calls.settle("ok")
        if self.needs_signoff:
            rejected = await self._signoff("no change proposed", "", review)
            if rejected is not None:
                finding = Finding("", WHOLE_FILE, "error", "signoff:rejected", rejected, "signoff", "tool")
                return await self._finish("failed", "failed", "the deep-model sign-off rejected the review", (finding,))
        return await self._finish("answered", "ok", "review: no change needed", answer=review)

    async def _explain(self) -> TaskResult:
        request = self.p.generate_request()
        self.progress("generating", f"explanation by {self.route.model}")
        reply = await self._call(request, "generate")
        await self.calls.settle("ok")
        return await self._finish("answered", "ok", "explanation", answer=reply.text)

    async def record_outcome(self, outcome: Outcome) -> None:
        if self.deps.record_outcome is None:
            return
        try:
            await maybe_await(self.deps.record_outcome(self.task.task_id, outcome, self.task.kind))
        except Exception:  # the ledger never fails a task
            log.exception("recording the task outcome failed")

    async def _finish(self, status: TaskStatus, outcome: Outcome, summary: str, findings: Sequence[Finding] = (),
                      changes: dict[str, str] | None = None, answer: str | None = None) -> TaskResult:
        await self.record_outcome(outcome)
        changes = changes or {}
        # High stakes, or made by a less capable model than routed (overload fallback): the user confirms.
        fell_back = self.caller.fallback is not None
        high_stakes = self.task.kind in HIGH_STAKES_KINDS or self.route.needs_signoff or fell_back
        return TaskResult(
            task_id=self.task.task_id, kind=self.task.kind, status=status, outcome=outcome,
            route=self.route.as_json(), summary=summary, new_texts=changes,
            base_texts={k: self.base.get(k) for k in changes},
            versions={k: v for k, v in self.task.versions.items() if k in changes},
            findings=tuple(findings), calls=tuple(self.calls.summaries), escalation=self.escalation,
            needs_confirmation=bool(changes) and (high_stakes or status == "unvalidated"), answer=answer,
            notes=tuple(dict.fromkeys([*self.notes, *self.caller.notes])), fallback=self.caller.fallback,
        )
