"""create_server(): the one place that wires the protocol to the services.

Handlers here only translate between LSP and plain Python. Feature modules (completion, actions, jobs)
get the server and register their own handlers through ``register(server)``.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import hashlib
import logging
import os
import sys
import time
from collections.abc import Callable, Coroutine, Generator
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcServerNotInitialized,
)
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.uris import to_fs_path

from .. import __version__, heap
from ..completion.service import CompletionCall
from ..config import CONFIG_FILE_NAME
from ..errors import ConfigError
from ..ledger import CallRecord, Ledger, Notice, Outcome, new_call_id
from ..models.base import ModelClient, Usage
from ..models.deprecations import deprecated_model_warnings, sdk_deprecation_table
from ..services import ClientInfo, Services, build_services
from .completion import cursor_after, snapshot_for_prepare
from .dispatch import message_kind
from .documents import RouterWorkspace
from .jobs import JobsBridge
from .warm import warm_protocol

log = logging.getLogger(__name__)

SERVER_NAME = "ai-coding-router"
CONFIG_POLL_INTERVAL_S = 1.0
SERVER_STATUS = "aiCodingRouter/serverStatus"
STATUS_NOTIFICATION = "aiCodingRouter/status"
COST_SUMMARY = "aiCodingRouter/costSummary"


class RouterProtocol(LanguageServerProtocol):
    """Negotiates UTF-16 positions with every client.

    UTF-16 is the one encoding every client must support; the context engine, the edit rebaser and their
    tests all work in it. pygls would otherwise pick the client's first preference (Neovim offers UTF-8).
    """

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Generator[Any, Any, types.InitializeResult]:
        general = params.capabilities.general
        if general is not None and general.position_encodings:
            general.position_encodings = [types.PositionEncodingKind.Utf16]
        result: types.InitializeResult = yield from super().lsp_initialize(params)
        return result

    # -- hostile input (found by tests/e2e/test_fuzz_lsp.py) -------------------------------------------
    # pygls 2.1 leaves three kinds of request unanswered, so the client waits forever: params that do not
    # fit the LSP types (dropped while decoding, with an "Error in server" pop-up), requests after
    # `shutdown` (dropped), and it runs handlers before `initialize` and a second `initialize` (which
    # would build a second set of services and leak the first). The LSP says: InvalidParams, InvalidRequest,
    # ServerNotInitialized (-32002).

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            method = data.get("method")
            detail = _structure_problem(error)
            log.warning("invalid message for %r: %s", method, detail)
            if "method" in data and "id" in data:
                msg_id = data["id"] if isinstance(data["id"], int | str) else None
                self._answer_error(msg_id, JsonRpcInvalidParams(f"invalid params for {method!r}: {detail}"))
            elif "id" in data:  # a malformed answer to one of our requests: fail it, or its awaiter hangs
                pending = self._request_futures.pop(data["id"], None) if isinstance(data["id"], int | str) else None
                if pending is not None and not pending.done():
                    pending.set_exception(JsonRpcInvalidParams(f"the client's answer did not fit: {detail}"))
            return _ANSWERED  # handled here: nothing more to do, no pop-up

    def handle_message(self, message: Any) -> None:
        if message is _ANSWERED:
            return
        method = getattr(message, "method", None)
        is_request = method is not None and hasattr(message, "id")
        if self._workspace is None and method not in (types.INITIALIZE, types.EXIT):
            if is_request:
                self._answer_error(message.id, JsonRpcServerNotInitialized(
                    f"{method}: the server is not initialized yet (send 'initialize' first)"))
            else:
                log.info("ignoring %r before initialize", method)
            return
        if is_request and (self._shutdown and method != types.EXIT):
            self._answer_error(message.id, JsonRpcInvalidRequest(f"{method}: the server is shutting down"))
            return
        if is_request and method == types.INITIALIZE and self._workspace is not None:
            self._answer_error(message.id, JsonRpcInvalidRequest("the server is already initialized"))
            return
        kind = message_kind(message)
        if kind not in ("request", "notification") or message.jsonrpc != self.VERSION or self._shutdown:
            super().handle_message(message)  # answers to our requests, and what pygls logs and drops
            return
        # pygls's own dispatch, minus its isinstance checks against Protocols (lsp/dispatch.py).
        context = contextvars.copy_context()
        if kind == "request":
            context.run(self._handle_request, message.id, message.method, message.params)
        else:
            context.run(self._handle_notification, message.method, message.params)

    def _execute_handler(self, msg_id: Any, handler: Any, callback: Any, args: Any = None, kwargs: Any = None) -> None:
        # pygls 2.1 files the future of every async or generator handler under its id, so a request can be
        # cancelled, but only a request's answer removes it: every notification (each didChange: pygls' own
        # handler is a generator) left a Future behind, ~0.6 KB per keystroke (found by bench/soak.py).
        # Finished futures are swept here; the dict only ever holds the few requests still running.
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        finished = [key for key, future in self._request_futures.items() if future.done()]
        for key in finished:
            del self._request_futures[key]

    def _answer_error(self, msg_id: Any, error: JsonRpcException) -> None:
        try:
            self._send_response(msg_id, error=error.to_response_error())
        except Exception:  # an id that cannot even be echoed back: nothing more we can do
            log.warning("could not answer message %r", msg_id, exc_info=True)


_ANSWERED = object()  # returned by RouterProtocol.structure_message for a message it already answered


def _structure_problem(error: JsonRpcException) -> str:
    """What did not fit, e.g. "invalid value for type, expected int @ $.params.position.line"."""
    from cattrs import transform_error
    from cattrs.errors import ClassValidationError

    cause = error.__cause__
    if isinstance(cause, ClassValidationError):
        return "; ".join(transform_error(cause)[:5])
    return str(cause or error)


class RouterServer(LanguageServer):
    """A pygls server that owns the services and the background tasks it starts."""

    def __init__(self, model_client_factory: Callable[[], ModelClient] | None = None) -> None:
        super().__init__(SERVER_NAME, __version__, protocol_cls=RouterProtocol)
        self._services: Services | None = None
        self._model_client_factory = model_client_factory
        self._tasks: set[asyncio.Task[Any]] = set()
        self._config_mtime: int | None = None
        self._shown_once: set[str] = set()
        self._deprecated_models: dict[str, str] | None = None  # the SDK's table, once read off the loop
        self.last_model: str | None = None
        self._pending_problems: list[ConfigError] = []  # config problems found in initialize, shown at initialized
        self._ledger: Ledger | None = None
        self.jobs: JobsBridge | None = None

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("the server has not been initialized")
        return self._services

    @property
    def initialized_services(self) -> Services | None:
        return self._services

    def run_task(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Start a background task, keep a reference to it and log its failure (esbonio's pattern)."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    def show_once(self, key: str, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """Show a message to the user once per server lifetime (not once per keystroke)."""
        if key in self._shown_once:
            return
        self._shown_once.add(key)
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"AI Coding Router: {message}"))

    @property
    def ledger(self) -> Ledger | None:
        return self._ledger

    async def open_ledger(self) -> None:
        services = self.services
        self._ledger = await Ledger.open(services.config, services.primary_root)
        self.show_notices(self._ledger.pending_notices())

    def record_call(self, record: CallRecord) -> None:
        """Enqueue one model call for the ledger (never blocks) and show any budget or task alert."""
        ledger = self._ledger
        if ledger is None:
            return
        self.run_task(ledger.record(record), "ledger-record")
        self.show_notices(ledger.after_call(record))

    def _record_completion(self, call: CompletionCall) -> None:
        # A timer, not call_soon: the handler's answer is written by a callback its task schedules when it
        # returns, which runs before any timer. The ledger's bookkeeping (~0.1 ms) then follows the answer.
        asyncio.get_running_loop().call_later(0, self._write_completion_record, call)

    def _write_completion_record(self, call: CompletionCall) -> None:
        outcome: Outcome = "cancelled" if call.outcome in ("cancelled", "dropped_stale") else (
            "timed_out" if call.outcome == "timed_out" else "failed" if call.outcome == "failed" else "ok")
        self.record_call(
            CallRecord.from_usage(
                call.usage, call_id=new_call_id(), ts=time.time(), task_id=new_call_id(), task_kind=call.task_type,
                role="completion", outcome=outcome, tags={"task_type": call.task_type},
            )
        )

    def _record_quick_fix(self, usage: Usage, kind: str, outcome: str) -> None:
        ledger_outcome: Outcome = "validated" if outcome == "validated" else (
            "timed_out" if outcome == "timed_out" else "failed")
        task_type = "quick_fix" if kind == "quick_fix" else kind
        self.record_call(
            CallRecord.from_usage(
                usage, call_id=new_call_id(), ts=time.time(), task_id=new_call_id(), task_kind=task_type,
                role="quick_fix", outcome=ledger_outcome, tags={"task_type": task_type},
            )
        )

    def show_notices(self, notices: list[Notice]) -> None:
        levels = {"info": types.MessageType.Info, "warning": types.MessageType.Warning,
                  "error": types.MessageType.Error}
        for notice in notices:
            self.window_show_message(
                types.ShowMessageParams(type=levels[notice.level], message=f"AI Coding Router: {notice.message}")
            )

    def note_model_used(self, model: str) -> None:
        """Tell the editor's status display which model answered last."""
        if model != self.last_model:
            self.last_model = model
            self.send_status()

    def config_changed(self) -> None:
        if self._ledger is not None:
            self._ledger.update_config(self.services.config)
        self._warn_about_deprecated_models()

    async def check_model_deprecations(self) -> None:
        """Read the SDK's deprecation table (it imports the SDK: in a thread) and warn about configured models."""
        self._deprecated_models = await asyncio.to_thread(sdk_deprecation_table)
        self._warn_about_deprecated_models()

    def _warn_about_deprecated_models(self) -> None:
        if self._deprecated_models is None:  # not read yet: check_model_deprecations warns when it is
            return
        for model, message in deprecated_model_warnings(self.services.config, self._deprecated_models):
            self.show_once(f"deprecated-model:{model}", message)

    def send_status(self) -> None:
        self.protocol.notify(STATUS_NOTIFICATION, {"lastModel": self.last_model, "runningJobs": self.running_jobs()})

    def running_jobs(self) -> int:
        runner = self.jobs.runner if self.jobs is not None else None
        return runner.running if runner is not None else 0

    async def cost_report_text(self) -> str:
        """The ledger's report as text, for the editor's cost command."""
        ledger = self._ledger
        if ledger is None or ledger.path is None or not ledger.enabled:
            reason = ledger.disabled_reason if ledger is not None else "the ledger is still opening"
            return f"No cost report: {reason}."
        await ledger.flush()
        path = ledger.path

        def render() -> str:
            from ..ledger.cli_support import read_report_input
            from ..ledger.report import build_report
            from ..ledger.report_text import render_text

            _, data = read_report_input(path, None, "model")
            return render_text(build_report(data, by="model"), width=140)

        return await asyncio.to_thread(render)

    def show_config_error(self, error: ConfigError) -> None:
        text = "invalid configuration, keeping the last good one. " + error.source + ": " + "; ".join(error.problems)
        log.warning("%s", text)
        self.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Error, message=f"AI Coding Router: {text}")
        )

    def build(self, params: types.InitializeParams) -> None:
        roots = workspace_roots(params)
        options = params.initialization_options
        client_model = self._model_client_factory() if self._model_client_factory else None
        # Stat before reading, so a change made while we read is seen by the next poll.
        self._config_mtime = _file_mtime(roots[0] / CONFIG_FILE_NAME) if roots else None
        services, problems = build_services(roots, options, client_model)
        services.client = client_info(params, options)
        services.completion.recorder = self._record_completion
        services.quickfix.record = self._record_quick_fix
        self._services = services
        self._pending_problems = problems

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._services is not None:
            await self._services.context.aclose()
            await self._services.model_client.aclose()
        if self.jobs is not None and self.jobs.runner is not None:
            await self.jobs.runner.aclose()
        if self._ledger is not None:
            await self._ledger.aclose()


