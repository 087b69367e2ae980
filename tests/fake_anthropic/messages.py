"""The Messages API's shapes: request validation, the generated reply, JSON bodies and SSE events.

Pure functions; the server decides when and how the bytes go out.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tests.fake_anthropic.tokens import InputUsage, tokenize

# Body fields the installed SDK can send, plus sampling fields the API still accepts.
MESSAGE_FIELDS = frozenset({
    "cache_control", "container", "context_management", "diagnostics", "inference_geo", "max_tokens",
    "mcp_servers", "messages", "metadata", "model", "output_config", "service_tier", "speed",
    "stop_sequences", "stream", "system", "temperature", "thinking", "tool_choice", "tools", "top_k",
    "top_p", "user_profile_id", "workspace_id",
})
COUNT_TOKENS_FIELDS = frozenset({
    "cache_control", "context_management", "mcp_servers", "messages", "model", "output_config", "speed",
    "system", "thinking", "tool_choice", "tools", "user_profile_id", "workspace_id",
})

ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
    529: "overloaded_error",
}
ERROR_MESSAGES = {429: "Number of request tokens has exceeded your per-minute rate limit.",
                  500: "Internal server error", 529: "Overloaded"}

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_01fake{next(_ids):018d}"


def error_body(error_type: str, message: str, request_id: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id}


def _check_content(where: str, content: object, *, allow_empty_string: bool = False) -> str | None:
    if isinstance(content, str):
        if not content and not allow_empty_string:
            return f"{where}: text content blocks must be non-empty"
        return None
    if not isinstance(content, list):
        return f"{where}: Input should be a valid list"
    for j, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            return f"{where}.{j}.type: Field required"
        if block["type"] == "text":
            if not isinstance(block.get("text"), str):
                return f"{where}.{j}.text: Field required"
            if not block["text"]:
                return f"{where}: text content blocks must be non-empty"
    return None


def validate_params(body: object, *, count_tokens: bool = False) -> str | None:
    """The API's 400 message for a bad Messages request body, or None when it is acceptable."""
    if not isinstance(body, dict):
        return "Input should be a valid dictionary"
    allowed = COUNT_TOKENS_FIELDS if count_tokens else MESSAGE_FIELDS
    required = ("model", "messages") if count_tokens else ("model", "max_tokens", "messages")
    for name in required:
        if name not in body:
            return f"{name}: Field required"
    for name in body:
        if name not in allowed:
            return f"{name}: Extra inputs are not permitted"
    if not isinstance(body["model"], str) or not body["model"]:
        return "model: Input should be a valid string"
    if not count_tokens:
        max_tokens = body["max_tokens"]
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
            return "max_tokens: Input should be a valid integer"
        if max_tokens < 1:
            return "max_tokens: Input should be greater than or equal to 1"
        if "stream" in body and not isinstance(body["stream"], bool):
            return "stream: Input should be a valid boolean"
    messages = body["messages"]
    if not isinstance(messages, list):
        return "messages: Input should be a valid list"
    if not messages:
        return "messages: at least one message is required"
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"messages.{i}: Input should be a valid dictionary"
        if message.get("role") not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        if "content" not in message:
            return f"messages.{i}.content: Field required"
        last_assistant = message["role"] == "assistant" and i == len(messages) - 1
        problem = _check_content(f"messages.{i}.content", message["content"],
                                 allow_empty_string=last_assistant)
        if problem:
            return problem
    if "system" in body:
        system = body["system"]
        if not isinstance(system, str):
            problem = _check_content("system", system)
            if problem:
                return problem
    stops = body.get("stop_sequences")
    if stops is not None and (not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)):
        return "stop_sequences: Input should be a valid list of strings"
    temperature = body.get("temperature")
    if temperature is not None and (not isinstance(temperature, int | float) or not 0 <= temperature <= 1):
        return "temperature: Input should be less than or equal to 1"
    return None


@dataclass(frozen=True)
class Generation:
    """What the "model" emits for one request: the text tokens and why it stopped."""

    tokens: list[str]
    stop_reason: str
    stop_sequence: str | None

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def output_tokens(self) -> int:
        # The API bills at least one output token, even for an empty reply.
        return max(1, len(self.tokens))


def generate(text: str, max_tokens: int, stop_sequences: Sequence[str] = ()) -> Generation:
    """Apply ``stop_sequences`` (earliest match wins) and then ``max_tokens`` to the scripted text."""
    cut, matched = len(text), None
    for stop in stop_sequences:
        index = text.find(stop) if stop else -1
        if 0 <= index < cut:
            cut, matched = index, stop
    tokens = tokenize(text[:cut])
    if len(tokens) > max_tokens:
        return Generation(tokens[:max_tokens], "max_tokens", None)
    if matched is not None:
        return Generation(tokens, "stop_sequence", matched)
    return Generation(tokens, "end_turn", None)


def unstreamed_tokens(gen: Generation) -> int:
    """Tokens the model generates after the last streamed text that the API never streams: the stop
    sequence's (the API withholds a matched stop sequence) or the end-of-turn token. They take token time
    before ``message_delta``; a reply cut by ``max_tokens`` ends with its last streamed token."""
    if gen.stop_reason == "stop_sequence" and gen.stop_sequence:
        return len(tokenize(gen.stop_sequence))
    return 1 if gen.stop_reason == "end_turn" else 0


def usage_json(usage: InputUsage, output_tokens: int, service_tier: str = "standard") -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": usage.ephemeral_5m_input_tokens,
            "ephemeral_1h_input_tokens": usage.ephemeral_1h_input_tokens,
        },
        "output_tokens": output_tokens,
        "service_tier": service_tier,
    }


def message_json(message_id: str, model: str, gen: Generation, usage: InputUsage,
                 service_tier: str = "standard") -> dict[str, Any]:
    # Always one text block, even if empty, as a stream's content_block_start would produce.
    content = [{"type": "text", "text": gen.text}]
    return {
        "id": message_id, "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": gen.stop_reason, "stop_sequence": gen.stop_sequence,
        "usage": usage_json(usage, gen.output_tokens, service_tier),
    }


def sse(event: str, data: Mapping[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def stream_prologue(message_id: str, model: str, usage: InputUsage) -> bytes:
    """message_start, content_block_start and a ping: sent at once, before the first token."""
    start: dict[str, Any] = {
        "id": message_id, "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": usage_json(usage, 1),
    }
    return (
        sse("message_start", {"type": "message_start", "message": start})
        + sse("content_block_start",
              {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        + sse("ping", {"type": "ping"})
    )


def text_delta(token: str) -> bytes:
    return sse("content_block_delta",
               {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": token}})


def stream_epilogue(gen: Generation, usage: InputUsage) -> bytes:
    """content_block_stop, message_delta (cumulative usage) and message_stop."""
    delta_usage = {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "output_tokens": gen.output_tokens,
    }
    return (
        sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        + sse("message_delta", {"type": "message_delta",
                                "delta": {"stop_reason": gen.stop_reason, "stop_sequence": gen.stop_sequence},
                                "usage": delta_usage})
        + sse("message_stop", {"type": "message_stop"})
    )


def error_event(error_type: str, message: str, request_id: str) -> bytes:
    return sse("error", error_body(error_type, message, request_id))


# A content_block_delta whose data line is cut off mid-JSON, as a broken proxy might deliver it.
MALFORMED_EVENT = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"ty\n\n'
