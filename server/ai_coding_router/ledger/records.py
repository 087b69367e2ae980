"""What the ledger records: one ``CallRecord`` per model call, built from the call's ``Usage``.

Vocabulary (the pipeline writes these; reports and ``tune`` read them):

* call role — ``generate`` (the routed model's first answer), ``repair`` (fast-model fix after a failed
  validation), ``escalate`` (deep model with a focused payload), ``signoff`` (deep review of a result),
  ``completion`` (inline completion), ``quick_fix`` (interactive code action).
* call outcome — what became of that call's output: ``validated`` (passed the checks), ``repaired`` (failed,
  a repair followed), ``escalated`` (failed, an escalation followed), ``failed``, ``cancelled``,
  ``timed_out``, or ``ok`` (no validation applies, e.g. a completion that was shown).
* task outcome — the end of the whole task: ``validated`` (first time), ``repaired`` (validated after a
  repair), ``escalated`` (validated after escalating), ``failed``, ``cancelled``, ``timed_out``, ``ok``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, NamedTuple, get_args

from ..models.base import Usage

CallRole = Literal["generate", "repair", "escalate", "signoff", "completion", "quick_fix"]
Outcome = Literal["validated", "repaired", "escalated", "failed", "cancelled", "timed_out", "ok"]

CALL_ROLES: tuple[str, ...] = get_args(CallRole)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
# A task "succeeded" when its result passed validation, by whatever path.
SUCCESS_OUTCOMES = frozenset({"validated", "repaired", "escalated"})
# Tasks that count in success and escalation rates: validated ones that finished (cancelled and
# unvalidated "ok" tasks say nothing about the routing).
FINISHED_OUTCOMES = frozenset({"validated", "repaired", "escalated", "failed", "timed_out"})


def new_call_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class CallRecord:
    """One model call. Prompt text is kept only when the caller passes it and ``store_prompts`` is on."""

    call_id: str
    task_id: str
    task_kind: str
    role: CallRole
    model: str
    outcome: Outcome
    ts: float  # seconds since the epoch, when the call ended
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    route_score: float | None = None
    variant: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    batch: bool = False
    prompt: str | None = None

    def __post_init__(self) -> None:
        if self.role not in CALL_ROLES:
            raise ValueError(f"unknown call role {self.role!r}; expected one of {', '.join(CALL_ROLES)}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}; expected one of {', '.join(OUTCOMES)}")
        counts = (self.input_tokens, self.output_tokens, self.cache_write_tokens, self.cache_read_tokens)
        if min(counts) < 0:
            raise ValueError("token counts cannot be negative")

    @classmethod
    def from_usage(
        cls,
        usage: Usage,
        *,
        call_id: str,
        ts: float,
        task_id: str,
        task_kind: str,
        role: CallRole,
        outcome: Outcome,
        route_score: float | None = None,
        variant: str | None = None,
        tags: Mapping[str, str] | None = None,
        prompt: str | None = None,
    ) -> CallRecord:
        """Pure: everything comes from the arguments (pass ``new_call_id()`` and ``time.time()``)."""
        return cls(
            call_id=call_id,
            task_id=task_id,
            task_kind=task_kind,
            role=role,
            model=usage.model,
            outcome=outcome,
            ts=ts,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_write_tokens=usage.cache_creation_input_tokens,
            cache_read_tokens=usage.cache_read_input_tokens,
            latency_ms=usage.latency_ms,
            ttft_ms=usage.ttft_ms,
            route_score=route_score,
            variant=variant,
            tags=dict(tags or {}),
            batch=usage.batch,
            prompt=prompt,
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_write_tokens + self.cache_read_tokens


REDACTED = "[redacted]"
_MIN_SECRET_LEN = 8  # a shorter "key" would redact ordinary words


class SecretGuard:
    """Refuses to let the API key into the database: any string containing it is replaced.

    The key is read from the environment on every check, so a key set after start-up is still caught.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = env if env is not None else os.environ
        self.redactions = 0

    def _secrets(self) -> list[str]:
        key = self._env.get("ANTHROPIC_API_KEY", "")
        return [key] if len(key) >= _MIN_SECRET_LEN else []

    def clean(self, call: CallRecord) -> CallRecord:
        secrets = self._secrets()
        if not secrets:
            return call

        def scrub(value: str | None) -> str | None:
            if value is not None and any(secret in value for secret in secrets):
                self.redactions += 1
                return REDACTED
            return value

        tags = {scrub(k) or REDACTED: scrub(v) or REDACTED for k, v in call.tags.items()}
        cleaned = replace(
            call,
            # a fresh id rather than a shared "[redacted]" one, which would collide with the next
            call_id=call.call_id if scrub(call.call_id) == call.call_id else new_call_id(),
            task_id=scrub(call.task_id) or REDACTED,
            task_kind=scrub(call.task_kind) or REDACTED,
            model=scrub(call.model) or REDACTED,
            variant=scrub(call.variant),
            tags=tags,
            prompt=scrub(call.prompt),
        )
        return cleaned if cleaned != call else call

    def clean_text(self, value: str) -> str:
        secrets = self._secrets()
        if any(secret in value for secret in secrets):
            self.redactions += 1
            return REDACTED
        return value


class CallRow(NamedTuple):
    """A call as read back for reports (``tags`` still JSON text: parsed only when grouping by a tag)."""

    task_id: str
    task_kind: str
    role: str
    model: str
    route_score: float | None
    variant: str | None
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    ttft_ms: float | None
    latency_ms: float
    outcome: str
    tags: str
    batch: int
    cost_usd: float | None
    ts: float


class KeyedCall(NamedTuple):
    """A call as the report's task and latency figures need it; ``key`` is its group (for ``day``, the
    15-minute bucket ``int(ts // 900)``, turned into a local date by the report)."""

    key: str | int
    task_id: str
    role: str
    model: str
    route_score: float | None
    outcome: str
    latency_ms: float
    ttft_ms: float | None


class GroupSums(NamedTuple):
    key: str | int
    calls: int
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    cost_usd: float
    unpriced_calls: int


class CostBucket(NamedTuple):
    bucket: int  # int(ts // 900)
    model: str
    cost_usd: float
    unpriced_calls: int


@dataclass(frozen=True)
class ReportInput:
    """What a report is computed from: sums the database adds up, and one light row per call."""

    sums: list[GroupSums]
    cost_buckets: list[CostBucket]
    calls: list[KeyedCall]  # in the order they were recorded
    task_outcomes: dict[str, str | None]
