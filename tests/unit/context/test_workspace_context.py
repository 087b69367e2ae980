"""The server's index upkeep: edits and disk changes re-indexed off the event loop, the newest one winning."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from ai_coding_router import heap, workspace_context
from ai_coding_router.context.extractor import SymbolExtractor
from ai_coding_router.context.symbols import FileSymbols
from ai_coding_router.workspace_context import WorkspaceContext


def names(context: WorkspaceContext, rel: str) -> list[str]:
    assert context.index is not None
    symbols = context.index.snapshot().files.get(rel)
    return [] if symbols is None else [d.name for d in symbols.definitions]


@pytest.fixture
async def context(workspace: Path) -> WorkspaceContext:
    started = WorkspaceContext(workspace)
    await started.start()
    yield started  # type: ignore[misc]
    await started.aclose()


async def test_an_edited_document_is_reindexed_by_the_worker_once_typing_pauses(
    context: WorkspaceContext, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workspace_context, "REINDEX_IDLE_S", 0.01)
    updated = asyncio.Event()
    context.on_updated = updated.set
    context.document_changed(str(workspace / "src/lib/math.ts"), "export function brandNew(): number { return 1; }\n")
    await asyncio.wait_for(updated.wait(), 30)
    assert names(context, "src/lib/math.ts") == ["brandNew"]
    assert context.extractor.last_worker_pid not in (None, os.getpid())


class OlderIsSlower(SymbolExtractor):
    """Extracts on a thread; the first file takes longer, so the older update finishes last."""

    def __init__(self) -> None:
        super().__init__(use_process=False)
        self.calls = 0

    async def extract(self, rel: str, source: bytes) -> FileSymbols:
        self.calls += 1
        if self.calls == 1:
            await asyncio.sleep(0.3)
        return await super().extract(rel, source)


async def test_the_newest_update_of_a_file_wins_whichever_finishes_first(workspace: Path) -> None:
    context = WorkspaceContext(workspace, extractor=OlderIsSlower())
    await context.start()
    try:
        older = asyncio.ensure_future(context._update("src/lib/math.ts", "export const older = 1;\n"))
        await asyncio.sleep(0.05)
        newer = asyncio.ensure_future(context._update("src/lib/math.ts", "export const newer = 2;\n"))
        await newer
        assert names(context, "src/lib/math.ts") == ["newer"]
        await older
        assert names(context, "src/lib/math.ts") == ["newer"]
    finally:
        await context.aclose()


async def test_a_slow_older_read_that_finds_the_file_unreadable_does_not_drop_the_newer_text(
    context: WorkspaceContext, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkout rewrites a file while the editor's unsaved text is re-indexed: the older event's read
    (from disk, binary at that moment) finishes last, after the newer update stored its symbols."""
    assert context.index is not None
    index = context.index
    real_read = index.read_update

    def read_update(path: str, text: str | None = None) -> object:
        if text is None:  # the older event reads the disk: slowly
            time.sleep(0.3)
        return real_read(path, text)

    monkeypatch.setattr(index, "read_update", read_update)
    (workspace / "src" / "lib" / "math.ts").write_bytes(b"\x00\x01\x02" * 1000)
    older = asyncio.ensure_future(context._update("src/lib/math.ts", None))
    await asyncio.sleep(0.05)
    await context._update("src/lib/math.ts", "export const newer = 2;\n")
    await older
    assert names(context, "src/lib/math.ts") == ["newer"]
    assert "src/lib/math.ts" not in index.skipped


async def test_an_event_that_changes_nothing_tells_no_listener(context: WorkspaceContext, workspace: Path) -> None:
    """Each notification rebuilds the cursor's prompt: an ignored watcher event (a dependency's file, a
    non-source file) must not."""
    heard: list[int] = []
    context.on_updated = lambda: heard.append(1)
    (workspace / "node_modules" / "dep").mkdir(parents=True)
    (workspace / "node_modules" / "dep" / "index.ts").write_text("export const dep = 1;\n")
    (workspace / "NOTES.md").write_text("notes\n")
    for rel in ("node_modules/dep/index.ts", "NOTES.md"):
        context.file_changed_on_disk(str(workspace / rel), deleted=False)
    await context.settled()
    assert heard == []
    await context._update("src/lib/math.ts", "export const changed = 1;\n")
    assert heard == [1]


async def test_disk_changes_are_indexed_in_the_background(context: WorkspaceContext, workspace: Path) -> None:
    added = workspace / "src" / "lib" / "added.ts"
    added.write_text("export function fromDisk(): void {}\n")
    context.file_changed_on_disk(str(added), deleted=False)
    assert names(context, "src/lib/added.ts") == []  # not on the loop: the call returns at once
    await context.settled()
    assert names(context, "src/lib/added.ts") == ["fromDisk"]

    added.unlink()
    context.file_changed_on_disk(str(added), deleted=True)
    await context.settled()
    assert context.index is not None and "src/lib/added.ts" not in context.index.snapshot().files


async def test_a_project_file_change_rebuilds_the_index(context: WorkspaceContext, workspace: Path) -> None:
    assert context.index is not None
    before = context.index.stats
    tsconfig = workspace / "tsconfig.json"
    context.file_changed_on_disk(str(tsconfig), deleted=False)
    await context.settled()
    assert context.index.stats is not before


async def test_an_unreadable_file_is_skipped_and_the_rest_goes_on(context: WorkspaceContext, workspace: Path) -> None:
    binary = workspace / "src" / "lib" / "blob.ts"
    binary.write_bytes(b"\x00\x01\x02" * 1000)
    context.file_changed_on_disk(str(binary), deleted=False)
    await context.settled()
    assert context.index is not None and "src/lib/blob.ts" in context.index.skipped
    await context._update("src/lib/math.ts", "export const stillWorks = 1;\n")
    assert names(context, "src/lib/math.ts") == ["stillWorks"]


async def test_a_file_deleted_and_recreated_in_one_event_stays_indexed(
    context: WorkspaceContext, workspace: Path
) -> None:
    # git checkout / stash / rebase: one watched-files notification deletes a file and writes it again.
    path = workspace / "src" / "lib" / "math.ts"
    path.unlink()
    context.file_changed_on_disk(str(path), deleted=True)
    path.write_text("export function recreated(): void {}\n")
    context.file_changed_on_disk(str(path), deleted=False)
    await context.settled()
    assert names(context, "src/lib/math.ts") == ["recreated"]


async def test_a_burst_of_project_file_events_makes_one_rebuild(
    context: WorkspaceContext, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert context.index is not None
    builds: list[int] = []
    real_build = context.index.build
    monkeypatch.setattr(context.index, "build", lambda *a, **k: (builds.append(1), real_build(*a, **k))[1])
    froze: list[int] = []
    monkeypatch.setattr(heap, "freeze_young", lambda: froze.append(1))  # not in the test process's heap
    for name in ("tsconfig.json", "package.json", "tsconfig.json"):
        context.file_changed_on_disk(str(workspace / name), deleted=False)
    await context.settled()
    assert builds == [1] and froze == [1]


async def test_nothing_is_reindexed_after_close(context: WorkspaceContext, workspace: Path) -> None:
    context.close()
    context.file_changed_on_disk(str(workspace / "src" / "lib" / "math.ts"), deleted=False)
    assert not context._tasks
