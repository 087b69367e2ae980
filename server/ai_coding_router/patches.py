"""SEARCH/REPLACE blocks, the edit format the model answers in: parse a reply, apply it to files.

    path/relative/to/workspace.ts
    <<<<<<< SEARCH
    exact existing lines
    =======
    replacement lines
    >>>>>>> REPLACE

An empty SEARCH section creates a file. Every problem (a malformed block, a SEARCH that matches zero or
several times, a refused path) is a ``PatchProblem`` whose ``message`` is written for the model: the
pipeline feeds them back as ``fail-syntax`` findings. Pure: the only I/O is the optional disk loader and
the symlink checks of ``edits.paths``.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .edits.diff import equal_runs, line_hunks
from .edits.paths import FORBIDDEN_DIRS, PathRefused, StrPath, resolve_in_workspace
from .edits.positions import split_eol, split_lines
from .errors import EditError
from .validation.base import Finding
from .validation.base import Range as FindingRange

ProblemKind = Literal[
    "no-blocks", "missing-path", "missing-divider", "unterminated", "stray-marker",  # parsing
    "invalid-path", "outside-workspace", "forbidden-path", "ambiguous-path",  # paths
    "no-match", "ambiguous-match", "file-exists", "file-missing", "binary-file", "unreadable",  # applying
]


@dataclass(frozen=True)
class PatchBlock:
    path: str | None  # as the model wrote it, decoration removed; checked only when applied
    search: str  # lines joined with "\n", each ending with "\n"; "" creates a file
    replace: str
    line: int  # 1-based line of the "<<<<<<< SEARCH" marker in the reply
    path_inferred: bool = False  # no path line: the previous block's path was used


@dataclass(frozen=True)
class PatchProblem:
    kind: ProblemKind
    message: str  # addressed to the model; becomes a fail-syntax finding
    path: str | None = None
    block: int | None = None  # index into the parsed blocks
    line: int | None = None  # 1-based line in the reply

    def describe(self) -> str:
        where = []
        if self.block is not None:
            where.append(f"block {self.block + 1}")
        if self.line is not None:
            where.append(f"reply line {self.line}")
        if self.path:
            where.append(self.path)
        return (f"[{', '.join(where)}] " if where else "") + self.message


@dataclass(frozen=True)
class ParsedPatch:
    blocks: tuple[PatchBlock, ...]
    problems: tuple[PatchProblem, ...]


# --- parsing ------------------------------------------------------------------------------------------

_SEARCH_RE = re.compile(r"^\s*<{5,9}\s?SEARCH\s*$", re.IGNORECASE)
_DIVIDER_RE = re.compile(r"^\s*={5,9}\s*$")
_REPLACE_RE = re.compile(r"^\s*>{5,9}\s?REPLACE\s*$", re.IGNORECASE)
_FENCE_RE = re.compile(r"^\s*(?:`{3,}|~{3,})\s*(.*?)\s*$")
_HAS_EXT = re.compile(r"(?:^|[^.])\.[A-Za-z0-9_-]+$|^\.[A-Za-z0-9_-]+$")


_BARE_NAMES = frozenset({"Makefile", "Dockerfile", "Procfile", "Jenkinsfile", "LICENSE", "CODEOWNERS"})


def _looks_like_path(s: str) -> bool:
    return "/" in s or bool(_HAS_EXT.search(s)) or s in _BARE_NAMES


def _clean_path_line(line: str) -> str | None:
    """The path on a line before a block, or None if the line is prose. Accepts ``src/a.ts``,
    ``**src/a.ts**``, ``\\`src/a.ts\\```, ``### src/a.ts``, ``- src/a.ts:``, ``File: src/a.ts``."""
    s = line.strip()
    s = re.sub(r"^#{1,6}\s+", "", s)
    s = re.sub(r"^[-*+]\s+", "", s)
    s = re.sub(r"^(?:file(?:name)?|path)\s*:\s*", "", s, flags=re.IGNORECASE)
    decorated = False
    changed = True
    while changed and s:
        changed = False
        if s.endswith(":"):
            s, changed = s[:-1].rstrip(), True
        for w in ("**", "__", "`"):
            if len(s) > 2 * len(w) and s.startswith(w) and s.endswith(w):
                s, changed, decorated = s[len(w) : -len(w)].strip(), True, True
    if not s or s[0] in "<=>`~" or "`" in s:
        return None
    if not _looks_like_path(s) or len(s) > 300:
        return None
    # Spaces only inside backticks or bold: otherwise the line is a sentence.
    return s if decorated or not re.search(r"\s", s) else None


