"""Calls built in the typing pause and parked before their send (models/parked.py), over real HTTP against
the loopback fake: nothing reaches the API until a call for the same prompt takes the parked one."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from ai_coding_router.errors import ModelConnectionError, ModelTimeout
from ai_coding_router.models.anthropic_client import AnthropicModelClient, request_params
from ai_coding_router.models.base import Message, ModelRequest
from ai_coding_router.models.parked import ParkingSlot
from tests.fake_anthropic import FakeAnthropic, Reply
from tests.fake_fixtures import cancel_mid_stream

SONNET = "claude-sonnet-4-6"
KEY = "sk-ant-test-key-0123456789"


def prompt(text: str = "complete this") -> ModelRequest:
    return ModelRequest(model=SONNET, messages=[Message("user", text)], max_tokens=64,
                        system_stable="You are a careful TypeScript engineer.", stop_sequences=["</insert>"])


async def ready_client(fake: FakeAnthropic, http_client: str = "lean") -> AnthropicModelClient:
    client = AnthropicModelClient(api_key=KEY, base_url=fake.base_url, timeout_s=10,
                                  http_client=http_client)  # type: ignore[arg-type]
    await client.warm_up()  # the server loads the SDK at start-up; nothing is parked before that
    return client


async def test_a_prepared_call_waits_unsent_until_a_call_for_its_prompt_takes_it(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(text="return a + b;"))
    client = await ready_client(fake_api)
    prepared = prompt()
    client.prepare(prepared)
    await asyncio.sleep(0.2)  # long enough for the SDK to build the request and reach the transport
    assert fake_api.requests == []  # built, not sent: nothing billed
    assert client.parking.parked == 1

    result = await client.complete(replace(prepared, deadline_s=5.0, tags={"task_type": "inline_completion"}))
    await client.aclose()
    assert result.text == "return a + b;"
    assert client.parking.taken == 1
    assert len(fake_api.requests) == 1
    assert fake_api.requests[0].body == {**request_params(prepared), "stream": True}


async def test_a_parked_call_gets_a_connection_ready_without_sending(fake_api: FakeAnthropic) -> None:
    """After a while without calls the pool is empty: the TCP (and, for the API, TLS) handshake is done in the
    pause, not on the request's path; a pool with a live connection opens none."""
    fake_api.set_default(Reply(text="ok"))
    client = await ready_client(fake_api)
    client.prepare(prompt("const a ="))
    await asyncio.sleep(0.2)
    assert (fake_api.connections_accepted, len(fake_api.requests)) == (1, 0)
    await client.complete(prompt("const a ="))
    assert (fake_api.connections_accepted, len(fake_api.requests)) == (1, 1)  # the call used it
    client.prepare(prompt("const ab ="))
    await asyncio.sleep(0.2)
    await client.complete(prompt("const ab ="))
    await client.aclose()
    assert (fake_api.connections_accepted, len(fake_api.requests)) == (1, 2)


async def test_an_unreachable_api_fails_the_call_not_the_pause() -> None:
    client = AnthropicModelClient(api_key=KEY, base_url="http://127.0.0.1:9", timeout_s=5)
    await client.warm_up()
    prepared = prompt()
    client.prepare(prepared)  # connecting in the pause fails quietly: nothing to report before a request
    await asyncio.sleep(0.2)
    with pytest.raises(ModelConnectionError):
        await client.complete(replace(prepared, deadline_s=3.0))
    await client.aclose()
    assert client.parking.taken == 1


async def test_a_new_prompt_cancels_the_parked_call_before_anything_is_sent(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(text="second"))
    client = await ready_client(fake_api)
    first, second = prompt("const a ="), prompt("const ab =")
    client.prepare(first)
    await asyncio.sleep(0.05)
    client.prepare(second)
    client.prepare(second)  # the same prompt again keeps the call already waiting
    await asyncio.sleep(0.05)
    assert (client.parking.parked, client.parking.dropped) == (2, 1)
    assert fake_api.requests == []

    result = await client.complete(second)
    await client.aclose()
    assert result.text == "second"
    assert [r.body["messages"][0]["content"] for r in fake_api.requests] == ["const ab ="]


async def test_a_call_for_another_prompt_sends_its_own_and_leaves_the_parked_one(fake_api: FakeAnthropic) -> None:
    fake_api.set_default(Reply(text="ok"))
    client = await ready_client(fake_api)
    cursor, job = prompt("at the cursor"), prompt("a background job's prompt")
    client.prepare(cursor)
    await asyncio.sleep(0.05)
    await client.complete(job)  # e.g. a background job on the same client
    assert [r.body["messages"][0]["content"] for r in fake_api.requests] == ["a background job's prompt"]
    await client.complete(cursor)
    await client.aclose()
    assert client.parking.taken == 1
    assert [r.body["messages"][0]["content"] for r in fake_api.requests][1:] == ["at the cursor"]


async def test_closing_the_client_cancels_a_parked_call_unsent(fake_api: FakeAnthropic) -> None:
    client = await ready_client(fake_api)
    client.prepare(prompt())
    await asyncio.sleep(0.05)
    await client.aclose()
    await asyncio.sleep(0.05)
    assert fake_api.requests == []
    assert client.parking.dropped == 1


