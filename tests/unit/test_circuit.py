"""The circuit breaker: pure state machine with an injected clock, then wired into the Anthropic client."""

from __future__ import annotations

import asyncio

import pytest

from ai_coding_router.errors import ModelOverloaded, ModelServerError
from ai_coding_router.models.anthropic_client import AnthropicModelClient
from ai_coding_router.models.base import Message, ModelRequest
from ai_coding_router.models.circuit import (
    CircuitBreaker,
    CircuitBreakers,
    CircuitOpen,
    CircuitOpenOverloaded,
    CircuitSettings,
    Ticket,
)
from tests.fake_anthropic import FakeAnthropic, Reply

SONNET, OPUS = "claude-sonnet-4-6", "claude-opus-4-7"
SETTINGS = CircuitSettings(failures=3, window_s=10.0, cooldown_s=5.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def fail(breaker: CircuitBreaker, times: int, kind: str = "") -> None:
    for _ in range(times):
        breaker.failed(breaker.admit(), kind)


def test_opens_after_consecutive_failures_and_fails_fast_with_the_cool_down() -> None:
    clock = Clock()
    breaker = CircuitBreaker(SETTINGS, clock=clock, name=SONNET)
    fail(breaker, 2)
    assert breaker.state == "closed"
    fail(breaker, 1)
    assert breaker.state == "open" and breaker.opened_count == 1
    clock.advance(2.0)
    with pytest.raises(CircuitOpen) as info:
        breaker.admit()
    assert info.value.retry_after_s == pytest.approx(3.0)
    assert info.value.retryable and not isinstance(info.value, ModelOverloaded)
    assert SONNET in str(info.value) and "paused for another 3.0 s" in str(info.value)
    assert breaker.rejected_count == 1


def test_a_success_resets_the_run_of_failures() -> None:
    breaker = CircuitBreaker(SETTINGS, clock=Clock())
    fail(breaker, 2)
    breaker.succeeded(breaker.admit())
    fail(breaker, 2)
    assert breaker.state == "closed"


def test_failures_spread_beyond_the_window_do_not_open_it() -> None:
    clock = Clock()
    breaker = CircuitBreaker(SETTINGS, clock=clock)
    for _ in range(6):
        fail(breaker, 1)
        clock.advance(6.0)  # two failures never fall inside one 10 s window with a third
    assert breaker.state == "closed" and breaker.opened_count == 0


def test_half_open_lets_one_probe_through_and_closes_on_success() -> None:
    clock = Clock()
    breaker = CircuitBreaker(SETTINGS, clock=clock)
    fail(breaker, 3)
    clock.advance(5.0)
    assert breaker.state == "half_open"
    probe = breaker.admit()
    assert probe == Ticket(probe=True)
    with pytest.raises(CircuitOpen) as info:  # everyone else waits for the probe's verdict
        breaker.admit()
    assert "probe" in str(info.value)
    breaker.succeeded(probe)
    assert breaker.state == "closed"
    assert breaker.admit() == Ticket(probe=False)


def test_a_failed_probe_opens_it_again_for_a_full_cool_down() -> None:
    clock = Clock()
    breaker = CircuitBreaker(SETTINGS, clock=clock)
    fail(breaker, 3)
    clock.advance(5.0)
    breaker.failed(breaker.admit())
    assert breaker.state == "open" and breaker.opened_count == 2
    clock.advance(4.9)
    with pytest.raises(CircuitOpen):
        breaker.admit()
    clock.advance(0.1)
    assert breaker.admit().probe


def test_an_abandoned_probe_frees_the_slot_without_a_verdict() -> None:
    clock = Clock()
    breaker = CircuitBreaker(SETTINGS, clock=clock)
    fail(breaker, 3)
    clock.advance(5.0)
    breaker.abandoned(breaker.admit())  # e.g. the user typed on and the request was cancelled
    assert breaker.state == "half_open"
    assert breaker.admit().probe  # the next call is the probe; it does not stay stuck


def test_late_failures_of_calls_admitted_before_it_opened_change_nothing() -> None:
    clock = Clock()
    breaker = CircuitBreaker(SETTINGS, clock=clock)
    early = [breaker.admit() for _ in range(5)]
    for ticket in early[:3]:
        breaker.failed(ticket)
    clock.advance(4.0)
    for ticket in early[3:]:
        breaker.failed(ticket)  # must not restart the cool-down
    clock.advance(1.0)
    assert breaker.state == "half_open" and breaker.opened_count == 1


def test_opened_by_overload_the_refusal_is_an_overload_for_fallbacks() -> None:
    breaker = CircuitBreaker(SETTINGS, clock=Clock())
    fail(breaker, 3, kind="overloaded")
    with pytest.raises(CircuitOpenOverloaded) as info:
        breaker.admit()
    assert isinstance(info.value, ModelOverloaded) and isinstance(info.value, CircuitOpen)


def test_zero_failures_means_never_open() -> None:
    breaker = CircuitBreaker(CircuitSettings(failures=0), clock=Clock())
    fail(breaker, 50)
    assert breaker.state == "closed"


def test_one_breaker_per_model() -> None:
    breakers = CircuitBreakers(SETTINGS, clock=Clock())
    fail(breakers.for_model(OPUS), 3)
    assert breakers.for_model(OPUS).state == "open"
    assert breakers.for_model(SONNET).state == "closed"
    assert breakers.as_json() == [{"model": OPUS, "state": "open", "opened": 1, "rejected": 0},
                                  {"model": SONNET, "state": "closed", "opened": 0, "rejected": 0}]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, CircuitSettings()),
        ("4/20/2.5", CircuitSettings(4, 20.0, 2.5)),
        ("off", CircuitSettings(failures=0)),
        ("garbage", CircuitSettings()),
        ("1/2", CircuitSettings()),
        ("-1/5/5", CircuitSettings()),
    ],
)
def test_settings_from_the_environment(value: str | None, expected: CircuitSettings) -> None:
    env = {} if value is None else {"AI_CODING_ROUTER_CIRCUIT": value}
    assert CircuitSettings.from_env(env) == expected


