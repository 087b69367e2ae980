"""``JobRunner``: route at submit, background run with a concurrency limit, cancellation, persistence."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ai_coding_router.errors import ContextError
from ai_coding_router.jobs import JobRunner, jobs_path
from ai_coding_router.pipeline import TaskSpec
from tests.fake_anthropic import FakeAnthropic, Reply
from tests.unit.pipeline.conftest import FAST, block
from tests.unit.pipeline.test_pipeline import SUM_LOOP, SUM_RANGE, SUM_REDUCE

STAGES = {"routing", "generating", "validating", "repairing", "escalating", "applying"}


def sum_task(root: Path, task_id: str = "") -> TaskSpec:
    return TaskSpec(task_id=task_id, kind="fix", root=root, file="src/math.ts", range=SUM_RANGE,
                    documents={"src/math.ts": (root / "src/math.ts").read_text()}, versions={"src/math.ts": 3})


async def test_submit_answers_with_the_route_at_once_and_the_job_validates(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any
) -> None:
    fake_api.script(FAST, block("src/math.ts", SUM_LOOP, SUM_REDUCE))
    runner = JobRunner.open(make_deps(), jobs_path(workspace))
    events: list[tuple[str, str]] = []
    finished: list[str] = []
    try:
        submitted = await runner.submit(sum_task(workspace), lambda job, stage, msg: events.append((job, stage)),
                                        lambda info: finished.append(info.status))
        answer = submitted.to_json()
        assert answer["jobId"] == submitted.job_id
        assert answer["route"]["model"] == FAST and answer["route"]["reasons"]  # type: ignore[index]
        assert runner.get(submitted.job_id).status in ("queued", "running")  # type: ignore[union-attr]

        info = await runner.wait(submitted.job_id)
    finally:
        await runner.aclose()
    assert info is not None and info.status == "validated" and finished == ["validated"]
    assert info.result is not None and info.result.applicable
    assert info.result.task_id == submitted.job_id  # a task without an id takes the job's
    assert info.result.versions == {"src/math.ts": 3}
    assert {job for job, _ in events} == {submitted.job_id}
    assert {stage for _, stage in events} <= STAGES and events[-1][1] == "applying"
    assert (workspace / ".ai-coding-router" / ".gitignore").read_text() == "*\n"


async def test_cancelling_a_job_mid_stream_closes_the_stream_and_leaves_nothing_to_apply(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any
) -> None:
    fake_api.script(FAST, Reply(text=block("src/math.ts", SUM_LOOP, SUM_REDUCE), stall_after_tokens=4))
    runner = JobRunner.open(make_deps(), jobs_path(workspace))
    try:
        submitted = await runner.submit(sum_task(workspace))
        await fake_api._state.log.wait_async(lambda rs: bool(rs) and rs[0].streamed_tokens >= 4, 10, "4 tokens")
        assert runner.cancel(submitted.job_id)
        info = await runner.wait(submitted.job_id)
        seen = await fake_api.wait_for_disconnect_async(0)
    finally:
        await runner.aclose()
    assert seen.outcome == "client_disconnected"
    assert info is not None and info.status == "cancelled"
    assert info.result is not None and not info.result.new_texts and not info.result.applicable
    assert not runner.cancel(submitted.job_id)  # nothing left to cancel


async def test_finished_jobs_and_their_results_survive_a_restart(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any
) -> None:
    fake_api.script(FAST, block("src/math.ts", SUM_LOOP, SUM_REDUCE))
    first = JobRunner.open(make_deps(), jobs_path(workspace))
    submitted = await first.submit(sum_task(workspace, "keep-me"))
    done = await first.wait(submitted.job_id)
    await first.aclose()

    second = JobRunner.open(make_deps(), jobs_path(workspace))
    try:
        [listed] = second.list()
        again = second.get(submitted.job_id)
        second.mark_applied(submitted.job_id)
        applied = second.get(submitted.job_id)
    finally:
        await second.aclose()
    assert listed.job_id == submitted.job_id and listed.status == "validated" and listed.task_id == "keep-me"
    assert listed.to_json()["applicable"] is True
    assert again is not None and done is not None and again.result == done.result  # re-applicable as it was
    assert again.result is not None and SUM_REDUCE in again.result.new_texts["src/math.ts"]
    assert applied is not None and applied.applied_at is not None


_CHILD = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from ai_coding_router.jobs import JobRunner, jobs_path
    from ai_coding_router.models.anthropic_client import AnthropicModelClient
    from ai_coding_router.pipeline import PipelineDeps, TaskSpec, TextRange

    async def main() -> None:
        root = Path(sys.argv[1])
        deps = PipelineDeps(AnthropicModelClient(api_key="test-key", base_url=sys.argv[2]))
        runner = JobRunner.open(deps, jobs_path(root))
        submitted = await runner.submit(TaskSpec("", "fix", root, "src/math.ts", TextRange(10, 0, 16, 1)))
        print(submitted.job_id, flush=True)
        await asyncio.sleep(60)

    asyncio.run(main())
""")


async def test_jobs_of_a_process_that_died_are_marked_interrupted(
    workspace: Path, fake_api: FakeAnthropic, make_deps: Any
) -> None:
    fake_api.script(FAST, Reply(text=block("src/math.ts", SUM_LOOP, SUM_REDUCE), stall_after_tokens=2))
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", _CHILD, str(workspace), fake_api.base_url,
                                                 stdout=asyncio.subprocess.PIPE, env=env)
    try:
        assert child.stdout is not None
        job_id = (await asyncio.wait_for(child.stdout.readline(), 30)).decode().strip()
        await fake_api.wait_for_requests_async(1, timeout=30)

        alive = JobRunner.open(make_deps(), jobs_path(workspace))  # the owner still runs: left alone
        running = alive.get(job_id)
        await alive.aclose()
        assert running is not None and running.status == "running"

        child.send_signal(signal.SIGKILL)
        await asyncio.wait_for(child.wait(), 10)
        after = JobRunner.open(make_deps(), jobs_path(workspace))
        interrupted = after.get(job_id)
        await after.aclose()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert interrupted is not None and interrupted.status == "interrupted" and interrupted.finished_at is not None
    assert interrupted.result is None


async def test_the_concurrency_limit_is_honoured(workspace: Path, fake_api: FakeAnthropic, make_deps: Any) -> None:
    reply = block("src/math.ts", SUM_LOOP, SUM_REDUCE)
    fake_api.script(FAST, *(Reply(text=reply, ttft_s=0.3) for _ in range(3)))
    runner = JobRunner.open(make_deps(), jobs_path(workspace), max_concurrent=1)
    try:
        jobs = [await runner.submit(sum_task(workspace)) for _ in range(3)]
        await fake_api.wait_for_requests_async(1)
        statuses = sorted(runner.get(j.job_id).status for j in jobs)  # type: ignore[union-attr]
        finals = [await runner.wait(j.job_id) for j in jobs]
    finally:
        await runner.aclose()
    assert statuses == ["queued", "queued", "running"]  # the first holds its slot through validation too
    assert all(f is not None and f.status == "validated" for f in finals)
    spans = sorted((r.received_at, r.finished_at or 0.0) for r in fake_api.requests)
    assert len(spans) == 3
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans))  # never two at once


async def test_a_task_on_a_missing_file_is_refused_at_submit(workspace: Path, make_deps: Any) -> None:
    runner = JobRunner.open(make_deps(), jobs_path(workspace))
    try:
        with pytest.raises(ContextError):
            await runner.submit(TaskSpec("", "fix", workspace, "src/missing.ts"))
        assert runner.list() == []
    finally:
        await runner.aclose()
