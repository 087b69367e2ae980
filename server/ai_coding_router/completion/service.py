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
from .postprocess import (
    clean_completion,
    clean_partial,
    ends_at_boundary,
    strip_stream_preamble,
    warm_syntax_base,
)
from .prompt import build_completion_request, prompt_key

log = logging.getLogger(__name__)

Trigger = Literal["automatic", "invoked"]
Source = Literal["model", "cache", "forward", "inflight", "none"]
POSTPROCESS_RESERVE_S = 0.010  # kept back from the model's deadline for cleaning and answering
WARM_AFTER_SEND_S = 0.005  # the request is on the wire by then; no model answers sooner than this
# After a keystroke, this much quiet before the prompt for the cursor is built ahead of any request: an
# automatic request finds it ready when its debounce ends, an explicit one as soon as it arrives.
PREPARE_IDLE_S = 0.025
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


@dataclass(frozen=True)
class _Prepared:
    """The prompt for one cursor position of one document text, built before (or for) a request."""

    uri: str
    prefix: str
    suffix: str
    config: Config
    context_version: object  # the workspace index the context came from (another file re-indexed: stale)
    request: ModelRequest  # without a deadline: that starts when a request arrives
    key: str

    def matches(self, query: CompletionQuery, config: Config, context_version: object) -> bool:
        # The text itself, not the version: a reopened document starts again at version 1.
        return (self.config is config and self.context_version is context_version and self.uri == query.uri
                and len(self.prefix) == len(query.prefix) and self.prefix == query.prefix
                and self.suffix == query.suffix)


@dataclass(frozen=True)
class _Cleaned:
    raw: str
    text: str | None  # clean_completion(raw): what to insert, or None


def _clean_reply(result: ModelResult, query: CompletionQuery, cleaned_so_far: _Cleaned | None) -> str | None:
    """What to insert from a reply: the cleaning done while it streamed when the stream ended with that text."""
    if result.stop_reason != "deadline" and cleaned_so_far is not None and cleaned_so_far.raw == result.text:
        return cleaned_so_far.text
    clean = clean_partial if result.stop_reason == "deadline" else clean_completion
    return clean(result.text, prefix=query.prefix, suffix=query.suffix, language_id=query.language_id)


