"""Completions served without a model call, and running streams reused instead of started again.

Three mechanisms, all pure bookkeeping (the caller supplies the clock):

* ``CompletionCache.get/put`` — LRU + TTL (cachetools ``TTLCache``) keyed on ``prompt_key``: the exact
  same prompt gets the same answer. An empty string is a valid value ("the model had nothing").
* ``CompletionCache.remember_shown/forward`` — forward typing: when the user types the first characters of a
  suggestion that was shown, the rest of it is served. A position is recognised by an ``Anchor``: the
  prefix's length and last 200 characters, and the suffix's length and first 200 characters. Comparing
  those is O(typed + 200) whatever the file size; an edit far from the cursor that keeps both lengths is
  not noticed, which is harmless for a suggestion that depends on the text near the cursor.
* ``InFlight`` — a request still streaming whose prefix plus what the user typed since is the new
  prefix (same suffix), when the typed characters agree with what has streamed so far.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from cachetools import TTLCache

from ..config import CompletionConfig

ANCHOR_CHARS = 200
MAX_TYPED_CHARS = 256  # beyond this, a new position is not treated as "typing into" an old one

H = TypeVar("H")
Timer = Callable[[], float]


@dataclass(frozen=True)
class Anchor:
    """A cursor position in a document, recognisable in O(ANCHOR_CHARS)."""

    prefix_len: int
    prefix_tail: str
    suffix_len: int
    suffix_head: str

    @classmethod
    def at(cls, prefix: str, suffix: str) -> Anchor:
        return cls(len(prefix), prefix[-ANCHOR_CHARS:], len(suffix), suffix[:ANCHOR_CHARS])

    def typed_since(self, prefix: str, suffix: str, max_typed: int = MAX_TYPED_CHARS) -> str | None:
        """The characters typed since this position, when ``prefix`` extends it and the suffix is the same."""
        typed_len = len(prefix) - self.prefix_len
        if typed_len < 0 or typed_len > max_typed:
            return None
        if len(suffix) != self.suffix_len or not suffix.startswith(self.suffix_head):
            return None
        end = self.prefix_len
        if prefix[max(0, end - len(self.prefix_tail)) : end] != self.prefix_tail:
            return None
        return prefix[end:]


@dataclass
class _Shown:
    anchor: Anchor
    text: str
    expires_at: float


class CompletionCache:
    def __init__(
        self,
        maxsize: int,
        ttl_s: float,
        *,
        timer: Timer = time.monotonic,
        recent_per_document: int = 8,
        documents: int = 64,
    ) -> None:
        self._ttl_s = ttl_s
        self._timer = timer
        # cachetools refuses any item when maxsize is 0: treat that as "cache off".
        self._by_prompt: TTLCache[str, str] | None = (
            TTLCache(maxsize=maxsize, ttl=ttl_s, timer=timer) if maxsize > 0 else None
        )
        self._recent_per_document = recent_per_document
        self._documents = documents
        self._shown: OrderedDict[str, deque[_Shown]] = OrderedDict()

    @classmethod
    def from_config(cls, config: CompletionConfig, *, timer: Timer = time.monotonic) -> CompletionCache:
        return cls(config.cache_size, config.cache_ttl_s, timer=timer)

    # -- by prompt --

    def get(self, key: str) -> str | None:
        """The completion cached for this prompt key (possibly ``""``), or None on a miss."""
        if self._by_prompt is None:
            return None
        return self._by_prompt.get(key)

    def put(self, key: str, completion: str) -> None:
        if self._by_prompt is not None:
            self._by_prompt[key] = completion

    # -- forward typing --

    def remember_shown(self, uri: str, prefix: str, suffix: str, completion: str) -> None:
        """Record a suggestion shown at this position (the prefix/suffix it was computed for), for ``forward``."""
        if not completion:
            return
        recent = self._shown.get(uri)
        if recent is None:
            recent = deque(maxlen=self._recent_per_document)
            self._shown[uri] = recent
            if len(self._shown) > self._documents:
                self._shown.popitem(last=False)
        else:
            self._shown.move_to_end(uri)
        recent.append(_Shown(Anchor.at(prefix, suffix), completion, self._timer() + self._ttl_s))

    def forward(self, uri: str, prefix: str, suffix: str) -> str | None:
        """The rest of a recent suggestion whose first characters the user has typed since, or None."""
        recent = self._shown.get(uri)
        if not recent:
            return None
        now = self._timer()
        for shown in reversed(recent):  # the most recent first
            if shown.expires_at <= now:
                continue
            typed = shown.anchor.typed_since(prefix, suffix, max_typed=len(shown.text) - 1)
            if typed is not None and shown.text.startswith(typed):
                rest = shown.text[len(typed) :]
                if rest.strip():
                    return rest
        return None

    def forget(self, uri: str) -> None:
        """Drop a document's suggestions (on close)."""
        self._shown.pop(uri, None)

    def clear(self) -> None:
        if self._by_prompt is not None:
            self._by_prompt.clear()
        self._shown.clear()


@dataclass
class _Running(Generic[H]):
    anchor: Anchor
    handle: H
    streamed: str = field(default="")


class InFlight(Generic[H]):
    """Running completion requests, by document, so a request the user is typing into can be reused.

    The service registers a handle (a task, a future — anything) when a request starts, feeds
    ``update`` with the text streamed so far (``strip_stream_preamble`` of the raw stream), and
    unregisters it when the stream ends. ``find_extending`` returns ``(handle, typed)``: await that
    handle's text and drop ``typed`` from its start.
    """

    def __init__(self, max_typed: int = MAX_TYPED_CHARS) -> None:
        self._max_typed = max_typed
        self._running: dict[str, list[_Running[H]]] = {}

    def register(self, uri: str, prefix: str, suffix: str, handle: H) -> None:
        self._running.setdefault(uri, []).append(_Running(Anchor.at(prefix, suffix), handle))

    def update(self, handle: H, streamed: str) -> None:
        for runs in self._running.values():
            for run in runs:
                if run.handle is handle:
                    run.streamed = streamed
                    return

    def unregister(self, uri: str, handle: H) -> None:
        kept = [run for run in self._running.get(uri, []) if run.handle is not handle]
        if kept:
            self._running[uri] = kept
        else:
            self._running.pop(uri, None)

    def handles(self, uri: str) -> list[H]:
        """The running requests for a document, oldest first (e.g. to cancel them)."""
        return [run.handle for run in self._running.get(uri, [])]

    def find_extending(self, uri: str, prefix: str, suffix: str) -> tuple[H, str] | None:
        """A running request at this position, or one whose prefix the user has typed past consistently.

        Consistent: the typed characters start the text streamed so far, or — when more was typed than
        has streamed — the streamed text starts the typed characters (the rest is checked by the caller
        once the stream ends). ``typed`` may be empty: the very same request is already running.
        """
        for run in reversed(self._running.get(uri, [])):  # the most recent first
            typed = run.anchor.typed_since(prefix, suffix, self._max_typed)
            if typed is None:
                continue
            streamed = run.streamed
            if streamed.startswith(typed) or typed.startswith(streamed):
                return run.handle, typed
        return None
