"""Threshold tuning on a synthetic ledger whose best threshold is known.

Scores are spread evenly over 20 bins; in every bin 20 tasks went to the fast model and 20 to the deep one
(two routing variants: "all-fast" at threshold 1.0, "all-deep" at 0.0). Costs per task:
  fast, score < 0.6:  19 validated first time ($0.01), 1 escalated and validated ($0.01 + $0.05)
  fast, score >= 0.6: 6 validated ($0.01), 7 escalated and validated, 7 escalated and failed ($0.06 each)
  deep, any score:    19 validated, 1 failed ($0.05 each)
Threshold 0.6 gives the best success rate, 0.6 * 100% + 0.4 * 95% = 98%, at 0.6 * $0.0125 + 0.4 * $0.05 =
$0.0275 per task; the cheaper 0.65 loses 1.5 points (96.5%), more than the 1-point tolerance.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from ai_coding_router.commands import tune_cmd
from ai_coding_router.config import CONFIG_FILE_NAME, RoutingVariant
from ai_coding_router.ledger.records import CallRecord
from ai_coding_router.ledger.store import LedgerStore
from ai_coding_router.ledger.tune import tune

from .helpers import OPUS, SONNET, call

VARIANTS = [RoutingVariant(name="all-fast", complexity_threshold=1.0),
            RoutingVariant(name="all-deep", complexity_threshold=0.0)]


def fast_task(task_id: str, score: float, kind: str) -> list[tuple[CallRecord, float]]:
    common: dict[str, Any] = {"task_id": task_id, "route_score": score, "variant": "all-fast"}
    if kind == "validated":
        return [(call(model=SONNET, outcome="validated", **common), 0.01)]
    generate = (call(model=SONNET, outcome="escalated", **common), 0.01)
    escalate_outcome = "validated" if kind == "escalated-ok" else "failed"
    return [generate, (call(role="escalate", model=OPUS, outcome=escalate_outcome, **common), 0.05)]


def deep_task(task_id: str, score: float, ok: bool) -> list[tuple[CallRecord, float]]:
    return [(call(task_id=task_id, model=OPUS, outcome="validated" if ok else "failed", route_score=score,
                  variant="all-deep"), 0.05)]


def synthetic(path: Path, tiers: tuple[str, ...] = ("fast", "deep")) -> None:
    calls: list[tuple[CallRecord, float]] = []
    for b in range(20):
        score = (b + 0.5) / 20
        if "fast" in tiers:
            kinds = (["validated"] * 19 + ["escalated-ok"]) if score < 0.6 else (
                ["validated"] * 6 + ["escalated-ok"] * 7 + ["escalated-failed"] * 7)
            for i, kind in enumerate(kinds):
                calls += fast_task(f"f{b}-{i}", score, kind)
        if "deep" in tiers:
            for i in range(20):
                calls += deep_task(f"d{b}-{i}", score, ok=i < 19)
    store = LedgerStore.open(path)
    store.record(calls)
    store.close()


def analyse(path: Path, **kwargs: Any) -> dict[str, Any]:
    store = LedgerStore.open(path, create=False)
    rows, outcomes = store.fetch_calls(), store.task_outcomes()
    store.close()
    return tune(rows, outcomes, current_threshold=0.75, deep_models={OPUS}, variants=VARIANTS, **kwargs)


def test_suggests_the_known_best_threshold(tmp_path: Path) -> None:
    synthetic(tmp_path / "l.sqlite3")
    result = analyse(tmp_path / "l.sqlite3")
    assert result["tasks"] == 800 and result["tasks_by_tier"] == {"fast": 400, "deep": 400}
    suggested = result["suggested"]
    assert suggested["threshold"] == 0.6
    assert suggested["success_rate"] == pytest.approx(0.98)
    assert suggested["expected_cost_per_task"] == pytest.approx(0.6 * 0.0125 + 0.4 * 0.05)
    assert suggested["coverage"] == 1.0
    current = result["current"]  # 0.75: 0.6 * 100% + 0.15 * 65% + 0.25 * 95%
    assert current["threshold"] == 0.75 and current["success_rate"] == pytest.approx(0.935)
    assert current["expected_cost_per_task"] == pytest.approx(0.6 * 0.0125 + 0.15 * 0.045 + 0.25 * 0.05)
    by_threshold = {c["threshold"]: c for c in result["candidates"]}
    assert by_threshold[0.65]["success_rate"] == pytest.approx(0.965)
    assert by_threshold[0.0]["success_rate"] == pytest.approx(0.95)  # all deep
    assert by_threshold[1.0]["success_rate"] == pytest.approx(0.86)  # all fast


def test_a_looser_tolerance_trades_success_for_cost(tmp_path: Path) -> None:
    synthetic(tmp_path / "l.sqlite3")
    result = analyse(tmp_path / "l.sqlite3", tolerance=0.02)
    # 0.65: 96.5% (within 2 points of 98%) at 0.6 * 0.0125 + 0.05 * 0.045 + 0.35 * 0.05 = $0.02725
    assert result["suggested"]["threshold"] == 0.65
    assert result["suggested"]["expected_cost_per_task"] == pytest.approx(0.02725)


def test_per_variant_results(tmp_path: Path) -> None:
    synthetic(tmp_path / "l.sqlite3")
    variants = {v["variant"]: v for v in analyse(tmp_path / "l.sqlite3")["variants"]}
    fast, deep = variants["all-fast"], variants["all-deep"]
    assert (fast["tasks"], fast["complexity_threshold"]) == (400, 1.0)
    assert fast["success_rate"] == pytest.approx((12 * 20 + 8 * 13) / 400)
    assert fast["first_time_rate"] == pytest.approx((12 * 19 + 8 * 6) / 400)
    assert fast["escalation_rate"] == pytest.approx((12 * 1 + 8 * 14) / 400)
    assert fast["cost_per_task"] == pytest.approx((12 * 0.25 + 8 * 0.9) / 400)
    assert (deep["success_rate"], deep["cost_per_task"], deep["escalation_rate"]) == (0.95, 0.05, 0.0)


def test_one_fixed_threshold_gives_partial_coverage(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    calls: list[tuple[CallRecord, float]] = []
    for b in range(20):
        score = (b + 0.5) / 20
        for i in range(10):
            calls += deep_task(f"d{b}-{i}", score, True) if score >= 0.75 else fast_task(f"f{b}-{i}", score,
                                                                                           "validated")
    store = LedgerStore.open(path)
    store.record(calls)
    store.close()
    by_threshold = {c["threshold"]: c for c in analyse(path)["candidates"]}
    assert by_threshold[0.75]["coverage"] == 1.0
    assert by_threshold[0.5]["coverage"] == 0.75  # bins 0.50-0.75 borrow the deep model's 0.75-0.80 figures


def test_no_suggestion_without_both_models(tmp_path: Path) -> None:
    synthetic(tmp_path / "l.sqlite3", tiers=("fast",))
    result = analyse(tmp_path / "l.sqlite3")
    assert result["suggested"] is None
    assert "Every task went to the fast model" in result["notes"][0]
    empty = tmp_path / "empty.sqlite3"
    LedgerStore.open(empty).close()
    nothing = analyse(empty)
    assert nothing["suggested"] is None and nothing["candidates"] == [] and "nothing to tune" in nothing["notes"][0]


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    tune_cmd.add_parser(parser.add_subparsers(dest="command"))
    return tune_cmd.run(parser.parse_args(["tune", *argv]))


def test_cli_reads_the_workspace_config(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps at the terminal width
    (tmp_path / CONFIG_FILE_NAME).write_text(
        "routing:\n  complexity_threshold: 0.75\n  variants:\n"
        "    - {name: all-fast, complexity_threshold: 1.0}\n    - {name: all-deep, complexity_threshold: 0.0}\n"
        "cost_tracking:\n  ledger_path: costs.sqlite3\n"
    )
    assert run_cli() == 1
    assert "no cost ledger here yet" in capsys.readouterr().err
    synthetic(tmp_path / "costs.sqlite3")
    assert run_cli("--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["suggested"]["threshold"] == 0.6
    assert {v["variant"]: v["complexity_threshold"] for v in data["variants"]} == {"all-deep": 0.0, "all-fast": 1.0}
    assert run_cli() == 0
    text = capsys.readouterr().out
    assert "Suggested routing.complexity_threshold: 0.60" in text and "98.0% validated" in text
    assert "current 0.75" in text and "all-fast" in text
    assert run_cli("--step", "0") == 2