# -- wired into the client, over HTTP against the fake (the clock is still ours) --------------------------

def request(model: str = SONNET, max_retries: int = 0, deadline_s: float | None = 5.0) -> ModelRequest:
    return ModelRequest(model=model, messages=[Message("user", "hi")], max_tokens=16, deadline_s=deadline_s,
                        max_retries=max_retries)


def client_for(fake: FakeAnthropic, clock: Clock) -> AnthropicModelClient:
    return AnthropicModelClient(api_key="sk-ant-circuit-test-0123456789", base_url=fake.base_url, timeout_s=5,
                                circuits=CircuitBreakers(SETTINGS, clock=clock))


async def test_client_stops_sending_requests_while_open_then_probes(fake_api: FakeAnthropic) -> None:
    clock = Clock()
    fake_api.script(SONNET, *[Reply(fault="500", retry_after_s=None)] * 3, Reply(text="back"))
    client = client_for(fake_api, clock)
    try:
        for _ in range(3):
            with pytest.raises(ModelServerError):
                await client.complete(request())
        for _ in range(10):  # a burst of keystrokes: refused without a request
            with pytest.raises(CircuitOpen):
                await client.complete(request())
        assert len(fake_api.requests) == 3
        assert await client.complete(request(OPUS)) is not None  # the other model is not affected
        assert len(fake_api.requests) == 4
        clock.advance(SETTINGS.cooldown_s)
        result = await client.complete(request())  # the probe
        assert result.text == "back"
        assert len(fake_api.requests) == 5
        assert state_of(client, SONNET) == "closed"
    finally:
        await client.aclose()


def state_of(client: AnthropicModelClient, model: str) -> object:
    return next(c["state"] for c in client.circuit_states() if c["model"] == model)


async def test_our_own_deadline_and_cancellation_do_not_count_as_failures(fake_api: FakeAnthropic) -> None:
    clock = Clock()
    fake_api.set_default(Reply(fault="timeout"))
    client = client_for(fake_api, clock)
    try:
        for _ in range(4):  # the API is silent past our short budget: not the API's failure
            with pytest.raises(Exception) as info:
                await client.complete(request(deadline_s=0.2))
            assert not isinstance(info.value, CircuitOpen)
        for _ in range(4):  # superseded requests, cancelled mid-flight
            task = asyncio.ensure_future(client.complete(request(deadline_s=None)))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert state_of(client, SONNET) == "closed"
    finally:
        await client.aclose()


async def test_a_background_call_waits_out_the_cool_down_instead_of_failing(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, *[Reply(fault="529", retry_after_s=None)] * 3, Reply(text="after the pause"))
    settings = CircuitSettings(failures=3, window_s=10.0, cooldown_s=0.3)
    client = AnthropicModelClient(api_key="sk-ant-circuit-test-0123456789", base_url=fake_api.base_url,
                                  timeout_s=5, circuits=CircuitBreakers(settings))
    try:
        for _ in range(3):
            with pytest.raises(ModelOverloaded):
                await client.complete(request())
        result = await client.complete(request(max_retries=2, deadline_s=30.0))
        assert result.text == "after the pause"
        assert len(fake_api.requests) == 4  # the refused attempt sent nothing
    finally:
        await client.aclose()
