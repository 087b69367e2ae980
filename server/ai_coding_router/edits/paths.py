"""File URIs and workspace paths, and the checks that keep model output inside the workspace.

Every path a model names goes through ``resolve_in_workspace``: it must be relative, free of ``..``,
drive letters and control characters, outside ``.git``/``node_modules``, and — checked on the real
filesystem, symlinks resolved (dangling ones too) — land inside a workspace folder. ``write_text_inside``
repeats the symlink check at write time, one directory at a time, so a link swapped in after the check
cannot redirect the write.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

from ..errors import EditError

FORBIDDEN_DIRS: frozenset[str] = frozenset({".git", "node_modules", ".hg", ".svn"})

RefusalKind = Literal["invalid-path", "outside-workspace", "forbidden-path", "ambiguous-path"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WIN_DRIVE_URI = re.compile(r"^/([A-Za-z])(:|%3[Aa])(/|$)")
_WIN_DRIVE = re.compile(r"^([A-Za-z]):([\\/]|$)")

StrPath = str | os.PathLike[str]


class PathRefused(EditError):
    """A path the model named that must not be written. ``kind`` is one of ``RefusalKind``."""

    def __init__(self, kind: RefusalKind, message: str, path: str) -> None:
        super().__init__(message)
        self.kind: RefusalKind = kind
        self.path = path


# --- URIs ---------------------------------------------------------------------------------------------

def uri_to_path(uri: str, *, windows: bool | None = None) -> str:
    """The filesystem path of a ``file:`` URI (percent-decoded). ``windows`` defaults to this OS.

    ``file:///c%3A/src/a.ts`` -> ``c:\\src\\a.ts`` on Windows; ``file://host/share/x`` -> ``\\\\host\\share\\x``.
    Raises EditError for other schemes, a remote host on POSIX, ``.``/``..`` segments, NUL, or a fragment.
    """
    win = os.name == "nt" if windows is None else windows
    parts = urlsplit(uri)
    if parts.scheme.lower() != "file":
        raise EditError(f"not a file URI: {uri!r}")
    if parts.query or parts.fragment:
        raise EditError(f"file URI with a query or fragment (an unencoded '?' or '#'?): {uri!r}")
    host = unquote(parts.netloc)
    raw_path = parts.path
    drive = _WIN_DRIVE_URI.match(raw_path) if win else None
    path = unquote(raw_path)
    segments = path.split("/")
    if any(s in (".", "..") for s in segments):
        raise EditError(f"file URI with '.' or '..' segments: {uri!r}")
    if "\x00" in path or "\x00" in host:
        raise EditError(f"file URI with a NUL character: {uri!r}")
    if not win:
        if host and host != "localhost":
            raise EditError(f"file URI on another host: {uri!r}")
        return path or "/"
    if host and host.lower() != "localhost":
        return "\\\\" + host + path.replace("/", "\\")
    if drive:
        return drive.group(1).lower() + ":" + path[3:].replace("/", "\\") if len(path) > 3 else \
            drive.group(1).lower() + ":\\"
    return path.replace("/", "\\")


def path_to_uri(path: StrPath, *, windows: bool | None = None) -> str:
    """A ``file:`` URI for an absolute path, encoded as VS Code encodes it (``c%3A``, lower-case drive)."""
    win = os.name == "nt" if windows is None else windows
    p = os.fspath(path)
    if win:
        p = p.replace("\\", "/")
        if p.startswith("//"):  # UNC: //host/share/...
            host, _, rest = p[2:].partition("/")
            return "file://" + quote(host, safe="") + "/" + quote(rest, safe="/")
        m = _WIN_DRIVE.match(p)
        if not m:
            raise EditError(f"not an absolute Windows path: {path!r}")
        p = "/" + m.group(1).lower() + ":" + p[2:]
    elif not p.startswith("/"):
        raise EditError(f"not an absolute path: {path!r}")
    return "file://" + quote(p, safe="/")


def normalize_uri(uri: str, *, windows: bool | None = None) -> str:
    """One spelling per file, so URIs from different clients and from ``path_to_uri`` compare equal."""
    return path_to_uri(uri_to_path(uri, windows=windows), windows=windows)


def relative_to_uri(rel: str, root_uri: str) -> str:
    """The URI of workspace-relative ``rel`` under the folder ``root_uri``, in the client's own spelling
    of the folder (so the client recognises documents it already has open)."""
    clean = normalize_relative_path(rel)
    return root_uri.rstrip("/") + "/" + quote(clean, safe="/")


def uri_to_relative(uri: str, root_uris: Iterable[str], *, windows: bool | None = None
                    ) -> tuple[str, str] | None:
    """``(root_uri, relative posix path)`` for the innermost folder containing ``uri``, else None.

    Lexical only (no symlink resolution): use ``resolve_in_workspace`` before writing.
    """
    win = os.name == "nt" if windows is None else windows
    sep = "\\" if win else "/"
    try:
        p = uri_to_path(uri, windows=win)
    except EditError:
        return None
    best: tuple[str, str] | None = None
    best_len = -1
    for root_uri in root_uris:
        try:
            r = uri_to_path(root_uri, windows=win).rstrip(sep)
        except EditError:
            continue
        pc, rc = (p.lower(), r.lower()) if win else (p, r)
        if pc.startswith(rc + sep) and len(r) > best_len:
            best, best_len = (root_uri, p[len(r) + 1 :].replace(sep, "/")), len(r)
    return best


# --- workspace paths ----------------------------------------------------------------------------------

def normalize_relative_path(path: str) -> str:
    """A model-written path as a clean relative POSIX path, or PathRefused("invalid-path").

    Backslashes count as separators; ``.`` and empty segments are dropped. Refused: empty paths, absolute
    paths, ``~``, drive letters or any ``:`` (also NTFS streams), control characters, ``..`` anywhere.
    """
    p = path.strip().replace("\\", "/")
    why = None
    if not p:
        why = "the path is empty"
    elif _CONTROL.search(p):
        why = "the path contains control characters"
    elif p.startswith("/"):
        why = "absolute paths are not allowed; write the path relative to the workspace folder"
    elif p.startswith("~"):
        why = "'~' paths are not allowed; write the path relative to the workspace folder"
    elif ":" in p:
        why = "drive letters, URLs and ':' are not allowed in paths"
    segments = [s for s in p.split("/") if s not in ("", ".")]
    if why is None and ".." in segments:
        why = "'..' is not allowed in paths"
    if why is None and not segments:
        why = "the path names no file"
    if why:
        raise PathRefused("invalid-path", f"{path!r}: {why}", path)
    return "/".join(segments)


def _forbidden_part(parts: Iterable[str], forbidden: frozenset[str]) -> str | None:
    lowered = {f.lower() for f in forbidden}
    return next((p for p in parts if p.lower() in lowered), None)


def _inside(real: str, root_real: str) -> bool:
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class WorkspacePath:
    root: Path  # the workspace folder as given (not resolved: it is how the editor names it)
    rel: str  # POSIX path relative to ``root``
    key: str  # ``rel``, or ``"<folder name>/<rel>"`` when there are several folders

    @property
    def path(self) -> Path:
        return self.root / self.rel


def _pick_root(rel: str, roots: Sequence[Path]) -> tuple[Path, str]:
    if len(roots) == 1:
        return roots[0], rel
    head, _, rest = rel.partition("/")
    named = [r for r in roots if r.name == head]
    if len(named) == 1 and rest:
        return named[0], rest
    existing = [r for r in roots if os.path.lexists(r / rel)]
    if len(existing) == 1:
        return existing[0], rel
    where = "several" if existing else "none"
    raise PathRefused(
        "ambiguous-path",
        f"{rel!r}: there are several workspace folders and the path exists in {where} of them; "
        f"start it with the folder name ({', '.join(r.name for r in roots)})",
        rel,
    )


def resolve_in_workspace(path: str, roots: Sequence[StrPath], *,
                         forbidden: frozenset[str] = FORBIDDEN_DIRS) -> WorkspacePath:
    """Check a model-written path and place it in a workspace folder, or raise PathRefused."""
    rel = normalize_relative_path(path)
    bad = _forbidden_part(rel.split("/"), forbidden)
    if bad:
        raise PathRefused("forbidden-path", f"{path!r}: writing into {bad!r} is not allowed", path)
    if not roots:
        raise PathRefused("outside-workspace", f"{path!r}: there is no workspace folder to write into", path)
    root_paths = [Path(os.path.abspath(r)) for r in roots]
    root, rel_in_root = _pick_root(rel, root_paths)
    root_real = os.path.realpath(root)
    real = os.path.realpath(root / rel_in_root)
    if not _inside(real, root_real) or real == root_real:
        raise PathRefused("outside-workspace",
                          f"{path!r}: resolves outside the workspace folder (through a symbolic link)", path)
    bad = _forbidden_part(Path(os.path.relpath(real, root_real)).parts, forbidden)
    if bad:
        raise PathRefused("forbidden-path", f"{path!r}: a symbolic link leads into {bad!r}", path)
    key = rel_in_root if len(root_paths) == 1 else f"{root.name}/{rel_in_root}"
    return WorkspacePath(root, rel_in_root, key)


def is_inside_workspace(path: StrPath, roots: Sequence[StrPath]) -> bool:
    """True if ``path`` (absolute, or relative to a folder) is inside a workspace folder once every
    symlink on the way is resolved. ``..`` is allowed here and simply resolved."""
    for r in roots:
        root_real = os.path.realpath(r)
        full = Path(path) if os.path.isabs(path) else Path(r) / path
        real = os.path.realpath(full)
        if _inside(real, root_real):
            return True
    return False


# --- writing ------------------------------------------------------------------------------------------

_DIR_FD_OK = (
    hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY")
    and {os.open, os.mkdir, os.stat, os.rename, os.unlink} <= os.supports_dir_fd
)


def write_text_inside(root: StrPath, path: str, text: str, *,
                      forbidden: frozenset[str] = FORBIDDEN_DIRS) -> Path:
    """Write ``text`` (UTF-8, line breaks as given) to workspace-relative ``path`` under ``root``.

    Checks the path like ``resolve_in_workspace``, then walks the directories from the root with
    ``O_NOFOLLOW`` so that a symlink created after the check makes the write fail instead of escaping.
    Replaces the file atomically and keeps its permission bits. Returns the path written.
    """
    target = resolve_in_workspace(path, [root], forbidden=forbidden)
    root_real = os.path.realpath(root)
    real = os.path.realpath(target.path)  # a symlink inside the workspace is written through, like editors do
    if not _inside(real, root_real) or real == root_real:  # changed since the check
        raise PathRefused("outside-workspace", f"{path!r}: resolves outside the workspace folder", path)
    parts = Path(os.path.relpath(real, root_real)).parts
    data = text.encode("utf-8", "surrogateescape")
    if not _DIR_FD_OK:  # pragma: no cover - Windows: no dir_fd; the check above is all we have
        Path(real).parent.mkdir(parents=True, exist_ok=True)
        Path(real).write_bytes(data)
        return Path(real)
    fd = os.open(root_real, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            try:
                nfd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                os.mkdir(part, 0o777, dir_fd=fd)
                nfd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = nfd
        name = parts[-1]
        mode: int | None = None
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            pass
        else:
            if not stat.S_ISREG(st.st_mode):
                raise PathRefused("forbidden-path", f"{path!r}: not a regular file", path)
            mode = stat.S_IMODE(st.st_mode)
        tmp = f".{name}.{secrets.token_hex(6)}.tmp"
        tfd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666, dir_fd=fd)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(tfd, view):]
                if mode is not None:
                    os.fchmod(tfd, mode)
            finally:
                os.close(tfd)
            os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)  # POSIX rename replaces atomically
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=fd)
            raise
    finally:
        os.close(fd)
    return Path(real)
