"""The SQLite store: migrations recorded in the file, the task view, clear errors, crash safety."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ai_coding_router.ledger.errors import LedgerCorrupt, LedgerError, LedgerLocked, LedgerMissing
from ai_coding_router.ledger.pricing import call_cost
from ai_coding_router.ledger.schema import LEDGER_MIGRATIONS, Migration
from ai_coding_router.ledger.store import LedgerStore, ledger_path

from .helpers import OPUS, SONNET, call, config
from .lockers import locked, wait_for_line

PRICES = config().cost_tracking.prices


def test_migrations_are_recorded_and_applied_once(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = LedgerStore.open(path)
    rows = store.execute("SELECT component, version, name FROM schema_migrations")
    assert rows == [("ledger", 1, "calls and tasks")]
    store.close()
    store = LedgerStore.open(path)  # a second open applies nothing again
    assert store.execute("SELECT COUNT(*) FROM schema_migrations") == [(1,)]
    assert store.execute("PRAGMA journal_mode") == [("wal",)]
    store.close()


def test_another_component_adds_its_tables_to_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    LedgerStore.open(path).close()
    jobs = [
        Migration("jobs", 1, "jobs table", ("CREATE TABLE jobs (id TEXT PRIMARY KEY, state TEXT NOT NULL)",)),
        Migration("jobs", 2, "job progress", ("ALTER TABLE jobs ADD COLUMN progress REAL",)),
    ]
    store = LedgerStore.open(path, migrations=[*LEDGER_MIGRATIONS, *jobs])
    assert store.execute("SELECT component, version FROM schema_migrations ORDER BY component, version") == [
        ("jobs", 1), ("jobs", 2), ("ledger", 1),
    ]
    assert [r[1] for r in store.execute("PRAGMA table_info(jobs)")] == ["id", "state", "progress"]
    store.close()


def test_a_failing_migration_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    broken = Migration("jobs", 1, "broken", ("CREATE TABLE jobs (id TEXT)", "THIS IS NOT SQL"))
    with pytest.raises(LedgerError):
        LedgerStore.open(path, migrations=[*LEDGER_MIGRATIONS, broken])
    store = LedgerStore.open(path)
    assert store.execute("SELECT name FROM sqlite_master WHERE name = 'jobs'") == []
    assert store.execute("SELECT component FROM schema_migrations") == [("ledger",)]
    store.close()


def test_a_newer_schema_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = LedgerStore.open(path)
    store.execute("SELECT 1")
    with store.transaction() as conn:
        conn.execute("INSERT INTO schema_migrations VALUES ('ledger', 2, 'from the future', 0)")
    store.close()
    with pytest.raises(LedgerError, match="newer than this program knows"):
        LedgerStore.open(path)


def test_migration_numbering_must_be_contiguous(tmp_path: Path) -> None:
    gap = Migration("jobs", 2, "gap", ("SELECT 1",))
    with pytest.raises(ValueError, match="numbered"):
        LedgerStore.open(tmp_path / "l.sqlite3", migrations=[*LEDGER_MIGRATIONS, gap])


def test_task_cost_is_the_sum_of_all_its_calls(tmp_path: Path) -> None:
    store = LedgerStore.open(tmp_path / "ledger.sqlite3")
    calls = [
        call(task_id="T", role="generate", model=SONNET, input_tokens=1000, output_tokens=1000, outcome="repaired"),
        call(task_id="T", role="repair", model=SONNET, input_tokens=500, output_tokens=200, outcome="escalated"),
        call(task_id="T", role="escalate", model=OPUS, input_tokens=1000, output_tokens=400, outcome="validated"),
        call(task_id="T", role="signoff", model=OPUS, input_tokens=600, output_tokens=40),
        call(task_id="other", input_tokens=99_999),
    ]
    store.record([(c, call_cost(PRICES, c)) for c in calls])
    totals = store.task_totals("T")
    assert totals is not None
    # (1000*3 + 1000*15) + (500*3 + 200*15) + (1000*5 + 400*25) + (600*5 + 40*25) micro-dollars
    expected = (18_000 + 4_500 + 15_000 + 4_000) / 1e6
    assert totals.cost_usd == pytest.approx(expected)
    assert (totals.calls, totals.outcome, totals.task_kind) == (4, None, "refactor")
    with store.transaction() as conn:
        store.set_task_outcome(conn, "T", "escalated", "refactor")
    assert store.task_totals("T").outcome == "escalated"  # type: ignore[union-attr]
    store.close()


def test_recording_the_same_call_twice_counts_it_once(tmp_path: Path) -> None:
    store = LedgerStore.open(tmp_path / "ledger.sqlite3")
    record = call(call_id="same")
    store.record([(record, 0.01)])
    store.record([(record, 0.01)])
    assert store.execute("SELECT COUNT(*) FROM calls") == [(1,)]
    store.close()


def test_unknown_model_is_stored_with_a_null_cost_and_a_flag(tmp_path: Path) -> None:
    store = LedgerStore.open(tmp_path / "ledger.sqlite3")
    record = call(model="mystery-model")
    store.record([(record, call_cost(PRICES, record))])
    assert store.execute("SELECT cost_usd, priced FROM calls") == [(None, 0)]
    assert store.task_totals("task-1").unpriced_calls == 1  # type: ignore[union-attr]
    store.close()


def test_default_path_is_under_the_workspace_and_gitignored(tmp_path: Path) -> None:
    cfg = config()
    path = ledger_path(cfg, tmp_path)
    assert path == tmp_path / ".ai-coding-router" / "ledger.sqlite3"
    LedgerStore.open(path).close()
    assert (tmp_path / ".ai-coding-router" / ".gitignore").read_text() == "*\n"
    assert ledger_path(config({"ledger_path": "costs/l.db"}), tmp_path) == tmp_path / "costs" / "l.db"
    assert ledger_path(config({"ledger_path": str(tmp_path / "abs.db")}), Path("/elsewhere")) == tmp_path / "abs.db"


def test_a_file_that_is_not_a_database_is_reported_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(b"this is not an sqlite database, it is a text file " * 200)
    with pytest.raises(LedgerCorrupt, match="damaged") as info:
        LedgerStore.open(path)
    assert str(path) in str(info.value)
    with pytest.raises(LedgerCorrupt):
        LedgerStore.open(path, create=False, check=False)  # the report path meets it too


def test_a_damaged_page_fails_the_integrity_check(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = LedgerStore.open(path)
    store.record([(call(task_id=f"t{i}", input_tokens=i), 0.001) for i in range(3000)])
    store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 6 * page
    data[3 * page: 5 * page] = b"\xff" * (2 * page)  # scribble over two b-tree pages
    path.write_bytes(bytes(data))
    with pytest.raises(LedgerCorrupt):
        LedgerStore.open(path)


def test_a_locked_file_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    LedgerStore.open(path).close()
    with locked(path), pytest.raises(LedgerLocked, match="locked by another process"):
        LedgerStore.open(path, busy_timeout_s=0.2)
    LedgerStore.open(path).close()  # usable again once the other process lets go


def test_reading_a_missing_ledger_does_not_create_it(tmp_path: Path) -> None:
    path = tmp_path / "nothing-here.sqlite3"
    with pytest.raises(LedgerMissing, match="nothing has been recorded"):
        LedgerStore.open(path, create=False)
    assert not path.exists()


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from ai_coding_router.ledger.records import CallRecord
    from ai_coding_router.ledger.store import LedgerStore

    def calls(start, stop):
        return [(CallRecord(call_id=f"c{i}", task_id=f"t{i % 50}", task_kind="refactor", role="generate",
                            model="claude-sonnet-4-6", outcome="validated", ts=1.8e9 + i, input_tokens=i,
                            output_tokens=1), 0.001) for i in range(start, stop)]

    store = LedgerStore.open(Path(sys.argv[1]))
    store.record(calls(0, 500))
    with store.transaction() as conn:
        store.insert_calls(conn, calls(500, 750), False)
        print("mid-batch", flush=True)
        time.sleep(60)
        store.insert_calls(conn, calls(750, 1000), False)
""")


