"""Scratch copies of a workspace with a candidate applied: the tools run there, never in the user's tree.

Each overlay is a fresh temporary directory (so concurrent jobs never share one), removed afterwards,
also on cancellation. Source and config files are copied (the kernel copies, ``copy_file_range``), so
no tool can write through to a user's file; ``node_modules`` becomes a real directory of symlinks to
the workspace's packages (or to the toolchain's, when the workspace has none), so module resolution
works while caches such as ``node_modules/.vite`` are written inside the overlay.

Candidate paths are checked before anything is written: relative, inside the workspace, no ``..``, not
under ``node_modules`` or a VCS folder, and not through any symlink.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import EditError, ValidationToolError

# Folders never copied: dependencies (linked instead), version control, our own state, build caches.
SKIP_DIRS = frozenset(
    {"node_modules", ".git", ".hg", ".svn", ".ai-coding-router", ".cache", ".turbo", ".next", ".nuxt",
     ".vite", ".vitest", "coverage", ".nyc_output", ".parcel-cache", "__pycache__", ".venv"}
)
# node_modules entries tools write into: each overlay gets its own.
_PRIVATE_MODULE_ENTRIES = frozenset({".vite", ".vitest", ".cache", ".eslintcache"})
MAX_FILES = 50_000
MAX_BYTES = 512 * 1024 * 1024


def normalize_relpath(path: str) -> str:
    """A candidate path as a clean relative POSIX path, or EditError when it could leave the workspace."""
    if not path or "\x00" in path:
        raise EditError(f"invalid path {path!r}")
    unified = path.replace("\\", "/")
    if unified.startswith("/") or (len(unified) > 1 and unified[1] == ":"):
        raise EditError(f"absolute paths are not allowed: {path!r}")
    parts = [p for p in PurePosixPath(unified).parts if p not in ("", ".")]
    if not parts:
        raise EditError(f"invalid path {path!r}")
    if ".." in parts:
        raise EditError(f"'..' is not allowed in a path: {path!r}")
    if parts[0] in SKIP_DIRS:
        raise EditError(f"edits under {parts[0]}/ are not allowed: {path!r}")
    return "/".join(parts)


def check_candidate_paths(root: Path, changes: Mapping[str, str | None]) -> dict[str, str | None]:
    """Normalize the candidate's paths and refuse any that goes through a symlink or is not a file."""
    checked: dict[str, str | None] = {}
    for raw, text in changes.items():
        rel = normalize_relpath(raw)
        current = root
        for part in rel.split("/"):
            current = current / part
            if current.is_symlink():
                raise EditError(f"{raw!r} goes through a symlink ({current.relative_to(root)}): refused")
        if current.exists() and not current.is_file():
            raise EditError(f"{raw!r} is not a regular file")
        if rel in checked:
            raise EditError(f"{raw!r} appears twice in the candidate")
        checked[rel] = text
    return checked


def read_original(root: Path, rel: str) -> str | None:
    path = root / rel
    if not path.is_file():
        return None
    return path.read_bytes().decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Snapshot:
    """The files an overlay copies, and a digest of their contents (the baseline cache key)."""

    files: tuple[str, ...]  # relative POSIX paths of regular files
    links: tuple[tuple[str, str], ...]  # (relative path, link target) of symlinks
    fingerprint: str
    total_bytes: int


class HashMemo:
    """Content digests keyed by (path, size, mtime, inode): unchanged files are not read again."""

    def __init__(self, limit: int = 200_000) -> None:
        self._lock = threading.Lock()
        self._digests: dict[str, tuple[tuple[int, int, int], bytes]] = {}
        self._limit = limit

    def digest(self, path: str, st: os.stat_result) -> bytes:
        key = (st.st_size, st.st_mtime_ns, st.st_ino)
        with self._lock:
            known = self._digests.get(path)
        if known is not None and known[0] == key:
            return known[1]
        hasher = hashlib.blake2b(digest_size=16)
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(chunk)
        value = hasher.digest()
        with self._lock:
            if len(self._digests) >= self._limit:
                self._digests.clear()
            self._digests[path] = (key, value)
        return value


def _walk(root: Path) -> Iterator[tuple[str, os.DirEntry[str]]]:
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        with os.scandir(root / rel_dir if rel_dir else root) as entries:
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in SKIP_DIRS:
                        stack.append(rel)
                    continue
                yield rel, entry


def _modules_marker(root: Path) -> str:
    # npm rewrites node_modules/.package-lock.json on every install: a cheap "dependencies changed" signal.
    for probe in (root / "node_modules" / ".package-lock.json", root / "node_modules"):
        with contextlib.suppress(OSError):
            st = probe.stat()
            return f"{probe.name}:{st.st_mtime_ns}:{st.st_size}"
    return "no-node_modules"


