"""The ``ModelClient`` on the official async Anthropic SDK.

The SDK's own retries are switched off: it obeys ``retry-after`` without a bound, which would blow an
interactive latency budget. Retries happen here, inside the request's deadline. ``anthropic`` is
imported lazily because importing it costs about a second, which must not delay ``initialize``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import time
from typing import TYPE_CHECKING, Any, Literal
from urllib.request import getproxies

from cachetools import LRUCache

from ..context.redact import redact
from ..errors import (
    ModelConnectionError,
    ModelError,
    ModelOverloaded,
    ModelRateLimited,
    ModelRequestError,
    ModelServerError,
    ModelStreamBroken,
    ModelTimeout,
    ModelUnavailable,
)
from .base import ModelRequest, ModelResult, StopReason, TextCallback, Usage
from .circuit import CircuitBreaker, CircuitBreakers, CircuitSettings, Ticket
from .parked import ParkingSlot

if TYPE_CHECKING:
    import httpx2
    from anthropic import AsyncAnthropic, AsyncStream

log = logging.getLogger(__name__)

NO_KEY_MESSAGE = (
    "AI features are off: no API key. Set ANTHROPIC_API_KEY in the environment the editor starts the "
    "server from (or ANTHROPIC_BASE_URL for an Anthropic-compatible endpoint), then restart the server."
)
HttpClientKind = Literal["lean", "httpx"]
MAX_BACKOFF_S = 8.0
MAX_RETRY_WAIT_S = 30.0  # a longer retry-after is reported to the caller instead of waited out
WIRE_BODIES_KEPT = 4


def request_params(request: ModelRequest) -> dict[str, Any]:
    """The Messages API body for a request; the stable system prefix is marked for prompt caching.

    This is where every prompt leaves the machine, so credential-looking literals (AWS keys, private key
    blocks, tokens, ``apiKey = "..."``) are masked here whatever built the prompt: the completion and
    quick-fix prompts carry the file around the cursor verbatim (found by tests/e2e/test_secrets.py).
    """
    system: list[dict[str, Any]] = []
    if request.system_stable:
        system.append(
            {"type": "text", "text": _mask(request.system_stable), "cache_control": {"type": "ephemeral"}}
        )
    if request.system_dynamic:
        system.append({"type": "text", "text": _mask(request.system_dynamic)})
    params: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": [{"role": m.role, "content": _mask(m.text)} for m in request.messages],
    }
    if system:
        params["system"] = system
    if request.stop_sequences:
        params["stop_sequences"] = list(request.stop_sequences)
    return params


def wire_body(request: ModelRequest) -> bytes:
    """The JSON a streamed call of ``request`` sends, encoded as the SDK encodes a body.

    A lone surrogate (an editor can send one as a ``\\ud800`` escape) cannot be encoded as UTF-8: it goes as
    ``?`` rather than failing every call for that document."""
    body = {**request_params(request), "stream": True}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8", "replace")


def _body_key(request: ModelRequest) -> tuple[object, ...]:
    """What of a request goes on the wire (not its deadline, retries or tags). A prepared prompt's texts are
    the same string objects at send time, so hashing and comparing them costs nothing after the first."""
    return (request.model, request.max_tokens, request.system_stable, request.system_dynamic,
            tuple(request.messages), tuple(request.stop_sequences))


def _mask(text: str) -> str:
    """``redact`` line by line, as the context engine does: each line is memoised, so a prompt that changed
    by one keystroke costs one line's scan (the whole 8 KB text costs ~4 ms). A key block is still masked:
    its BEGIN line by the key-block pattern, its body lines by the base64-line rule."""
    return "\n".join(redact(line) for line in text.split("\n"))


def proxy_configured() -> bool:
    """A proxy for http, https or all schemes in the environment (what httpx2 itself would use)."""
    proxies = getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


def lean_http_client() -> httpx2.AsyncClient:
    """The SDK's default httpx2 client (its timeouts, limits, redirects) on our keep-alive transport."""
    from anthropic import DefaultAsyncHttpxClient

    from .http_transport import KeepAliveTransport

    return DefaultAsyncHttpxClient(transport=KeepAliveTransport())


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            continue
    return None


def translate_error(exc: BaseException) -> ModelError:
    """Map SDK and transport exceptions onto our tree, with messages a user can act on."""
    import anthropic
    import httpx2

    if isinstance(exc, ModelError):
        return exc
    if isinstance(exc, anthropic.APIStatusError):
        response = getattr(exc, "response", None)
        detail = _error_detail(exc.body) or exc.message
        return status_error(exc.status_code, detail, _retry_after(getattr(response, "headers", None)))
    if isinstance(exc, anthropic.APITimeoutError | httpx2.TimeoutException):
        return ModelTimeout("the API did not answer in time")
    if isinstance(exc, anthropic.APIConnectionError | httpx2.NetworkError):
        return ModelConnectionError(f"cannot reach the API: {exc}")
    if isinstance(exc, httpx2.TransportError | httpx2.StreamError | json.JSONDecodeError):
        return ModelStreamBroken(f"the API's stream broke off: {type(exc).__name__}: {exc}")
    return ModelError(f"model call failed: {type(exc).__name__}: {exc}")


