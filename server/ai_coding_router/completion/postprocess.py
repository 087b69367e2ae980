"""Turn a model reply into the text to insert at the cursor — or None when nothing usable remains.

``clean_completion`` runs these steps in order (each is a small pure function below):

1. **extract** — keep what follows ``<insert>`` and precedes ``</insert>``; else take the body of the first
   markdown fence (when only prose precedes it) or cut at a fence that follows code; drop leading
   assistant prose ("Here is the code:") and trailing commentary ("This completes the loop.").
2. **hole marker** — if the model echoed ``<|cursor|>``, keep what follows it when what precedes it
   repeats the end of the prefix; otherwise just delete the marker.
3. **whitespace** — no leading blank lines or doubled indentation when the cursor sits after indentation;
   no doubled space after ``x = ``.
4. **echoed prefix** — the model repeating the current line (or up to 5 lines) before the cursor.
5. **repetition** — the same line or block of up to 6 lines repeated 3+ times: keep the first copy; a
   token n-gram looping until the output ends (4+ times, 12+ tokens): cut where the loop repeats.
6. **block end** — stop after the line where the completion closes a bracket it did not open (it has
   left the block the cursor is in).
7. **overlap with the suffix** — variants without the completion's tail that repeats the suffix's head:
   line-aware (the last lines equal the next lines after the cursor) and character-level (``a)`` before
   an auto-closed ``)``). The syntax rule chooses between the variants and the original.
8. **syntax** (TypeScript/TSX/JavaScript only), on the region around the cursor (see ``syntax``):

   *The rule.* Let ``B`` be the error count (ERROR + MISSING nodes) of the region with nothing inserted.
   Among the variants of step 7, take the one whose full text leaves the fewest errors (ties: the
   overlap-free variant first); if that count is ``<= B`` return it. Otherwise, for each variant in that
   preference order, try its cuts from longest to shortest — the end of every line, and on the first
   line the end of each statement (after ``;`` or ``}``) and the point just before a bracket that closes
   one the prefix opened (the end of the expression the cursor is in) — and return the first cut that
   leaves ``<= B`` errors: the longest clean cut. If no cut is clean, the completion is accepted only
   as *unfinished* code: among the candidates that add no hard error (ERROR, or MISSING anything but a
   closing delimiter) and leave at most ``FALLBACK_MAX_UNCLOSED`` (2) more brackets open, return the
   one that adds the fewest errors, the longest on a tie (all of it is right so far, so more is more
   help — a ``for (...) {`` body cut by ``max_tokens``). Anything else (``return x +;``) gives None.

Finally, empty or whitespace-only results are None. Everything works on bounded slices of the prefix and
suffix, so the cost does not grow with the file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import islice

from .prompt import HOLE, INSERT_CLOSE, INSERT_OPEN
from .syntax import SyntaxJudge, bracket_events, grammar_for_language

FALLBACK_MAX_UNCLOSED = 2  # the most brackets an unfinished completion may leave open and still be shown
MAX_CUTS = 16  # parses spent searching for a clean cut, at most (each ~50-150 µs); 128 tokens ≈ 15 lines
ECHO_MAX_LINES = 5  # how far back an echoed prefix may start
ECHO_MIN_CHARS = 3  # shorter "echoes" are coincidences
MAX_PERIOD_LINES = 6  # longest repeated block of lines that is detected
MIN_LINE_REPEATS = 3
TOKEN_LOOP_MAX_N = 16  # longest looping unit, in tokens
TOKEN_LOOP_MIN_REPEATS = 4
TOKEN_LOOP_MIN_TOKENS = 12
_NEAR_CHARS = 2_000  # characters of prefix/suffix looked at by the text steps

# --- 1. extraction ----------------------------------------------------------------------------------

_FENCE = re.compile(r"^\s*(```|~~~)[\w+#.-]*\s*$")
_CODE_CHARS = re.compile(r"[;{}=()\[\]]")
_LEADING_PROSE = re.compile(
    r"^\s*(here('s| is| are)\b|sure\b|certainly\b|of course\b|okay\b|ok[,!.]|great[,!.]|"
    r"below is\b|the (completed |missing |following |updated )?(code|completion|implementation|snippet)\b|"
    r"this (code|completion|snippet|will|completes)\b|i('ve| have| will|'ll| would| can)\b|"
    r"to complete\b|you can\b|let me\b|based on\b)",
    re.IGNORECASE,
)
_TRAILING_PROSE = re.compile(
    r"^\s*(this|these|that|the above|note|explanation|i('ve| have| added)|it)\b.*[.!:]\s*$", re.IGNORECASE
)


def _is_prose(line: str, pattern: re.Pattern[str] = _LEADING_PROSE) -> bool:
    # Narrow on purpose: a false positive deletes real code (or JSX text), a miss is cut by the syntax rule.
    return pattern.match(line) is not None and _CODE_CHARS.search(line.rstrip(":.!")) is None


def _strip_fences(text: str) -> str:
    lines = text.split("\n")
    fences = [i for i, line in enumerate(lines) if _FENCE.match(line)]
    if not fences:
        return text
    first = fences[0]
    if all(not line.strip() or _is_prose(line) for line in lines[:first]):
        end = next((i for i in fences if i > first), len(lines))
        return "\n".join(lines[first + 1 : end])
    return "\n".join(lines[:first])  # code, then a fence: what follows is commentary


def _strip_prose(text: str) -> str:
    lines = text.split("\n")
    start = 0
    i = 0
    while i < len(lines) and (not lines[i].strip() or _is_prose(lines[i])):
        if lines[i].strip():
            start = i + 1
        i += 1
    if start:
        while start < len(lines) and not lines[start].strip():
            start += 1  # the blank line between the prose and the code is not part of the insertion
    end = len(lines)
    j = len(lines) - 1
    while j >= start and (not lines[j].strip() or _is_prose(lines[j], _TRAILING_PROSE)):
        if lines[j].strip():
            end = j
        j -= 1
    return "\n".join(lines[start:end])


def _strip_partial_close(text: str) -> str:
    """A stream cut mid-way through ``</insert>`` ends with a piece of it."""
    for size in range(len(INSERT_CLOSE) - 1, 1, -1):
        if text.endswith(INSERT_CLOSE[:size]):
            return text[:-size]
    return text


def extract_insertion(raw: str, *, partial: bool = False) -> str:
    """The code part of a reply: tags, fences and assistant prose removed."""
    text = raw.replace("\r\n", "\n")
    if INSERT_OPEN in text:
        text = text.split(INSERT_OPEN, 1)[1]
    if INSERT_CLOSE in text:
        text = text.split(INSERT_CLOSE, 1)[0]
    elif partial:
        text = _strip_partial_close(text)
    return _strip_prose(_strip_fences(text.replace(INSERT_OPEN, "")))


def strip_stream_preamble(raw: str) -> str:
    """What a partially streamed reply will insert, cheaply: for comparing with what the user typed."""
    text = raw.replace("\r\n", "\n")
    if INSERT_OPEN in text:
        text = text.split(INSERT_OPEN, 1)[1]
    elif INSERT_OPEN.startswith(text):
        return ""  # the tag itself is still arriving
    if INSERT_CLOSE in text:
        text = text.split(INSERT_CLOSE, 1)[0]
    return _strip_partial_close(text.replace(INSERT_OPEN, ""))


# --- 2-4. marker, whitespace, echo ------------------------------------------------------------------


def _near_prefix(prefix: str) -> str:
    return prefix[-_NEAR_CHARS:].replace("\r\n", "\n")


def _near_suffix(suffix: str) -> str:
    return suffix[:_NEAR_CHARS].replace("\r\n", "\n")


def _strip_hole(text: str, near_prefix: str) -> str:
    if HOLE not in text:
        return text
    before, after = text.split(HOLE, 1)
    after = after.replace(HOLE, "")
    squeezed = re.sub(r"\s+", "", before)
    if not squeezed or re.sub(r"\s+", "", near_prefix).endswith(squeezed):
        return after  # the model echoed the file up to the cursor
    return before + after


def _fix_leading_whitespace(text: str, line_head: str) -> str:
    if not text:
        return text
    if not line_head.strip():
        # The cursor is at the start of a line or after its indentation: a leading newline would leave a
        # blank line, and re-indentation doubles what the user already typed.
        text = text.lstrip("\n")
        lead = len(text) - len(text.lstrip(" \t"))
        return text[min(lead, len(line_head)) :]
    if line_head.endswith((" ", "\t")):
        return text.lstrip(" \t")
    return text


def strip_echoed_prefix(text: str, prefix: str) -> str:
    """Drop a repeat of the text before the cursor (from the start of one of the last few lines)."""
    near = _near_prefix(prefix)
    body = text.lstrip(" \t")
    starts: list[int] = []
    position = len(near)
    for _ in range(ECHO_MAX_LINES):
        line_start = near.rfind("\n", 0, position) + 1
        starts.append(line_start)
        if line_start == 0:
            break
        position = line_start - 1
    for line_start in reversed(starts):  # the longest echo first
        first = line_start + len(near[line_start:]) - len(near[line_start:].lstrip(" \t"))
        echo = near[first:]
        if len(echo.strip()) >= ECHO_MIN_CHARS and body.startswith(echo):
            return body[len(echo) :]
    return text


# --- 5-6. repetition and block end ------------------------------------------------------------------


def _trivial(line: str) -> bool:
    return all(ch in "{}()[];," for ch in line)


def _cut_token_loop(text: str) -> str:
    """Cut a run of tokens with a short period that lasts to the end: the model was looping."""
    tokens = list(re.finditer(r"[A-Za-z_$][\w$]*|\d+|\S", text))
    values = [m.group() for m in tokens]
    count = len(values)
    for n in range(1, TOKEN_LOOP_MAX_N + 1):
        i = count - n - 1
        while i >= 0 and values[i] == values[i + n]:
            i -= 1
        start = i + 1  # the periodic run is values[start:], possibly ending part-way through a period
        span = count - start
        if span >= TOKEN_LOOP_MIN_REPEATS * n and span >= TOKEN_LOOP_MIN_TOKENS:
            return text[: tokens[start + n].start()].rstrip()
    return text


def cut_repetition(text: str) -> str:
    """Keep one copy of a line or block that repeats 3+ times; cut a token loop that runs to the end."""
    lines = text.split("\n")
    keys = [line.strip() for line in lines]
    for i in range(len(keys)):
        for period in range(1, MAX_PERIOD_LINES + 1):
            if i + period * MIN_LINE_REPEATS > len(keys):
                break
            block = keys[i : i + period]
            if all(_trivial(key) for key in block):
                continue  # "}" three times is closing nested blocks, not a loop
            reps = 1
            while keys[i + reps * period : i + (reps + 1) * period] == block:
                reps += 1
            if reps >= MIN_LINE_REPEATS:
                return "\n".join(lines[: i + period])
    return _cut_token_loop(text)


def cut_at_block_end(text: str) -> str:
    """Stop after the line on which the completion closes a bracket that the prefix opened."""
    for index, _char, depth in bracket_events(text):
        if depth < 0:
            newline = text.find("\n", index)
            return text if newline < 0 else text[:newline]
    return text


# --- 7. overlap with the suffix ---------------------------------------------------------------------


def _line_overlap(text: str, near_suffix: str) -> str | None:
    """Drop the completion's last lines when they are the lines that follow the cursor."""
    suffix_lines = near_suffix.split("\n")
    if suffix_lines[0].strip():
        return None  # the cursor line continues: character overlap handles it
    lines = text.split("\n")
    filled = [i for i, line in enumerate(lines) if line.strip()]
    # Only as many following lines as the completion has: the near suffix is ~150 lines, a reply one or two.
    following = list(islice((line.strip() for line in suffix_lines[1:] if line.strip()), len(filled)))
    for k in range(min(len(filled), len(following)), 0, -1):
        tail = [lines[i].strip() for i in filled[-k:]]
        if tail == following[:k]:
            return "\n".join(lines[: filled[-k]]).rstrip()
    return None


