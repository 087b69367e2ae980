"""Interactive AI quick fixes: one small edit on the fast model, inside the latency budget.

Listing actions costs nothing (no model call). Resolving one asks the fast model for SEARCH/REPLACE blocks
for the current file, and only a candidate that applies cleanly, adds no syntax error and — when it fits
the remaining budget — passes the type check is returned, as new text for a versioned edit. When the
classifier would want the deep model, or the budget runs out, the answer is "run it as a background job".
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cachetools import TTLCache

from .config import Config
from .errors import ModelError, ModelUnavailable
from .models.base import Message, ModelClient, ModelRequest, Usage
from .patches import parse_and_apply
from .routing import Route, TaskFacts, route_interactive
from .validation.base import Candidate
from .validation.runner import ValidationSession, validate
from .validation.syntax import SyntaxChecker
from .workspace_context import WorkspaceContext

log = logging.getLogger(__name__)

TYPECHECK_MIN_REMAINING_S = 0.8  # a type check is tried only with this much budget left
WINDOW_LINES = 40  # lines of the file shown around the range

SYSTEM_PROMPT = """\
You fix or rewrite a small piece of TypeScript/JavaScript inside a code editor.
Answer ONLY with SEARCH/REPLACE blocks for the one file you are given, in exactly this form:

path/of/the/file.ts
<<<<<<< SEARCH
exact existing lines, copied character for character
=======
replacement lines
>>>>>>> REPLACE

