"""Adaptive debounce: bounds, invoked completions, adaptation to rhythm and latency."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ai_coding_router.completion.debounce import DEFAULT_INTERVAL_MS, GUARD, RATE, AdaptiveDebounce
from ai_coding_router.config import CompletionConfig


def _typed(debounce: AdaptiveDebounce, gaps_ms: list[float], start: float = 100.0) -> float:
    now = start
    debounce.observe_keystroke(now)
    for gap in gaps_ms:
        now += gap / 1000.0
        debounce.observe_keystroke(now)
    return now


def test_invoked_completions_skip_the_debounce() -> None:
    debounce = AdaptiveDebounce(25, 250)
    _typed(debounce, [120.0] * 10)
    assert debounce.delay_s("invoked") == 0.0


def test_before_anything_is_known_the_default_rhythm_is_used() -> None:
    debounce = AdaptiveDebounce(0, 5000)
    assert debounce.delay_s("automatic") == RATE * DEFAULT_INTERVAL_MS / 1000.0


def test_the_delay_follows_the_typing_rhythm() -> None:
    fast, slow = AdaptiveDebounce(0, 5000), AdaptiveDebounce(0, 5000)
    _typed(fast, [60.0] * 20)
    _typed(slow, [200.0] * 20)
    assert fast.delay_s("automatic") < slow.delay_s("automatic")
    assert fast.delay_s("automatic") > 0.060  # longer than a gap inside the burst


def test_pauses_are_not_rhythm() -> None:
    debounce = AdaptiveDebounce(0, 5000)
    _typed(debounce, [100.0, 100.0, 2000.0, 100.0, 100.0, 5000.0, 100.0])
    assert debounce.typing_interval_ms == pytest.approx(100.0)


def test_a_slow_model_starts_sooner_but_never_inside_a_burst() -> None:
    debounce = AdaptiveDebounce(0, 5000)
    _typed(debounce, [125.0] * 20)  # ~8 keystrokes a second
    idle = debounce.delay_s("automatic")
    debounce.observe_model_latency(150.0)
    with_fast_model = debounce.delay_s("automatic")
    for _ in range(20):
        debounce.observe_model_latency(2000.0)
    with_slow_model = debounce.delay_s("automatic")
    assert idle > with_fast_model > with_slow_model
    assert with_slow_model == pytest.approx(GUARD * 0.125)  # the floor: still longer than the 125 ms gaps


def test_bounds_apply_and_collapse_when_inverted() -> None:
    debounce = AdaptiveDebounce(25, 250)
    _typed(debounce, [500.0] * 20)
    assert debounce.delay_s("automatic") == 0.25
    quick = AdaptiveDebounce(100, 250)
    _typed(quick, [10.0] * 20)
    assert quick.delay_s("automatic") == 0.1
    inverted = AdaptiveDebounce(300, 100)
    assert inverted.delay_s("automatic") == 0.3


def test_from_config() -> None:
    debounce = AdaptiveDebounce.from_config(CompletionConfig(debounce_min_ms=40, debounce_max_ms=90))
    assert (debounce.min_ms, debounce.max_ms) == (40.0, 90.0)


def test_nonsense_observations_are_ignored() -> None:
    debounce = AdaptiveDebounce(0, 5000)
    debounce.observe_model_latency(float("nan"))
    debounce.observe_model_latency(-5.0)
    debounce.observe_keystroke(float("inf"))
    assert debounce.model_latency_ms == 0.0
    assert debounce.delay_s("automatic") == RATE * DEFAULT_INTERVAL_MS / 1000.0


@given(
    min_ms=st.integers(0, 5000),
    max_ms=st.integers(0, 5000),
    events=st.lists(
        st.one_of(
            st.tuples(st.just("key"), st.floats(-10.0, 10.0, allow_nan=False)),
            st.tuples(
                st.just("latency"), st.one_of(st.floats(-1e4, 1e6), st.just(float("nan")), st.just(float("inf")))
            ),
        ),
        max_size=80,
    ),
)
def test_the_delay_always_stays_within_bounds(min_ms: int, max_ms: int, events: list[tuple[str, float]]) -> None:
    debounce = AdaptiveDebounce(min_ms, max_ms)
    now = 0.0
    for kind, value in events:
        if kind == "key":
            now += value  # may even go backwards: such gaps are ignored
            debounce.observe_keystroke(now)
        else:
            debounce.observe_model_latency(value)
        delay = debounce.delay_s("automatic")
        assert min_ms / 1000.0 <= delay <= max(min_ms, max_ms) / 1000.0
        assert debounce.delay_s("invoked") == 0.0