def _path_from_fence(info: str) -> str | None:
    """``ts src/a.ts``, ``src/a.ts``, ``typescript:src/a.ts``, ``ts title="src/a.ts"``."""
    for token in reversed(info.split()):
        token = token.removeprefix("title=").strip("\"'")
        if ":" in token:
            token = token.split(":", 1)[1]
        if token and _looks_like_path(token) and not token.startswith("."):
            return token
    return None


def _find_path(lines: Sequence[str], marker: int) -> str | None:
    seen_fence = False
    j = marker - 1
    while j >= 0 and marker - j <= 4:
        raw = lines[j]
        if not raw.strip():
            j -= 1
            continue
        fence = _FENCE_RE.match(raw)
        if fence:
            if seen_fence:
                return None
            from_info = _path_from_fence(fence.group(1))
            if from_info:
                return from_info
            seen_fence = True
            j -= 1
            continue
        return _clean_path_line(raw)
    return None


def _join(lines: Sequence[str]) -> str:
    return "".join(line + "\n" for line in lines)


def parse_patch(text: str) -> ParsedPatch:
    """All well-formed blocks of a reply, and a problem for each malformed one (which is dropped)."""
    lines = [split_eol(raw)[0] for raw in split_lines(text)]
    blocks: list[PatchBlock] = []
    problems: list[PatchProblem] = []
    state = "outside"
    start = 0
    path: str | None = None
    inferred = False
    last_path: str | None = None
    search: list[str] = []
    replace: list[str] = []

    def begin(i: int) -> None:
        nonlocal state, start, path, inferred, search, replace
        state, start, search, replace = "search", i, [], []
        path, inferred = _find_path(lines, i), False
        if path is None and last_path is not None:
            path, inferred = last_path, True

    for i, line in enumerate(lines):
        if state == "outside":
            if _SEARCH_RE.match(line):
                begin(i)
            elif _REPLACE_RE.match(line):
                problems.append(PatchProblem(
                    "stray-marker", "a '>>>>>>> REPLACE' line without a '<<<<<<< SEARCH' block before it; "
                    "send the whole block", line=i + 1))
        elif state == "search":
            if _DIVIDER_RE.match(line):
                state = "replace"
            elif _REPLACE_RE.match(line):
                problems.append(PatchProblem(
                    "missing-divider", "the block has no '=======' line between SEARCH and REPLACE",
                    path, line=start + 1))
                state = "outside"
            elif _SEARCH_RE.match(line):
                problems.append(PatchProblem(
                    "unterminated", "the block is not finished: a new '<<<<<<< SEARCH' came before its "
                    "'=======' and '>>>>>>> REPLACE' lines", path, line=start + 1))
                begin(i)
            else:
                search.append(line)
        else:  # replace
            if _REPLACE_RE.match(line):
                if path is None:
                    problems.append(PatchProblem(
                        "missing-path", "the block has no file path; put the workspace-relative path alone "
                        "on the line before '<<<<<<< SEARCH'", line=start + 1))
                else:
                    blocks.append(PatchBlock(path, _join(search), _join(replace), start + 1, inferred))
                    last_path = path
                state = "outside"
            elif _SEARCH_RE.match(line):
                problems.append(PatchProblem(
                    "unterminated", "the block is not finished: a new '<<<<<<< SEARCH' came before its "
                    "'>>>>>>> REPLACE' line", path, line=start + 1))
                begin(i)
            else:
                replace.append(line)
    if state != "outside":
        problems.append(PatchProblem(
            "unterminated", "the reply ended inside a block (no '>>>>>>> REPLACE' line); the block was "
            "not applied", path, line=start + 1))
    if not blocks and not problems:
        problems.append(PatchProblem(
            "no-blocks", "the reply contains no SEARCH/REPLACE blocks; answer with blocks in the required "
            "format"))
    return ParsedPatch(tuple(blocks), tuple(problems))


