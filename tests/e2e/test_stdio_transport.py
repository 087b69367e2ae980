"""The server's stdio transport: a pipe is read on the event loop; anything else falls back to pygls's reader."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import IO, Any

from .harness import SERVER_COMMAND, server_env


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def initialize(tmp_path: Path) -> bytes:
    return frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}}) + frame(
        {"jsonrpc": "2.0", "method": "initialized", "params": {}})


def read_frame(stream: IO[bytes]) -> dict[str, Any]:
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    assert length, "the server closed its output"
    message: dict[str, Any] = json.loads(stream.read(length))
    return message


def answer(stream: IO[bytes], msg_id: int) -> dict[str, Any]:
    while (message := read_frame(stream)).get("id") != msg_id or "method" in message:
        pass
    return message


def test_a_pipe_is_read_on_the_event_loop(tmp_path: Path) -> None:
    with subprocess.Popen(SERVER_COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=server_env(), cwd=tmp_path) as server:
        assert server.stdin is not None and server.stdout is not None and server.stderr is not None
        server.stdin.write(initialize(tmp_path))
        server.stdin.flush()
        assert answer(server.stdout, 1)["result"]["serverInfo"]["name"] == "ai-coding-router"
        server.stdin.write(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        server.stdin.flush()
        assert answer(server.stdout, 2) == {"jsonrpc": "2.0", "id": 2, "result": None}
        server.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
        server.stdin.close()
        assert server.wait(timeout=30) == 0
        log = server.stderr.read()
    assert b"stdin: read on the event loop" in log


def test_stdin_from_a_file_is_served_too(tmp_path: Path) -> None:
    """A file on stdin cannot be read on the event loop: pygls's reader serves it, to its end."""
    stdin_path = tmp_path / "session.lsp"
    stdin_path.write_bytes(initialize(tmp_path))
    with stdin_path.open("rb") as stdin, (tmp_path / "out").open("w+b") as stdout:
        done = subprocess.run(SERVER_COMMAND, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                              env=server_env(), timeout=60, cwd=tmp_path, check=False)
        stdout.seek(0)
        assert answer(stdout, 1)["result"]["serverInfo"]["name"] == "ai-coding-router"
    assert done.returncode == 0, done.stderr.decode()[-2000:]  # the end of the file ends the session
    assert b"stdin: read through pygls's thread pool" in done.stderr
