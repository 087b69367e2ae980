"""The Ledger as the server uses it: record, alerts, budgets, summary, tags, secrets, unusable files."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ai_coding_router.config import Config
from ai_coding_router.ledger.git import BranchCache
from ai_coding_router.ledger.service import Ledger
from ai_coding_router.ledger.store import LedgerStore

from .helpers import OPUS, SONNET, call, config, ts
from .lockers import locked, wait_for_line

NOW = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
KEY = "sk-ant-api03-THIS-IS-THE-TEST-KEY-0123456789abcdef"


async def open_ledger(tmp_path: Path, cfg: Config | None = None, env: dict[str, str] | None = None,
                      **kwargs: Any) -> Ledger:
    return await Ledger.open(
        cfg or config(), tmp_path, env=env or {}, tz=UTC, sinks=[], now=NOW,
        branch_cache=kwargs.pop("branch_cache", BranchCache(None)), **kwargs,
    )


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    store = LedgerStore.open(path, create=False, check=False)
    try:
        return store.execute(sql)
    finally:
        store.close()


async def test_record_writes_one_row_per_call_with_its_cost(tmp_path: Path) -> None:
    ledger = await open_ledger(tmp_path)
    assert ledger.enabled and ledger.path == tmp_path / ".ai-coding-router" / "ledger.sqlite3"
    await ledger.record(call(call_id="a", input_tokens=1000, output_tokens=500, ttft_ms=120.0, route_score=0.3,
                             variant="A"))
    await ledger.record(call(call_id="b", model=OPUS, input_tokens=100_000, output_tokens=20_000, batch=True))
    await ledger.flush()
    got = rows(ledger.path, "SELECT call_id, model, cost_usd, priced, batch, route_score, variant, ttft_ms FROM calls"
                            " ORDER BY call_id")  # type: ignore[arg-type]
    assert got[0][:2] == ("a", SONNET) and got[0][2] == pytest.approx((1000 * 3 + 500 * 15) / 1e6)
    assert got[0][3:] == (1, 0, 0.3, "A", 120.0)
    assert got[1][:2] == ("b", OPUS) and got[1][2] == pytest.approx(0.5) and got[1][4] == 1
    await ledger.aclose()


async def test_a_task_with_repair_and_escalation_costs_the_sum_of_its_calls(tmp_path: Path) -> None:
    ledger = await open_ledger(tmp_path)
    for record in (
        call(task_id="T", role="generate", input_tokens=1000, output_tokens=1000, outcome="repaired"),
        call(task_id="T", role="repair", input_tokens=500, output_tokens=200, outcome="escalated"),
        call(task_id="T", role="escalate", model=OPUS, input_tokens=1000, output_tokens=400),
        call(task_id="T", role="signoff", model=OPUS, input_tokens=600, output_tokens=40, cache_read_tokens=10_000),
    ):
        await ledger.record(record)
    await ledger.set_task_outcome("T", "escalated")
    await ledger.flush()
    # 18,000 + 4,500 + 15,000 + (3,000 + 1,000 + 10,000 * 0.5) micro-dollars
    expected = (18_000 + 4_500 + 15_000 + 9_000) / 1e6
    assert ledger.task_cost("T") == pytest.approx(expected)
    assert rows(ledger.path, "SELECT calls, cost_usd, outcome FROM task_totals WHERE task_id = 'T'") == [  # type: ignore[arg-type]
        (4, pytest.approx(expected), "escalated")
    ]
    await ledger.aclose()


async def test_the_per_task_alert_fires_once(tmp_path: Path) -> None:
    ledger = await open_ledger(tmp_path, config({"alert_threshold_per_task": 0.05}))
    alerts = []
    for _ in range(4):  # each call: 1000 * 5 + 1000 * 25 = $0.03 on opus
        record = call(task_id="big", task_kind="tests", model=OPUS, input_tokens=1000, output_tokens=1000)
        await ledger.record(record)
        alerts.append([n.message for n in ledger.after_call(record) if n.kind == "task_alert"])
    assert [len(a) for a in alerts] == [0, 1, 0, 0]
    assert "tests task big has cost $0.06" in alerts[1][0]
    small = call(task_id="small", model=OPUS, input_tokens=1000, output_tokens=1000)
    await ledger.record(small)
    assert [n for n in ledger.after_call(small) if n.kind == "task_alert"] == []
    await ledger.aclose()


async def spend(ledger: Ledger, dollars_of_opus_output: int) -> None:
    """Record opus calls worth $1 each (40,000 output tokens * $25 / M)."""
    for i in range(dollars_of_opus_output):
        await ledger.record(call(task_id=f"spend-{i}", model=OPUS, input_tokens=0, output_tokens=40_000,
                                 ts=NOW.timestamp() - 60))


@pytest.mark.parametrize("policy", ["warn", "downgrade", "block"])
async def test_each_budget_policy_before_and_after_calls(tmp_path: Path, policy: str) -> None:
    ledger = await open_ledger(tmp_path, config({"daily_budget": 2.5, "budget_policy": policy}))
    assert ledger.check_before(0.2, OPUS, NOW).action == "allow"
    await spend(ledger, 2)
    first = ledger.check_before(0.6, OPUS, NOW)  # $2 spent + $0.60 > $2.50
    expected = {"warn": ("warn", OPUS), "downgrade": ("downgrade", SONNET), "block": ("block", OPUS)}[policy]
    assert (first.action, first.model) == expected
    assert first.message and first.notify
    assert first.allowed == (policy != "block")
    # The fast model is never blocked or downgraded.
    assert ledger.check_before(0.6, SONNET, NOW).action == "warn"
    # Enforced after the call with the real usage: crossing the budget is reported once.
    last = call(task_id="over", model=OPUS, input_tokens=0, output_tokens=40_000, ts=NOW.timestamp())
    await ledger.record(last)
    crossed = [n.message for n in ledger.after_call(last, NOW) if n.kind == "budget"]
    assert len(crossed) == 1 and "daily budget of $2.50 is exceeded: $3.00 spent today" in crossed[0]
    assert [n for n in ledger.after_call(last, NOW) if n.kind == "budget"] == []
    # Still over: a deep call is still handled by the policy, even with a zero estimate.
    again = ledger.check_before(0.0, OPUS, NOW)
    assert again.action == expected[0]
    if policy != "block":
        assert not again.notify  # same message this period: not shown twice
    else:
        assert again.notify and again.message  # a refusal always explains itself
    await ledger.aclose()


async def test_budgets_reset_with_the_day_and_month(tmp_path: Path) -> None:
    ledger = await open_ledger(tmp_path, config({"daily_budget": 1.0, "monthly_budget": 10.0,
                                                  "budget_policy": "block"}))
    await spend(ledger, 2)
    assert ledger.check_before(0.1, OPUS, NOW).exceeded == ("daily",)
    tomorrow = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
    assert ledger.check_before(0.1, OPUS, tomorrow).action == "allow"
    assert ledger.spent(tomorrow).month == pytest.approx(2.0)
    next_month = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert ledger.spent(next_month).month == 0.0
    await ledger.aclose()


async def test_cost_summary_and_its_seed_from_the_file(tmp_path: Path) -> None:
    cfg = config({"daily_budget": 5.0})
    ledger = await open_ledger(tmp_path, cfg)
    await ledger.record(call(ts=ts(2026, 11, 3, 9), input_tokens=1000, output_tokens=500))  # $0.0105 today
    await ledger.record(call(ts=ts(2026, 11, 1, 9), model=OPUS, input_tokens=2000, output_tokens=0))  # $0.01
    await ledger.record(call(ts=ts(2026, 10, 31, 23), input_tokens=10**6, output_tokens=0))  # last month
    summary = ledger.cost_summary(NOW)
    assert summary["today"]["date"] == "2026-11-03" and summary["month"]["month"] == "2026-11"
    assert summary["today"]["cost_usd"] == pytest.approx(0.0105) and summary["today"]["calls"] == 1
    assert summary["today"]["tokens"] == 1500 and summary["today"]["budget_usd"] == 5.0
    assert summary["month"]["cost_usd"] == pytest.approx(0.0205) and summary["month"]["calls"] == 2
    assert summary["ledger"] == {"enabled": True, "path": str(ledger.path), "reason": None}
    await ledger.aclose()
    reopened = await open_ledger(tmp_path, cfg)  # a restart sees the same totals, read from the file
    again = reopened.cost_summary(NOW)
    assert (again["today"]["calls"], again["month"]["calls"]) == (1, 2)
    assert again["month"]["cost_usd"] == pytest.approx(0.0205)
    await reopened.aclose()


@pytest.fixture
def git_workspace(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "-b", "feature/ledger", str(tmp_path)], check=True)
    return tmp_path


async def test_tags_come_from_config_env_and_git(git_workspace: Path) -> None:
    tmp_path = git_workspace
    cfg = config({"tags": ["task_type", "team", "feature_branch", "ticket"]})
    ledger = await open_ledger(tmp_path, cfg, env={"AI_CODING_ROUTER_TEAM": "platform"},
                               branch_cache=BranchCache(tmp_path))
    await ledger.record(call(call_id="x", task_kind="tests", tags={"ticket": "ABC-1", "secret_sauce": "no"}))
    await ledger.flush()
    assert rows(ledger.path, "SELECT tags FROM calls") == [  # type: ignore[arg-type]
        ('{"feature_branch":"feature/ledger","task_type":"tests","team":"platform","ticket":"ABC-1"}',)
    ]
    await ledger.aclose()
    configured = await open_ledger(tmp_path, config({"team": "core", "tags": ["team"]}),
                                   env={"AI_CODING_ROUTER_TEAM": "platform"})
    await configured.record(call(call_id="y"))
    await configured.flush()
    assert rows(configured.path, "SELECT tags FROM calls WHERE call_id = 'y'") == [('{"team":"core"}',)]  # type: ignore[arg-type]
    await configured.aclose()


async def test_prompts_are_kept_only_when_asked(tmp_path: Path) -> None:
    ledger = await open_ledger(tmp_path)
    await ledger.record(call(call_id="p1", prompt="refactor this function please"))
    await ledger.flush()
    ledger.update_config(config({"store_prompts": True}))
    await ledger.record(call(call_id="p2", prompt="debug me"))
    await ledger.flush()
    assert rows(ledger.path, "SELECT call_id, prompt FROM calls ORDER BY call_id") == [  # type: ignore[arg-type]
        ("p1", None), ("p2", "debug me")
    ]
    await ledger.aclose()


async def test_the_api_key_never_reaches_the_database(tmp_path: Path) -> None:
    env = {"ANTHROPIC_API_KEY": KEY, "AI_CODING_ROUTER_TEAM": KEY}
    ledger = await open_ledger(tmp_path, config({"store_prompts": True}), env=env)
    await ledger.record(call(call_id="k1", task_id=KEY, prompt=f"my key is {KEY}, keep it safe", variant=KEY,
                             tags={"task_type": KEY}))
    await ledger.record(call(call_id=KEY, task_id="t2", model=KEY))
    await ledger.set_task_outcome(KEY, "failed")
    await ledger.flush()
    assert ledger.writer.redactions >= 6
    assert rows(ledger.path, "SELECT COUNT(*) FROM calls") == [(2,)]  # type: ignore[arg-type]
    await ledger.aclose()
    files = list((tmp_path / ".ai-coding-router").iterdir())
    assert any(f.name == "ledger.sqlite3" for f in files)
    for file in files:
        data = file.read_bytes()
        assert KEY.encode() not in data, file
        assert KEY[10:30].encode() not in data, file


async def test_unknown_model_is_recorded_without_cost_and_said_once(tmp_path: Path) -> None:
    ledger = await open_ledger(tmp_path)
    first = call(model="mystery-model")
    await ledger.record(first)
    notices = [n.message for n in ledger.after_call(first) if n.kind == "price"]
    assert len(notices) == 1 and "No price for model mystery-model" in notices[0]
    second = call(model="mystery-model")
    await ledger.record(second)
    assert [n for n in ledger.after_call(second) if n.kind == "price"] == []
    assert ledger.cost_summary(NOW)["today"]["unpriced_calls"] == 2
    await ledger.flush()
    assert rows(ledger.path, "SELECT cost_usd, priced FROM calls") == [(None, 0), (None, 0)]  # type: ignore[arg-type]
    await ledger.aclose()


async def test_a_corrupt_ledger_disables_writing_and_everything_else_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / ".ai-coding-router" / "ledger.sqlite3"
    path.parent.mkdir()
    path.write_bytes(b"garbage" * 1000)
    ledger = await open_ledger(tmp_path, config({"daily_budget": 1.0, "budget_policy": "block"}))
    assert not ledger.enabled
    assert ledger.disabled_reason is not None and "damaged" in ledger.disabled_reason
    notices = ledger.pending_notices()
    assert [n.kind for n in notices] == ["ledger"] and "cost ledger is off" in notices[0].message
    record = call(model=OPUS, input_tokens=0, output_tokens=44_000, ts=NOW.timestamp())  # $1.10
    await ledger.record(record)
    assert sorted(n.kind for n in ledger.after_call(record, NOW)) == ["budget", "task_alert"]
    await ledger.flush()
    assert ledger.check_before(0.5, OPUS, NOW).action == "block"  # budgets still apply from memory
    assert ledger.cost_summary(NOW)["ledger"]["enabled"] is False
    assert ledger.cost_summary(NOW)["today"]["cost_usd"] == pytest.approx(1.1)
    await ledger.aclose()
    assert path.read_bytes() == b"garbage" * 1000  # left alone for the user to look at


async def test_a_locked_ledger_at_start_disables_writing(tmp_path: Path) -> None:
    first = await open_ledger(tmp_path)
    await first.aclose()
    with locked(first.path):  # type: ignore[arg-type]
        ledger = await open_ledger(tmp_path, busy_timeout_s=0.2)
        assert not ledger.enabled and "locked by another process" in (ledger.disabled_reason or "")
        await ledger.record(call())
        await ledger.flush()
        assert ledger.cost_summary(NOW)["today"]["calls"] == 1
        await ledger.aclose()


async def test_a_ledger_locked_mid_session_turns_off_and_says_so_once(tmp_path: Path) -> None:
    ledger = await open_ledger(tmp_path, busy_timeout_s=0.1)
    await ledger.record(call(call_id="before"))
    await ledger.flush()
    with locked(ledger.path, "write"):  # type: ignore[arg-type]
        record = call(call_id="during")
        await ledger.record(record)
        await ledger.flush()
        assert not ledger.enabled and "locked" in (ledger.disabled_reason or "")
        assert [n.kind for n in ledger.after_call(record)] == ["ledger"]
        assert ledger.after_call(record) == []
    await ledger.record(call(call_id="after"))  # ignored quietly: no exception
    await ledger.flush()
    assert ledger.writer.dropped == 2
    await ledger.aclose()
    assert rows(ledger.path, "SELECT call_id FROM calls") == [("before",)]  # type: ignore[arg-type]


async def test_cost_tracking_disabled_writes_no_file(tmp_path: Path) -> None:
    ledger = await open_ledger(tmp_path, config({"enabled": False}))
    await ledger.record(call())
    await ledger.flush()
    assert not ledger.enabled and ledger.disabled_reason == "cost_tracking.enabled is false"
    assert ledger.pending_notices() == []  # off by choice: nothing to warn about
    assert not (tmp_path / ".ai-coding-router").exists()
    await ledger.aclose()


WRITER_CHILD = textwrap.dedent("""
    import asyncio, sys
    from datetime import UTC
    from pathlib import Path
    from ai_coding_router.config import Config
    from ai_coding_router.ledger.records import CallRecord
    from ai_coding_router.ledger.service import Ledger

    async def main():
        ledger = await Ledger.open(Config(), Path(sys.argv[1]), env={}, tz=UTC, sinks=[])
        i = 0
        while True:
            await ledger.record(CallRecord(call_id=f"c{i}", task_id=f"t{i % 100}", task_kind="refactor",
                role="generate", model="claude-sonnet-4-6", outcome="validated", ts=1.8e9 + i,
                input_tokens=1000, output_tokens=100))
            i += 1
            if i % 500 == 0:
                await ledger.flush()
                print(i, flush=True)
            await asyncio.sleep(0)

    asyncio.run(main())