# --- files --------------------------------------------------------------------------------------------

FileContent = str | bytes | None  # None: the file does not exist
FileLoader = Callable[[str], FileContent]
FileSource = Mapping[str, str | bytes] | FileLoader  # Mapping is covariant: dict[str, str] fits

_BINARY_SUFFIXES = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".avif", ".pdf", ".zip", ".gz", ".tgz",
    ".bz2", ".xz", ".7z", ".jar", ".class", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".mp3", ".mp4",
    ".wav", ".ogg", ".webm", ".wasm", ".exe", ".dll", ".so", ".dylib", ".node", ".bin", ".sqlite", ".db",
})


def disk_files(roots: Sequence[StrPath], overlay: Mapping[str, str] | None = None, *,
               max_bytes: int = 8_000_000) -> FileLoader:
    """A loader reading workspace files from disk; ``overlay`` (open documents by the same keys as
    ``FileResult.path``) wins over the disk. Only regular files; larger than ``max_bytes`` is refused."""

    def load(key: str) -> FileContent:
        if overlay is not None and key in overlay:
            return overlay[key]
        target = resolve_in_workspace(key, roots)
        try:
            st = os.stat(target.path)
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(st.st_mode):
            raise EditError("not a regular file")
        if st.st_size > max_bytes:
            raise EditError(f"the file is larger than {max_bytes} bytes")
        return target.path.read_bytes()

    return load


@dataclass(frozen=True)
class FileResult:
    path: str  # workspace-relative (``folder/rel`` with several workspace folders)
    abs_path: Path  # root / rel, symlinks not resolved (the name the editor knows)
    root: Path
    old_text: str | None  # None: the patch creates the file
    new_text: str

    @property
    def created(self) -> bool:
        return self.old_text is None


@dataclass(frozen=True)
class PatchResult:
    files: Mapping[str, FileResult]  # only files created or whose text changed
    problems: tuple[PatchProblem, ...]
    notes: tuple[str, ...] = ()  # fallbacks used ("matched ignoring trailing whitespace")
    applied: tuple[int, ...] = ()  # indices of the blocks that were applied

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def new_texts(self) -> dict[str, str]:
        return {k: f.new_text for k, f in self.files.items()}

    def feedback(self) -> str:
        """All problems, one per line, for the repair prompt."""
        return "\n".join(p.describe() for p in self.problems)


@dataclass
class _Doc:
    """A file as lines without breaks plus the break after each, so untouched lines keep theirs."""

    lines: list[str]
    eols: list[str]
    eol: str  # the dominant break, used for new lines
    bom: str = ""

    @classmethod
    def parse(cls, text: str) -> _Doc:
        bom = "\ufeff" if text.startswith("\ufeff") else ""
        pairs = [split_eol(raw) for raw in split_lines(text[len(bom) :])]
        eols = [e for _, e in pairs]
        counts = {e: eols.count(e) for e in ("\r\n", "\n", "\r")}
        eol = max(("\n", "\r\n", "\r"), key=lambda e: counts[e])  # ties: "\n" first
        return cls([c for c, _ in pairs], eols, eol, bom)

    def text(self) -> str:
        return self.bom + "".join(c + e for c, e in zip(self.lines, self.eols, strict=True))

    def replace(self, at: int, count: int, new: list[str]) -> None:
        old = self.lines[at : at + count]
        new_eols = [self.eol] * len(new)
        # Lines kept from the SEARCH text keep their own line break (mixed-break files stay as they were).
        for i, j, length in equal_runs(line_hunks(old, new), len(old), len(new)):
            new_eols[j : j + length] = self.eols[at + i : at + i + length]
        # Only the file's last line may lack a break, and it keeps the file's "no break at end" state.
        new_eols = [e or self.eol for e in new_eols]
        at_end = at + count == len(self.lines)
        if at_end and self.eols and self.eols[-1] == "":
            if new:
                new_eols[-1] = ""
            elif at > 0:
                self.eols[at - 1] = ""  # deleting the last lines
        self.lines[at : at + count] = new
        self.eols[at : at + count] = new_eols


