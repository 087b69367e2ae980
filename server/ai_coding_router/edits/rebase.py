"""Rebase a job's result onto the text the user has now: a three-way merge on lines.

This is the primary rebase method. It needs only three texts the server already holds (the snapshot the
job started from, the current document, the job's result) and, unlike replaying the client's change log
(``changelog.py``), it stays correct when the client sent a full-document sync, when positions in the log
were out of range and clamped, when a change split a ``\\r\\n`` pair, or when the user typed and undid:
edits are computed against the real current text, so they always apply where intended.

Guarantee (by construction, checked by a property test): the edits only touch lines of ``now`` that the
user did not change since ``base``. Lines the user added or changed are never inside an edit, so nothing
the user typed is lost. A job hunk that overlaps a user hunk, or inserts at the same point as one, holds
the whole result back (an all-or-nothing apply, the user is told) — half a refactor is worse than none.
"""

from __future__ import annotations

from dataclasses import dataclass

from .diff import LineHunk, line_hunks
from .positions import LineIndex, PositionEncoding, split_eol, split_lines
from .textedits import TextEdit, trim_replacement


@dataclass(frozen=True)
class Conflict:
    """A job hunk that meets a user hunk. Line ranges are 0-based, end-exclusive, in the base text."""

    job_lines: tuple[int, int]
    user_lines: tuple[int, int]

    def describe(self) -> str:
        def show(r: tuple[int, int]) -> str:
            if r[0] == r[1]:
                return f"an insertion before line {r[0] + 1}"
            return f"line {r[1]}" if r[1] - r[0] == 1 else f"lines {r[0] + 1}-{r[1]}"

        return f"the result changes {show(self.job_lines)}, where you edited {show(self.user_lines)}"


@dataclass(frozen=True)
class RebaseResult:
    """Edits against the current text, or the conflicts that held the result back."""

    edits: tuple[TextEdit, ...]
    text: str | None  # the current text with ``edits`` applied; None when held back
    conflicts: tuple[Conflict, ...]

    @property
    def held_back(self) -> bool:
        return bool(self.conflicts)


def _meets(user: LineHunk, job: LineHunk) -> bool:
    # Overlapping line ranges conflict; so do two insertions at the same point (their order is unknowable).
    # A pure insertion at the edge of the other side's range does not: its place is well defined.
    if user.a_start < job.a_end and job.a_start < user.a_end:
        return True
    return user.a_start == user.a_end == job.a_start == job.a_end


def _glued_to(job: LineHunk, o: list[str], u: list[str], n_start: int, n_end: int,
              user_hunks: list[LineHunk]) -> LineHunk | None:
    """The user hunk that would run together with the job's lines on one line, if any.

    Only possible at the end of the document: the user removed the final line break (or typed on the
    last, empty line) where the job appends lines, or the job's last line has no break and the user
    appended lines after it.
    """
    new = o[job.b_start : job.b_end]
    if not new:
        return None
    if n_start == len(u) and u and not split_eol(u[-1])[1]:
        return next((h for h in reversed(user_hunks) if h.a_end <= job.a_start), user_hunks[-1])
    if not split_eol(new[-1])[1] and n_end < len(u):
        return next((h for h in user_hunks if h.a_start >= job.a_end), user_hunks[-1])
    return None


def rebase_text(base: str, now: str, ours: str, *, encoding: PositionEncoding = "utf-16",
                annotation_id: str | None = None) -> RebaseResult:
    """Edits that bring the job's changes (``base`` -> ``ours``) onto ``now`` (``base`` + the user's edits).

    When ``now == base`` this is simply the diff ``base`` -> ``ours``.
    """
    if now == ours:
        return RebaseResult((), now, ())
    a, u, o = split_lines(base), split_lines(now), split_lines(ours)
    user_hunks = line_hunks(a, u)
    job_hunks = line_hunks(a, o)

    conflicts: list[Conflict] = []
    todo: list[LineHunk] = []
    for job in job_hunks:
        hit = [h for h in user_hunks if _meets(h, job)]
        # The user may already have made exactly this change (typed it, or applied it before).
        if len(hit) == 1 and (hit[0].a_start, hit[0].a_end) == (job.a_start, job.a_end) \
                and u[hit[0].b_start : hit[0].b_end] == o[job.b_start : job.b_end]:
            continue
        conflicts.extend(Conflict((job.a_start, job.a_end), (h.a_start, h.a_end)) for h in hit)
        todo.append(job)
    if conflicts:
        return RebaseResult((), None, tuple(conflicts))

    u_starts = [0]
    for line in u:
        u_starts.append(u_starts[-1] + len(line))
    o_starts = [0]
    for line in o:
        o_starts.append(o_starts[-1] + len(line))
    index = LineIndex(now, encoding)
    spans: list[tuple[int, int, str]] = []
    for job in todo:
        # Shift by the line count change of every user hunk that lies wholly before this job hunk.
        before = [h for h in user_hunks if h.a_end <= job.a_start]
        n_start = job.a_start + sum((h.b_end - h.b_start) - (h.a_end - h.a_start) for h in before)
        n_end = n_start + (job.a_end - job.a_start)
        if u[n_start:n_end] != a[job.a_start : job.a_end]:  # pragma: no cover - impossible by construction
            raise AssertionError("rebase mapped a job hunk onto lines the user changed")
        glued = _glued_to(job, o, u, n_start, n_end, user_hunks)
        if glued is not None:
            conflicts.append(Conflict((job.a_start, job.a_end), (glued.a_start, glued.a_end)))
            continue
        s, e, text = trim_replacement(now, u_starts[n_start], u_starts[n_end],
                                      ours[o_starts[job.b_start] : o_starts[job.b_end]])
        if s != e or text:
            spans.append((s, e, text))
    if conflicts:
        return RebaseResult((), None, tuple(conflicts))
    spans.sort(key=lambda t: (t[0], t[1]))
    out: list[str] = []
    pos = 0
    for s, e, text in spans:
        out.append(now[pos:s])
        out.append(text)
        pos = e
    out.append(now[pos:])
    edits = tuple(TextEdit(index.range(s, e), text, annotation_id) for s, e, text in spans)
    return RebaseResult(edits, "".join(out), ())
