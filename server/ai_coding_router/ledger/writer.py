"""Background writes: the event loop only enqueues; one thread owns the SQLite connection.

Whatever has queued up while the thread was writing goes into the next transaction (group commit), so a
burst of calls costs one fsync, and a crash loses at most the calls not yet committed — never half a batch.
If the file cannot be opened or written, the writer keeps running "disabled": it still feeds the
telemetry sinks and answers ``flush()``, and ``disabled_reason`` says why.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .errors import LedgerCorrupt, LedgerError, LedgerLocked
from .records import CallRecord, SecretGuard
from .store import LedgerStore

log = logging.getLogger(__name__)


class CallSink(Protocol):
    """Receives every recorded call after it is written (e.g. the OpenTelemetry exporter)."""

    def export(self, call: CallRecord, cost_usd: float | None) -> None: ...


@dataclass(frozen=True)
class _Call:
    call: CallRecord
    cost: float | None


@dataclass(frozen=True)
class _Outcome:
    task_id: str
    outcome: str
    task_kind: str


@dataclass(frozen=True)
class _Barrier:
    done: concurrent.futures.Future[None]


class _Stop:
    pass


_Item = _Call | _Outcome | _Barrier | _Stop


class LedgerWriter:
    def __init__(
        self,
        opener: Callable[[], LedgerStore] | None,
        *,
        enrich: Callable[[CallRecord], CallRecord] = lambda call: call,
        guard: SecretGuard | None = None,
        sinks: Sequence[CallSink] = (),
        store_prompts: Callable[[], bool] = lambda: False,
        max_batch: int = 2000,
        max_queue: int = 200_000,
        lock_retries: int = 2,
        disabled_reason: str | None = None,
    ) -> None:
        self._opener = opener
        self._enrich = enrich
        self._guard = guard or SecretGuard()
        self._sinks = list(sinks)
        self._store_prompts = store_prompts
        self._max_batch = max_batch
        self._max_queue = max_queue
        self._lock_retries = lock_retries
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        self._closed = False
        self.disabled_reason: str | None = None if opener else (disabled_reason or "no ledger file")
        self.store_path: Path | None = None
        self.written = 0
        self.dropped = 0

    @property
    def enabled(self) -> bool:
        return self.disabled_reason is None

    @property
    def redactions(self) -> int:
        return self._guard.redactions

    async def start(self) -> None:
        """Start the thread and wait for the file to be opened (or found unusable: then disabled)."""
        self._thread.start()
        await asyncio.wrap_future(self._started)

    # -- event-loop side: never blocks -------------------------------------------------------------
    def submit(self, call: CallRecord, cost: float | None) -> None:
        if self._closed or self._queue.qsize() >= self._max_queue:
            self.dropped += 1
            return
        self._queue.put(_Call(call, cost))

    def submit_outcome(self, task_id: str, outcome: str, task_kind: str) -> None:
        if not self._closed:
            self._queue.put(_Outcome(task_id, outcome, task_kind))

    async def flush(self) -> None:
        """Wait until everything submitted so far is committed (or dropped, if the ledger is disabled)."""
        if self._closed or not self._thread.is_alive():
            return
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._queue.put(_Barrier(done))
        await asyncio.wrap_future(done)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._queue.put(_Stop())
            await asyncio.to_thread(self._thread.join)

    # -- writer thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        store: LedgerStore | None = None
        if self._opener is not None:
            try:
                store = self._opener()
                self.store_path = store.path
            except LedgerError as exc:
                self._disable(str(exc))
            except Exception as exc:  # never let the thread die silently
                log.exception("cost ledger: unexpected error while opening")
                self._disable(f"cannot open the cost ledger: {exc}")
        if not self._started.done():  # the opener's waiter may have been cancelled (a server shut down at once)
            self._started.set_result(None)
        try:
            while True:
                items = [self._queue.get()]
                while len(items) < self._max_batch:
                    try:
                        items.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                try:
                    keep_going = self._process(store, items)
                except Exception as exc:  # a bug here must not leave flush() waiting forever
                    log.exception("cost ledger: writer failed")
                    self._disable(f"the ledger writer failed: {exc}")
                    keep_going = self._release(items)
                if not keep_going:
                    return
                if store is not None and not self.enabled:
                    store.close()
                    store = None
        finally:
            if store is not None:
                store.close()

    def _process(self, store: LedgerStore | None, items: list[_Item]) -> bool:
        """Write one batch in one transaction; return False once told to stop."""
        calls: list[tuple[CallRecord, float | None]] = []
        for item in items:
            if isinstance(item, _Call):
                calls.append((self._prepare(item.call), item.cost))
        outcomes = [item for item in items if isinstance(item, _Outcome)]
        if store is not None and (calls or outcomes):
            self._write(store, items, calls)
        elif calls:
            self.dropped += len(calls)
        for call, cost in calls:
            for sink in self._sinks:
                try:
                    sink.export(call, cost)
                except Exception:  # telemetry must never take the ledger down
                    log.exception("cost ledger: telemetry export failed")
        return self._release(items)

    @staticmethod
    def _release(items: list[_Item]) -> bool:
        """Answer the flushes in this batch; False if it holds the stop signal."""
        keep_going = True
        for item in items:
            if isinstance(item, _Barrier) and not item.done.done():
                item.done.set_result(None)
            elif isinstance(item, _Stop):
                keep_going = False
        return keep_going

    def _prepare(self, call: CallRecord) -> CallRecord:
        try:
            call = self._enrich(call)
        except Exception:
            log.exception("cost ledger: tagging a call failed; recording it untagged")
        return self._guard.clean(call)

    def _write(self, store: LedgerStore, items: list[_Item], calls: list[tuple[CallRecord, float | None]]) -> None:
        store_prompts = self._store_prompts()
        for attempt in range(self._lock_retries + 1):
            try:
                with store.transaction() as conn:
                    # Calls and outcome updates keep their order: an outcome set after a call wins.
                    pending: list[tuple[CallRecord, float | None]] = []
                    prepared = iter(calls)
                    for item in items:
                        if isinstance(item, _Call):
                            pending.append(next(prepared))
                        elif isinstance(item, _Outcome):
                            if pending:
                                store.insert_calls(conn, pending, store_prompts)
                                pending = []
                            task_id = self._guard.clean_text(item.task_id)
                            store.set_task_outcome(conn, task_id, item.outcome, item.task_kind)
                    if pending:
                        store.insert_calls(conn, pending, store_prompts)
                self.written += len(calls)
                return
            except LedgerLocked as exc:
                if attempt == self._lock_retries:
                    self._fail(str(exc), len(calls))
                    return
                time.sleep(0.5 * (attempt + 1))
            except LedgerCorrupt as exc:
                self._fail(str(exc), len(calls))
                return
            except LedgerError:
                # Something in this batch the database refuses (a bad value): write the rest one by one.
                self._write_one_by_one(store, items, calls, store_prompts)
                return

    def _write_one_by_one(
        self,
        store: LedgerStore,
        items: list[_Item],
        calls: list[tuple[CallRecord, float | None]],
        store_prompts: bool,
    ) -> None:
        prepared = iter(calls)
        for item in items:
            try:
                with store.transaction() as conn:
                    if isinstance(item, _Call):
                        store.insert_calls(conn, [next(prepared)], store_prompts)
                        self.written += 1
                    elif isinstance(item, _Outcome):
                        task_id = self._guard.clean_text(item.task_id)
                        store.set_task_outcome(conn, task_id, item.outcome, item.task_kind)
            except (LedgerCorrupt, LedgerLocked) as exc:
                self._fail(str(exc), 1)
                return
            except LedgerError as exc:
                log.warning("cost ledger: dropped a record the database refused: %s", exc)
                self.dropped += 1

    def _fail(self, reason: str, lost: int) -> None:
        self.dropped += lost
        self._disable(reason)

    def _disable(self, reason: str) -> None:
        if self.disabled_reason is None:
            log.warning("cost ledger disabled: %s", reason)
            self.disabled_reason = reason
