"""The complexity classifier: Task → Route(model, score, reasons). Pure and deterministic; no I/O.

The score adds up readable contributions in 0..1 — the task's kind, the scope of the change through the
dependency graph, the context it needs, a security surface, the error tolerance — and the route takes the
deep model when the score reaches ``routing.complexity_threshold``. The seed's decision matrix holds with
the default threshold (0.75): single-file generation, test generation and completions stay on the fast
model; multi-module refactors, security audits and architecture go to the deep model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .config import RoutingConfig, RoutingVariant

TaskKind = Literal[
    "completion", "quick_fix", "explain", "tests", "fix", "refactor", "architecture", "security-review"
]
TASK_KINDS: tuple[TaskKind, ...] = (
    "completion", "quick_fix", "explain", "tests", "fix", "refactor", "architecture", "security-review"
)
Tier = Literal["fast", "deep"]

# What the kind alone contributes.
KIND_BASE: dict[str, float] = {
    "completion": 0.0,
    "quick_fix": 0.05,
    "explain": 0.05,
    "tests": 0.10,
    "fix": 0.15,
    "refactor": 0.30,
    "architecture": 0.80,
    "security-review": 0.85,
}
# How much the reach of a change matters for the kind: a refactor changes what others use; an
# explanation or a test of a widely used function does not.
SCOPE_WEIGHT: dict[str, float] = {
    "completion": 0.0, "quick_fix": 0.3, "explain": 0.0, "tests": 0.2, "fix": 0.6,
    "refactor": 1.0, "architecture": 1.0, "security-review": 0.0,
}
MULTI_MODULE = 0.45  # the change reaches files in two or more top-level modules, or 5+ files
MULTI_FILE = 0.25  # the change reaches other files of one module
WIDE_BLAST_RADIUS = 0.10  # more than 10 files one level further
MANY_CONTEXT_FILES = 0.20  # the task needs more than 10 context files (the seed's rule)
SECURITY_SURFACE = 0.60  # auth, sessions, tokens, crypto, SQL/exec/eval, CORS, cookies...
SECURITY_SURFACE_READ_ONLY = 0.30  # tests or explanations of security code: careful, not structural
LARGE_SELECTION = 0.10  # more than 200 lines selected
HIGH_TOLERANCE = -0.05  # explanations and tests: a wrong answer is cheap to see and to throw away


@dataclass(frozen=True)
class TaskFacts:
    """What the classifier knows about a task. Built from the context engine's ImpactFacts."""

    task_id: str
    kind: str
    path: str = ""
    symbols: tuple[str, ...] = ()
    direct_references: int = 0
    transitive_references: int = 0
    referencing_modules: int = 0
    context_files: int = 0
    security_reasons: tuple[str, ...] = ()
    selection_lines: int = 0
    is_test_file: bool = False


@dataclass(frozen=True)
class Route:
    model: str
    tier: Tier
    score: float
    threshold: float
    reasons: tuple[str, ...]
    variant: str | None = None
    needs_signoff: bool = False  # high-stakes work generated on the fast model needs a deep-model review
    interactive: bool = False

    def as_json(self) -> dict[str, object]:
        return {
            "model": self.model, "tier": self.tier, "score": round(self.score, 3), "threshold": self.threshold,
            "reasons": list(self.reasons), "variant": self.variant, "needsSignoff": self.needs_signoff,
        }


@dataclass(frozen=True)
class _Contribution:
    amount: float
    reason: str


@dataclass
class _Score:
    parts: list[_Contribution] = field(default_factory=list)

    def add(self, amount: float, reason: str, *, always: bool = False) -> None:
        if amount or always:
            self.parts.append(_Contribution(amount, reason))

    @property
    def total(self) -> float:
        return min(1.0, max(0.0, sum(p.amount for p in self.parts)))

    def reasons(self) -> tuple[str, ...]:
        return tuple(f"{p.reason} ({p.amount:+.2f})" for p in self.parts)


