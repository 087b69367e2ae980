"""CompletionService with a scripted model: in-flight reuse, supersede, and accounting of cancelled calls.

The model here is a test double of the ``ModelClient`` protocol (timed text pieces); the HTTP side of the
same behaviour is covered end to end in tests/e2e/test_inline_completion.py.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from ai_coding_router.completion import service as service_module
from ai_coding_router.completion.service import CompletionCall, CompletionQuery, CompletionService
from ai_coding_router.config import Config
from ai_coding_router.models.base import ModelRequest, ModelResult, TextCallback, Usage

URI = "file:///w/src/user.ts"
PREFIX = "export function greet(user: { name: string }): string {\n  return "
SUFFIX = "\n}\n"
SONNET = Config().routing.default_model


@dataclass
class ScriptedModel:
    """Each call streams the next script: (seconds to wait, text piece) pairs."""

    scripts: list[list[tuple[float, str]]]
    calls: list[ModelRequest] = field(default_factory=list)
    prepared: list[ModelRequest] = field(default_factory=list)
    cancelled: int = 0

    @property
    def available(self) -> bool:
        return True

    def prepare(self, request: ModelRequest) -> None:
        self.prepared.append(request)

    async def complete(self, request: ModelRequest, on_text: TextCallback | None = None) -> ModelResult:
        self.calls.append(request)
        script = self.scripts[len(self.calls) - 1]
        text = ""
        try:
            for wait, piece in script:
                await asyncio.sleep(wait)
                text += piece
                if on_text is not None:
                    on_text(piece, text)
        except asyncio.CancelledError:
            self.cancelled += 1
            if request.on_cancelled is not None:
                request.on_cancelled(Usage(model=request.model, input_tokens=100, output_tokens=len(text)))
            raise
        return ModelResult(text=text, usage=Usage(model=request.model, input_tokens=100, output_tokens=5),
                           stop_reason="end_turn")

    async def aclose(self) -> None:
        return None


def query(typed: str = "", version: int = 1) -> CompletionQuery:
    return CompletionQuery(uri=URI, path="/w/src/user.ts", language_id="typescript", version=version,
                           prefix=PREFIX + typed, suffix=SUFFIX, trigger="invoked")


CONFIG = Config()  # one object, as the config store holds one until a reload


def service(model: ScriptedModel, calls: list[CompletionCall]) -> CompletionService:
    return CompletionService(model, lambda: CONFIG, recorder=calls.append)


SLOW_USER_NAME = [(0.05, "<inse"), (0.05, "rt>"), (0.1, "user"), (0.1, ".name"), (0.1, ";</insert>")]


async def test_typing_along_a_running_stream_reuses_it() -> None:
    model = ScriptedModel([SLOW_USER_NAME])
    calls: list[CompletionCall] = []
    completions = service(model, calls)
    first = asyncio.ensure_future(completions.complete(query(), lambda: True))
    await asyncio.sleep(0.02)
    answer = await completions.complete(query("us", version=2), lambda: True)
    assert answer.source == "inflight"
    assert answer.text == "er.name;"
    assert len(model.calls) == 1 and model.cancelled == 0
    await first


async def test_typing_away_from_a_running_stream_supersedes_it_at_once() -> None:
    # The older reply's first text arrives at ~0.2 s and says "user"; the user typed "(".
    model = ScriptedModel([[*SLOW_USER_NAME, (2.0, "")], [(0.01, "<insert>a + b);</insert>")]])
    calls: list[CompletionCall] = []
    completions = service(model, calls)
    first = asyncio.ensure_future(completions.complete(query(), lambda: True))
    await asyncio.sleep(0.02)
    started = time.monotonic()
    answer = await completions.complete(query("(", version=2), lambda: False)
    elapsed = time.monotonic() - started
    assert (await first).text is None  # superseded: answered empty
    assert len(model.calls) == 2 and model.cancelled == 1
    # It waited for the older stream only until that stream disagreed, never for its end (~2.4 s).
    assert elapsed < 1.0
    assert answer.source == "none"  # the document moved on (is_current is False): nothing to show
    assert [c.outcome for c in calls] == ["cancelled", "dropped_stale"]
    assert calls[0].usage.input_tokens == 100


async def test_a_stream_still_agreeing_is_waited_for_within_the_budget() -> None:
    model = ScriptedModel([SLOW_USER_NAME])
    completions = service(model, [])
    first = asyncio.ensure_future(completions.complete(query(), lambda: True))
    await asyncio.sleep(0.02)
    answer = await completions.complete(query("user.", version=2), lambda: True)
    assert (answer.source, answer.text) == ("inflight", "name;")
    assert len(model.calls) == 1
    await first


# --- prompts prepared in a typing pause -----------------------------------------------------------------

USER_TYPE = "export interface User { name: string }"


@dataclass
class CountingContext:
    queries: list[CompletionQuery] = field(default_factory=list)

    def __call__(self, query: CompletionQuery, budget_tokens: int) -> list[tuple[str, str]]:
        self.queries.append(query)
        return [("src/user.ts", USER_TYPE)]


def preparing_service(model: ScriptedModel, context: CountingContext, config: Config = CONFIG) -> CompletionService:
    return CompletionService(model, lambda: config, context=context)


async def pause() -> None:
    await asyncio.sleep(service_module.PREPARE_IDLE_S * 4)


async def test_a_prompt_prepared_in_a_typing_pause_serves_the_next_request() -> None:
    model = ScriptedModel([[(0.0, "<insert>user.name;</insert>")]])
    context = CountingContext()
    completions = preparing_service(model, context)
    completions.prepare_soon(lambda: query())
    await pause()
    assert completions.prompts_built == 1 and len(context.queries) == 1

    answer = await completions.complete(query(), lambda: True)
    assert (answer.source, answer.text) == ("model", "user.name;")
    assert completions.prompts_built == 1 and len(context.queries) == 1  # no second pruning
    sent = model.calls[0]
    assert USER_TYPE in sent.system_stable and PREFIX in sent.messages[0].text
    # The model client was handed the prompt in the pause, to build its wire body there.
    assert len(model.prepared) == 1
    assert (model.prepared[0].system_stable, model.prepared[0].messages) == (sent.system_stable, sent.messages)
    # The deadline starts with the request, not with the preparation.
    assert sent.deadline_s is not None and 0 < sent.deadline_s <= completions.budget_s("invoked")


async def test_a_burst_of_keystrokes_prepares_once_for_the_last_text() -> None:
    completions = preparing_service(ScriptedModel([]), context := CountingContext())
    for typed in ("u", "us", "use"):
        completions.prepare_soon(lambda typed=typed: query(typed))  # type: ignore[misc]
    await pause()
    assert completions.prompts_built == 1
    assert [q.prefix for q in context.queries] == [PREFIX + "use"]


async def test_a_prepared_prompt_is_not_used_for_other_text_or_another_config() -> None:
    model = ScriptedModel([[(0.0, "<insert>x</insert>")], [(0.0, "<insert>y</insert>")]])
    context = CountingContext()
    config = Config()
    completions = preparing_service(model, context, config)
    completions.prepare_soon(lambda: query("u"))
    await pause()
    await completions.complete(query("us", version=2), lambda: True)
    assert completions.prompts_built == 2
    assert PREFIX + "us" in model.calls[0].messages[0].text

    other = CompletionService(model, lambda: Config(), context=context)  # a reloaded config each time
    other.prepare_soon(lambda: query("us", version=2))
    await pause()
    await other.complete(query("us", version=2), lambda: True)
    assert other.prompts_built == 2


async def test_nothing_is_prepared_without_an_api_key() -> None:
    class NoKey(ScriptedModel):
        @property
        def available(self) -> bool:
            return False

    completions = preparing_service(NoKey([]), context := CountingContext())
    completions.prepare_soon(lambda: query())
    await pause()
    assert completions.prompts_built == 0 and context.queries == []


async def test_a_failing_snapshot_or_context_costs_only_the_preparation() -> None:
    def broken_snapshot() -> CompletionQuery:
        raise RuntimeError("document vanished")

    model = ScriptedModel([[(0.0, "<insert>user.name;</insert>")]])
    completions = preparing_service(model, CountingContext())
    completions.prepare_soon(broken_snapshot)
    await pause()
    assert completions.prompts_built == 0
    answer = await completions.complete(query(), lambda: True)
    assert answer.text == "user.name;"


def indexed_service(context: CountingContext, index_versions: list[object]) -> CompletionService:
    """A service whose workspace index is the last object of ``index_versions`` (append one: re-indexed)."""
    model = ScriptedModel([[(0.0, "<insert>user.name;</insert>")]])
    return CompletionService(model, lambda: CONFIG, context=context, context_version=lambda: index_versions[-1])


async def test_a_prepared_prompt_is_rebuilt_when_the_workspace_index_changed() -> None:
    context = CountingContext()
    index_versions = [object()]
    completions = indexed_service(context, index_versions)
    completions.prepare_soon(lambda: query())
    await pause()
    index_versions.append(object())  # another file was re-indexed: its signatures may have changed
    await completions.complete(query(), lambda: True)
    assert completions.prompts_built == 2 and len(context.queries) == 2


async def test_after_an_index_update_the_prompt_is_rebuilt_before_the_next_request() -> None:
    index_versions = [object()]
    completions = indexed_service(CountingContext(), index_versions)
    completions.context_changed()  # nothing prepared yet: nothing to rebuild
    await pause()
    assert completions.prompts_built == 0
    completions.prepare_soon(lambda: query())
    await pause()
    index_versions.append(object())
    completions.context_changed()
    await pause()
    assert completions.prompts_built == 2
    await completions.complete(query(), lambda: True)
    assert completions.prompts_built == 2  # the request found the rebuilt prompt


class ReturnsAfterStopTokens(ScriptedModel):
    """Notes in ``events`` when it returns, after the stop sequence's token time the API does not stream."""

    def __init__(self, scripts: list[list[tuple[float, str]]], events: list[str]) -> None:
        super().__init__(scripts)
        self.events = events

    async def complete(self, request: ModelRequest, on_text: TextCallback | None = None) -> ModelResult:
        result = await super().complete(request, on_text)
        await asyncio.sleep(0.03)  # `</insert>`: generated, withheld by the API, then message_stop
        self.events.append("returned")
        return result