def scan_workspace(root: Path, memo: HashMemo) -> Snapshot:
    files: list[str] = []
    links: list[tuple[str, str]] = []
    total = 0
    fingerprint = hashlib.blake2b(digest_size=20)
    for rel, entry in sorted(_walk(root), key=lambda item: item[0]):
        if entry.is_symlink():
            target = os.readlink(entry.path)
            links.append((rel, target))
            fingerprint.update(f"L{rel}\0{target}\0".encode())
            continue
        if not entry.is_file(follow_symlinks=False):
            continue  # sockets, fifos
        st = entry.stat(follow_symlinks=False)
        total += st.st_size
        files.append(rel)
        if len(files) > MAX_FILES or total > MAX_BYTES:
            raise ValidationToolError(
                f"the workspace is too large to validate on a scratch copy (> {MAX_FILES} files or "
                f"{MAX_BYTES // (1024 * 1024)} MiB outside node_modules)"
            )
        fingerprint.update(f"F{rel}\0".encode())
        fingerprint.update(memo.digest(entry.path, st))
    fingerprint.update(_modules_marker(root).encode())
    return Snapshot(tuple(files), tuple(links), fingerprint.hexdigest(), total)


def _link_target(root: Path, rel: str, target: str) -> str:
    """Links into the workspace stay relative (they resolve inside the overlay); others become absolute."""
    link = root / rel
    real = Path(os.path.normpath(link.parent / target)) if not os.path.isabs(target) else Path(target)
    with contextlib.suppress(OSError, RuntimeError):
        real = link.resolve()
    if real == root or root in real.parents:
        return os.path.relpath(real, link.parent)
    return str(real)


def _link_modules(dest: Path, sources: list[Path]) -> None:
    """``dest/node_modules``: a real folder whose entries link to the first source that has them."""
    if not sources:
        return
    modules = dest / "node_modules"
    modules.mkdir()
    for source in sources:
        with os.scandir(source) as entries:
            for entry in entries:
                if entry.name in _PRIVATE_MODULE_ENTRIES:
                    continue
                target = modules / entry.name
                if entry.name.startswith("@") and entry.is_dir():
                    target.mkdir(exist_ok=True)
                    with os.scandir(entry.path) as scoped:
                        for package in scoped:
                            with contextlib.suppress(FileExistsError):
                                (target / package.name).symlink_to(package.path)
                    continue
                with contextlib.suppress(FileExistsError):
                    target.symlink_to(entry.path)


def write_candidate_file(dest: Path, rel: str, text: str | None) -> None:
    """Write (or delete) one candidate file inside an overlay without following any symlink."""
    current = dest
    parts = rel.split("/")
    for part in parts[:-1]:
        current = current / part
        if current.is_symlink():
            raise EditError(f"{rel!r} goes through a symlink in the scratch copy: refused")
        current.mkdir(exist_ok=True)
    target = current / parts[-1]
    if target.is_symlink() or target.is_dir():
        raise EditError(f"{rel!r} is not a regular file")
    with contextlib.suppress(FileNotFoundError):
        target.unlink()  # a new inode: nothing written here can reach another file
    if text is None:
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(target, flags, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(text.encode("utf-8"))


def build_overlay(
    root: Path,
    dest: Path,
    snapshot: Snapshot,
    changes: Mapping[str, str | None],
    modules_fallback: Path | None,
) -> None:
    """Fill ``dest`` (an empty folder) with the snapshot's files, the candidate and linked node_modules."""
    made: set[str] = set()
    for rel in snapshot.files:
        if rel in changes:
            continue
        parent = rel.rpartition("/")[0]
        if parent and parent not in made:
            (dest / parent).mkdir(parents=True, exist_ok=True)
            made.add(parent)
        shutil.copyfile(root / rel, dest / rel, follow_symlinks=False)
    for rel, target in snapshot.links:
        parent = rel.rpartition("/")[0]
        if parent:
            (dest / parent).mkdir(parents=True, exist_ok=True)
        (dest / rel).symlink_to(_link_target(root, rel, target))
    sources = [root / "node_modules"] if (root / "node_modules").is_dir() else []
    if not sources and modules_fallback is not None and modules_fallback.is_dir():
        sources = [modules_fallback]
    _link_modules(dest, sources)
    for rel, text in changes.items():
        write_candidate_file(dest, rel, text)


SCRATCH_ENV = "AI_CODING_ROUTER_SCRATCH_DIR"
_SCRATCH_MARGIN = 64 * 1024 * 1024


def _free_bytes(folder: str) -> int:
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return 0
    return st.f_bavail * st.f_frsize


def scratch_root(needed_bytes: int = 0) -> str:
    """Where scratch copies go: ``$AI_CODING_ROUTER_SCRATCH_DIR``, else a RAM-backed folder when one has
    room (creating a file in this machine's /tmp took ~1.3 ms, in /dev/shm ~0.01 ms: 240 files are the
    difference between ~0.5 s and ~5 ms), else the system temporary folder."""
    configured = os.environ.get(SCRATCH_ENV)
    if configured:
        return configured
    # mkdtemp makes a private (0700) folder with an unpredictable name, so a shared tmpfs is safe.
    for folder in (os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm"):  # noqa: S108
        if (
            folder
            and os.path.isdir(folder)
            and os.access(folder, os.W_OK | os.X_OK)
            and _free_bytes(folder) > 2 * needed_bytes + _SCRATCH_MARGIN
        ):
            return folder
    return tempfile.gettempdir()


def make_scratch_dir(needed_bytes: int = 0, prefix: str = "acr-validate-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir=scratch_root(needed_bytes)))


def remove_scratch_dir(path: Path) -> None:
    """Remove a scratch folder; rmtree unlinks symlinks, it never follows them."""
    shutil.rmtree(path, ignore_errors=True)