def _char_overlap(text: str, near_suffix: str) -> str | None:
    """Drop the completion's tail that equals the suffix's head (``a)`` typed before an auto-closed ``)``)."""
    head = near_suffix[: len(text)]
    if not text or not head:
        return None
    last = text[-1]
    for k in range(len(head), 0, -1):
        if head[k - 1] != last or not text.endswith(head[:k]):
            continue
        # Even mid-word: before "Value;" the reply "newValue" means "new" (the model sees the suffix).
        return text[: len(text) - k].rstrip()
    return None


def overlap_variants(text: str, suffix: str) -> list[str]:
    """The completion without its overlap with the suffix (line-aware first), then the original."""
    near = _near_suffix(suffix)
    variants: list[str] = []
    for variant in (_line_overlap(text, near), _char_overlap(text, near), text):
        if variant is not None and variant not in variants:
            variants.append(variant)
    return variants


# --- 8. syntax --------------------------------------------------------------------------------------


def cut_points(text: str) -> list[str]:
    """Shorter candidates, longest first: line ends; on the first line, statement and expression ends."""
    cuts: set[str] = set()
    newline = text.find("\n")
    while newline >= 0:
        cuts.add(text[:newline].rstrip())
        newline = text.find("\n", newline + 1)
    first_line_end = text.find("\n")
    first_line_end = len(text) if first_line_end < 0 else first_line_end
    for index, char, depth in bracket_events(text):
        if index >= first_line_end:
            break
        if depth < 0:
            cuts.add(text[:index].rstrip())  # the end of the expression the cursor is in
            break
        if char in ";}" and depth <= 0:
            cuts.add(text[: index + 1])
    cuts.discard(text)
    ordered = sorted((cut for cut in cuts if cut.strip()), key=len, reverse=True)
    return ordered[-MAX_CUTS:]