def status_error(status: int, detail: str, retry_after: float | None = None) -> ModelError:
    """The error an API answer with ``status`` stands for: an HTTP status, or a stream's error event."""
    if status == 429:
        return ModelRateLimited(f"rate limited by the API (429): {detail}", status=429, retry_after_s=retry_after)
    if status == 529 or "overloaded" in detail.lower():
        return ModelOverloaded(f"the API is overloaded (529): {detail}", status=529, retry_after_s=retry_after)
    if status >= 500:
        return ModelServerError(f"the API failed ({status}): {detail}", status=status, retry_after_s=retry_after)
    if status == 401:
        return ModelRequestError("the API rejected the key (401): check ANTHROPIC_API_KEY", status=401)
    return ModelRequestError(f"the API refused the request ({status}): {detail}", status=status)


class DeadlineTimeout(ModelTimeout):
    """Our own deadline passed before any text came: says nothing about the API's health (circuit breaker)."""


def _error_detail(body: object) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return f"{error.get('type', 'error')}: {error.get('message', '')}".strip()
    return ""


class AnthropicModelClient:
    """``ModelClient`` over HTTP. One SDK client (one connection pool) per server."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout_s: float = 120.0,
        circuits: CircuitBreakers | None = None,
        http_client: HttpClientKind = "lean",
    ) -> None:
        self._api_key = api_key if api_key is not None else os.environ.get("ANTHROPIC_API_KEY") or None
        self._base_url = base_url or os.environ.get("ANTHROPIC_BASE_URL") or None
        self._timeout_s = timeout_s
        self._http_client_kind = http_client
        self._sdk: AsyncAnthropic | None = None
        # Wire bodies built in a typing pause (``prepare``) or for a call that may be retried.
        self._bodies: LRUCache[tuple[object, ...], bytes] = LRUCache(maxsize=WIRE_BODIES_KEPT)
        # Repeated API failures pause calls to that model for a short cool-down (models/circuit.py).
        self.circuits = circuits if circuits is not None else CircuitBreakers(CircuitSettings.from_env())
        # The call for the prompt prepared in the typing pause, built and waiting to be sent (models/parked.py).
        self.parking: ParkingSlot[AsyncStream[object]] = ParkingSlot(_close_stream)
        self._parks_calls = False  # only our transport has the send gate

    def __repr__(self) -> str:  # never show the key
        return f"AnthropicModelClient(base_url={self._base_url!r}, key={'set' if self._api_key else 'missing'})"

    @property
    def available(self) -> bool:
        return bool(self._api_key)

    @property
    def base_url(self) -> str | None:
        return self._base_url

    @property
    def ready(self) -> bool:
        """The SDK is imported and the client built: the next call pays no start-up cost."""
        return self._sdk is not None

    def _client(self) -> AsyncAnthropic:
        if self._sdk is None:
            from anthropic import AsyncAnthropic

            lean = self.uses_lean_transport
            self._sdk = AsyncAnthropic(
                api_key=self._api_key,
                base_url=self._base_url,
                timeout=self._timeout_s,
                max_retries=0,
                http_client=lean_http_client() if lean else None,
            )
            self._parks_calls = lean
        return self._sdk

    @property
    def uses_lean_transport(self) -> bool:
        """Our keep-alive transport (models/http_transport.py) unless the user chose httpx or a proxy is set:
        with a custom transport httpx2 no longer reads the proxy variables, so it must not take over then."""
        return self._http_client_kind == "lean" and not proxy_configured()

    async def warm_up(self) -> None:
        """Import the SDK and build the client off the first request's path."""
        if self.available:
            await asyncio.to_thread(self._client)

    async def aclose(self) -> None:
        # Detached first: a prepare that runs while we wait must not park a call on a closing client.
        sdk, self._sdk = self._sdk, None
        await self.parking.aclose()
        if sdk is not None:
            await sdk.close()

    def prepare(self, request: ModelRequest) -> None:
        """Build the wire body now (masking secrets and encoding ~10 KB of prompt is ~0.2 ms of an invoked
        completion when done on its path), and on our transport the SDK's HTTP request too, parked before
        its send until a call of ``request`` takes it (models/parked.py)."""
        if not self.available:
            return
        body = self._wire_body(request)
        sdk = self._sdk
        if sdk is None or not self._parks_calls:
            return  # before the SDK is loaded (never imported on the loop), or on the SDK's own transport
        with contextlib.suppress(RuntimeError):  # no running event loop: nothing to park the call on
            # Keyed by the SDK client too: a call parked on a client since closed is never taken.
            self.parking.park((sdk, _body_key(request)), lambda: _post(sdk, body))

    def _wire_body(self, request: ModelRequest) -> bytes:
        key = _body_key(request)
        body = self._bodies.get(key)
        if body is None:
            body = self._bodies[key] = wire_body(request)
        return body

    async def complete(self, request: ModelRequest, on_text: TextCallback | None = None) -> ModelResult:
        if not self.available:
            raise ModelUnavailable(NO_KEY_MESSAGE)
        started = time.monotonic()
        deadline = started + request.deadline_s if request.deadline_s is not None else None
        breaker = self.circuits.for_model(request.model)
        attempt = 0
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise DeadlineTimeout(f"no answer within the {request.deadline_s:.2f} s budget")
            try:
                return await self._attempt(breaker, request, on_text, started, remaining)
            except ModelError as error:
                wait = self._retry_wait(error, attempt, request.max_retries, deadline)
                if wait is None:
                    raise
                log.info("model call failed (%s); retry %d in %.2f s", error, attempt + 1, wait)
                await asyncio.sleep(wait)
                attempt += 1

    async def _attempt(
        self,
        breaker: CircuitBreaker,
        request: ModelRequest,
        on_text: TextCallback | None,
        started: float,
        remaining_s: float | None,
    ) -> ModelResult:
        """One HTTP call, admitted by the model's circuit breaker and reported back to it."""
        ticket = breaker.admit()  # raises CircuitOpen: no request is sent
        try:
            result = await self._stream_once(request, on_text, started, remaining_s)
        except ModelError as error:
            _judge(breaker, ticket, error)
            raise
        except BaseException:  # cancelled (superseded, $/cancelRequest, job cancel): no verdict
            breaker.abandoned(ticket)
            raise
        breaker.succeeded(ticket)
        return result

    def circuit_states(self) -> list[dict[str, object]]:
        return self.circuits.as_json()

    @staticmethod
    def _retry_wait(error: ModelError, attempt: int, max_retries: int, deadline: float | None) -> float | None:
        if not error.retryable or attempt >= max_retries:
            return None
        backoff = min(MAX_BACKOFF_S, 0.5 * 2**attempt) * (0.75 + random.random() / 2)  # noqa: S311
        wait = error.retry_after_s if error.retry_after_s is not None else backoff
        if wait > MAX_RETRY_WAIT_S:
            return None
        if deadline is not None and time.monotonic() + wait >= deadline:
            return None
        return wait

    async def _stream_once(
        self,
        request: ModelRequest,
        on_text: TextCallback | None,
        started: float,
        remaining_s: float | None,
    ) -> ModelResult:
        state = _StreamState(request.model, started)
        if self._sdk is None:
            # Importing the SDK takes about a second: never on the event loop thread.
            await asyncio.to_thread(self._client)
        try:
            async with asyncio.timeout(remaining_s):
                await self._consume(request, on_text, state)
        except TimeoutError:
            if not state.text_parts:
                raise DeadlineTimeout(f"no answer within the {request.deadline_s:.2f} s budget") from None
            state.stop_reason = "deadline"
        except ModelError:
            raise
        except asyncio.CancelledError:
            if state.accepted and request.on_cancelled is not None:
                try:
                    request.on_cancelled(state.result().usage)
                except Exception:  # accounting must never turn a cancel into an error
                    log.exception("recording a cancelled call failed")
            raise
        except Exception as exc:  # SDK and transport errors, translated in one place
            raise translate_error(exc) from exc
        return state.result()

    async def _consume(self, request: ModelRequest, on_text: TextCallback | None, state: _StreamState) -> None:
        """Read the SSE stream through the SDK's raw-event API.

        The SDK's parsed stream builds a pydantic object per event: ~0.5 ms per call when the process has
        been idle, with a long tail (bench/interactive.py). The raw events are the same bytes; we read the
        few fields we use. The request goes through the client's public ``post`` (the SDK's documented way
        to call an endpoint with a body it does not re-validate): ``messages.create`` walks the whole body
        against its TypedDicts first (~0.15 ms cold) for a body ``request_params`` already built to the API's
        shape. The body goes as the encoded JSON (``content``), usually built in the typing pause by
        ``prepare``. Authentication, headers (``Content-Type: application/json`` is the SDK's default),
        timeouts and HTTP errors (the SDK's exceptions, translated in one place) are the SDK's own either way.
        """
        from anthropic import AsyncStream

        client = self._client()
        parked = self.parking.take((client, _body_key(request)))
        if parked is not None:
            stream = await self.parking.adopt(parked)
        else:
            stream = await _post(client, self._wire_body(request))
        async with stream:
            async for sse in AsyncStream.raw_events(stream.response):
                kind = sse.event
                if kind is None or kind == "ping" or not sse.data:
                    continue
                if kind == "error":
                    raise stream_error(sse.data)
                if not apply_event(kind, json.loads(sse.data), state):
                    continue
                if on_text is not None and not on_text(state.text_parts[-1], state.text):
                    state.stop_reason = "caller_stop"
                    return  # leaving the `async with` closes the HTTP stream
        if not state.finished:
            raise ModelStreamBroken("the API's stream ended before message_stop")


