"""A small ledger whose every figure is worked out by hand in the report tests.

Prices (USD per million tokens): sonnet 3 in / 15 out / 3.75 cache write / 0.30 cache read;
opus 5 / 25 / 6.25 / 0.50. Days are UTC.

task  kind             score var team   calls (model: in/out/cw/cr, latency ms)                    cost
T1    refactor         0.20  A   alpha  generate sonnet 1000/500          1000 ms, ttft 200 -> validated  0.0105
T2    tests            0.90  B   beta   generate opus 2000/1000/0/8000    3000 ms, ttft 500 -> validated  0.039
T3    refactor         0.50  A   alpha  generate sonnet 1000/1000         2000 ms -> repaired             0.018
                                        repair sonnet 500/200             1500 ms -> escalated            0.0045
                                        escalate opus 1000/400            4000 ms -> validated            0.015
T4    security_review  0.55  B   beta   generate sonnet 3000/600/2000/0   2500 ms -> failed               0.0255
C1    completion       -     -   -      completion sonnet 300/20/0/700    300 ms, ttft 120 -> ok           0.00141
U1    completion       -     -   -      completion mystery-model 100/10   250 ms -> ok                    (none)
T1, T2 on 2026-11-02; the rest on 2026-11-03. T4's outcome is set to failed; the others are derived.
"""

from __future__ import annotations

from pathlib import Path

from ai_coding_router.config import Config
from ai_coding_router.ledger.pricing import call_cost
from ai_coding_router.ledger.store import LedgerStore

from .helpers import OPUS, SONNET, call, ts


def build(path: Path) -> None:
    prices = Config().cost_tracking.prices
    alpha = {"team": "alpha", "task_type": "refactor"}
    beta = {"team": "beta"}
    records = [
        call(task_id="T1", task_kind="refactor", model=SONNET, input_tokens=1000, output_tokens=500,
             latency_ms=1000.0, ttft_ms=200.0, route_score=0.2, variant="A", tags=alpha, ts=ts(2026, 11, 2, 10)),
        call(task_id="T2", task_kind="tests", model=OPUS, input_tokens=2000, output_tokens=1000,
             cache_read_tokens=8000, latency_ms=3000.0, ttft_ms=500.0, route_score=0.9, variant="B", tags=beta,
             ts=ts(2026, 11, 2, 11)),
        call(task_id="T3", task_kind="refactor", model=SONNET, input_tokens=1000, output_tokens=1000,
             latency_ms=2000.0, outcome="repaired", route_score=0.5, variant="A", tags=alpha, ts=ts(2026, 11, 3, 9)),
        call(task_id="T3", task_kind="refactor", role="repair", model=SONNET, input_tokens=500, output_tokens=200,
             latency_ms=1500.0, outcome="escalated", route_score=0.5, variant="A", tags=alpha,
             ts=ts(2026, 11, 3, 9, 1)),
        call(task_id="T3", task_kind="refactor", role="escalate", model=OPUS, input_tokens=1000, output_tokens=400,
             latency_ms=4000.0, route_score=0.5, variant="A", tags=alpha, ts=ts(2026, 11, 3, 9, 2)),
        call(task_id="T4", task_kind="security_review", model=SONNET, input_tokens=3000, output_tokens=600,
             cache_write_tokens=2000, latency_ms=2500.0, outcome="failed", route_score=0.55, variant="B", tags=beta,
             ts=ts(2026, 11, 3, 10)),
        call(task_id="C1", task_kind="completion", role="completion", model=SONNET, input_tokens=300,
             output_tokens=20, cache_read_tokens=700, latency_ms=300.0, ttft_ms=120.0, outcome="ok",
             ts=ts(2026, 11, 3, 11)),
        call(task_id="U1", task_kind="completion", role="completion", model="mystery-model", input_tokens=100,
             output_tokens=10, latency_ms=250.0, outcome="ok", ts=ts(2026, 11, 3, 11, 5)),
    ]
    store = LedgerStore.open(path)
    store.record([(r, call_cost(prices, r)) for r in records])
    with store.transaction() as conn:
        store.set_task_outcome(conn, "T4", "failed", "security_review")
    store.close()
