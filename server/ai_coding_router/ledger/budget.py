"""Pure budget and alert policy. No clock, no I/O: callers pass what has been spent.

* Before a call, ``check_before`` compares spend plus the call's estimate with the daily and monthly
  budgets. Over budget, the policy decides: ``warn`` lets the call go with a message; ``downgrade`` sends a
  deep call to the fast model instead; ``block`` refuses a deep call with a message saying why and how to
  lift it. Fast-model calls are never blocked or downgraded (they are the floor), only warned about.
* After a call, ``budget_crossings`` reports a budget the real cost has pushed over, and ``task_alert`` a
  task whose summed cost has reached the per-task threshold; the caller passes what was already reported,
  so each fires once (per period, per task).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..config import Config
from .errors import BudgetExceeded
from .pricing import format_usd

BudgetAction = Literal["allow", "warn", "downgrade", "block"]
Period = Literal["daily", "monthly"]
_SPENT_WHEN = {"daily": "today", "monthly": "this month"}


@dataclass(frozen=True)
class BudgetLimits:
    daily: float | None
    monthly: float | None
    policy: Literal["warn", "downgrade", "block"]
    fast_model: str

    @classmethod
    def from_config(cls, config: Config) -> BudgetLimits:
        cost = config.cost_tracking
        return cls(cost.daily_budget, cost.monthly_budget, cost.budget_policy, config.routing.default_model)


@dataclass(frozen=True)
class Spent:
    today: float
    month: float

    def of(self, period: Period) -> float:
        return self.today if period == "daily" else self.month


@dataclass(frozen=True)
class BudgetDecision:
    action: BudgetAction
    model: str  # the model to call: the fast one after a downgrade
    message: str | None = None
    exceeded: tuple[Period, ...] = ()
    notify: bool = True  # False for a repeat of a message already shown in this period

    @property
    def allowed(self) -> bool:
        return self.action != "block"

    def raise_if_blocked(self) -> BudgetDecision:
        if self.action == "block":
            raise BudgetExceeded(self.message or "over budget")
        return self


def _limit(limits: BudgetLimits, period: Period) -> float | None:
    return limits.daily if period == "daily" else limits.monthly


def check_before(limits: BudgetLimits, spent: Spent, estimated_cost: float | None, model: str) -> BudgetDecision:
    estimate = max(estimated_cost or 0.0, 0.0)
    exceeded: list[Period] = []
    reasons: list[str] = []
    for period in ("daily", "monthly"):
        limit = _limit(limits, period)
        if limit is not None and spent.of(period) + estimate > limit:
            exceeded.append(period)
            reasons.append(
                f"the {period} budget of {format_usd(limit)} "
                f"({format_usd(spent.of(period))} spent {_SPENT_WHEN[period]}, "
                f"this call about {format_usd(estimate)})"
            )
    if not exceeded:
        return BudgetDecision("allow", model)
    over = "Over " + " and ".join(reasons)
    is_deep = model != limits.fast_model
    if limits.policy == "downgrade" and is_deep:
        message = f"{over}: using the fast model {limits.fast_model} instead of {model}."
        return BudgetDecision("downgrade", limits.fast_model, message, tuple(exceeded))
    if limits.policy == "block" and is_deep:
        message = (
            f"{over}: calls to the deep model {model} are blocked (cost_tracking.budget_policy: block). "
            "Raise cost_tracking.daily_budget / monthly_budget, or wait for the next period."
        )
        return BudgetDecision("block", model, message, tuple(exceeded))
    return BudgetDecision("warn", model, f"{over}.", tuple(exceeded))


def budget_crossings(limits: BudgetLimits, spent: Spent, already: frozenset[Period] = frozenset()) -> list[
    tuple[Period, str]
]:
    """(period, message) for each budget now exceeded and not yet reported in this period."""
    messages: list[tuple[Period, str]] = []
    for period in ("daily", "monthly"):
        limit = _limit(limits, period)
        if limit is None or period in already or spent.of(period) <= limit:
            continue
        consequence = {
            "warn": "calls continue (policy: warn)",
            "downgrade": f"deep calls now use the fast model {limits.fast_model} (policy: downgrade)",
            "block": "deep calls are now blocked (policy: block)",
        }[limits.policy]
        messages.append((
            period,
            f"The {period} budget of {format_usd(limit)} is exceeded: "
            f"{format_usd(spent.of(period))} spent {_SPENT_WHEN[period]}; {consequence}.",
        ))
    return messages


def task_alert(threshold: float, task_id: str, task_kind: str, cost: float, already_alerted: bool) -> str | None:
    """The alert for a task whose summed cost has reached the threshold, unless it was given already
    (so it fires once per task); None otherwise. A threshold of 0 turns the alert off."""
    if threshold <= 0 or already_alerted or cost < threshold:
        return None
    return (
        f"The {task_kind} task {task_id} has cost {format_usd(cost)} so far "
        f"(cost_tracking.alert_threshold_per_task: {format_usd(threshold)})."
    )
