"""Before any model call: the task's dependencies, the target text, its context and its route.

``prepare_task`` is what ``aiCodingRouter.runTask`` waits for before it answers ``{"jobId", "route"}``;
``run_task`` then reuses the ``PreparedTask`` (no second context pass).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from .. import prompts as P
from ..config import Config
from ..context.redact import is_secret_path
from ..edits.paths import resolve_in_workspace
from ..errors import ContextError
from ..models.base import ModelClient, ModelRequest
from ..routing import Route, TaskFacts, route_task
from ..validation.runner import ValidationSession
from .calls import DEEP_OVERLOAD_FALLBACK, BudgetCheck, OverloadFallback, RecordCall, RecordOutcome
from .context import ContextBundle, ContextProvider, gather_context, selection_lines, task_facts
from .spec import TaskSpec

MAX_SELECTION_LINES = 400


@dataclass
class PipelineDeps:
    client: ModelClient
    config: Config = field(default_factory=Config)
    context: ContextProvider | None = None  # None: the target file alone (no context engine)
    session: ValidationSession = field(default_factory=ValidationSession)
    record_call: RecordCall | None = None  # e.g. Ledger.record
    record_outcome: RecordOutcome | None = None  # e.g. Ledger.set_task_outcome
    budget_check: BudgetCheck | None = None  # e.g. Ledger.check_before
    overload_fallback: OverloadFallback = DEEP_OVERLOAD_FALLBACK


@dataclass(frozen=True)
class PreparedTask:
    """Routing's output, reused by the run: the target text, its context, the facts and the route."""

    task: TaskSpec
    text: str
    context: ContextBundle
    facts: TaskFacts
    route: Route

    @property
    def lines(self) -> tuple[int, int]:
        return selection_lines(self.task, self.text)

    def task_text(self) -> P.TaskText:
        first, last = self.lines
        return P.TaskText(self.task.kind, self.task.instruction, self.task.file, first, last)

    def selection(self) -> str:
        first, last = self.lines
        lines = self.text.split("\n")[first : last + 1]
        if len(lines) > MAX_SELECTION_LINES:
            lines = [*lines[:MAX_SELECTION_LINES], f"… ({len(lines) - MAX_SELECTION_LINES} more lines)"]
        return "\n".join(line.rstrip("\r") for line in lines)

    def generate_request(self) -> ModelRequest:
        """The first request: an explanation's, or the edit request with the task's context."""
        context = self.context
        build = P.explain_request if self.task.kind == "explain" else P.generate_request
        return build(self.route.model, self.task_text(), self.selection(), context.snippets, context.total_lines)


def read_target(task: TaskSpec) -> str:
    """The target file's text (the editor's when open). Raises ContextError / EditError for bad paths."""
    target = resolve_in_workspace(task.file, [task.root])
    if is_secret_path(target.key):
        raise ContextError(f"{target.key} is a secret file (keys, certificates, .env): it is never sent")
    if target.key in task.documents:
        return task.documents[target.key]
    try:
        return target.path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise ContextError(f"cannot read {target.key}: {exc.strerror or exc}") from exc


async def prepare_task(task: TaskSpec, deps: PipelineDeps) -> PreparedTask:
    """Read the target, gather context (in a thread: indexing walks the disk) and route the task."""
    text = read_target(task)
    budget = deps.config.context.background_budget_tokens
    bundle = await asyncio.to_thread(gather_context, deps.context, task, text, budget)
    facts = task_facts(task, bundle, text)
    return PreparedTask(task, text, bundle, facts, route_task(facts, deps.config.routing))
