"""Shared builders for the ledger tests."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ai_coding_router.config import Config, build_config
from ai_coding_router.ledger.records import CallRecord

_ids = itertools.count(1)

SONNET = "claude-sonnet-4-6"
OPUS = "claude-opus-4-7"
HAIKU = "claude-haiku-4-5"


def ts(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def call(**fields: Any) -> CallRecord:
    defaults: dict[str, Any] = {
        "call_id": f"call-{next(_ids)}",
        "task_id": "task-1",
        "task_kind": "refactor",
        "role": "generate",
        "model": SONNET,
        "outcome": "validated",
        "ts": ts(2026, 11, 3),
        "input_tokens": 1000,
        "output_tokens": 100,
        "latency_ms": 1000.0,
    }
    defaults.update(fields)
    return CallRecord(**defaults)


def config(cost_tracking: Mapping[str, Any] | None = None, routing: Mapping[str, Any] | None = None) -> Config:
    layer: dict[str, Any] = {}
    if cost_tracking:
        layer["cost_tracking"] = dict(cost_tracking)
    if routing:
        layer["routing"] = dict(routing)
    return build_config(layer)
