"""Background jobs over LSP: `aiCodingRouter.runTask` / cancelJob / listJobs / applyJob, `$/progress`, and
versioned `workspace/applyEdit` that never overwrites what the user typed after the job began.

The job runner owns its tasks (pygls does not stop a running command handler on `$/cancelRequest`), so a
command returns at once and the work goes on in the runner; cancelling goes through cancelJob or
`window/workDoneProgress/cancel`.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from ..edits import FileUpdate, plan_workspace_change
from ..errors import RouterError
from ..jobs.runner import JobRunner
from ..jobs.store import JobInfo, jobs_path
from ..pipeline import EngineContext, PipelineDeps, TaskSpec, TextRange
from .convert import workspace_edit_from_plan
from .diagnostics import DiagnosticsStore, job_findings

if TYPE_CHECKING:
    from .server import RouterServer

log = logging.getLogger(__name__)

RUN_TASK = "aiCodingRouter.runTask"
CANCEL_JOB = "aiCodingRouter.cancelJob"
LIST_JOBS = "aiCodingRouter.listJobs"
APPLY_JOB = "aiCodingRouter.applyJob"
COST_REPORT = "aiCodingRouter.costReport"
APPLY_ATTEMPTS = 3  # the user may type between our plan and the client applying it: re-plan, then hold back
KINDS = ("fix", "explain", "tests", "refactor", "architecture", "security-review")
FALLBACK_LABEL = " (made by the fast model: the deep model was overloaded)"


class TaskArgumentError(RouterError, JsonRpcInvalidParams):
    """Bad command arguments: answered as InvalidParams (-32602), not as an internal error."""


class JobsBridge:
    """Translates between the protocol and the JobRunner; holds progress tokens per job."""

    def __init__(self, ls: RouterServer) -> None:
        self.ls = ls
        self.runner: JobRunner | None = None
        self.engine = EngineContext(ls.services.config.context)
        self._tokens: dict[str, str] = {}
        self._job_of_token: dict[str, str] = {}
        self.diagnostics = DiagnosticsStore()

    def open(self) -> None:
        root = self.ls.services.primary_root
        if root is None:
            return
        self.runner = JobRunner.open(self._deps, jobs_path(root))

    def _deps(self) -> PipelineDeps:
        services = self.ls.services
        ledger = self.ls.ledger
        if services.context.index is not None and services.context.ready:
            self.engine.use_index(services.context.index)
        return PipelineDeps(
            client=services.model_client,
            config=services.config,
            context=self.engine,
            session=services.quickfix.session,
            record_call=self.ls.record_call,
            record_outcome=ledger.set_task_outcome if ledger is not None else None,
            budget_check=ledger.check_before if ledger is not None else None,
        )

    # -- commands ------------------------------------------------------------------------------------
    async def run_task(self, argument: Any) -> dict[str, Any]:
        runner = self._runner()
        spec = self._spec(argument)
        token = f"ai-coding-router-job-{uuid.uuid4().hex[:12]}"
        submitted = await runner.submit(spec, progress=self._progress, on_done=self._done)
        self._tokens[submitted.job_id] = token
        self._job_of_token[token] = submitted.job_id
        await self._begin_progress(token, submitted.job_id, spec)
        self.ls.last_model = submitted.route.model  # the status display names the model working now
        self.ls.send_status()
        result = submitted.to_json()
        log.info("job %s started: %s", submitted.job_id, result["route"])
        return result

    def cancel_job(self, argument: Any) -> dict[str, Any]:
        job_id = _job_id(argument)
        cancelled = self._runner().cancel(job_id)
        return {"jobId": job_id, "cancelled": cancelled}

    def list_jobs(self) -> list[dict[str, Any]]:
        return [self._job_json(job) for job in self._runner().list()]

    async def apply_job(self, argument: Any) -> dict[str, Any]:
        job_id = _job_id(argument)
        job = self._runner().get(job_id)
        if job is None:
            raise TaskArgumentError(f"no job {job_id}")
        if job.result is None or not job.result.applicable:
            raise TaskArgumentError(f"job {job_id} has no validated result to apply ({job.status})")
        applied, message = await self._apply(job)
        return {"jobId": job_id, "applied": applied, "message": message}

    def cancel_by_token(self, token: str) -> None:
        job_id = self._job_of_token.get(token)
        if job_id is not None and self.runner is not None:
            self.runner.cancel(job_id)

    # -- helpers -------------------------------------------------------------------------------------
    def _runner(self) -> JobRunner:
        if self.runner is None:
            raise TaskArgumentError("background jobs need a workspace folder")
        return self.runner

    def _spec(self, argument: Any) -> TaskSpec:
        if not isinstance(argument, dict):
            raise TaskArgumentError('runTask takes one object: {"uri", "range", "kind", "instruction"?, "tags"?}')
        uri, kind = argument.get("uri"), argument.get("kind")
        if not isinstance(uri, str) or not isinstance(kind, str):
            raise TaskArgumentError("runTask needs a string uri and kind")
        if kind not in KINDS:
            raise TaskArgumentError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
        root = self.ls.services.primary_root
        path = to_fs_path(uri)
        if root is None or path is None:
            raise TaskArgumentError("background jobs need a workspace folder and a file URI")
        try:
            rel = Path(path).resolve().relative_to(root).as_posix()
        except ValueError:
            raise TaskArgumentError(f"{uri} is outside the workspace folder") from None
        text_range = _text_range(argument.get("range"))
        documents: dict[str, str] = {}
        versions: dict[str, int] = {}
        for doc_uri, document in self.ls.workspace.text_documents.items():
            doc_path = to_fs_path(doc_uri)
            if doc_path is None:
                continue
            try:
                doc_rel = Path(doc_path).resolve().relative_to(root).as_posix()
            except ValueError:
                continue
            documents[doc_rel] = document.source  # copies taken before the first await
            versions[doc_rel] = document.version or 0
        tags = argument.get("tags") if isinstance(argument.get("tags"), dict) else {}
        instruction = argument.get("instruction")
        return TaskSpec(
            task_id=uuid.uuid4().hex, kind=kind, root=root, file=rel, range=text_range,
            instruction=instruction if isinstance(instruction, str) else "",
            tags={str(k): str(v) for k, v in (tags or {}).items()},
            trusted=self.ls.services.client.workspace_trusted, documents=documents, versions=versions,
        )

    async def _begin_progress(self, token: str, job_id: str, spec: TaskSpec) -> None:
        if not self.ls.services.client.supports_work_done_progress:
            return
        try:
            await self.ls.work_done_progress.create_async(token)
        except Exception as error:  # a client that refuses progress still gets the result
            log.info("client refused a progress token: %s", error)
            self._tokens.pop(job_id, None)
            return
        self.ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(
            title=f"AI {spec.kind}: {spec.file}", message="routing", cancellable=True, percentage=0))

    def _progress(self, job_id: str, stage: str, message: str) -> None:
        token = self._tokens.get(job_id)
        if token is not None and token in self.ls.work_done_progress.tokens:
            self.ls.work_done_progress.report(token, types.WorkDoneProgressReport(message=f"{stage}: {message}"))

    def _done(self, job: JobInfo) -> None:
        token = self._tokens.pop(job.job_id, None)
        if token is not None:
            self._job_of_token.pop(token, None)
            if token in self.ls.work_done_progress.tokens:
                self.ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=f"{job.status}"))
        self.ls.send_status()
        result = job.result
        self._publish_findings(job)
        if result is not None and result.applicable:
            self.ls.run_task(self._apply_and_tell(job), f"apply-{job.job_id}")
        else:
            summary = (result.summary if result else None) or job.error or job.status
            level = types.MessageType.Info if job.status in ("answered", "cancelled") else types.MessageType.Warning
            self.ls.window_show_message(types.ShowMessageParams(
                type=level, message=f"AI Coding Router: {job.kind} job {job.status}: {summary}"))

    def _publish_findings(self, job: JobInfo) -> None:
        """A failed job's findings become diagnostics at the lines it worked on; a later success clears them."""
        root = self.ls.services.primary_root
        if root is None:
            return
        uri = from_fs_path(str(root / job.file)) or (root / job.file).as_uri()
        result = job.result
        if result is None or job.status != "failed" or not result.findings:
            self.diagnostics.clear(self.ls, uri, f"job:{job.kind}")
            return
        spec_range = (job.spec or {}).get("range") or {}
        start = int(spec_range.get("startLine", 0)) if isinstance(spec_range, dict) else 0
        end = int(spec_range.get("endLine", start)) if isinstance(spec_range, dict) else start
        at = types.Range(start=types.Position(start, 0), end=types.Position(end, 0))
        self.diagnostics.set(self.ls, uri, f"job:{job.kind}", job_findings(result.findings, at, f"AI {job.kind}"))

    async def _apply_and_tell(self, job: JobInfo) -> None:
        applied, message = await self._apply(job)
        level = types.MessageType.Info if applied else types.MessageType.Warning
        self.ls.window_show_message(types.ShowMessageParams(type=level, message=f"AI Coding Router: {message}"))

    async def _apply(self, job: JobInfo) -> tuple[bool, str]:
        result = job.result
        assert result is not None
        client = self.ls.services.client
        if not client.supports_document_changes:
            return False, (f"job {job.job_id} is kept: this editor cannot take versioned edits; "
                           "apply it with aiCodingRouter.applyJob from a client that can")
        # A result made on the fast model because the deep one was overloaded says so wherever it shows.
        label = f"AI {job.kind}: {job.file}" + (FALLBACK_LABEL if result.fallback else "")
        for _ in range(APPLY_ATTEMPTS):
            root = self.ls.services.primary_root
            assert root is not None
            updates = [self._update(root / rel, rel, result) for rel in result.new_texts]
            if any(u.old_text is None for u in updates) and not client.supports_create_files:
                return False, f"job {job.job_id} is kept: it creates files and this editor cannot create them"
            plan = plan_workspace_change(updates, label=label, needs_confirmation=result.needs_confirmation)
            if plan.held_back:
                where = "; ".join(f"{uri}: {', '.join(why)}" for uri, why in plan.conflicts.items())
                return False, (f"the {job.kind} result was held back because you edited the same lines ({where}). "
                               f"Run aiCodingRouter.applyJob {job.job_id} to try again.")
            edit = workspace_edit_from_plan(plan, client)
            try:
                response = await self.ls.workspace_apply_edit_async(
                    types.ApplyWorkspaceEditParams(edit=edit, label=label))
            except Exception as error:  # an error or a malformed answer from the client counts as a refusal
                log.info("workspace/applyEdit failed: %s", error)
                continue
            if getattr(response, "applied", False):  # a `null` answer is no answer
                self._runner().mark_applied(job.job_id)
                fallback = f" — {result.fallback}" if result.fallback else ""
                return True, f"applied the validated {job.kind} result to {', '.join(result.new_texts)}{fallback}"
            log.info("client refused the edit (%s); planning again", getattr(response, "failure_reason", None))
        return False, (f"the editor refused the {job.kind} result; it is kept: run aiCodingRouter.applyJob "
                       f"{job.job_id}")

    def _update(self, path: Path, rel: str, result: Any) -> FileUpdate:
        uri = from_fs_path(str(path)) or path.as_uri()
        base = result.base_texts.get(rel)
        document = self.ls.workspace.text_documents.get(uri)
        if document is not None:
            current, version = document.source, document.version or 0
        else:
            try:
                current, version = path.read_text(encoding="utf-8"), None
            except FileNotFoundError:
                current, version = None, None
        moved = current is not None and base is not None and current != base
        return FileUpdate(uri=uri, old_text=base, new_text=result.new_texts[rel], version=version,
                          current_text=current if moved else None)

    def _job_json(self, job: JobInfo) -> dict[str, Any]:
        data = job.to_json()
        root = self.ls.services.primary_root
        data["state"] = job.status
        data["uri"] = (root / job.file).as_uri() if root is not None else job.file
        # The deep-model overload fallback and skipped checks are part of what the user must see.
        data["fallback"] = job.result.fallback if job.result is not None else None
        data["notes"] = list(job.result.notes) if job.result is not None else []
        return data


