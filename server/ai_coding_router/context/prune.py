"""The pruner: ranked snippets for one request, within a token budget. Pure and deterministic.

``prune(snapshot, request) -> ContextResult``. Order of what is sent:

1. the window around the cursor (or the range), grown two lines above for one below;
2. definitions the code near the cursor uses or will likely use, each rendered as a signature (bodies
   elided), ranked by evidence: names read near the cursor (closer counts more), imports not used yet
   (an import without a use is about to be used), the parameter/return/heritage types of the enclosing
   function or class, ``ns.member`` accesses through namespace imports, same-file helpers outside the
   window, and — with ``include_types`` — the types named in those signatures;
3. for refactor/fix tasks, the places other files use what the range defines;
4. related files by a personalised PageRank over the import graph around the current file.

The budget is exact with respect to ``tokens.estimate_tokens``: ``render(result)`` never estimates above
``result.tokens``, and ``result.tokens`` never exceeds ``request.budget_tokens``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any, Literal

from ..config import ContextConfig
from ..errors import ContextError
from .index import IndexSnapshot
from .languages import grammar_for, parse
from .redact import is_secret_path, redact
from .resolve import SymbolTarget, module_exports
from .symbols import KEYWORDS, Definition, FileSymbols, extract, strip_comments
from .tokens import MARGIN, PER_TEXT, W_NEWLINE, raw_estimate

SnippetKind = Literal["cursor", "local", "definition", "type", "usage", "related"]

_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_MEMBER = re.compile(r"([A-Za-z_$][\w$]*)\s*\??\.\s*([A-Za-z_$][\w$]*)")
_TEST_FILE = re.compile(r"(^|/)(__tests__|tests?)/|\.(test|spec)\.[cm]?[jt]sx?$")

NEAR_BEFORE = 60
NEAR_AFTER = 30
WINDOW_SHARE = 0.35
WINDOW_CAP_TOKENS = 2000
ITEM_SHARE = 0.30
FULL_TEXT_MAX_LINES = 40
MIN_SNIPPET_TOKENS = 12  # nothing useful is smaller: stop trying once less than this is left
RELATED_MIN_TOKENS = 96  # below this, related files cannot add anything useful: skip the PageRank
SIBLINGS = 24  # other importers of a module consulted for co-usage
TEST_EXAMPLE_LINES = 40


@dataclass(frozen=True)
class ContextRequest:
    path: str  # workspace-relative (or absolute under the snapshot's root)
    text: str  # the document as the editor has it now
    line: int  # 0-based, as in LSP
    character: int  # UTF-16 code units, as in LSP (only used to clamp and split the cursor line)
    end_line: int | None = None
    end_character: int | None = None
    task: str = "completion"  # completion | fix | refactor | tests | explain | review | …
    budget_tokens: int = 1024
    options: ContextConfig = field(default_factory=ContextConfig)
    symbols: FileSymbols | None = None  # the document's symbols when the caller already has them


@dataclass(frozen=True)
class Snippet:
    path: str
    start_line: int
    end_line: int  # inclusive
    text: str
    kind: SnippetKind = "definition"
    symbol: str = ""
    tokens: int = 0  # what this snippet added to the total (its file header included, if first)


@dataclass(frozen=True)
class ContextResult:
    snippets: tuple[Snippet, ...]
    tokens: int
    budget_tokens: int

    def to_json(self) -> dict[str, Any]:
        """Exactly the CLI's ``--json`` shape."""
        return {
            "snippets": [
                {"path": s.path, "start_line": s.start_line, "end_line": s.end_line, "text": s.text}
                for s in self.snippets
            ],
            "tokens": self.tokens,
        }


def file_header(path: str) -> str:
    return f"// {path}\n"


def render(result: ContextResult) -> str:
    """The text sent to the model: snippets grouped under one header per file, in the order sent."""
    return _render(result.snippets)


def _render(snippets: Iterable[Snippet]) -> str:
    groups: dict[str, list[str]] = {}
    for snippet in snippets:
        groups.setdefault(snippet.path, []).append(snippet.text + "\n")
    return "\n".join(file_header(path) + "".join(texts) for path, texts in groups.items())


