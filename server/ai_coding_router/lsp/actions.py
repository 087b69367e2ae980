"""Code actions: AI quick fixes resolved in the latency budget, and background tasks on the selection.

Listing never calls a model. Interactive actions carry ``data`` and are computed by ``codeAction/resolve``;
background actions carry the ``aiCodingRouter.runTask`` command.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import to_fs_path

from ..edits import FileUpdate, plan_workspace_change
from ..errors import ContextError, ModelUnavailable
from ..models.anthropic_client import NO_KEY_MESSAGE
from ..quickfix import ActionRequest, ActionResult
from .convert import workspace_edit_from_plan
from .jobs import RUN_TASK

if TYPE_CHECKING:
    from .server import RouterServer

log = logging.getLogger(__name__)

SMALL_SELECTION_LINES = 60
# The quick-fix prompt parses the whole document on the event loop (context engine); a 20 MB file blocked
# the server for ~50 s (tests/e2e/test_fuzz_lsp.py). Larger documents are offered a background job instead.
MAX_INTERACTIVE_DOCUMENT_CHARS = 2 * 1024 * 1024
REWRITES = (
    ("Simplify", "Simplify this code without changing its behaviour."),
    ("Add explicit types", "Add explicit TypeScript types (parameters and return types) to this code."),
    ("Convert to async/await", "Convert promise chains in this code to async/await."),
)
BACKGROUND_TASKS = (
    ("refactor", "AI: Refactor selection (background job)", types.CodeActionKind.RefactorRewrite),
    ("tests", "AI: Generate tests (background job)", types.CodeActionKind.Refactor),
    ("security-review", "AI: Security review (background job)", types.CodeActionKind.Refactor),
    ("explain", "AI: Explain (background job)", types.CodeActionKind.Refactor),
)


def _tags(ls: RouterServer) -> list[types.CodeActionTag] | None:
    caps = ls.client_capabilities.text_document
    code_action = caps.code_action if caps else None
    supported = code_action is not None and code_action.tag_support is not None
    return [types.CodeActionTag.LlmGenerated] if supported else None


def _run_task_command(title: str, uri: str, rng: types.Range, kind: str, instruction: str | None) -> types.Command:
    argument: dict[str, Any] = {
        "uri": uri,
        "range": {"start": {"line": rng.start.line, "character": rng.start.character},
                  "end": {"line": rng.end.line, "character": rng.end.character}},
        "kind": kind,
    }
    if instruction:
        argument["instruction"] = instruction
    return types.Command(title=title, command=RUN_TASK, arguments=[argument])


def _diagnostic_text(diagnostic: types.Diagnostic) -> str:
    code = f" {diagnostic.code}" if diagnostic.code is not None else ""
    return f"{diagnostic.source or 'diagnostic'}{code}: {diagnostic.message}"


def list_actions(ls: RouterServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    document = ls.workspace.text_documents.get(uri)
    if document is None:
        return []
    only = params.context.only
    rng = params.range
    tags = _tags(ls)
    resolvable = ls.services.client.supports_code_action_resolve
    actions: list[types.CodeAction] = []

    def wanted(kind: str) -> bool:
        return not only or any(kind == k or kind.startswith(k + ".") for k in only)

    version = document.version or 0
    if wanted(types.CodeActionKind.QuickFix):
        for diagnostic in params.context.diagnostics:
            title = f"Fix with AI: {diagnostic.message.splitlines()[0][:80]}"
            instruction = f"Fix this problem: {_diagnostic_text(diagnostic)}"
            line_range = types.Range(start=types.Position(diagnostic.range.start.line, 0),
                                     end=diagnostic.range.end)
            actions.append(_interactive_action(
                title, types.CodeActionKind.QuickFix, uri, version, line_range, "quick_fix", instruction,
                _diagnostic_text(diagnostic), [diagnostic], tags, resolvable,
            ))
    selection_lines = rng.end.line - rng.start.line + 1
    has_selection = rng.start != rng.end
    if has_selection and selection_lines <= SMALL_SELECTION_LINES and wanted(types.CodeActionKind.RefactorRewrite):
        for label, instruction in REWRITES:
            actions.append(_interactive_action(
                f"AI: {label}", types.CodeActionKind.RefactorRewrite, uri, version, rng, "refactor.rewrite",
                instruction, "", None, tags, resolvable,
            ))
    if has_selection:
        for kind, title, action_kind in BACKGROUND_TASKS:
            if wanted(action_kind):
                actions.append(types.CodeAction(
                    title=title, kind=action_kind, tags=tags,
                    command=_run_task_command(title, uri, rng, kind, None),
                ))
    return actions


def _interactive_action(
    title: str, kind: str, uri: str, version: int, rng: types.Range, task_kind: str, instruction: str,
    diagnostic: str, diagnostics: list[types.Diagnostic] | None, tags: list[types.CodeActionTag] | None,
    resolvable: bool,
) -> types.CodeAction:
    if not resolvable:
        # Without codeAction/resolve the edit would have to be computed while listing: run it as a job.
        command_kind = "fix" if task_kind == "quick_fix" else "refactor"
        return types.CodeAction(title=title + " (background job)", kind=kind, diagnostics=diagnostics, tags=tags,
                                command=_run_task_command(title, uri, rng, command_kind, instruction))
    data = {
        "aiCodingRouter": True, "uri": uri, "version": version, "kind": task_kind,
        "startLine": rng.start.line, "endLine": rng.end.line, "instruction": instruction,
        "diagnostic": diagnostic,
    }
    return types.CodeAction(title=title, kind=kind, diagnostics=diagnostics, tags=tags, data=data)


async def resolve_action(ls: RouterServer, action: types.CodeAction) -> types.CodeAction:
    received_at = time.monotonic()
    data = action.data if isinstance(action.data, dict) else None
    if not data or not data.get("aiCodingRouter"):
        return action
    uri = str(data["uri"])
    document = ls.workspace.text_documents.get(uri)
    path = to_fs_path(uri)
    if document is None or path is None:
        action.disabled = types.CodeActionDisabled(reason="the document is no longer open")
        return action
    text, version = document.source, document.version or 0  # a snapshot before the first await
    last_line = max(0, text.count("\n"))
    try:  # `data` comes back from the client: garbage is the client's error (InvalidParams), not ours
        start_line = min(max(0, int(data.get("startLine", 0))), last_line)
        end_line = min(max(start_line, int(data.get("endLine", start_line))), last_line)
    except (TypeError, ValueError, OverflowError):
        raise JsonRpcInvalidParams("codeAction/resolve: data.startLine and data.endLine must be integers") from None
    request = ActionRequest(
        uri=uri, path=path, version=version, text=text, start_line=start_line, end_line=end_line,
        kind=str(data.get("kind", "quick_fix")), instruction=str(data.get("instruction", "")),
        diagnostic=str(data.get("diagnostic", "")),
    )
    if len(text) > MAX_INTERACTIVE_DOCUMENT_CHARS:
        too_large = ActionResult("background", "the file is too large for an interactive fix")
        return _apply_result(ls, action, request, too_large)
    try:
        result = await ls.services.quickfix.resolve(request, received_at)
    except ModelUnavailable:
        ls.show_once("no-key", NO_KEY_MESSAGE)
        action.disabled = types.CodeActionDisabled(reason="AI features are off: no API key")
        return action
    except ContextError as error:  # e.g. a document with NUL bytes is "binary" to the context engine
        action.disabled = types.CodeActionDisabled(reason=f"no AI fix for this file: {error}")
        return action
    if result.route is not None:
        ls.note_model_used(result.route.model)
    return _apply_result(ls, action, request, result)


def _apply_result(
    ls: RouterServer, action: types.CodeAction, request: ActionRequest, result: ActionResult
) -> types.CodeAction:
    rng = types.Range(start=types.Position(request.start_line, 0), end=types.Position(request.end_line + 1, 0))
    if result.status == "background":
        kind = "fix" if request.kind == "quick_fix" else "refactor"
        action.title = f"{action.title} (runs as a background job: {result.reason})"
        action.command = _run_task_command(action.title, request.uri, rng, kind, request.instruction)
        return action
    if result.status == "failed" or result.new_text is None:
        action.disabled = types.CodeActionDisabled(reason=result.reason)
        ls.window_show_message(types.ShowMessageParams(
            type=types.MessageType.Info, message=f"AI Coding Router: no fix offered — {result.reason}"))
        return action
    plan = plan_workspace_change(
        [FileUpdate(uri=request.uri, old_text=request.text, new_text=result.new_text, version=request.version)],
        label="AI quick fix",
    )
    action.edit = workspace_edit_from_plan(plan, ls.services.client)
    return action


def register(server: RouterServer) -> None:
    options = types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite,
                           types.CodeActionKind.Refactor],
        resolve_provider=True,
    )

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, options)
    def code_action(ls: RouterServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return list_actions(ls, params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(ls: RouterServer, action: types.CodeAction) -> types.CodeAction:
        return await resolve_action(ls, action)
