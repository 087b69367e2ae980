"""Pure threshold tuning: which ``complexity_threshold`` would have served the recorded tasks best?

Each finished task with a route score is a sample: its score, the tier it was routed to (deep when its
first call went to a deep model), its outcome and its total cost (generate + repair + escalate + sign-off).
Scores are binned; for a candidate threshold every bin is served by the tier the threshold would pick,
with that tier's observed success rate and cost in the bin, weighted by how many tasks fell in the bin.
Where a bin has no sample of the tier needed, the nearest bin that has one stands in, and ``coverage``
says which share of the workload was estimated from direct observations. Routing experiments
(``routing.variants``) are what give both tiers' samples across the range; one fixed threshold gives
direct data only for itself.

The rule: among candidates with enough coverage, take the best expected success rate; among those within
``tolerance`` of it, the cheapest (ties: nearest to the current threshold).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from ..config import RoutingVariant
from .records import FINISHED_OUTCOMES, SUCCESS_OUTCOMES, CallRow
from .report import derive_task_outcome

Tier = Literal["fast", "deep"]


@dataclass(frozen=True)
class TaskSample:
    task_id: str
    score: float
    tier: Tier
    variant: str | None
    cost_usd: float
    outcome: str
    escalated: bool
    unpriced_calls: int = 0

    @property
    def succeeded(self) -> bool:
        return self.outcome in SUCCESS_OUTCOMES


@dataclass(frozen=True)
class Candidate:
    threshold: float
    expected_cost_per_task: float
    success_rate: float
    first_time_rate: float
    escalation_rate: float
    coverage: float


@dataclass
class _TaskAcc:
    score: float | None
    model: str
    generate_model: str | None
    variant: str | None
    cost: float = 0.0
    unpriced: int = 0
    last_outcome: str = "ok"
    escalated: bool = False
    repaired: bool = False


def task_samples(
    rows: Sequence[CallRow], task_outcomes: Mapping[str, str | None], deep_models: Collection[str]
) -> tuple[list[TaskSample], int]:
    """Samples from routed, finished tasks; also the number of tasks left out (no score, not finished)."""
    tasks: dict[str, _TaskAcc] = {}
    for row in rows:
        acc = tasks.get(row.task_id)
        if acc is None:
            acc = tasks[row.task_id] = _TaskAcc(row.route_score, row.model, None, row.variant)
        if acc.score is None:
            acc.score = row.route_score
        if acc.variant is None:
            acc.variant = row.variant
        if row.role == "generate" and acc.generate_model is None:
            acc.generate_model = row.model
        acc.cost += row.cost_usd or 0.0
        acc.unpriced += row.cost_usd is None
        acc.last_outcome = row.outcome
        acc.escalated |= row.role == "escalate"
        acc.repaired |= row.role == "repair"
    samples: list[TaskSample] = []
    for task_id, acc in tasks.items():
        outcome = task_outcomes.get(task_id) or derive_task_outcome(acc.last_outcome, acc.escalated, acc.repaired)
        if acc.score is None or outcome not in FINISHED_OUTCOMES:
            continue
        routed_to = acc.generate_model or acc.model
        tier: Tier = "deep" if routed_to in deep_models else "fast"
        samples.append(TaskSample(
            task_id, acc.score, tier, acc.variant, acc.cost, outcome,
            acc.escalated or outcome == "escalated", acc.unpriced,
        ))
    return samples, len(tasks) - len(samples)


@dataclass
class _Stats:
    n: int = 0
    cost: float = 0.0
    succeeded: int = 0
    first_time: int = 0
    escalated: int = 0

    def add(self, sample: TaskSample) -> None:
        self.n += 1
        self.cost += sample.cost_usd
        self.succeeded += sample.succeeded
        self.first_time += sample.outcome == "validated"
        self.escalated += sample.escalated


def _bin(score: float, bins: int) -> int:
    return min(max(int(score * bins + 1e-9), 0), bins - 1)


def evaluate(samples: Sequence[TaskSample], thresholds: Sequence[float], bins: int = 20) -> list[Candidate]:
    """Expected cost per task and rates, had each threshold routed the recorded workload."""
    weight = [0] * bins
    stats: dict[Tier, list[_Stats]] = {"fast": [_Stats() for _ in range(bins)], "deep": [_Stats() for _ in range(bins)]}
    for sample in samples:
        index = _bin(sample.score, bins)
        weight[index] += 1
        stats[sample.tier][index].add(sample)
    total = sum(weight)
    candidates: list[Candidate] = []
    if total == 0:
        return candidates
    for threshold in thresholds:
        cost = success = first = escalated = direct = 0.0
        usable = True
        for index in range(bins):
            if not weight[index]:
                continue
            tier: Tier = "deep" if index / bins >= threshold - 1e-9 else "fast"
            found = _nearest(stats[tier], index)
            if found is None:
                usable = False
                break
            share = weight[index] / total
            cost += share * found.cost / found.n
            success += share * found.succeeded / found.n
            first += share * found.first_time / found.n
            escalated += share * found.escalated / found.n
            direct += share if found is stats[tier][index] else 0.0
        if usable:
            candidates.append(Candidate(
                round(threshold, 4), round(cost, 6), round(success, 4), round(first, 4), round(escalated, 4),
                round(direct, 4),
            ))
    return candidates


def _nearest(per_bin: Sequence[_Stats], index: int) -> _Stats | None:
    for distance in range(len(per_bin)):
        for candidate in (index - distance, index + distance):
            if 0 <= candidate < len(per_bin) and per_bin[candidate].n:
                return per_bin[candidate]
    return None


def choose(
    candidates: Sequence[Candidate], current: float, tolerance: float = 0.01, min_coverage: float = 0.5
) -> Candidate | None:
    eligible = [c for c in candidates if c.coverage >= min_coverage]
    if not eligible:
        return None
    best = max(c.success_rate for c in eligible)
    near_best = [c for c in eligible if c.success_rate >= best - tolerance - 1e-9]
    return min(near_best, key=lambda c: (c.expected_cost_per_task, abs(c.threshold - current)))


def variant_results(samples: Sequence[TaskSample], variants: Sequence[RoutingVariant]) -> list[dict[str, Any]]:
    configured = {v.name: v.complexity_threshold for v in variants}
    groups: dict[str, _Stats] = {}
    for sample in samples:
        groups.setdefault(sample.variant or "(none)", _Stats()).add(sample)
    return [
        {
            "variant": name,
            "complexity_threshold": configured.get(name),
            "tasks": s.n,
            "cost_per_task": round(s.cost / s.n, 6),
            "success_rate": round(s.succeeded / s.n, 4),
            "first_time_rate": round(s.first_time / s.n, 4),
            "escalation_rate": round(s.escalated / s.n, 4),
        }
        for name, s in sorted(groups.items())
    ]


def tune(
    rows: Sequence[CallRow],
    task_outcomes: Mapping[str, str | None],
    *,
    current_threshold: float,
    deep_models: Collection[str],
    variants: Sequence[RoutingVariant] = (),
    step: float = 0.05,
    tolerance: float = 0.01,
    min_coverage: float = 0.5,
) -> dict[str, Any]:
    """The whole analysis as a JSON-ready dict: samples, every candidate, the suggestion, per-variant results."""
    samples, excluded = task_samples(rows, task_outcomes, deep_models)
    steps = max(1, round(1 / step))
    grid = sorted({round(i * step, 4) for i in range(steps + 1)} | {round(current_threshold, 4)})
    # Scores are binned at least as finely as 0.05, so the usual thresholds fall on bin edges.
    candidates = evaluate(samples, grid, max(20, steps))
    suggested = choose(candidates, current_threshold, tolerance, min_coverage)
    current = next((c for c in candidates if c.threshold == round(current_threshold, 4)), None)
    tiers = {t: sum(1 for s in samples if s.tier == t) for t in ("fast", "deep")}
    notes: list[str] = []
    if not samples:
        notes.append("No finished routed tasks in the ledger yet: nothing to tune on.")
    elif not tiers["fast"] or not tiers["deep"]:
        only = "fast" if tiers["fast"] else "deep"
        notes.append(f"Every task went to the {only} model: the other model's results are unknown, so no "
                     "threshold can be suggested. Run a routing experiment (routing.variants).")
    elif suggested is None:
        notes.append(f"No threshold has {min_coverage:.0%} of its workload observed directly; "
                     "run a routing experiment (routing.variants) to cover more scores.")
    unpriced = sum(s.unpriced_calls for s in samples)
    if unpriced:
        notes.append(f"{unpriced} calls have no price: their cost counts as zero.")
    return {
        "tasks": len(samples),
        "excluded_tasks": excluded,
        "tasks_by_tier": tiers,
        "rule": (f"best expected success rate, then the cheapest within {tolerance:.1%} of it, "
                 f"among thresholds with at least {min_coverage:.0%} coverage"),
        "current": asdict(current) if current else {"threshold": current_threshold},
        "suggested": asdict(suggested) if suggested and tiers["fast"] and tiers["deep"] else None,
        "candidates": [asdict(c) for c in candidates],
        "variants": variant_results(samples, variants),
        "notes": notes,
    }
