"""The interactive completion path: debounce → cache → stream on the fast model → clean → answer in budget.

Ownership of cancellation: one running completion per document. A newer request for the same document
supersedes the older one (its model stream is closed at once, so no more tokens are billed) unless the
newer request only extends what the older one is already streaming; then the older stream is reused.
``$/cancelRequest`` cancels the handler's task, which cancels the model call in the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from ..config import Config
from ..errors import ModelError, ModelUnavailable
from ..models.base import ModelClient, ModelRequest, ModelResult, Usage
from .cache import CompletionCache, InFlight
from .debounce import AdaptiveDebounce
from .postprocess import clean_completion, clean_partial, strip_stream_preamble
from .prompt import build_completion_request, prompt_key

log = logging.getLogger(__name__)

Trigger = Literal["automatic", "invoked"]
Source = Literal["model", "cache", "forward", "inflight", "none"]
POSTPROCESS_RESERVE_S = 0.010  # kept back from the model's deadline for cleaning and answering
MAX_CONTEXT_DOCUMENT_CHARS = 2 * 1024 * 1024  # larger documents get no context snippets (as the index)


@dataclass(frozen=True)
class CompletionQuery:
    """An immutable snapshot of the request, taken before the first ``await``."""

    uri: str
    path: str
    language_id: str
    version: int
    prefix: str
    suffix: str
    trigger: Trigger = "automatic"
    received_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class CompletionAnswer:
    text: str | None
    source: Source
    reason: str
    usage: Usage | None = None
    model: str | None = None


@dataclass(frozen=True)
class CompletionCall:
    """What the ledger needs from one interactive model call."""

    usage: Usage
    task_type: str
    outcome: str  # ok | cancelled | timed_out | failed | dropped_stale | empty
    uri: str


ContextProvider = Callable[[CompletionQuery, int], Sequence[tuple[str, str]]]
Recorder = Callable[[CompletionCall], None]


@dataclass
class _Running:
    query: CompletionQuery
    task: asyncio.Task[ModelResult]
    streamed: str = ""  # what the reply will insert, as far as it has streamed
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # set on every streamed delta

    def agrees_with(self, typed: str) -> bool:
        """The user's typing and the stream have not gone different ways (yet)."""
        return self.streamed.startswith(typed) or typed.startswith(self.streamed)


