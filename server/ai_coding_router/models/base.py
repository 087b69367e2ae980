"""The model-client protocol: what the rest of the server needs from a language model, nothing more.

A call streams text with a deadline, can be stopped early by the caller or cancelled (which closes the
HTTP stream), and always returns its ``Usage`` so the ledger is written from return values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

StopReason = Literal[
    "end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal",
    "deadline",  # our deadline passed; the text so far is returned
    "caller_stop",  # the caller's on_text asked to stop; the stream was closed
    "unknown",
]


@dataclass(frozen=True)
class Usage:
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    batch: bool = False


UsageCallback = Callable[[Usage], None]


@dataclass(frozen=True)
class Message:
    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True)
class ModelRequest:
    """One call. ``system_stable`` is the prefix marked for prompt caching; ``system_dynamic`` follows it."""

    model: str
    messages: Sequence[Message]
    max_tokens: int = 1024
    system_stable: str = ""
    system_dynamic: str = ""
    stop_sequences: Sequence[str] = ()
    deadline_s: float | None = None  # wall-clock budget for the whole call, retries included
    max_retries: int = 0  # retries inside the deadline, for retryable errors only
    tags: dict[str, str] = field(default_factory=dict)  # task_type etc.; never sent to the API
    # Called when the call is cancelled after the API started answering, with what it had billed by then
    # (input and cache tokens, the output so far): a superseded completion still costs its prompt.
    on_cancelled: UsageCallback | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ModelResult:
    text: str
    usage: Usage
    stop_reason: StopReason


# Called with each text delta and the text so far; return False to stop the stream early.
TextCallback = Callable[[str, str], bool]


class ModelClient(Protocol):
    """Implemented by the Anthropic client and by anything a test wants to put in its place."""

    @property
    def available(self) -> bool:
        """False when no key is configured: callers show one message instead of calling."""
        ...

    def prepare(self, request: ModelRequest) -> None:
        """Do now what a call of ``request`` would do before sending (build its wire body), so that a call
        soon after only sends. Called in a typing pause; optional work, which may be nothing."""
        ...

    async def complete(self, request: ModelRequest, on_text: TextCallback | None = None) -> ModelResult:
        """Stream one reply. Raises a ``ModelError``; cancelling the caller closes the HTTP stream."""
        ...

    async def aclose(self) -> None: ...
