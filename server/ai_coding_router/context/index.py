"""The workspace index: every source file's symbols, the resolved import graph, and a disk cache.

``WorkspaceIndex`` owns mutable state (build, update_file, remove_file) behind a lock and hands out
immutable ``IndexSnapshot`` values; the pruner only ever sees a snapshot. The cache under
``<root>/.ai-coding-router/index/`` holds each file's extracted symbols keyed by (mtime, size), as JSON
(never pickle: the folder lives in an untrusted workspace), so a second CLI run parses only what changed.
Delete the folder at any time.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pathspec

from ..errors import ContextError
from .languages import grammar_for, parse
from .redact import is_secret_path
from .resolve import ProjectConfig, Resolver, SymbolTarget, find_export, find_local, load_project_config
from .symbols import FileSymbols, extract

MAX_FILE_BYTES = 2 * 1024 * 1024
CACHE_DIR = ".ai-coding-router/index"
CACHE_FILE = "symbols-v1.json"
CACHE_VERSION = 1

# Directories never indexed: dependencies, build output, caches, VCS data, our own state.
SKIP_DIRS = frozenset(
    {
        "node_modules",
        ".git",
        ".hg",
        ".svn",
        "dist",
        "build",
        "out",
        "coverage",
        ".next",
        ".nuxt",
        ".output",
        ".svelte-kit",
        ".turbo",
        ".cache",
        ".parcel-cache",
        ".vercel",
        ".yarn",
        ".pnpm-store",
        "bower_components",
        ".ai-coding-router",
        "__pycache__",
        ".venv",
        "venv",
        ".idea",
        ".vscode-test",
    }
)
_GENERATED_SUFFIXES = (".min.js", ".bundle.js", ".min.mjs", ".chunk.js")
_COMPILED_FROM = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}


@dataclass(frozen=True)
class FileEntry:
    symbols: FileSymbols
    mtime_ns: int
    size: int


@dataclass(frozen=True)
class FileUpdate:
    """A file's new source, read and checked, waiting for its symbols (``WorkspaceIndex.read_update``)."""

    rel: str
    source: bytes
    mtime_ns: int
    size: int


@dataclass(frozen=True)
class FileDrop:
    """A file the index must forget: gone (``reason`` None), or no longer indexable (binary, too large...)."""

    rel: str
    reason: str | None


PROJECT_FILES = ("tsconfig.json", "jsconfig.json", "package.json")


def is_project_file(rel: str) -> bool:
    """A file whose change re-resolves every import: the index is rebuilt rather than updated."""
    return posixpath.basename(rel) in PROJECT_FILES


@dataclass
class BuildStats:
    files: int = 0
    parsed: int = 0
    from_cache: int = 0
    skipped: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


class SourceStore:
    """File texts for snippets: open documents first, then disk, read lazily and kept until the index
    says the file changed (``forget``/``remember``), so a prune call does no ``stat`` per file."""

    def __init__(self, root: Path, overlay: Mapping[str, str] | None = None) -> None:
        self.root = root
        self._overlay = dict(overlay or {})
        self._disk: dict[str, str] = {}
        self._lock = threading.Lock()
        self._parent: SourceStore | None = None

    def with_overlay(self, overlay: Mapping[str, str]) -> SourceStore:
        store = SourceStore(self.root, {**self._overlay, **overlay})
        store._disk = self._disk  # share the memo
        store._lock = self._lock
        return store

    def fork(self) -> SourceStore:
        """A store for a snapshot: the texts known now stay as they are, whatever the index learns later;
        files it reads lazily are shared back with this store."""
        store = SourceStore(self.root, self._overlay)
        with self._lock:
            store._disk = dict(self._disk)
        store._parent = self
        return store

    def forget(self, rel: str) -> None:
        with self._lock:
            self._disk.pop(rel, None)

    def remember(self, rel: str, text: str) -> None:
        with self._lock:
            self._disk[rel] = text

    def text(self, rel: str) -> str:
        found = self._overlay.get(rel)
        if found is None:
            found = self._disk.get(rel)
        if found is not None:
            return found
        try:
            data = read_source(self.root / rel)
        except ContextError:
            return ""
        text = data.decode("utf-8", errors="replace")
        self.remember(rel, text)
        if self._parent is not None:
            with self._parent._lock:
                self._parent._disk.setdefault(rel, text)
        return text