@dataclass
class _FileState:
    key: str
    abs_path: Path
    root: Path
    original: str | None
    doc: _Doc | None  # None while the file does not exist


def _decode(content: str | bytes) -> str | None:
    """Text, or None for binary content (NUL bytes, or bytes that are not UTF-8)."""
    if isinstance(content, bytes):
        if b"\x00" in content[:8192]:
            return None
        try:
            content = content.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None if "\x00" in content else content


# --- matching -----------------------------------------------------------------------------------------

def _indent(s: str) -> str:
    return s[: len(s) - len(s.lstrip())]


def _reindent(file_lines: Sequence[str], search: Sequence[str], replace: Sequence[str]) -> list[str] | None:
    """The replacement shifted by the indentation difference between the file and SEARCH, or None when
    that difference is not the same on every non-blank line."""
    deltas = set()
    for f, s in zip(file_lines, search, strict=True):
        if not s.strip():
            continue
        fi, si = _indent(f), _indent(s)
        if fi == si:
            deltas.add(("", ""))
        elif fi.endswith(si):
            deltas.add(("+", fi[: len(fi) - len(si)]))  # the file is indented deeper than SEARCH
        elif si.endswith(fi):
            deltas.add(("-", si[: len(si) - len(fi)]))
        else:
            return None
    if len(deltas) != 1:
        return None
    sign, prefix = deltas.pop()
    out = []
    for r in replace:
        if not r.strip() or not sign:
            out.append(r)
        elif sign == "+":
            out.append(prefix + r)
        elif r.startswith(prefix):
            out.append(r[len(prefix) :])
        else:
            return None
    return out


@dataclass(frozen=True)
class _Match:
    at: int
    count: int
    replace: list[str]
    how: str | None  # None: exact


def _candidates(lines: Sequence[str], search: Sequence[str], key: Callable[[str], str]) -> list[int]:
    keyed = [key(x) for x in lines]
    want = [key(x) for x in search]
    m = len(want)
    return [i for i in range(len(keyed) - m + 1) if keyed[i] == want[0] and keyed[i : i + m] == want]


def _match(lines: list[str], search: list[str], replace: list[str]) -> tuple[list[_Match], str | None]:
    """Matches of SEARCH in ``lines``: exact first, then (only if nothing matched) ignoring trailing
    whitespace, then ignoring indentation (re-indenting the replacement), then without blank lines
    at SEARCH's edges. Returns the matches of the first level that found any, and that level's name."""
    attempts: list[tuple[list[str], list[str], str | None]] = [(search, replace, None)]
    lead = next((i for i, s in enumerate(search) if s.strip()), len(search))
    trail = next((i for i, s in enumerate(reversed(search)) if s.strip()), len(search))
    if (lead or trail) and lead < len(search):
        r = list(replace)
        drop_lead = 0
        while drop_lead < min(lead, len(r)) and not r[drop_lead].strip():
            drop_lead += 1
        r = r[drop_lead:]
        drop_trail = 0
        while drop_trail < min(trail, len(r)) and not r[len(r) - 1 - drop_trail].strip():
            drop_trail += 1
        r = r[: len(r) - drop_trail]
        attempts.append((search[lead : len(search) - trail], r, "ignoring blank lines at the edges of SEARCH"))
    for s, r, edge in attempts:
        exact = _candidates(lines, s, lambda x: x)
        if exact:
            return [_Match(i, len(s), r, edge) for i in exact], edge
        loose = _candidates(lines, s, str.rstrip)
        if loose:
            how = "ignoring trailing whitespace" + (f" and {edge}" if edge else "")
            return [_Match(i, len(s), r, how) for i in loose], how
        found: list[_Match] = []
        for i in _candidates(lines, s, str.strip):
            shifted = _reindent(lines[i : i + len(s)], s, r)
            if shifted is not None:
                found.append(_Match(i, len(s), shifted, "ignoring indentation (the replacement was "
                                    "re-indented to match)" + (f" and {edge}" if edge else "")))
        if found:
            return found, found[0].how
    return [], None