def cleaning_recorded(monkeypatch: pytest.MonkeyPatch, events: list[str]) -> None:
    real = service_module.clean_completion

    def recording(raw: str, **kwargs: Any) -> str | None:
        events.append(f"clean {raw}")
        return real(raw, **kwargs)

    monkeypatch.setattr(service_module, "clean_completion", recording)


async def test_the_reply_is_cleaned_while_the_model_generates_its_stop_sequence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events: list[str] = []
    cleaning_recorded(monkeypatch, events)
    model = ReturnsAfterStopTokens([[(0.01, "<insert>user"), (0.01, ".name;")]], events)
    answer = await service(model, []).complete(query(), lambda: True)
    assert answer.source == "model" and answer.text == "user.name;"
    # Cleaned at the delta that ended at a token boundary; nothing left to clean once the model returned.
    assert events == ["clean <insert>user.name;", "returned"]


async def test_a_reply_whose_last_text_was_not_cleaned_is_cleaned_after_it_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events: list[str] = []
    cleaning_recorded(monkeypatch, events)
    model = ReturnsAfterStopTokens([[(0.01, "<insert>user;"), (0.01, " user.na"), (0.01, "me")]], events)
    answer = await service(model, []).complete(query(), lambda: True)
    assert answer.text is not None
    assert events == ["clean <insert>user;", "returned", "clean <insert>user; user.name"]
