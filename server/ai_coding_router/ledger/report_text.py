"""The report as tables for a terminal (rich)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from .pricing import format_usd, usd_digits


def pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def cost_cell(metrics: Mapping[str, Any], digits: int) -> str:
    """A group whose every call lacks a price has no cost, not a cost of zero."""
    if metrics["calls"] and metrics["unpriced_calls"] == metrics["calls"]:
        return "n/a"
    return format_usd(metrics["cost_usd"], digits)


def calls_phrase(count: int) -> str:
    return f"{count:,} call{'' if count == 1 else 's'}"


def _n(value: int) -> str:
    return f"{value:,}"


def _title(report: Mapping[str, Any]) -> str:
    window = report["window"]
    since = f" since {window['since']}" if window["since"] else " (all time)"
    return f"Model calls by {report['by']}{since}"


def renderables(report: Mapping[str, Any]) -> list[RenderableType]:
    totals = report["totals"]
    if not totals["calls"]:
        return [Text(f"{_title(report)}: no model calls recorded in this window.")]
    digits = usd_digits(totals["cost_usd"])
    main = Table(title=_title(report), show_footer=True, title_justify="left")
    columns: list[tuple[str, str]] = [
        (report["by"], "total"), ("calls", _n(totals["calls"])), ("input", _n(totals["input_tokens"])),
        ("output", _n(totals["output_tokens"])), ("cache write", _n(totals["cache_write_tokens"])),
        ("cache read", _n(totals["cache_read_tokens"])), ("cost", format_usd(totals["cost_usd"], digits)),
        ("cache hit", pct(totals["cache_hit_ratio"])), ("tasks", _n(totals["tasks"])),
        ("validated", pct(totals["success_rate"])), ("escalated", pct(totals["escalation_rate"])),
    ]
    for index, (header, footer) in enumerate(columns):
        main.add_column(header, footer=footer, justify="left" if index == 0 else "right")
    for group in report["groups"]:
        main.add_row(
            str(group["key"]), _n(group["calls"]), _n(group["input_tokens"]), _n(group["output_tokens"]),
            _n(group["cache_write_tokens"]), _n(group["cache_read_tokens"]), cost_cell(group, digits),
            pct(group["cache_hit_ratio"]), _n(group["tasks"]), pct(group["success_rate"]),
            pct(group["escalation_rate"]),
        )

    bands = Table(title="Validated-success rate by complexity band", title_justify="left")
    for header in ("route score", "tasks", "validated", "first time", "escalated"):
        bands.add_column(header, justify="left" if header == "route score" else "right")
    for band in report["success_by_band"]:
        bands.add_row(
            f"{band['low']:.2f}-{band['high']:.2f}", _n(band["tasks"]), pct(band["success_rate"]),
            pct(band["first_time_rate"]), pct(band["escalation_rate"]),
        )

    latency = Table(title="Latency per model", title_justify="left")
    for header in ("model", "calls", "p50", "p95", "first token p50", "first token p95"):
        latency.add_column(header, justify="left" if header == "model" else "right")
    for row in report["latency_by_model"]:
        latency.add_row(
            row["model"], _n(row["calls"]), ms(row["p50_ms"]), ms(row["p95_ms"]),
            ms(row["ttft_p50_ms"]), ms(row["ttft_p95_ms"]),
        )
    parts: list[RenderableType] = [main, bands, latency]
    if report["unpriced_models"]:
        parts.append(Text(
            f"{calls_phrase(totals['unpriced_calls'])} without a cost: no price for "
            f"{', '.join(report['unpriced_models'])} in cost_tracking.prices.",
            style="yellow",
        ))
    if totals["finished_tasks"] == 0 and totals["tasks"]:
        parts.append(Text("No validated tasks in this window: success and escalation rates need them."))
    return parts


def render_text(report: Mapping[str, Any], width: int = 140) -> str:
    """Plain text (no colour codes), as the tables would print on a terminal ``width`` columns wide."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False, legacy_windows=False)
    console.print(Group(*renderables(report)))
    return buffer.getvalue()
