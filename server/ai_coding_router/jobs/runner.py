"""``JobRunner``: background tasks with a concurrency limit, cancellation, progress and persistence.

``submit`` routes the task first (context and route, so the caller can answer ``{"jobId", "route"}`` at
once), records the job as ``queued`` and starts it on a task the runner owns — not the LSP handler's,
whose cancellation pygls does not deliver to commands. At most ``max_concurrent`` jobs run at once; the
rest wait in ``queued``. ``cancel`` cancels the job's task: the model stream is closed, the validators are
killed and nothing is applied. Every state change is written to the job store, so ``list``/``get`` show
finished jobs (and their results, to re-apply) after a restart. No pygls here: the LSP layer turns the
progress callbacks into ``$/progress`` and results into ``workspace/applyEdit``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ..pipeline.prepare import PipelineDeps, PreparedTask, prepare_task
from ..pipeline.run import run_task
from ..pipeline.spec import TaskResult, TaskSpec
from ..routing import Route
from .store import JobInfo, JobStatus, JobStore

log = logging.getLogger(__name__)

# Proposed config field (e.g. routing.max_concurrent_jobs); a constant until the lead adds it.
MAX_CONCURRENT_JOBS = 2

JobProgress = Callable[[str, str, str], None]  # (job_id, stage, message)
JobDone = Callable[[JobInfo], None]


@dataclass(frozen=True)
class Submitted:
    job_id: str
    route: Route

    def to_json(self) -> dict[str, object]:
        """``aiCodingRouter.runTask``'s answer."""
        route = self.route.as_json()
        return {"jobId": self.job_id, "route": {"model": route["model"], "score": route["score"],
                                                "reasons": route["reasons"], "tier": route["tier"],
                                                "needsSignoff": route["needsSignoff"]}}


class JobRunner:
    def __init__(self, deps: PipelineDeps | Callable[[], PipelineDeps], store: JobStore, *,
                 max_concurrent: int = MAX_CONCURRENT_JOBS) -> None:
        self._deps = deps
        self._store = store
        self._limit = asyncio.Semaphore(max(1, max_concurrent))
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._done: dict[str, asyncio.Event] = {}

    @classmethod
    def open(cls, deps: PipelineDeps | Callable[[], PipelineDeps], db_path: Path, *,
             max_concurrent: int = MAX_CONCURRENT_JOBS) -> JobRunner:
        """Open the job store (marking jobs of a process that died as ``interrupted``)."""
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        return cls(deps, JobStore.open(db_path, owner=owner), max_concurrent=max_concurrent)

    def deps(self) -> PipelineDeps:
        return self._deps() if callable(self._deps) else self._deps

    # -- the API the LSP layer calls ------------------------------------------------------------------
    async def submit(self, spec: TaskSpec, progress: JobProgress | None = None, on_done: JobDone | None = None
                     ) -> Submitted:
        """Route ``spec`` and start it. Raises ContextError/EditError for a file that cannot be used."""
        job_id = uuid.uuid4().hex[:16]
        if not spec.task_id:
            spec = replace(spec, task_id=job_id)
        deps = self.deps()
        prepared = await prepare_task(spec, deps)
        persisted = replace(spec, documents={})  # the base texts travel in the result; no copies of buffers
        self._store.insert(job_id, persisted.to_json(), prepared.route.as_json())
        self._done[job_id] = asyncio.Event()
        task = asyncio.create_task(self._run(job_id, prepared, deps, progress, on_done), name=f"job-{job_id}")
        self._tasks[job_id] = task
        return Submitted(job_id, prepared.route)

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job of this process. False when there is nothing to cancel."""
        task = self._tasks.get(job_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    def get(self, job_id: str) -> JobInfo | None:
        return self._store.get(job_id)

    def list(self, limit: int = 50) -> list[JobInfo]:
        return self._store.list(limit)

    def mark_applied(self, job_id: str) -> None:
        self._store.update(job_id, applied_at=time.time())

    async def wait(self, job_id: str) -> JobInfo | None:
        """Wait until a job of this process has finished; its final state."""
        done = self._done.get(job_id)
        if done is not None:
            await done.wait()
        return self.get(job_id)

    @property
    def running(self) -> int:
        return sum(1 for task in self._tasks.values() if not task.done())

    async def aclose(self) -> None:
        """Cancel every job still running (they end as ``cancelled``) and close the store."""
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._store.close()

    # -- one job -----------------------------------------------------------------------------------
    async def _run(self, job_id: str, prepared: PreparedTask, deps: PipelineDeps, progress: JobProgress | None,
                   on_done: JobDone | None) -> None:
        def report(stage: str, message: str) -> None:
            try:
                self._store.update(job_id, stage=stage, message=message)
            except Exception:  # a progress line is not worth failing the job
                log.exception("job %s: storing progress failed", job_id)
            if progress is not None:
                try:
                    progress(job_id, stage, message)
                except Exception:
                    log.exception("job %s: progress callback failed", job_id)

        status: JobStatus
        result: TaskResult | None = None
        error: str | None = None
        route = prepared.route
        try:
            report("routing", f"routed to {route.model} ({route.tier} model, score {route.score:.2f})")
            async with self._limit:
                self._store.update(job_id, status="running", started_at=time.time())
                result = await run_task(prepared.task, deps, report, prepared=prepared)
            status = result.status
        except asyncio.CancelledError:
            status, result = "cancelled", _cancelled(prepared)
        except Exception as exc:  # a bug must not take the runner down; the job says what happened
            log.exception("job %s failed", job_id)
            status, error = "failed", f"internal error: {type(exc).__name__}: {exc}"
        try:
            self._store.finish(job_id, status, result, error)
        except Exception:
            log.exception("job %s: storing the result failed", job_id)
        finally:
            self._tasks.pop(job_id, None)
            self._done[job_id].set()
        info = self.get(job_id)
        if on_done is not None and info is not None:
            try:
                on_done(info)
            except Exception:
                log.exception("job %s: completion callback failed", job_id)


def _cancelled(prepared: PreparedTask) -> TaskResult:
    task = prepared.task
    return TaskResult(task.task_id, task.kind, "cancelled", "cancelled", prepared.route.as_json(),
                      "cancelled: nothing was applied")