# --- request checks ------------------------------------------------------------------------------------


def workspace_path(snapshot: IndexSnapshot, path: str) -> str:
    """Workspace-relative POSIX path without touching the disk; ContextError outside the workspace."""
    pure = PurePosixPath(path.replace("\\", "/"))
    root = PurePosixPath(snapshot.root.as_posix())
    if pure.is_absolute():
        try:
            pure = pure.relative_to(root)
        except ValueError as exc:
            raise ContextError(f"{path} is outside the workspace {snapshot.root}") from exc
    parts: list[str] = []
    for part in pure.parts:
        if part == "..":
            if not parts:
                raise ContextError(f"{path} is outside the workspace {snapshot.root}")
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    if not parts:
        raise ContextError(f"{path} is not a file in the workspace")
    return "/".join(parts)


def _check_position(rel: str, lines: list[str], line: int, character: int) -> tuple[int, int]:
    if line < 0 or character < 0:
        raise ContextError(f"negative position {line}:{character} in {rel}")
    if line >= len(lines):
        raise ContextError(f"line {line} is past the end of {rel} ({len(lines)} lines, 0-based)")
    return line, min(character, _utf16_len(lines[line]))  # LSP: a character past the end means the end


def _utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


# --- the pruner -------------------------------------------------------------------------------------------


@dataclass
class _Candidate:
    path: str
    definition: Definition
    score: float
    kind: SnippetKind
    full: bool = False  # send the whole text, not the signature


@dataclass
class _Packer:
    budget: int
    max_files: int
    raw_used: float = 0.0
    pieces: int = 0
    snippets: list[Snippet] = field(default_factory=list)
    files: dict[str, None] = field(default_factory=dict)
    taken: set[tuple[str, int, str]] = field(default_factory=set)

    def used(self) -> int:
        return _tokens(self.raw_used, self.pieces)

    def cost(self, path: str, text: str) -> tuple[float, int]:
        """(raw estimate, number of pieces) that adding ``text`` would add."""
        raw = raw_estimate(text + "\n")
        pieces = 1
        if path not in self.files:
            raw += raw_estimate(file_header(path)) + (W_NEWLINE if self.files else 0.0)
            pieces += 1
        return raw, pieces

    def fits(self, path: str, text: str, limit: int | None = None) -> bool:
        if path not in self.files and len(self.files) >= self.max_files:
            return False
        raw, pieces = self.cost(path, text)
        total = _tokens(self.raw_used + raw, self.pieces + pieces)
        if total > self.budget:
            return False
        return limit is None or total - self.used() <= limit

    def add(self, snippet: Snippet) -> None:
        raw, pieces = self.cost(snippet.path, snippet.text)
        before = self.used()
        self.raw_used += raw
        self.pieces += pieces
        self.files.setdefault(snippet.path, None)
        self.snippets.append(
            Snippet(
                snippet.path,
                snippet.start_line,
                snippet.end_line,
                snippet.text,
                snippet.kind,
                snippet.symbol,
                self.used() - before,
            )
        )


def _tokens(raw: float, pieces: int) -> int:
    """Budget accounting: each piece is estimated on its own, so the sum bounds the joined text."""
    return math.ceil(MARGIN * raw + PER_TEXT * pieces) if pieces else 0


