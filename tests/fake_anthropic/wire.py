"""Just enough HTTP/1.1 on asyncio streams: parse requests, write (chunked) responses, notice EOF.

Hand-written rather than a web framework so the fake controls every byte and every socket event:
it must be able to go silent, close mid-chunk, reset the connection, and see the client leave while
it is still producing a reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 256 * 1024 * 1024

_REASONS = {529: "Site Overloaded"}


class BadRequest(Exception):
    """The bytes on the wire are not an HTTP/1.1 request we can read."""


@dataclass
class HttpRequest:
    method: str
    target: str
    version: str
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ", "
    body: bytes
    first_byte_at: float = 0.0  # when the request's first bytes were in hand (before parsing them)

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


async def _read_until(reader: asyncio.StreamReader, buf: bytearray, marker: bytes, limit: int) -> int:
    """Fill ``buf`` until it contains ``marker``; return the marker's end offset, or -1 at clean EOF."""
    while True:
        index = buf.find(marker)
        if index >= 0:
            return index + len(marker)
        if len(buf) > limit:
            raise BadRequest("header section too large")
        data = await reader.read(65536)
        if not data:
            if buf:
                raise BadRequest("connection closed inside a request")
            return -1
        buf.extend(data)


async def _read_exactly(reader: asyncio.StreamReader, buf: bytearray, n: int) -> bytes:
    while len(buf) < n:
        data = await reader.read(max(65536, n - len(buf)))
        if not data:
            raise BadRequest("connection closed inside a request body")
        buf.extend(data)
    out = bytes(buf[:n])
    del buf[:n]
    return out


async def read_request(reader: asyncio.StreamReader, buf: bytearray) -> HttpRequest | None:
    """Read one request (``buf`` holds bytes already received). None when the client closed cleanly."""
    if not buf:
        data = await reader.read(65536)
        if not data:
            return None
        buf.extend(data)
    first_byte_at = time.monotonic()
    end = await _read_until(reader, buf, b"\r\n\r\n", MAX_HEADER_BYTES)
    if end < 0:
        return None
    head = bytes(buf[:end]).decode("latin-1")
    del buf[:end]
    lines = head.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"bad request line {lines[0][:100]!r}")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(f"bad header line {line[:100]!r}")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader, buf)
    else:
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError as err:
            raise BadRequest("bad content-length") from err
        if length < 0 or length > MAX_BODY_BYTES:
            raise BadRequest("content-length out of range")
        body = await _read_exactly(reader, buf, length)
    return HttpRequest(method, target, version, headers, body, first_byte_at)


async def _read_chunked(reader: asyncio.StreamReader, buf: bytearray) -> bytes:
    body = bytearray()
    while True:
        end = await _read_until(reader, buf, b"\r\n", MAX_HEADER_BYTES)
        if end < 0:
            raise BadRequest("connection closed inside a chunked body")
        size_line = bytes(buf[: end - 2]).split(b";", 1)[0].strip()
        del buf[:end]
        try:
            size = int(size_line, 16)
        except ValueError as err:
            raise BadRequest("bad chunk size") from err
        if size == 0:
            await _read_until(reader, buf, b"\r\n", MAX_HEADER_BYTES)  # trailers are not supported
            del buf[:2]
            return bytes(body)
        if len(body) + size > MAX_BODY_BYTES:
            raise BadRequest("chunked body too large")
        data = await _read_exactly(reader, buf, size + 2)
        body.extend(data[:size])


def response_head(status: int, headers: list[tuple[str, str]]) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = _REASONS.get(status, "Unknown")
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"


@dataclass
class Connection:
    """One client connection, with a watcher that notices EOF while a reply is being produced."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    buf: bytearray = field(default_factory=bytearray)
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    gone_at: float | None = None
    on_gone: Callable[[float], None] | None = None  # told the moment the client is seen leaving
    _watcher: asyncio.Task[None] | None = None

    def start_watch(self) -> None:
        """Read concurrently while replying: EOF or a reset means the client went away."""
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def stop_watch(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            # asyncio.wait, not `await watcher` under suppress(CancelledError): that also swallowed a cancel
            # aimed at the task running this (FakeAnthropic.stop() then hung for its whole timeout).
            await asyncio.wait([watcher])

    async def _watch(self) -> None:
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                self.buf.extend(data)  # a pipelined next request: keep it for read_request
        except (ConnectionError, OSError):
            pass
        self.mark_gone()

    def mark_gone(self) -> None:
        if self.gone_at is None:
            self.gone_at = time.monotonic()
            self.gone.set()
            if self.on_gone is not None:
                self.on_gone(self.gone_at)

    async def sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; False as soon as the client goes away."""
        if self.gone.is_set():
            return False
        if seconds <= 0:
            await asyncio.sleep(0)
            return not self.gone.is_set()
        try:
            await asyncio.wait_for(self.gone.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def send(self, data: bytes) -> bool:
        """Write and drain; False if the client has gone (then nothing is written)."""
        if self.gone.is_set():
            return False
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, OSError):
            self.mark_gone()
            return False
        return True

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()

    def reset(self) -> None:
        """Abort with an RST rather than a FIN (SO_LINGER 0), like a crashed proxy."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()
