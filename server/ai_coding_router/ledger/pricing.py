"""Pure cost computation from the config's price table (US dollars per million tokens).

Priced as the Messages API bills: ``input_tokens`` (the uncached part) at the input price, cache writes
(``cache_creation_input_tokens``) at the cache-write price, cache reads at the cache-read price, output at
the output price; a batch call pays ``batch_discount`` of all of it (the discounts stack with caching).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..config import ModelPrice
from .records import CallRecord

_PER_TOKEN = 1_000_000


def price_for(prices: Mapping[str, ModelPrice], model: str) -> ModelPrice | None:
    """The price of ``model``: an exact key, else the longest key it extends by a dated suffix
    (``claude-sonnet-4-6-20260101`` is priced as ``claude-sonnet-4-6``). None when unknown."""
    if model in prices:
        return prices[model]
    best: str | None = None
    for key in prices:
        if model.startswith(key + "-") and (best is None or len(key) > len(best)):
            best = key
    return prices[best] if best is not None else None


def token_cost(
    price: ModelPrice,
    *,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cache_write_tokens: int = 0,
    cache_read_tokens: int = 0,
    batch: bool = False,
) -> float:
    micro = (
        input_tokens * price.input
        + output_tokens * price.output
        + cache_write_tokens * price.cache_write
        + cache_read_tokens * price.cache_read
    )
    dollars = micro / _PER_TOKEN
    return dollars * price.batch_discount if batch else dollars


def call_cost(prices: Mapping[str, ModelPrice], call: CallRecord) -> float | None:
    """The cost of one recorded call, or None when its model has no price (recorded, flagged, never fatal)."""
    price = price_for(prices, call.model)
    if price is None:
        return None
    return token_cost(
        price,
        input_tokens=call.input_tokens,
        output_tokens=call.output_tokens,
        cache_write_tokens=call.cache_write_tokens,
        cache_read_tokens=call.cache_read_tokens,
        batch=call.batch,
    )


def estimate_cost(
    prices: Mapping[str, ModelPrice], model: str, input_tokens: int, max_output_tokens: int, batch: bool = False
) -> float | None:
    """A pre-call estimate for budget checks: every input token uncached, the output at its maximum
    (an upper bound, so a budget is never overrun by an optimistic guess)."""
    price = price_for(prices, model)
    if price is None:
        return None
    return token_cost(price, input_tokens=input_tokens, output_tokens=max_output_tokens, batch=batch)


def format_usd(amount: float | None, digits: int | None = None) -> str:
    """Dollars for people: cents when they matter, more digits for the tiny amounts single calls cost
    (``digits`` fixes the precision, so a column of figures lines up)."""
    if amount is None:
        return "n/a"
    if digits is None:
        digits = 2 if abs(amount) >= 0.1 or amount == 0 else 4
    return f"${amount:,.{digits}f}"


def usd_digits(largest: float) -> int:
    """Precision for a table whose largest figure is ``largest``: 4 digits until it reaches $10."""
    return 2 if abs(largest) >= 10 else 4