@dataclass(frozen=True, eq=False)
class IndexSnapshot:
    """An immutable view of the index. Derived tables are computed on first use and kept."""

    root: Path
    files: Mapping[str, FileSymbols]
    targets: Mapping[str, tuple[str | None, ...]]  # per file: resolved file of each import record
    sources: SourceStore
    skipped: Mapping[str, str] = field(default_factory=dict)
    resolver: Resolver | None = None

    def target_of(self, path: str, index: int) -> str | None:
        resolved = self.targets.get(path)
        return resolved[index] if resolved is not None and index < len(resolved) else None

    def text(self, rel: str) -> str:
        return self.sources.text(rel)

    base: IndexSnapshot | None = None  # set by with_document: derived tables are patched from it
    overlay: str | None = None  # the file with_document replaced

    @cached_property
    def importers(self) -> Mapping[str, frozenset[str]]:
        """file → the files that import it (any import form)."""
        if self.base is not None and self.overlay is not None:
            rel = self.overlay
            table = dict(self.base.importers)
            for target in set(self.base.targets.get(rel, ())) - set(self.targets.get(rel, ())):
                if target is not None and target in table:
                    table[target] = table[target] - {rel}
            for target in set(self.targets.get(rel, ())):
                if target is not None and target != rel:
                    table[target] = table.get(target, frozenset()) | {rel}
            return table
        reverse: dict[str, set[str]] = {}
        for path, resolved in self.targets.items():
            for target in resolved:
                if target is not None and target != path:
                    reverse.setdefault(target, set()).add(path)
        return {k: frozenset(v) for k, v in reverse.items()}

    @cached_property
    def definers(self) -> Mapping[str, tuple[str, ...]]:
        """top-level name → files that define it."""
        if self.base is not None and self.overlay is not None:
            rel = self.overlay
            if self.files[rel] is self.base.files.get(rel):
                return self.base.definers  # the editor's text, but the symbols indexed at the last pause
            table = dict(self.base.definers)
            old = self.base.files.get(rel)
            for name in {d.name for d in old.top_level()} if old is not None else set():
                table[name] = tuple(p for p in table.get(name, ()) if p != rel)
            for name in {d.name for d in self.files[rel].top_level()}:
                table[name] = (*table.get(name, ()), rel)
            return table
        table_lists: dict[str, list[str]] = {}
        for path, symbols in self.files.items():
            for definition in symbols.top_level():
                bucket = table_lists.setdefault(definition.name, [])
                if not bucket or bucket[-1] != path:
                    bucket.append(path)
        return {k: tuple(v) for k, v in table_lists.items()}

    def find_export(self, path: str, name: str) -> list[SymbolTarget]:
        return find_export(self.files, self.target_of, path, name)

    def find_local(self, path: str, name: str) -> list[SymbolTarget]:
        return find_local(self.files, self.target_of, path, name)

    def resolve(self, importer: str, specifier: str) -> str | None:
        return self.resolver.resolve(importer, specifier) if self.resolver is not None else None

    def with_document(self, rel: str, text: str, symbols: FileSymbols) -> IndexSnapshot:
        """This snapshot with one file replaced by an unsaved editor version (cheap: shallow copies)."""
        files = dict(self.files)
        files[rel] = symbols
        targets = dict(self.targets)
        targets[rel] = tuple(self.resolve(rel, r.specifier) for r in symbols.imports)
        root = self.base if self.base is not None and self.overlay == rel else self
        return IndexSnapshot(
            self.root,
            files,
            targets,
            self.sources.with_overlay({rel: text}),
            self.skipped,
            self.resolver,
            base=root,
            overlay=rel,
        )


def relative_path(root: Path, path: str | Path) -> str:
    """The workspace-relative POSIX path of ``path``; ContextError when it is outside the workspace."""
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = root / candidate
    try:
        rel = candidate.resolve().relative_to(root.resolve())
    except ValueError as exc:
        raise ContextError(f"{path} is outside the workspace {root}") from exc
    return rel.as_posix()


