"""The fill-in-the-middle prompt for a chat model, ordered for prompt caching.

Order, most stable first, so the cached prefix survives as long as possible:

1. ``system_stable`` — fixed instructions, byte-identical for every completion (marked for caching).
2. ``system_dynamic`` — the semi-stable context snippets (the same while the user types in one place).
3. the user message — the file around the cursor: the prefix, the hole marker, the suffix.

The model answers ``<insert>code</insert>``; ``</insert>`` is a stop sequence, so the reply ends the
moment the insertion does, and ``postprocess`` strips the opening tag (and anything before it).
Note: the instructions alone are shorter than the API's minimum cacheable prefix (1,024+ tokens), so a
cache hit needs the client to put a cache breakpoint after the snippets too.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

from ..models.base import Message, ModelRequest

HOLE = "<|cursor|>"
INSERT_OPEN = "<insert>"
INSERT_CLOSE = "</insert>"
STOP_SEQUENCES: tuple[str, ...] = (INSERT_CLOSE,)

PREFIX_BUDGET_CHARS = 6_000  # ~1,500 tokens of code before the cursor
SUFFIX_BUDGET_CHARS = 2_000  # ~500 tokens after it
CONTEXT_BUDGET_CHARS = 4_000  # all context snippets together (the context engine prunes to tokens first)
TASK_TYPE = "inline_completion"

SYSTEM_STABLE = f"""\
You are a code completion engine inside a code editor.
The user message contains one source file. The marker {HOLE} shows the cursor.
Reply with {INSERT_OPEN}, then exactly the text to insert at the cursor, then {INSERT_CLOSE}.

Rules:
- Only code: no explanations, no markdown, no code fences.
- Do not repeat the code before the cursor; start with the first new character.
- Do not repeat the code after the cursor; the inserted text must fit in front of it.
- If the cursor is inside a line, finish that line or expression. Otherwise write the next statement or
  complete the current block; stop at the end of the enclosing block. Keep it short.
- Match the file's indentation, quotes, semicolons and naming style.
- Use only names that exist in the file or in the given context, or that the code plainly needs.
- If nothing sensible can be inserted, reply {INSERT_OPEN}{INSERT_CLOSE}.
"""


def _trim_prefix(prefix: str, budget: int) -> str:
    """The last ``budget`` characters, cut at a line start (keep the lines nearest the cursor)."""
    if len(prefix) <= budget:
        return prefix
    window = prefix[-budget:]
    newline = window.find("\n")
    if newline < 0 or newline == len(window) - 1:
        return window  # the cursor line alone is longer than the budget: keep its tail
    return window[newline + 1 :]


def _trim_suffix(suffix: str, budget: int) -> str:
    """The first ``budget`` characters, cut at a line end."""
    if len(suffix) <= budget:
        return suffix
    window = suffix[:budget]
    newline = window.rfind("\n")
    if newline <= 0:
        return window
    return window[:newline]


def _snippets_block(snippets: Sequence[tuple[str, str]], budget: int) -> str:
    parts: list[str] = []
    left = budget
    for path, text in snippets:
        text = text.strip("\n")
        if not text or left <= 0:
            continue
        if len(text) > left:
            newline = text.rfind("\n", 0, left)
            left = 0  # the budget is spent after this one
            if newline <= 0:
                continue  # not even one whole line fits: a fragment would mislead
            text = text[:newline]
        else:
            left -= len(text)
        parts.append(f'<snippet path="{path}">\n{text}\n</snippet>')
    if not parts:
        return ""
    return "Code from the workspace that the file uses:\n" + "\n".join(parts)


def _scrub(text: str) -> str:
    # A literal marker in the file would confuse the model about where the cursor is.
    return text.replace(HOLE, "<| cursor |>")


def build_completion_request(
    *,
    path: str,
    language_id: str,
    prefix: str,
    suffix: str,
    context_snippets: Sequence[tuple[str, str]],
    model: str,
    max_tokens: int,
    deadline_s: float | None,
    prefix_budget: int = PREFIX_BUDGET_CHARS,
    suffix_budget: int = SUFFIX_BUDGET_CHARS,
    context_budget: int = CONTEXT_BUDGET_CHARS,
) -> ModelRequest:
    """One fill-in-the-middle request. Interactive: no retries (the deadline covers everything)."""
    before = _scrub(_trim_prefix(prefix, prefix_budget))
    after = _scrub(_trim_suffix(suffix, suffix_budget))
    user = f'<file path="{path}" language="{language_id}">\n{before}{HOLE}{after}\n</file>'
    # The pruned context changes little between keystrokes near one spot, so it joins the cached prefix:
    # the instructions alone are far below the API's minimum cacheable length.
    snippets = _snippets_block(context_snippets, context_budget)
    return ModelRequest(
        model=model,
        messages=(Message("user", user),),
        max_tokens=max_tokens,
        system_stable=SYSTEM_STABLE + ("\n\n" + snippets if snippets else ""),
        stop_sequences=STOP_SEQUENCES,
        deadline_s=deadline_s,
        max_retries=0,
        tags={"task_type": TASK_TYPE},
    )


def prompt_key(request: ModelRequest) -> str:
    """A stable hash of exactly what is sent (not the deadline or tags): the completion cache's key."""
    content = [
        request.model,
        request.system_stable,
        request.system_dynamic,
        [[m.role, m.text] for m in request.messages],
        request.max_tokens,
        list(request.stop_sequences),
    ]
    encoded = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    return hashlib.sha256(encoded).hexdigest()


