"""``route`` and ``run``: without a key (subprocesses, ANTHROPIC_API_KEY removed) and with the fake API."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ai_coding_router.commands import route_cmd, run_cmd
from ai_coding_router.errors import ConfigError
from ai_coding_router.ledger.store import LedgerStore
from ai_coding_router.pipeline import batch
from ai_coding_router.pipeline.spec import TextRange
from ai_coding_router.pipeline.taskfile import load_task_file, parse_range
from tests.fake_anthropic import FakeAnthropic
from tests.unit.pipeline.conftest import DEEP, FAST, block
from tests.unit.pipeline.test_pipeline import CREATE_USER, CREATE_USER_CHECKED, SUM_LOOP, SUM_REDUCE

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def no_key_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")}


def cli(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", f"ai_coding_router.commands.{module}", *args], cwd=cwd,
                          env=no_key_env(), capture_output=True, text=True, timeout=60)


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    target = tmp_path / "examples"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns(".ai-coding-router"))
    return target


def test_route_prints_the_route_and_its_reasons_without_a_key(workspace: Path) -> None:
    human = cli("route_cmd", "--kind", "fix", "--file", "src/math.ts", "--range", "11-17", cwd=workspace)
    assert human.returncode == 0, human.stderr
    assert human.stdout.startswith(f"route: {FAST} (fast model), score 0.15 < threshold 0.75")
    assert "  - kind=fix (+0.15)" in human.stdout and "context engine" in human.stdout

    as_json = cli("route_cmd", "--kind", "security-review", "--file", "src/user.ts", "--json", cwd=workspace)
    assert as_json.returncode == 0, as_json.stderr
    route = json.loads(as_json.stdout)
    assert (route["model"], route["tier"], route["score"]) == (DEEP, "deep", 0.85)
    assert route["reasons"][0] == "kind=security-review (+0.85)"


def test_route_refuses_a_path_outside_the_workspace(workspace: Path) -> None:
    result = cli("route_cmd", "--kind", "fix", "--file", "../etc/passwd", cwd=workspace)
    assert result.returncode == 2 and "'..' is not allowed" in result.stderr and not result.stdout


def test_run_without_a_key_is_a_dry_run_that_says_so(examples: Path) -> None:
    result = cli("run_cmd", str(examples / "tasks.yaml"), cwd=examples)
    assert result.returncode == 0, result.stderr
    first_line = result.stdout.splitlines()[0]
    assert first_line.startswith("DRY RUN — no API key") and "no model is called" in first_line
    for task_id in ("sum-with-reduce", "clamp-tests", "create-user-options", "session-review"):
        assert f"[{task_id}]" in result.stdout
    assert "Estimated cost of the first calls" in result.stdout
    assert not (examples / "workspace" / ".ai-coding-router" / "patches").exists()


def test_the_dry_run_shows_the_decision_matrix_with_context_sizes_and_costs(examples: Path) -> None:
    result = cli("run_cmd", str(examples / "tasks.yaml"), "--dry-run", "--json", "--batch", cwd=examples)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["dryRun"] is True and plan["reason"] == "--dry-run"
    tiers = {t["id"]: t["route"]["tier"] for t in plan["tasks"]}
    assert tiers == {"sum-with-reduce": "fast", "clamp-tests": "fast", "create-user-options": "deep",
                     "session-review": "deep", "explain-check-session": "fast"}
    for task in plan["tasks"]:
        assert task["contextTokens"] > 0 and task["inputTokens"] > task["contextTokens"]
        assert task["estimatedCostUsd"] > 0 and task["batch"] == (task["route"]["tier"] == "deep")
    deep = next(t for t in plan["tasks"] if t["id"] == "session-review")
    expected = (deep["inputTokens"] * 5.0 + deep["maxOutputTokens"] * 25.0) / 1e6 * 0.5  # opus prices, batch half
    assert deep["estimatedCostUsd"] == pytest.approx(expected)
    assert plan["estimatedCostUsd"] == pytest.approx(sum(t["estimatedCostUsd"] for t in plan["tasks"]))


def write_tasks(path: Path, workspace: Path, tasks: str) -> Path:
    path.write_text(f"workspace: {workspace}\ntasks:\n{tasks}")
    return path


def run_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    run_cmd.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["run", *argv])


def test_run_with_a_key_writes_validated_patches_and_records_the_calls(
    workspace: Path, fake_api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.base_url)

    def reply(body: dict[str, object]) -> str:  # the two tasks run concurrently: answer by instruction
        good = "use reduce" in json.dumps(body["messages"])
        return block("src/math.ts", SUM_LOOP, SUM_REDUCE) if good else block("src/math.ts", "nope", "nope")

    fake_api.set_default(reply)
    tasks = write_tasks(tmp_path / "tasks.yaml", workspace, """
  - {id: good, kind: fix, file: src/math.ts, range: "11-17", instruction: use reduce, tags: {team: ci}}
  - {id: bad, kind: fix, file: src/math.ts, range: "11-17", instruction: break it}
