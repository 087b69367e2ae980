"""Job state in SQLite: ``.ai-coding-router/jobs.sqlite3``, its schema owned by the migration mechanism of
the ledger (component ``jobs``).

Its own file rather than the ledger's: the ledger can be switched off (``cost_tracking.enabled``), moved
to a shared path (``cost_tracking.ledger_path``, e.g. one ledger for a team's workspaces) or set aside
when damaged, none of which may lose a workspace's job results; and job rows carry source text, which a
shared cost ledger must not collect. One connection, used from the event loop thread only (writes are
single small rows).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..ledger.schema import Migration
from ..ledger.store import LEDGER_DIR, LedgerStore
from ..pipeline.spec import TaskResult

JOBS_FILE = "jobs.sqlite3"
MAX_KEPT_JOBS = 200  # finished jobs kept; older ones are dropped at start-up

JobStatus = Literal[
    "queued", "running", "validated", "failed", "cancelled", "answered", "unvalidated", "interrupted"
]
ACTIVE: tuple[str, ...] = ("queued", "running")
_STATUSES = "'queued','running','validated','failed','cancelled','answered','unvalidated','interrupted'"

JOB_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "jobs",
        1,
        "background jobs",
        (
            f"""CREATE TABLE jobs (
                job_id      TEXT PRIMARY KEY,
                task_id     TEXT NOT NULL,
                kind        TEXT NOT NULL,
                file        TEXT NOT NULL,
                status      TEXT NOT NULL CHECK (status IN ({_STATUSES})),
                stage       TEXT,
                message     TEXT,
                owner       TEXT NOT NULL,
                spec        TEXT NOT NULL,
                route       TEXT NOT NULL,
                result      TEXT,
                error       TEXT,
                created_at  REAL NOT NULL,
                started_at  REAL,
                finished_at REAL,
                applied_at  REAL
            )""",
            "CREATE INDEX jobs_created ON jobs (created_at)",
        ),
    ),
)


def jobs_path(workspace: Path) -> Path:
    return workspace / LEDGER_DIR / JOBS_FILE


@dataclass(frozen=True)
class JobInfo:
    job_id: str
    task_id: str
    kind: str
    file: str
    status: JobStatus
    stage: str | None
    message: str | None
    route: dict[str, Any]
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    applied_at: float | None = None
    error: str | None = None
    result: TaskResult | None = None
    spec: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.status not in ACTIVE

    def to_json(self, *, with_result: bool = False) -> dict[str, Any]:
        """What ``aiCodingRouter.listJobs`` shows (the result's texts only when asked for)."""
        data: dict[str, Any] = {
            "jobId": self.job_id, "taskId": self.task_id, "kind": self.kind, "file": self.file,
            "status": self.status, "stage": self.stage, "message": self.message, "route": self.route,
            "createdAt": self.created_at, "startedAt": self.started_at, "finishedAt": self.finished_at,
            "appliedAt": self.applied_at, "error": self.error,
            "applicable": bool(self.result and self.result.applicable),
            "summary": self.result.summary if self.result else None,
        }
        if with_result:
            data["result"] = self.result.to_json() if self.result else None
        return data


def _owner_alive(owner: str, me: str) -> bool:
    """Whether another live process on this machine owns a job (its rows must not be marked interrupted)."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if owner == me or host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # an earlier runner of this process: superseded by this one
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_COLUMNS = ("job_id, task_id, kind, file, status, stage, message, route, created_at, started_at, finished_at, "
            "applied_at, error")


class JobStore:
    def __init__(self, store: LedgerStore, owner: str) -> None:
        self._store = store
        self.owner = owner
        self.path = store.path

    @classmethod
    def open(cls, path: Path, *, owner: str) -> JobStore:
        """Open (or create) the file and mark the jobs of processes that are gone as ``interrupted``."""
        store = LedgerStore.open(path, migrations=JOB_MIGRATIONS)
        jobs = cls(store, owner)
        jobs._mark_interrupted()
        jobs._prune()
        return jobs

    def close(self) -> None:
        self._store.close()

    def _mark_interrupted(self) -> None:
        rows = self._store.execute("SELECT job_id, owner FROM jobs WHERE status IN ('queued', 'running')")
        dead = [str(job_id) for job_id, owner in rows if not _owner_alive(str(owner), self.owner)]
        now = time.time()
        with self._store.transaction() as conn:
            conn.executemany(
                "UPDATE jobs SET status = 'interrupted', finished_at = ?, "
                "message = 'the server stopped while the job ran' WHERE job_id = ?",
                [(now, job_id) for job_id in dead],
            )

    def _prune(self) -> None:
        with self._store.transaction() as conn:
            conn.execute(
                "DELETE FROM jobs WHERE status NOT IN ('queued', 'running') AND job_id NOT IN "
                "(SELECT job_id FROM jobs ORDER BY created_at DESC LIMIT ?)",
                (MAX_KEPT_JOBS,),
            )

    def insert(self, job_id: str, spec: dict[str, Any], route: dict[str, Any]) -> None:
        with self._store.transaction() as conn:
            conn.execute(
                "INSERT INTO jobs (job_id, task_id, kind, file, status, owner, spec, route, created_at, stage) "
                "VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, 'routing')",
                (job_id, spec["taskId"], spec["kind"], spec["file"], self.owner, json.dumps(spec),
                 json.dumps(route), time.time()),
            )

    def update(self, job_id: str, **values: object) -> None:
        allowed = {"status", "stage", "message", "started_at", "finished_at", "applied_at", "error", "result"}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"unknown job columns: {sorted(unknown)}")
        names = sorted(values)
        # S608: the column names come from the fixed set above; every value is bound.
        assignments = ", ".join(f"{name} = ?" for name in names)
        with self._store.transaction() as conn:
            conn.execute(f"UPDATE jobs SET {assignments} WHERE job_id = ?",  # noqa: S608
                         (*(values[n] for n in names), job_id))

    def finish(self, job_id: str, status: JobStatus, result: TaskResult | None, error: str | None = None) -> None:
        self.update(job_id, status=status, finished_at=time.time(), error=error,
                    result=json.dumps(result.to_json()) if result is not None else None,
                    message=result.summary if result is not None else error)

    def get(self, job_id: str) -> JobInfo | None:
        rows = self._store.execute(f"SELECT {_COLUMNS}, result, spec FROM jobs WHERE job_id = ?",  # noqa: S608
                                   (job_id,))
        return _info(rows[0], with_result=True) if rows else None

    def list(self, limit: int = 50) -> list[JobInfo]:
        rows = self._store.execute(
            f"SELECT {_COLUMNS}, result, NULL FROM jobs ORDER BY created_at DESC LIMIT ?", (limit,)  # noqa: S608
        )
        return [_info(row, with_result=True) for row in rows]

    def statuses(self, job_ids: Iterable[str]) -> dict[str, str]:
        ids = list(job_ids)
        if not ids:
            return {}
        marks = ",".join("?" for _ in ids)
        rows = self._store.execute(f"SELECT job_id, status FROM jobs WHERE job_id IN ({marks})", ids)  # noqa: S608
        return {str(a): str(b) for a, b in rows}


def _info(row: tuple[object, ...], *, with_result: bool) -> JobInfo:
    (job_id, task_id, kind, file, status, stage, message, route, created_at, started_at, finished_at,
     applied_at, error, result, spec) = row
    parsed = TaskResult.from_json(json.loads(str(result))) if with_result and result else None
    return JobInfo(
        job_id=str(job_id), task_id=str(task_id), kind=str(kind), file=str(file), status=str(status),  # type: ignore[arg-type]
        stage=None if stage is None else str(stage), message=None if message is None else str(message),
        route=json.loads(str(route)), created_at=float(str(created_at)),
        started_at=_float(started_at), finished_at=_float(finished_at), applied_at=_float(applied_at),
        error=None if error is None else str(error), result=parsed,
        spec=json.loads(str(spec)) if spec else None,
    )


def _float(value: object) -> float | None:
    return None if value is None else float(str(value))