def workspace_roots(params: types.InitializeParams) -> list[Path]:
    uris = [folder.uri for folder in params.workspace_folders or []]
    if not uris and params.root_uri:
        uris = [params.root_uri]
    roots = []
    for uri in uris:
        path = to_fs_path(uri)
        if path:
            roots.append(Path(path).resolve())
    if not roots and params.root_path:
        roots.append(Path(params.root_path).resolve())
    return roots


def client_info(params: types.InitializeParams, options: Any) -> ClientInfo:
    caps = params.capabilities
    text = caps.text_document
    workspace = caps.workspace
    window = caps.window
    watched = workspace.did_change_watched_files if workspace else None
    edit_caps = workspace.workspace_edit if workspace else None
    trusted = bool(options.get("workspaceTrusted", False)) if isinstance(options, dict) else False
    name = params.client_info.name if params.client_info else "unknown"
    return ClientInfo(
        name=name,
        supports_inline_completion=bool(text and text.inline_completion is not None),
        supports_work_done_progress=bool(window and window.work_done_progress),
        supports_watched_files_registration=bool(watched and watched.dynamic_registration),
        supports_code_action_resolve=bool(text and text.code_action and text.code_action.resolve_support),
        supports_change_annotations=bool(edit_caps and edit_caps.change_annotation_support is not None),
        # Neovim applies versioned documentChanges (and checks their version) without advertising them.
        supports_document_changes=bool(edit_caps and edit_caps.document_changes) or name.lower() == "neovim",
        supports_create_files=bool(
            edit_caps and types.ResourceOperationKind.Create in (edit_caps.resource_operations or ())
        ),
        workspace_trusted=trusted,
    )


