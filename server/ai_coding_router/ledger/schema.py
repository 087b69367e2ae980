"""Schema migrations, recorded in the database itself.

Each component (``ledger`` here; the job runner later) owns a list of ``Migration``s numbered 1, 2, 3...
``apply_migrations`` runs the ones a database has not seen, each in its own transaction together with its
row in ``schema_migrations``, so a crash leaves a migration either applied and recorded or neither.
Another module adds its tables by passing its own list to ``LedgerStore.open(..., migrations=...)``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import LedgerError


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    statements: tuple[str, ...]  # one SQL statement each (no executescript: it would commit on its own)


_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    component  TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    applied_at REAL    NOT NULL,
    PRIMARY KEY (component, version)
)
"""

_ROLES = "'generate','repair','escalate','signoff','completion','quick_fix'"
_OUTCOMES = "'validated','repaired','escalated','failed','cancelled','timed_out','ok'"

LEDGER_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "ledger",
        1,
        "calls and tasks",
        (
            f"""CREATE TABLE calls (
                id                 INTEGER PRIMARY KEY,
                call_id            TEXT    NOT NULL UNIQUE,
                task_id            TEXT    NOT NULL,
                task_kind          TEXT    NOT NULL,
                role               TEXT    NOT NULL CHECK (role IN ({_ROLES})),
                model              TEXT    NOT NULL,
                route_score        REAL,
                variant            TEXT,
                input_tokens       INTEGER NOT NULL CHECK (input_tokens >= 0),
                output_tokens      INTEGER NOT NULL CHECK (output_tokens >= 0),
                cache_write_tokens INTEGER NOT NULL CHECK (cache_write_tokens >= 0),
                cache_read_tokens  INTEGER NOT NULL CHECK (cache_read_tokens >= 0),
                ttft_ms            REAL,
                latency_ms         REAL    NOT NULL,
                outcome            TEXT    NOT NULL CHECK (outcome IN ({_OUTCOMES})),
                tags               TEXT    NOT NULL DEFAULT '{{}}',
                batch              INTEGER NOT NULL DEFAULT 0,
                cost_usd           REAL,
                priced             INTEGER NOT NULL,
                ts                 REAL    NOT NULL,
                prompt             TEXT
            )""",
            "CREATE INDEX calls_ts ON calls (ts)",
            "CREATE INDEX calls_task ON calls (task_id)",
            f"""CREATE TABLE tasks (
                task_id   TEXT PRIMARY KEY,
                task_kind TEXT NOT NULL,
                outcome   TEXT CHECK (outcome IS NULL OR outcome IN ({_OUTCOMES})),
                first_ts  REAL NOT NULL,
                last_ts   REAL NOT NULL
            )""",
            # A task's cost is the sum of all its calls; a view keeps that true by construction.
            """CREATE VIEW task_totals AS
               SELECT t.task_id, t.task_kind, t.outcome, t.first_ts, t.last_ts,
                      COUNT(c.id) AS calls,
                      COALESCE(SUM(c.cost_usd), 0.0) AS cost_usd,
                      SUM(c.priced = 0) AS unpriced_calls,
                      COALESCE(SUM(c.input_tokens + c.output_tokens + c.cache_write_tokens
                                   + c.cache_read_tokens), 0) AS tokens
               FROM tasks t LEFT JOIN calls c ON c.task_id = t.task_id
               GROUP BY t.task_id""",
        ),
    ),
)


def applied_versions(conn: sqlite3.Connection) -> dict[str, int]:
    rows = conn.execute("SELECT component, MAX(version) FROM schema_migrations GROUP BY component").fetchall()
    return {str(component): int(version) for component, version in rows}


def apply_migrations(conn: sqlite3.Connection, migrations: Iterable[Migration]) -> list[Migration]:
    """Apply the pending migrations in order; return the ones applied. ``conn`` must be in autocommit
    mode (``isolation_level=None``) so the explicit transactions below are the only ones."""
    ordered = sorted(migrations, key=lambda m: (m.component, m.version))
    _check_numbering(ordered)
    conn.execute(_BOOKKEEPING)
    done = applied_versions(conn)
    known = {m.component: m.version for m in ordered}
    for component, version in done.items():
        if component in known and version > known[component]:
            raise LedgerError(
                f"the database's {component!r} schema is version {version}, newer than this program "
                f"knows ({known[component]}); upgrade ai-coding-router"
            )
    applied: list[Migration] = []
    for migration in ordered:
        if migration.version <= done.get(migration.component, 0):
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-check inside the write lock: another process may have migrated meanwhile.
            row = conn.execute(
                "SELECT 1 FROM schema_migrations WHERE component = ? AND version = ?",
                (migration.component, migration.version),
            ).fetchone()
            if row is None:
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (component, version, name, applied_at) VALUES (?, ?, ?, ?)",
                    (migration.component, migration.version, migration.name, time.time()),
                )
                applied.append(migration)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return applied


def _check_numbering(ordered: Sequence[Migration]) -> None:
    expected: dict[str, int] = {}
    for migration in ordered:
        want = expected.get(migration.component, 0) + 1
        if migration.version != want:
            raise ValueError(f"migrations of {migration.component!r} must be numbered 1, 2, 3...; got {want - 1} "
                             f"then {migration.version}")
        expected[migration.component] = migration.version
