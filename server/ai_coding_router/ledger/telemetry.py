"""Optional export of every call as OpenTelemetry spans and metrics (GenAI semantic conventions).

Install the ``otel`` extra and set ``OTEL_EXPORTER_OTLP_ENDPOINT`` (the standard OTLP variables apply).
Nothing of the prompt or the answer is exported: only model names, token counts, durations, cost, the
task's id/kind/outcome and the configured tags. ``opentelemetry`` is imported only when used.

``gen_ai.usage.input_tokens`` counts every input token, cached ones included (the conventions' rule;
Anthropic's own ``input_tokens`` leaves them out), and the cache parts are given separately.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import LedgerError
from .records import CallRecord

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

log = logging.getLogger(__name__)

PROVIDER = "anthropic"
_SCOPE = "ai_coding_router.ledger"
_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
_ERRORS = {"cancelled": "cancelled", "timed_out": "timeout"}
ENDPOINT_VARS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)


class TelemetryUnavailable(LedgerError):
    """Export was asked for (an OTLP endpoint is set) but the ``otel`` extra is not installed."""


class GenAITelemetry:
    """A ``CallSink``: one CLIENT span and the GenAI metrics per recorded call."""

    def __init__(self, tracer_provider: TracerProvider, meter_provider: MeterProvider, *, owned: bool = False):
        from opentelemetry.trace import SpanKind, StatusCode

        self._span_kind = SpanKind.CLIENT
        self._error_status = StatusCode.ERROR
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self._owned = owned
        self._tracer = tracer_provider.get_tracer(_SCOPE)
        meter = meter_provider.get_meter(_SCOPE)
        self._tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self._ttft = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk", unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self._cost = meter.create_counter(
            "ai_coding_router.cost", unit="USD", description="Cost of model calls, from the configured prices."
        )

    def export(self, call: CallRecord, cost_usd: float | None) -> None:
        common: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.request.model": call.model,
            "gen_ai.response.model": call.model,
        }
        error = _ERRORS.get(call.outcome)
        if error:
            common["error.type"] = error
        metric_attrs = {**common, "ai_coding_router.call.role": call.role, "ai_coding_router.task.kind": call.task_kind}
        for name in ("team", "task_type"):
            if name in call.tags:
                metric_attrs[f"ai_coding_router.tag.{name}"] = call.tags[name]

        input_total = call.input_tokens + call.cache_read_tokens + call.cache_write_tokens
        self._tokens.record(input_total, {**metric_attrs, "gen_ai.token.type": "input"})
        self._tokens.record(call.output_tokens, {**metric_attrs, "gen_ai.token.type": "output"})
        self._duration.record(call.latency_ms / 1000.0, metric_attrs)
        if call.ttft_ms is not None:
            self._ttft.record(call.ttft_ms / 1000.0, metric_attrs)
        if cost_usd is not None:
            self._cost.add(cost_usd, metric_attrs)

        span_attrs: dict[str, Any] = {
            **common,
            "gen_ai.usage.input_tokens": input_total,
            "gen_ai.usage.output_tokens": call.output_tokens,
            "gen_ai.usage.cache_creation.input_tokens": call.cache_write_tokens,
            "gen_ai.usage.cache_read.input_tokens": call.cache_read_tokens,
            "ai_coding_router.task.id": call.task_id,
            "ai_coding_router.task.kind": call.task_kind,
            "ai_coding_router.call.role": call.role,
            "ai_coding_router.call.outcome": call.outcome,
            "ai_coding_router.batch": call.batch,
        }
        if call.ttft_ms is not None:
            span_attrs["gen_ai.response.time_to_first_chunk"] = call.ttft_ms / 1000.0
        if call.route_score is not None:
            span_attrs["ai_coding_router.route.score"] = call.route_score
        if call.variant is not None:
            span_attrs["ai_coding_router.route.variant"] = call.variant
        if cost_usd is not None:
            span_attrs["ai_coding_router.cost_usd"] = cost_usd
        for name, value in call.tags.items():
            span_attrs[f"ai_coding_router.tag.{name}"] = value
        end_ns = int(call.ts * 1e9)
        start_ns = end_ns - int(call.latency_ms * 1e6)
        span = self._tracer.start_span(
            f"chat {call.model}", kind=self._span_kind, attributes=span_attrs, start_time=start_ns
        )
        if error:
            span.set_status(self._error_status, error)
        span.end(end_time=end_ns)

    def shutdown(self) -> None:
        """Flush and stop the providers this object created (not ones a caller passed in)."""
        if not self._owned:
            return
        for provider in (self._tracer_provider, self._meter_provider):
            shutdown = getattr(provider, "shutdown", None)
            if shutdown is not None:
                try:
                    shutdown()
                except Exception:
                    log.exception("telemetry shutdown failed")


def wanted(env: Mapping[str, str]) -> bool:
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(env.get(name) for name in ENDPOINT_VARS)


def from_env(env: Mapping[str, str]) -> GenAITelemetry | None:
    """OTLP/HTTP exporters configured by the standard ``OTEL_*`` variables; None when none is set.
    Raises ``TelemetryUnavailable`` when an endpoint is set but the extra is not installed."""
    if not wanted(env):
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise TelemetryUnavailable(
            "an OTLP endpoint is set but OpenTelemetry export is not installed: "
            "pip install 'ai-coding-router[otel]'"
        ) from exc
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or "ai-coding-router"})
    tracer_provider = SdkTracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    meter_provider = SdkMeterProvider(
        resource=resource, metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())]
    )
    return GenAITelemetry(tracer_provider, meter_provider, owned=True)