def _choose(variants: Sequence[str], judge: SyntaxJudge) -> str | None:
    base = judge.base_errors.total
    scored = [(judge.errors_with(variant).total, order) for order, variant in enumerate(variants)]
    errors, order = min(scored)
    if errors <= base:
        return variants[order]
    tried: list[str] = list(variants)
    for variant in variants:
        if not variant.strip():
            continue
        for cut in cut_points(variant):
            if judge.added_errors(cut) <= 0:
                return cut  # the longest clean cut of the most preferred variant
            tried.append(cut)
    # Nothing is clean. Unfinished code (only closing brackets missing) is still worth showing.
    unfinished = [
        text
        for text in tried
        if text.strip()
        and judge.only_unclosed_added(text)
        and judge.added_errors(text) <= FALLBACK_MAX_UNCLOSED
    ]
    if not unfinished:
        return None
    return min(unfinished, key=lambda text: (judge.added_errors(text), -len(text)))


# --- the pipeline -----------------------------------------------------------------------------------

_BOUNDARY_CHARS = ";,)]}"


def ends_at_boundary(text: str) -> bool:
    return bool(text) and (text[-1] in "\n \t" or text[-1] in _BOUNDARY_CHARS)


def _trim_to_boundary(text: str) -> str:
    """A partial stream's text up to its last line or token boundary."""
    if ends_at_boundary(text):
        return text
    cut = max(text.rfind("\n"), *(text.rfind(ch) + 1 for ch in _BOUNDARY_CHARS))
    return text[: max(cut, 0)]


