"""The loopback Messages API fake, driven by the real ``anthropic`` SDK over HTTP (nothing patched)."""

from __future__ import annotations

import asyncio
import json
import os
import select
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic.types import Message, MessageParam, RawContentBlockDeltaEvent, TextBlock, TextBlockParam, TextDelta
from hypothesis import given
from hypothesis import strategies as st

from tests.fake_anthropic import DEFAULT_TEXT, FakeAnthropic, RemoteFake, Reply, count_tokens, tokenize
from tests.fake_anthropic.messages import generate
from tests.fake_anthropic.tokens import PromptCache, prompt_blocks

REPO = Path(__file__).resolve().parents[2]
MODEL = "claude-sonnet-4-6"
DEEP = "claude-opus-4-7"
PROMPT = "Complete this function for me, please."
USER: list[MessageParam] = [{"role": "user", "content": PROMPT}]


@pytest.fixture
async def client(fake_api: FakeAnthropic) -> AsyncIterator[anthropic.AsyncAnthropic]:
    sdk = anthropic.AsyncAnthropic(base_url=fake_api.base_url, api_key="test-key", max_retries=0)
    yield sdk
    await sdk.close()


def delta_text(event: object) -> str | None:
    if isinstance(event, RawContentBlockDeltaEvent) and isinstance(event.delta, TextDelta):
        return event.delta.text
    return None


def text_of(message: Message) -> str:
    block = message.content[0]
    assert isinstance(block, TextBlock)
    return block.text


async def stream_text(sdk: anthropic.AsyncAnthropic, received: list[str] | None = None,
                      max_tokens: int = 500) -> list[str]:
    """Text deltas of a raw ``stream=True`` call (appended to ``received``), until it ends or raises."""
    deltas = [] if received is None else received
    stream = await sdk.messages.create(model=MODEL, max_tokens=max_tokens, messages=USER, stream=True)
    async for event in stream:
        text = delta_text(event)
        if text is not None:
            deltas.append(text)
    return deltas


