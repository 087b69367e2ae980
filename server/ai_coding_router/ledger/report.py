"""Pure aggregation of ledger rows into a report (a JSON-ready dict); text and HTML render it.

Call metrics (calls, tokens, cost, cache-hit ratio, latency) count every call in the group. Task metrics
(success, first-time and escalation rates) count each task once, in the group of its first call, and only
tasks that finished validation (``FINISHED_OUTCOMES``): cancelled tasks and unvalidated completions say
nothing about routing. A task's outcome is the one the pipeline set, else it is derived from its calls.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from .records import FINISHED_OUTCOMES, SUCCESS_OUTCOMES, ReportInput

GROUPINGS = ("model", "task_type", "day", "variant")  # and "tag:NAME"
NONE_KEY = "(none)"
BUCKET_S = 900  # the store groups time in 15-minute buckets; every real UTC offset is a multiple of them


_TAG_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def parse_group_by(text: str) -> str:
    if text in GROUPINGS:
        return text
    if text.startswith("tag:") and _TAG_NAME.match(text[4:]):
        return text
    if text == "tag":
        raise ValueError("--by tag needs a tag name: --by tag:team")
    raise ValueError(
        f"cannot group by {text!r}; use one of {', '.join(GROUPINGS)} or tag:NAME (letters, digits, _ . -)"
    )


_RELATIVE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")


def parse_since(text: str, now: datetime) -> datetime:
    """``7d``, ``24h``, ``2w`` before ``now``, or a date / ISO date-time (a bare date is local midnight)."""
    match = _RELATIVE.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        units = {"h": "hours", "d": "days", "w": "weeks"}
        return now - timedelta(**{units[unit]: amount})
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--since {text!r}: use a date (2026-11-01), a date-time, or 7d / 24h / 2w") from None
    if parsed.tzinfo is None and now.tzinfo is not None:
        parsed = parsed.replace(tzinfo=now.tzinfo)
    return parsed


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


def derive_task_outcome(last_outcome: str, escalated: bool, repaired: bool) -> str:
    if last_outcome in ("failed", "cancelled", "timed_out"):
        return last_outcome
    if last_outcome == "validated":
        return "escalated" if escalated else "repaired" if repaired else "validated"
    return last_outcome


@dataclass
class _Calls:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0


@dataclass
class _Tasks:
    tasks: int = 0
    finished: int = 0
    succeeded: int = 0
    first_time: int = 0
    escalated: int = 0


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _metrics(calls: _Calls, tasks: _Tasks) -> dict[str, Any]:
    seen_input = calls.input_tokens + calls.cache_read_tokens + calls.cache_write_tokens
    return {
        "calls": calls.calls,
        "input_tokens": calls.input_tokens,
        "output_tokens": calls.output_tokens,
        "cache_write_tokens": calls.cache_write_tokens,
        "cache_read_tokens": calls.cache_read_tokens,
        "cost_usd": round(calls.cost_usd, 6),
        "unpriced_calls": calls.unpriced_calls,
        "cache_hit_ratio": _rate(calls.cache_read_tokens, seen_input),
        "tasks": tasks.tasks,
        "finished_tasks": tasks.finished,
        "success_rate": _rate(tasks.succeeded, tasks.finished),
        "first_time_rate": _rate(tasks.first_time, tasks.finished),
        "escalation_rate": _rate(tasks.escalated, tasks.finished),
    }


def _bands(count: int) -> list[tuple[float, float]]:
    return [(round(i / count, 4), round((i + 1) / count, 4)) for i in range(count)]


def _band_index(score: float, count: int) -> int:
    return min(max(int(score * count), 0), count - 1)


class _DayOf:
    """Local date of a 15-minute bucket (every real UTC offset is a multiple of 15 minutes)."""

    def __init__(self, tz: tzinfo | None) -> None:
        self._tz = tz
        self._cache: dict[int, str] = {}

    def __call__(self, bucket: int) -> str:
        day = self._cache.get(bucket)
        if day is None:
            day = datetime.fromtimestamp(bucket * BUCKET_S, self._tz).date().isoformat()
            self._cache[bucket] = day
        return day


def build_report(
    data: ReportInput,
    *,
    by: str = "model",
    tz: tzinfo | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    bands: int = 5,
    score_bins: int = 10,
) -> dict[str, Any]:
    """The report dict from what the store read (``LedgerStore.report_input``). Pure."""
    by = parse_group_by(by)
    day_of = _DayOf(tz)

    def label(key: str | int) -> str:
        return day_of(key) if by == "day" and isinstance(key, int) else str(key)

    groups: dict[str, _Calls] = {}
    for sums in data.sums:
        acc = groups.setdefault(label(sums.key), _Calls())
        acc.calls += sums.calls
        acc.input_tokens += sums.input_tokens
        acc.output_tokens += sums.output_tokens
        acc.cache_write_tokens += sums.cache_write_tokens
        acc.cache_read_tokens += sums.cache_read_tokens
        acc.cost_usd += sums.cost_usd
        acc.unpriced_calls += sums.unpriced_calls
    totals = _Calls()
    for acc in groups.values():
        for name in ("calls", "input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens",
                     "cost_usd", "unpriced_calls"):
            setattr(totals, name, getattr(totals, name) + getattr(acc, name))
    day_model: dict[tuple[str, str], float] = {}
    unpriced_models: set[str] = set()
    for bucket in data.cost_buckets:
        if bucket.unpriced_calls:
            unpriced_models.add(bucket.model)
        if bucket.cost_usd:
            dm = (day_of(bucket.bucket), bucket.model)
            day_model[dm] = day_model.get(dm, 0.0) + bucket.cost_usd

    # Plain lists in the hot loop: 100,000 calls must aggregate in well under a second.
    latency: dict[str, list[float]] = {}
    ttft: dict[str, list[float]] = {}
    tasks: dict[str, list[Any]] = {}  # task id -> [group key, score, last outcome, escalated, repaired]
    for key, task_id, role, model, score, outcome, latency_ms, ttft_ms in data.calls:
        lat = latency.get(model)
        if lat is None:
            lat = latency[model] = []
            ttft[model] = []
        lat.append(latency_ms)
        if ttft_ms is not None:
            ttft[model].append(ttft_ms)
        task = tasks.get(task_id)
        if task is None:
            task = tasks[task_id] = [key, score, outcome, False, False]
        else:
            task[2] = outcome
            if task[1] is None:
                task[1] = score
        if role == "escalate":
            task[3] = True
        elif role == "repair":
            task[4] = True

    group_tasks: dict[str, _Tasks] = {key: _Tasks() for key in groups}
    total_tasks = _Tasks()
    band_stats = [_Tasks() for _ in range(bands)]
    bin_stats = [_Tasks() for _ in range(score_bins)]
    outcomes = data.task_outcomes
    for task_id, (key, score, last_outcome, escalated, repaired) in tasks.items():
        outcome = outcomes.get(task_id) or derive_task_outcome(last_outcome, escalated, repaired)
        counted = [group_tasks.setdefault(label(key), _Tasks()), total_tasks]
        finished = outcome in FINISHED_OUTCOMES
        if finished and score is not None:
            counted += [band_stats[_band_index(score, bands)], bin_stats[_band_index(score, score_bins)]]
        for stats in counted:
            stats.tasks += 1
            if finished:
                stats.finished += 1
                stats.succeeded += outcome in SUCCESS_OUTCOMES
                stats.first_time += outcome == "validated"
                stats.escalated += escalated or outcome == "escalated"

    group_list = [{"key": key, **_metrics(groups.get(key, _Calls()), group_tasks[key])} for key in group_tasks]
    if by == "day":
        group_list.sort(key=lambda g: str(g["key"]))
    else:
        group_list.sort(key=lambda g: (-float(g["cost_usd"]), str(g["key"])))

    def band_rows(stats: list[_Tasks], count: int) -> list[dict[str, Any]]:
        return [
            {"low": low, "high": high, "tasks": s.finished, "succeeded": s.succeeded,
             "success_rate": _rate(s.succeeded, s.finished), "first_time_rate": _rate(s.first_time, s.finished),
             "escalation_rate": _rate(s.escalated, s.finished)}
            for (low, high), s in zip(_bands(count), stats, strict=True)
        ]

    latency_rows = []
    for model in sorted(latency):
        lat_sorted, ttft_sorted = sorted(latency[model]), sorted(ttft[model])
        latency_rows.append({
            "model": model, "calls": len(lat_sorted),
            "p50_ms": _round(percentile(lat_sorted, 0.5)), "p95_ms": _round(percentile(lat_sorted, 0.95)),
            "ttft_p50_ms": _round(percentile(ttft_sorted, 0.5)), "ttft_p95_ms": _round(percentile(ttft_sorted, 0.95)),
        })
    return {
        "window": {
            "since": since.isoformat(timespec="seconds") if since else None,
            "until": until.isoformat(timespec="seconds") if until else None,
        },
        "by": by,
        "totals": _metrics(totals, total_tasks),
        "groups": group_list,
        "success_by_band": band_rows(band_stats, bands),
        "success_by_score": band_rows(bin_stats, score_bins),
        "latency_by_model": latency_rows,
        "cost_by_day_model": [
            {"day": d, "model": m, "cost_usd": round(c, 6)} for (d, m), c in sorted(day_model.items())
        ],
        "unpriced_models": sorted(unpriced_models),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
