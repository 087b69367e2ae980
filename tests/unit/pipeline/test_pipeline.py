"""``run_task`` end to end: the real Anthropic SDK against the loopback fake, real tsc/eslint/vitest on a
tmp copy of the fixture workspace, the real context engine."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from ai_coding_router.ledger.budget import BudgetDecision
from ai_coding_router.pipeline import TaskSpec, TextRange, run_task
from ai_coding_router.prompts import EDIT_FORMAT
from tests.fake_anthropic import FakeAnthropic, Reply
from tests.unit.pipeline.conftest import DEEP, FAST, Recorder, block, config

SUM_LOOP = "  let total = 0;\n  for (const value of values) {\n    total += value;\n  }\n  return total;"
SUM_REDUCE = "  return values.reduce((total, value) => total + value, 0);"
SUM_STRING = "  return String(values.reduce((total, value) => total + value, 0));"
SUM_RANGE = TextRange(10, 0, 16, 1)  # `sum` in src/math.ts (0-based lines)
CREATE_USER = (
    "const AGE_RANGE: Range = { min: 0, max: 150 };\n\n"
    "export function createUser(id: string, name: string, age: number): User {\n"
    "  return { id, name, age: clamp(age, AGE_RANGE) };\n}"
)
CREATE_USER_CHECKED = (
    "export function createUser(id: string, name: string, age: number): User {\n"
    '  if (id.length === 0) {\n    throw new Error("a user needs an id");\n  }\n'
    "  return { id, name, age: clamp(age, AGE_RANGE) };\n}"
)
PROGRESS_STAGES = {"routing", "generating", "validating", "repairing", "escalating", "applying"}


def sent_text(body: dict[str, Any]) -> str:
    """Everything a request sent as prompt text: the system blocks and the messages."""
    system = "".join(b["text"] for b in body.get("system", []))
    return system + "".join(m["content"] for m in body["messages"])


def spec(root: Path, kind: str = "fix", file: str = "src/math.ts", rng: TextRange | None = SUM_RANGE,
         instruction: str = "", **kw: Any) -> TaskSpec:
    return TaskSpec(task_id=kw.pop("task_id", "task-1"), kind=kind, root=root, file=file, range=rng,
                    instruction=instruction, **kw)


async def test_single_file_task_routes_fast_and_validates_against_the_editor_text(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any, recorder: Recorder
) -> None:
    on_disk = (workspace / "src/math.ts").read_text()
    editor_text = on_disk.replace("/** Arithmetic", "/** Unsaved: arithmetic")  # the editor's buffer wins
    fake_api.script(FAST, block("src/math.ts", SUM_LOOP, SUM_REDUCE))
    stages: list[str] = []
    task = spec(workspace, instruction="use reduce", documents={"src/math.ts": editor_text},
                versions={"src/math.ts": 7}, tags={"team": "core"})

    result = await run_task(task, make_deps(), lambda stage, message: stages.append(stage))

    assert result.status == "validated" and result.outcome == "validated"
    assert result.route["tier"] == "fast" and result.route["model"] == FAST
    assert result.base_texts == {"src/math.ts": editor_text}
    assert result.new_texts == {"src/math.ts": editor_text.replace(SUM_LOOP, SUM_REDUCE)}
    assert result.versions == {"src/math.ts": 7}
    assert not result.needs_confirmation
    assert (workspace / "src/math.ts").read_text() == on_disk  # the pipeline never writes the workspace
    assert "+  return values.reduce" in result.unified_diff()
    [request] = fake_api.requests
    assert request.model == FAST
    system = request.body["system"]
    assert system[0]["text"] == EDIT_FORMAT and system[0]["cache_control"] == {"type": "ephemeral"}
    assert "Unsaved: arithmetic" in sent_text(request.body)
    assert [(c.role, c.model, c.outcome) for c in recorder.calls] == [("generate", FAST, "validated")]
    assert recorder.calls[0].tags["team"] == "core" and recorder.calls[0].route_score == result.route["score"]
    assert recorder.outcomes == [("task-1", "validated", "fix")]
    assert stages[0] == "routing" and stages[-1] == "applying" and set(stages) <= PROGRESS_STAGES
    assert "tests were not run: the workspace is not trusted" in result.notes


async def test_a_type_error_is_repaired_on_the_fast_model_with_the_tsc_finding(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any, recorder: Recorder
) -> None:
    fake_api.script(FAST, block("src/math.ts", SUM_LOOP, SUM_STRING), block("src/math.ts", SUM_STRING, SUM_REDUCE))

    result = await run_task(spec(workspace), make_deps())

    assert result.status == "validated" and result.outcome == "repaired"
    assert "String(" not in result.new_texts["src/math.ts"] and SUM_REDUCE in result.new_texts["src/math.ts"]
    _, repair = fake_api.requests
    assert repair.model == FAST
    repair_text = sent_text(repair.body)
    assert "TS2322" in repair_text and "not assignable to type 'number'" in repair_text
    assert SUM_STRING in repair_text  # the current (failing) text, so SEARCH can quote it
    assert [(c.role, c.outcome) for c in result.calls] == [("generate", "repaired"), ("repair", "validated")]
    assert recorder.outcomes == [("task-1", "repaired", "fix")]


async def test_a_failing_test_escalates_to_the_deep_model_with_a_smaller_focused_payload(
    rich_workspace: Path, fake_api: FakeAnthropic, make_deps: Any, recorder: Recorder
) -> None:
    broken = CREATE_USER.replace("max: 150", "max: 120").replace("{ id, name,", "{ id, name: name.trim(),")
    fake_api.script(FAST, block("src/user.ts", CREATE_USER, broken))
    fake_api.script(DEEP, block("src/user.ts", "const AGE_RANGE: Range = { min: 0, max: 120 };",
                                "const AGE_RANGE: Range = { min: 0, max: 150 };"))
    cfg = config(validation={"allow_running_tests": True})
    task = spec(rich_workspace, file="src/user.ts", rng=TextRange(10, 0, 12, 1), trusted=True,
                instruction="createUser should store the trimmed name")

    result = await run_task(task, make_deps(cfg))

    assert result.status == "validated" and result.outcome == "escalated", result.summary
    assert "name: name.trim()" in result.new_texts["src/user.ts"] and "max: 150" in result.new_texts["src/user.ts"]
    first, deep = fake_api.requests
    assert (first.model, deep.model) == (FAST, DEEP)
    first_text, deep_text = sent_text(first.body), sent_text(deep.body)
    assert "clamps the age" in deep_text and "expected 120 to be 150" in deep_text  # the test failure
    assert "max: 120" in deep_text  # the failing segment as it is now
    assert "averageAge" in first_text and "averageAge" not in deep_text  # the first context is not resent
    assert len(deep_text) < len(first_text)
    assert result.escalation is not None
    assert result.escalation.escalation.tokens < result.escalation.first_request.tokens
    assert result.escalation.escalation.chars == len(deep_text) + 2  # measured on what was sent (+ separators)
    assert [(c.role, c.model, c.outcome) for c in recorder.calls] == [
        ("generate", FAST, "escalated"), ("escalate", DEEP, "validated")]


async def test_a_security_review_goes_to_the_deep_model_and_needs_confirmation(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any
) -> None:
    fake_api.script(DEEP, block("src/user.ts", CREATE_USER.split("\n\n", 1)[1], CREATE_USER_CHECKED))

    result = await run_task(spec(workspace, kind="security-review", file="src/user.ts", rng=None), make_deps())

    assert result.route["tier"] == "deep" and not result.route["needsSignoff"]
    assert [r.model for r in fake_api.requests] == [DEEP]  # no fast generation, no separate sign-off
    assert result.status == "validated" and result.needs_confirmation
    assert "a user needs an id" in result.new_texts["src/user.ts"]


async def test_a_security_review_without_findings_is_answered_with_nothing_to_apply(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any, recorder: Recorder
) -> None:
    fake_api.script(DEEP, "NO CHANGES\nThe module handles no secrets and clamps its input.")

    result = await run_task(spec(workspace, kind="security-review", file="src/user.ts", rng=None), make_deps())

    assert result.status == "answered" and not result.applicable and not result.new_texts
    assert result.answer is not None and "clamps its input" in result.answer
    assert recorder.outcomes == [("task-1", "ok", "security-review")]


@pytest.mark.parametrize(("verdict", "status"), [("APPROVE", "validated"),
                                                 ("REJECT: the thrown message is shown to users", "failed")])
async def test_a_security_review_routed_fast_gets_a_deep_sign_off(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any, recorder: Recorder, verdict: str, status: str
) -> None:
    fake_api.script(FAST, block("src/user.ts", CREATE_USER.split("\n\n", 1)[1], CREATE_USER_CHECKED))
    fake_api.script(DEEP, verdict)
    cfg = config(routing={"complexity_threshold": 0.9})

    result = await run_task(spec(workspace, kind="security-review", file="src/user.ts", rng=None), make_deps(cfg))

    assert result.route["tier"] == "fast" and result.route["needsSignoff"]
    generate, signoff = fake_api.requests
    assert (generate.model, signoff.model) == (FAST, DEEP)
    assert '+    throw new Error("a user needs an id");' in sent_text(signoff.body)  # the diff is reviewed
    assert result.status == status
    assert [(c.role, c.outcome) for c in recorder.calls] == [
        ("generate", "validated"), ("signoff", "ok" if status == "validated" else "failed")]
    if status == "validated":
        assert result.needs_confirmation and "a user needs an id" in result.new_texts["src/user.ts"]
    else:
        assert not result.new_texts and not result.applicable
        assert [f.code for f in result.findings] == ["signoff:rejected"]
        assert "shown to users" in result.findings[0].message


async def test_an_edit_that_never_validates_fails_with_its_findings_and_nothing_to_apply(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any, recorder: Recorder
) -> None:
    wrong = block("src/math.ts", SUM_LOOP, SUM_STRING)
    second = SUM_STRING.replace("String(", "String(0 + ")
    third = SUM_STRING.replace("String(", "String(1 + ")
    fake_api.script(FAST, wrong, block("src/math.ts", SUM_STRING, second), block("src/math.ts", second, third))

    result = await run_task(spec(workspace), make_deps())

    assert result.status == "failed" and result.outcome == "failed"
    assert not result.new_texts and not result.applicable and result.unified_diff() == ""
    assert {f.code for f in result.findings} == {"TS2322"}
    assert [r.model for r in fake_api.requests] == [FAST, FAST, FAST]  # 1 + max_repair_attempts (2); no escalation
    assert [c.outcome for c in recorder.calls] == ["repaired", "repaired", "failed"]
    assert recorder.outcomes == [("task-1", "failed", "fix")]


async def test_cancelling_mid_stream_closes_the_stream_and_leaves_no_edit(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any, recorder: Recorder
) -> None:
    fake_api.script(FAST, Reply(text=block("src/math.ts", SUM_LOOP, SUM_REDUCE), stall_after_tokens=5))
    before = (workspace / "src/math.ts").read_text()
    running = asyncio.create_task(run_task(spec(workspace), make_deps()))
    await fake_api.wait_for_requests_async(1)
    await fake_api._state.log.wait_async(lambda rs: rs[0].streamed_tokens >= 5, 5, "five streamed tokens")

    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    seen = await fake_api.wait_for_disconnect_async(0)
    assert seen.outcome == "client_disconnected" and seen.tokens_after_disconnect == 0
    assert (workspace / "src/math.ts").read_text() == before
    assert recorder.outcomes == [("task-1", "cancelled", "fix")]


@pytest.mark.parametrize(("path", "kind"), [
    ("../evil.ts", "invalid-path"),
    ("src/../../evil.ts", "invalid-path"),
    ("linked/evil.ts", "outside-workspace"),  # through a symlink that leaves the workspace
    ("node_modules/left-pad/index.ts", "forbidden-path"),
    (".git/hooks/pre-commit.ts", "forbidden-path"),
    ("/tmp/evil.ts", "invalid-path"),
])
async def test_a_block_outside_the_workspace_is_refused(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any, path: str, kind: str
) -> None:
    outside = workspace.parent / "outside"
    outside.mkdir()
    (workspace / "linked").symlink_to(outside, target_is_directory=True)
    fake_api.script(FAST, block(path, "", "export const pwned = true;"))
    cfg = config(validation={"max_repair_attempts": 0})

    result = await run_task(spec(workspace), make_deps(cfg))

    assert result.status == "failed" and not result.new_texts
    assert [f.code for f in result.findings] == [f"patch:{kind}"]
    assert not (workspace.parent / "evil.ts").exists() and not (workspace / "node_modules").exists()
    assert not list(outside.iterdir())
    assert not (workspace / ".git").exists()


async def test_a_refused_block_is_fed_back_to_the_repair(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any
) -> None:
    fake_api.script(FAST, block("../evil.ts", "", "export const pwned = true;"),
                    block("src/math.ts", SUM_LOOP, SUM_REDUCE))

    result = await run_task(spec(workspace), make_deps())

    assert result.status == "validated" and list(result.new_texts) == ["src/math.ts"]
    repair = sent_text(fake_api.requests[1].body)
    assert "'..' is not allowed in paths" in repair and "patch:invalid-path" in repair
    assert SUM_LOOP in repair  # nothing else to show: the target file, so the task can still be done


async def test_deep_model_overload_falls_back_to_the_fast_model_labelled(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any, recorder: Recorder
) -> None:
    fake_api.script(DEEP, Reply(fault="529", retry_after_s=None))
    fake_api.script(FAST, block("src/math.ts", SUM_LOOP, SUM_REDUCE))
    cfg = config(routing={"complexity_threshold": 0.1}, api={"max_retries": 0})

    result = await run_task(spec(workspace), make_deps(cfg))

    assert result.route["tier"] == "deep"
    assert [r.model for r in fake_api.requests] == [DEEP, FAST]
    assert result.status == "validated"
    assert result.fallback is not None and "overloaded" in result.fallback and result.fallback in result.notes
    assert [(c.model, c.note) for c in result.calls] == [(FAST, f"fallback from {DEEP} (overloaded)")]
    assert recorder.calls[0].model == FAST


@pytest.mark.parametrize("action", ["block", "downgrade"])
async def test_the_budget_policy_blocks_or_downgrades_a_deep_call(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any, action: str
) -> None:
    fake_api.script(FAST, block("src/math.ts", SUM_LOOP, SUM_REDUCE))
    seen: list[tuple[float | None, str]] = []

    def check(estimate: float | None, model: str) -> BudgetDecision:
        seen.append((estimate, model))
        if model == FAST:
            return BudgetDecision("allow", model)
        return BudgetDecision(action, FAST if action == "downgrade" else model, f"over the daily budget ({action})")

    cfg = config(routing={"complexity_threshold": 0.1})
    result = await run_task(spec(workspace), make_deps(cfg, budget_check=check))

    assert seen[0][1] == DEEP and seen[0][0] is not None and seen[0][0] > 0
    if action == "block":
        assert result.status == "failed" and not fake_api.requests
        assert "over the daily budget (block)" in result.summary
    else:
        assert result.status == "validated" and [r.model for r in fake_api.requests] == [FAST]
        assert "over the daily budget (downgrade)" in result.notes


async def test_an_explanation_is_answered_without_edits(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any, recorder: Recorder
) -> None:
    fake_api.script(FAST, "sum adds the numbers one by one.")

    result = await run_task(spec(workspace, kind="explain"), make_deps())

    assert result.status == "answered" and result.answer == "sum adds the numbers one by one."
    assert not result.new_texts and recorder.outcomes == [("task-1", "ok", "explain")]
    assert "export function sum" in sent_text(fake_api.requests[0].body)


async def test_the_result_survives_a_json_round_trip(workspace: Path, fake_api: FakeAnthropic, make_deps: Any) -> None:
    fake_api.script(FAST, block("src/math.ts", SUM_LOOP, SUM_STRING), block("src/math.ts", SUM_STRING, SUM_REDUCE))
    result = await run_task(spec(workspace), make_deps())
    from ai_coding_router.pipeline import TaskResult

    again = TaskResult.from_json(json.loads(json.dumps(result.to_json())))
    assert again == result


async def test_cancelling_during_validation_records_the_call_as_cancelled(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any, recorder: Recorder
) -> None:
    fake_api.script(FAST, block("src/math.ts", SUM_LOOP, SUM_REDUCE))
    holder: dict[str, asyncio.Task[Any]] = {}

    def progress(stage: str, message: str) -> None:
        if stage == "validating":
            asyncio.get_running_loop().call_soon(holder["task"].cancel)  # lands inside validate()

    holder["task"] = asyncio.create_task(run_task(spec(workspace), make_deps(), progress))
    with pytest.raises(asyncio.CancelledError):
        await holder["task"]

    assert [(c.role, c.outcome) for c in recorder.calls] == [("generate", "cancelled")]
    assert recorder.outcomes == [("task-1", "cancelled", "fix")]


async def test_escalation_on_fail_syntax_sends_a_type_error_to_the_deep_model_after_the_repairs(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any, recorder: Recorder
) -> None:
    fake_api.script(FAST, block("src/math.ts", SUM_LOOP, SUM_STRING), block("src/math.ts", SUM_STRING, SUM_STRING))
    fake_api.script(DEEP, block("src/math.ts", SUM_STRING, SUM_REDUCE))
    cfg = config(validation={"escalation_on": "fail-syntax", "max_repair_attempts": 1})

    result = await run_task(spec(workspace), make_deps(cfg))

    assert [r.model for r in fake_api.requests] == [FAST, FAST, DEEP]
    assert "TS2322" in sent_text(fake_api.requests[2].body)
    assert result.status == "validated" and result.outcome == "escalated"
    assert [c.outcome for c in recorder.calls] == ["repaired", "escalated", "validated"]


async def test_a_reply_cut_off_by_the_deadline_is_never_applied(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ai_coding_router.pipeline import calls

    monkeypatch.setattr(calls, "BACKGROUND_DEADLINE_S", 1.0)
    complete_block = block("src/math.ts", SUM_LOOP, SUM_REDUCE)
    # A whole, valid block arrives, then the stream stalls: the deadline cuts the reply off.
    from tests.fake_anthropic import count_tokens

    stalled = Reply(text=complete_block + "\nmore words " * 50, stall_after_tokens=count_tokens(complete_block) + 2)
    fake_api.set_default(stalled)
    result = await run_task(spec(workspace, instruction="use reduce"), make_deps(), lambda stage, message: None)
    assert result.status == "failed"
    assert not result.applicable and not result.new_texts
