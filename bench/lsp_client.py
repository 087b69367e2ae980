"""A minimal LSP client over a subprocess's stdio, for benchmarks: no framework between us and the clock."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any


async def read_message(stream: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next LSP message (Content-Length framing), or None at the end of the stream."""
    length = 0
    while True:
        line = await stream.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    message: dict[str, Any] = json.loads(await stream.readexactly(length))
    return message


@dataclass
class Pending:
    method: str
    sent_at: float
    future: asyncio.Future[Any]
    answered_at: float | None = None


@dataclass
class RawLspClient:
    process: asyncio.subprocess.Process
    pending: dict[int, Pending] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, argv: list[str], env: dict[str, str], cwd: str | None = None) -> RawLspClient:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, env=env, cwd=cwd,
        )
        client = cls(process)
        client._reader = asyncio.create_task(client._read_loop())
        return client

    def _write(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: Any) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any) -> tuple[int, Pending]:
        msg_id = next(self._ids)
        pending = Pending(method, time.monotonic(), asyncio.get_running_loop().create_future())
        self.pending[msg_id] = pending
        self._write({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return msg_id, pending

    def cancel(self, msg_id: int) -> None:
        self.notify("$/cancelRequest", {"id": msg_id})

    async def call(self, method: str, params: Any, timeout: float = 30.0) -> Any:
        _, pending = self.request(method, params)
        return await asyncio.wait_for(pending.future, timeout)

    async def _read_loop(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            message = await read_message(stdout)
            if message is None:
                return
            now = time.monotonic()
            if "id" in message and "method" in message:  # a request from the server: accept it
                self._write({"jsonrpc": "2.0", "id": message["id"], "result": None})
            elif "id" in message:
                pending = self.pending.pop(message["id"], None)
                if pending is not None and not pending.future.done():
                    pending.answered_at = now
                    if "error" in message:
                        pending.future.set_exception(RuntimeError(json.dumps(message["error"])))
                    else:
                        pending.future.set_result(message.get("result"))
            else:
                self.notifications.append(message)

    async def initialize(self, root_uri: str, capabilities: dict[str, Any], options: Any = None) -> Any:
        result = await self.call("initialize", {
            "processId": None, "rootUri": root_uri, "capabilities": capabilities,
            "workspaceFolders": [{"uri": root_uri, "name": "bench"}], "initializationOptions": options,
        })
        self.notify("initialized", {})
        return result

    async def close(self) -> None:
        try:
            await self.call("shutdown", None, timeout=10)
            self.notify("exit", None)
            await asyncio.wait_for(self.process.wait(), 10)
        except Exception:
            self.process.kill()
            await self.process.wait()
        if self._reader is not None:
            self._reader.cancel()


VSCODE_LIKE_CAPABILITIES: dict[str, Any] = {
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {
        "synchronization": {"dynamicRegistration": False, "didSave": True},
        "inlineCompletion": {"dynamicRegistration": False},
        "codeAction": {
            "codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["", "quickfix", "refactor",
                                                                          "refactor.rewrite"]}},
            "resolveSupport": {"properties": ["edit"]}, "dataSupport": True,
        },
    },
    "window": {"workDoneProgress": True},
    "workspace": {"applyEdit": True, "workspaceEdit": {"documentChanges": True}},
}