def prune(snapshot: IndexSnapshot, request: ContextRequest) -> ContextResult:
    """Ranked snippets for ``request`` whose estimated tokens never exceed ``request.budget_tokens``."""
    rel = workspace_path(snapshot, request.path)
    if is_secret_path(rel):
        raise ContextError(f"{rel} is a secret file (keys, certificates, .env): it is never sent")
    if grammar_for(rel) is None:
        raise ContextError(f"{rel} is not a TypeScript or JavaScript file")
    if "\x00" in request.text[:8192]:
        raise ContextError(f"{rel} is a binary file")
    lines = request.text.split("\n")
    line, _ = _check_position(rel, lines, request.line, request.character)
    end_line = line
    if request.end_line is not None:
        end_line, _ = _check_position(rel, lines, request.end_line, request.end_character or 0)
        if end_line < line:
            raise ContextError(f"range ends (line {end_line}) before it starts (line {line})")
    options = request.options
    packer = _Packer(max(0, request.budget_tokens), options.max_files)
    if packer.budget <= PER_TEXT * 2:
        return ContextResult((), 0, request.budget_tokens)

    symbols = request.symbols
    if symbols is None:
        source = request.text.encode("utf-8", errors="surrogatepass")
        grammar = grammar_for(rel)
        assert grammar is not None
        symbols = extract(parse(source, grammar), source)
    view = snapshot.with_document(rel, request.text, symbols)

    strategy = options.pruning_strategy
    window_budget = packer.budget if strategy == "current_file" else _window_budget(packer.budget, request.task)
    _add_window(packer, rel, lines, line, end_line, window_budget, symbols)
    if strategy == "current_file":
        return _result(packer, request)
    if strategy == "imports":
        _add_whole_imports(packer, view, rel, symbols)
        return _result(packer, request)

    ranking = _Ranking(view, rel, lines, line, end_line, symbols, request.task, options)
    candidates = ranking.candidates()
    texts = _Texts(view, {rel: split_lines(request.text, lines)})
    for candidate in candidates:
        _place(packer, candidate, texts, options, ranking.near)
    if request.task in ("refactor", "fix", "review"):
        for snippet in _usage_sites(view, rel, symbols, line, end_line, texts):
            if packer.fits(snippet.path, snippet.text, _item_limit(packer)):
                packer.add(snippet)
    if request.task == "tests":
        for snippet in _test_examples(view, rel, texts):
            if packer.fits(snippet.path, snippet.text, _item_limit(packer)):
                packer.add(snippet)
                break
    if packer.budget - packer.used() >= RELATED_MIN_TOKENS:
        for candidate in ranking.related(exclude=set(packer.files)):
            _place(packer, candidate, texts, options, ranking.near)
    return _result(packer, request)


def _result(packer: _Packer, request: ContextRequest) -> ContextResult:
    return ContextResult(tuple(packer.snippets), packer.used(), request.budget_tokens)


def _window_budget(budget: int, task: str) -> int:
    share = WINDOW_SHARE if task == "completion" else 0.5
    return min(int(budget * share), WINDOW_CAP_TOKENS if task == "completion" else 4 * WINDOW_CAP_TOKENS)


def _item_limit(packer: _Packer) -> int:
    return max(int(packer.budget * ITEM_SHARE), 48)


def _add_window(
    packer: _Packer, rel: str, lines: list[str], line: int, end_line: int, budget: int, symbols: FileSymbols
) -> None:
    """Grow a window around [line, end_line]: two lines above for each line below."""
    clean: dict[int, str] = {}

    def at(index: int) -> str:  # redact lazily: only the lines the window considers
        found = clean.get(index)
        if found is None:
            found = clean[index] = redact(lines[index].rstrip("\r"))
        return found

    first, last = line, end_line
    raw = sum(raw_estimate(at(i)) for i in range(first, last + 1)) + W_NEWLINE * (last - first)
    header = raw_estimate(file_header(rel))

    def total(value: float) -> int:
        return _tokens(value + header + W_NEWLINE, 2)  # text + "\n" and the file header

    limit = min(budget, packer.budget)
    while total(raw) > limit and last > first:  # a range larger than the budget: keep its start
        raw -= raw_estimate(at(last)) + W_NEWLINE
        last -= 1
    if total(raw) > limit:
        return
    step = 0
    while first > 0 or last < len(lines) - 1:
        grow_up = first > 0 and (step % 3 != 2 or last >= len(lines) - 1)
        candidate = first - 1 if grow_up else last + 1
        extra = raw_estimate(at(candidate)) + W_NEWLINE
        if total(raw + extra) > limit:
            break
        raw += extra
        first, last = (candidate, last) if grow_up else (first, candidate)
        step += 1
    text = "\n".join(at(i) for i in range(first, last + 1))
    packer.add(Snippet(rel, first, last, text, "cursor"))


