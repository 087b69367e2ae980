"""WorkspaceIndex: what is indexed and skipped, the graph, updates, and the disk cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ai_coding_router.context.index import CACHE_DIR, WorkspaceIndex
from ai_coding_router.errors import ContextError

from .conftest import plant_secrets


def test_indexes_sources_and_skips_the_rest_with_reasons(workspace: Path) -> None:
    plant_secrets(workspace)
    index = WorkspaceIndex.open(workspace)
    files = set(index)
    assert {"src/app/main.ts", "src/lib/math.ts", "packages/ui/src/index.ts", "src/types/globals.d.ts"} <= files
    assert "src/lib/keep.gen.ts" in files  # re-included by a "!" pattern
    never = [p for p in files if p.startswith(("node_modules/", "dist/", "generated/"))]
    assert never == []
    assert "src/lib/schema.gen.ts" not in files  # *.gen.ts is gitignored
    skipped = index.skipped
    assert skipped["src/lib/format.js"].startswith("generated (compiled from format.ts)")
    assert skipped["src/lib/vendor.min.js"].startswith("generated")
    assert skipped[".env.production.ts"] == "secret file"


def test_binary_and_oversized_files_are_skipped_with_a_reason(workspace: Path) -> None:
    (workspace / "src" / "blob.ts").write_bytes(b"export const a = 1;\x00\x01\x02" * 10)
    with open(workspace / "src" / "huge.ts", "wb") as handle:
        handle.write(b"// big\n" * (3 * 1024 * 1024 // 7))
    index = WorkspaceIndex.open(workspace)
    assert "binary" in index.skipped["src/blob.ts"]
    assert "too large" in index.skipped["src/huge.ts"]
    assert "src/blob.ts" not in set(index) and "src/huge.ts" not in set(index)


def test_nested_gitignore(workspace: Path) -> None:
    (workspace / "src" / "lib" / ".gitignore").write_text("unrelated.ts\n")
    index = WorkspaceIndex.open(workspace)
    assert "src/lib/unrelated.ts" not in set(index)
    assert "src/lib/math.ts" in set(index)


def test_dependency_graph(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    assert "src/app/main.ts" in snap.importers["src/lib/math.ts"]
    assert "src/lib/index.ts" in snap.importers["src/lib/math.ts"]
    assert snap.importers["src/cycle/a.ts"] >= {"src/cycle/b.ts", "src/cycle/user.ts"}
    assert "src/cycle/a.ts" in snap.importers["src/cycle/b.ts"]
    assert snap.definers["Calculator"] == ("src/lib/math.ts",)


def test_update_and_remove_file(index: WorkspaceIndex, workspace: Path) -> None:
    new = workspace / "src" / "lib" / "extra.ts"
    new.write_text("export function extra(): number { return 1; }\n")
    symbols = index.update_file(new)
    assert symbols is not None and [d.name for d in symbols.definitions] == ["extra"]
    assert "src/lib/extra.ts" in index.snapshot().files
    # Unsaved editor text replaces what is on disk.
    index.update_file("src/lib/extra.ts", text="export const renamed = 2;\n")
    assert [d.name for d in index.snapshot().files["src/lib/extra.ts"].definitions] == ["renamed"]
    assert index.snapshot().text("src/lib/extra.ts") == "export const renamed = 2;\n"
    # A new file can satisfy an import that was unresolved.
    user = workspace / "src" / "user.ts"
    user.write_text('import { later } from "./later";\n')
    index.update_file(user)
    assert index.snapshot().target_of("src/user.ts", 0) is None
    (workspace / "src" / "later.ts").write_text("export const later = 1;\n")
    index.update_file(workspace / "src" / "later.ts")
    assert index.snapshot().target_of("src/user.ts", 0) == "src/later.ts"
    index.remove_file(workspace / "src" / "later.ts")
    assert index.snapshot().target_of("src/user.ts", 0) is None
    assert index.update_file("README.md") is None  # not a source file
    with pytest.raises(ContextError, match="outside the workspace"):
        index.update_file(workspace.parent / "elsewhere.ts")


def test_snapshots_are_immutable_views(index: WorkspaceIndex, workspace: Path) -> None:
    before = index.snapshot()
    index.update_file("src/lib/format.ts", text="export const changed = 1;\n")
    after = index.snapshot()
    assert before is not after
    assert [d.name for d in before.files["src/lib/format.ts"].definitions] == ["FormatOptions", "format"]
    assert [d.name for d in after.files["src/lib/format.ts"].definitions] == ["changed"]
    # Texts stay consistent with each snapshot's symbols (line numbers of old snapshots stay valid).
    assert "export function format(" in before.text("src/lib/format.ts")
    assert after.text("src/lib/format.ts") == "export const changed = 1;\n"


def test_persistent_cache_is_reused_and_deletable(workspace: Path) -> None:
    first = WorkspaceIndex.open(workspace)
    cache = workspace / CACHE_DIR
    assert (cache / "symbols-v1.json").is_file()
    assert (cache / ".gitignore").read_text().strip().endswith("*")
    assert first.stats.parsed == len(first) and first.stats.from_cache == 0
    second = WorkspaceIndex.open(workspace)
    assert second.stats.parsed == 0 and second.stats.from_cache == len(second)
    assert second.snapshot().files == first.snapshot().files
    # A changed file is parsed again; the others come from the cache.
    target = workspace / "src" / "lib" / "format.ts"
    target.write_text("export function format2(): void {}\n")
    os.utime(target, ns=(1, 1))
    third = WorkspaceIndex.open(workspace)
    assert third.stats.parsed == 1
    assert [d.name for d in third.snapshot().files["src/lib/format.ts"].definitions] == ["format2"]
    # A damaged cache is ignored, and deleting it just means a cold build.
    (cache / "symbols-v1.json").write_text("{not json")
    assert WorkspaceIndex.open(workspace).stats.parsed == len(first)
    (cache / "symbols-v1.json").unlink()
    assert WorkspaceIndex.open(workspace, use_cache=False).stats.parsed == len(first)


def test_cache_is_json_not_pickle(workspace: Path) -> None:
    WorkspaceIndex.open(workspace)
    data = json.loads((workspace / CACHE_DIR / "symbols-v1.json").read_text())
    assert data["version"] == 1 and "src/lib/math.ts" in data["files"]
