"""The Anthropic ModelClient, over real HTTP, against the loopback fake of the Messages API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from ai_coding_router.errors import (
    ModelOverloaded,
    ModelRateLimited,
    ModelRequestError,
    ModelServerError,
    ModelStreamBroken,
    ModelTimeout,
    ModelUnavailable,
)
from ai_coding_router.models.anthropic_client import (
    NO_KEY_MESSAGE,
    AnthropicModelClient,
    HttpClientKind,
    _StreamState,
    apply_event,
    request_params,
    stream_error,
)
from ai_coding_router.models.base import Message, ModelRequest, Usage
from tests.fake_anthropic import FakeAnthropic, Reply
from tests.fake_fixtures import cancel_mid_stream

SONNET = "claude-sonnet-4-6"
KEY = "sk-ant-test-key-0123456789"


HTTP_CLIENTS: tuple[HttpClientKind, ...] = ("lean", "httpx")
http_client: HttpClientKind = "lean"


@pytest.fixture(autouse=True, params=HTTP_CLIENTS)
def each_http_client(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test here runs on our keep-alive transport and on the SDK's httpx stack: same behaviour."""
    global http_client
    http_client = request.param
    yield
    http_client = "lean"


def make_client(fake: FakeAnthropic) -> AnthropicModelClient:
    return AnthropicModelClient(api_key=KEY, base_url=fake.base_url, timeout_s=10, http_client=http_client)


def test_the_lean_transport_unless_httpx_is_chosen_or_a_proxy_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert AnthropicModelClient(api_key=KEY).uses_lean_transport
    assert not AnthropicModelClient(api_key=KEY, http_client="httpx").uses_lean_transport
    # With a transport of its own httpx2 ignores the proxy variables: the SDK's stack must carry them.
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert not AnthropicModelClient(api_key=KEY).uses_lean_transport


def request(**overrides: object) -> ModelRequest:
    base: dict[str, object] = {
        "model": SONNET,
        "messages": [Message("user", "complete this")],
        "max_tokens": 64,
        "system_stable": "You are a careful TypeScript engineer. " * 40,
        "system_dynamic": "File: src/user.ts",
    }
    base.update(overrides)
    return ModelRequest(**base)  # type: ignore[arg-type]


async def test_streams_text_and_reads_usage_with_cache_tokens(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(text="return a + b;"), Reply(text="return a - b;"))
    client = make_client(fake_api)
    seen: list[str] = []
    first = await client.complete(request(), on_text=lambda delta, text: seen.append(delta) is None)
    second = await client.complete(request())
    await client.aclose()

    assert first.text == "return a + b;"
    assert "".join(seen) == first.text
    assert first.stop_reason == "end_turn"
    assert first.usage.model == SONNET
    assert first.usage.output_tokens == fake_api.requests[0].usage["output_tokens"]
    # The stable prefix is written to the cache on the first call and read on the second.
    assert first.usage.cache_creation_input_tokens > 0
    assert first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.cache_creation_input_tokens == 0
    assert first.usage.ttft_ms is not None and first.usage.latency_ms >= first.usage.ttft_ms

    body = fake_api.requests[0].body
    assert body["stream"] is True
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in body["system"][1]
    headers = fake_api.requests[0].headers
    assert headers.get("authorization") == f"Bearer {KEY}" or headers.get("x-api-key") == KEY
    assert "anthropic-version" in headers


async def test_a_prepared_wire_body_is_what_the_api_receives(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(text="return a + b;"))
    client = make_client(fake_api)
    prepared = request(system_dynamic="File: src/ünïcode.ts", stop_sequences=["</insert>"],
                       messages=[Message("user", 'const key = "AKIAIOSFODNN7EXAMPLE"; // ✓')])
    client.prepare(prepared)
    body = client._wire_body(prepared)
    # The call carries its own deadline and tags, which are not sent: the prepared body is used as it is.
    sent = replace(prepared, deadline_s=5.0, tags={"task_type": "inline_completion"})
    assert client._wire_body(sent) is body
    result = await client.complete(sent)
    await client.aclose()

    assert result.text == "return a + b;"
    received = fake_api.requests[0]
    assert json.loads(body) == received.body == {**request_params(prepared), "stream": True}
    assert received.body["system"][1]["text"] == "File: src/ünïcode.ts"
    assert "AKIAIOSFODNN7EXAMPLE" not in received.body["messages"][0]["content"]  # masked on the way out
    assert received.headers.get("content-type") == "application/json"
    # Another prompt is another body.
    assert client._wire_body(request()) != body


async def test_a_lone_surrogate_in_the_prompt_does_not_fail_the_call(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(text="ok"))
    client = make_client(fake_api)
    odd = request(messages=[Message("user", "const s = '\ud800';")])
    client.prepare(odd)  # in a typing pause: must not raise either
    result = await client.complete(odd)
    await client.aclose()
    assert result.text == "ok"
    assert fake_api.requests[0].body["messages"][0]["content"] == "const s = '?';"


