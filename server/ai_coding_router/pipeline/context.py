"""Context for a background task: ranked snippets within the token budget and the facts routing needs.

``ContextProvider`` is a plain callable ``(task, document_text, budget_tokens) -> ContextBundle``; it runs
in a worker thread. ``EngineContext`` uses the context engine (index, ``prune``, ``impact``); when the engine
cannot serve the request the pipeline falls back to ``fallback_context``: the target file alone, redacted,
and facts from its path — routing still works, only less informed.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import ContextConfig
from ..routing import TaskFacts
from .spec import TaskSpec

if TYPE_CHECKING:
    from ..context.index import WorkspaceIndex

log = logging.getLogger(__name__)

_TEST_FILE = re.compile(r"(^|/)(__tests__|tests?)/|\.(test|spec)\.[cm]?[jt]sx?$")
_SECURITY_PATH = re.compile(
    r"(?i)auth|login|passw|credential|secret|token|session|cookie|crypt|jwt|oauth|permission|acl|admin|payment"
)
# The pruner's task vocabulary for each task kind.
_PRUNE_TASK = {"security-review": "review", "architecture": "refactor", "quick_fix": "fix"}


@dataclass(frozen=True)
class ContextSnippet:
    path: str
    start_line: int  # 0-based
    end_line: int  # inclusive
    text: str
    kind: str  # cursor | local | definition | type | usage | related | file
    symbol: str = ""
    verbatim: bool = False  # the exact lines of the file (may be quoted in SEARCH); else an outline


@dataclass(frozen=True)
class ScopeFacts:
    """What the context engine says about the change's reach (``ImpactFacts``, engine-independent)."""

    symbols: tuple[str, ...] = ()
    direct_references: int = 0
    transitive_references: int = 0
    referencing_modules: int = 0
    security_reasons: tuple[str, ...] = ()
    is_test: bool = False


@dataclass(frozen=True)
class ContextBundle:
    snippets: tuple[ContextSnippet, ...]
    tokens: int
    facts: ScopeFacts
    engine: str  # "context engine" or "fallback: <why>"
    total_lines: int = 0  # lines of the target file

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.path for s in self.snippets))


ContextProvider = Callable[[TaskSpec, str, int], ContextBundle]


def selection_lines(task: TaskSpec, text: str) -> tuple[int, int]:
    """The 0-based first and last line of the task's selection (the whole file without a range)."""
    last = max(0, text.count("\n") - (1 if text.endswith("\n") else 0))
    if task.range is None:
        return 0, last
    start = min(max(0, task.range.start_line), last)
    return start, min(max(start, task.range.last_line), last)


def _lines(text: str) -> list[str]:
    return [line.rstrip("\r") for line in text.split("\n")]


def _verbatim(snippet_text: str, file_lines: list[str] | None, start: int, end: int) -> bool:
    if file_lines is None or end >= len(file_lines) or start < 0:
        return False
    return snippet_text == "\n".join(file_lines[start : end + 1])