async def _post(client: AsyncAnthropic, body: bytes) -> AsyncStream[object]:
    """One streamed Messages API call with a body already encoded."""
    from anthropic import AsyncStream

    return await client.post("/v1/messages", content=body, cast_to=object, stream=True,
                             stream_cls=AsyncStream[object])


async def _close_stream(stream: AsyncStream[object]) -> None:
    await stream.close()


def apply_event(kind: str, data: Any, state: _StreamState) -> bool:
    """Fold one Messages API stream event into ``state``; True when it added text."""
    try:
        if kind == "message_start":
            state.accepted = True
            usage = data["message"]["usage"]
            state.input_tokens = usage.get("input_tokens") or 0
            state.cache_write = usage.get("cache_creation_input_tokens") or 0
            state.cache_read = usage.get("cache_read_input_tokens") or 0
            state.output_tokens = usage.get("output_tokens") or 0
        elif kind == "content_block_delta":
            delta = data["delta"]
            if delta.get("type") == "text_delta":
                state.add_text(delta["text"])
                return True
        elif kind == "message_delta":
            state.output_tokens = (data.get("usage") or {}).get("output_tokens") or state.output_tokens
            state.stop_reason = (data.get("delta") or {}).get("stop_reason") or "unknown"
        elif kind == "message_stop":
            state.finished = True
    except (KeyError, TypeError, AttributeError) as error:
        raise ModelStreamBroken(f"the API sent a {kind} event of an unexpected shape ({error!r})") from None
    return False


