"""OpenTelemetry export (GenAI conventions): in-memory exporters, then a real OTLP/HTTP round trip."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from ai_coding_router.ledger import telemetry
from ai_coding_router.ledger.git import BranchCache
from ai_coding_router.ledger.service import Ledger

from .helpers import OPUS, call, config

PROMPT = "PROMPT-TEXT-that-must-never-leave-the-machine"


class Pipeline:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.metrics = InMemoryMetricReader()
        self.sink = telemetry.GenAITelemetry(tracer_provider, MeterProvider(metric_readers=[self.metrics]))

    def points(self) -> dict[str, list[Any]]:
        data = self.metrics.get_metrics_data()
        found: dict[str, list[Any]] = {}
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found


def sample(**fields: Any) -> Any:
    defaults: dict[str, Any] = {
        "model": OPUS, "task_id": "task-9", "task_kind": "tests", "role": "escalate", "input_tokens": 1200,
        "output_tokens": 300, "cache_write_tokens": 50, "cache_read_tokens": 4000, "latency_ms": 2500.0,
        "ttft_ms": 400.0, "route_score": 0.8, "variant": "B", "tags": {"team": "core"}, "prompt": PROMPT,
        "ts": 1_800_000_000.0,
    }
    defaults.update(fields)
    return call(**defaults)


def test_a_call_becomes_a_genai_span_and_metrics_without_prompt_text() -> None:
    pipe = Pipeline()
    pipe.sink.export(sample(), 0.0161)
    (span,) = pipe.spans.get_finished_spans()
    assert span.name == f"chat {OPUS}" and span.kind == SpanKind.CLIENT
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat" and attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.request.model"] == OPUS
    assert attrs["gen_ai.usage.input_tokens"] == 1200 + 4000 + 50  # cached tokens included
    assert attrs["gen_ai.usage.output_tokens"] == 300
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 4000
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 50
    assert attrs["ai_coding_router.cost_usd"] == 0.0161 and attrs["ai_coding_router.task.id"] == "task-9"
    assert attrs["ai_coding_router.tag.team"] == "core" and attrs["ai_coding_router.route.score"] == 0.8
    assert span.end_time == 1_800_000_000 * 10**9 and span.start_time == span.end_time - 2_500_000_000
    assert all(PROMPT not in str(value) for value in attrs.values())
    points = pipe.points()
    tokens = {p.attributes["gen_ai.token.type"]: p.sum for p in points["gen_ai.client.token.usage"]}
    assert tokens == {"input": 5250, "output": 300}
    (duration,) = points["gen_ai.client.operation.duration"]
    assert duration.sum == 2.5 and duration.attributes["gen_ai.request.model"] == OPUS
    assert "ai_coding_router.task.id" not in duration.attributes  # metrics stay low-cardinality
    assert points["gen_ai.client.operation.time_to_first_chunk"][0].sum == 0.4
    assert points["ai_coding_router.cost"][0].value == 0.0161
    every_value = [str(v) for name in points for p in points[name] for v in p.attributes.values()]
    assert all(PROMPT not in value for value in every_value)


def test_cancelled_and_timed_out_calls_are_errors() -> None:
    pipe = Pipeline()
    pipe.sink.export(sample(outcome="timed_out"), None)
    (span,) = pipe.spans.get_finished_spans()
    assert span.status.status_code == StatusCode.ERROR and span.attributes["error.type"] == "timeout"  # type: ignore[index]
    assert "ai_coding_router.cost_usd" not in (span.attributes or {})  # unknown cost: left out, not zero


async def test_the_ledger_feeds_telemetry_even_when_its_file_is_unusable(tmp_path: Path) -> None:
    pipe = Pipeline()
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"x" * 5000)
    ledger = await Ledger.open(config({"ledger_path": str(bad)}), tmp_path, env={}, tz=UTC, sinks=[pipe.sink],
                               branch_cache=BranchCache(None))
    assert not ledger.enabled
    await ledger.record(sample(task_id="t-1", tags={}))
    await ledger.flush()
    (span,) = pipe.spans.get_finished_spans()
    # Cost comes from the configured prices: opus 1200*5 + 300*25 + 50*6.25 + 4000*0.5 micro-dollars
    assert span.attributes["ai_coding_router.cost_usd"] == pytest.approx(  # type: ignore[index]
        (6000 + 7500 + 312.5 + 2000) / 1e6
    )
    await ledger.aclose()


def test_from_env_needs_an_endpoint_and_says_when_the_extra_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    assert telemetry.from_env({}) is None
    assert telemetry.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"}) is None
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    with pytest.raises(telemetry.TelemetryUnavailable, match=r"ai-coding-router\[otel\]"):
        telemetry.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    _Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_otlp_http_round_trip_to_a_loopback_collector(collector: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", raising=False)
    sink = telemetry.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": collector})
    assert sink is not None
    sink.export(sample(), 0.02)
    sink.shutdown()  # flushes the batch span processor and the periodic metric reader
    paths = {path for path, _ in _Collector.received}
    assert {"/v1/traces", "/v1/metrics"} <= paths
    traces = b"".join(body for path, body in _Collector.received if path == "/v1/traces")
    metrics = b"".join(body for path, body in _Collector.received if path == "/v1/metrics")
    assert b"gen_ai.usage.input_tokens" in traces and OPUS.encode() in traces
    assert b"gen_ai.client.token.usage" in metrics and b"ai-coding-router" in metrics  # service.name
    assert PROMPT.encode() not in traces + metrics