""")


def test_the_background_writer_killed_at_any_moment_leaves_a_consistent_ledger(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", WRITER_CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        wait_for_line(child, "3000")
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=10)
    store = LedgerStore.open(tmp_path / ".ai-coding-router" / "ledger.sqlite3")  # quick_check inside
    (count, cost), = store.execute("SELECT COUNT(*), SUM(cost_usd) FROM calls")
    assert isinstance(count, int) and count >= 3000
    assert cost == pytest.approx(count * (1000 * 3 + 100 * 15) / 1e6)
    # Calls arrive in order: the committed ones are exactly the first `count`.
    assert store.execute("SELECT MAX(ts) - MIN(ts) FROM calls") == [(count - 1,)]
    assert store.execute("SELECT SUM(calls) FROM task_totals") == [(count,)]
    store.close()


async def test_a_record_the_database_refuses_is_dropped_alone(tmp_path: Path) -> None:
    ledger = await open_ledger(tmp_path)
    await ledger.record(call(call_id="good-1"))
    await ledger.record(call(call_id="bad", route_score=object()))  # type: ignore[arg-type]
    await ledger.record(call(call_id="good-2"))
    await ledger.flush()
    assert ledger.enabled and ledger.writer.dropped == 1
    await ledger.aclose()
    assert rows(ledger.path, "SELECT call_id FROM calls ORDER BY id") == [("good-1",), ("good-2",)]  # type: ignore[arg-type]
