"""Prompt cache (LRU + TTL), forward typing, and in-flight stream reuse — with an injected clock."""

from __future__ import annotations

from ai_coding_router.completion.cache import Anchor, CompletionCache, InFlight
from ai_coding_router.config import CompletionConfig


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


PREFIX = "import { a } from './a';\n" * 40 + "function f(items: number[]) {\n  const total = "
SUFFIX = "\n}\n" + "export const z = 1;\n" * 40
URI = "file:///w/src/app.ts"


# --- by prompt ---------------------------------------------------------------------------------------


def test_hit_and_miss() -> None:
    cache = CompletionCache(8, 60.0, timer=Clock())
    assert cache.get("k1") is None
    cache.put("k1", "items.length;")
    assert cache.get("k1") == "items.length;"
    assert cache.get("k2") is None


def test_an_empty_answer_is_cached_too() -> None:
    cache = CompletionCache(8, 60.0, timer=Clock())
    cache.put("k", "")
    assert cache.get("k") == ""


def test_entries_expire_after_the_ttl() -> None:
    clock = Clock()
    cache = CompletionCache(8, 60.0, timer=clock)
    cache.put("k", "x")
    clock.now += 59.0
    assert cache.get("k") == "x"
    clock.now += 2.0
    assert cache.get("k") is None


def test_least_recently_used_is_evicted() -> None:
    cache = CompletionCache(2, 60.0, timer=Clock())
    cache.put("a", "1")
    cache.put("b", "2")
    assert cache.get("a") == "1"  # "b" is now the least recently used
    cache.put("c", "3")
    assert cache.get("b") is None
    assert cache.get("a") == "1" and cache.get("c") == "3"


def test_size_zero_turns_the_prompt_cache_off() -> None:
    cache = CompletionCache(0, 60.0, timer=Clock())
    cache.put("k", "x")
    assert cache.get("k") is None


def test_from_config() -> None:
    clock = Clock()
    cache = CompletionCache.from_config(CompletionConfig(cache_size=1, cache_ttl_s=5.0), timer=clock)
    cache.put("a", "1")
    cache.put("b", "2")
    assert cache.get("a") is None
    clock.now += 6.0
    assert cache.get("b") is None


# --- forward typing ----------------------------------------------------------------------------------


def _remembered(clock: Clock | None = None) -> CompletionCache:
    cache = CompletionCache(8, 60.0, timer=clock or Clock())
    cache.remember_shown(URI, PREFIX, SUFFIX, "items.reduce((a, b) => a + b, 0);")
    return cache


def test_typing_the_start_of_a_suggestion_serves_the_rest() -> None:
    cache = _remembered()
    assert cache.forward(URI, PREFIX + "items.red", SUFFIX) == "uce((a, b) => a + b, 0);"
    assert cache.forward(URI, PREFIX, SUFFIX) == "items.reduce((a, b) => a + b, 0);"  # back at the start


def test_typing_something_else_misses() -> None:
    cache = _remembered()
    assert cache.forward(URI, PREFIX + "items.map", SUFFIX) is None
    assert cache.forward(URI, PREFIX[:-1], SUFFIX) is None  # deleted a character


def test_a_different_suffix_misses() -> None:
    cache = _remembered()
    assert cache.forward(URI, PREFIX + "items", SUFFIX + "x") is None  # length differs
    changed = "\n};\n" + SUFFIX[4:]
    assert cache.forward(URI, PREFIX + "items", changed[: len(SUFFIX)]) is None  # head differs


def test_an_edit_just_before_the_old_cursor_misses() -> None:
    cache = _remembered()
    edited = PREFIX.replace("const total = ", "const count = ")  # same length, inside the anchor's tail
    assert cache.forward(URI, edited + "items", SUFFIX) is None


def test_typing_the_whole_suggestion_leaves_nothing_to_serve() -> None:
    cache = _remembered()
    assert cache.forward(URI, PREFIX + "items.reduce((a, b) => a + b, 0);", SUFFIX) is None


def test_another_document_or_an_expired_suggestion_misses() -> None:
    clock = Clock()
    cache = _remembered(clock)
    assert cache.forward("file:///w/other.ts", PREFIX + "items", SUFFIX) is None
    clock.now += 61.0
    assert cache.forward(URI, PREFIX + "items", SUFFIX) is None


def test_the_most_recent_matching_suggestion_wins_and_forget_drops_them() -> None:
    cache = _remembered()
    cache.remember_shown(URI, PREFIX, SUFFIX, "items.length;")
    assert cache.forward(URI, PREFIX + "items.", SUFFIX) == "length;"
    assert cache.forward(URI, PREFIX + "items.r", SUFFIX) == "educe((a, b) => a + b, 0);"  # the older one
    cache.forget(URI)
    assert cache.forward(URI, PREFIX + "items.", SUFFIX) is None


def test_anchor_typed_since() -> None:
    anchor = Anchor.at(PREFIX, SUFFIX)
    assert anchor.typed_since(PREFIX + "abc", SUFFIX) == "abc"
    assert anchor.typed_since(PREFIX + "x" * 300, SUFFIX) is None  # too far: not typing into it
    assert anchor.typed_since("short", SUFFIX) is None


# --- in-flight streams -------------------------------------------------------------------------------


class Handle:
    """Stands for whatever the service registers (a task)."""


def test_the_same_position_finds_the_running_request() -> None:
    inflight: InFlight[Handle] = InFlight()
    handle = Handle()
    inflight.register(URI, PREFIX, SUFFIX, handle)
    assert inflight.find_extending(URI, PREFIX, SUFFIX) == (handle, "")


def test_typing_along_the_stream_finds_it_with_the_typed_characters() -> None:
    inflight: InFlight[Handle] = InFlight()
    handle = Handle()
    inflight.register(URI, PREFIX, SUFFIX, handle)
    inflight.update(handle, "items.reduce((a")
    assert inflight.find_extending(URI, PREFIX + "items.re", SUFFIX) == (handle, "items.re")
    # More typed than streamed so far: cannot tell yet, the caller checks the final text.
    assert inflight.find_extending(URI, PREFIX + "items.reduce((a, b)", SUFFIX) == (handle, "items.reduce((a, b)")


def test_typing_against_the_stream_or_elsewhere_misses() -> None:
    inflight: InFlight[Handle] = InFlight()
    handle = Handle()
    inflight.register(URI, PREFIX, SUFFIX, handle)
    inflight.update(handle, "items.reduce(")
    assert inflight.find_extending(URI, PREFIX + "items.map", SUFFIX) is None
    assert inflight.find_extending(URI, PREFIX + "items", SUFFIX + "\n") is None
    assert inflight.find_extending("file:///w/other.ts", PREFIX, SUFFIX) is None


def test_unregistered_requests_are_not_found_and_the_newest_wins() -> None:
    inflight: InFlight[Handle] = InFlight()
    old, new = Handle(), Handle()
    inflight.register(URI, PREFIX, SUFFIX, old)
    inflight.register(URI, PREFIX + "it", SUFFIX, new)
    assert inflight.handles(URI) == [old, new]
    assert inflight.find_extending(URI, PREFIX + "ite", SUFFIX) == (new, "e")
    inflight.unregister(URI, new)
    assert inflight.find_extending(URI, PREFIX + "ite", SUFFIX) == (old, "ite")
    inflight.unregister(URI, old)
    assert inflight.find_extending(URI, PREFIX + "ite", SUFFIX) is None
    assert inflight.handles(URI) == []
