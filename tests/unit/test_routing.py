"""The classifier: the seed's decision matrix, readable reasons, variants, interactive pinning."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ai_coding_router.config import RoutingConfig, RoutingVariant
from ai_coding_router.routing import TASK_KINDS, TaskFacts, choose_variant, route_interactive, route_task, score_task

CONFIG = RoutingConfig()
FAST, DEEP = CONFIG.default_model, CONFIG.escalation_model


def facts(kind: str, **kw: object) -> TaskFacts:
    return TaskFacts(task_id=kw.pop("task_id", "t1"), kind=kind, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("scenario", "task", "model"),
    [
        ("single-file function generation", facts("refactor", symbols=("sum",)), FAST),
        ("single-file fix", facts("fix", symbols=("clamp",), direct_references=1), FAST),
        ("unit tests for a widely used function", facts("tests", symbols=("createUser",), direct_references=9,
                                                        referencing_modules=3), FAST),
        ("explain", facts("explain", direct_references=20, referencing_modules=4), FAST),
        ("completion", facts("completion"), FAST),
        ("multi-module refactor", facts("refactor", symbols=("createUser",), direct_references=7,
                                        referencing_modules=3), DEEP),
        ("security audit of an auth flow", facts("security-review", security_reasons=("path: auth",)), DEEP),
        ("architecture", facts("architecture"), DEEP),
        ("a fix inside auth code", facts("fix", security_reasons=("imports jsonwebtoken",)), DEEP),
    ],
)
def test_decision_matrix(scenario: str, task: TaskFacts, model: str) -> None:
    assert route_task(task, CONFIG).model == model, scenario


def test_reasons_are_readable_lines_naming_symbols_and_counts() -> None:
    route = route_task(facts("refactor", symbols=("createUser",), direct_references=7, referencing_modules=3),
                       CONFIG)
    assert "scope=multi-module: `createUser` referenced in 7 files across 3 modules (+0.45)" in route.reasons
    assert "kind=refactor (+0.30)" in route.reasons
    assert route.reasons[-1] == "score 0.75 >= threshold 0.75"
    assert route.tier == "deep"


def test_threshold_from_config() -> None:
    task = facts("refactor", symbols=("x",), direct_references=7, referencing_modules=3)
    assert route_task(task, RoutingConfig(complexity_threshold=0.9)).model == FAST
    assert route_task(task, RoutingConfig(complexity_threshold=0.5)).model == DEEP


def test_high_stakes_on_the_fast_model_need_signoff() -> None:
    lenient = RoutingConfig(complexity_threshold=1.0)
    route = route_task(facts("security-review"), lenient)
    assert route.model == FAST and route.needs_signoff
    assert not route_task(facts("security-review"), CONFIG).needs_signoff  # already on the deep model
    assert not route_task(facts("tests"), lenient).needs_signoff


def test_many_context_files_add_the_seed_rule() -> None:
    score_few, _ = score_task(facts("refactor", context_files=3))
    score_many, reasons = score_task(facts("refactor", context_files=12))
    assert score_many == pytest.approx(score_few + 0.2)
    assert any(r.startswith("context: 12 files needed") for r in reasons)


def test_interactive_is_pinned_to_the_fast_model_whatever_the_score() -> None:
    route = route_interactive(facts("security-review"), CONFIG)
    assert route.model == FAST and route.interactive
    assert route.score >= CONFIG.complexity_threshold  # the caller may offer a background job instead


def test_variants_are_stable_and_recorded() -> None:
    config = RoutingConfig(variants=[RoutingVariant(name="a", complexity_threshold=0.2),
                                     RoutingVariant(name="b", complexity_threshold=0.95)])
    routes = {task_id: route_task(facts("refactor", task_id=task_id), config) for task_id in map(str, range(200))}
    names = [r.variant for r in routes.values()]
    assert set(names) == {"a", "b"}
    assert 60 < names.count("a") < 140  # roughly the 1:1 weights
    for task_id, route in routes.items():
        assert route_task(facts("refactor", task_id=task_id), config).variant == route.variant
        assert route.threshold == (0.2 if route.variant == "a" else 0.95)
        assert any("experiment variant" in r for r in route.reasons)


def test_variant_weights() -> None:
    variants = [RoutingVariant(name="a", complexity_threshold=0.5, weight=9),
                RoutingVariant(name="b", complexity_threshold=0.5, weight=1)]
    chosen = [choose_variant(str(i), variants) for i in range(1000)]
    share_b = sum(1 for v in chosen if v is not None and v.name == "b") / 1000
    assert 0.05 < share_b < 0.16
    assert choose_variant("x", []) is None


@given(
    kind=st.sampled_from(TASK_KINDS),
    direct=st.integers(0, 500), transitive=st.integers(0, 5000), modules=st.integers(0, 50),
    context=st.integers(0, 100), lines=st.integers(0, 10_000), security=st.booleans(),
)
def test_score_is_always_in_unit_interval(kind: str, direct: int, transitive: int, modules: int, context: int,
                                          lines: int, security: bool) -> None:
    task = TaskFacts(task_id="p", kind=kind, direct_references=direct, transitive_references=transitive,
                     referencing_modules=modules, context_files=context, selection_lines=lines,
                     security_reasons=("auth",) if security else ())
    score, reasons = score_task(task)
    assert 0.0 <= score <= 1.0
    assert reasons and reasons[0].startswith(f"kind={kind}")
