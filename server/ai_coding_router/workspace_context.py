"""The context engine as the server uses it: an index built off the event loop, kept current with edits.

The index is built in a worker thread at start-up; open documents are re-indexed after a short idle
pause (re-extracting a large file's symbols costs tens of milliseconds, too much for every keystroke),
files changed on disk as the editor reports them. A re-index reads the file on a thread and extracts its
symbols in a worker process (context/extractor.py): parsing holds the GIL, so on a thread it would stop
the event loop for the whole parse. Until the index is ready, requests get the current file's own
context only — never a wait.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from . import heap
from .config import Config
from .context import ContextRequest, WorkspaceIndex, impact, prune, render
from .context.extractor import SymbolExtractor
from .context.impact import ImpactFacts
from .context.index import FileDrop, is_project_file
from .edits.positions import code_units
from .errors import ContextError

log = logging.getLogger(__name__)

RELATIVE_CACHE_SIZE = 4096
REINDEX_IDLE_S = 1.5  # after the user pauses: re-extracting a 5,000-line file costs ~50 ms of CPU


class WorkspaceContext:
    def __init__(self, root: Path | None, *, extractor: SymbolExtractor | None = None) -> None:
        self.root = root
        self.index: WorkspaceIndex | None = WorkspaceIndex(root) if root is not None else None
        self.ready = False
        self.extractor = extractor if extractor is not None else SymbolExtractor()
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._latest: dict[str, int] = {}  # file -> number of its newest update under way: that one wins
        self._numbers = itertools.count(1)
        self._store = asyncio.Lock()  # results are stored one at a time, in the order they are checked
        self._rebuild_queued = False  # a burst of project-file events makes one rebuild
        self._closed = False
        self._relative: dict[str, str | None] = {}
        self.on_updated: Callable[[], None] | None = None  # after the index took an edit (on the event loop)

    async def start(self) -> None:
        if self.index is None:
            return
        stats = await asyncio.to_thread(self.index.build)
        self.ready = True
        log.info("workspace index ready: %s", stats)

    def relative(self, path: str) -> str | None:
        if self.root is None:
            return None
        if path in self._relative:
            return self._relative[path]
        try:
            rel: str | None = Path(path).resolve().relative_to(self.root).as_posix()
        except (ValueError, OSError):
            rel = None
        if len(self._relative) >= RELATIVE_CACHE_SIZE:
            self._relative.clear()
        self._relative[path] = rel  # resolving costs a few system calls per request
        return rel

    def document_changed(self, path: str, text: str) -> None:
        """Re-index an edited document once the user pauses."""
        rel = self.relative(path)
        if rel is None or self.index is None:
            return
        loop = asyncio.get_running_loop()
        previous = self._pending.pop(rel, None)
        if previous is not None:
            previous.cancel()
        self._pending[rel] = loop.call_later(REINDEX_IDLE_S, self._reindex, rel, text)

    def _reindex(self, rel: str, text: str) -> None:
        self._pending.pop(rel, None)
        if self.index is None or not self.ready:
            return
        self._spawn(self._update(rel, text))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        if self._closed:  # an edit or watcher event during shutdown: nothing to keep current any more
            work.close()
            return
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _notify_updated(self) -> None:
        if self.on_updated is not None:
            try:
                self.on_updated()
            except Exception:  # a listener's failure must not break indexing
                log.exception("index update listener failed")

    async def _update(self, rel: str, text: str | None, *, deleted: bool = False) -> None:
        """Re-index one file from ``text`` (None: from disk), or drop it when ``deleted``. A newer update of
        the same file started meanwhile wins (a checkout deletes and re-creates files in one event)."""
        index = self.index
        assert index is not None
        number = self._latest[rel] = next(self._numbers)
        stored = False
        try:
            store: Callable[[], None] | None = None
            update = FileDrop(rel, None) if deleted else await asyncio.to_thread(index.read_update, rel, text)
            if isinstance(update, FileDrop):
                store = functools.partial(index.apply_drop, update)
            elif update is not None:
                symbols = await self.extractor.extract(update.rel, update.source)
                store = functools.partial(index.apply_update, update, symbols)
            async with self._store:
                # Only the newest update of a file changes the index (a slow older read must not undo it).
                if self._latest.get(rel) != number or store is None:
                    return
                await asyncio.to_thread(store)
                stored = True
        except ContextError as error:  # a file the index cannot read must not break editing
            log.warning("re-indexing %s: %s", rel, error)
        except Exception:
            log.exception("re-indexing %s failed", rel)
        finally:
            if self._latest.get(rel) == number:
                del self._latest[rel]
        if stored:  # listeners rebuild the cursor's prompt: not for an event that changed nothing
            self._notify_updated()

    async def _rebuild(self) -> None:
        index = self.index
        assert index is not None
        async with self._store:
            self._rebuild_queued = False  # events from now on need another build
            try:
                await asyncio.to_thread(index.build)
            except Exception:
                log.exception("rebuilding the workspace index failed")
            else:
                heap.freeze_young()  # the new index is as long-lived as the one frozen at start-up
        self._notify_updated()

    def file_changed_on_disk(self, path: str, deleted: bool) -> None:
        """A file changed on disk (the editor's file watcher): re-index it off the event loop."""
        rel = self.relative(path)
        if rel is None or self.index is None or not self.ready:
            return
        if is_project_file(rel):  # tsconfig/jsconfig/package.json, changed or deleted: resolve everything again
            if not self._rebuild_queued:
                self._rebuild_queued = True
                self._spawn(self._rebuild())
        else:
            self._spawn(self._update(rel, None, deleted=deleted))

    async def settled(self) -> None:
        """Wait for every re-index under way (tests, and the CLI's one-shot commands)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def version(self) -> object:
        """Changes whenever the index does: the index snapshot itself (kept until the next update)."""
        if self.index is None or not self.ready:
            return None
        return self.index.snapshot()

    def completion_snippets(
        self, path: str, prefix: str, suffix: str, budget_tokens: int, config: Config
    ) -> Sequence[tuple[str, str]]:
        """Definitions and types the code at the cursor uses, rendered within the budget.

        The prompt already carries the text around the cursor, so the pruner's cursor window is left out.
        """
        rel = self.relative(path)
        if rel is None or self.index is None or not self.ready or budget_tokens <= 0:
            return ()
        line = prefix.count("\n")
        character = code_units(prefix[prefix.rfind("\n") + 1 :], "utf-16")
        snapshot = self.index.snapshot()
        result = prune(
            snapshot,
            ContextRequest(
                path=rel, text=prefix + suffix, line=line, character=character, task="completion",
                budget_tokens=budget_tokens, options=config.context,
                # The symbols indexed at the last pause: re-parsing the file per request costs ~50 ms.
                symbols=snapshot.files.get(rel),
            ),
        )
        kept = [s for s in result.snippets if not (s.path == rel and s.kind in ("cursor", "local"))]
        if not kept:
            return ()
        from dataclasses import replace

        return [("context", render(replace(result, snippets=tuple(kept))))]

    def impact_of(self, path: str, start_line: int, end_line: int) -> ImpactFacts | None:
        rel = self.relative(path)
        if rel is None or self.index is None or not self.ready:
            return None
        return impact(self.index.snapshot(), rel, start_line, end_line)

    def close(self) -> None:
        self._closed = True
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        for task in self._tasks:
            task.cancel()
        self.extractor.close()

    async def aclose(self) -> None:
        """``close``, then wait for the re-indexing under way to stop and the worker to exit."""
        self.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.extractor.aclose()
