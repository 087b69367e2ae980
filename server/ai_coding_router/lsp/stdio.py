"""LSP over stdio with stdin read on the event loop.

pygls 2 reads stdin through its thread pool: one ``run_in_executor`` hand-off per header line and per body,
three per message, ~0.4 ms of every request's latency when the process has been idle (bench/interactive.py
phase B). When stdin is a pipe of its own (what editors give a language server) it is read with an asyncio
pipe reader instead; anything else (a file, a tty, a socket shared with stdout, whose non-blocking flag
would leak onto stdout) keeps pygls's reader. The message loop itself is pygls's ``run_async``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
import threading
from typing import BinaryIO

from pygls.io_ import StdinAsyncReader, StdoutWriter, run_async
from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)

MAX_HEADER_LINE = 1024 * 1024  # a longer header line is a broken client: the stream ends


class PipeReader:
    """pygls's ``AsyncReader`` over an ``asyncio.StreamReader``: ``b""`` at end of input, never an exception."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self._stream = stream

    async def readline(self) -> bytes:
        try:
            return await self._stream.readline()
        except ValueError:  # over MAX_HEADER_LINE without a newline
            log.error("a header line longer than %d bytes: closing the connection", MAX_HEADER_LINE)
            return b""

    async def readexactly(self, n: int) -> bytes:
        try:
            return await self._stream.readexactly(n)
        except asyncio.IncompleteReadError:  # the client went away mid-message
            return b""


def stdin_is_own_pipe(stdin: BinaryIO, stdout: BinaryIO) -> bool:
    """True when stdin is a FIFO that is not also stdout (setting it non-blocking cannot affect writes)."""
    try:
        fd_in, fd_out = stdin.fileno(), stdout.fileno()
        info_in, info_out = os.fstat(fd_in), os.fstat(fd_out)
    except (OSError, ValueError, AttributeError):
        return False
    if not stat.S_ISFIFO(info_in.st_mode):
        return False
    return (info_in.st_dev, info_in.st_ino) != (info_out.st_dev, info_out.st_ino)


async def _open_pipe(stdin: BinaryIO) -> PipeReader | None:
    loop = asyncio.get_running_loop()
    stream = asyncio.StreamReader(limit=MAX_HEADER_LINE, loop=loop)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream, loop=loop), stdin)
    except (OSError, ValueError) as error:
        log.info("stdin cannot be read on the event loop (%s): using pygls's reader", error)
        return None
    return PipeReader(stream)


def start_io(server: LanguageServer, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
    """What ``LanguageServer.start_io`` does, with the faster stdin reader where it is safe."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    # pygls keeps its stop flag in a private field that its own start_io sets the same way; `exit` and
    # `shutdown()` set it.
    server._stop_event = stop_event = threading.Event()
    server.protocol.set_writer(StdoutWriter(stdout))

    async def serve() -> None:
        reader: PipeReader | StdinAsyncReader | None = None
        if stdin_is_own_pipe(stdin, stdout):
            reader = await _open_pipe(stdin)
        if reader is None:
            log.debug("stdin: read through pygls's thread pool")
            reader = StdinAsyncReader(stdin, server.thread_pool)
        else:
            log.debug("stdin: read on the event loop")
        await run_async(
            stop_event=stop_event,
            reader=reader,
            protocol=server.protocol,
            logger=logging.getLogger("pygls.server"),
            error_handler=server.report_server_error,
        )

    try:
        asyncio.run(serve())
    except BrokenPipeError:
        log.error("the connection to the client is lost: shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()  # type: ignore[no-untyped-call]  # pygls leaves it unannotated