def create_server(model_client_factory: Callable[[], ModelClient] | None = None) -> RouterServer:
    from . import actions, completion, jobs

    server = RouterServer(model_client_factory)
    _register_lifecycle(server)
    completion.register(server)
    actions.register(server)
    jobs.register(server)
    return server


def _register_lifecycle(server: RouterServer) -> None:
    @server.feature(types.INITIALIZE)
    def on_initialize(ls: RouterServer, params: types.InitializeParams) -> None:
        # Documents with the LSP's line rules (see lsp/documents.py); same layout, so the swap is safe.
        ls.workspace.__class__ = RouterWorkspace
        ls.build(params)
        if not ls.services.client.supports_inline_completion:
            # Capabilities are computed after this handler, so the fallback is advertised only when needed.
            from .completion import register_completion_fallback

            register_completion_fallback(ls)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def on_did_change(ls: RouterServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.services.completion.note_keystroke(uri)
        cursor = cursor_after(params.content_changes)
        if cursor is not None:
            ls.services.completion.prepare_soon(lambda: snapshot_for_prepare(ls, uri, cursor))
        document = ls.workspace.text_documents.get(uri)
        path = to_fs_path(uri)
        if document is not None and path:
            ls.services.context.document_changed(path, document.source)

    @server.feature(types.INITIALIZED)
    def on_initialized(ls: RouterServer, params: types.InitializedParams) -> None:
        if ls.jobs is not None:  # a repeated `initialized` must not start the background work twice
            log.warning("ignoring a repeated 'initialized' notification")
            return
        for problem in ls._pending_problems:
            ls.show_config_error(problem)
        services = ls.services
        if not services.model_client.available:
            from ..models.anthropic_client import NO_KEY_MESSAGE

            ls.show_once("no-key", NO_KEY_MESSAGE)
        ls.run_task(_poll_config(ls), "config-poll")
        ls.run_task(ls.open_ledger(), "ledger-open")
        ls.jobs = JobsBridge(ls)
        try:
            ls.jobs.open()
        except Exception as error:  # a damaged job store must not stop the server
            log.exception("background jobs are off")
            ls.show_once("jobs", f"background jobs are off: {error}", types.MessageType.Error)
        start_up = [ls.run_task(services.context.start(), "workspace-index")]
        if services.client.supports_watched_files_registration:
            # Not awaited here: a client may be slow to answer (or never answer) a registration.
            ls.run_task(_watch_config_file(ls), "config-watch-registration")
        warm_up = getattr(services.model_client, "warm_up", None)
        if warm_up is not None:
            start_up.append(ls.run_task(warm_up(), "model-warm-up"))
        ls.run_task(_settle_heap_after(start_up), "heap-settle")
        if services.model_client.available:  # without a key no call is made, and the SDK is not imported
            ls.run_task(ls.check_model_deprecations(), "model-deprecations")

    async def _settle_heap_after(start_up: list[asyncio.Task[Any]]) -> None:
        await asyncio.gather(*start_up, return_exceptions=True)  # their failures are logged by run_task
        await warm_protocol(server.protocol)
        await asyncio.to_thread(heap.settle)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def on_did_change_configuration(ls: RouterServer, params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        if isinstance(settings, dict) and "workspaceTrusted" in settings:
            ls.services.client.workspace_trusted = bool(settings["workspaceTrusted"])
        try:
            ls.services.config_store.set_client_options(settings)
        except ConfigError as error:
            ls.show_config_error(error)
        ls.config_changed()

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def on_did_change_watched_files(ls: RouterServer, params: types.DidChangeWatchedFilesParams) -> None:
        if any(change.uri.endswith(CONFIG_FILE_NAME) for change in params.changes):
            _reload_config(ls)
        for change in params.changes:
            path = to_fs_path(change.uri)
            if path and not change.uri.endswith(CONFIG_FILE_NAME):
                ls.services.context.file_changed_on_disk(path, change.type == types.FileChangeType.Deleted)

    @server.feature(SERVER_STATUS)
    def on_server_status(ls: RouterServer, params: Any) -> dict[str, Any]:
        return server_status(ls)

    @server.feature(COST_SUMMARY)
    def on_cost_summary(ls: RouterServer, params: Any) -> dict[str, Any]:
        if ls.ledger is None:
            empty = {"cost": 0.0, "cost_usd": 0.0, "calls": 0, "tokens": 0}
            return {"today": dict(empty), "month": dict(empty),
                    "ledger": {"enabled": False, "path": None, "reason": "the ledger is still opening"}}
        summary = ls.ledger.cost_summary()
        for period in ("today", "month"):  # `cost` is the name the editor clients read
            summary[period]["cost"] = summary[period]["cost_usd"]
        return summary

    @server.feature(types.SHUTDOWN)
    async def on_shutdown(ls: RouterServer, params: None) -> None:
        await ls.aclose()


def server_status(ls: RouterServer) -> dict[str, Any]:
    """What the server holds: for status displays, `doctor`, and tests of document sync."""
    services = ls.services
    documents = []
    for uri, document in ls.workspace.text_documents.items():
        source = document.source
        documents.append({
            "uri": uri,
            "version": document.version,
            "length": len(source),
            "sha256": hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest(),
        })
    error = services.config_store.last_error
    return {
        "version": __version__,
        "modelAvailable": services.model_client.available,
        "modelReady": bool(getattr(services.model_client, "ready", True)),
        "indexReady": services.context.ready,
        "heapFrozen": gc.get_freeze_count(),  # objects left out of garbage collection (heap.settle)
        "config": services.config.model_dump(mode="json"),
        "configError": None if error is None else error.problems,
        "workspaceFolders": [str(root) for root in services.workspace_roots],
        "workspaceTrusted": services.client.workspace_trusted,
        "documents": documents,
        "runningJobs": ls.running_jobs(),
        "completion": {"modelCalls": services.completion.model_calls,
                       "promptsBuilt": services.completion.prompts_built,
                       **parked_figures(services.model_client)},
        "circuits": circuit_states() if callable(circuit_states := getattr(services.model_client,
                                                                            "circuit_states", None)) else [],
        "process": process_figures(ls),
    }


def parked_figures(model_client: ModelClient) -> dict[str, int]:
    """Calls built in a typing pause and parked before their send (models/parked.py): how many a request
    took, and how many were cancelled unsent because the user typed on."""
    parking = getattr(model_client, "parking", None)
    if parking is None:
        return {}
    return {"callsParked": parking.parked, "parkedCallsTaken": parking.taken, "parkedCallsDropped": parking.dropped}


def process_figures(ls: RouterServer) -> dict[str, int | None]:
    """What the process holds, for leak checks (bench/soak.py): tasks, descriptors, children, memory.

    From /proc (Linux); None where it is not available."""
    figures: dict[str, int | None] = {
        "asyncioTasks": len(asyncio.all_tasks()), "backgroundTasks": len(ls._tasks),
        "trackedRequests": len(ls.protocol._request_futures),  # pygls' futures by message id
        # Live Python allocations: flat while RSS grows means allocator fragmentation, not a leak.
        "pythonBlocks": sys.getallocatedblocks(),
        "openFds": None, "openSockets": None, "childProcesses": None, "indexWorker": None, "rssKb": None,
        "rssPeakKb": None,
    }
    try:
        links = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                links.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:  # closed between listdir and readlink
                continue
        figures["openFds"] = len(links)
        figures["openSockets"] = sum(link.startswith("socket:") for link in links)
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            memory = {line.split(":")[0]: line.split()[1] for line in status if line.startswith(("VmRSS", "VmHWM"))}
        figures["rssKb"] = int(memory["VmRSS"]) if "VmRSS" in memory else None
        figures["rssPeakKb"] = int(memory["VmHWM"]) if "VmHWM" in memory else None
        # The index's extraction worker lives as long as the server: not a leak, counted on its own.
        worker = ls.services.context.extractor.worker_pid
        figures["childProcesses"] = _child_count(os.getpid(), excluding=worker)
        figures["indexWorker"] = 0 if worker is None else 1
    except OSError:
        pass
    return figures


def _child_count(pid: int, excluding: int | None = None) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rpartition(")")[2].split()  # after "pid (comm)", comm may hold spaces
        except OSError:
            continue
        if len(fields) > 1 and fields[1] == str(pid) and entry != str(excluding):  # fields: state, ppid, ...
            count += 1
    return count


def _file_mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _config_mtime(services: Services) -> int | None:
    path = services.config_store.file_path
    return _file_mtime(path) if path is not None else None


def _reload_config(ls: RouterServer) -> None:
    ls._config_mtime = _config_mtime(ls.services)  # before reading, as in build()
    try:
        ls.services.config_store.reload_file()
        log.info("configuration reloaded")
    except ConfigError as error:
        ls.show_config_error(error)
    ls.config_changed()


async def _poll_config(ls: RouterServer) -> None:
    """Re-read the config file when it changes, for clients that do not watch files for us."""
    while True:
        await asyncio.sleep(CONFIG_POLL_INTERVAL_S)
        if _config_mtime(ls.services) != ls._config_mtime:
            _reload_config(ls)


async def _watch_config_file(ls: RouterServer) -> None:
    registration = types.Registration(
        id="ai-coding-router-config-watch",
        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[
                types.FileSystemWatcher(glob_pattern=f"**/{CONFIG_FILE_NAME}"),
                # Files changed outside the editor (git checkout, codegen) keep the context index current.
                types.FileSystemWatcher(glob_pattern="**/*.{ts,tsx,mts,cts,js,jsx,mjs,cjs}"),
            ]
        ),
    )
    try:
        await ls.client_register_capability_async(types.RegistrationParams(registrations=[registration]))
    except Exception as error:  # a client that refuses still gets the polling reload
        log.info("client refused the config-file watcher: %s", error)
