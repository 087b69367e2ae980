"""Result -> versioned workspace edits, without losing a character the user typed. Pure Python.

    positions   LSP positions (UTF-16 by default), line splitting on \\r\\n, \\n, \\r only
    textedits   text_edits(old, new) minimal edits; apply_text_edits
    rebase      rebase_text(base, now, ours): three-way line merge onto the user's current text (primary)
    changelog   map_edits_through_changes: the same through the didChange log (secondary);
                apply_content_changes: didChange events applied with LSP line rules
    workspace   plan_workspace_change(FileUpdate...) -> ChangePlan: WorkspaceChange (rebased) or conflicts
    paths       file URI <-> path, resolve_in_workspace (symlink-safe), write_text_inside
"""

from .changelog import ContentChange, MappedEdits, apply_content_changes, map_edits_through_changes
from .paths import (
    FORBIDDEN_DIRS,
    PathRefused,
    WorkspacePath,
    is_inside_workspace,
    normalize_relative_path,
    normalize_uri,
    path_to_uri,
    relative_to_uri,
    resolve_in_workspace,
    uri_to_path,
    uri_to_relative,
    write_text_inside,
)
from .positions import LineIndex, Position, PositionEncoding, Range, split_lines
from .rebase import Conflict, RebaseResult, rebase_text
from .textedits import TextEdit, apply_text_edits, text_edits
from .workspace import (
    ChangeAnnotation,
    ChangePlan,
    CreateFile,
    DocumentChange,
    FileUpdate,
    WorkspaceChange,
    plan_workspace_change,
)

__all__ = [
    "FORBIDDEN_DIRS",
    "ChangeAnnotation",
    "ChangePlan",
    "Conflict",
    "ContentChange",
    "CreateFile",
    "DocumentChange",
    "FileUpdate",
    "LineIndex",
    "MappedEdits",
    "PathRefused",
    "Position",
    "PositionEncoding",
    "Range",
    "RebaseResult",
    "TextEdit",
    "WorkspaceChange",
    "WorkspacePath",
    "apply_content_changes",
    "apply_text_edits",
    "is_inside_workspace",
    "map_edits_through_changes",
    "normalize_relative_path",
    "normalize_uri",
    "path_to_uri",
    "plan_workspace_change",
    "rebase_text",
    "relative_to_uri",
    "resolve_in_workspace",
    "split_lines",
    "text_edits",
    "uri_to_path",
    "uri_to_relative",
    "write_text_inside",
]