def test_without_a_key_nothing_is_prepared() -> None:
    client = AnthropicModelClient(api_key="", base_url="http://127.0.0.1:9")
    client.prepare(request())
    assert len(client._bodies) == 0


async def test_caller_can_stop_early_and_the_stream_is_closed(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(text="one two three four five six seven eight", per_token_s=0.02))
    client = make_client(fake_api)
    result = await client.complete(request(), on_text=lambda delta, text: "three" not in text)
    await fake_api.wait_for_disconnect_async(0, timeout=5)
    await client.aclose()
    assert result.stop_reason == "caller_stop"
    assert "three" in result.text and "eight" not in result.text
    assert fake_api.requests[0].tokens_after_disconnect == 0


async def test_cancelling_the_caller_closes_the_connection(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(text="word " * 200, per_token_s=0.01))
    client = make_client(fake_api)
    recorded, cancelled_at = await cancel_mid_stream(asyncio.create_task(client.complete(request(max_tokens=1000))),
                                                     fake_api)
    assert recorded.outcome == "client_disconnected"
    assert recorded.client_disconnected_at is not None
    assert recorded.client_disconnected_at - cancelled_at < 1.0
    assert recorded.tokens_after_disconnect == 0
    assert recorded.streamed_tokens < recorded.planned_tokens
    await client.aclose()


async def test_deadline_returns_partial_text_and_closes(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(text="alpha beta gamma delta epsilon zeta eta theta", per_token_s=0.1))
    client = make_client(fake_api)
    result = await client.complete(request(deadline_s=0.35))
    await fake_api.wait_for_disconnect_async(0, timeout=5)
    await client.aclose()
    assert result.stop_reason == "deadline"
    assert result.text and result.text != "alpha beta gamma delta epsilon zeta eta theta"
    assert result.usage.output_tokens >= 1


async def test_deadline_before_any_text_is_a_timeout(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(text="late", ttft_s=2.0))
    client = make_client(fake_api)
    with pytest.raises(ModelTimeout):
        await client.complete(request(deadline_s=0.2))
    await client.aclose()


async def test_rate_limit_with_huge_retry_after_is_not_waited_out(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(fault="429", retry_after_s=120))
    client = make_client(fake_api)
    started = time.monotonic()
    with pytest.raises(ModelRateLimited) as info:
        await client.complete(request(max_retries=3, deadline_s=5))
    await client.aclose()
    assert info.value.retry_after_s == 120
    assert time.monotonic() - started < 5  # reported, not slept on
    assert len(fake_api.requests) == 1


async def test_rate_limit_with_small_retry_after_is_retried(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(fault="429", retry_after_s=None, retry_after_ms=50), Reply(text="ok"))
    client = make_client(fake_api)
    result = await client.complete(request(max_retries=2))
    await client.aclose()
    assert result.text == "ok"
    assert len(fake_api.requests) == 2


async def test_no_retries_without_budget_for_them(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(fault="500", retry_after_s=None))
    client = make_client(fake_api)
    with pytest.raises(ModelServerError) as info:
        await client.complete(request(max_retries=0))
    await client.aclose()
    assert info.value.status == 500
    assert len(fake_api.requests) == 1


async def test_overloaded_529(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(fault="529", retry_after_s=None))
    client = make_client(fake_api)
    with pytest.raises(ModelOverloaded) as info:
        await client.complete(request())
    await client.aclose()
    assert "overloaded" in str(info.value)


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(text="a b c d e f", cut_after_tokens=2), ModelStreamBroken),
        (Reply(text="a b c d e f", error_event_after_tokens=2), ModelOverloaded),
        (Reply(text="a b c d e f", malformed_event_after_tokens=2), ModelStreamBroken),
    ],
    ids=["cut", "error-event", "malformed-event"],
)
async def test_broken_streams_are_clear_errors(fake_api: FakeAnthropic, reply: Reply, error: type) -> None:
    fake_api.script(SONNET, reply)
    client = make_client(fake_api)
    with pytest.raises(error):
        await client.complete(request())
    await client.aclose()


async def test_stalled_stream_hits_the_deadline(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(text="a b c d e f", stall_after_tokens=2))
    client = make_client(fake_api)
    result = await client.complete(request(deadline_s=0.5))
    await fake_api.wait_for_disconnect_async(0, timeout=5)
    await client.aclose()
    assert result.stop_reason == "deadline"
    assert result.text.strip() == "a b"


async def test_http_timeout_without_deadline(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(fault="timeout"))
    client = AnthropicModelClient(api_key=KEY, base_url=fake_api.base_url, timeout_s=0.3)
    with pytest.raises(ModelTimeout):
        await client.complete(request())
    await client.aclose()


