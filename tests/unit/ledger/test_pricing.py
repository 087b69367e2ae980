"""Costs of known usages against prices worked out by hand (USD per million tokens, default table)."""

from __future__ import annotations

import pytest

from ai_coding_router.config import ModelPrice
from ai_coding_router.ledger.pricing import call_cost, estimate_cost, format_usd, price_for, token_cost
from ai_coding_router.ledger.records import CallRecord
from ai_coding_router.models.base import Usage

from .helpers import HAIKU, OPUS, SONNET, call, config

PRICES = config().cost_tracking.prices


def test_plain_input_and_output() -> None:
    # sonnet: $3 in, $15 out -> 1000 * 3 + 500 * 15 = 10,500 micro-dollars
    assert call_cost(PRICES, call(model=SONNET, input_tokens=1000, output_tokens=500)) == pytest.approx(0.0105)


def test_cache_writes_and_reads_are_priced_separately() -> None:
    # sonnet: 200 * 3 + 10,000 * 3.75 (write) + 50,000 * 0.30 (read) + 800 * 15 = 65,100 micro-dollars
    record = call(model=SONNET, input_tokens=200, cache_write_tokens=10_000, cache_read_tokens=50_000,
                  output_tokens=800)
    assert call_cost(PRICES, record) == pytest.approx(0.0651)


def test_batch_pays_the_discount_on_everything() -> None:
    # opus: 100,000 * 5 + 20,000 * 25 = $1.00, batch pays 50% -> $0.50
    record = call(model=OPUS, input_tokens=100_000, output_tokens=20_000, batch=True)
    assert call_cost(PRICES, record) == pytest.approx(0.50)
    # haiku with caching: 1,000 * 1 + 4,000 * 1.25 + 100,000 * 0.10 + 2,000 * 5 = 26,000 -> $0.026 -> batch $0.013
    cached = call(model=HAIKU, input_tokens=1000, cache_write_tokens=4000, cache_read_tokens=100_000,
                  output_tokens=2000, batch=True)
    assert call_cost(PRICES, cached) == pytest.approx(0.013)


def test_configured_batch_discount_is_used() -> None:
    price = ModelPrice(input=2.0, output=10.0, cache_write=2.5, cache_read=0.2, batch_discount=0.4)
    # (1,000,000 * 2 + 100,000 * 10) / 1e6 = $3.00, batch pays 40% -> $1.20
    assert token_cost(price, input_tokens=1_000_000, output_tokens=100_000, batch=True) == pytest.approx(1.2)
    assert token_cost(price, input_tokens=1_000_000, output_tokens=100_000) == pytest.approx(3.0)


def test_dated_model_ids_use_the_base_price_and_unknown_models_have_none() -> None:
    assert price_for(PRICES, "claude-sonnet-4-6-20261101") == PRICES[SONNET]
    assert price_for(PRICES, "claude-sonnet-4") is None
    assert call_cost(PRICES, call(model="mystery-model")) is None


def test_estimate_is_all_input_uncached_and_the_full_output_budget() -> None:
    # opus: 10,000 * 5 + 2,000 * 25 = 100,000 micro-dollars
    assert estimate_cost(PRICES, OPUS, 10_000, 2000) == pytest.approx(0.10)
    assert estimate_cost(PRICES, "mystery-model", 10, 10) is None


def test_from_usage_maps_every_field() -> None:
    usage = Usage(model=OPUS, input_tokens=11, output_tokens=22, cache_creation_input_tokens=33,
                  cache_read_input_tokens=44, latency_ms=55.5, ttft_ms=6.5, batch=True)
    record = CallRecord.from_usage(
        usage, call_id="c1", ts=1_700_000_000.0, task_id="t1", task_kind="tests", role="escalate",
        outcome="validated", route_score=0.8, variant="B", tags={"team": "x"},
    )
    assert (record.model, record.input_tokens, record.output_tokens) == (OPUS, 11, 22)
    assert (record.cache_write_tokens, record.cache_read_tokens) == (33, 44)
    assert (record.latency_ms, record.ttft_ms, record.batch) == (55.5, 6.5, True)
    assert (record.route_score, record.variant, dict(record.tags)) == (0.8, "B", {"team": "x"})
    assert record.total_tokens == 11 + 22 + 33 + 44
    assert record.prompt is None


def test_records_reject_unknown_roles_outcomes_and_negative_tokens() -> None:
    with pytest.raises(ValueError, match="role"):
        call(role="guess")
    with pytest.raises(ValueError, match="outcome"):
        call(outcome="meh")
    with pytest.raises(ValueError, match="negative"):
        call(output_tokens=-1)


def test_format_usd() -> None:
    assert format_usd(1234.5) == "$1,234.50"
    assert format_usd(0.5) == "$0.50"
    assert format_usd(0.0123) == "$0.0123"
    assert format_usd(0) == "$0.00"
    assert format_usd(None) == "n/a"