def test_a_writer_killed_mid_batch_leaves_a_consistent_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        wait_for_line(child, "mid-batch")
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    store = LedgerStore.open(path)  # runs quick_check: raises if the file were damaged
    assert store.execute("SELECT COUNT(*), MIN(input_tokens), MAX(input_tokens) FROM calls") == [(500, 0, 499)]
    # Every call's task row landed in the same transaction, and the view still sums them.
    assert store.execute("SELECT COUNT(*) FROM calls c LEFT JOIN tasks t USING (task_id) WHERE t.task_id IS NULL") == [
        (0,)
    ]
    assert store.task_totals("t7").calls == 10  # type: ignore[union-attr]
    store.record([(call(call_id="after-crash"), 0.5)])  # and it takes new writes
    store.close()
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    raw.close()


def test_routed_only_keeps_whole_routed_tasks(tmp_path: Path) -> None:
    store = LedgerStore.open(tmp_path / "ledger.sqlite3")
    store.record([
        (call(call_id="g", task_id="routed", route_score=0.4), 0.01),
        (call(call_id="r", task_id="routed", role="repair"), 0.01),  # no score on the repair call
        (call(call_id="c", task_id="completion", role="completion", outcome="ok"), 0.001),
    ])
    assert [row.role for row in store.fetch_calls(routed_only=True)] == ["generate", "repair"]
    assert len(store.fetch_calls()) == 3
    store.close()