@dataclass
class _Running:
    query: CompletionQuery
    task: asyncio.Task[ModelResult]
    streamed: str = ""  # what the reply will insert, as far as it has streamed
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # set on every streamed delta
    cleaned: _Cleaned | None = None  # the reply as streamed so far, cleaned while the model went on

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
        context_version: Callable[[], object] | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self._client = model_client
        self._config = config
        self._context = context
        self._context_version = context_version or (lambda: None)
        self.recorder = recorder
        completion = config().completion
        self._cache = CompletionCache(maxsize=completion.cache_size, ttl_s=completion.cache_ttl_s)
        self._debounce = AdaptiveDebounce(completion.debounce_min_ms, completion.debounce_max_ms)
        self._running: dict[str, _Running] = {}
        self._inflight: InFlight[_Running] = InFlight()
        self._generation: dict[str, int] = {}
        self._prepared: _Prepared | None = None  # one slot: the user types in one place at a time
        self._prepare_timer: asyncio.TimerHandle | None = None
        self._last_snapshot: Callable[[], CompletionQuery | None] | None = None
        self.model_calls = 0
        self.prompts_built = 0

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

    def prepare_soon(self, snapshot: Callable[[], CompletionQuery | None]) -> None:
        """Build the prompt for the cursor once typing pauses for ``PREPARE_IDLE_S``.

        Context pruning is most of the server's own time per request (~1 ms on a 5,000-line file); done in
        the pause, it is off the path of the request that follows. Every keystroke restarts the wait, so
        a burst of typing costs nothing. ``snapshot`` is taken when the wait ends, not at the keystroke.
        """
        if self._prepare_timer is not None:
            self._prepare_timer.cancel()
            self._prepare_timer = None
        self._last_snapshot = snapshot
        if not self._client.available:
            return
        self._prepare_timer = asyncio.get_running_loop().call_later(PREPARE_IDLE_S, self._prepare_now, snapshot)

    def context_changed(self) -> None:
        """The workspace index took an edit (~1.5 s into a pause): the prompt prepared for the cursor used
        the old one, so it is built again now rather than by the request that comes after the pause."""
        if self._prepared is not None and self._last_snapshot is not None:
            self.prepare_soon(self._last_snapshot)

    def _prepare_now(self, snapshot: Callable[[], CompletionQuery | None]) -> None:
        self._prepare_timer = None
        try:
            query = snapshot()
            if query is not None:
                self._client.prepare(self._prepared_for(query).request)
                self._warm_cleaning(query)
        except Exception:  # an optimisation: the request builds its own prompt if this fails
            log.exception("preparing a completion prompt failed")

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

        prepared = self._prepared_for(query)
        remaining = deadline - time.monotonic() - POSTPROCESS_RESERVE_S
        if remaining <= 0:
            return CompletionAnswer(None, "none", "the latency budget ran out before the model call")
        key = prepared.key
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.remember_shown(query.uri, query.prefix, query.suffix, cached)
            return CompletionAnswer(cached, "cache", "same prompt answered before")

        # A superseded or cancelled call still bills its prompt: the ledger hears of it.
        request = replace(prepared.request, deadline_s=remaining,
                          on_cancelled=lambda usage: self._record(usage, "cancelled", query))
        ran = await self._run_model(query, request)
        if ran is None:
            return CompletionAnswer(None, "none", "superseded by a newer request")
        result, cleaned_so_far = ran
        answer = self._finish(query, result, cleaned_so_far)
        if answer.text is not None:
            self._cache.put(key, answer.text)
            self._cache.remember_shown(query.uri, query.prefix, query.suffix, answer.text)
        if not is_current():
            self._record(result.usage, "dropped_stale", query)
            return CompletionAnswer(None, "none", "the document changed while the model answered", result.usage)
        self._record(result.usage, "timed_out" if result.stop_reason == "deadline" else "ok", query)
        return answer

    def _prepared_for(self, query: CompletionQuery) -> _Prepared:
        """The prompt for ``query``: the one built in the last typing pause when it is for the same text."""
        config = self._config()
        context_version = self._context_version()
        prepared = self._prepared
        if prepared is not None and prepared.matches(query, config, context_version):
            return prepared
        request = build_completion_request(
            path=query.path,
            language_id=query.language_id,
            prefix=query.prefix,
            suffix=query.suffix,
            context_snippets=self._gather_context(query),
            model=config.routing.default_model,  # interactive requests are pinned to the fast model
            max_tokens=config.completion.max_tokens,
            deadline_s=None,
        )
        prepared = _Prepared(query.uri, query.prefix, query.suffix, config, context_version, request,
                             prompt_key(request))
        self._prepared = prepared
        self.prompts_built += 1
        return prepared

    @staticmethod
    def _warm_cleaning(query: CompletionQuery) -> None:
        try:
            warm_syntax_base(query.prefix, query.suffix, query.language_id)
        except Exception:  # an optimisation: cleaning parses it again if this fails
            log.exception("parsing around the cursor ahead of the reply failed")

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

    async def _run_model(
        self, query: CompletionQuery, request: ModelRequest
    ) -> tuple[ModelResult, _Cleaned | None] | None:
        """The model's result and, when the reply's last text arrived at a token boundary, its cleaning."""
        self._supersede(query.uri)
        running: _Running | None = None

        def on_text(delta: str, text: str) -> bool:
            if running is not None:
                running.streamed = strip_stream_preamble(text)
                self._inflight.update(running, running.streamed)
                running.changed.set()
                if ends_at_boundary(text):
                    # Maybe the last text: the model still generates the stop sequence (or end of turn),
                    # which the API does not stream, so cleaning now takes it off the answer's path.
                    running.cleaned = _Cleaned(text, clean_completion(
                        text, prefix=query.prefix, suffix=query.suffix, language_id=query.language_id))
            return True

        task = asyncio.ensure_future(self._client.complete(request, on_text))
        # Work that needs no reply is done while waiting for it, not after (a timer: never ahead of the send).
        warm = asyncio.get_running_loop().call_later(WARM_AFTER_SEND_S, self._warm_cleaning, query)
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
            return None if task.cancelled() else (ModelResultFailure.from_error(request.model, error), None)
        finally:
            warm.cancel()
            self._inflight.unregister(query.uri, running)
            if self._running.get(query.uri) is running:
                del self._running[query.uri]
        ttft = result.usage.ttft_ms
        self._debounce.observe_model_latency(ttft if ttft is not None else (time.monotonic() - started) * 1000.0)
        return result, running.cleaned

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
        text = _clean_reply(result, running.query, running.cleaned)
        if text is None or not text.startswith(typed) or len(text) == len(typed):
            return None
        return CompletionAnswer(text[len(typed):], "inflight", "reused the stream the user is typing along")

    def _finish(self, query: CompletionQuery, result: ModelResult, cleaned_so_far: _Cleaned | None = None
                ) -> CompletionAnswer:
        if isinstance(result, ModelResultFailure):
            self._record(result.usage, "failed", query)
            return CompletionAnswer(None, "none", result.reason, result.usage, result.usage.model)
        cleaned = _clean_reply(result, query, cleaned_so_far)
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