Keep each SEARCH section small and unique in the file. Change only what the request needs. No prose."""

Status = Literal["edit", "background", "failed"]


@dataclass(frozen=True)
class ActionRequest:
    uri: str
    path: str  # absolute file path
    version: int
    text: str  # the document when the action was resolved
    start_line: int
    end_line: int
    kind: str  # quick_fix | refactor.rewrite
    instruction: str
    diagnostic: str = ""  # "<source> <code>: <message>" when fixing a diagnostic


@dataclass(frozen=True)
class ActionResult:
    status: Status
    reason: str
    new_text: str | None = None
    route: Route | None = None
    usage: Usage | None = None
    checks: tuple[str, ...] = ()


@dataclass
class QuickFixService:
    model_client: ModelClient
    config: Callable[[], Config]
    context: WorkspaceContext
    root: Path | None
    record: Callable[[Usage, str, str], None] = lambda usage, kind, outcome: None
    syntax: SyntaxChecker = field(default_factory=SyntaxChecker)
    session: ValidationSession = field(default_factory=ValidationSession)
    _cache: TTLCache[str, ActionResult] = field(default_factory=lambda: TTLCache(maxsize=256, ttl=600))

    def facts(self, request: ActionRequest) -> TaskFacts:
        impact = self.context.impact_of(request.path, request.start_line, request.end_line)
        if impact is None:
            return TaskFacts(task_id=request.uri, kind=_routing_kind(request.kind),
                             selection_lines=request.end_line - request.start_line + 1)
        return TaskFacts(
            task_id=request.uri, kind=_routing_kind(request.kind), path=impact.path, symbols=impact.symbols,
            direct_references=impact.direct_references, transitive_references=impact.transitive_references,
            referencing_modules=impact.referencing_modules, security_reasons=impact.security_reasons,
            selection_lines=impact.lines, is_test_file=impact.is_test,
        )

    def classify(self, request: ActionRequest) -> Route:
        """The interactive route (fast model); its score says whether the task wants the deep model."""
        return route_interactive(self.facts(request), self.config().routing)

    def wants_background(self, route: Route) -> bool:
        config = self.config().routing
        return config.interactive_fallback and route.score >= config.complexity_threshold

    async def resolve(self, request: ActionRequest, received_at: float | None = None) -> ActionResult:
        started = received_at if received_at is not None else time.monotonic()
        deadline = started + self.config().routing.max_latency_ms / 1000.0
        key = _cache_key(request)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        route = self.classify(request)
        if self.wants_background(route):
            return ActionResult("background", "this change wants the deep model: it runs as a background job",
                                route=route)
        if not self.model_client.available:
            raise ModelUnavailable("no API key")
        result = await self._generate(request, route, deadline)
        if result.status == "edit":
            self._cache[key] = result
        return result

    async def _generate(self, request: ActionRequest, route: Route, deadline: float) -> ActionResult:
        config = self.config()
        rel = self.context.relative(request.path) or Path(request.path).name
        model_request = ModelRequest(
            model=config.routing.default_model,
            messages=(Message("user", self._prompt(request, rel, config)),),
            max_tokens=1024,
            system_stable=SYSTEM_PROMPT,
            deadline_s=max(0.05, deadline - time.monotonic()),
            max_retries=0,
            tags={"task_type": request.kind},
        )
        try:
            reply = await self.model_client.complete(model_request)
        except ModelUnavailable:
            raise
        except ModelError as error:
            return ActionResult("background", f"no answer in time ({error}): run it as a background job",
                                route=route)
        if reply.stop_reason == "deadline":
            self.record(reply.usage, request.kind, "timed_out")
            return ActionResult("background", "the fast model did not finish inside the budget", route=route,
                                usage=reply.usage)
        outcome, result = await self._check(request, rel, reply.text, route, reply.usage, deadline)
        self.record(reply.usage, request.kind, outcome)
        return result

    async def _check(
        self, request: ActionRequest, rel: str, reply: str, route: Route, usage: Usage, deadline: float
    ) -> tuple[str, ActionResult]:
        roots = [self.root] if self.root is not None else [Path(request.path).parent]
        patch = parse_and_apply(reply, {rel: request.text}, roots)
        new_text = patch.new_texts.get(rel) if patch.ok else None
        if new_text is None or new_text == request.text:
            why = "; ".join(p.describe() for p in patch.problems) or "the reply changed nothing"
            return "failed", ActionResult("failed", f"the model's edit did not apply: {why}", route=route, usage=usage)
        syntax_errors = self.syntax.check_file(rel, request.text, new_text)
        if syntax_errors:
            first = syntax_errors[0]
            return "failed", ActionResult(
                "failed", f"the model's edit has a syntax error at line {first.range.start.line + 1}",
                route=route, usage=usage, checks=("syntax: failed",),
            )
        checks = ["syntax: passed"]
        remaining = deadline - time.monotonic()
        config = self.config()
        if (self.root is not None and "typescript_compile" in config.validation.checks
                and remaining > TYPECHECK_MIN_REMAINING_S):
            try:
                async with asyncio.timeout(remaining - 0.05):
                    report = await validate(
                        Candidate(self.root, {rel: new_text}, base={rel: request.text}), ["typescript_compile"],
                        trusted=False,
                        config=config.validation, session=self.session,
                    )
            except TimeoutError:
                checks.append("typescript_compile: skipped (no budget left)")
            else:
                if report.status in ("fail-syntax", "fail-logic"):
                    first_finding = report.findings[0].message if report.findings else report.reason
                    return "failed", ActionResult("failed", f"the edit does not type-check: {first_finding}",
                                                  route=route, usage=usage)
                checks.append(f"typescript_compile: {report.status}")
        else:
            checks.append("typescript_compile: skipped (no budget left)")
        return "validated", ActionResult("edit", "validated", new_text=new_text, route=route, usage=usage,
                                         checks=tuple(checks))

    def _prompt(self, request: ActionRequest, rel: str, config: Config) -> str:
        lines = request.text.split("\n")
        first = max(0, request.start_line - WINDOW_LINES)
        last = min(len(lines), request.end_line + WINDOW_LINES + 1)
        window = "\n".join(lines[first:last])
        selected = "\n".join(lines[request.start_line : request.end_line + 1])
        context = ""
        if self.context.ready:
            snippets = self.context.completion_snippets(
                request.path, "\n".join(lines[: request.start_line]) + "\n", "\n".join(lines[request.start_line :]),
                config.context.interactive_budget_tokens, config,
            )
            context = "\n".join(text for _, text in snippets)
        problem = f"Diagnostic to fix: {request.diagnostic}\n" if request.diagnostic else ""
        return (
            (f"Definitions the code uses:\n{context}\n\n" if context else "")
            + f"File: {rel} (lines {first + 1}-{last})\n```\n{window}\n```\n\n"
            + f"Lines {request.start_line + 1}-{request.end_line + 1}:\n```\n{selected}\n```\n"
            + problem
            + f"Request: {request.instruction}\n"
            + f"Answer with SEARCH/REPLACE blocks for {rel}."
        )


def _routing_kind(kind: str) -> str:
    return "quick_fix" if kind == "quick_fix" else "refactor"


def _cache_key(request: ActionRequest) -> str:
    digest = hashlib.sha256(request.text.encode("utf-8", "surrogatepass")).hexdigest()
    parts = [request.uri, digest, request.start_line, request.end_line, request.kind, request.instruction,
             request.diagnostic]
    return json.dumps(parts)
