"""Which kind of JSON-RPC message a decoded LSP message is, without ``isinstance`` on a Protocol.

pygls classifies every incoming message with ``isinstance`` against its ``runtime_checkable`` Protocols
(``RPCRequest``, ``RPCNotification``, ...). On Python 3.11 each such check re-collects the Protocol's
attributes: 7 µs warm and 70–140 µs when the process has been idle (the editor's next request after a
typing pause), once per request and twice per notification (every didChange). The Protocols only ask
which attributes a message has, so the same answer comes from ``hasattr``.
"""

from __future__ import annotations

from typing import Any, Literal

MessageKind = Literal["request", "notification", "response", "error"]


def message_kind(message: Any) -> MessageKind:
    """The branch pygls's ``JsonRPCProtocol.handle_message`` takes for ``message`` (same order of checks)."""
    if hasattr(message, "method") and hasattr(message, "jsonrpc") and hasattr(message, "params"):
        return "request" if hasattr(message, "id") else "notification"
    if hasattr(message, "id") and hasattr(message, "jsonrpc") and hasattr(message, "result"):
        return "response"
    return "error"
