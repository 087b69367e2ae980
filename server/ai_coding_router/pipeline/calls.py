"""Model calls of one task: the budget check before, the overload fallback, and the ledger after.

Every call's ``Usage`` comes back in its ``ModelResult``; the call is written to the ledger once the next
step shows what became of its output (``repaired``, ``escalated``, ``validated``, ``failed``...), so the
ledger gets one ``CallRecord`` per call with the outcome the reports count.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from ..config import Config
from ..errors import ModelOverloaded, ModelTimeout, RouterError
from ..ledger.budget import BudgetDecision
from ..ledger.pricing import estimate_cost
from ..ledger.records import CallRecord, CallRole, Outcome, new_call_id
from ..models.base import ModelClient, ModelRequest, ModelResult
from ..routing import Route
from .spec import CallSummary, RequestSize, TaskSpec

log = logging.getLogger(__name__)

OverloadFallback = Literal["fast", "wait", "none"]
# Proposed config fields (routing.overload_fallback / routing.overload_wait_s); constants until then.
DEEP_OVERLOAD_FALLBACK: OverloadFallback = "fast"
OVERLOAD_WAIT_S = 20.0
OVERLOAD_WAIT_ATTEMPTS = 3
BACKGROUND_DEADLINE_S = 600.0  # one background call, retries included

RecordCall = Callable[[CallRecord], "Awaitable[None] | None"]
RecordOutcome = Callable[[str, Outcome, str], "Awaitable[None] | None"]
BudgetCheck = Callable[[float | None, str], BudgetDecision]


class BudgetBlocked(RouterError):
    """The budget policy refused a deep-model call."""


def request_size(request: ModelRequest) -> RequestSize:
    from .. import prompts
    from ..context.tokens import estimate_tokens

    text = prompts.request_text(request)
    return RequestSize(estimate_tokens(text), len(text))


async def maybe_await(value: Awaitable[None] | None) -> None:
    if inspect.isawaitable(value):
        await value


@dataclass
class _Pending:
    result: ModelResult
    role: CallRole
    note: str
    prompt: str


@dataclass
class CallLog:
    """The task's calls: the one whose outcome is not known yet, and those already written."""

    task: TaskSpec
    route: Route
    record: RecordCall | None
    store_prompts: bool = False
    summaries: list[CallSummary] = field(default_factory=list)
    pending: _Pending | None = None

    def add(self, result: ModelResult, role: CallRole, note: str, prompt: str) -> None:
        if self.pending is not None:
            raise RuntimeError("the previous call's outcome was not settled")
        self.pending = _Pending(result, role, note, prompt)

    async def settle(self, outcome: Outcome) -> None:
        """Write the pending call with ``outcome`` (a no-op when none is pending)."""
        pending, self.pending = self.pending, None
        if pending is None:
            return
        usage = pending.result.usage
        self.summaries.append(CallSummary(
            pending.role, usage.model, outcome, usage.input_tokens, usage.output_tokens,
            usage.cache_creation_input_tokens, usage.cache_read_input_tokens, usage.latency_ms, usage.batch,
            pending.note,
        ))
        if self.record is None:
            return
        tags = dict(self.task.tags)
        tags.setdefault("task_type", self.task.kind)
        call = CallRecord.from_usage(
            usage, call_id=new_call_id(), ts=time.time(), task_id=self.task.task_id, task_kind=self.task.kind,
            role=pending.role, outcome=outcome, route_score=self.route.score, variant=self.route.variant, tags=tags,
            prompt=pending.prompt if self.store_prompts else None,
        )
        try:
            await maybe_await(self.record(call))
        except Exception:  # the ledger never fails a task
            log.exception("recording a model call failed")


@dataclass
class Caller:
    """Makes a task's model calls with the budget policy and the deep-model overload fallback."""

    client: ModelClient
    config: Config
    budget_check: BudgetCheck | None = None
    overload_fallback: OverloadFallback = DEEP_OVERLOAD_FALLBACK
    notes: list[str] = field(default_factory=list)
    fallback: str | None = None

    @property
    def fast_model(self) -> str:
        return self.config.routing.default_model

    def _check_budget(self, request: ModelRequest) -> tuple[ModelRequest, str]:
        if self.budget_check is None:
            return request, ""
        estimate = estimate_cost(self.config.cost_tracking.prices, request.model,
                                 request_size(request).tokens, request.max_tokens)
        decision = self.budget_check(estimate, request.model)
        if decision.action == "block":
            raise BudgetBlocked(decision.message or f"over budget: {request.model} calls are blocked")
        if decision.message and decision.notify and decision.message not in self.notes:
            self.notes.append(decision.message)
        if decision.action == "downgrade" and decision.model != request.model:
            return replace(request, model=decision.model), f"budget: downgraded from {request.model}"
        return request, ""

    async def call(self, request: ModelRequest, role: CallRole) -> tuple[ModelResult, str]:
        """The result and a note on how it was obtained ("" normally). Raises ``ModelError``/``BudgetBlocked``.

        A reply cut off by the deadline is an error here: a background result is complete or it is nothing.
        """
        result, note = await self._call(request, role)
        if result.stop_reason == "deadline":
            raise ModelTimeout(f"the {role} reply was cut off by the {BACKGROUND_DEADLINE_S:.0f} s deadline")
        return result, note

    async def _call(self, request: ModelRequest, role: CallRole) -> tuple[ModelResult, str]:
        request = replace(
            request, max_retries=self.config.api.max_retries, deadline_s=BACKGROUND_DEADLINE_S,
            tags={**request.tags, "role": role},
        )
        request, note = self._check_budget(request)
        try:
            return await self.client.complete(request), note
        except ModelOverloaded as error:
            if request.model == self.fast_model or self.overload_fallback == "none":
                raise
            if self.overload_fallback == "wait" or role == "signoff":  # a fast model cannot sign off for a deep one
                return await self._wait_out(request, error), note
            message = (f"the deep model {request.model} was overloaded (529): the {role} step ran on the fast "
                       f"model {self.fast_model} instead, with the same validation")
            log.warning(message)
            self.fallback = message
            if message not in self.notes:
                self.notes.append(message)
            fast = replace(request, model=self.fast_model)
            return await self.client.complete(fast), f"fallback from {request.model} (overloaded)"

    async def _wait_out(self, request: ModelRequest, error: ModelOverloaded) -> ModelResult:
        for attempt in range(OVERLOAD_WAIT_ATTEMPTS):
            wait = max(error.retry_after_s or 0.0, OVERLOAD_WAIT_S * 2**attempt)
            log.info("deep model overloaded; waiting %.0f s before trying again", wait)
            await asyncio.sleep(wait)
            try:
                return await self.client.complete(request)
            except ModelOverloaded as again:
                error = again
        raise error
