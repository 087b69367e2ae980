"""Fixtures for the validation tests: a copy of the fixture TypeScript project and the toolchain."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ai_coding_router.validation.runner import ValidationSession

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "validation"


@pytest.fixture
def workspace(tmp_path: Path, toolchain: Path) -> Path:
    """A fresh copy of tests/fixtures/validation/basic (no node_modules: the toolchain's are linked)."""
    target = tmp_path / "workspace"
    shutil.copytree(FIXTURES / "basic", target)
    return target


@pytest.fixture
def session() -> ValidationSession:
    return ValidationSession()