""")
    before = (workspace / "src/math.ts").read_text()

    code = run_cmd.run(run_args(str(tasks), "--out", str(tmp_path / "out"), "--json"))

    report = json.loads(capsys.readouterr().out)
    assert code == 1  # one task failed
    statuses = {t["taskId"]: t["status"] for t in report["tasks"]}
    assert statuses == {"good": "validated", "bad": "failed"}
    patch = (tmp_path / "out" / "good.patch").read_text()
    assert patch.startswith("--- a/src/math.ts\n+++ b/src/math.ts\n") and f"+{SUM_REDUCE}" in patch
    assert not (tmp_path / "out" / "bad.patch").exists()
    assert (workspace / "src/math.ts").read_text() == before  # the workspace is left alone
    applied = subprocess.run(["patch", "-p1", "--dry-run", "-i", str(tmp_path / "out" / "good.patch")],
                             cwd=workspace, capture_output=True, text=True, timeout=30)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    store = LedgerStore.open(workspace / ".ai-coding-router" / "ledger.sqlite3", create=False)
    try:
        rows = store.execute("SELECT task_id, role, model, outcome, batch FROM calls ORDER BY id")
        outcomes = dict(store.execute("SELECT task_id, outcome FROM tasks"))
    finally:
        store.close()
    assert ("good", "generate", FAST, "validated", 0) in rows
    assert outcomes == {"good": "validated", "bad": "failed"}


def test_batch_sends_the_deep_tasks_through_message_batches(
    workspace: Path, fake_api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.base_url)
    monkeypatch.setattr(batch, "BATCH_POLL_S", 0.05)
    fake_api.batch_processing_s = 0.2  # the first poll still sees it in progress
    fake_api.script(DEEP, block("src/user.ts", CREATE_USER.split("\n\n", 1)[1], CREATE_USER_CHECKED))
    fake_api.script(FAST, block("src/math.ts", SUM_LOOP, SUM_REDUCE))
    tasks = write_tasks(tmp_path / "tasks.yaml", workspace, """
  - {id: review, kind: security-review, file: src/user.ts}
  - {id: fast-one, kind: fix, file: src/math.ts, range: "11-17"}
""")

    code = run_cmd.run(run_args(str(tasks), "--batch", "--out", str(tmp_path / "out")))

    out = capsys.readouterr().out
    assert code == 0, out
    paths = [r.path for r in fake_api.requests]
    assert paths.count("/v1/messages/batches") == 1  # one batch, created once
    created = next(r for r in fake_api.requests if r.path == "/v1/messages/batches")
    assert [item["params"]["model"] for item in created.body["requests"]] == [DEEP]  # only the deep task
    streamed = [r.model for r in fake_api.requests if r.path == "/v1/messages"]
    assert streamed == [FAST]
    assert "a user needs an id" in (tmp_path / "out" / "review.patch").read_text()
    assert "review before applying" in out and "batch" in out
    store = LedgerStore.open(workspace / ".ai-coding-router" / "ledger.sqlite3", create=False)
    try:
        rows = store.execute("SELECT task_id, model, batch, cost_usd FROM calls ORDER BY id")
    finally:
        store.close()
    by_task = {row[0]: row for row in rows}
    assert by_task["review"][1:3] == (DEEP, 1) and by_task["fast-one"][1:3] == (FAST, 0)


def test_ranges_are_one_based_and_checked() -> None:
    assert parse_range("11-17") == TextRange(10, 0, 17, 0)
    assert parse_range("3:5-4:1") == TextRange(2, 4, 3, 0)
    assert parse_range("11-17").last_line == 16 and parse_range("3:5-4:1").last_line == 2
    for bad in ("0-3", "5-2", "a-b", "3:0-4:1", ""):
        with pytest.raises(ValueError):
            parse_range(bad)


def test_a_task_file_with_mistakes_lists_them_all(tmp_path: Path) -> None:
    path = tmp_path / "tasks.yaml"
    path.write_text("""
workspace: .
colour: blue
tasks:
  - {id: a, kind: fixx, file: src/a.ts}
  - {id: a, kind: fix, range: "x"}
  - {id: b, kind: tests, file: src/b.ts, range: "2-1", extra: 1}
""")
    with pytest.raises(ConfigError) as caught:
        load_task_file(path)
    problems = caught.value.problems
    assert "unknown key 'colour'" in problems
    assert any("tasks[0].kind" in p for p in problems)
    assert any("tasks[1].id" in p for p in problems) and any("tasks[1].file" in p for p in problems)
    assert any("tasks[2].range" in p for p in problems) and any("unknown key 'extra'" in p for p in problems)


def test_the_example_task_file_loads(examples: Path) -> None:
    loaded = load_task_file(examples / "tasks.yaml")
    assert loaded.root == (examples / "workspace").resolve()
    assert {t.kind for t in loaded.tasks} >= {"fix", "tests", "refactor", "security-review"}
    assert all(t.tags.get("team") == "examples" for t in loaded.tasks)
    assert route_cmd.EXIT_OK == 0