def _add_whole_imports(packer: _Packer, view: IndexSnapshot, rel: str, symbols: FileSymbols) -> None:
    """The baseline strategy: whole imported files in import order, the last one cut to fit."""
    seen: set[str] = {rel}
    for index, record in enumerate(symbols.imports):
        if record.kind not in ("import", "require", "dynamic", "side_effect", "reexport", "reexport_all"):
            continue
        target = view.target_of(rel, index)
        if target is None or target in seen:
            continue
        seen.add(target)
        lines = [redact(t.rstrip("\r")) for t in view.text(target).split("\n")]
        last = len(lines) - 1
        while last >= 0 and not packer.fits(target, "\n".join(lines[: last + 1])):
            last = last - max(1, (last + 1) // 8) if last > 64 else last - 1
        if last < 0:
            break
        packer.add(Snippet(target, 0, last, "\n".join(lines[: last + 1]), "related"))
        if last < len(lines) - 1:
            break


class _Texts:
    """Lines of other files, read once per prune call."""

    def __init__(self, view: IndexSnapshot, preloaded: Mapping[str, list[str]] | None = None) -> None:
        self._view = view
        self._lines: dict[str, list[str]] = dict(preloaded or {})

    def lines(self, path: str) -> list[str]:
        found = self._lines.get(path)
        if found is None:
            found = split_lines(self._view.text(path))
            self._lines[path] = found
        return found


def split_lines(text: str, split: list[str] | None = None) -> list[str]:
    """Lines without their ``\r`` (``split``: ``text`` already split on newlines). The per-line strip only
    when the text has a ``\r``: on a 5,000-line file it costs 0.5 ms."""
    lines = split if split is not None else text.split("\n")
    return [t.rstrip("\r") for t in lines] if "\r" in text else lines


def _renderings(
    candidate: _Candidate, texts: _Texts, options: ContextConfig, near: Mapping[str, float]
) -> Iterator[tuple[int, str]]:
    """(start line, text) renderings of a candidate, richest first, made one at a time."""
    d = candidate.definition
    lines = texts.lines(candidate.path)
    full_text = "\n".join(lines[d.start_line : d.end_line + 1]) if d.end_line < len(lines) else d.signature
    out: list[str] = []
    small = d.end_line - d.start_line + 1 <= FULL_TEXT_MAX_LINES
    if candidate.full or (d.kind in ("interface", "type", "enum") and small):
        out.append(full_text)
    out.append(d.signature)
    if d.kind == "class":
        out.append(_class_outline(d, near))
    elif d.kind in ("interface", "type", "enum") and not small:
        head = "\n".join(lines[d.start_line : d.start_line + FULL_TEXT_MAX_LINES]) + "\n  …"
        out.insert(0, head)
    if "\n" in d.signature:
        out.append(d.signature.split("\n", 1)[0].rstrip() + " …")
    start = d.start_line
    doc = ""
    if not options.strip_documentation and d.doc_start_line is not None and d.doc_start_line < d.start_line:
        doc = "\n".join(lines[d.doc_start_line : d.start_line]) + "\n"
        start = d.doc_start_line
    for text in dict.fromkeys(out):
        body = strip_comments(text) if options.strip_documentation else text
        yield start, redact(doc + body)


def _class_outline(d: Definition, near: Mapping[str, float]) -> str:
    """A class with only the members named near the cursor (the rest elided)."""
    head, _, rest = d.signature.partition("\n")
    members = [m for m in rest.split("\n")[:-1] if any(name in near for name in _IDENT.findall(m)[:3])]
    return head + "\n" + "".join(m + "\n" for m in members[:8]) + "  …\n}"


def _place(
    packer: _Packer, candidate: _Candidate, texts: _Texts, options: ContextConfig, near: Mapping[str, float]
) -> None:
    d = candidate.definition
    key = (candidate.path, d.start_line, d.name)
    if key in packer.taken or packer.budget - packer.used() < MIN_SNIPPET_TOKENS:
        return
    if any(
        s.path == candidate.path and s.start_line <= d.start_line and d.end_line <= s.end_line
        for s in packer.snippets
        if s.kind in ("cursor", "usage", "related") and not s.symbol
    ):
        return  # already sent verbatim (inside the cursor window, or a whole file)
    limit = _item_limit(packer)
    for start, text in _renderings(candidate, texts, options, near):
        if packer.fits(candidate.path, text, limit):
            packer.add(Snippet(candidate.path, start, d.end_line, text, candidate.kind, d.qualified))
            packer.taken.add(key)
            return


@lru_cache(maxsize=8192)
def _line_names(text: str) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """A line's distinct identifiers (keywords left out) and ``object.member`` pairs. Memoised: the lines
    around the cursor are the same from one request to the next (the regexes were ~0.4 ms per request)."""
    names = tuple(name for name in dict.fromkeys(_IDENT.findall(text)) if name not in KEYWORDS)
    pairs: tuple[tuple[str, str], ...] = tuple(dict.fromkeys(_MEMBER.findall(text)))
    return names, pairs


class _Ranking:
    """Evidence → scored definitions for one request."""

    def __init__(
        self,
        view: IndexSnapshot,
        rel: str,
        lines: list[str],
        line: int,
        end_line: int,
        symbols: FileSymbols,
        task: str,
        options: ContextConfig,
    ) -> None:
        self.view, self.rel, self.lines, self.line, self.end_line = view, rel, lines, line, end_line
        self.symbols, self.task, self.options = symbols, task, options
        self.enclosing = [d for d in symbols.definitions if d.start_line <= line and end_line <= d.end_line]
        self.near, self.members = self._near()
        self.scores: dict[tuple[str, int, str], _Candidate] = {}

    def _near(self) -> tuple[dict[str, float], dict[tuple[str, str], float]]:
        """Identifier → weight by distance to the cursor; (object, member) pairs the same way."""
        near: dict[str, float] = {}
        members: dict[tuple[str, str], float] = {}
        inside = [(d.start_line, d.end_line) for d in self.enclosing]
        top = max(0, self.line - NEAR_BEFORE)
        bottom = min(len(self.lines), self.end_line + NEAR_AFTER + 1)
        for index in range(top, bottom):
            text = self.lines[index]
            distance = (
                0 if self.line <= index <= self.end_line else min(abs(index - self.line), abs(index - self.end_line))
            )
            weight = 1.0 / (1.0 + distance / 4.0)
            if any(start <= index <= end for start, end in inside):
                weight *= 1.5
            names, pairs = _line_names(text)
            for name in names:
                near[name] = near.get(name, 0.0) + weight
            for pair in pairs:
                members[pair] = members.get(pair, 0.0) + weight
        return near, members

    def _add(self, targets: Iterable[SymbolTarget], score: float, kind: SnippetKind, full: bool = False) -> None:
        for target in targets:
            if target.path == self.rel and kind != "local":
                continue
            key = (target.path, target.definition.start_line, target.definition.name)
            found = self.scores.get(key)
            if found is None:
                self.scores[key] = _Candidate(target.path, target.definition, score, kind, full)
            else:
                found.score += score
                found.full = found.full or full

    def candidates(self) -> list[_Candidate]:
        symbols, view, rel = self.symbols, self.view, self.rel
        usage = symbols.usage_outside_imports
        signature_refs: dict[str, float] = {}
        for d in self.enclosing:  # innermost (members) weigh more than the enclosing class
            for ref in d.refs:
                signature_refs[ref] = max(signature_refs.get(ref, 0.0), 1.0 if d.container else 0.6)
        namespaces: dict[str, str] = {}
        for index, record in enumerate(symbols.imports):
            if record.kind not in ("import", "require", "dynamic"):
                continue
            target = view.target_of(rel, index)
            if target is None:
                continue
            for binding in record.bindings:
                local = binding.local
                if binding.imported == "*":
                    namespaces[local] = target
                    continue
                score = 0.3 + self.near.get(local, 0.0) + signature_refs.get(local, 0.0)
                score += 1.2 if usage.get(local, 0) == 0 else min(usage.get(local, 0), 10) * 0.05
                if binding.type_only and not self.options.include_types:
                    score *= 0.5
                self._add(view.find_export(target, binding.imported), score, "definition")
        for (obj, member), weight in self.members.items():
            target = namespaces.get(obj)
            if target is not None:
                self._add(view.find_export(target, member), 0.3 + weight, "definition")
        for local, target in namespaces.items():
            self._namespace_members(local, target, usage)
        defined_here = symbols.by_name
        in_window = {d.name for d in self.enclosing}
        # Only names seen near the cursor or in the enclosing signatures can score: look those up
        # instead of walking every definition of a large file.
        for name in dict.fromkeys([*self.near, *signature_refs]):
            weight = self.near.get(name, 0.0) + signature_refs.get(name, 0.0)
            if not weight or name in in_window:
                continue
            for d in defined_here.get(name, ()):
                if not (d.start_line <= self.line <= d.end_line):
                    self._add([SymbolTarget(rel, d)], 0.8 * weight, "local", full=self.task == "tests")
        imported = symbols.imported_locals
        for name, weight in self.near.items():  # globals: ambient declarations, script files
            if name in imported or name in defined_here:
                continue
            definers = view.definers.get(name, ())
            if 0 < len(definers) <= 2:
                for path in definers:
                    self._add(view.find_local(path, name), 0.3 * weight / len(definers), "definition")
        ranked = sorted(self.scores.values(), key=_order)
        if self.options.include_types:
            ranked = self._with_types(ranked)
        return ranked

    def _namespace_members(self, local: str, target: str, usage: Mapping[str, int]) -> None:
        """Members of ``import * as ns`` not seen near the cursor: those this file uses elsewhere, and those
        the other importers of the same module use (files that import alike use alike)."""
        view = self.view
        names = module_exports(view.files, view.target_of, target)
        if not names:
            return
        siblings = sorted(view.importers.get(target, frozenset()) - {self.rel})[:SIBLINGS]
        nearness = min(1.0, self.near.get(local, 0.0)) + 0.2
        for name in names:
            here = max(0, usage.get(name, 0))
            shared = sum(1 for s in siblings if name in view.files[s].references) / max(1, len(siblings))
            score = nearness * (0.25 * min(here, 8) ** 0.5 + 0.6 * shared)
            if score > 0.02:
                self._add(view.find_export(target, name), score, "definition")

    def _with_types(self, ranked: list[_Candidate]) -> list[_Candidate]:
        """Add the types named in the signatures of the best candidates, just below their users."""
        extra: dict[tuple[str, int, str], _Candidate] = {}
        known = {(c.path, c.definition.start_line, c.definition.name) for c in ranked}
        for parent in ranked[:30]:
            for ref in parent.definition.refs:
                if ref in KEYWORDS or ref == parent.definition.container:
                    continue
                for target in self.view.find_local(parent.path, ref):
                    if target.definition.kind not in ("interface", "type", "enum", "class"):
                        continue
                    key = (target.path, target.definition.start_line, target.definition.name)
                    if key in known or (target.path == self.rel):
                        continue
                    score = parent.score * 0.35
                    if key not in extra or extra[key].score < score:
                        extra[key] = _Candidate(target.path, target.definition, score, "type")
        return sorted([*ranked, *extra.values()], key=_order)

    def related(self, exclude: set[str]) -> list[_Candidate]:
        """Exported definitions of the files a personalised PageRank puts closest to this one."""
        ranks = personalised_pagerank(self.view, self.rel)
        refs = self.symbols.references
        out: list[_Candidate] = []
        for path, rank in sorted(ranks.items(), key=lambda item: (-item[1], item[0]))[:12]:
            if path == self.rel or path in exclude or path not in self.view.files:
                continue
            for d in self.view.files[path].top_level():
                if d.exported:
                    weight = rank * (1.0 + math.log1p(refs.get(d.name, 0)))
                    out.append(_Candidate(path, d, weight, "related"))
        return sorted(out, key=_order)


def _order(candidate: _Candidate) -> tuple[float, str, int]:
    return (-candidate.score, candidate.path, candidate.definition.start_line)


def _usage_sites(
    view: IndexSnapshot, rel: str, symbols: FileSymbols, line: int, end_line: int, texts: _Texts
) -> list[Snippet]:
    """Where other files use what the range defines (for refactors and fixes)."""
    names = {d.name for d in symbols.top_level() if d.exported and d.start_line <= end_line and line <= d.end_line}
    if not names:
        return []
    snippets: list[Snippet] = []
    for importer in sorted(view.importers.get(rel, ())):
        if is_secret_path(importer):
            continue
        lines = texts.lines(importer)
        for index, text in enumerate(lines):
            if index > 0 and text.lstrip().startswith("import "):
                continue
            if any(re.search(rf"\b{re.escape(n)}\b", text) for n in names) and not text.lstrip().startswith("import"):
                start, end = max(0, index - 2), min(len(lines) - 1, index + 2)
                snippets.append(Snippet(importer, start, end, redact("\n".join(lines[start : end + 1])), "usage"))
                break
    return snippets


def _test_examples(view: IndexSnapshot, rel: str, texts: _Texts) -> list[Snippet]:
    """The head of existing tests of this module (imports, setup, a first case), to write alike."""
    tests = sorted(p for p in view.importers.get(rel, ()) if _TEST_FILE.search(p))
    if not tests:  # tests of sibling modules show the project's test style as well
        directory = rel.rsplit("/", 1)[0] if "/" in rel else ""
        tests = sorted(p for p in view.files if _TEST_FILE.search(p) and p.startswith(directory))[:3]
    snippets = []
    for path in tests:
        lines = texts.lines(path)
        end = min(len(lines), TEST_EXAMPLE_LINES) - 1
        snippets.append(Snippet(path, 0, end, redact("\n".join(lines[: end + 1])), "related"))
    return snippets


def personalised_pagerank(
    view: IndexSnapshot, rel: str, hops: int = 2, limit: int = 200, iterations: int = 15, damping: float = 0.85
) -> dict[str, float]:
    """PageRank restarted at ``rel`` over the import graph around it (both directions, ``hops`` deep).

    Edges follow imports (weight: the number of names imported, square-rooted) and, at half weight,
    point back from an imported file to its importers, so siblings that share dependencies rank too.
    """
    nodes = {rel}
    frontier = {rel}
    for _ in range(hops):
        nxt: set[str] = set()
        for node in frontier:
            nxt.update(t for t in view.targets.get(node, ()) if t is not None)
            nxt.update(view.importers.get(node, ()))
        nxt -= nodes
        if len(nodes) + len(nxt) > limit:
            nxt = set(sorted(nxt)[: max(0, limit - len(nodes))])
        nodes |= nxt
        frontier = nxt
        if not frontier:
            break
    edges: dict[str, dict[str, float]] = {n: {} for n in nodes}
    for node in nodes:
        symbols = view.files.get(node)
        targets = view.targets.get(node, ())
        if symbols is None:
            continue
        for index, target in enumerate(targets):
            if target is None or target not in nodes or target == node:
                continue
            weight = math.sqrt(max(1, len(symbols.imports[index].bindings)))
            edges[node][target] = edges[node].get(target, 0.0) + weight
            edges[target][node] = edges[target].get(node, 0.0) + 0.5 * weight
    rank = {n: 1.0 if n == rel else 0.0 for n in nodes}
    for _ in range(iterations):
        nxt_rank = {n: (1.0 - damping) if n == rel else 0.0 for n in nodes}
        for node, out in edges.items():
            total = sum(out.values())
            if not total:
                nxt_rank[rel] += damping * rank[node]
                continue
            share = damping * rank[node] / total
            for target, weight in out.items():
                nxt_rank[target] += share * weight
        rank = nxt_rank
    return rank
