"""The pruner on the fixture workspace: order, ranking, exact budgets, options, bad input, secrets."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai_coding_router.config import ContextConfig
from ai_coding_router.context.index import IndexSnapshot, WorkspaceIndex
from ai_coding_router.context.prune import ContextRequest, ContextResult, prune, render
from ai_coding_router.context.tokens import estimate_tokens
from ai_coding_router.errors import ContextError

from .conftest import SECRET_VALUES, plant_secrets, populate

MAIN = "src/app/main.ts"
MEASURE_BLANK = 25  # the empty line inside measure(v: Vector)
START_CALL = 18  # `const total: Scalar = add(calc.result(), multiply(2, 3));`


def request(snap: IndexSnapshot, path: str, line: int, budget: int = 1024, **kw: object) -> ContextRequest:
    options = kw.pop("options", ContextConfig())
    return ContextRequest(
        path=path,
        text=snap.text(path),
        line=line,
        character=2,
        budget_tokens=budget,
        options=options,
        **kw,  # type: ignore[arg-type]
    )


def names_in(result: ContextResult) -> list[str]:
    return [s.symbol for s in result.snippets if s.symbol]


def test_cursor_window_comes_first_then_what_the_cursor_uses(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    result = prune(snap, request(snap, MAIN, MEASURE_BLANK, 1024))
    first = result.snippets[0]
    assert (first.path, first.kind) == (MAIN, "cursor")
    assert first.start_line <= MEASURE_BLANK <= first.end_line
    sent = names_in(result)
    # The enclosing function's parameter type, and an import not used yet (it is about to be).
    assert "Vector" in sent and "lengthOf" in sent
    assert sent.index("lengthOf") < len(sent)
    paths = [s.path for s in result.snippets]
    assert "src/lib/unrelated.ts" not in paths[: paths.index("src/lib/math.ts") + 1]
    assert all(s.kind != "cursor" for s in result.snippets[1:])
    lengthof = next(s for s in result.snippets if s.symbol == "lengthOf")
    assert lengthof.path == "src/lib/math.ts" and "Math.sqrt" not in lengthof.text  # body elided


def test_definitions_behind_aliases_and_namespaces(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    result = prune(snap, request(snap, MAIN, START_CALL + 1, 2048))
    by_symbol = {s.symbol: s for s in result.snippets if s.symbol}
    assert by_symbol["format"].path == "src/lib/format.ts"  # formatNumber → export {format as formatNumber}
    assert by_symbol["area"].path == "src/lib/shapes.ts"  # shapes.area through import * as shapes
    assert by_symbol["multiply"].path == "src/lib/math.ts"  # default import
    assert by_symbol["Calculator"].text.startswith("export class Calculator")
    assert by_symbol["Button"].path == "packages/ui/src/index.ts"  # workspace package


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_budget_is_never_exceeded(index: WorkspaceIndex, data: st.DataObject) -> None:
    snap = index.snapshot()
    path = data.draw(st.sampled_from(sorted(snap.files)))
    lines = snap.text(path).count("\n") + 1
    line = data.draw(st.integers(0, lines - 1))
    budget = data.draw(st.integers(0, 3000))
    options = ContextConfig(
        max_files=data.draw(st.integers(1, 20)),
        pruning_strategy=data.draw(st.sampled_from(["dependency_graph", "imports", "current_file"])),
        include_types=data.draw(st.booleans()),
        strip_documentation=data.draw(st.booleans()),
    )
    task = data.draw(st.sampled_from(["completion", "fix", "refactor", "tests", "review"]))
    result = prune(snap, request(snap, path, line, budget, options=options, task=task))
    assert result.tokens <= budget
    assert estimate_tokens(render(result)) <= result.tokens
    assert sum(s.tokens for s in result.snippets) == result.tokens
    assert len({s.path for s in result.snippets}) <= options.max_files


def test_strip_documentation(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    keep = prune(snap, request(snap, MAIN, START_CALL, 4096, options=ContextConfig(strip_documentation=False)))
    add = next(s for s in keep.snippets if s.symbol == "add")
    assert "JSDOC_MARKER_ADD" in add.text and add.start_line == 0  # the doc comment starts the snippet
    strip = prune(snap, request(snap, MAIN, START_CALL, 4096, options=ContextConfig(strip_documentation=True)))
    text = render(strip)
    assert "JSDOC_MARKER_ADD" not in text and "the x coordinate" not in text
    assert next(s for s in strip.snippets if s.symbol == "add").start_line == 4


def test_include_types(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    with_types = prune(snap, request(snap, MAIN, START_CALL, 4096, options=ContextConfig(include_types=True)))
    assert "FormatOptions" in names_in(with_types)  # named only in format()'s signature
    without = prune(snap, request(snap, MAIN, START_CALL, 4096, options=ContextConfig(include_types=False)))
    assert "FormatOptions" not in names_in(without)
    assert "format" in names_in(without)


def test_max_files(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    result = prune(snap, request(snap, MAIN, START_CALL, 8192, options=ContextConfig(max_files=2)))
    assert len({s.path for s in result.snippets}) == 2


def test_baseline_strategies(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    only = prune(snap, request(snap, MAIN, START_CALL, 2048, options=ContextConfig(pruning_strategy="current_file")))
    assert [s.path for s in only.snippets] == [MAIN]
    assert only.snippets[0].start_line == 0  # the whole (small) file fits
    imports = prune(snap, request(snap, MAIN, START_CALL, 2048, options=ContextConfig(pruning_strategy="imports")))
    assert [s.path for s in imports.snippets][:3] == [MAIN, "src/lib/math.ts", "src/lib/shapes.ts"]
    whole_math = imports.snippets[1]
    assert whole_math.start_line == 0 and "Math.sqrt" in whole_math.text  # whole file, bodies included


def test_refactor_shows_usage_sites(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    result = prune(snap, request(snap, "src/lib/math.ts", 4, 4096, task="refactor", end_line=7, end_character=1))
    usages = [s for s in result.snippets if s.kind == "usage"]
    assert any(s.path == MAIN and "add(" in s.text for s in usages)


def test_tests_task_shows_an_existing_test(workspace: Path) -> None:
    (workspace / "src" / "lib" / "math.test.ts").write_text(
        'import { add } from "./math";\n\ntest("adds", () => {\n  expect(add(1, 2)).toBe(3);\n});\n'
    )
    snap = WorkspaceIndex.open(workspace).snapshot()
    result = prune(snap, request(snap, "src/lib/math.ts", 5, 4096, task="tests"))
    assert any(s.path == "src/lib/math.test.ts" and "expect(add" in s.text for s in result.snippets)


def test_unsaved_text_is_what_counts(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    text = snap.text(MAIN).replace("  return 0;\n}", "  const FRESH_EDIT = 1;\n  return 0;\n}")
    result = prune(snap, replace(request(snap, MAIN, MEASURE_BLANK, 1024), text=text))
    assert "FRESH_EDIT" in result.snippets[0].text


# --- bad input -----------------------------------------------------------------------------------------


def test_file_outside_the_workspace(index: WorkspaceIndex, workspace: Path) -> None:
    snap = index.snapshot()
    for path in ("../outside.ts", str(workspace.parent / "outside.ts"), "/etc/passwd"):
        with pytest.raises(ContextError, match="outside the workspace"):
            prune(snap, ContextRequest(path=path, text="const a = 1;", line=0, character=0))


def test_position_past_the_end(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    with pytest.raises(ContextError, match="past the end"):
        prune(snap, replace(request(snap, MAIN, 0), line=10_000))
    with pytest.raises(ContextError, match="before it starts"):
        prune(snap, replace(request(snap, MAIN, 5), end_line=2))
    with pytest.raises(ContextError, match="negative"):
        prune(snap, replace(request(snap, MAIN, 0), line=-1))
    # A character past the end of the line is the end of the line, as LSP says.
    result = prune(snap, replace(request(snap, MAIN, 3), character=999))
    assert result.snippets[0].start_line <= 3


def test_binary_and_non_source_files(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    with pytest.raises(ContextError, match="binary"):
        prune(snap, ContextRequest(path="src/blob.ts", text="a\x00b", line=0, character=0))
    with pytest.raises(ContextError, match="not a TypeScript"):
        prune(snap, ContextRequest(path="README.md", text="# hi", line=0, character=0))


def test_syntax_broken_file_gives_a_best_effort_result(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    result = prune(snap, request(snap, "src/app/broken.ts", 3, 1024))
    assert result.snippets[0].kind == "cursor"
    assert "add" in names_in(result)


def test_import_cycle(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    result = prune(snap, request(snap, "src/cycle/user.ts", 3, 2048))
    assert {"fromA", "fromB"} <= set(names_in(result))
    for path in ("src/cycle/a.ts", "src/cycle/b.ts"):
        prune(snap, request(snap, path, 0, 2048))  # terminates


def test_tiny_budgets(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    assert prune(snap, request(snap, MAIN, 0, 0)).snippets == ()
    small = prune(snap, request(snap, MAIN, 0, 20))
    assert small.tokens <= 20


# --- secrets -----------------------------------------------------------------------------------------


def test_secrets_never_appear_in_any_output(tmp_path: Path) -> None:
    root = populate(tmp_path / "ws")
    plant_secrets(root)
    snap = WorkspaceIndex.open(root).snapshot()
    assert not any(p.startswith((".env", "certs/server.pem")) for p in snap.files)
    outputs: list[str] = []
    for path in sorted(snap.files):
        lines = snap.text(path).count("\n") + 1
        for line in sorted({0, lines // 2, lines - 1}):
            for strategy in ("dependency_graph", "imports", "current_file"):
                for budget in (256, 4096):
                    options = ContextConfig(pruning_strategy=strategy, strip_documentation=False)
                    for task in ("completion", "refactor"):
                        result = prune(snap, request(snap, path, line, budget, options=options, task=task))
                        outputs.append(render(result))
                        outputs.append(str(result.to_json()))
    everything = "\n".join(outputs)
    assert "awsAccessKeyId" in everything  # the file holding them was used …
    for value in SECRET_VALUES:
        assert value not in everything  # … but no secret value left the machine
    for secret in (".env", "certs/server.pem", ".env.production.ts"):
        with pytest.raises(ContextError, match="secret"):
            prune(snap, ContextRequest(path=secret, text="x", line=0, character=0))


def test_personalised_pagerank_prefers_the_neighbourhood(index: WorkspaceIndex) -> None:
    from ai_coding_router.context.prune import personalised_pagerank

    ranks = personalised_pagerank(index.snapshot(), MAIN)
    assert ranks[MAIN] == max(ranks.values())
    assert ranks["src/lib/math.ts"] > ranks.get("src/lib/unrelated.ts", 0.0)
    assert ranks["src/lib/math.ts"] > ranks["src/lib/polyfill.ts"]  # many names imported vs a side effect
    assert abs(sum(ranks.values()) - 1.0) < 1e-6


def test_snippets_follow_the_priority_order(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    result = prune(snap, request(snap, MAIN, MEASURE_BLANK, 8192))
    kinds = [s.kind for s in result.snippets]
    assert kinds[0] == "cursor"
    assert "definition" in kinds and "related" in kinds  # broken.ts shares math.ts with main.ts
    assert "definition" not in kinds[kinds.index("related") :]