# --- fallback context: imports and the enclosing headers --------------------------------------------

_IMPORT_START = re.compile(r"(import\b|export\s+(\*|\{[^}]*\}?\s*)\s*from\b|export\s+\*)")
_PREAMBLE = re.compile(r"(//|/\*|\*|['\"]use \w+['\"]|#!)")
_HEADER = re.compile(
    r"(export\s+)?(default\s+)?(declare\s+)?(abstract\s+)?"
    r"(async\s+)?(function\b|class\b|interface\b|enum\b|namespace\b|module\b|"
    r"((public|private|protected|static|readonly|override|async|get|set|\*)\s+)*"
    r"(?!(if|for|while|switch|catch|with|return|await|typeof|new)\b)[\w$#]+\s*(<[^>]*>)?\s*\(|"
    r"(const|let|var)\s+[\w$]+\s*(:[^=]+)?=\s*(async\s+)?(function\b|\())"
)
_MAX_IMPORT_LINES = 300


def _imports(text: str) -> list[tuple[int, str]]:
    """``(offset, statement)`` for the import block at the top of the file."""
    found: list[tuple[int, str]] = []
    offset = 0
    lines = 0
    current: list[str] = []
    current_start = 0
    while offset < len(text) and lines < _MAX_IMPORT_LINES:
        end = text.find("\n", offset)
        end = len(text) if end < 0 else end
        line = text[offset:end].rstrip("\r")
        stripped = line.strip()
        lines += 1
        if current:
            current.append(line)
            if re.search(r"""(from\s*['"][^'"]*['"]|^['"][^'"]*['"])\s*;?\s*$""", stripped) or stripped.endswith(";"):
                found.append((current_start, "\n".join(current)))
                current = []
        elif _IMPORT_START.match(stripped):
            if re.search(r"""['"][^'"]*['"]\s*;?\s*$""", stripped):
                found.append((offset, line))
            else:
                current, current_start = [line], offset
        elif stripped and not _PREAMBLE.match(stripped):
            break  # the first statement after the import block
        offset = end + 1
    return found


def until_enclosing_scope(text: str, offset: int, *, window_chars: int = PREFIX_BUDGET_CHARS) -> str:
    """Context for when the context engine is not available: imports and enclosing headers.

    Only what the prompt's own prefix window (the last ``window_chars`` before the cursor) does not
    already show is returned: the import block, then the header line of each enclosing class, function
    or method, outermost first. Text-only (indentation based), so it costs no parse.
    """
    offset = max(0, min(offset, len(text)))
    window_start = offset - window_chars
    parts = [stmt for at, stmt in _imports(text) if at < window_start]

    headers: list[str] = []
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", line_start)
    cursor_line = text[line_start : len(text) if line_end < 0 else line_end]
    current = len(cursor_line) - len(cursor_line.lstrip(" \t")) if cursor_line.strip() else offset - line_start
    position = line_start - 1
    while position > 0 and current > 0:
        start = text.rfind("\n", 0, position) + 1
        line = text[start:position].rstrip("\r")
        position = start - 1
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" \t"))
        if indent >= current:
            continue
        current = indent
        if start < window_start and _HEADER.match(line.strip()):
            headers.append(line.rstrip())
    headers.reverse()
    if headers:
        parts.append("// enclosing scope (bodies omitted)\n" + "\n".join(headers))
    return "\n".join(parts)
