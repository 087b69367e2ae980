"""Helpers shared by the tool checks: paths and positions in tool output, and the baseline cache."""

from __future__ import annotations

import asyncio
import os
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import replace
from pathlib import Path
from typing import Generic, TypeVar

from .base import Finding, Position, Range

T = TypeVar("T")
_EOL = re.compile(r"\r\n|\r|\n")
_WORD = re.compile(r"[A-Za-z0-9_$]+")


def relative_path(reported: str, overlay: Path | str) -> str:
    """A tool's path (relative to the overlay, or absolute) as a workspace-relative POSIX path.

    Paths outside the overlay (a package's realpath, say) are returned unchanged.
    """
    base = str(overlay)
    path = reported if os.path.isabs(reported) else os.path.normpath(os.path.join(base, reported))
    for root in {base, os.path.realpath(base)}:
        if path == root:
            return ""
        if path.startswith(root + os.sep):
            return path[len(root) + 1:].replace(os.sep, "/")
    return reported.replace(os.sep, "/")


def scrub(text: str, overlay: Path | str, workspace: Path | str) -> str:
    """Replace scratch-copy paths in a message with the workspace's, so messages compare and read well."""
    for root in sorted({str(overlay), os.path.realpath(str(overlay))}, key=len, reverse=True):
        text = text.replace(root, str(workspace))
    return text


def read_report(path: Path) -> str:
    """A tool's report file (small: read inline rather than in a thread)."""
    return path.read_text(encoding="utf-8")


def utf16_to_index(line: str, character: int) -> int:
    """Python string index of a UTF-16 column within ``line``."""
    if line.isascii():
        return min(character, len(line))
    units = 0
    for index, ch in enumerate(line):
        if units >= character:
            return index
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(line)


def utf16_length(text: str) -> int:
    return len(text) if text.isascii() else sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def widen_to_token(finding: Finding, text: str | None) -> Finding:
    """Give a point finding (tsc reports only a start) the extent of the word it points at."""
    if text is None or finding.range.start != finding.range.end:
        return finding
    lines = _EOL.split(text)
    start = finding.range.start
    if start.line >= len(lines):
        return finding
    line = lines[start.line]
    index = utf16_to_index(line, start.character)
    match = _WORD.match(line, index)
    length = utf16_length(match.group()) if match else (1 if index < len(line) else 0)
    end = Position(start.line, start.character + length)
    return replace(finding, range=Range(start, end))


class BaselineCache(Generic[T]):
    """Results of the unedited workspace, keyed on its content fingerprint and the tool; LRU-bounded.

    Concurrent jobs asking for the same key wait for one computation instead of running the tool twice.
    """

    # Every edit makes a new fingerprint, so old states are rarely asked for again, and one tsc baseline of
    # a project with many errors is ~1 MB of findings: 64 of them grew the soak's memory by tens of MB.
    def __init__(self, size: int = 8) -> None:
        self._values: OrderedDict[Hashable, T] = OrderedDict()
        self._pending: dict[Hashable, asyncio.Future[T | None]] = {}
        self._size = size

    def peek(self, key: Hashable) -> T | None:
        return self._values.get(key)

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[tuple[T, bool]]]) -> T:
        """The cached value, or ``compute()``'s (cached only when it says so: failures are not kept)."""
        while True:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            pending = self._pending.get(key)
            if pending is None:
                break
            await asyncio.shield(pending)
            if key not in self._values:
                break  # the other computation failed or was not cacheable: compute our own
        future: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            value, cacheable = await compute()
            if cacheable:
                self._values[key] = value
                while len(self._values) > self._size:
                    self._values.popitem(last=False)
            return value
        finally:
            self._pending.pop(key, None)
            if not future.done():
                future.set_result(None)
