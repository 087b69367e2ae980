"""What the fake saw: one record per API request, and thread-safe waits on them."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

# How a request ended, from the fake's side.
OUTCOMES = (
    "pending",  # still being answered
    "completed",  # the whole response was written
    "client_disconnected",  # the client went away (EOF/reset) before the response was complete
    "error_status",  # answered with a 4xx/5xx JSON error (validation, auth or a scripted 429/529/500)
    "cut",  # scripted: socket closed mid-response
    "reset",  # scripted: connection aborted with an RST
    "error_event",  # scripted: `event: error` sent, then the stream ended
    "server_stopped",  # the fake shut down while the request was open
)


@dataclass
class RecordedRequest:
    """One request to a ``/v1/...`` path. Times are ``time.monotonic()`` (system-wide on Linux)."""

    index: int
    request_id: str  # also sent as the `request-id` response header
    method: str
    path: str
    query: str
    headers: dict[str, str]  # as sent (names lower-cased; the key is NOT masked)
    raw_body: bytes
    body: Any  # parsed JSON, or None when the body is empty or not JSON
    model: str | None
    stream: bool
    received_at: float  # after the request was read and its body parsed
    first_byte_at: float | None = None  # when its first bytes were in hand: the start of the fake's own time
    status: int | None = None  # HTTP status sent; None if no response head was sent
    outcome: str = "pending"
    fault: str | None = None  # the scripted fault applied, if any
    reply_text: str | None = None  # the text the reply would have had in full
    planned_tokens: int = 0  # text tokens in the full reply
    streamed_tokens: int = 0  # text tokens actually written (one per text_delta when streaming)
    tokens_after_disconnect: int = 0  # tokens written after the fake saw the client go (should be 0)
    client_disconnected_at: float | None = None  # when EOF/reset was seen while still replying
    finished_at: float | None = None  # when the outcome was set: just before the last bytes were written
    usage: dict[str, Any] | None = None  # the usage the response reported

    @property
    def completed(self) -> bool:
        return self.outcome == "completed"

    @property
    def finished(self) -> bool:
        return self.outcome != "pending"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        raw = data.pop("raw_body")
        if self.body is None and raw:
            data["raw_body"] = raw.decode("utf-8", "replace")
        data["completed"] = self.completed
        return data


@dataclass
class RequestLog:
    """Records appended by the server thread, read and awaited from any thread."""

    _records: list[RecordedRequest] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def add(self, make: Callable[[int], RecordedRequest]) -> RecordedRequest:
        with self._cond:
            record = make(len(self._records))
            self._records.append(record)
            self._cond.notify_all()
            return record

    def update(self, record: RecordedRequest, **changes: Any) -> None:
        with self._cond:
            for name, value in changes.items():
                setattr(record, name, value)
            self._cond.notify_all()

    def finish(self, record: RecordedRequest, outcome: str, *, override: bool = False) -> None:
        """Set the outcome once; ``override`` corrects one set just before a write that then failed."""
        with self._cond:
            if record.outcome == "pending" or override:
                record.outcome = outcome
                record.finished_at = time.monotonic()
            self._cond.notify_all()

    def snapshot(self) -> list[RecordedRequest]:
        with self._cond:
            return list(self._records)

    def clear(self) -> None:
        with self._cond:
            self._records.clear()
            self._cond.notify_all()

    def wait(self, predicate: Callable[[list[RecordedRequest]], bool], timeout: float, what: str) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self._records), timeout):
                raise TimeoutError(f"fake Anthropic API: timed out after {timeout} s waiting for {what}")

    async def wait_async(self, predicate: Callable[[list[RecordedRequest]], bool],
                         timeout: float, what: str) -> None:
        # Polls so the caller's event loop keeps running (and cancelling the wait is instant).
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                if predicate(self._records):
                    return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"fake Anthropic API: timed out after {timeout} s waiting for {what}")
            await asyncio.sleep(0.005)
