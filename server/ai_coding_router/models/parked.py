"""A model call built in the typing pause and parked just before its send.

The SDK turns a call into an HTTP request in ~600 Python calls (options, headers, URL, the httpx request):
0.6–0.7 ms of an explicitly invoked completion when the process has been idle (bench/interactive_stages.py),
a third of the server's whole overhead. That work depends only on the prompt, which is already built in
the pause (``ModelClient.prepare``). So the call is started there too, in a task of its own whose context
carries a *send gate*: the keep-alive transport (models/http_transport.py) gets the finished request,
prepares its bytes and waits at the gate before it takes a connection. Nothing has left the machine and
nothing is billed until a completion for the same prompt takes the call and opens the gate. A call never
taken is cancelled when the next prompt is prepared or the client closes, still at the gate.

The SDK is used as it is: its public ``post`` runs in the parked task, and the transport, which is ours, is
the one place that waits.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# Set only in the context of a parked call: the transport awaits it before sending.
SEND_GATE: contextvars.ContextVar[asyncio.Future[None] | None] = contextvars.ContextVar(
    "ai_coding_router_send_gate", default=None)


def waiting_to_send() -> bool:
    """True in a parked call whose gate is still closed (the transport may get a connection ready)."""
    gate = SEND_GATE.get()
    return gate is not None and not gate.done()


async def wait_at_gate() -> None:
    """Called by the transport with the request ready to send: a parked call waits here to be taken."""
    gate = SEND_GATE.get()
    if gate is not None and not gate.done():
        await gate


class _Parked(Generic[T]):
    def __init__(self, key: Hashable, gate: asyncio.Future[None], task: asyncio.Task[T]) -> None:
        self.key = key
        self.gate = gate
        self.task = task
        self.taken = False


class ParkingSlot(Generic[T]):
    """One parked call (the user types in one place at a time): the newest prepared prompt's.

    ``close`` ends what a call returns (an open stream). It is needed only if a call ever finishes without
    being taken, which means its request went out without waiting at the gate (a transport that does not
    know the gate, a dependency that sends from another context): then the stream is closed at once and
    parking turns itself off for good, since every typing pause would otherwise send a billed call."""

    def __init__(self, close: Callable[[T], Coroutine[Any, Any, object]]) -> None:
        self._close = close
        self._parked: _Parked[T] | None = None
        self._closing: set[asyncio.Task[object]] = set()
        self.disabled = False
        self.parked = 0  # calls started ahead
        self.taken = 0  # ...that a request used
        self.dropped = 0  # ...cancelled at the gate, never sent

    def park(self, key: Hashable, start: Callable[[], Coroutine[Any, Any, T]]) -> None:
        """Start ``start()`` now in a task that stops at the send gate; replaces a call for another key.
        Raises RuntimeError outside a running event loop (and then changes nothing)."""
        loop = asyncio.get_running_loop()
        if self.disabled:
            return
        current = self._parked
        if current is not None and current.key == key and not current.task.done():
            return  # the same prompt is already waiting
        self.drop()
        gate: asyncio.Future[None] = loop.create_future()
        context = contextvars.copy_context()
        context.run(SEND_GATE.set, gate)
        task = loop.create_task(start(), context=context)
        parked = _Parked(key, gate, task)
        task.add_done_callback(lambda _: self._ended(parked))
        self._parked = parked
        self.parked += 1

    def _ended(self, parked: _Parked[T]) -> None:
        """A parked call's task ended: cancelled (dropped), failed before the gate, or taken."""
        task = parked.task
        if parked.taken or task.cancelled():
            return
        if task.exception() is not None:  # never awaited by anyone: log it instead of a warning at exit
            log.debug("a call prepared ahead failed before it was needed: %r", task.exception())
            return
        self.disabled = True
        log.error("a call prepared ahead was sent before any request took it: calls are no longer "
                  "prepared ahead (its stream is closed)")
        closing = asyncio.get_running_loop().create_task(self._close(task.result()))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    def take(self, key: Hashable) -> asyncio.Task[T] | None:
        """The parked call for ``key``, its gate open (it sends on the loop's next turn); None if none.

        A call for another key stays parked: a background job's call must not cost the cursor its own."""
        parked = self._parked
        if parked is None or parked.key != key or parked.task.done():
            return None
        self._parked = None
        parked.taken = True
        parked.gate.set_result(None)
        self.taken += 1
        return parked.task

    def drop(self) -> None:
        parked, self._parked = self._parked, None
        if parked is not None and not parked.task.done():
            parked.task.cancel()
            self.dropped += 1

    async def adopt(self, task: asyncio.Task[T]) -> T:
        """Await a taken call. Cancelled while it finished, its result (an open stream) is closed here: no
        task is left holding a response nobody reads (the API would go on billing its tokens)."""
        try:
            return await task  # cancelling the awaiter cancels the task (and the request) with it
        except asyncio.CancelledError:
            if task.done() and not task.cancelled() and task.exception() is None:
                await self._close(task.result())
            raise

    async def aclose(self) -> None:
        parked = self._parked
        self.drop()
        pending = [*self._closing, *([parked.task] if parked is not None else [])]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
