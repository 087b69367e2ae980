"""Deterministic token counting and prompt-cache accounting for the fake Messages API.

The tokenizer is not Claude's; it only has to be stable, cheap and roughly 4 characters per token so
budgets in tests behave like the real thing. Joining the pieces gives the text back exactly, which is
what lets the fake stream one token per ``text_delta``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# A word piece of at most 4 word characters with one optional leading whitespace character, a single
# punctuation mark with one optional leading whitespace character, or a run of whitespace.
_PIECE = re.compile(r"\s?\w{1,4}|\s?[^\w\s]|\s+")

_TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


def tokenize(text: str) -> list[str]:
    """Split ``text`` into pieces whose concatenation is ``text``."""
    return _PIECE.findall(text)


def count_tokens(text: str) -> int:
    return len(_PIECE.findall(text))


@dataclass(frozen=True)
class PromptBlock:
    """One cacheable unit of a request (a tool, a system block or a message content block)."""

    canonical: str  # what identifies the block for caching (JSON without cache_control)
    tokens: int
    cache_ttl_s: float | None  # set when the block carries cache_control (a breakpoint)


@dataclass(frozen=True)
class InputUsage:
    input_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    ephemeral_5m_input_tokens: int
    ephemeral_1h_input_tokens: int

    @property
    def total(self) -> int:
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens


def _ttl_of(cache_control: object) -> float | None:
    if not isinstance(cache_control, Mapping):
        return None
    return _TTL_SECONDS.get(str(cache_control.get("ttl", "5m")), 300.0)


def _canonical(prefix: str, block: Mapping[str, Any]) -> str:
    stripped = {k: v for k, v in block.items() if k != "cache_control"}
    return prefix + json.dumps(stripped, sort_keys=True, ensure_ascii=False)


def _block_tokens(block: Mapping[str, Any]) -> int:
    text = block.get("text")
    if block.get("type") == "text" and isinstance(text, str):
        return count_tokens(text)
    stripped = {k: v for k, v in block.items() if k != "cache_control"}
    return count_tokens(json.dumps(stripped, sort_keys=True, ensure_ascii=False))


def _blocks_of(prefix: str, content: object) -> list[PromptBlock]:
    if isinstance(content, str):
        block = {"type": "text", "text": content}
        return [PromptBlock(_canonical(prefix, block), count_tokens(content), None)]
    if not isinstance(content, Sequence):
        return []
    return [
        PromptBlock(_canonical(prefix, b), _block_tokens(b), _ttl_of(b.get("cache_control")))
        for b in content
        if isinstance(b, Mapping)
    ]


def prompt_blocks(body: Mapping[str, Any]) -> list[PromptBlock]:
    """The request's prompt in the API's cache order: tools, then system, then messages."""
    blocks: list[PromptBlock] = []
    tools = body.get("tools")
    if isinstance(tools, Sequence):
        blocks.extend(_blocks_of("tool:", tools))
    blocks.extend(_blocks_of("system:", body.get("system", [])))
    messages = body.get("messages")
    if isinstance(messages, Sequence):
        for message in messages:
            if isinstance(message, Mapping):
                blocks.extend(_blocks_of(f"{message.get('role')}:", message.get("content")))
    top_level = _ttl_of(body.get("cache_control"))
    if top_level is not None and blocks and blocks[-1].cache_ttl_s is None:
        # Top-level cache_control marks the last cacheable block, as the API documents.
        last = blocks[-1]
        blocks[-1] = PromptBlock(last.canonical, last.tokens, top_level)
    return blocks


def count_prompt_tokens(body: Mapping[str, Any]) -> int:
    return sum(b.tokens for b in prompt_blocks(body))


class PromptCache:
    """Which prompt prefixes are cached, per model, with the API's TTL refreshed on every hit."""

    def __init__(self, min_cacheable_tokens: int = 0) -> None:
        self.min_cacheable_tokens = min_cacheable_tokens
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._expiry.clear()

    def account(self, model: str, blocks: Sequence[PromptBlock], now: float) -> InputUsage:
        """Split the prompt into read / written / uncached tokens and update the cache."""
        total = sum(b.tokens for b in blocks)
        digest = hashlib.sha256(model.encode())
        cumulative = 0
        breakpoints: list[tuple[str, int, float]] = []  # (prefix key, tokens up to it, ttl)
        for block in blocks:
            digest.update(b"\0" + block.canonical.encode())
            cumulative += block.tokens
            if block.cache_ttl_s is not None and cumulative >= max(self.min_cacheable_tokens, 1):
                breakpoints.append((digest.hexdigest(), cumulative, block.cache_ttl_s))
        if not breakpoints:
            return InputUsage(total, 0, 0, 0, 0)
        with self._lock:
            hit = -1
            for i, (key, _, _) in enumerate(breakpoints):
                if self._expiry.get(key, float("-inf")) > now:
                    hit = i
            read = breakpoints[hit][1] if hit >= 0 else 0
            written = {300.0: 0, 3600.0: 0}
            previous = read
            for key, upto, ttl in breakpoints:
                self._expiry[key] = now + ttl
                if upto > previous:
                    written[ttl if ttl in written else 300.0] += upto - previous
                    previous = upto
        creation = written[300.0] + written[3600.0]
        return InputUsage(total - read - creation, creation, read, written[300.0], written[3600.0])
