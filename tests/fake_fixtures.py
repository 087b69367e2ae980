"""Pytest fixtures for the loopback Anthropic API fake. Import them in a conftest to use them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fake_anthropic import FakeAnthropic
from tests.fake_anthropic.records import RecordedRequest


@pytest.fixture
def fake_api() -> Iterator[FakeAnthropic]:
    """A fresh fake Messages API on 127.0.0.1, started for one test and stopped after it."""
    with FakeAnthropic() as fake:
        yield fake


async def cancel_mid_stream(task: asyncio.Task[Any], fake: FakeAnthropic) -> tuple[RecordedRequest, float]:
    """Cancel a model call 0.1 s into its (first) stream; the fake's record once it saw the client go, and
    when the cancel happened."""
    await fake.wait_for_requests_async(1, timeout=5)
    await asyncio.sleep(0.1)
    cancelled_at = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return await fake.wait_for_disconnect_async(0, timeout=5), cancelled_at