class CompletionService:
    """Plain Python: the LSP layer turns queries and answers into protocol types."""

    def __init__(
        self,
        model_client: ModelClient,
        config: Callable[[], Config],
        *,
        context: ContextProvider | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self._client = model_client
        self._config = config
        self._context = context
        self.recorder = recorder
        completion = config().completion
        self._cache = CompletionCache(maxsize=completion.cache_size, ttl_s=completion.cache_ttl_s)
        self._debounce = AdaptiveDebounce(completion.debounce_min_ms, completion.debounce_max_ms)
        self._running: dict[str, _Running] = {}
        self._inflight: InFlight[_Running] = InFlight()
        self._generation: dict[str, int] = {}
        self.model_calls = 0

    def budget_s(self, trigger: Trigger) -> float:
        config = self._config()
        budget_ms = config.routing.max_latency_ms
        if trigger == "automatic" and config.completion.automatic_latency_ms is not None:
            budget_ms = min(budget_ms, config.completion.automatic_latency_ms)
        return budget_ms / 1000.0

    def note_keystroke(self, uri: str) -> None:
        """Called on every didChange: feeds the debounce and marks older requests as superseded."""
        self._debounce.observe_keystroke(time.monotonic())
        self._generation[uri] = self._generation.get(uri, 0) + 1

    async def complete(self, query: CompletionQuery, is_current: Callable[[], bool]) -> CompletionAnswer:
        deadline = query.received_at + self.budget_s(query.trigger)

        forward = self._cache.forward(query.uri, query.prefix, query.suffix)
        if forward is not None:
            return CompletionAnswer(forward, "forward", "the user is typing a suggestion already shown")

        reused = await self._try_reuse_inflight(query, deadline)
        if reused is not None:
            return reused

        generation = self._generation.get(query.uri, 0)
        delay = self._debounce.delay_s(query.trigger)
        if delay > 0:
            await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            if self._generation.get(query.uri, 0) != generation or not is_current():
                return CompletionAnswer(None, "none", "superseded while debouncing")

        if not self._client.available:
            raise ModelUnavailable("no API key")

        config = self._config()
        snippets = self._gather_context(query)
        remaining = deadline - time.monotonic() - POSTPROCESS_RESERVE_S
        if remaining <= 0:
            return CompletionAnswer(None, "none", "the latency budget ran out before the model call")
        request = build_completion_request(
            path=query.path,
            language_id=query.language_id,
            prefix=query.prefix,
            suffix=query.suffix,
            context_snippets=snippets,
            model=config.routing.default_model,  # interactive requests are pinned to the fast model
            max_tokens=config.completion.max_tokens,
            deadline_s=remaining,
        )
        key = prompt_key(request)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.remember_shown(query.uri, query.prefix, query.suffix, cached)
            return CompletionAnswer(cached, "cache", "same prompt answered before")

        # A superseded or cancelled call still bills its prompt: the ledger hears of it.
        request = replace(request, on_cancelled=lambda usage: self._record(usage, "cancelled", query))
        result = await self._run_model(query, request)
        if result is None:
            return CompletionAnswer(None, "none", "superseded by a newer request")
        answer = self._finish(query, result)
        if answer.text is not None:
            self._cache.put(key, answer.text)
            self._cache.remember_shown(query.uri, query.prefix, query.suffix, answer.text)
        if not is_current():
            self._record(result.usage, "dropped_stale", query)
            return CompletionAnswer(None, "none", "the document changed while the model answered", result.usage)
        self._record(result.usage, "timed_out" if result.stop_reason == "deadline" else "ok", query)
        return answer

    def _gather_context(self, query: CompletionQuery) -> Sequence[tuple[str, str]]:
        if self._context is None:
            return ()
        if len(query.prefix) + len(query.suffix) > MAX_CONTEXT_DOCUMENT_CHARS:
            # The context engine parses an unindexed document whole, on the event loop: a 20 MB file
            # blocked every request for ~50 s (tests/e2e/test_fuzz_lsp.py). The index skips such files too.
            return ()
        try:
            return self._context(query, self._config().context.interactive_budget_tokens)
        except Exception:  # context is an optimisation: a failure must not cost the completion
            log.exception("context gathering failed for %s", query.uri)
            return ()

    async def _run_model(self, query: CompletionQuery, request: ModelRequest) -> ModelResult | None:
        self._supersede(query.uri)
        running: _Running | None = None

        def on_text(delta: str, text: str) -> bool:
            if running is not None:
                running.streamed = strip_stream_preamble(text)
                self._inflight.update(running, running.streamed)
                running.changed.set()
            return True

        task = asyncio.ensure_future(self._client.complete(request, on_text))
        running = _Running(query, task)
        self._running[query.uri] = running
        self._inflight.register(query.uri, query.prefix, query.suffix, running)
        self.model_calls += 1
        started = time.monotonic()
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                task.cancel()  # $/cancelRequest: close the stream, then let the cancellation through
                raise
            return None  # superseded: the newer request closed our stream
        except ModelError as error:
            log.info("completion model call failed: %s", error)
            return None if task.cancelled() else ModelResultFailure.from_error(request.model, error)
        finally:
            self._inflight.unregister(query.uri, running)
            if self._running.get(query.uri) is running:
                del self._running[query.uri]
        ttft = result.usage.ttft_ms
        self._debounce.observe_model_latency(ttft if ttft is not None else (time.monotonic() - started) * 1000.0)
        return result

    def _supersede(self, uri: str) -> None:
        previous = self._running.pop(uri, None)
        if previous is not None and not previous.task.done():
            previous.task.cancel()

    async def _try_reuse_inflight(self, query: CompletionQuery, deadline: float) -> CompletionAnswer | None:
        found = self._inflight.find_extending(query.uri, query.prefix, query.suffix)
        if found is None:
            return None
        running, typed = found
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                # Wait only while the stream keeps agreeing with what was typed: when it goes another way
                # the caller supersedes it at once instead of waiting for it to end.
                while not running.task.done():
                    if not running.agrees_with(typed):
                        return None
                    running.changed.clear()
                    delta = asyncio.ensure_future(running.changed.wait())
                    try:
                        await asyncio.wait((running.task, delta), return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        delta.cancel()
                result = running.task.result()
        except (TimeoutError, asyncio.CancelledError, ModelError):
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            return None
        text = clean_completion(result.text, prefix=running.query.prefix, suffix=running.query.suffix,
                                language_id=query.language_id)
        if text is None or not text.startswith(typed) or len(text) == len(typed):
            return None
        return CompletionAnswer(text[len(typed):], "inflight", "reused the stream the user is typing along")

    def _finish(self, query: CompletionQuery, result: ModelResult) -> CompletionAnswer:
        if isinstance(result, ModelResultFailure):
            self._record(result.usage, "failed", query)
            return CompletionAnswer(None, "none", result.reason, result.usage, result.usage.model)
        clean = clean_partial if result.stop_reason == "deadline" else clean_completion
        cleaned = clean(result.text, prefix=query.prefix, suffix=query.suffix, language_id=query.language_id)
        if cleaned is None:
            return CompletionAnswer(None, "none", "the model's reply was not usable code", result.usage,
                                    result.usage.model)
        return CompletionAnswer(cleaned, "model", "fresh from the fast model", result.usage, result.usage.model)

    def _record(self, usage: Usage, outcome: str, query: CompletionQuery) -> None:
        log.info(
            "model call task_type=inline_completion model=%s outcome=%s input=%d output=%d cache_write=%d "
            "cache_read=%d latency_ms=%.0f",
            usage.model, outcome, usage.input_tokens, usage.output_tokens, usage.cache_creation_input_tokens,
            usage.cache_read_input_tokens, usage.latency_ms,
        )
        if self.recorder is not None:
            self.recorder(CompletionCall(usage, "inline_completion", outcome, query.uri))


@dataclass(frozen=True)
class ModelResultFailure(ModelResult):
    reason: str = ""

    @classmethod
    def from_error(cls, model: str, error: ModelError) -> ModelResultFailure:
        return cls(text="", usage=Usage(model=model), stop_reason="unknown", reason=str(error))
