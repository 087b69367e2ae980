"""The stdio transport: which stdin gets the event-loop reader, and how that reader ends."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

from ai_coding_router.lsp.stdio import MAX_HEADER_LINE, PipeReader, stdin_is_own_pipe


def test_a_pipe_of_its_own_is_read_on_the_event_loop(tmp_path: Path) -> None:
    read_in, write_in = os.pipe()
    read_out, write_out = os.pipe()
    with open(read_in, "rb") as stdin, open(write_out, "wb") as stdout:
        assert stdin_is_own_pipe(stdin, stdout)
    for fd in (write_in, read_out):
        os.close(fd)


def test_a_file_a_shared_socket_or_a_closed_stream_keep_pyglss_reader(tmp_path: Path) -> None:
    path = tmp_path / "input.txt"
    path.write_bytes(b"Content-Length: 2\r\n\r\n{}")
    read_out, write_out = os.pipe()
    with open(path, "rb") as stdin, open(write_out, "wb") as stdout:
        assert not stdin_is_own_pipe(stdin, stdout)  # a regular file
    os.close(read_out)
    one, other = socket.socketpair()
    with one, other, one.makefile("rb") as stdin, one.makefile("wb") as stdout:
        assert not stdin_is_own_pipe(stdin, stdout)  # not a FIFO (and shared with stdout)
    read_in, write_in = os.pipe()
    stdin_file = open(read_in, "rb")  # noqa: SIM115
    stdin_file.close()
    with open(write_in, "wb") as stdout:
        assert not stdin_is_own_pipe(stdin_file, stdout)


async def test_the_reader_ends_with_empty_bytes_never_an_exception() -> None:
    stream = asyncio.StreamReader(limit=64)
    stream.feed_data(b"Content-Length: 10\r\n\r\n{\"a\":")
    stream.feed_eof()
    reader = PipeReader(stream)
    assert await reader.readline() == b"Content-Length: 10\r\n"
    assert await reader.readline() == b"\r\n"
    assert await reader.readexactly(10) == b""  # the client went away mid-message
    assert await reader.readline() == b""


async def test_an_endless_header_line_ends_the_stream() -> None:
    stream = asyncio.StreamReader(limit=MAX_HEADER_LINE)
    stream.feed_data(b"X" * (MAX_HEADER_LINE + 10))
    assert await PipeReader(stream).readline() == b""