class EngineContext:
    """The context engine behind the provider interface. Indexes each workspace root once (in the calling
    thread), then reuses the index; the LSP layer may pass its own live index instead (``indexes``)."""

    def __init__(self, options: ContextConfig | None = None, *, use_cache: bool = True) -> None:
        self._options = options or ContextConfig()
        self._use_cache = use_cache
        self._indexes: dict[Path, WorkspaceIndex] = {}
        self._lock = threading.Lock()

    def use_index(self, index: WorkspaceIndex) -> None:
        """Serve its root from an index someone else keeps up to date (the server's live index)."""
        with self._lock:
            self._indexes[index.root] = index

    def _index(self, root: Path) -> WorkspaceIndex:
        from ..context.index import WorkspaceIndex

        root = root.resolve()
        with self._lock:
            index = self._indexes.get(root)
            if index is None:
                index = WorkspaceIndex.open(root, use_cache=self._use_cache)
                self._indexes[root] = index
            return index

    def __call__(self, task: TaskSpec, text: str, budget_tokens: int) -> ContextBundle:
        from ..context.impact import impact
        from ..context.prune import ContextRequest, prune

        index = self._index(task.root)
        snapshot = index.snapshot()
        first, last = selection_lines(task, text)
        request = ContextRequest(
            path=task.file, text=text, line=first, character=0, end_line=last, end_character=0,
            task=_PRUNE_TASK.get(task.kind, task.kind), budget_tokens=budget_tokens, options=self._options,
        )
        result = prune(snapshot, request)
        facts = impact(snapshot, task.file, first, last)
        own = _lines(text)
        cache: dict[str, list[str] | None] = {task.file: own}

        def lines_of(rel: str) -> list[str] | None:
            if rel not in cache:
                body = task.documents.get(rel)
                if body is None:
                    try:
                        body = (task.root / rel).read_text(encoding="utf-8")
                    except (OSError, UnicodeDecodeError):
                        body = None
                cache[rel] = None if body is None else _lines(body)
            return cache[rel]

        snippets = tuple(
            ContextSnippet(s.path, s.start_line, s.end_line, s.text, s.kind, s.symbol,
                           _verbatim(s.text, lines_of(s.path), s.start_line, s.end_line))
            for s in result.snippets
        )
        return ContextBundle(
            snippets, result.tokens,
            ScopeFacts(facts.symbols, facts.direct_references, facts.transitive_references,
                       facts.referencing_modules, facts.security_reasons, facts.is_test),
            "context engine", len(own),
        )


def fallback_context(task: TaskSpec, text: str, budget_tokens: int, why: str) -> ContextBundle:
    """The target file alone (a window around the selection when it is too large), redacted."""
    from ..context.redact import redact
    from ..context.tokens import estimate_tokens

    lines = _lines(text)
    first, last = selection_lines(task, text)
    # Grow the window until it fills half the budget (the rest is for the model's answer and prompts).
    limit = max(256, budget_tokens // 2)
    lo, hi = first, last
    while (lo > 0 or hi < len(lines) - 1) and estimate_tokens("\n".join(lines[lo : hi + 1])) < limit:
        lo, hi = max(0, lo - 10), min(len(lines) - 1, hi + 10)
    window = "\n".join(lines[lo : hi + 1])
    clean = redact(window)
    snippet = ContextSnippet(task.file, lo, hi, clean, "file", "", clean == window)
    reasons = tuple(f"path mentions {m.group(0).lower()}" for m in _SECURITY_PATH.finditer(task.file))[:1]
    facts = ScopeFacts(is_test=bool(_TEST_FILE.search(task.file)), security_reasons=reasons)
    return ContextBundle((snippet,), estimate_tokens(clean), facts, f"fallback: {why}", len(lines))


def gather_context(provider: ContextProvider | None, task: TaskSpec, text: str, budget_tokens: int) -> ContextBundle:
    """The provider's bundle, or the fallback when it is missing or fails (context is an aid, not a gate)."""
    if provider is None:
        return fallback_context(task, text, budget_tokens, "no context engine")
    try:
        return provider(task, text, budget_tokens)
    except Exception as error:  # any engine failure: route and generate with less context
        log.warning("context engine failed for %s: %s", task.file, error)
        return fallback_context(task, text, budget_tokens, f"the context engine failed: {error}")


def task_facts(task: TaskSpec, bundle: ContextBundle, text: str) -> TaskFacts:
    first, last = selection_lines(task, text)
    facts = bundle.facts
    return TaskFacts(
        task_id=task.task_id,
        kind=task.kind,
        path=task.file,
        symbols=facts.symbols,
        direct_references=facts.direct_references,
        transitive_references=facts.transitive_references,
        referencing_modules=facts.referencing_modules,
        context_files=len(bundle.files),
        security_reasons=facts.security_reasons,
        selection_lines=last - first + 1,
        is_test_file=facts.is_test,
    )