# The HTTP status each documented error type of the Messages API comes with.
STREAM_ERROR_STATUS = {
    "invalid_request_error": 400, "authentication_error": 401, "permission_error": 403, "not_found_error": 404,
    "request_too_large": 413, "rate_limit_error": 429, "api_error": 500, "timeout_error": 504,
    "overloaded_error": 529,
}


def stream_error(data: str) -> ModelError:
    """The error an ``event: error`` in the middle of a stream stands for (the HTTP status was already 200)."""
    try:
        body = json.loads(data)
    except ValueError:
        return ModelStreamBroken(f"the API's stream sent an unreadable error event: {data[:200]!r}")
    error = body.get("error") if isinstance(body, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    return status_error(STREAM_ERROR_STATUS.get(kind, 400) if isinstance(kind, str) else 400,
                        _error_detail(body) or data[:200])


def _judge(breaker: CircuitBreaker, ticket: Ticket, error: ModelError) -> None:
    if isinstance(error, DeadlineTimeout):
        breaker.abandoned(ticket)
    elif error.retryable:
        breaker.failed(ticket, "overloaded" if isinstance(error, ModelOverloaded) else "")
    else:  # a 4xx answer: the API is up
        breaker.succeeded(ticket)


class _StreamState:
    def __init__(self, model: str, started: float) -> None:
        self.model = model
        self.started = started
        self.text_parts: list[str] = []
        self._text_cache = ""
        self.deltas = 0
        self.ttft: float | None = None
        self.input_tokens = 0
        self.output_tokens = 0
        self.cache_write = 0
        self.cache_read = 0
        self.stop_reason: StopReason = "unknown"
        self.accepted = False  # message_start came: the API accepted (and bills) the prompt
        self.finished = False

    def add_text(self, piece: str) -> None:
        if self.ttft is None:
            self.ttft = time.monotonic() - self.started
        self.text_parts.append(piece)
        self._text_cache = ""
        self.deltas += 1

    @property
    def text(self) -> str:
        if not self._text_cache and self.text_parts:
            self._text_cache = "".join(self.text_parts)
        return self._text_cache

    def result(self) -> ModelResult:
        # When the stream is cut short the API never sent the final count: each delta is at least one token.
        output = max(self.output_tokens, self.deltas)
        usage = Usage(
            model=self.model,
            input_tokens=self.input_tokens,
            output_tokens=output,
            cache_creation_input_tokens=self.cache_write,
            cache_read_input_tokens=self.cache_read,
            latency_ms=(time.monotonic() - self.started) * 1000.0,
            ttft_ms=None if self.ttft is None else self.ttft * 1000.0,
        )
        return ModelResult(text=self.text, usage=usage, stop_reason=self.stop_reason)
