"""The report as one self-contained HTML page: inline CSS and SVG charts, no scripts, nothing fetched.

Every string from the ledger (models, tags, days) is escaped. Chart marks carry ``data-*`` attributes
with their numbers, and a ``<title>`` so a hover shows them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from html import escape
from typing import Any

from .pricing import format_usd, usd_digits
from .report_text import calls_phrase, cost_cell, ms, pct

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#222;
padding:0 1rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{padding:.25rem .6rem;border-bottom:1px solid #ddd}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tfoot td{font-weight:600;border-top:2px solid #999}
.legend span{display:inline-block;margin-right:1rem}.legend i{display:inline-block;width:.8rem;height:.8rem;
margin-right:.3rem;vertical-align:middle}svg text{font:11px system-ui,sans-serif;fill:#444}.note{color:#8a6d00}
"""


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        candidate = step * 10.0**exponent
        if candidate >= value:
            return candidate
    return 10.0 ** (exponent + 1)


def _day_range(days: Sequence[str]) -> list[str]:
    if not days:
        return []
    first, last = date.fromisoformat(min(days)), date.fromisoformat(max(days))
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def cost_chart(cost_by_day_model: Sequence[Mapping[str, Any]]) -> str:
    """Stacked bars: cost per day, one colour per model."""
    if not cost_by_day_model:
        return "<p>No priced calls in this window.</p>"
    days = _day_range([str(row["day"]) for row in cost_by_day_model])
    models = sorted({str(row["model"]) for row in cost_by_day_model})
    colour = {model: PALETTE[i % len(PALETTE)] for i, model in enumerate(models)}
    cost: dict[tuple[str, str], float] = {
        (str(r["day"]), str(r["model"])): float(r["cost_usd"]) for r in cost_by_day_model
    }
    per_day = {day: sum(cost.get((day, m), 0.0) for m in models) for day in days}
    top = _nice_max(max(per_day.values()))
    width, height, left, bottom, top_pad = 900, 300, 60, 40, 10
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    slot = plot_w / len(days)
    bar_w = max(slot * 0.8, 1.0)
    parts = [f'<svg class="chart cost" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="Cost per day by model">']
    for i in range(5):
        value = top * i / 4
        y = top_pad + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(format_usd(value))}</text>')
    label_every = max(1, math.ceil(len(days) / 12))
    for index, day in enumerate(days):
        x = left + index * slot + (slot - bar_w) / 2
        y_base = float(top_pad + plot_h)
        for model in models:
            value = cost.get((day, model), 0.0)
            if value <= 0:
                continue
            h = plot_h * value / top
            y_base -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y_base:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour[model]}" '
                f'data-day="{escape(day)}" data-model="{escape(model)}" data-cost="{value:.6f}">'
                f"<title>{escape(day)} {escape(model)}: {escape(format_usd(value))}</title></rect>"
            )
        if index % label_every == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                         f"{escape(day[5:])}</text>")
    parts.append("</svg>")
    legend = "".join(f'<span><i style="background:{colour[m]}"></i>{escape(m)}</span>' for m in models)
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def success_chart(bins: Sequence[Mapping[str, Any]]) -> str:
    """Validated-success and first-time rates against the route's complexity score."""
    points = [b for b in bins if b["success_rate"] is not None]
    if not points:
        return "<p>No validated tasks with a route score in this window.</p>"
    width, height, left, bottom, top_pad = 900, 300, 50, 40, 10
    plot_w, plot_h = width - left - 20, height - bottom - top_pad
    most = max(int(b["tasks"]) for b in points)

    def xy(score: float, rate: float) -> tuple[float, float]:
        return left + plot_w * score, top_pad + plot_h * (1 - rate)

    parts = [f'<svg class="chart success" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="Success rate by complexity score">']
    for i in range(5):
        _, y = xy(0, i / 4)
        parts.append(f'<line x1="{left}" x2="{width - 20}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{i * 25}%</text>')
    for i in range(11):
        x, _ = xy(i / 10, 0)
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle">{i / 10:.1f}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle">route complexity score</text>')
    styles = (("success_rate", "#59a14f", ""), ("first_time_rate", "#4e79a7", ' stroke-dasharray="5 4"'))
    for series, colour, dash in styles:
        coords = [xy((float(b["low"]) + float(b["high"])) / 2, float(b[series])) for b in points]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        for (x, y), b in zip(coords, points, strict=True):
            radius = 3 + 5 * math.sqrt(int(b["tasks"]) / most)
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="{colour}" data-series="{series}" '
                f'data-low="{b["low"]}" data-high="{b["high"]}" data-rate="{b[series]}" data-tasks="{b["tasks"]}">'
                f'<title>score {b["low"]:.1f}-{b["high"]:.1f}: {pct(b[series])} of {b["tasks"]} tasks</title></circle>'
            )
    parts.append("</svg>")
    legend = ('<div class="legend"><span><i style="background:#59a14f"></i>validated (any path)</span>'
              '<span><i style="background:#4e79a7"></i>validated first time</span></div>')
    return "".join(parts) + legend


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], footer: Sequence[str] | None = None) -> str:
    def cells(values: Sequence[str], tag: str) -> str:
        return "".join(f'<{tag}{"" if i == 0 else " class=n"}>{escape(v)}</{tag}>' for i, v in enumerate(values))

    body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in rows)
    foot = f"<tfoot><tr>{cells(footer, 'td')}</tr></tfoot>" if footer else ""
    return f"<table><thead><tr>{cells(headers, 'th')}</tr></thead><tbody>{body}</tbody>{foot}</table>"