def _names(symbols: Sequence[str]) -> str:
    shown = ", ".join(f"`{s}`" for s in symbols[:3])
    return shown + (f" and {len(symbols) - 3} more" if len(symbols) > 3 else "") if shown else "the selection"


def score_task(facts: TaskFacts) -> tuple[float, tuple[str, ...]]:
    """The complexity score in 0..1 and one readable line per contribution."""
    kind = facts.kind if facts.kind in KIND_BASE else "refactor"
    score = _Score()
    score.add(KIND_BASE[kind], f"kind={kind}", always=True)

    weight = SCOPE_WEIGHT[kind]
    who = _names(facts.symbols)
    if facts.referencing_modules >= 2 or facts.direct_references >= 5:
        score.add(
            round(MULTI_MODULE * weight, 3),
            f"scope=multi-module: {who} referenced in {facts.direct_references} files across "
            f"{facts.referencing_modules} modules",
        )
    elif facts.direct_references >= 1:
        score.add(round(MULTI_FILE * weight, 3), f"scope=multi-file: {who} referenced in "
                  f"{facts.direct_references} file{'s' if facts.direct_references != 1 else ''}")
    if facts.transitive_references > 10:
        score.add(round(WIDE_BLAST_RADIUS * weight, 3),
                  f"blast radius: {facts.transitive_references} files one level further")
    if facts.context_files > 10:
        score.add(MANY_CONTEXT_FILES, f"context: {facts.context_files} files needed")

    if facts.security_reasons and kind != "security-review":
        read_only = kind in ("explain", "tests", "completion")
        amount = SECURITY_SURFACE_READ_ONLY if read_only else SECURITY_SURFACE
        score.add(amount, f"security surface: {', '.join(facts.security_reasons[:3])}")
    if facts.selection_lines > 200:
        score.add(LARGE_SELECTION, f"large selection: {facts.selection_lines} lines")
    if kind in ("explain", "tests") or facts.is_test_file:
        score.add(HIGH_TOLERANCE, "error tolerance=high: the result is easy to check and to discard")
    return score.total, score.reasons()


def choose_variant(task_id: str, variants: Sequence[RoutingVariant]) -> RoutingVariant | None:
    """Assign a routing experiment arm by a stable hash of the task id (same task, same arm, always)."""
    if not variants:
        return None
    total = sum(v.weight for v in variants)
    digest = int.from_bytes(hashlib.sha256(task_id.encode("utf-8")).digest()[:8], "big")
    point = digest / 2**64 * total
    for variant in variants:
        point -= variant.weight
        if point < 0:
            return variant
    return variants[-1]


def route_task(facts: TaskFacts, config: RoutingConfig) -> Route:
    """A background task's route: the deep model when the score reaches the threshold."""
    score, reasons = score_task(facts)
    variant = choose_variant(facts.task_id, config.variants)
    threshold = variant.complexity_threshold if variant else config.complexity_threshold
    deep = score >= threshold
    high_stakes = facts.kind in ("security-review", "architecture") or (bool(facts.security_reasons) and (
        facts.kind in ("fix", "refactor")
    ))
    verdict = f"score {score:.2f} {'>=' if deep else '<'} threshold {threshold:.2f}"
    if variant is not None:
        verdict += f" (experiment variant {variant.name})"
    return Route(
        model=config.escalation_model if deep else config.default_model,
        tier="deep" if deep else "fast",
        score=score,
        threshold=threshold,
        reasons=(*reasons, verdict),
        variant=variant.name if variant else None,
        needs_signoff=high_stakes and not deep,
    )


def route_interactive(facts: TaskFacts, config: RoutingConfig) -> Route:
    """Interactive requests are pinned to the fast model; the score still says whether it would want more."""
    score, reasons = score_task(facts)
    return Route(
        model=config.default_model,
        tier="fast",
        score=score,
        threshold=config.complexity_threshold,
        reasons=(*reasons, "interactive: pinned to the fast model (latency budget first)"),
        interactive=True,
    )
