"""Plain edit plans (edits/) → lsprotocol types, respecting what the client can take."""

from __future__ import annotations

from functools import cache

from cattrs import Converter
from lsprotocol import types
from lsprotocol.converters import get_converter

from ..edits import ChangePlan, WorkspaceChange
from ..services import ClientInfo


@cache
def _converter() -> Converter:
    return get_converter()


def workspace_edit(change: WorkspaceChange, client: ClientInfo) -> types.WorkspaceEdit:
    if not client.supports_change_annotations:
        change = change.without_annotations()
    payload = change.to_lsp()
    edit: types.WorkspaceEdit = _converter().structure(payload["edit"], types.WorkspaceEdit)
    return edit


def workspace_edit_from_plan(plan: ChangePlan, client: ClientInfo) -> types.WorkspaceEdit:
    return workspace_edit(plan.change, client)
