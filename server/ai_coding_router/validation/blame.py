"""Which findings did the edit introduce? Pure functions, no I/O.

A finding after the edit is pre-existing when the unedited workspace had the same finding (same file,
code and message) at the same place, once lines are mapped through the edit (a line-level diff of each
changed file). What is left is then matched by count: if the file had two such findings before and has
two after, none is new, even when the edit moved them. The rest is what the edit introduced.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence

from .base import Finding

FindingKey = Callable[[Finding], Hashable]
_EOL = re.compile(r"\r\n|\r|\n")  # LSP line ends; str.splitlines knows more


def default_key(finding: Finding) -> Hashable:
    return (finding.path, finding.code, finding.message)


def by_test_name(finding: Finding) -> Hashable:
    # A test that failed before and fails after is not blamed, whatever its assertion says now.
    return (finding.path, finding.code)


def line_map(old_text: str, new_text: str) -> dict[int, int]:
    """New line number → old line number, for lines the edit left untouched.

    Common leading and trailing lines are mapped directly; only the middle goes through difflib, so a
    small edit in a 5,000-line file costs little.
    """
    old_lines = _EOL.split(old_text)
    new_lines = _EOL.split(new_text)
    limit = min(len(old_lines), len(new_lines))
    head = 0
    while head < limit and old_lines[head] == new_lines[head]:
        head += 1
    tail = 0
    while tail < limit - head and old_lines[-1 - tail] == new_lines[-1 - tail]:
        tail += 1
    mapping = {i: i for i in range(head)}
    for i in range(tail):
        mapping[len(new_lines) - 1 - i] = len(old_lines) - 1 - i
    old_mid = old_lines[head:len(old_lines) - tail]
    new_mid = new_lines[head:len(new_lines) - tail]
    if old_mid and new_mid:
        matcher = difflib.SequenceMatcher(None, old_mid, new_mid, autojunk=False)
        for block in matcher.get_matching_blocks():
            for offset in range(block.size):
                mapping[head + block.b + offset] = head + block.a + offset
    return mapping


def introduced(
    after: Sequence[Finding],
    before: Sequence[Finding],
    *,
    old_texts: Mapping[str, str | None],
    new_texts: Mapping[str, str | None],
    key: FindingKey = default_key,
    use_positions: bool = True,
) -> list[Finding]:
    """The findings in ``after`` that ``before`` does not account for.

    ``old_texts``/``new_texts`` hold the changed files only; other files keep their line numbers.
    """
    if not before:
        return list(after)
    remaining: dict[Hashable, list[Finding]] = defaultdict(list)
    for finding in before:
        remaining[key(finding)].append(finding)

    maps: dict[str, dict[int, int]] = {}

    def old_line(finding: Finding) -> int | None:
        path = finding.path
        if path not in new_texts:
            return finding.range.start.line
        new_text, old_text = new_texts[path], old_texts.get(path)
        if new_text is None or old_text is None:
            return None  # a new (or recreated) file: no line is the same
        if path not in maps:
            maps[path] = line_map(old_text, new_text)
        return maps[path].get(finding.range.start.line)

    unmatched: list[Finding] = []
    if use_positions:
        for finding in after:
            pool = remaining[key(finding)]
            if not pool:
                unmatched.append(finding)
                continue
            line = old_line(finding)
            hit = next(
                (
                    i
                    for i, old in enumerate(pool)
                    if line is not None
                    and old.range.start.line == line
                    and old.range.start.character == finding.range.start.character
                ),
                None,
            )
            if hit is None:
                unmatched.append(finding)
            else:
                pool.pop(hit)
    else:
        unmatched = list(after)

    new: list[Finding] = []
    for finding in unmatched:
        pool = remaining[key(finding)]
        if pool:
            pool.pop(0)  # moved, or on an edited line, but the same problem as before
        else:
            new.append(finding)
    return new