def clean_completion(
    raw: str, *, prefix: str, suffix: str, language_id: str, partial: bool = False
) -> str | None:
    """The text to insert at the cursor, or None. See the module docstring for the steps and the rule.

    ``partial=True`` is for a stream stopped by the deadline: a half-received ``</insert>`` and the
    incomplete last token or line are dropped first; the rest is the same.
    """
    near_prefix = _near_prefix(prefix)
    line_head = near_prefix[near_prefix.rfind("\n") + 1 :]
    text = extract_insertion(raw, partial=partial)
    if partial:
        text = _trim_to_boundary(text)
    text = _strip_hole(text, near_prefix)
    text = _fix_leading_whitespace(text, line_head)
    text = strip_echoed_prefix(text, prefix)
    text = cut_repetition(text)
    text = cut_at_block_end(text).rstrip()
    if not text.strip():
        return None
    variants = overlap_variants(text, suffix)
    grammar = grammar_for_language(language_id)
    if grammar is None:
        chosen: str | None = variants[0]
    else:
        chosen = _choose(variants, SyntaxJudge(prefix, suffix, grammar))
    if chosen is None or not chosen.strip():
        return None
    return chosen


def warm_syntax_base(prefix: str, suffix: str, language_id: str) -> None:
    """Parse the region around the cursor with nothing inserted, ahead of a reply for it.

    The count is cached (``SyntaxJudge``): done while the model is still answering, cleaning the reply
    costs one parse instead of two.
    """
    grammar = grammar_for_language(language_id)
    if grammar is not None:
        SyntaxJudge(prefix, suffix, grammar)


def clean_partial(raw: str, *, prefix: str, suffix: str, language_id: str) -> str | None:
    """What is usable from a stream stopped by the deadline: ``clean_completion(..., partial=True)``."""
    return clean_completion(raw, prefix=prefix, suffix=suffix, language_id=language_id, partial=True)


def is_usable_prefix(
    text: str, *, prefix: str | None = None, suffix: str | None = None, language_id: str | None = None
) -> bool:
    """Whether a partial reply, as streamed so far, is worth returning when the budget runs out.

    It must end at a line or token boundary (a newline, whitespace, or one of ``; , ) ] }``): its last
    token is complete. Given the document (``prefix``, ``suffix``, ``language_id``) it must also survive
    ``clean_partial`` — the same cleaning and syntax rule as a finished reply.
    Without them only the boundary is checked. ``clean_partial`` returns the usable text itself.
    """
    code = strip_stream_preamble(text)
    if not ends_at_boundary(code):
        return False
    if prefix is None or suffix is None or language_id is None:
        return bool(code.strip())
    return clean_partial(text, prefix=prefix, suffix=suffix, language_id=language_id) is not None
