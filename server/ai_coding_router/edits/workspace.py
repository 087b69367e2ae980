"""A workspace edit as plain data: versioned document changes, file creations, change annotations.

The LSP layer turns a ``WorkspaceChange`` into ``workspace/applyEdit`` params; ``to_lsp()`` gives the JSON
shape directly (``documentChanges`` form), so that conversion is one call and nothing here imports pygls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .positions import PositionEncoding, Range
from .rebase import rebase_text
from .textedits import TextEdit, text_edits


@dataclass(frozen=True)
class ChangeAnnotation:
    label: str
    needs_confirmation: bool = False  # the client asks the user before applying (security/architecture)
    description: str | None = None


@dataclass(frozen=True)
class CreateFile:
    """Create an empty file; refused by the client if it exists (so a file the user made is never replaced)."""

    uri: str
    annotation_id: str | None = None
    overwrite: bool = False
    ignore_if_exists: bool = False


@dataclass(frozen=True)
class DocumentChange:
    """Edits to one document. ``version`` is the version they were computed against (the client refuses
    them if the document moved on); None only for a file created in the same workspace change."""

    uri: str
    version: int | None
    edits: tuple[TextEdit, ...]


@dataclass(frozen=True)
class WorkspaceChange:
    changes: tuple[CreateFile | DocumentChange, ...]  # in order: a file is created before it is edited
    annotations: Mapping[str, ChangeAnnotation] = field(default_factory=dict)
    label: str | None = None  # shown by the client (undo stack, preview title)

    @property
    def is_empty(self) -> bool:
        return not any(isinstance(c, CreateFile) or c.edits for c in self.changes)

    def to_lsp(self) -> dict[str, Any]:
        """``ApplyWorkspaceEditParams`` as JSON (camelCase, ``documentChanges``)."""
        def rng(r: Range) -> dict[str, Any]:
            return {"start": {"line": r.start.line, "character": r.start.character},
                    "end": {"line": r.end.line, "character": r.end.character}}

        def edit(e: TextEdit) -> dict[str, Any]:
            out: dict[str, Any] = {"range": rng(e.range), "newText": e.new_text}
            if e.annotation_id is not None:
                out["annotationId"] = e.annotation_id
            return out

        doc_changes: list[dict[str, Any]] = []
        for c in self.changes:
            if isinstance(c, CreateFile):
                op: dict[str, Any] = {"kind": "create", "uri": c.uri,
                                      "options": {"overwrite": c.overwrite, "ignoreIfExists": c.ignore_if_exists}}
                if c.annotation_id is not None:
                    op["annotationId"] = c.annotation_id
                doc_changes.append(op)
            else:
                doc_changes.append({"textDocument": {"uri": c.uri, "version": c.version},
                                    "edits": [edit(e) for e in c.edits]})
        ws: dict[str, Any] = {"documentChanges": doc_changes}
        if self.annotations:
            ws["changeAnnotations"] = {
                k: {"label": a.label, "needsConfirmation": a.needs_confirmation}
                | ({"description": a.description} if a.description else {})
                for k, a in self.annotations.items()
            }
        params: dict[str, Any] = {"edit": ws}
        if self.label:
            params["label"] = self.label
        return params

    def without_annotations(self) -> WorkspaceChange:
        """For clients without ``changeAnnotationSupport``: the same change, annotations dropped."""
        stripped: list[CreateFile | DocumentChange] = []
        for c in self.changes:
            if isinstance(c, CreateFile):
                stripped.append(CreateFile(c.uri, None, c.overwrite, c.ignore_if_exists))
            else:
                stripped.append(DocumentChange(c.uri, c.version,
                                               tuple(TextEdit(e.range, e.new_text) for e in c.edits)))
        return WorkspaceChange(tuple(stripped), {}, self.label)


@dataclass(frozen=True)
class FileUpdate:
    """One file of a job's result.

    ``old_text`` is the text the job started from (None: the job creates the file). If the user changed
    the document since, ``current_text`` is its text now and ``version`` the version of that text;
    otherwise ``current_text`` stays None and ``version`` is the version of ``old_text`` (None for a
    file that is not open in the editor).
    """

    uri: str
    old_text: str | None
    new_text: str
    version: int | None = None
    current_text: str | None = None


@dataclass(frozen=True)
class ChangePlan:
    """The workspace change to send, or why the result is held back (descriptions by URI)."""

    change: WorkspaceChange  # empty when held back
    conflicts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def held_back(self) -> bool:
        return bool(self.conflicts)


ANNOTATION_ID = "aiCodingRouter.result"


def plan_workspace_change(updates: Sequence[FileUpdate], *, label: str, needs_confirmation: bool = False,
                          description: str | None = None, annotation_id: str = ANNOTATION_ID,
                          encoding: PositionEncoding = "utf-16") -> ChangePlan:
    """Versioned edits for every file of a result, rebased onto the user's current text where it moved.

    All or nothing: if one file's result overlaps what the user typed (or a file to create appeared
    meanwhile), nothing is sent and ``conflicts`` says why, so the result can be kept for a later apply.
    Every edit and creation carries one annotation (``needs_confirmation`` for security/architecture).
    """
    changes: list[CreateFile | DocumentChange] = []
    conflicts: dict[str, tuple[str, ...]] = {}
    for u in updates:
        if u.old_text is None:
            if u.current_text is not None:
                conflicts[u.uri] = ("the file was created in the meantime",)
                continue
            changes.append(CreateFile(u.uri, annotation_id))
            if u.new_text:
                changes.append(DocumentChange(u.uri, None,
                                              (TextEdit(Range.at(0, 0), u.new_text, annotation_id),)))
            continue
        if u.current_text is None or u.current_text == u.old_text:
            edits = tuple(text_edits(u.old_text, u.new_text, encoding=encoding, annotation_id=annotation_id))
        else:
            rebased = rebase_text(u.old_text, u.current_text, u.new_text, encoding=encoding,
                                  annotation_id=annotation_id)
            if rebased.held_back:
                conflicts[u.uri] = tuple(c.describe() for c in rebased.conflicts)
                continue
            edits = rebased.edits
        if edits:
            changes.append(DocumentChange(u.uri, u.version, edits))
    annotation = ChangeAnnotation(label, needs_confirmation, description)
    if conflicts:
        return ChangePlan(WorkspaceChange((), {}, label), conflicts)
    return ChangePlan(WorkspaceChange(tuple(changes), {annotation_id: annotation}, label))
