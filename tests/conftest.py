"""Shared pytest configuration: the fake Messages API and the pinned Node toolchain."""

from pathlib import Path

import pytest

from ai_coding_router.validation.tools import toolchain_dir
from tests.fake_fixtures import fake_api

__all__ = ["fake_api", "toolchain"]


@pytest.fixture
def toolchain() -> Path:
    """The project's TypeScript/eslint/vitest (installed by scripts/setup.sh); a clear failure without it."""
    found = toolchain_dir()
    if found is None:
        pytest.fail("the toolchain is not installed: run `npm ci --prefix toolchain` before the tests")
    return found
