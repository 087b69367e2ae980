"""Logging set-up: pygls's per-message logging stays out of the log unless DEBUG is asked for."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from ai_coding_router.logs import configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    pygls_level = logging.getLogger("pygls").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("pygls").setLevel(pygls_level)


def test_info_level_hides_pygls_message_bodies(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    logging.getLogger("pygls.protocol.json_rpc").info("Sending data: %s", '{"result": "user code"}')
    logging.getLogger("ai_coding_router.test").info("our own info line")
    err = capsys.readouterr().err
    assert "Sending data" not in err
    assert "our own info line" in err


def test_pygls_warnings_still_show(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    logging.getLogger("pygls.server").warning("connection trouble")
    assert "connection trouble" in capsys.readouterr().err


def test_debug_level_shows_pygls_traffic(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("DEBUG")
    logging.getLogger("pygls.protocol.json_rpc").info("Sending data: %s", "{}")
    assert "Sending data" in capsys.readouterr().err
