"""The pure budget and alert policy: each policy, each period, firing once."""

from __future__ import annotations

import pytest

from ai_coding_router.ledger.budget import BudgetLimits, Spent, budget_crossings, check_before, task_alert
from ai_coding_router.ledger.errors import BudgetExceeded

from .helpers import OPUS, SONNET, config


def limits(policy: str, daily: float | None = 5.0, monthly: float | None = None) -> BudgetLimits:
    return BudgetLimits.from_config(config({"budget_policy": policy, "daily_budget": daily, "monthly_budget": monthly}))


def test_within_budget_is_allowed_whatever_the_policy() -> None:
    for policy in ("warn", "downgrade", "block"):
        decision = check_before(limits(policy), Spent(today=4.0, month=4.0), 0.5, OPUS)
        assert (decision.action, decision.model, decision.message, decision.allowed) == ("allow", OPUS, None, True)


def test_no_budget_configured_never_interferes() -> None:
    decision = check_before(limits("block", daily=None), Spent(today=1e9, month=1e9), 1e6, OPUS)
    assert decision.action == "allow"


def test_warn_lets_the_call_go_with_a_message() -> None:
    decision = check_before(limits("warn"), Spent(today=4.9, month=4.9), 0.2, OPUS)
    assert decision.action == "warn" and decision.allowed and decision.model == OPUS
    assert decision.exceeded == ("daily",)
    assert decision.message is not None
    assert "daily budget of $5.00" in decision.message and "$4.90 spent today" in decision.message


def test_downgrade_sends_a_deep_call_to_the_fast_model() -> None:
    decision = check_before(limits("downgrade"), Spent(today=5.5, month=5.5), 0.1, OPUS)
    assert decision.action == "downgrade" and decision.allowed
    assert decision.model == SONNET
    assert decision.message is not None and f"using the fast model {SONNET} instead of {OPUS}" in decision.message


def test_block_refuses_a_deep_call_with_a_clear_message() -> None:
    decision = check_before(limits("block"), Spent(today=5.5, month=5.5), 0.1, OPUS)
    assert decision.action == "block" and not decision.allowed
    assert decision.message is not None
    assert f"calls to the deep model {OPUS} are blocked" in decision.message
    assert "daily_budget" in decision.message  # says how to lift it
    with pytest.raises(BudgetExceeded, match="are blocked"):
        decision.raise_if_blocked()
    allowed = check_before(limits("block"), Spent(today=0.0, month=0.0), 0.1, OPUS)
    assert allowed.raise_if_blocked() is allowed


def test_fast_model_calls_are_only_warned_about() -> None:
    for policy in ("downgrade", "block"):
        decision = check_before(limits(policy), Spent(today=9.0, month=9.0), 0.01, SONNET)
        assert (decision.action, decision.model, decision.allowed) == ("warn", SONNET, True)


def test_monthly_budget_and_both_at_once() -> None:
    monthly_only = limits("block", daily=None, monthly=100.0)
    decision = check_before(monthly_only, Spent(today=1.0, month=99.95), 0.10, OPUS)
    assert decision.action == "block" and decision.exceeded == ("monthly",)
    assert decision.message is not None and "spent this month" in decision.message
    both = check_before(limits("warn", daily=1.0, monthly=2.0), Spent(today=1.5, month=2.5), 0.0, OPUS)
    assert both.exceeded == ("daily", "monthly")


def test_the_estimate_counts_towards_the_budget() -> None:
    assert check_before(limits("block"), Spent(today=4.0, month=4.0), 0.99, OPUS).action == "allow"
    assert check_before(limits("block"), Spent(today=4.0, month=4.0), 1.01, OPUS).action == "block"
    # No estimate (unknown price): judged on spend alone.
    assert check_before(limits("block"), Spent(today=4.0, month=4.0), None, OPUS).action == "allow"


def test_crossing_reports_each_period_once() -> None:
    lim = limits("downgrade", daily=5.0, monthly=50.0)
    assert budget_crossings(lim, Spent(today=4.0, month=4.0)) == []
    crossed = budget_crossings(lim, Spent(today=5.2, month=5.2))
    assert [period for period, _ in crossed] == ["daily"]
    assert "$5.20 spent today" in crossed[0][1] and "deep calls now use the fast model" in crossed[0][1]
    assert budget_crossings(lim, Spent(today=6.0, month=6.0), frozenset({"daily"})) == []
    assert [p for p, _ in budget_crossings(lim, Spent(today=60.0, month=60.0), frozenset({"daily"}))] == ["monthly"]


def test_task_alert_fires_at_the_threshold_once_and_zero_turns_it_off() -> None:
    assert task_alert(0.5, "t1", "refactor", 0.49, already_alerted=False) is None
    message = task_alert(0.5, "t1", "refactor", 0.5, already_alerted=False)
    assert message is not None and "refactor task t1" in message and "$0.50" in message
    assert task_alert(0.5, "t1", "refactor", 0.8, already_alerted=True) is None
    assert task_alert(0.0, "t1", "refactor", 100.0, already_alerted=False) is None
