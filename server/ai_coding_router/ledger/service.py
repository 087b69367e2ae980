"""``Ledger``: the one object the server holds. Records calls, keeps today's and this month's spend,
applies budgets and the per-task alert, and answers the status-bar summary.

Spend is counted in memory as calls are recorded (seeded from the file at open), so budget checks and the
summary never wait for the disk. The file is written by ``LedgerWriter`` in its own thread. When the file
cannot be used the ledger is "disabled": nothing is written, everything else keeps working.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, tzinfo
from pathlib import Path
from typing import Any, Literal

from ..config import Config
from . import budget
from .errors import LedgerError
from .git import BranchCache
from .pricing import call_cost, estimate_cost
from .records import CallRecord, Outcome, SecretGuard
from .store import LedgerStore, Spend, ledger_path
from .tags import resolve_tags
from .writer import CallSink, LedgerWriter

log = logging.getLogger(__name__)

_MAX_TRACKED_TASKS = 5_000  # in-memory task sums (each completion is a task); old tasks fall out first
_OFF_BY_CONFIG = "cost_tracking.enabled is false"


@dataclass(frozen=True)
class Notice:
    """Something to show the user once (``window/showMessage``)."""

    kind: Literal["task_alert", "budget", "price", "ledger"]
    level: Literal["info", "warning", "error"]
    message: str


class Ledger:
    def __init__(
        self,
        config: Config,
        writer: LedgerWriter,
        *,
        path: Path | None,
        tz: tzinfo | None = None,
        sinks: Sequence[CallSink] = (),
    ) -> None:
        self._config = config
        self._writer = writer
        self.path = path
        self._tz = tz  # None: the machine's local time, daylight saving included
        self._sinks = list(sinks)
        self._days: dict[date, Spend] = {}
        self._months: dict[tuple[int, int], Spend] = {}
        self._tasks: OrderedDict[str, float] = OrderedDict()
        self._alerted: set[str] = set()
        self._budget_shown: set[tuple[str, str, object]] = set()
        self._unpriced_models: set[str] = set()
        self._status_shown = False
        self._extra_notices: list[Notice] = []

    # -- opening -----------------------------------------------------------------------------------
    @classmethod
    async def open(
        cls,
        config: Config,
        workspace: Path | None,
        *,
        path: Path | None = None,
        env: Mapping[str, str] | None = None,
        tz: tzinfo | None = None,
        sinks: Sequence[CallSink] | None = None,
        busy_timeout_s: float = 5.0,
        branch_cache: BranchCache | None = None,
        now: datetime | None = None,
    ) -> Ledger:
        """Open the ledger without blocking the loop. Never raises ``LedgerError``: an unusable file gives a
        disabled ledger whose ``disabled_reason`` (and first notice) says why."""
        env = env if env is not None else os.environ
        notices: list[Notice] = []
        if sinks is None:  # importing the OpenTelemetry SDK takes a while: off the loop
            sinks = await asyncio.to_thread(_telemetry_sinks, env, notices)
        reason: str | None = None
        if path is None:
            if not config.cost_tracking.enabled:
                reason = _OFF_BY_CONFIG
            elif workspace is None and not _absolute(config.cost_tracking.ledger_path):
                reason = "no workspace folder to keep the ledger in (set cost_tracking.ledger_path)"
            else:
                path = ledger_path(config, workspace or Path.cwd())
        branches = branch_cache or BranchCache(workspace)
        seed: list[tuple[float, Spend, Spend]] = []  # (when, today's spend, this month's) read at open
        holder: dict[str, Ledger] = {}

        def opener() -> LedgerStore:
            assert path is not None
            store = LedgerStore.open(path, busy_timeout_s=busy_timeout_s)
            ledger = holder["ledger"]
            ts = ledger._ts(now)
            seed.append((ts, store.spend_between(ledger._day_start(ts)), store.spend_between(ledger._month_start(ts))))
            return store

        writer = LedgerWriter(
            opener if path is not None and reason is None else None,
            enrich=lambda call: holder["ledger"]._tag(call, env, branches),
            guard=SecretGuard(env),
            sinks=sinks,
            store_prompts=lambda: holder["ledger"]._config.cost_tracking.store_prompts,
            disabled_reason=reason,
        )
        ledger = cls(config, writer, path=path, tz=tz, sinks=sinks)
        holder["ledger"] = ledger
        ledger._extra_notices.extend(notices)
        await writer.start()
        for ts, today, month in seed:
            ledger._days[ledger._day(ts)] = today
            ledger._months[ledger._month(ts)] = month
        return ledger

    def update_config(self, config: Config) -> None:
        """New prices, budgets, tags and thresholds apply from the next call (a new path needs a restart)."""
        self._config = config

    # -- recording ---------------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return self._writer.enabled

    @property
    def disabled_reason(self) -> str | None:
        return self._writer.disabled_reason

    def cost_of(self, call: CallRecord) -> float | None:
        return call_cost(self._config.cost_tracking.prices, call)

    def estimate(self, model: str, input_tokens: int, max_output_tokens: int, batch: bool = False) -> float | None:
        return estimate_cost(self._config.cost_tracking.prices, model, input_tokens, max_output_tokens, batch)

    async def record(self, call: CallRecord) -> None:
        """Count the call and queue it for writing. Returns at once; never raises for ledger trouble."""
        cost = self.cost_of(call)
        tokens = call.total_tokens
        day, month = self._day(call.ts), self._month(call.ts)
        self._days[day] = self._days.get(day, Spend()).plus(cost, tokens)
        self._months[month] = self._months.get(month, Spend()).plus(cost, tokens)
        self._tasks[call.task_id] = self._tasks.get(call.task_id, 0.0) + (cost or 0.0)
        self._tasks.move_to_end(call.task_id)
        while len(self._tasks) > _MAX_TRACKED_TASKS:
            old, _ = self._tasks.popitem(last=False)
            self._alerted.discard(old)
        if cost is None and call.model not in self._unpriced_models:
            self._unpriced_models.add(call.model)
            self._extra_notices.append(Notice(
                "price", "warning",
                f"No price for model {call.model} in cost_tracking.prices: its calls are recorded without a cost.",
            ))
        self._writer.submit(call, cost)

    async def set_task_outcome(self, task_id: str, outcome: Outcome, task_kind: str = "unknown") -> None:
        """The task's final outcome (validated, repaired, escalated, failed, cancelled, timed_out, ok)."""
        self._writer.submit_outcome(task_id, outcome, task_kind)

    def task_cost(self, task_id: str) -> float:
        """The summed cost of a task's calls recorded by this process."""
        return self._tasks.get(task_id, 0.0)

    # -- budgets and alerts ------------------------------------------------------------------------
    def spent(self, now: datetime | None = None) -> budget.Spent:
        return self._spent_at(self._ts(now))

    def _spent_at(self, ts: float) -> budget.Spent:
        return budget.Spent(
            self._days.get(self._day(ts), Spend()).cost_usd, self._months.get(self._month(ts), Spend()).cost_usd
        )

    def check_before(
        self, estimated_cost: float | None, model: str, now: datetime | None = None
    ) -> budget.BudgetDecision:
        """Budget check before a call. ``notify`` is False when the same message was shown this period."""
        ts = self._ts(now)
        decision = budget.check_before(
            budget.BudgetLimits.from_config(self._config), self.spent(now), estimated_cost, model
        )
        if decision.action in ("warn", "downgrade"):
            key = (decision.action, ",".join(decision.exceeded), self._period_key(decision.exceeded, ts))
            if key in self._budget_shown:
                decision = replace(decision, notify=False)
            self._budget_shown.add(key)
        return decision

    def after_call(self, call: CallRecord, now: datetime | None = None) -> list[Notice]:
        """After ``record(call)``: the per-task alert (once per task), budgets just exceeded (once per
        period), and one-time news (an unknown price, the ledger file turning unusable)."""
        notices = self.pending_notices()
        message = budget.task_alert(
            self._config.cost_tracking.alert_threshold_per_task,
            call.task_id, call.task_kind, self.task_cost(call.task_id), call.task_id in self._alerted,
        )
        if message:
            self._alerted.add(call.task_id)
            notices.append(Notice("task_alert", "warning", message))
        ts = self._ts(now) if now is not None else call.ts
        periods: dict[str, object] = {"daily": self._day(ts), "monthly": self._month(ts)}
        already: frozenset[budget.Period] = frozenset(
            p for p in ("daily", "monthly") if ("crossed", p, periods[p]) in self._budget_shown
        )
        limits = budget.BudgetLimits.from_config(self._config)
        for period, text in budget.budget_crossings(limits, self._spent_at(ts), already):
            self._budget_shown.add(("crossed", period, periods[period]))
            notices.append(Notice("budget", "warning", text))
        return notices

    def pending_notices(self) -> list[Notice]:
        """One-time notices not yet shown: the ledger being off (and why), unknown prices, telemetry."""
        notices, self._extra_notices = self._extra_notices, []
        off_by_choice = self.disabled_reason == _OFF_BY_CONFIG
        if not self._status_shown and self.disabled_reason is not None and not off_by_choice:
            self._status_shown = True
            notices.insert(0, Notice(
                "ledger", "warning",
                f"The cost ledger is off: {self.disabled_reason}. Costs are still counted for this session.",
            ))
        return notices

    # -- status bar --------------------------------------------------------------------------------
    def cost_summary(self, now: datetime | None = None) -> dict[str, Any]:
        """Today's and this month's totals, for ``aiCodingRouter/costSummary``."""
        ts = self._ts(now)
        day, month = self._day(ts), self._month(ts)
        cost = self._config.cost_tracking
        return {
            "today": {"date": day.isoformat(), **_spend_json(self._days.get(day, Spend())),
                      "budget_usd": cost.daily_budget},
            "month": {"month": f"{month[0]:04d}-{month[1]:02d}", **_spend_json(self._months.get(month, Spend())),
                      "budget_usd": cost.monthly_budget},
            "budget_policy": cost.budget_policy,
            "ledger": {"enabled": self.enabled, "path": str(self.path) if self.path else None,
                       "reason": self.disabled_reason},
        }

    # -- lifecycle ---------------------------------------------------------------------------------
    async def flush(self) -> None:
        await self._writer.flush()

    async def aclose(self) -> None:
        await self._writer.aclose()
        for sink in self._sinks:
            shutdown = getattr(sink, "shutdown", None)
            if shutdown is not None:  # a telemetry flush is network I/O: off the loop
                await asyncio.to_thread(shutdown)

    @property
    def writer(self) -> LedgerWriter:
        return self._writer

    # -- helpers -----------------------------------------------------------------------------------
    def _tag(self, call: CallRecord, env: Mapping[str, str], branches: BranchCache) -> CallRecord:
        cost = self._config.cost_tracking
        tags = resolve_tags(
            cost.tags, call.tags, task_kind=call.task_kind, team=cost.team, env=env, branch=branches.get
        )
        return replace(call, tags=tags) if tags != dict(call.tags) else call

    def _ts(self, now: datetime | None) -> float:
        return (now or datetime.now(self._tz)).timestamp()

    def _local(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, self._tz)

    def _day(self, ts: float) -> date:
        return self._local(ts).date()

    def _month(self, ts: float) -> tuple[int, int]:
        local = self._local(ts)
        return local.year, local.month

    def _day_start(self, ts: float) -> float:
        return datetime.combine(self._day(ts), time.min, tzinfo=self._tz).timestamp()

    def _month_start(self, ts: float) -> float:
        return datetime.combine(self._day(ts).replace(day=1), time.min, tzinfo=self._tz).timestamp()

    def _period_key(self, periods: tuple[str, ...], ts: float) -> object:
        return (self._day(ts) if "daily" in periods else None, self._month(ts) if "monthly" in periods else None)


def _absolute(path: str | None) -> bool:
    return bool(path) and Path(path or "").expanduser().is_absolute()


def _spend_json(spend: Spend) -> dict[str, Any]:
    return {"cost_usd": round(spend.cost_usd, 6), "calls": spend.calls, "tokens": spend.tokens,
            "unpriced_calls": spend.unpriced_calls}


def _telemetry_sinks(env: Mapping[str, str], notices: list[Notice]) -> list[CallSink]:
    from . import telemetry

    if not telemetry.wanted(env):
        return []
    try:
        sink = telemetry.from_env(env)
    except LedgerError as exc:
        notices.append(Notice("ledger", "warning", str(exc)))
        return []
    return [sink] if sink is not None else []
