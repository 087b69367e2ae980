"""The SQLite ledger file: opening (WAL, integrity check, migrations), batched writes, reads for reports.

A ``LedgerStore`` wraps one connection and is used by one thread at a time: the writer thread owns one,
a report command opens its own. Every SQLite failure leaves here as a ``LedgerError`` with a clear message.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from .errors import LedgerCorrupt, LedgerError, LedgerLocked, LedgerMissing
from .records import CallRecord, CallRow, CostBucket, GroupSums, KeyedCall, ReportInput
from .schema import LEDGER_MIGRATIONS, Migration, apply_migrations

LEDGER_DIR = ".ai-coding-router"
LEDGER_FILE = "ledger.sqlite3"


def ledger_path(config: Config, workspace: Path) -> Path:
    """``cost_tracking.ledger_path`` (relative paths are under the workspace), else the default file."""
    configured = config.cost_tracking.ledger_path
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_absolute() else workspace / path
    return workspace / LEDGER_DIR / LEDGER_FILE


@dataclass(frozen=True)
class Spend:
    cost_usd: float = 0.0
    calls: int = 0
    tokens: int = 0
    unpriced_calls: int = 0

    def plus(self, cost: float | None, tokens: int) -> Spend:
        return Spend(
            self.cost_usd + (cost or 0.0),
            self.calls + 1,
            self.tokens + tokens,
            self.unpriced_calls + (cost is None),
        )


@dataclass(frozen=True)
class TaskTotals:
    task_id: str
    task_kind: str
    outcome: str | None
    calls: int
    cost_usd: float
    unpriced_calls: int
    tokens: int


def translate(exc: sqlite3.Error, path: Path | str) -> LedgerError:
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    where = str(path)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text or "busy" in text:
        return LedgerLocked(
            "the cost ledger is locked by another process (another ai-coding-router, or a tool holding it "
            "open); close it or set cost_tracking.ledger_path to another file",
            where,
        )
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "not a database" in text or "malformed" in text:
        return LedgerCorrupt(
            f"the cost ledger file is damaged ({text}); move it aside and a new one will be started", where
        )
    return LedgerError(f"cannot use the cost ledger: {text}", where)


_INSERT_CALL = """
INSERT OR IGNORE INTO calls (
    call_id, task_id, task_kind, role, model, route_score, variant, input_tokens, output_tokens,
    cache_write_tokens, cache_read_tokens, ttft_ms, latency_ms, outcome, tags, batch, cost_usd, priced, ts, prompt
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

_UPSERT_TASK = """
INSERT INTO tasks (task_id, task_kind, outcome, first_ts, last_ts) VALUES (?, ?, NULL, ?, ?)
ON CONFLICT (task_id) DO UPDATE SET
    first_ts = MIN(first_ts, excluded.first_ts), last_ts = MAX(last_ts, excluded.last_ts)
"""

# Row order is write order: a task's calls are recorded one after another, and reading in rowid order
# avoids a sort or a walk through the time index for a whole-ledger report.
_SELECT_CALLS = """
SELECT task_id, task_kind, role, model, route_score, variant, input_tokens, output_tokens,
       cache_write_tokens, cache_read_tokens, ttft_ms, latency_ms, outcome, {tags}, batch, cost_usd, ts
FROM calls {where} ORDER BY id
"""


class LedgerStore:
    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        create: bool = True,
        migrations: Sequence[Migration] = LEDGER_MIGRATIONS,
        busy_timeout_s: float = 5.0,
        check: bool = True,
    ) -> LedgerStore:
        """Open (or create) the ledger, check it and bring its schema up to date."""
        path = path.expanduser().absolute()
        if not path.exists():
            if not create:
                raise LedgerMissing("no cost ledger here yet (nothing has been recorded)", str(path))
            _make_parent(path)
        mode = "rwc" if create else "rw"
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                f"{path.as_uri()}?mode={mode}",
                uri=True,
                timeout=busy_timeout_s,
                isolation_level=None,  # autocommit: transactions are explicit below
                check_same_thread=False,  # handed from the opening thread to the writer thread
            )
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            if check:
                status = conn.execute("PRAGMA quick_check").fetchone()
                if status is None or status[0] != "ok":
                    raise LedgerCorrupt(f"the cost ledger file fails its integrity check ({status})", str(path))
            mode_row = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if mode_row is None or str(mode_row[0]).lower() != "wal":
                raise LedgerLocked("cannot switch the cost ledger to WAL mode; is it open elsewhere?", str(path))
            # NORMAL in WAL mode: a commit survives a crash of this process; only power loss may drop the last.
            conn.execute("PRAGMA synchronous = NORMAL")
            apply_migrations(conn, migrations)
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise translate(exc, path) from exc
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        return cls(conn, path)

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it lands or none (the write lock is taken at BEGIN)."""
        with self._errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # -- writes ------------------------------------------------------------------------------------
    def insert_calls(
        self, conn: sqlite3.Connection, calls: Sequence[tuple[CallRecord, float | None]], store_prompts: bool
    ) -> None:
        """Insert calls (each with its cost) inside the caller's ``transaction()``; re-inserting an id is a no-op."""
        conn.executemany(_INSERT_CALL, [_call_params(call, cost, store_prompts) for call, cost in calls])
        conn.executemany(_UPSERT_TASK, [(call.task_id, call.task_kind, call.ts, call.ts) for call, _ in calls])

    def set_task_outcome(self, conn: sqlite3.Connection, task_id: str, outcome: str, task_kind: str) -> None:
        cursor = conn.execute("UPDATE tasks SET outcome = ? WHERE task_id = ?", (outcome, task_id))
        if cursor.rowcount == 0:
            now = time.time()
            conn.execute(
                "INSERT INTO tasks (task_id, task_kind, outcome, first_ts, last_ts) VALUES (?, ?, ?, ?, ?)",
                (task_id, task_kind, outcome, now, now),
            )

    def record(self, calls: Sequence[tuple[CallRecord, float | None]], store_prompts: bool = False) -> None:
        with self.transaction() as conn:
            self.insert_calls(conn, calls, store_prompts)

    # -- reads -------------------------------------------------------------------------------------
    def spend_between(self, start_ts: float, end_ts: float = float("inf")) -> Spend:
        with self._errors():
            row = self._conn.execute(
                """SELECT COALESCE(SUM(cost_usd), 0.0), COUNT(*),
                          COALESCE(SUM(input_tokens + output_tokens + cache_write_tokens + cache_read_tokens), 0),
                          COALESCE(SUM(priced = 0), 0)
                   FROM calls WHERE ts >= ? AND ts < ?""",
                (start_ts, end_ts),
            ).fetchone()
        return Spend(float(row[0]), int(row[1]), int(row[2]), int(row[3]))

    def task_totals(self, task_id: str) -> TaskTotals | None:
        with self._errors():
            row = self._conn.execute(
                "SELECT task_id, task_kind, outcome, calls, cost_usd, unpriced_calls, tokens "
                "FROM task_totals WHERE task_id = ?",
                (task_id,),
            ).fetchone()
        if row is None:
            return None
        return TaskTotals(row[0], row[1], row[2], int(row[3]), float(row[4]), int(row[5] or 0), int(row[6]))

    def fetch_calls(
        self,
        since_ts: float | None = None,
        until_ts: float | None = None,
        with_tags: bool = True,
        routed_only: bool = False,
    ) -> list[CallRow]:
        """Calls in the window, in the order they were written (``tags`` is "{}" unless ``with_tags``;
        ``routed_only``: only tasks of which some call carries a route score)."""
        where, window = _window(since_ts, until_ts)
        if routed_only:
            routed = "task_id IN (SELECT task_id FROM calls WHERE route_score IS NOT NULL)"
            where = f"{where} AND {routed}" if where else f"WHERE {routed}"
        sql = _SELECT_CALLS.format(tags="tags" if with_tags else "'{}'", where=where)
        with self._errors():
            cursor = self._conn.execute(sql, window)
            return [CallRow._make(row) for row in cursor.fetchall()]

    def report_input(
        self, since_ts: float | None = None, until_ts: float | None = None, by: str = "model"
    ) -> ReportInput:
        """What ``report.build_report`` needs: the database adds up tokens and cost per group and per
        15-minute bucket, and returns one light row per call for the task and latency figures."""
        key, key_params = _group_key(by)
        where, window = _window(since_ts, until_ts)
        # S608: ``key`` is one of _group_key's fixed expressions; every value is bound as a parameter.
        with self._errors():
            sums = self._conn.execute(
                f"""SELECT {key} AS k, COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cache_write_tokens),
                           SUM(cache_read_tokens), COALESCE(SUM(cost_usd), 0.0), SUM(cost_usd IS NULL)
                    FROM calls {where} GROUP BY k""",  # noqa: S608
                (*key_params, *window),
            ).fetchall()
            buckets = self._conn.execute(
                f"""SELECT CAST(ts / {_BUCKET_S} AS INTEGER) AS b, model, COALESCE(SUM(cost_usd), 0.0),
                           SUM(cost_usd IS NULL)
                    FROM calls {where} GROUP BY b, model""",  # noqa: S608
                window,
            ).fetchall()
            calls = self._conn.execute(
                f"""SELECT {key}, task_id, role, model, route_score, outcome, latency_ms, ttft_ms
                    FROM calls {where} ORDER BY id""",  # noqa: S608
                (*key_params, *window),
            ).fetchall()
        return ReportInput(
            [GroupSums._make(row) for row in sums],
            [CostBucket._make(row) for row in buckets],
            [KeyedCall._make(row) for row in calls],
            self.task_outcomes(since_ts),
        )

    def task_outcomes(self, since_ts: float | None = None) -> dict[str, str | None]:
        """Outcomes the pipeline set explicitly (the others are derived from the calls)."""
        start = since_ts if since_ts is not None else float("-inf")
        with self._errors():
            rows = self._conn.execute(
                "SELECT task_id, outcome FROM tasks WHERE outcome IS NOT NULL AND last_ts >= ?", (start,)
            ).fetchall()
        return {str(task_id): outcome for task_id, outcome in rows}

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """Read-only helper for tests and other components sharing the file."""
        with self._errors():
            return list(self._conn.execute(sql, tuple(params)).fetchall())


