"""A raw JSON-RPC client over a server subprocess's stdio: it sends anything (malformed params, bad framing,
invalid UTF-8) and records every byte both ways.

pytest-lsp's typed client refuses to send params that do not fit the LSP types; hostile-input tests, the
secrets test (which greps all traffic) and the soak need a client that does not. Server stderr goes to a
file, so a chatty server can never fill a pipe and stall.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVER_ARGV = [sys.executable, "-m", "ai_coding_router", "serve"]
# A server request (method, params) → the result we answer with; the default accepts everything.
ServerRequestHandler = Callable[[str, Any], Any]


@dataclass(frozen=True)
class Answer:
    """A response: exactly one of ``result`` / ``error`` is meaningful (``error`` is the JSON-RPC error object)."""

    result: Any = None
    error: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def default_server_request(method: str, params: Any) -> Any:
    if method == "workspace/applyEdit":
        return {"applied": True}
    return None  # registerCapability, workDoneProgress/create, configuration...


@dataclass
class RawLsp:
    process: asyncio.subprocess.Process
    stderr_path: Path | None
    record: bool = False
    on_server_request: ServerRequestHandler = default_server_request
    sent: bytearray = field(default_factory=bytearray)  # every byte written (when ``record``)
    received: bytearray = field(default_factory=bytearray)  # every byte read (when ``record``)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    server_requests: list[dict[str, Any]] = field(default_factory=list)
    protocol_errors: list[str] = field(default_factory=list)  # framing/JSON problems in what the server sent
    _pending: dict[Any, asyncio.Future[Answer]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _reader: asyncio.Task[None] | None = None
    _stderr_file: Any = None

    @classmethod
    async def start(cls, env: dict[str, str], *, cwd: Path | None = None, stderr_path: Path | None = None,
                    argv: list[str] | None = None, record: bool = False,
                    on_server_request: ServerRequestHandler = default_server_request) -> RawLsp:
        stderr_file = stderr_path.open("wb") if stderr_path is not None else None
        process = await asyncio.create_subprocess_exec(
            *(argv or SERVER_ARGV), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=stderr_file if stderr_file is not None else asyncio.subprocess.DEVNULL,
            env=env, cwd=str(cwd) if cwd else None, limit=2**24,
        )
        client = cls(process, stderr_path, record, on_server_request, _stderr_file=stderr_file)
        client._reader = asyncio.create_task(client._read_loop(), name="raw-lsp-reader")
        return client

    # -- sending -------------------------------------------------------------------------------------
    def send_raw(self, data: bytes) -> None:
        assert self.process.stdin is not None
        if self.record:
            self.sent.extend(data)
        self.process.stdin.write(data)

    def send(self, payload: Any) -> None:
        """Frame any JSON value (an LSP message or garbage) and send it."""
        body = json.dumps(payload).encode("utf-8", "surrogatepass")
        self.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def drain(self) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.drain()

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any = None, msg_id: Any = None) -> tuple[Any, asyncio.Future[Answer]]:
        msg_id = next(self._ids) if msg_id is None else msg_id
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return msg_id, future

    async def call(self, method: str, params: Any = None, timeout: float = 30.0) -> Answer:
        _, future = self.request(method, params)
        await self.drain()
        return await asyncio.wait_for(future, timeout)

    def cancel(self, msg_id: Any) -> None:
        self.notify("$/cancelRequest", {"id": msg_id})

    # -- lifecycle -----------------------------------------------------------------------------------
    async def initialize(self, root: Path, capabilities: dict[str, Any], options: Any = None,
                         client_name: str = "raw-lsp") -> Answer:
        answer = await self.call("initialize", {
            "processId": None, "rootUri": root.as_uri(), "capabilities": capabilities,
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}], "initializationOptions": options,
            "clientInfo": {"name": client_name},
        })
        self.notify("initialized", {})
        return answer

    def open(self, path: Path, text: str | None = None, version: int = 1, language_id: str = "typescript") -> str:
        uri = path.as_uri()
        content = path.read_text(encoding="utf-8") if text is None else text
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": language_id, "version": version, "text": content}})
        return uri

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def close(self, timeout: float = 10.0) -> int | None:
        """shutdown + exit when the server still answers; kill otherwise. The exit code, or None if killed."""
        code: int | None = None
        try:
            if self.alive:
                await self.call("shutdown", None, timeout=timeout)
                self.notify("exit")
                await self.drain()
                code = await asyncio.wait_for(self.process.wait(), timeout)
        except Exception:
            code = None
        if self.alive:
            self.process.kill()
            await self.process.wait()
        if self.process.stdin is not None:  # close our end of the pipe before the loop goes away
            self.process.stdin.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._stderr_file is not None:
            self._stderr_file.close()
        return code

    def stderr_text(self) -> str:
        if self.stderr_path is None:
            return ""
        if self._stderr_file is not None:
            self._stderr_file.flush()
        return self.stderr_path.read_bytes().decode("utf-8", "replace")

    # -- reading -------------------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            length = None
            while True:
                line = await stdout.readline()
                if not line:
                    self._fail_pending("the server closed its output")
                    return
                if self.record:
                    self.received.extend(line)
                if line in (b"\r\n", b"\n"):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length is None:
                self.protocol_errors.append("a message without Content-Length")
                continue
            body = await stdout.readexactly(length)
            if self.record:
                self.received.extend(body)
            try:
                message = json.loads(body)
            except ValueError as error:
                self.protocol_errors.append(f"the server sent invalid JSON: {error}")
                continue
            self._dispatch(message)

    def _dispatch(self, message: Any) -> None:
        if not isinstance(message, dict):
            self.protocol_errors.append(f"the server sent a non-object message: {message!r}"[:200])
            return
        if "method" in message and "id" in message:
            self.server_requests.append(message)
            try:
                result = self.on_server_request(message["method"], message.get("params"))
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})
            except Exception as error:  # answer like an editor that refuses
                self.send({"jsonrpc": "2.0", "id": message["id"],
                           "error": {"code": -32603, "message": str(error)}})
        elif "method" in message:
            self.notifications.append(message)
        elif "id" in message:
            future = self._pending.pop(message["id"], None)
            if future is None:
                if message["id"] is not None:
                    self.protocol_errors.append(f"a response to an unknown id {message['id']!r}")
                else:
                    self.notifications.append(message)  # an error response with id null
                return
            if not future.done():
                future.set_result(Answer(message.get("result"), message.get("error")))
        else:
            self.protocol_errors.append(f"a message that is neither request, response nor notification: "
                                        f"{message!r}"[:200])

    def _fail_pending(self, why: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError(why))
        self._pending.clear()


VSCODE_LIKE_CAPABILITIES: dict[str, Any] = {
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {
        "synchronization": {"dynamicRegistration": False, "didSave": True},
        "inlineCompletion": {"dynamicRegistration": False},
        "completion": {"completionItem": {"documentationFormat": ["markdown", "plaintext"]}},
        "codeAction": {
            "codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["", "quickfix", "refactor",
                                                                          "refactor.rewrite"]}},
            "resolveSupport": {"properties": ["edit"]}, "dataSupport": True,
        },
    },
    "window": {"workDoneProgress": True},
    "workspace": {"applyEdit": True, "workspaceEdit": {"documentChanges": True},
                  "didChangeWatchedFiles": {"dynamicRegistration": True}, "configuration": True},
}