def _job_id(argument: Any) -> str:
    if isinstance(argument, dict) and isinstance(argument.get("jobId"), str):
        return str(argument["jobId"])
    raise TaskArgumentError('expected one object {"jobId": "..."}')


def _text_range(value: Any) -> TextRange | None:
    if value is None:
        return None
    try:
        start, end = value["start"], value["end"]
        return TextRange(int(start["line"]), int(start["character"]), int(end["line"]), int(end["character"]))
    except (KeyError, TypeError, ValueError):
        raise TaskArgumentError('range must be {"start": {"line", "character"}, "end": {...}}') from None


def _first_argument(args: Any) -> Any:
    if isinstance(args, list | tuple):
        return args[0] if args else None
    return args


def register(server: RouterServer) -> None:
    # Command handlers are annotated with pygls' own class: pygls reads the annotations at run time.
    def bridge(ls: LanguageServer) -> JobsBridge:
        jobs = cast("RouterServer", ls).jobs
        if jobs is None:
            raise TaskArgumentError("the server is still starting")
        return jobs

    @server.command(RUN_TASK)
    async def run_task(ls: LanguageServer, *args: Any) -> dict[str, Any]:
        return await bridge(ls).run_task(_plain(_first_argument(args)))

    @server.command(CANCEL_JOB)
    def cancel_job(ls: LanguageServer, *args: Any) -> dict[str, Any]:
        return bridge(ls).cancel_job(_plain(_first_argument(args)))

    @server.command(LIST_JOBS)
    def list_jobs(ls: LanguageServer, *args: Any) -> list[dict[str, Any]]:
        return bridge(ls).list_jobs()

    @server.command(APPLY_JOB)
    async def apply_job(ls: LanguageServer, *args: Any) -> dict[str, Any]:
        return await bridge(ls).apply_job(_plain(_first_argument(args)))

    @server.command(COST_REPORT)
    async def cost_report(ls: LanguageServer, *args: Any) -> dict[str, Any]:
        return {"text": await cast("RouterServer", ls).cost_report_text()}

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancel(ls: LanguageServer, params: types.WorkDoneProgressCancelParams) -> None:
        jobs = cast("RouterServer", ls).jobs
        if jobs is not None:
            jobs.cancel_by_token(str(params.token))


def _plain(value: Any) -> Any:
    """pygls hands untyped command arguments over as named tuples; turn them back into plain data."""
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
