"""Message Batches for headless runs: send many requests at once at the batch price, collect when ready.

``run_batch({custom_id: ModelRequest})`` creates one batch, polls until it has ended and returns a
``ModelResult`` (``usage.batch`` True, so the ledger prices it at the batch discount) or a ``ModelError``
per request. The pipeline then continues each task from its result (``run_task(first_result=...)``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import (
    ModelError,
    ModelOverloaded,
    ModelRateLimited,
    ModelRequestError,
    ModelServerError,
    ModelTimeout,
    ModelUnavailable,
)
from ..models.anthropic_client import NO_KEY_MESSAGE, request_params, translate_error
from ..models.base import ModelRequest, ModelResult, StopReason, Usage

log = logging.getLogger(__name__)

BATCH_POLL_S = 5.0  # how often an unfinished batch is polled
BATCH_TIMEOUT_S = 24 * 3600.0  # the API expires a batch after 24 hours
_ERRORS: dict[str, type[ModelError]] = {
    "overloaded_error": ModelOverloaded, "rate_limit_error": ModelRateLimited, "api_error": ModelServerError,
}
_STOP_REASONS = {"end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"}


def _result(message: Any, started: float) -> ModelResult:
    text = "".join(getattr(block, "text", "") for block in message.content if getattr(block, "type", "") == "text")
    usage = message.usage
    stop: StopReason = message.stop_reason if message.stop_reason in _STOP_REASONS else "unknown"
    return ModelResult(text, Usage(
        model=message.model, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
        cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
        cache_read_input_tokens=usage.cache_read_input_tokens or 0,
        latency_ms=(time.monotonic() - started) * 1000.0, batch=True,
    ), stop)


def _error(result: Any) -> ModelError:
    if result.type == "errored":
        error = getattr(result.error, "error", None)
        kind = str(getattr(error, "type", "error"))
        message = str(getattr(error, "message", "")) or kind
        return _ERRORS.get(kind, ModelRequestError)(f"batch request failed ({kind}): {message}")
    return ModelTimeout(f"batch request {result.type}")


async def run_batch(
    requests: Mapping[str, ModelRequest],
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout_s: float = 120.0,
    poll_s: float = BATCH_POLL_S,
    max_wait_s: float = BATCH_TIMEOUT_S,
    progress: Callable[[str], None] | None = None,
) -> dict[str, ModelResult | ModelError]:
    """Run ``requests`` (keyed by custom id) as one Message Batch. Raises ModelError if the batch itself fails."""
    from anthropic import AsyncAnthropic

    key = api_key if api_key is not None else os.environ.get("ANTHROPIC_API_KEY") or None
    if not key:
        raise ModelUnavailable(NO_KEY_MESSAGE)
    if not requests:
        return {}
    client = AsyncAnthropic(api_key=key, base_url=base_url or os.environ.get("ANTHROPIC_BASE_URL") or None,
                            timeout=timeout_s, max_retries=2)
    started = time.monotonic()
    try:
        batch = await client.messages.batches.create(requests=[
            {"custom_id": custom_id, "params": request_params(request)}  # type: ignore[typeddict-item]
            for custom_id, request in requests.items()
        ])
        if progress is not None:
            progress(f"batch {batch.id}: {len(requests)} request(s) sent")
        while batch.processing_status != "ended":
            if time.monotonic() - started > max_wait_s:
                raise ModelTimeout(f"batch {batch.id} did not end within {max_wait_s:.0f} s")
            await asyncio.sleep(poll_s)
            batch = await client.messages.batches.retrieve(batch.id)
        out: dict[str, ModelResult | ModelError] = {}
        async for item in await client.messages.batches.results(batch.id):
            if item.result.type == "succeeded":
                out[item.custom_id] = _result(item.result.message, started)
            else:
                out[item.custom_id] = _error(item.result)
        for custom_id in requests:
            out.setdefault(custom_id, ModelServerError(f"batch {batch.id} returned no result for {custom_id}"))
        return out
    except ModelError:
        raise
    except Exception as exc:  # SDK and transport errors, translated like the streaming client's
        raise translate_error(exc) from exc
    finally:
        await client.close()