def _closest(lines: Sequence[str], search: Sequence[str]) -> tuple[int, list[str]] | None:
    """The window of the file most similar to SEARCH (for a "did you mean" hint), if similar enough."""
    m = len(search)
    if not lines or m == 0 or len(lines) * m > 400_000:
        return None
    want = "\n".join(search)
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(want)
    best, best_at = 0.0, -1
    for i in range(max(1, len(lines) - m + 1)):
        matcher.set_seq1("\n".join(lines[i : i + m]))
        if matcher.real_quick_ratio() <= best or matcher.quick_ratio() <= best:
            continue
        r = matcher.ratio()
        if r > best:
            best, best_at = r, i
    if best < 0.6:
        return None
    return best_at, list(lines[best_at : best_at + m])


# --- applying -----------------------------------------------------------------------------------------

def _non_directory_parent(root: Path, path: Path) -> str | None:
    """The first existing parent of ``path`` (below ``root``) that is not a directory, if any."""
    for parent in reversed(path.relative_to(root).parents[:-1]):
        full = root / parent
        if os.path.lexists(full) and not full.is_dir():
            return parent.as_posix()
    return None


def apply_patch(files: FileSource, blocks: Sequence[PatchBlock], workspace_roots: Sequence[StrPath], *,
                forbidden: frozenset[str] = FORBIDDEN_DIRS) -> PatchResult:
    """Apply blocks in order (a later block sees the earlier blocks' result in the same file).

    ``files`` gives current texts by workspace-relative path (``FileResult.path`` spelling): a mapping,
    or a loader returning text, bytes, or None for a missing file (``disk_files`` reads the disk). A
    failed block is skipped and reported; the others still apply — check ``ok`` before using the result.
    """
    load: FileLoader
    if callable(files):
        load = files
    else:
        mapping = files
        load = lambda key: mapping.get(key)  # noqa: E731
    states: dict[Path, _FileState] = {}
    problems: list[PatchProblem] = []
    notes: list[str] = []
    applied: list[int] = []

    def problem(kind: ProblemKind, message: str, n: int, block: PatchBlock) -> None:
        problems.append(PatchProblem(kind, message, block.path, n, block.line))

    for n, block in enumerate(blocks):
        if block.path is None:
            problem("missing-path", "the block has no file path", n, block)
            continue
        try:
            target = resolve_in_workspace(block.path, workspace_roots, forbidden=forbidden)
        except PathRefused as refusal:
            problem(refusal.kind, f"{refusal}; the block was refused", n, block)
            continue
        state = states.get(target.path)
        if state is None:
            try:
                content = load(target.key)
            except (OSError, EditError) as exc:
                problem("unreadable", f"{target.key!r} cannot be read: {exc}", n, block)
                continue
            text = None if content is None else _decode(content)
            if content is not None and text is None:
                problem("binary-file", f"{target.key!r} is a binary file; it cannot be edited with "
                        "SEARCH/REPLACE", n, block)
                continue
            state = _FileState(target.key, target.path, target.root, text,
                               None if text is None else _Doc.parse(text))
            states[target.path] = state
        search = block.search.split("\n")[:-1]
        replace = block.replace.split("\n")[:-1]
        doc = state.doc
        if not search:
            if doc is not None and any(line.strip() for line in doc.lines):
                problem("file-exists", f"{state.key!r} already exists, so an empty SEARCH section cannot "
                        "create it; quote the lines to change in SEARCH", n, block)
                continue
            if doc is None and os.path.lexists(state.abs_path):
                problem("file-exists", f"{state.key!r} already exists on disk; quote the lines to change "
                        "in SEARCH", n, block)
                continue
            blocker = _non_directory_parent(state.root, state.abs_path) if doc is None else None
            if blocker:
                problem("invalid-path", f"{state.key!r} cannot be created: {blocker!r} is a file, not a "
                        "directory", n, block)
                continue
            if doc is None and state.abs_path.suffix.lower() in _BINARY_SUFFIXES:
                problem("binary-file", f"{state.key!r} is a binary file type; it cannot be created as "
                        "text", n, block)
                continue
            new_doc = _Doc.parse(block.replace)
            if doc is not None:  # an empty existing file: keep its BOM and break style if it had any
                new_doc.bom = doc.bom
            state.doc = new_doc
            applied.append(n)
            continue
        if doc is None:
            problem("file-missing", f"{state.key!r} does not exist; to create it, leave the SEARCH section "
                    "empty", n, block)
            continue
        matches, how = _match(doc.lines, search, replace)
        if len(matches) == 1:
            doc.replace(matches[0].at, matches[0].count, matches[0].replace)
            applied.append(n)
            if how:
                notes.append(f"block {n + 1} ({state.key}): SEARCH matched only {how}")
            continue
        if matches:
            at = ", ".join(str(m.at + 1) for m in matches[:10])
            qualifier = f" ({how})" if how else ""
            problem("ambiguous-match", f"SEARCH matches {len(matches)} places in {state.key!r}{qualifier}, "
                    f"at lines {at}; include more surrounding lines so it matches exactly one", n, block)
            continue
        hint = _closest(doc.lines, search)
        msg = f"SEARCH does not match any lines of {state.key!r}; it must repeat the existing lines exactly"
        if hint:
            shown = "\n".join(hint[1])
            msg += f". The most similar lines (from line {hint[0] + 1}) are:\n{shown}"
        problem("no-match", msg, n, block)

    results: dict[str, FileResult] = {}
    for st in states.values():
        if st.doc is None:
            continue
        new_text = st.doc.text()
        if st.original is None or new_text != st.original:
            results[st.key] = FileResult(st.key, st.abs_path, st.root, st.original, new_text)
    return PatchResult(results, tuple(problems), tuple(notes), tuple(applied))


