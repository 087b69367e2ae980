"""Background jobs: ``JobRunner`` (submit → route at once, run with a concurrency limit, cancel, progress)
and ``JobStore`` (SQLite state under ``.ai-coding-router/jobs.sqlite3`` that survives restarts)."""

from .runner import MAX_CONCURRENT_JOBS, JobDone, JobProgress, JobRunner, Submitted
from .store import JOB_MIGRATIONS, JOBS_FILE, JobInfo, JobStatus, JobStore, jobs_path

__all__ = [
    "JOBS_FILE",
    "JOB_MIGRATIONS",
    "MAX_CONCURRENT_JOBS",
    "JobDone",
    "JobInfo",
    "JobProgress",
    "JobRunner",
    "JobStatus",
    "JobStore",
    "Submitted",
    "jobs_path",
]