class _Ignore:
    """Nested .gitignore files: the deepest file with a matching pattern decides, as in git."""

    def __init__(self) -> None:
        self._specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []

    def push(self, directory: str, lines: list[str]) -> None:
        self._specs.append((directory, pathspec.GitIgnoreSpec.from_lines(lines)))

    def pop_to(self, depth: int) -> None:
        del self._specs[depth:]

    @property
    def depth(self) -> int:
        return len(self._specs)

    def ignored(self, rel: str, is_dir: bool) -> bool:
        verdict = False
        for directory, spec in self._specs:
            if directory and not rel.startswith(directory + "/"):
                continue
            sub = rel[len(directory) + 1 :] if directory else rel
            result = spec.check_file(sub + "/" if is_dir else sub).include
            if result is not None:
                verdict = result
        return verdict


@dataclass
class _Walk:
    sources: list[tuple[str, os.stat_result]] = field(default_factory=list)
    tsconfigs: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def _walk(root: Path) -> _Walk:
    found = _Walk()
    ignore = _Ignore()
    for name in (".git/info/exclude",):
        with contextlib.suppress(OSError):
            ignore.push("", (root / name).read_text(encoding="utf-8", errors="replace").splitlines())

    def visit(directory: Path, rel_dir: str) -> None:
        depth = ignore.depth
        gitignore = directory / ".gitignore"
        if gitignore.is_file():
            with contextlib.suppress(OSError):
                ignore.push(rel_dir, gitignore.read_text(encoding="utf-8", errors="replace").splitlines())
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            found.skipped[rel_dir or "."] = f"unreadable directory: {exc.strerror}"
            return
        names = {e.name for e in entries}
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = entry.is_file(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if entry.name in SKIP_DIRS or ignore.ignored(rel, True):
                    continue
                visit(Path(entry.path), rel)
                continue
            if not is_file:
                continue
            name = entry.name
            if name in ("tsconfig.json", "jsconfig.json") or (name.startswith("tsconfig.") and name.endswith(".json")):
                if name in ("tsconfig.json", "jsconfig.json"):
                    found.tsconfigs.append(rel)
                continue
            if name == "package.json":
                found.packages.append(rel)
                continue
            if grammar_for(name) is None:
                continue
            if ignore.ignored(rel, False):
                continue
            reason = _skip_reason(name, names)
            if reason is None and is_secret_path(name):
                reason = "secret file"
            if reason is not None:
                found.skipped[rel] = reason
                continue
            try:
                stat = entry.stat(follow_symlinks=False)
            except OSError as exc:
                found.skipped[rel] = f"unreadable: {exc.strerror}"
                continue
            if stat.st_size > MAX_FILE_BYTES:
                found.skipped[rel] = f"too large ({stat.st_size} bytes > {MAX_FILE_BYTES})"
                continue
            found.sources.append((rel, stat))
        ignore.pop_to(depth)

    visit(root, "")
    return found


def _skip_reason(name: str, siblings: set[str]) -> str | None:
    lower = name.lower()
    if lower.endswith(_GENERATED_SUFFIXES):
        return "generated (minified/bundled)"
    stem, ext = posixpath.splitext(name)
    for source_ext in _COMPILED_FROM.get(ext, ()):
        if stem + source_ext in siblings:
            return f"generated (compiled from {stem + source_ext})"
    if lower.endswith(".d.ts") and name[: -len(".d.ts")] + ".ts" in siblings:
        return "generated (declarations of a .ts file)"
    return None


def read_source(path: Path) -> bytes:
    """File bytes for indexing; ContextError for a binary or oversized file."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ContextError(f"{path.name} is too large to index ({size} bytes > {MAX_FILE_BYTES})")
        data = path.read_bytes()
    except OSError as exc:
        raise ContextError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if is_binary(data):
        raise ContextError(f"{path.name} is a binary file")
    return data


def is_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 4  # a cut multi-byte character at the end is fine
    return False


def symbols_for(rel: str, source: bytes) -> FileSymbols:
    grammar = grammar_for(rel)
    if grammar is None:
        raise ContextError(f"{rel} is not a TypeScript or JavaScript file")
    return extract(parse(source, grammar), source)


class WorkspaceIndex:
    """Mutable index of one workspace root. Thread-safe; ``snapshot()`` is cheap once built."""

    def __init__(self, root: str | Path, *, use_cache: bool = True) -> None:
        self.root = Path(root).resolve()
        self.use_cache = use_cache
        self._entries: dict[str, FileEntry] = {}
        self._targets: dict[str, tuple[str | None, ...]] = {}
        self._skipped: dict[str, str] = {}
        self._project = ProjectConfig()
        self._project_files: tuple[list[str], list[str]] = ([], [])
        self._resolver = Resolver(())
        self._sources = SourceStore(self.root)
        self._snapshot: IndexSnapshot | None = None
        self._lock = threading.RLock()
        self.stats = BuildStats()

    @classmethod
    def open(cls, root: str | Path, *, use_cache: bool = True) -> WorkspaceIndex:
        """Build (or load from the cache and refresh) the index of ``root``."""
        index = cls(root, use_cache=use_cache)
        index.build()
        return index

    @property
    def cache_path(self) -> Path:
        return self.root / CACHE_DIR / CACHE_FILE

    def build(self, cancelled: Callable[[], bool] | None = None) -> BuildStats:
        """Walk the workspace and (re)index every source file; unchanged files come from the cache."""
        started = time.perf_counter()
        stats = BuildStats()
        walk = _walk(self.root)
        cached = self._load_cache() if self.use_cache else {}
        with self._lock:
            previous = dict(self._entries)
        entries: dict[str, FileEntry] = {}
        skipped = dict(walk.skipped)
        for rel, stat in walk.sources:
            if cancelled is not None and cancelled():
                raise ContextError("indexing cancelled")
            old = previous.get(rel) or cached.get(rel)
            if old is not None and old.mtime_ns == stat.st_mtime_ns and old.size == stat.st_size:
                entries[rel] = old
                stats.from_cache += 1
                continue
            self._sources.forget(rel)
            try:
                source = read_source(self.root / rel)
                entries[rel] = FileEntry(symbols_for(rel, source), stat.st_mtime_ns, stat.st_size)
                self._sources.remember(rel, source.decode("utf-8", errors="replace"))
                stats.parsed += 1
            except ContextError as exc:
                skipped[rel] = str(exc)
        project = load_project_config(self.root, walk.tsconfigs, walk.packages, stats.warnings)
        with self._lock:
            self._entries = entries
            self._skipped = skipped
            self._project = project
            self._project_files = (walk.tsconfigs, walk.packages)
            self._resolve_all()
        stats.files = len(entries)
        stats.skipped = len(skipped)
        if self.use_cache and (stats.parsed or len(cached) != len(entries)):
            self.save_cache()
        stats.seconds = time.perf_counter() - started
        self.stats = stats
        return stats

    def _resolve_all(self) -> None:
        self._resolver = Resolver(self._entries, self._project)
        self._targets = {
            rel: tuple(self._resolver.resolve(rel, r.specifier) for r in entry.symbols.imports)
            for rel, entry in self._entries.items()
        }
        self._snapshot = None

    def update_file(self, path: str | Path, text: str | None = None) -> FileSymbols | None:
        """Re-index one file (from ``text`` when given, else from disk). Returns its symbols, or None
        when the file is not indexed (not a source file, ignored, binary, too large, or gone).

        The server does the same in three steps so that the extraction runs in another process:
        ``read_update``, ``context.extractor``, ``apply_update``."""
        rel = relative_path(self.root, path)
        if is_project_file(rel):
            self.build()
            return None
        update = self.read_update(rel, text)
        if isinstance(update, FileDrop):
            self.apply_drop(update)
            return None
        if update is None:
            return None
        symbols = symbols_for(update.rel, update.source)
        self.apply_update(update, symbols)
        return symbols

    def read_update(self, path: str | Path, text: str | None = None) -> FileUpdate | FileDrop | None:
        """A source file's new text, checked as the index checks files; a ``FileDrop`` for a file that is
        gone or became unreadable, binary or too large; None when it is not a file the index keeps. Changes
        nothing: the caller applies the result (``apply_update``/``apply_drop``) unless a newer one won."""
        rel = relative_path(self.root, path)
        if grammar_for(rel) is None or is_secret_path(rel) or any(p in SKIP_DIRS for p in rel.split("/")[:-1]):
            return None
        full = self.root / rel
        try:
            if text is None:
                source = read_source(full)
                stat = full.stat()
                mtime, size = stat.st_mtime_ns, stat.st_size
            else:
                source = text.encode("utf-8", errors="surrogatepass")
                mtime, size = -1, len(source)  # unsaved text: never matches the disk cache
                if size > MAX_FILE_BYTES:
                    raise ContextError(f"{rel} is too large to index ({size} bytes > {MAX_FILE_BYTES})")
        except ContextError as exc:
            return FileDrop(rel, str(exc))
        except OSError:
            return FileDrop(rel, None)
        return FileUpdate(rel, source, mtime, size)

    def apply_drop(self, drop: FileDrop) -> None:
        """Forget a file (``read_update`` found it gone or no longer indexable)."""
        with self._lock:
            if drop.reason is not None:
                self._skipped[drop.rel] = drop.reason
            self._drop(drop.rel)

    def apply_update(self, update: FileUpdate, symbols: FileSymbols) -> None:
        """Store a file's symbols extracted from ``update.source``."""
        rel = update.rel
        self._sources.remember(rel, update.source.decode("utf-8", errors="replace"))
        with self._lock:
            is_new = rel not in self._entries
            self._entries[rel] = FileEntry(symbols, update.mtime_ns, update.size)
            self._skipped.pop(rel, None)
            if is_new:
                self._resolve_all()  # a new file can satisfy imports elsewhere
            else:
                self._targets[rel] = tuple(self._resolver.resolve(rel, r.specifier) for r in symbols.imports)
                self._snapshot = None

    def remove_file(self, path: str | Path) -> None:
        rel = relative_path(self.root, path)
        with self._lock:
            self._drop(rel)

    def _drop(self, rel: str) -> None:
        self._sources.forget(rel)
        if self._entries.pop(rel, None) is not None:
            self._targets.pop(rel, None)
            self._resolve_all()

    def snapshot(self) -> IndexSnapshot:
        with self._lock:
            if self._snapshot is None:
                self._snapshot = IndexSnapshot(
                    root=self.root,
                    files=MappingProxyType({k: e.symbols for k, e in self._entries.items()}),
                    targets=MappingProxyType(dict(self._targets)),
                    sources=self._sources.fork(),
                    skipped=MappingProxyType(dict(self._skipped)),
                    resolver=self._resolver,
                )
            return self._snapshot

    @property
    def skipped(self) -> Mapping[str, str]:
        return MappingProxyType(self._skipped)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    # --- persistent cache -----------------------------------------------------------------------------

    def _load_cache(self) -> dict[str, FileEntry]:
        try:
            data = json.loads(self.cache_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return {}
        entries: dict[str, FileEntry] = {}
        for rel, item in data.get("files", {}).items():
            try:
                entries[rel] = FileEntry(FileSymbols.from_json(item["sym"]), int(item["m"]), int(item["s"]))
            except (KeyError, TypeError, ValueError):
                continue  # a damaged entry is re-parsed
        return entries

    def save_cache(self) -> None:
        with self._lock:
            files: dict[str, Any] = {
                rel: {"m": e.mtime_ns, "s": e.size, "sym": e.symbols.to_json()}
                for rel, e in self._entries.items()
                if e.mtime_ns >= 0
            }
        directory = self.cache_path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            ignore_file = directory / ".gitignore"
            if not ignore_file.exists():
                ignore_file.write_text("# ai-coding-router index cache: safe to delete\n*\n", encoding="utf-8")
            # json.dumps uses the C encoder; json.dump to a file does not (10x slower).
            payload = json.dumps({"version": CACHE_VERSION, "files": files}, separators=(",", ":"))
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".symbols-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(payload)
                os.replace(tmp, self.cache_path)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        except OSError:
            return  # a read-only workspace just has no cache
