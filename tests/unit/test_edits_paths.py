"""URIs <-> paths and the workspace boundary, on the real filesystem (symlinks included)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ai_coding_router.edits import (
    PathRefused,
    is_inside_workspace,
    normalize_relative_path,
    normalize_uri,
    path_to_uri,
    relative_to_uri,
    resolve_in_workspace,
    uri_to_path,
    uri_to_relative,
    write_text_inside,
)
from ai_coding_router.errors import EditError

# --- URIs ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("file:///home/u/a%20b.ts", "/home/u/a b.ts"),
        ("file://localhost/srv/x.ts", "/srv/x.ts"),
        ("file:///ws/%C3%A9t%C3%A9%F0%9F%98%80.ts", "/ws/été😀.ts"),
        ("file:///ws/a%23b%3Fc.ts", "/ws/a#b?c.ts"),
    ],
)
def test_uri_to_path_posix(uri: str, path: str) -> None:
    assert uri_to_path(uri, windows=False) == path
    assert uri_to_path(path_to_uri(path, windows=False), windows=False) == path


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("file:///c%3A/Users/Me/a.ts", "c:\\Users\\Me\\a.ts"),
        ("file:///C:/Users/Me/a%20b.ts", "c:\\Users\\Me\\a b.ts"),
        ("file:///d%3A", "d:\\"),
        ("file://server/share/dir/a.ts", "\\\\server\\share\\dir\\a.ts"),
    ],
)
def test_uri_to_path_windows(uri: str, path: str) -> None:
    assert uri_to_path(uri, windows=True) == path


def test_path_to_uri_matches_vscode_spelling() -> None:
    assert path_to_uri("C:\\Users\\Me\\a b.ts", windows=True) == "file:///c%3A/Users/Me/a%20b.ts"
    assert path_to_uri("\\\\server\\share\\a.ts", windows=True) == "file://server/share/a.ts"
    assert path_to_uri("/ws/a b#1.ts", windows=False) == "file:///ws/a%20b%231.ts"
    assert normalize_uri("file:///C:/X/y.ts", windows=True) == normalize_uri("file:///c%3a/X/y.ts", windows=True)
    with pytest.raises(EditError):
        path_to_uri("relative/a.ts", windows=False)
    with pytest.raises(EditError):
        path_to_uri("relative\\a.ts", windows=True)


@pytest.mark.parametrize(
    "uri",
    [
        "untitled:Untitled-1",
        "file:///ws/../etc/passwd",
        "file:///ws/a%2F..%2F..%2Fetc%2Fpasswd",  # encoded traversal is decoded first, then refused
        "file:///ws/./a.ts",
        "file://evil.example/etc/passwd",
        "file:///ws/a%00.ts",
        "file:///ws/a.ts#L3",
    ],
)
def test_uri_to_path_refuses(uri: str) -> None:
    with pytest.raises(EditError):
        uri_to_path(uri, windows=False)


def test_relative_uris() -> None:
    assert relative_to_uri("src/a b.ts", "file:///ws/") == "file:///ws/src/a%20b.ts"
    assert relative_to_uri("./src//x.ts", "file:///c%3A/ws") == "file:///c%3A/ws/src/x.ts"
    with pytest.raises(PathRefused):
        relative_to_uri("../x.ts", "file:///ws")
    roots = ["file:///ws", "file:///ws/packages/app"]
    assert uri_to_relative("file:///ws/packages/app/src/a.ts", roots, windows=False) == (
        "file:///ws/packages/app", "src/a.ts")
    assert uri_to_relative("file:///wsx/a.ts", roots, windows=False) is None
    assert uri_to_relative("untitled:1", roots, windows=False) is None
    assert uri_to_relative("file:///C%3A/WS/Src/a.ts", ["file:///c:/ws"], windows=True) == (
        "file:///c:/ws", "Src/a.ts")


# --- relative paths -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("given", "clean"),
    [("src/a.ts", "src/a.ts"), ("./src//a.ts", "src/a.ts"), ("src\\lib\\a.ts", "src/lib/a.ts"),
     ("  a.ts ", "a.ts"), ("dir with space/a.ts", "dir with space/a.ts")],
)
def test_normalize_relative_path(given: str, clean: str) -> None:
    assert normalize_relative_path(given) == clean


@pytest.mark.parametrize(
    "bad",
    ["", "/etc/passwd", "\\\\server\\share\\x", "C:\\x.ts", "C:x.ts", "a.ts:stream", "~/x", "../x",
     "src/../../x", "src\\..\\..\\x", "a\x00.ts", "a\nb.ts", ".", "https://example.com/a.ts"],
)
def test_normalize_relative_path_refuses(bad: str) -> None:
    with pytest.raises(PathRefused) as info:
        normalize_relative_path(bad)
    assert info.value.kind == "invalid-path"


# --- the workspace boundary on disk -------------------------------------------------------------------

@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.ts").write_text("a\n")
    (root / ".git").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("secret\n")
    return root


def test_resolve_plain_paths(ws: Path) -> None:
    target = resolve_in_workspace("./src/a.ts", [ws])
    assert target.path == ws / "src" / "a.ts" and target.key == "src/a.ts" and target.root == ws
    assert resolve_in_workspace("src/new/dir/b.ts", [ws]).rel == "src/new/dir/b.ts"  # may not exist yet


@pytest.mark.parametrize(("path", "kind"), [
    (".git/config", "forbidden-path"), ("src/.GIT/hooks/x", "forbidden-path"),
    ("node_modules/x/index.js", "forbidden-path"), ("packages/a/Node_Modules/b.js", "forbidden-path"),
    ("../outside/secret.txt", "invalid-path"), ("/etc/passwd", "invalid-path"),
])
def test_resolve_refuses(ws: Path, path: str, kind: str) -> None:
    with pytest.raises(PathRefused) as info:
        resolve_in_workspace(path, [ws])
    assert info.value.kind == kind


def test_symlinks_out_of_the_workspace_are_refused(ws: Path) -> None:
    outside = ws.parent / "outside"
    (ws / "linkdir").symlink_to(outside)
    (ws / "src" / "link.txt").symlink_to(outside / "secret.txt")
    (ws / "dangling.ts").symlink_to(outside / "not-yet.ts")  # creating it would write outside
    (ws / "gitlink").symlink_to(ws / ".git")
    for path in ("linkdir/secret.txt", "linkdir/new.ts", "src/link.txt", "dangling.ts"):
        with pytest.raises(PathRefused) as info:
            resolve_in_workspace(path, [ws])
        assert info.value.kind == "outside-workspace"
    with pytest.raises(PathRefused) as info:
        resolve_in_workspace("gitlink/config", [ws])
    assert info.value.kind == "forbidden-path"
    (ws / "inner").symlink_to(ws / "src")  # a link that stays inside is fine
    assert resolve_in_workspace("inner/a.ts", [ws]).key == "inner/a.ts"


def test_workspace_root_reached_through_a_symlink(tmp_path: Path, ws: Path) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(ws)
    target = resolve_in_workspace("src/a.ts", [alias])
    assert target.path == alias / "src" / "a.ts"  # named as the editor names it
    assert is_inside_workspace(alias / "src" / "a.ts", [ws])


def test_multi_root_selection(tmp_path: Path) -> None:
    front, back = tmp_path / "front", tmp_path / "back"
    for r in (front, back):
        (r / "src").mkdir(parents=True)
        (r / "src" / "shared.ts").write_text("x\n")
    (front / "src" / "only.ts").write_text("y\n")
    assert resolve_in_workspace("back/src/shared.ts", [front, back]).path == back / "src" / "shared.ts"
    only = resolve_in_workspace("src/only.ts", [front, back])
    assert only.root == front and only.key == "front/src/only.ts"
    for ambiguous in ("src/shared.ts", "src/brand-new.ts"):
        with pytest.raises(PathRefused) as info:
            resolve_in_workspace(ambiguous, [front, back])
        assert info.value.kind == "ambiguous-path"
    with pytest.raises(PathRefused):
        resolve_in_workspace("a.ts", [])


def test_is_inside_workspace(ws: Path) -> None:
    outside = ws.parent / "outside"
    (ws / "out").symlink_to(outside)
    assert is_inside_workspace(ws / "src" / "a.ts", [ws])
    assert is_inside_workspace("src/missing.ts", [ws])
    assert not is_inside_workspace(ws / "out" / "secret.txt", [ws])
    assert not is_inside_workspace("src/../../outside/secret.txt", [ws])
    assert not is_inside_workspace(outside, [ws])
    assert not is_inside_workspace(ws.parent / "wsx", [ws])  # a sibling with a common prefix


# --- writing ------------------------------------------------------------------------------------------

def test_write_text_inside_creates_replaces_and_keeps_mode(ws: Path) -> None:
    written = write_text_inside(ws, "src/deep/new.ts", "x\r\ny\n")
    assert written == ws / "src" / "deep" / "new.ts"
    assert written.read_bytes() == b"x\r\ny\n"
    script = ws / "run.sh"
    script.write_text("old\n")
    script.chmod(0o755)
    write_text_inside(ws, "run.sh", "new 😀\n")
    assert script.read_text(encoding="utf-8") == "new 😀\n"
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert sorted(p.name for p in ws.iterdir()) == [".git", "run.sh", "src"]  # no temp file left


def test_write_text_inside_writes_through_inner_links_only(ws: Path) -> None:
    (ws / "alias.ts").symlink_to(ws / "src" / "a.ts")
    write_text_inside(ws, "alias.ts", "changed\n")
    assert (ws / "src" / "a.ts").read_text() == "changed\n"
    assert (ws / "alias.ts").is_symlink()
    (ws / "out").symlink_to(ws.parent / "outside")
    with pytest.raises(PathRefused):
        write_text_inside(ws, "out/secret.txt", "pwned\n")
    assert (ws.parent / "outside" / "secret.txt").read_text() == "secret\n"


@pytest.mark.parametrize("swap_after_call", [1, 2])
def test_write_text_inside_survives_a_symlink_swapped_in_after_the_check(
        ws: Path, monkeypatch: pytest.MonkeyPatch, swap_after_call: int) -> None:
    """The attacker replaces a directory with a link to outside right after the first or the last
    symlink check: the re-check, or the O_NOFOLLOW walk, makes the write fail."""
    outside = ws.parent / "outside"
    (ws / "sub").mkdir()
    real_realpath = os.path.realpath
    calls = 0

    def racing_realpath(p: str | os.PathLike[str], **kw: bool) -> str:
        nonlocal calls
        result = real_realpath(p, **kw)
        if os.fspath(p).endswith("target.ts"):
            calls += 1
            if calls == swap_after_call:
                (ws / "sub").rmdir()
                (ws / "sub").symlink_to(outside)
        return result

    monkeypatch.setattr(os.path, "realpath", racing_realpath)
    with pytest.raises((OSError, EditError)):
        write_text_inside(ws, "sub/target.ts", "pwned\n")
    assert calls >= swap_after_call and (ws / "sub").is_symlink()
    assert not (outside / "target.ts").exists()