def _group_cells(label: str, g: Mapping[str, Any], digits: int) -> list[str]:
    return [label, f"{g['calls']:,}", f"{g['input_tokens']:,}", f"{g['output_tokens']:,}",
            f"{g['cache_write_tokens']:,}", f"{g['cache_read_tokens']:,}", cost_cell(g, digits),
            pct(g["cache_hit_ratio"]), f"{g['tasks']:,}", pct(g["success_rate"]), pct(g["escalation_rate"])]


def render_html(report: Mapping[str, Any], title: str = "ai-coding-router cost report") -> str:
    window = report["window"]
    span = f"since {window['since']}" if window["since"] else "all time"
    digits = usd_digits(report["totals"]["cost_usd"])
    groups = _table(
        [report["by"], "calls", "input", "output", "cache write", "cache read", "cost", "cache hit", "tasks",
         "validated", "escalated"],
        [_group_cells(str(g["key"]), g, digits) for g in report["groups"]],
        _group_cells("total", report["totals"], digits),
    )
    bands = _table(
        ["route score", "tasks", "validated", "first time", "escalated"],
        [[f"{b['low']:.2f}-{b['high']:.2f}", f"{b['tasks']:,}", pct(b["success_rate"]), pct(b["first_time_rate"]),
          pct(b["escalation_rate"])] for b in report["success_by_band"]],
    )
    latency = _table(
        ["model", "calls", "p50", "p95", "first token p50", "first token p95"],
        [[r["model"], f"{r['calls']:,}", ms(r["p50_ms"]), ms(r["p95_ms"]), ms(r["ttft_p50_ms"]),
          ms(r["ttft_p95_ms"])] for r in report["latency_by_model"]],
    )
    note = ""
    if report["unpriced_models"]:
        note = (f'<p class="note">{calls_phrase(report["totals"]["unpriced_calls"])} without a cost: no price for '
                f'{escape(", ".join(report["unpriced_models"]))} in cost_tracking.prices.</p>')
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1><p>{escape(span)} · total {escape(format_usd(report['totals']['cost_usd'], digits))} "
        f"over {report['totals']['calls']:,} calls</p>{note}"
        f"<h2>Cost per day by model</h2>{cost_chart(report['cost_by_day_model'])}"
        f"<h2>Success rate by complexity score</h2>{success_chart(report['success_by_score'])}"
        f"<h2>By {escape(str(report['by']))}</h2>{groups}"
        f"<h2>Validated-success rate by complexity band</h2>{bands}"
        f"<h2>Latency per model</h2>{latency}"
        "</body></html>\n"
    )
