"""The context engine as the server uses it: an index built off the event loop, kept current with edits.

The index is built in a worker thread at start-up; open documents are re-indexed after a short idle
pause (re-extracting a large file's symbols costs tens of milliseconds, too much for every keystroke).
Until the index is ready, requests get the current file's own context only — never a wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from .config import Config
from .context import ContextRequest, WorkspaceIndex, impact, prune, render
from .context.impact import ImpactFacts
from .edits.positions import code_units

log = logging.getLogger(__name__)

RELATIVE_CACHE_SIZE = 4096
REINDEX_IDLE_S = 1.5  # after the user pauses: re-extracting a 5,000-line file costs ~50 ms of CPU


class WorkspaceContext:
    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.index: WorkspaceIndex | None = WorkspaceIndex(root) if root is not None else None
        self.ready = False
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
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
        index = self.index
        if index is None or not self.ready:
            return
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(self._update, index, rel, text))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._notify_updated())

    def _notify_updated(self) -> None:
        if self.on_updated is not None:
            try:
                self.on_updated()
            except Exception:  # a listener's failure must not break indexing
                log.exception("index update listener failed")

    @staticmethod
    def _update(index: WorkspaceIndex, rel: str, text: str) -> None:
        try:
            index.update_file(rel, text)
        except Exception:  # a file the index cannot read must not break editing
            log.exception("re-indexing %s failed", rel)

    def file_changed_on_disk(self, path: str, deleted: bool) -> None:
        rel = self.relative(path)
        if rel is None or self.index is None or not self.ready:
            return
        try:
            if deleted:
                self.index.remove_file(rel)
            else:
                self.index.update_file(rel)
        except Exception:
            log.exception("index update for %s failed", rel)
        self._notify_updated()

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
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
