"""ai-coding-router with stage timestamps, for bench/interactive_stages.py (a diagnostic, not a benchmark).

Wraps a few functions of the server (and pygls's JSON decoding of a request) to append
``<monotonic time> <stage>`` lines to the file named by $STAGE_LOG. CLOCK_MONOTONIC is shared by all
processes on the machine, so the driver can line the stages up with its own clock and the fake API's.
The wrappers add a few microseconds per stage; nothing of the SDK is touched.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

LOG = open(os.environ["STAGE_LOG"], "a", buffering=1)  # noqa: SIM115 - open for the process's life


def mark(stage: str) -> None:
    LOG.write(f"{time.monotonic():.6f} {stage}\n")


def around(owner: Any, name: str, stage: str) -> None:
    """Mark ``stage_enter``/``stage_exit`` around ``owner.name`` (a function or a coroutine function)."""
    original: Callable[..., Any] = getattr(owner, name)
    if hasattr(original, "__code__") and original.__code__.co_flags & 0x80:  # a coroutine function

        @functools.wraps(original)
        async def wrapped_async(*args: Any, **kwargs: Any) -> Any:
            mark(f"{stage}_enter")
            try:
                return await original(*args, **kwargs)
            finally:
                mark(f"{stage}_exit")

        setattr(owner, name, wrapped_async)
        return

    @functools.wraps(original)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        mark(f"{stage}_enter")
        try:
            return original(*args, **kwargs)
        finally:
            mark(f"{stage}_exit")

    setattr(owner, name, wrapped)


class _TimedJson:
    """pygls.io_ decodes each message with ``json.loads``: mark when an inline-completion body is read."""

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)

    @staticmethod
    def loads(body: bytes, **kwargs: Any) -> Any:
        if b"textDocument/inlineCompletion" not in body[:300]:
            return json.loads(body, **kwargs)
        mark("request_read")
        try:
            return json.loads(body, **kwargs)
        finally:
            mark("request_decoded")


def install() -> None:
    import pygls.io_
    from pygls.protocol import json_rpc

    from ai_coding_router.completion import service
    from ai_coding_router.models import anthropic_client, http_transport

    pygls.io_.json = _TimedJson()  # type: ignore[assignment]
    around(json_rpc.JsonRPCProtocol, "_send_data", "answer_write")
    around(service.CompletionService, "complete", "service")
    around(service.CompletionService, "_gather_context", "context")
    around(service, "build_completion_request", "prompt")
    around(service, "prompt_key", "prompt_key")
    around(service, "clean_completion", "clean")
    around(service.CompletionService, "_record", "record")
    around(anthropic_client.AnthropicModelClient, "_consume", "stream")
    around(http_transport._Connection, "send", "socket_write")  # our transport's one write of a request
    apply_event = anthropic_client.apply_event

    def marked_event(kind: str, data: Any, state: Any) -> bool:
        added = apply_event(kind, data, state)
        if kind == "message_stop":
            mark("message_stop")
        return added

    anthropic_client.apply_event = marked_event


if __name__ == "__main__":
    install()
    from ai_coding_router.cli import main

    sys.exit(main(["serve", "--log-level", "WARNING"]))