async def test_cancelling_a_call_that_took_the_parked_one_closes_the_connection(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(text="word " * 200, per_token_s=0.01))
    client = await ready_client(fake_api)
    prepared = prompt()
    client.prepare(prepared)
    await asyncio.sleep(0.05)
    recorded, cancelled_at = await cancel_mid_stream(asyncio.create_task(client.complete(prepared)), fake_api)
    await client.aclose()
    assert client.parking.taken == 1
    assert recorded.client_disconnected_at is not None and recorded.client_disconnected_at - cancelled_at < 1.0
    assert recorded.tokens_after_disconnect == 0


async def test_the_deadline_covers_a_call_that_was_parked(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(text="late", ttft_s=2.0))
    client = await ready_client(fake_api)
    prepared = prompt()
    client.prepare(prepared)
    await asyncio.sleep(0.05)
    started = time.monotonic()
    with pytest.raises(ModelTimeout):
        await client.complete(replace(prepared, deadline_s=0.3))
    assert time.monotonic() - started < 1.5
    await fake_api.wait_for_disconnect_async(0, timeout=5)
    await client.aclose()
    assert client.parking.taken == 1


async def test_the_sdks_own_http_stack_parks_nothing(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, Reply(text="ok"))
    client = await ready_client(fake_api, http_client="httpx")  # it has no send gate: a call would go out
    prepared = prompt()
    client.prepare(prepared)
    await asyncio.sleep(0.05)
    assert client.parking.parked == 0 and fake_api.requests == []
    assert (await client.complete(prepared)).text == "ok"
    await client.aclose()


def test_without_a_running_loop_nothing_is_parked(fake_api: FakeAnthropic) -> None:
    client = asyncio.run(ready_client(fake_api))
    client.prepare(prompt())  # e.g. a caller outside the server's loop: the body is built, no call started
    assert client.parking.parked == 0 and len(client._bodies) == 1


async def test_a_stream_that_opens_as_its_caller_gives_up_is_closed() -> None:
    """The race ``adopt`` covers: the call finishes on the same turn of the loop its awaiter is cancelled."""
    opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    closed: list[str] = []

    async def call() -> str:
        await opened
        return "stream"

    async def close(stream: str) -> None:
        closed.append(stream)

    task = asyncio.create_task(call())
    caller = asyncio.create_task(ParkingSlot(close).adopt(task))
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # the caller waits on the task, the task on `opened`
    opened.set_result(None)
    await asyncio.sleep(0)  # the task finishes; the caller is only scheduled to resume
    assert task.done() and not caller.done()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert closed == ["stream"]


async def test_a_prompt_prepared_while_the_client_closes_parks_nothing(fake_api: FakeAnthropic) -> None:
    client = await ready_client(fake_api)
    client.prepare(prompt("const a ="))
    await asyncio.sleep(0.05)
    closing = asyncio.create_task(client.aclose())
    await asyncio.sleep(0)  # aclose is under way: it waits for the dropped call to end
    client.prepare(prompt("const ab ="))  # e.g. the 25 ms prepare timer firing during shutdown
    await closing
    assert (client.parking.parked, client.parking.dropped) == (1, 1)
    assert fake_api.requests == []


async def noop_close(stream: str) -> None:
    return None


async def test_a_slot_holds_the_newest_call_only() -> None:
    slot: ParkingSlot[str] = ParkingSlot(noop_close)
    started: list[str] = []

    async def call(name: str) -> str:
        started.append(name)
        await asyncio.sleep(10)
        return name

    slot.park("a", lambda: call("a"))
    slot.park("b", lambda: call("b"))
    await asyncio.sleep(0)
    assert slot.take("a") is None  # replaced by "b"
    assert started == ["b"]  # "a" was cancelled before it ever ran
    await slot.aclose()
    assert (slot.parked, slot.taken, slot.dropped) == (2, 0, 2)


async def test_a_call_that_went_out_without_waiting_turns_parking_off_and_is_closed() -> None:
    """If the gate were ever bypassed (a transport or dependency that sends from another context), each
    pause would send a billed call: the first such call is closed and parking stops."""
    closed: list[str] = []

    async def close(stream: str) -> None:
        closed.append(stream)

    async def sent_at_once() -> str:  # never awaits the gate
        return "open stream"

    slot: ParkingSlot[str] = ParkingSlot(close)
    slot.park("a", sent_at_once)
    for _ in range(3):
        await asyncio.sleep(0)
    assert slot.disabled and closed == ["open stream"]
    slot.park("b", sent_at_once)
    assert slot.parked == 1 and slot.take("b") is None
    await slot.aclose()


async def test_a_call_that_fails_before_the_gate_is_not_taken() -> None:
    async def fails() -> str:
        raise ValueError("the SDK could not build the request")

    slot: ParkingSlot[str] = ParkingSlot(noop_close)
    slot.park("a", fails)
    await asyncio.sleep(0)
    assert slot.take("a") is None and not slot.disabled  # the caller sends its own (and sees the error)
    await slot.aclose()
