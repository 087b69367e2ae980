"""Pytest fixtures for the loopback Anthropic API fake. Import them in a conftest to use them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_anthropic import FakeAnthropic


@pytest.fixture
def fake_api() -> Iterator[FakeAnthropic]:
    """A fresh fake Messages API on 127.0.0.1, started for one test and stopped after it."""
    with FakeAnthropic() as fake:
        yield fake
