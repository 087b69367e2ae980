"""The background pipeline: classify → generate on the routed model → validate → repair (fast) or escalate
(deep, focused payload) → sign-off for high-stakes work → a result with only validated edits.

    prepared = await prepare_task(spec, deps)          # context + route (what `runTask` answers at once)
    result = await run_task(spec, deps, progress, prepared=prepared)

Modules: ``spec`` (TaskSpec, TaskResult), ``context`` (context provider, fallback), ``segments`` (focused
code segments), ``calls`` (budget, overload fallback, ledger), ``prepare`` (deps, context and route
before any call), ``run`` (the state machine), ``batch``
(Message Batches for headless runs), ``taskfile`` (tasks.yaml).
"""

from .calls import DEEP_OVERLOAD_FALLBACK, BudgetBlocked, OverloadFallback
from .context import ContextBundle, ContextProvider, ContextSnippet, EngineContext, ScopeFacts, fallback_context
from .prepare import PipelineDeps, PreparedTask, prepare_task, read_target
from .run import Progress, Stage, run_task
from .spec import (
    CallSummary,
    EscalationSize,
    RequestSize,
    TaskResult,
    TaskSpec,
    TaskStatus,
    TextRange,
    unified_diff,
)

__all__ = [
    "DEEP_OVERLOAD_FALLBACK",
    "BudgetBlocked",
    "CallSummary",
    "ContextBundle",
    "ContextProvider",
    "ContextSnippet",
    "EngineContext",
    "EscalationSize",
    "OverloadFallback",
    "PipelineDeps",
    "PreparedTask",
    "Progress",
    "RequestSize",
    "ScopeFacts",
    "Stage",
    "TaskResult",
    "TaskSpec",
    "TaskStatus",
    "TextRange",
    "fallback_context",
    "prepare_task",
    "read_target",
    "run_task",
    "unified_diff",
]