async def test_without_a_key_one_clear_error_and_no_request(
    fake_api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    client = AnthropicModelClient(base_url=fake_api.base_url)
    assert not client.available
    assert "key=missing" in repr(client)
    with pytest.raises(ModelUnavailable) as info:
        await client.complete(request())
    assert str(info.value) == NO_KEY_MESSAGE
    assert fake_api.requests == []


async def test_key_and_endpoint_from_environment(fake_api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.base_url)
    client = AnthropicModelClient()
    assert client.available
    assert KEY not in repr(client)
    result = await client.complete(request())
    await client.aclose()
    assert result.text
    assert len(fake_api.requests) == 1


async def test_unreachable_endpoint_is_a_connection_error() -> None:
    from ai_coding_router.errors import ModelConnectionError

    client = AnthropicModelClient(api_key=KEY, base_url="http://127.0.0.1:9", timeout_s=2)
    with pytest.raises(ModelConnectionError):
        await client.complete(request())
    await client.aclose()


async def test_a_cancelled_stream_reports_what_was_billed(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(text="word " * 200, per_token_s=0.01))
    client = make_client(fake_api)
    billed: list[Usage] = []
    task = asyncio.create_task(client.complete(request(max_tokens=1000, on_cancelled=billed.append)))
    await fake_api.wait_for_requests_async(1, timeout=5)
    await asyncio.sleep(0.15)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await fake_api.wait_for_disconnect_async(0, timeout=5)
    recorded = fake_api.requests[0]
    # The same prompt answered in full reports the prompt's size the same way.
    fake_api.script(SONNET, Reply(text="done"))
    full = (await client.complete(request(max_tokens=1000))).usage
    await client.aclose()
    assert len(billed) == 1
    usage = billed[0]
    assert usage.model == SONNET
    prompt = usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens
    assert prompt == full.input_tokens + full.cache_creation_input_tokens + full.cache_read_input_tokens > 0
    assert 0 < usage.output_tokens <= recorded.streamed_tokens + 1


async def test_a_call_cancelled_before_the_api_answered_reports_nothing(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(text="late", fault="timeout"))
    client = make_client(fake_api)
    billed: list[Usage] = []
    task = asyncio.create_task(client.complete(request(on_cancelled=billed.append)))
    await fake_api.wait_for_requests_async(1, timeout=5)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await client.aclose()
    assert billed == []


def test_stream_events_fold_into_usage_and_text() -> None:
    state = _StreamState(SONNET, time.monotonic())
    events = [
        ("message_start", {"message": {"usage": {"input_tokens": 120, "cache_read_input_tokens": 80,
                                                 "cache_creation_input_tokens": None, "output_tokens": 1}}}),
        ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "return "}}),
        ("content_block_delta", {"index": 0, "delta": {"type": "input_json_delta", "partial_json": "{"}}),
        ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "total;"}}),
        ("content_block_stop", {"index": 0}),
        ("message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}}),
        ("message_stop", {}),
    ]
    added = [apply_event(kind, data, state) for kind, data in events]
    assert added == [False, False, True, False, True, False, False, False]
    result = state.result()
    assert result.text == "return total;"
    assert result.stop_reason == "end_turn"
    assert (result.usage.input_tokens, result.usage.cache_read_input_tokens) == (120, 80)
    assert result.usage.cache_creation_input_tokens == 0
    assert result.usage.output_tokens == 3
    assert result.usage.ttft_ms is not None and 0 <= result.usage.ttft_ms <= result.usage.latency_ms < 60_000
    assert state.accepted and state.finished


@pytest.mark.parametrize(
    ("kind", "data"),
    [("message_start", {"message": {}}), ("content_block_delta", {"delta": {"type": "text_delta"}}),
     ("message_start", [])],
)
def test_an_event_of_an_unexpected_shape_is_a_broken_stream(kind: str, data: object) -> None:
    with pytest.raises(ModelStreamBroken, match=kind):
        apply_event(kind, data, _StreamState(SONNET, time.monotonic()))


@pytest.mark.parametrize(
    ("payload", "error", "status", "retryable"),
    [
        ('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', ModelOverloaded, 529, True),
        ('{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}', ModelRateLimited, 429, True),
        ('{"type":"error","error":{"type":"api_error","message":"boom"}}', ModelServerError, 500, True),
        ('{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}', ModelRequestError, 400, False),
        ("not json at all", ModelStreamBroken, None, True),
    ],
)
def test_error_events_map_to_errors_a_caller_can_act_on(
    payload: str, error: type, status: int | None, retryable: bool
) -> None:
    found = stream_error(payload)
    assert type(found) is error
    assert found.status == status
    assert found.retryable == retryable