def problem_findings(problems: Sequence[PatchProblem]) -> tuple[Finding, ...]:
    """Each problem as a finding of kind "syntax" (code ``patch:<kind>``): the report's status becomes
    ``fail-syntax`` and the repair step sees the message, which names the block and the reply line."""
    return tuple(
        Finding(p.path or "", FindingRange.at(0, 0), "error", f"patch:{p.kind}", p.describe(), "ai-coding-router",
                "syntax")
        for p in problems
    )


def parse_and_apply(reply: str, files: FileSource, workspace_roots: Sequence[StrPath], *,
                    forbidden: frozenset[str] = FORBIDDEN_DIRS) -> PatchResult:
    """``parse_patch`` then ``apply_patch``; the result carries the problems of both steps."""
    parsed = parse_patch(reply)
    result = apply_patch(files, parsed.blocks, workspace_roots, forbidden=forbidden)
    return PatchResult(result.files, parsed.problems + result.problems, result.notes, result.applied)


__all__ = [
    "FileContent",
    "FileLoader",
    "FileResult",
    "FileSource",
    "ParsedPatch",
    "PatchBlock",
    "PatchProblem",
    "PatchResult",
    "ProblemKind",
    "apply_patch",
    "disk_files",
    "parse_and_apply",
    "parse_patch",
    "problem_findings",
]
