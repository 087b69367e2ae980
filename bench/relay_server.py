"""The floor under the invoked-completion overhead, for bench/relay_floor.py: a "language server" that only
relays bytes.

It reads LSP messages from stdin on an asyncio pipe reader and decodes them (JSON); for an inline-completion
request it sends one pre-encoded Messages API request over a kept-alive asyncio connection to
$ANTHROPIC_BASE_URL, reads the response to the end of its chunked body without parsing the events, and
writes a fixed-shape answer. No pygls, no SDK, no prompt, no cleaning: what is left is the interpreter's and
the OS's share of a request that goes editor → server → API → server → editor (pipe and socket wake-ups on
a process that sat idle). Any Python language server pays at least this.

    python bench/relay_server.py   (stdio; started by bench/relay_floor.py)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lsp_client import read_message

BODY = json.dumps({
    "model": "claude-sonnet-4-6", "max_tokens": 128, "stream": True,
    "messages": [{"role": "user", "content": "complete the line"}],
}).encode()


class Relay:
    def __init__(self, base_url: str, api_key: str) -> None:
        url = urlsplit(base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.request = (
            f"POST /v1/messages HTTP/1.1\r\nHost: {url.netloc}\r\nx-api-key: {api_key}\r\n"
            f"anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\n"
            f"content-length: {len(BODY)}\r\n\r\n"
        ).encode() + BODY
        self.connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def call(self) -> None:
        if self.connection is None:
            self.connection = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.connection
        writer.write(self.request)
        await reader.readuntil(b"\r\n\r\n")  # the response head
        await reader.readuntil(b"\r\n0\r\n\r\n")  # the last chunk of the SSE body


async def serve() -> None:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    out = sys.stdout.buffer
    relay = Relay(os.environ["ANTHROPIC_BASE_URL"], os.environ.get("ANTHROPIC_API_KEY", ""))

    def answer(msg_id: Any, result: Any) -> None:
        body = json.dumps({"jsonrpc": "2.0", "id": msg_id, "result": result}).encode()
        out.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        out.flush()

    async def complete(message: dict[str, Any]) -> None:
        await relay.call()
        at = message["params"]["position"]
        answer(message["id"], {"items": [{"insertText": "0;", "range": {"start": at, "end": at}}]})

    tasks: set[asyncio.Task[None]] = set()
    while (message := await read_message(stdin)) is not None:
        method = message.get("method")
        if method == "textDocument/inlineCompletion":
            task = asyncio.create_task(complete(message))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        elif method == "initialize":
            answer(message["id"], {"capabilities": {"textDocumentSync": 2, "inlineCompletionProvider": {}}})
        elif method == "shutdown":
            answer(message["id"], None)
        elif method == "exit":
            return


if __name__ == "__main__":
    asyncio.run(serve())
