"""What the fake answers: scripted replies per model and per call, latency, and injected faults."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, TypeAlias, get_args

# Faults that replace the whole response (nothing of a message is sent).
Fault = Literal["429", "529", "500", "timeout", "reset"]
FAULTS: frozenset[str] = frozenset(get_args(Fault))

DEFAULT_TEXT = "Hello from the fake Anthropic API."


@dataclass(frozen=True)
class Reply:
    """One scripted answer.

    ``fault`` replaces the response: ``"429"`` (rate_limit_error with ``retry-after``), ``"529"``
    (overloaded_error), ``"500"`` (api_error), ``"timeout"`` (read the request, then send nothing until
    the client goes away) or ``"reset"`` (abort the TCP connection with an RST). The ``*_after_tokens``
    faults happen mid-stream after that many text tokens: ``stall`` goes silent until the client goes
    away, ``cut`` closes the socket without ``message_stop``, ``error_event`` sends ``event: error``
    (``error_event_type``) then ends, ``malformed_event`` sends one data line that is not JSON. Without
    ``stream`` they map to: stall → no answer, cut → a truncated body, error_event → a 529 (or the status
    of ``error_event_type``), malformed → a 200 whose body is not JSON.
    """

    text: str = DEFAULT_TEXT
    ttft_s: float = 0.0  # delay before the first text delta (headers and message_start go out at once)
    per_token_s: float = 0.0  # delay between text deltas, and before message_delta for tokens never streamed
    # (a matched stop sequence, the end-of-turn token): the real API generates those too
    fault: Fault | None = None
    retry_after_s: float | None = 1.0  # `retry-after` header on 429/529 (None: no header)
    retry_after_ms: int | None = None  # `retry-after-ms` header on 429/529
    should_retry: bool | None = None  # `x-should-retry` header on error statuses (None: not sent)
    stall_after_tokens: int | None = None
    cut_after_tokens: int | None = None
    error_event_after_tokens: int | None = None
    error_event_type: str = "overloaded_error"
    malformed_event_after_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; expected one of {sorted(FAULTS)}")
        if sum(x is not None for x in self._stream_faults().values()) > 1:
            raise ValueError("set at most one of stall/cut/error_event/malformed_event_after_tokens")

    def _stream_faults(self) -> dict[str, int | None]:
        return {
            "stall": self.stall_after_tokens,
            "cut": self.cut_after_tokens,
            "error_event": self.error_event_after_tokens,
            "malformed_event": self.malformed_event_after_tokens,
        }

    @property
    def stream_fault(self) -> tuple[str, int] | None:
        """The mid-stream fault and after how many tokens it strikes, if any."""
        for name, after in self._stream_faults().items():
            if after is not None:
                return name, max(0, after)
        return None

    @property
    def fault_label(self) -> str | None:
        if self.fault is not None:
            return self.fault
        stream_fault = self.stream_fault
        return None if stream_fault is None else stream_fault[0]

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v != _DEFAULTS[k]}

    @classmethod
    def from_json(cls, data: object) -> Reply:
        """A reply from its JSON form: a bare string is the text; an object names Reply fields."""
        if isinstance(data, str):
            return cls(text=data)
        if not isinstance(data, Mapping):
            raise ValueError(f"a reply must be a string or an object, not {type(data).__name__}")
        unknown = set(data) - set(_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown reply fields: {sorted(unknown)}")
        values = dict(data)
        if isinstance(values.get("fault"), int):
            values["fault"] = str(values["fault"])  # allow {"fault": 429}
        return cls(**values)


_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(Reply)}

# A scripted entry: a Reply, a bare text, or a function of the request body returning either.
ReplyFn: TypeAlias = Callable[[dict[str, Any]], "Reply | str"]
ReplyLike: TypeAlias = "Reply | str | ReplyFn"


def resolve(entry: ReplyLike, body: dict[str, Any]) -> Reply:
    if isinstance(entry, Reply):
        return entry
    if isinstance(entry, str):
        return Reply(text=entry)
    produced = entry(body)
    return produced if isinstance(produced, Reply) else Reply(text=str(produced))


class Script:
    """Thread-safe queues of replies: per model first, then model-agnostic, then the default."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str | None, deque[ReplyLike]] = {}
        self._default: ReplyLike = Reply()

    def add(self, model: str | None, *replies: ReplyLike) -> None:
        with self._lock:
            self._queues.setdefault(model, deque()).extend(replies)

    def set_default(self, reply: ReplyLike) -> None:
        with self._lock:
            self._default = reply

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()
            self._default = Reply()

    def pending(self, model: str | None = None) -> int:
        with self._lock:
            return len(self._queues.get(model, ()))

    def next_for(self, model: str, body: dict[str, Any]) -> Reply:
        with self._lock:
            for key in (model, None):
                queue = self._queues.get(key)
                if queue:
                    entry = queue.popleft()
                    break
            else:
                entry = self._default
        # Outside the lock: a callable may be slow or may itself script the fake.
        return resolve(entry, body)