_BUCKET_S = 900
_GROUP_KEYS = {
    "model": "model",
    "task_type": "task_kind",
    "variant": "COALESCE(variant, '(none)')",
    "day": f"CAST(ts / {_BUCKET_S} AS INTEGER)",  # the report turns buckets into local dates
}


def _window(since_ts: float | None, until_ts: float | None) -> tuple[str, tuple[float, ...]]:
    """A WHERE clause for a time window; none for the whole ledger, where walking the time index to every
    row would cost twice a plain scan."""
    clauses, params = [], []
    if since_ts is not None:
        clauses.append("ts >= ?")
        params.append(since_ts)
    if until_ts is not None:
        clauses.append("ts < ?")
        params.append(until_ts)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


def _group_key(by: str) -> tuple[str, tuple[str, ...]]:
    """The SQL expression grouping calls ``by`` a column or a tag (tag names are bound, never spliced)."""
    if by in _GROUP_KEYS:
        return _GROUP_KEYS[by], ()
    if by.startswith("tag:"):
        path = '$."' + by[4:].replace('"', "") + '"'
        expr = ("CASE WHEN json_valid(tags) THEN COALESCE(NULLIF(CAST(json_extract(tags, ?) AS TEXT), ''), "
                "'(none)') ELSE '(none)' END")
        return expr, (path,)
    raise ValueError(f"cannot group by {by!r}")


def _call_params(call: CallRecord, cost: float | None, store_prompts: bool) -> tuple[object, ...]:
    return (
        call.call_id, call.task_id, call.task_kind, call.role, call.model, call.route_score, call.variant,
        call.input_tokens, call.output_tokens, call.cache_write_tokens, call.cache_read_tokens,
        call.ttft_ms, call.latency_ms, call.outcome,
        json.dumps(dict(call.tags), sort_keys=True, separators=(",", ":"), default=str),
        int(call.batch), cost, int(cost is not None), call.ts,
        call.prompt if store_prompts else None,
    )


def _make_parent(path: Path) -> None:
    parent = path.parent
    if parent.exists():
        return
    try:
        parent.mkdir(parents=True)
    except OSError as exc:
        raise LedgerError(f"cannot create the ledger's folder: {exc}", str(parent)) from exc
    if parent.name == LEDGER_DIR:
        # Our own folder: keep the ledger (costs, branch names) out of the user's commits.
        with suppress(OSError):  # a missing .gitignore is not worth failing the ledger for
            (parent / ".gitignore").write_text("*\n", encoding="utf-8")
