"""Scratch copies: path safety, what is copied or linked, and that the user's files stay untouched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ai_coding_router.errors import EditError
from ai_coding_router.validation.overlay import (
    HashMemo,
    build_overlay,
    check_candidate_paths,
    make_scratch_dir,
    normalize_relpath,
    remove_scratch_dir,
    scan_workspace,
    write_candidate_file,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("src/a.ts", "src/a.ts"), ("./src//a.ts", "src/a.ts"), ("src\\win\\a.ts", "src/win/a.ts")],
)
def test_paths_are_normalized(raw: str, expected: str) -> None:
    assert normalize_relpath(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "/etc/passwd", "C:/x.ts", "../outside.ts", "src/../../outside.ts", "node_modules/x/index.js",
     ".git/config", "a\x00b", "."],
)
def test_unsafe_paths_are_refused(raw: str) -> None:
    with pytest.raises(EditError):
        normalize_relpath(raw)


def test_paths_through_symlinks_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "escape").symlink_to(outside)
    (root / "src" / "link.ts").symlink_to(root / "src" / "real.ts")
    with pytest.raises(EditError, match="symlink"):
        check_candidate_paths(root, {"escape/a.ts": "x"})
    with pytest.raises(EditError, match="symlink"):
        check_candidate_paths(root, {"src/link.ts": "x"})
    assert check_candidate_paths(root, {"./src/new.ts": "x"}) == {"src/new.ts": "x"}


def _tree(root: Path) -> dict[str, tuple[int, int, bytes]]:
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            st = path.stat()
            found[str(path.relative_to(root))] = (st.st_mtime_ns, st.st_size, path.read_bytes())
    return found


def test_overlay_copies_sources_links_modules_and_applies_the_candidate(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.ts").write_text("export const a = 1;\n")
    (root / "src" / "gone.ts").write_text("export const g = 1;\n")
    (root / "tsconfig.json").write_text("{}")
    (root / "node_modules" / "lib").mkdir(parents=True)
    (root / "node_modules" / "lib" / "index.js").write_text("module.exports = 1;\n")
    (root / "node_modules" / ".vite").mkdir()
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: x\n")
    before = _tree(root)

    snapshot = scan_workspace(root, HashMemo())
    assert set(snapshot.files) == {"src/a.ts", "src/gone.ts", "tsconfig.json"}
    base = make_scratch_dir()
    try:
        dest = base / "ws"
        dest.mkdir()
        changes = {"src/a.ts": "export const a = 2;\n", "src/gone.ts": None, "src/new/b.ts": "export {};\n"}
        build_overlay(root, dest, snapshot, changes, None)
        assert (dest / "src" / "a.ts").read_text() == "export const a = 2;\n"
        assert not (dest / "src" / "gone.ts").exists()
        assert (dest / "src" / "new" / "b.ts").read_text() == "export {};\n"
        assert (dest / "tsconfig.json").read_text() == "{}"
        assert not (dest / ".git").exists()
        modules = dest / "node_modules"
        assert modules.is_dir() and not modules.is_symlink()  # tools' caches land here, not in the user's
        assert (modules / "lib").is_symlink() and (modules / "lib" / "index.js").is_file()
        assert not (modules / ".vite").exists()
        (modules / ".vite").mkdir()  # what vitest does: stays in the scratch copy
    finally:
        remove_scratch_dir(base)
    assert not base.exists()
    assert _tree(root) == before
    assert not (root / "node_modules" / ".vite" / "x").exists()


def test_fallback_modules_are_linked_when_the_workspace_has_none(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.ts").write_text("x")
    fallback = tmp_path / "toolchain_modules"
    (fallback / "@scope" / "pkg").mkdir(parents=True)
    (fallback / "vitest").mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    build_overlay(root, dest, scan_workspace(root, HashMemo()), {}, fallback)
    assert (dest / "node_modules" / "vitest").resolve() == fallback / "vitest"
    assert (dest / "node_modules" / "@scope").is_dir() and not (dest / "node_modules" / "@scope").is_symlink()
    assert (dest / "node_modules" / "@scope" / "pkg").resolve() == fallback / "@scope" / "pkg"


def test_a_candidate_is_never_written_through_a_link_in_the_scratch_copy(tmp_path: Path) -> None:
    victim = tmp_path / "victim.ts"
    victim.write_text("original")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "linked").symlink_to(tmp_path)
    (dest / "file.ts").symlink_to(victim)
    with pytest.raises(EditError):
        write_candidate_file(dest, "linked/victim.ts", "overwritten")
    with pytest.raises(EditError):
        write_candidate_file(dest, "file.ts", "overwritten")
    assert victim.read_text() == "original"


def test_a_replaced_file_gets_a_new_inode(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    shared = dest / "a.ts"
    shared.write_text("one")
    other_name = tmp_path / "hardlink.ts"
    os.link(shared, other_name)
    write_candidate_file(dest, "a.ts", "two")
    assert shared.read_text() == "two"
    assert other_name.read_text() == "one"  # a hard link elsewhere is not written through


def test_fingerprint_follows_content_and_ignores_node_modules_internals(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.ts").write_text("one")
    memo = HashMemo()
    first = scan_workspace(root, memo).fingerprint
    assert scan_workspace(root, memo).fingerprint == first
    (root / "a.ts").write_text("two")
    second = scan_workspace(root, memo).fingerprint
    assert second != first
    (root / "a.ts").write_text("one")
    assert scan_workspace(root, memo).fingerprint == first


def test_workspace_symlinks_are_recreated_inside_the_copy(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src" / "real.ts").write_text("x")
    (root / "src" / "alias.ts").symlink_to("real.ts")
    dest = tmp_path / "dest"
    dest.mkdir()
    build_overlay(root, dest, scan_workspace(root, HashMemo()), {}, None)
    assert (dest / "src" / "alias.ts").resolve() == (dest / "src" / "real.ts").resolve()