def http(method: str, url: str, body: object = None, headers: dict[str, str] | None = None
         ) -> tuple[int, dict[str, str], bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def sse_events(raw: bytes) -> list[tuple[str, str]]:
    events = []
    for block in raw.decode().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if lines:
            events.append((lines["event"], lines["data"]))
    return events


API_HEADERS = {"x-api-key": "k", "anthropic-version": "2023-06-01", "content-type": "application/json"}


# --- messages: JSON and SSE ---------------------------------------------------------------------


async def test_non_streaming_create_matches_the_api_shape(fake_api: FakeAnthropic,
                                                          client: anthropic.AsyncAnthropic) -> None:
    message = await client.messages.create(model=MODEL, max_tokens=200, messages=USER)

    assert message.type == "message" and message.role == "assistant" and message.model == MODEL
    assert message.id.startswith("msg_")
    assert [(b.type, getattr(b, "text", None)) for b in message.content] == [("text", DEFAULT_TEXT)]
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.usage.input_tokens == count_tokens(PROMPT)
    assert message.usage.output_tokens == len(tokenize(DEFAULT_TEXT))
    assert message.usage.cache_creation_input_tokens == 0 and message.usage.cache_read_input_tokens == 0

    (rec,) = fake_api.requests
    assert (rec.method, rec.path, rec.model, rec.stream, rec.status) == ("POST", "/v1/messages", MODEL, False, 200)
    assert rec.headers["authorization"] == "Bearer test-key"
    assert "anthropic-version" in rec.headers
    assert rec.body["messages"] == USER and rec.body["max_tokens"] == 200
    assert rec.completed and rec.streamed_tokens == rec.planned_tokens == len(tokenize(DEFAULT_TEXT))
    assert rec.usage is not None and rec.usage["output_tokens"] == message.usage.output_tokens


async def test_stream_sends_one_token_per_delta_and_cache_tokens_on_a_repeat(
        fake_api: FakeAnthropic, client: anthropic.AsyncAnthropic) -> None:
    text = "export function add(a: number, b: number): number { return a + b; }"
    fake_api.script(MODEL, Reply(text=text), Reply(text=text))
    stable = "You complete TypeScript. Project conventions follow. " * 20
    system: list[TextBlockParam] = [
        {"type": "text", "text": stable, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "The file being edited is src/add.ts."}]

    usages = []
    for _ in range(2):
        async with client.messages.stream(model=MODEL, max_tokens=500, system=system, messages=USER) as stream:
            deltas = [t async for t in stream.text_stream]
            final = await stream.get_final_message()
        assert deltas == tokenize(text)
        assert text_of(final) == text
        usages.append(final.usage)

    cached = count_tokens(stable)
    rest = count_tokens("The file being edited is src/add.ts.") + count_tokens(PROMPT)
    first, second = usages
    assert (first.cache_creation_input_tokens, first.cache_read_input_tokens) == (cached, 0)
    assert (second.cache_creation_input_tokens, second.cache_read_input_tokens) == (0, cached)
    assert first.input_tokens == second.input_tokens == rest
    assert first.output_tokens == second.output_tokens == len(tokenize(text))
    assert [r.streamed_tokens for r in fake_api.requests] == [len(tokenize(text))] * 2


def test_sse_wire_format_and_event_order(fake_api: FakeAnthropic) -> None:
    fake_api.set_default(Reply(text="one two six"))
    assert tokenize("one two six") == ["one", " two", " six"]
    status, headers, raw = http("POST", fake_api.base_url + "/v1/messages",
                                {"model": MODEL, "max_tokens": 50, "messages": USER, "stream": True}, API_HEADERS)

    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    events = sse_events(raw)
    names = [name for name, _ in events]
    assert names == ["message_start", "content_block_start", "ping", "content_block_delta",
                     "content_block_delta", "content_block_delta", "content_block_stop", "message_delta",
                     "message_stop"]
    data = [json.loads(d) for _, d in events]
    assert all(d["type"] == name for d, name in zip(data, names, strict=True))
    start_usage = data[0]["message"]["usage"]
    assert start_usage["output_tokens"] == 1
    assert {"input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"} <= set(start_usage)
    assert data[0]["message"]["stop_reason"] is None
    assert [d["delta"]["text"] for d in data[3:6]] == ["one", " two", " six"]
    assert data[7]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert data[7]["usage"]["output_tokens"] == 3


async def test_headers_and_message_start_go_out_before_the_first_token(
        fake_api: FakeAnthropic, client: anthropic.AsyncAnthropic) -> None:
    fake_api.script(None, Reply(text="late", ttft_s=30))
    stream = await client.messages.create(model=MODEL, max_tokens=50, messages=USER, stream=True)
    first = await stream.__anext__()
    assert first.type == "message_start"
    rec = fake_api.requests[0]
    assert rec.status == 200 and rec.outcome == "pending" and rec.streamed_tokens == 0
    await stream.close()
    assert (await fake_api.wait_for_finished_async(0)).outcome == "client_disconnected"


async def test_stop_sequences_and_max_tokens(fake_api: FakeAnthropic, client: anthropic.AsyncAnthropic) -> None:
    text = "const x = 1;\n```\nmore prose that must not appear"
    fake_api.script(MODEL, Reply(text=text), Reply(text=text))

    stopped = await client.messages.create(model=MODEL, max_tokens=100, messages=USER, stop_sequences=["```"])
    assert stopped.stop_reason == "stop_sequence" and stopped.stop_sequence == "```"
    assert text_of(stopped) == "const x = 1;\n"

    async with client.messages.stream(model=MODEL, max_tokens=3, messages=USER) as stream:
        deltas = [t async for t in stream.text_stream]
        final = await stream.get_final_message()
    assert deltas == tokenize(text)[:3]
    assert final.stop_reason == "max_tokens" and final.usage.output_tokens == 3


@pytest.mark.parametrize(("stop_sequences", "max_tokens", "unstreamed"), [
    (["</insert>"], 100, len(tokenize("</insert>"))),  # the API withholds the stop sequence it matched
    ([], 100, 1),  # the end-of-turn token
    ([], 2, 0),  # cut by max_tokens: nothing more is generated
], ids=["stop_sequence", "end_turn", "max_tokens"])
async def test_tokens_the_api_never_streams_still_take_token_time(
        fake_api: FakeAnthropic, client: anthropic.AsyncAnthropic, stop_sequences: list[str], max_tokens: int,
        unstreamed: int) -> None:
    per_token = 0.08
    fake_api.script(MODEL, Reply(text="<insert>x = 1;</insert>", per_token_s=per_token))
    stream = await client.messages.create(model=MODEL, max_tokens=max_tokens, messages=USER, stream=True,
                                          stop_sequences=stop_sequences)
    last_text_at = stopped_at = 0.0
    async for event in stream:
        if event.type == "content_block_delta":
            last_text_at = time.monotonic()
        elif event.type == "message_delta":
            stopped_at = time.monotonic()
    gap = stopped_at - last_text_at  # the scripted latency, with one token time of slack for a busy machine
    assert unstreamed * per_token - 0.02 <= gap < (unstreamed + 1) * per_token, gap


def test_generate_prefers_the_earliest_stop_and_lets_max_tokens_win_before_it() -> None:
    assert generate("a STOP b END c", 100, ["END", "STOP"]).stop_sequence == "STOP"
    early = generate("alpha beta gamma STOP", 2, ["STOP"])
    assert (early.stop_reason, early.tokens) == ("max_tokens", tokenize("alpha beta gamma ")[:2])


async def test_per_model_script_then_any_model_then_default(fake_api: FakeAnthropic,
                                                            client: anthropic.AsyncAnthropic) -> None:
    fake_api.script(DEEP, "deep 1", "deep 2")
    fake_api.script(None, "any 1")
    fake_api.set_default(Reply(text="fallback"))
    fake_api.script(MODEL, lambda body: f"echo {len(body['messages'])}")

    async def ask(model: str) -> str:
        return text_of(await client.messages.create(model=model, max_tokens=50, messages=USER))

    got = [await ask(m) for m in (MODEL, DEEP, MODEL, DEEP, DEEP, MODEL)]
    assert got == ["echo 1", "deep 1", "any 1", "deep 2", "fallback", "fallback"]


async def test_a_raising_reply_function_is_a_500_and_is_kept(fake_api: FakeAnthropic,
                                                              client: anthropic.AsyncAnthropic) -> None:
    def broken(body: dict[str, Any]) -> str:
        raise KeyError("no such fixture")

    fake_api.script(None, broken)
    with pytest.raises(anthropic.InternalServerError, match="no such fixture"):
        await client.messages.create(model=MODEL, max_tokens=5, messages=USER)
    assert [type(e) for e in fake_api.errors] == [KeyError]


# --- validation and authentication --------------------------------------------------------------


@pytest.mark.parametrize(("body", "message"), [
    ({"model": MODEL, "messages": USER}, "max_tokens: Field required"),
    ({"max_tokens": 5, "messages": USER}, "model: Field required"),
    ({"model": MODEL, "max_tokens": 5}, "messages: Field required"),
    ({"model": MODEL, "max_tokens": 0, "messages": USER}, "max_tokens: Input should be greater than or equal to 1"),
    ({"model": MODEL, "max_tokens": 5, "messages": [{"role": "bot", "content": "x"}]},
     "messages.0.role: Input should be 'user' or 'assistant'"),
    ({"model": MODEL, "max_tokens": 5, "messages": USER, "colour": "red"}, "colour: Extra inputs are not permitted"),
])
def test_invalid_requests_get_the_api_error_shape(fake_api: FakeAnthropic, body: dict[str, Any],
                                                  message: str) -> None:
    status, headers, raw = http("POST", fake_api.base_url + "/v1/messages", body, API_HEADERS)
    assert status == 400
    error = json.loads(raw)
    assert error["type"] == "error" and error["error"] == {"type": "invalid_request_error", "message": message}
    assert headers["request-id"] == error["request_id"] == fake_api.requests[0].request_id
    assert fake_api.requests[0].outcome == "error_status"


async def test_sdk_sees_bad_request_error(client: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(model=MODEL, max_tokens=5, messages=[])
    assert caught.value.type == "invalid_request_error"
    assert caught.value.api_message == "messages: at least one message is required"


def test_a_key_is_required(fake_api: FakeAnthropic) -> None:
    body = {"model": MODEL, "max_tokens": 5, "messages": USER}
    status, _, raw = http("POST", fake_api.base_url + "/v1/messages", body,
                          {"anthropic-version": "2023-06-01", "content-type": "application/json"})
    assert status == 401 and json.loads(raw)["error"]["type"] == "authentication_error"
    status, _, _ = http("POST", fake_api.base_url + "/v1/messages", body,
                        {"authorization": "Bearer sk-x", "anthropic-version": "2023-06-01"})
    assert status == 200


async def test_a_configured_key_rejects_others() -> None:
    with FakeAnthropic(api_key="right") as fake:
        sdk = anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="wrong", max_retries=0)
        with pytest.raises(anthropic.AuthenticationError):
            await sdk.messages.create(model=MODEL, max_tokens=5, messages=USER)
        sdk = sdk.with_options(api_key="right")
        assert (await sdk.messages.create(model=MODEL, max_tokens=5, messages=USER)).stop_reason
        await sdk.close()


# --- faults -------------------------------------------------------------------------------------


async def test_429_carries_retry_after_headers(fake_api: FakeAnthropic, client: anthropic.AsyncAnthropic) -> None:
    fake_api.script(None, Reply(fault="429", retry_after_s=7, retry_after_ms=7000))
    with pytest.raises(anthropic.RateLimitError) as caught:
        await client.messages.create(model=MODEL, max_tokens=5, messages=USER)
    assert caught.value.status_code == 429 and caught.value.type == "rate_limit_error"
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.response.headers["retry-after-ms"] == "7000"


async def test_429_retry_after_is_honoured_by_the_sdk(fake_api: FakeAnthropic) -> None:
    fake_api.script(None, Reply(fault="429", retry_after_s=0.3), "after the wait")
    sdk = anthropic.AsyncAnthropic(base_url=fake_api.base_url, api_key="k", max_retries=1)
    message = await sdk.messages.create(model=MODEL, max_tokens=20, messages=USER)
    await sdk.close()
    assert text_of(message) == "after the wait"
    first, second = fake_api.requests
    assert (first.status, second.status) == (429, 200)
    assert second.headers["x-stainless-retry-count"] == "1"
    # A lower bound only (a slow machine cannot make it fail): the retry waited for retry-after.
    assert second.received_at - first.received_at >= 0.3


async def test_529_is_overloaded(fake_api: FakeAnthropic, client: anthropic.AsyncAnthropic) -> None:
    fake_api.script(None, Reply(fault="529"))
    with pytest.raises(anthropic.OverloadedError) as caught:
        await stream_text(client)
    assert caught.value.status_code == 529 and caught.value.type == "overloaded_error"
    assert isinstance(caught.value, anthropic.APIStatusError)


async def test_500_is_internal_server_error(fake_api: FakeAnthropic, client: anthropic.AsyncAnthropic) -> None:
    fake_api.script(None, Reply(fault="500", should_retry=False))
    with pytest.raises(anthropic.InternalServerError) as caught:
        await client.messages.create(model=MODEL, max_tokens=5, messages=USER)
    assert caught.value.status_code == 500 and caught.value.type == "api_error"
    assert caught.value.response.headers["x-should-retry"] == "false"


async def test_timeout_fault_gives_api_timeout_error_and_the_fake_sees_the_client_leave(
        fake_api: FakeAnthropic) -> None:
    fake_api.script(None, Reply(fault="timeout"))
    sdk = anthropic.AsyncAnthropic(base_url=fake_api.base_url, api_key="k", max_retries=0, timeout=0.3)
    with pytest.raises(anthropic.APITimeoutError):
        await sdk.messages.create(model=MODEL, max_tokens=5, messages=USER)
    await sdk.close()
    rec = await fake_api.wait_for_finished_async(0)
    assert rec.status is None and rec.outcome == "client_disconnected"
    assert rec.client_disconnected_at is not None


async def test_reset_gives_a_connection_error(fake_api: FakeAnthropic, client: anthropic.AsyncAnthropic) -> None:
    fake_api.script(None, Reply(fault="reset"))
    with pytest.raises(anthropic.APIConnectionError):
        await client.messages.create(model=MODEL, max_tokens=5, messages=USER)
    assert fake_api.requests[0].outcome == "reset"


async def test_cut_stream_raises_after_the_tokens_before_the_cut(
        fake_api: FakeAnthropic, client: anthropic.AsyncAnthropic) -> None:
    text = "one two three four five six"
    fake_api.script(None, Reply(text=text, cut_after_tokens=3))
    received: list[str] = []
    with pytest.raises(httpx2.RemoteProtocolError):
        await stream_text(client, received)
    assert received == tokenize(text)[:3]
    assert fake_api.requests[0].outcome == "cut" and fake_api.requests[0].streamed_tokens == 3


async def test_error_event_raises_api_status_error(fake_api: FakeAnthropic,
                                                   client: anthropic.AsyncAnthropic) -> None:
    fake_api.script(None, Reply(text="one two three", error_event_after_tokens=2))
    with pytest.raises(anthropic.APIStatusError) as caught:
        await stream_text(client)
    assert caught.value.type == "overloaded_error"
    assert isinstance(caught.value.body, dict) and caught.value.body["error"]["type"] == "overloaded_error"
    assert fake_api.requests[0].outcome == "error_event" and fake_api.requests[0].streamed_tokens == 2


async def test_malformed_event_fails_json_decoding(fake_api: FakeAnthropic,
                                                   client: anthropic.AsyncAnthropic) -> None:
    fake_api.script(None, Reply(text="one two three", malformed_event_after_tokens=1))
    with pytest.raises(json.JSONDecodeError):
        await stream_text(client)


async def test_stalled_stream_times_out_and_the_fake_sees_the_client_leave(fake_api: FakeAnthropic) -> None:
    fake_api.script(None, Reply(text="one two three four", stall_after_tokens=2))
    sdk = anthropic.AsyncAnthropic(base_url=fake_api.base_url, api_key="k", max_retries=0, timeout=0.3)
    with pytest.raises(httpx2.ReadTimeout):
        await stream_text(sdk)
    await sdk.close()
    rec = await fake_api.wait_for_disconnect_async(0)
    assert rec.streamed_tokens == 2 and rec.outcome == "client_disconnected"


async def test_cancelling_the_reading_task_closes_the_stream_and_stops_tokens(
        fake_api: FakeAnthropic, client: anthropic.AsyncAnthropic) -> None:
    text = "word " * 200
    fake_api.script(None, Reply(text=text, per_token_s=0.02))
    received: list[str] = []
    five = asyncio.Event()

    async def collect() -> None:
        stream = await client.messages.create(model=MODEL, max_tokens=1000, messages=USER, stream=True)
        async for event in stream:
            text = delta_text(event)
            if text is not None:
                received.append(text)
                if len(received) == 5:
                    five.set()

    task = asyncio.create_task(collect())
    await asyncio.wait_for(five.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    rec = await fake_api.wait_for_disconnect_async(0, timeout=3)
    assert rec.outcome == "client_disconnected" and rec.tokens_after_disconnect == 0
    assert rec.planned_tokens == len(tokenize(text)) > 100
    tokens_at_disconnect = rec.streamed_tokens
    assert len(received) <= tokens_at_disconnect < 100
    await asyncio.sleep(0.1)  # five token intervals: nothing more may be written
    assert fake_api.requests[0].streamed_tokens == tokens_at_disconnect


# --- count_tokens, prompt cache, batches --------------------------------------------------------


async def test_count_tokens(client: anthropic.AsyncAnthropic) -> None:
    counted = await client.messages.count_tokens(model=MODEL, system="Be brief.", messages=USER)
    assert counted.input_tokens == count_tokens("Be brief.") + count_tokens(PROMPT)


def test_prompt_cache_uses_the_longest_cached_prefix_and_expires() -> None:
    cache = PromptCache()
    tools = [{"name": "t", "description": "d " * 10, "input_schema": {"type": "object"}}]
    body: dict[str, Any] = {
        "model": MODEL, "tools": tools, "system": [
            {"type": "text", "text": "alpha " * 30, "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "beta " * 30, "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "messages": USER,
    }
    blocks = prompt_blocks(body)
    upto_alpha = blocks[0].tokens + blocks[1].tokens
    total = sum(b.tokens for b in blocks)

    first = cache.account(MODEL, blocks, now=0.0)
    assert (first.cache_read_input_tokens, first.ephemeral_5m_input_tokens,
            first.ephemeral_1h_input_tokens) == (0, upto_alpha, blocks[2].tokens)
    assert first.total == total

    changed = dict(body, system=[body["system"][0], {**body["system"][1], "text": "gamma " * 30}])
    changed_blocks = prompt_blocks(changed)
    second = cache.account(MODEL, changed_blocks, now=10.0)  # only the first breakpoint matches
    assert (second.cache_read_input_tokens, second.cache_creation_input_tokens) == (
        upto_alpha, changed_blocks[2].tokens)
    assert cache.account(DEEP, blocks, now=20.0).cache_read_input_tokens == 0  # per model
    assert cache.account(MODEL, blocks, now=20.0 + 299).cache_read_input_tokens == upto_alpha + blocks[2].tokens
    assert cache.account(MODEL, blocks, now=10_000.0).cache_read_input_tokens == 0  # TTL passed

    top_level = prompt_blocks({"messages": USER, "cache_control": {"type": "ephemeral"}})
    assert top_level[-1].cache_ttl_s == 300.0
    assert PromptCache(min_cacheable_tokens=10_000).account(MODEL, blocks, 0.0).cache_creation_input_tokens == 0


async def test_expire_cache_makes_the_next_call_write_again(fake_api: FakeAnthropic,
                                                            client: anthropic.AsyncAnthropic) -> None:
    system: Any = [{"type": "text", "text": "stable " * 50, "cache_control": {"type": "ephemeral"}}]
    for _ in range(2):
        await client.messages.create(model=MODEL, max_tokens=5, system=system, messages=USER)
    fake_api.expire_cache()
    again = await client.messages.create(model=MODEL, max_tokens=5, system=system, messages=USER)
    reads = [r.usage["cache_read_input_tokens"] for r in fake_api.requests if r.usage]
    assert reads == [0, count_tokens("stable " * 50), 0]
    assert again.usage.cache_creation_input_tokens == count_tokens("stable " * 50)


async def test_batches_create_retrieve_results(fake_api: FakeAnthropic, client: anthropic.AsyncAnthropic) -> None:
    fake_api.script(MODEL, "fast answer")
    fake_api.script(DEEP, "deep answer", Reply(fault="529"))
    fake_api.batch_processing_s = 3600
    requests: Any = [
        {"custom_id": "a", "params": {"model": MODEL, "max_tokens": 50, "messages": USER}},
        {"custom_id": "b", "params": {"model": DEEP, "max_tokens": 50, "messages": USER}},
        {"custom_id": "c", "params": {"model": DEEP, "max_tokens": 50, "messages": USER}},
    ]
    batch = await client.messages.batches.create(requests=requests)
    assert batch.processing_status == "in_progress" and batch.request_counts.processing == 3
    assert (await client.messages.batches.retrieve(batch.id)).results_url is None

    fake_api.batch_processing_s = 0
    ended = await client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.ended_at is not None
    assert (ended.request_counts.succeeded, ended.request_counts.errored) == (2, 1)

    results = {r.custom_id: r.result async for r in await client.messages.batches.results(batch.id)}
    a, b, c = results["a"], results["b"], results["c"]
    assert a.type == "succeeded" and text_of(a.message) == "fast answer"
    assert b.type == "succeeded" and text_of(b.message) == "deep answer"
    assert b.message.usage.service_tier == "batch"
    assert c.type == "errored" and c.error.error.type == "overloaded_error"


async def test_unknown_batch_is_not_found(client: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.NotFoundError):
        await client.messages.batches.retrieve("msgbatch_nope")


# --- control endpoints, remote use, standalone process ------------------------------------------


def test_control_endpoints_over_plain_http(fake_api: FakeAnthropic) -> None:
    base = fake_api.base_url
    assert http("POST", base + "/_fake/script", {"model": MODEL, "replies": ["first", {"text": "second"}]})[0] == 200
    assert http("POST", base + "/_fake/default", {"fault": 529})[0] == 200
    assert http("POST", base + "/_fake/script", {"model": None, "replies": [{"fault": "bogus"}]})[0] == 400

    answers = []
    for _ in range(3):
        status, _, raw = http("POST", base + "/v1/messages",
                              {"model": MODEL, "max_tokens": 20, "messages": USER}, API_HEADERS)
        answers.append((status, json.loads(raw).get("content")))
    assert answers == [(200, [{"type": "text", "text": "first"}]), (200, [{"type": "text", "text": "second"}]),
                       (529, None)]

    status, _, raw = http("GET", base + "/_fake/requests")
    recorded = json.loads(raw)
    assert status == 200 and [r["status"] for r in recorded] == [200, 200, 529]
    assert recorded[0]["headers"]["x-api-key"] == "k" and recorded[0]["body"]["model"] == MODEL
    assert recorded[0]["completed"] is True and recorded[2]["completed"] is False
    assert fake_api.wait_for_requests(3, timeout=1)[2].fault == "529"

    assert http("POST", base + "/_fake/clear", {})[0] == 200
    assert json.loads(http("GET", base + "/_fake/requests")[2]) == []
    status, _, raw = http("POST", base + "/v1/messages", {"model": MODEL, "max_tokens": 20, "messages": USER},
                          API_HEADERS)
    assert json.loads(raw)["content"][0]["text"] == DEFAULT_TEXT


def test_standalone_process_with_a_script_file(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"default": "from the file", "script": {"*": [{"text": "scripted"}]}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    command = [sys.executable, "-m", "tests.fake_anthropic", "--port", "0", "--script", str(script)]
    with subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 10)
            assert ready, "the fake did not print its URL within 10 s"
            base_url = proc.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:")
            remote = RemoteFake(base_url)
            assert remote.healthy()
            remote.script(None, Reply(text="remote"))
            texts = []
            for _ in range(3):
                _, _, raw = http("POST", base_url + "/v1/messages",
                                 {"model": DEEP, "max_tokens": 20, "messages": USER}, API_HEADERS)
                texts.append(json.loads(raw)["content"][0]["text"])
            assert texts == ["scripted", "remote", "from the file"]
            assert [r["model"] for r in remote.requests()] == [DEEP] * 3
            remote.clear()
            assert remote.requests() == []
        finally:
            proc.terminate()
            assert proc.wait(timeout=10) == 0


def test_requests_wait_times_out_clearly(fake_api: FakeAnthropic) -> None:
    with pytest.raises(TimeoutError, match="1 request"):
        fake_api.wait_for_requests(1, timeout=0.05)


@given(st.text(max_size=300))
def test_tokenize_round_trips(text: str) -> None:
    pieces = tokenize(text)
    assert "".join(pieces) == text
    assert all(pieces)
    assert count_tokens(text) == len(pieces)


def test_tokens_are_about_four_characters() -> None:
    text = "The quick brown fox jumps over the lazy dog, then returns a Promise<number>. " * 10
    assert 3.0 <= len(text) / count_tokens(text) <= 5.0


def test_the_fake_time_starts_when_the_request_first_arrives(fake_api: FakeAnthropic) -> None:
    """first_byte_at is taken before the fake reads the rest and parses it; received_at after."""
    body = json.dumps({"model": MODEL, "max_tokens": 20, "messages": USER}).encode()
    head = (f"POST /v1/messages HTTP/1.1\r\nhost: fake\r\ncontent-type: application/json\r\n"
            f"x-api-key: k\r\nanthropic-version: 2023-06-01\r\ncontent-length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", fake_api.port)) as sock:
        sock.sendall(head)
        time.sleep(0.2)  # the body comes later: the fake waits for it on its own time
        sock.sendall(body)
        record = fake_api.wait_for_finished(0, timeout=5)
    assert record.first_byte_at is not None
    assert record.received_at - record.first_byte_at >= 0.2
