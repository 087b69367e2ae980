"""A lean HTTP/1.1 keep-alive transport for ``httpx2`` (the Anthropic SDK's HTTP client).

Plugged in through httpx2's public extension point::

    http_client = anthropic.DefaultAsyncHttpxClient(transport=KeepAliveTransport())
    client = anthropic.AsyncAnthropic(http_client=http_client, ...)

Why: httpcore2 + anyio + h11 cost about 0.5 ms to send a request and 0.2 ms to finish reading a stream
on this machine; here a request is one ``transport.write`` and the response is framed straight out of
the protocol's receive buffer. It speaks only what the Messages API needs: HTTP/1.1 over TCP or TLS,
no proxies (use the default transport when proxy variables are set), no HTTP/2, no upgrades.

Errors are the classes httpcore2 raises through httpx2's default transport, so the SDK and our error
translation cannot tell the two transports apart. Header values are never logged: they carry the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import logging
import select
import socket
import ssl
import time
from collections.abc import AsyncIterator

import httpx2

from .parked import wait_at_gate, waiting_to_send

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 64 * 1024  # status line + headers (also the limit for one chunk-size or trailer line)
_READ_HIGH = 256 * 1024  # pause reading above this much unconsumed input...
_READ_LOW = 64 * 1024  # ...and resume below this
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_NO_RESPONSE = "Server disconnected without sending a response."
KEEP_READY_S = 120.0  # how long a parked call keeps a connection ready for itself
_INCOMPLETE = "peer closed connection without sending complete message body"
# The SDK's default transport turns on TCP keep-alive probes (60 s idle, 60 s apart, 5 of them) so a
# long stream through a NAT that forgot the flow fails instead of hanging: the same here.
_KEEPALIVE_OPTIONS = [
    (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
    *((socket.IPPROTO_TCP, opt, value) for name, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 60),
                                                           ("TCP_KEEPCNT", 5))
      if (opt := getattr(socket, name, None)) is not None),
]

_Key = tuple[str, str, int]  # (scheme, host, port): one idle pool per origin


class _TimedOut(Exception):
    """A wait of ours ran out (kept apart from OSError's TimeoutError, e.g. a keep-alive probe failure)."""


class _Framing(enum.Enum):
    NONE = 0  # HEAD, 1xx, 204, 304: no body whatever the headers say
    LENGTH = 1
    CHUNKED = 2
    EOF = 3  # read until the server closes; the connection cannot be reused


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection. The protocol object is the read buffer itself: parsed in place, no copies
    through a StreamReader, and what arrived while idle (EOF, stray bytes) is visible before reuse."""

    def __init__(self, key: _Key) -> None:
        self.key = key
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.eof = False
        self.error: Exception | None = None  # what ended the connection, if it was not a clean close
        self.idle_since = 0.0
        self._loop = asyncio.get_running_loop()
        self._data_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._read_paused = False

    # --- asyncio callbacks ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) > _READ_HIGH and not self._read_paused and self.transport is not None:
            self._read_paused = True
            self.transport.pause_reading()
        _wake(self._data_waiter)

    def eof_received(self) -> bool:
        self.eof = True
        _wake(self._data_waiter)
        return False  # close our side too: a half-closed HTTP/1.1 connection is of no further use

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        _wake(self._data_waiter)
        _wake(self._drain_waiter)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        _wake(self._drain_waiter)

    # --- used by the transport ------------------------------------------------------------------

    async def receive(self, wait_s: float | None) -> bool:
        """Wait until more bytes are in ``buf``: False at a clean EOF; the OSError that ended the
        connection otherwise; ``_TimedOut`` after ``wait_s`` seconds without a byte."""
        if self._read_paused and len(self.buf) < _READ_LOW and self.transport is not None:
            self._read_paused = False
            self.transport.resume_reading()
        if not self.eof:
            before = len(self.buf)
            self._data_waiter = self._loop.create_future()
            try:
                await _wait(self._loop, self._data_waiter, wait_s)
            finally:
                self._data_waiter = None
            if len(self.buf) > before:
                return True
        self._raise_error()
        return False

    def send(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    async def drain(self, wait_s: float | None) -> None:
        """Wait while the kernel's send buffer is full; the OSError that ended the connection, if any."""
        while self._write_paused and not self.eof:
            self._drain_waiter = self._loop.create_future()
            try:
                await _wait(self._loop, self._drain_waiter, wait_s)
            finally:
                self._drain_waiter = None
        self._raise_error()

    def _raise_error(self) -> None:
        if isinstance(self.error, OSError):
            raise self.error
        if self.error is not None:  # not expected from asyncio, but must still read as a network error
            raise OSError(str(self.error)) from self.error

    def alive(self) -> bool:
        # Stray bytes while idle (a 408, garbage) would be read as the next response: never reuse then.
        # A connection made on another (since closed) event loop is dead whatever its transport says.
        return (self.transport is not None and not self.transport.is_closing() and not self.eof and not self.buf
                and self._loop is asyncio.get_running_loop() and not _readable(self.transport))

    def abort(self) -> None:
        """Close at once, without flushing or a TLS close_notify: the peer sees it within a loop turn
        (this is how a cancelled completion stops being generated and billed)."""
        if self.transport is not None:
            with contextlib.suppress(RuntimeError):  # its event loop is already closed
                self.transport.abort()
        self.eof = True


def _readable(transport: asyncio.Transport) -> bool:
    """Bytes or an EOF wait in the kernel that the event loop has not delivered yet (a server that closed
    the idle connection a moment ago): checked before reuse, as httpcore2 does."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return False
    try:
        if hasattr(select, "poll"):  # no FD_SETSIZE limit (select() refuses descriptors >= 1024)
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)  # Windows
    except (OSError, ValueError):  # closed under us
        return True
    return bool(readable)


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(_TimedOut())


async def _wait(loop: asyncio.AbstractEventLoop, waiter: asyncio.Future[None], wait_s: float | None) -> None:
    # A timer on the future rather than asyncio.timeout(): no task cancel/uncancel on the hot path.
    if wait_s is None:
        await waiter
        return
    timer = loop.call_later(max(0.0, wait_s), _expire, waiter)
    try:
        await waiter
    finally:
        timer.cancel()
        if waiter.done() and not waiter.cancelled():
            waiter.exception()  # expired just as we were cancelled: do not log it as never retrieved


# --- request and response heads ----------------------------------------------------------------------


def _request_bytes(request: httpx2.Request, body: bytes) -> bytes:
    """Request line, headers exactly as httpx2 built them (Host, Content-Length...) and body, in one piece."""
    parts = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    chunked = False
    for name, value in request.headers.raw:
        # Header injection guard (h11 refuses these too, as LocalProtocolError).
        if b"\r" in value or b"\n" in value or b"\0" in value or not name or b":" in name or b"\r" in name \
                or b"\n" in name or b" " in name:
            raise httpx2.LocalProtocolError(f"Illegal header name or value in header {name!r}", request=request)
        if name.lower() == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    if chunked:  # a streamed request body, already read whole: one chunk and the last chunk
        parts.append((b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n")
    else:
        parts.append(body)
    return b"".join(parts)


def _parse_head(head: bytes) -> tuple[bytes, int, bytes, list[tuple[bytes, bytes]]]:
    """(http_version, status, reason, headers) of a response head without its final blank line."""
    lines = head.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code, _, reason = rest.partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise httpx2.RemoteProtocolError(f"illegal status line: {lines[0][:100]!r}")
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):  # obsolete line folding: part of the previous value
            if not headers:
                raise httpx2.RemoteProtocolError("illegal header line: continuation before any header")
            name, value = headers[-1]
            headers[-1] = (name, value + b" " + line.strip(b" \t"))
            continue
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip(b" \t"):
            raise httpx2.RemoteProtocolError("illegal header line")
        headers.append((name, value.strip(b" \t")))
    return version, int(code), reason, headers


def _tokens(headers: list[tuple[bytes, bytes]], wanted: bytes) -> list[bytes]:
    """The comma-separated values of every ``wanted`` header, lower-cased, in order."""
    out: list[bytes] = []
    for name, value in headers:
        if name.lower() == wanted:
            out += (t.strip().lower() for t in value.split(b",") if t.strip())
    return out


def _framing(method: bytes, status: int, headers: list[tuple[bytes, bytes]]) -> tuple[_Framing, int]:
    """How the body is delimited (RFC 9112 §6.3) and, for Content-Length, how long it is."""
    if method == b"HEAD" or status < 200 or status in (204, 304):
        return _Framing.NONE, 0
    encodings = _tokens(headers, b"transfer-encoding")
    if encodings:
        return (_Framing.CHUNKED if encodings[-1] == b"chunked" else _Framing.EOF), 0
    lengths = set(_tokens(headers, b"content-length"))
    if not lengths:
        return _Framing.EOF, 0
    if len(lengths) != 1 or not next(iter(lengths)).isdigit():
        raise httpx2.RemoteProtocolError("bad Content-Length")
    return _Framing.LENGTH, int(next(iter(lengths)))


def _keep_alive(version: bytes, request: httpx2.Request, headers: list[tuple[bytes, bytes]]) -> bool:
    if b"close" in _tokens(request.headers.raw, b"connection"):
        return False
    connection = _tokens(headers, b"connection")
    if version == b"HTTP/1.0":
        return b"keep-alive" in connection
    return b"close" not in connection


# --- the transport ---------------------------------------------------------------------------------


class KeepAliveTransport(httpx2.AsyncBaseTransport):
    """HTTP/1.1 over asyncio with an idle pool per origin. One event loop; no threads; no proxies.

    Concurrent requests each get their own connection (idle ones first, else a new one): nothing waits
    for another request. A finished response returns its connection to the pool; one closed early is
    closed at once.
    """

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, max_idle_per_host: int = 4,
                 idle_timeout_s: float = 30.0) -> None:
        self._ssl_context = ssl_context
        self._alpn_set = False
        self._max_idle = max_idle_per_host
        self._idle_timeout_s = idle_timeout_s
        self._idle: dict[_Key, list[_Connection]] = {}
        self._opening: dict[_Key, asyncio.Task[None]] = {}  # connections opened ahead for parked calls
        self._closed = False

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        scheme = request.url.scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx2.UnsupportedProtocol(f"Request URL has an unsupported protocol '{scheme}://'.",
                                             request=request)
        key: _Key = (scheme, request.url.raw_host.decode("ascii"), request.url.port or _DEFAULT_PORTS[scheme])
        timeouts = request.extensions.get("timeout", {})
        payload = _request_bytes(request, await request.aread())
        connect_s = timeouts.get("connect")
        if waiting_to_send():  # a call prepared in a typing pause waits here, built, until it is needed
            await self._wait_with_a_connection_ready(key, connect_s, request)
        # An idle connection the server closed shows its EOF before reuse (``alive``). One that dies after
        # the request went out is an error, never a resend: the API may have taken the request (and would
        # bill it twice), and httpcore2 does not resend either.
        conn = (self._checkout(key) or await self._connection_being_opened(key, request)
                or await self._connect(key, connect_s, request))
        return await self._exchange(conn, request, payload, timeouts)

    async def aclose(self) -> None:
        """Close every idle connection; responses still streaming close theirs when they end."""
        self._closed = True
        opening = list(self._opening.values())
        for task in opening:
            task.cancel()
        await asyncio.gather(*opening, return_exceptions=True)
        idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.abort()
        if idle:
            await asyncio.sleep(0)  # abort() closes the sockets on the next loop turn: be done when we return

    # --- connections ----------------------------------------------------------------------------

    def _tls(self) -> ssl.SSLContext:
        # Built on the first https request: loading the CA bundle costs ~20 ms.
        if self._ssl_context is None:
            # httpx2's own default: the system CA store, or SSL_CERT_FILE / SSL_CERT_DIR when set.
            self._ssl_context = httpx2.create_ssl_context()
        if not self._alpn_set:
            self._ssl_context.set_alpn_protocols(["http/1.1"])
            self._alpn_set = True
        return self._ssl_context

    async def _connect(self, key: _Key, connect_s: float | None, request: httpx2.Request) -> _Connection:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        try:
            ctx = self._tls() if scheme == "https" else None  # a missing SSL_CERT_FILE: a ConnectError too
            async with asyncio.timeout(connect_s):
                _, conn = await loop.create_connection(lambda: _Connection(key), host, port, ssl=ctx,
                                                       server_hostname=host if ctx is not None else None)
        except TimeoutError as err:
            raise httpx2.ConnectTimeout(str(err), request=request) from err
        except (OSError, UnicodeError) as err:  # refused, unreachable, DNS (a label too long for IDNA: a
            # UnicodeError), a certificate failure (ssl.SSLError) or a CA bundle that cannot be read
            raise httpx2.ConnectError(str(err), request=request) from err
        assert conn.transport is not None
        sock = conn.transport.get_extra_info("socket")
        if sock is not None:
            for option in _KEEPALIVE_OPTIONS:
                with contextlib.suppress(OSError):
                    sock.setsockopt(*option)
        return conn

    # --- connections opened ahead, for parked calls ----------------------------------------------

    async def _wait_with_a_connection_ready(self, key: _Key, connect_s: float | None,
                                            request: httpx2.Request) -> None:
        """Wait at the parked call's gate with an idle connection ready for it.

        After ``idle_timeout_s`` without a call the pool is empty, and a new TLS connection to the API costs
        two or three round trips (~50–150 ms) that would be on the next completion's path. So one is opened
        ahead when the pool has none with half its idle life left, and again before it expires, for up to
        ``KEEP_READY_S`` (a user thinking before asking). Opening a connection sends nothing. The opening is
        the transport's own task: the next keystroke's call, which cancels this one, finds it under way
        instead of starting another handshake."""
        loop = asyncio.get_running_loop()
        refresh_s = self._idle_timeout_s / 2
        until = time.monotonic() + KEEP_READY_S
        timer: asyncio.TimerHandle | None = None

        def keep_ready() -> None:  # a timer, not a wake-up of ours: the gate's opening stays one plain await
            nonlocal timer
            self._open_ahead(key, connect_s, request)
            if time.monotonic() + refresh_s < until:
                timer = loop.call_later(refresh_s, keep_ready)

        keep_ready()
        try:
            await wait_at_gate()
        finally:
            if timer is not None:
                timer.cancel()

    def _open_ahead(self, key: _Key, connect_s: float | None, request: httpx2.Request) -> None:
        if self._closed or self._max_idle <= 0 or key in self._opening:
            return
        now = time.monotonic()
        if any(self._usable(conn, now, for_s=self._idle_timeout_s / 2) for conn in self._idle.get(key, ())):
            return

        async def open_one() -> None:
            self._release(await self._connect(key, connect_s, request))

        task = asyncio.get_running_loop().create_task(open_one())
        self._opening[key] = task
        task.add_done_callback(functools.partial(self._opened, key))

    def _opened(self, key: _Key, task: asyncio.Task[None]) -> None:
        if self._opening.get(key) is task:
            del self._opening[key]
        if not task.cancelled() and task.exception() is not None:  # a call waiting for it raises it
            log.debug("opening a connection ahead failed: %s", task.exception())

    async def _connection_being_opened(self, key: _Key, request: httpx2.Request) -> _Connection | None:
        """The connection an opening under way brings (better than a second handshake). Its failure is this
        request's too: the same connect to the same origin, reported rather than tried twice."""
        task = self._opening.get(key)
        if task is None:
            return None
        await asyncio.wait({task})  # cancelling us leaves the opening to finish for the pool
        if task.cancelled():
            return None
        error = task.exception()
        if isinstance(error, httpx2.TransportError):
            raise type(error)(str(error), request=request) from error
        return None if error is not None else self._checkout(key)

    def _checkout(self, key: _Key) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()  # the most recently used: the least likely to have been closed by the server
            if self._usable(conn, now):
                return conn
            conn.abort()
        return None

    def _usable(self, conn: _Connection, now: float, for_s: float = 0.0) -> bool:
        """Alive, and still inside the pool's idle timeout ``for_s`` from now."""
        return conn.alive() and now + for_s - conn.idle_since < self._idle_timeout_s

    def _release(self, conn: _Connection) -> None:
        if self._closed or self._max_idle <= 0 or not conn.alive():
            conn.abort()
            return
        conn.idle_since = time.monotonic()
        idle = self._idle.setdefault(conn.key, [])
        idle.append(conn)
        while len(idle) > self._max_idle:
            idle.pop(0).abort()

    # --- one request/response -------------------------------------------------------------------

    async def _exchange(self, conn: _Connection, request: httpx2.Request, payload: bytes,
                        timeouts: dict[str, float | None]) -> httpx2.Response:
        read_timeout = timeouts.get("read")
        try:
            conn.send(payload)
            try:
                await conn.drain(timeouts.get("write"))
            except _TimedOut as err:
                raise httpx2.WriteTimeout("timed out writing the request", request=request) from err
            except OSError:
                # As httpcore2 does: a server may answer (413...) and close before reading everything;
                # the answer, or why there is none, comes from the read below.
                pass
            version, status, reason, headers = await _read_head(conn, read_timeout)
            framing, length = _framing(request.method.encode("ascii"), status, headers)
            stream = _ResponseStream(self, conn, framing, length, read_timeout,
                                     keep_alive=status != 101 and _keep_alive(version, request, headers))
        except BaseException:  # errors and CancelledError alike: this connection is done
            conn.abort()
            raise
        return httpx2.Response(status, headers=headers, stream=stream,
                               extensions={"http_version": version, "reason_phrase": reason})


async def _read_head(conn: _Connection, read_s: float | None) -> tuple[bytes, int, bytes, list[tuple[bytes, bytes]]]:
    """The final response's head; 1xx interim responses are skipped."""
    while True:
        end = conn.buf.find(b"\r\n\r\n")
        while end < 0:
            if len(conn.buf) > MAX_HEAD_BYTES:
                raise httpx2.RemoteProtocolError(f"response head larger than {MAX_HEAD_BYTES} bytes")
            searched = max(0, len(conn.buf) - 3)
            try:
                more = await conn.receive(read_s)
            except _TimedOut as err:
                raise httpx2.ReadTimeout("timed out waiting for the response") from err
            except OSError as err:
                raise httpx2.ReadError(str(err)) from err
            if not more:
                raise httpx2.RemoteProtocolError(_NO_RESPONSE)
            end = conn.buf.find(b"\r\n\r\n", searched)
        if end + 4 > MAX_HEAD_BYTES:
            raise httpx2.RemoteProtocolError(f"response head larger than {MAX_HEAD_BYTES} bytes")
        head = bytes(conn.buf[:end])
        del conn.buf[: end + 4]
        version, status, reason, headers = _parse_head(head)
        if 100 <= status < 200 and status != 101:
            continue  # 100 Continue, 103 Early Hints: the real answer follows
        return version, status, reason, headers


class _ResponseStream(httpx2.AsyncByteStream):
    """The body, de-chunked, yielded as each piece arrives (SSE events must not wait for the end)."""

    def __init__(self, transport: KeepAliveTransport, conn: _Connection, framing: _Framing, length: int,
                 timeout: float | None, *, keep_alive: bool) -> None:
        self._transport = transport
        self._conn: _Connection | None = conn
        self._framing = framing
        self._length = length
        self._remaining = length  # LENGTH: body bytes still due; CHUNKED: bytes left in this chunk
        self._chunk_crlf = False  # CHUNKED: the CRLF after a chunk's data is still due
        self._timeout = timeout
        self._keep_alive = keep_alive and framing is not _Framing.EOF
        if framing is _Framing.NONE or (framing is _Framing.LENGTH and length == 0):
            self._finish()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        conn = self._conn
        if conn is None:
            raise StopAsyncIteration
        try:
            data = await self._next(conn)
        except BaseException:  # a broken body, a timeout or a cancel: the connection is unusable
            self._abort()
            raise
        if data is None:
            self._finish()
            raise StopAsyncIteration
        return data

    async def aclose(self) -> None:
        # Before the end, the connection is closed, never pooled: the server must see us go at once.
        self._abort()

    # --- framing --------------------------------------------------------------------------------

    async def _next(self, conn: _Connection) -> bytes | None:
        """The next piece of the body, or None when it is complete."""
        if self._framing is _Framing.LENGTH:
            if not conn.buf and not await self._more(conn):
                got = self._length - self._remaining
                raise httpx2.RemoteProtocolError(f"{_INCOMPLETE} (received {got} bytes, expected {self._length})")
            data = _take(conn.buf, self._remaining)
            self._remaining -= len(data)
            if self._remaining == 0:
                self._finish()  # back to the pool now, not when the caller asks for more
            return data
        if self._framing is _Framing.CHUNKED:
            return await self._next_chunked(conn)
        # EOF framing: everything until the server closes.
        if not conn.buf and not await self._more(conn):
            return None
        return _take(conn.buf, len(conn.buf))

    async def _next_chunked(self, conn: _Connection) -> bytes | None:
        buf = conn.buf
        while True:
            if self._remaining:
                if not buf:
                    await self._more_chunked(conn)
                data = _take(buf, self._remaining)
                self._remaining -= len(data)
                self._chunk_crlf = self._remaining == 0
                return data
            if self._chunk_crlf:
                while len(buf) < 2:
                    await self._more_chunked(conn)
                if buf[:2] != b"\r\n":
                    raise httpx2.RemoteProtocolError("malformed chunk footer")
                del buf[:2]
                self._chunk_crlf = False
            line = await self._line(conn)
            size = line.split(b";", 1)[0].strip(b" \t")  # chunk extensions are ignored
            if not size or len(size) > 16 or size.strip(_HEX_DIGITS):
                raise httpx2.RemoteProtocolError(f"illegal chunk header: {line[:40]!r}")
            self._remaining = int(size, 16)
            if self._remaining == 0:
                while await self._line(conn):
                    pass  # trailer fields: tolerated, not surfaced (httpcore2 drops them too)
                return None

    async def _line(self, conn: _Connection) -> bytes:
        end = conn.buf.find(b"\r\n")
        while end < 0:
            if len(conn.buf) > MAX_HEAD_BYTES:
                raise httpx2.RemoteProtocolError("chunk header or trailer line too long")
            searched = max(0, len(conn.buf) - 1)
            await self._more_chunked(conn)
            end = conn.buf.find(b"\r\n", searched)
        line = bytes(conn.buf[:end])
        del conn.buf[: end + 2]
        return line

    async def _more_chunked(self, conn: _Connection) -> None:
        if not await self._more(conn):
            raise httpx2.RemoteProtocolError(f"{_INCOMPLETE} (incomplete chunked read)")

    async def _more(self, conn: _Connection) -> bool:
        try:
            return await conn.receive(self._timeout)
        except _TimedOut as err:
            raise httpx2.ReadTimeout("timed out reading the response body") from err
        except OSError as err:
            raise httpx2.ReadError(str(err)) from err

    # --- end of the response --------------------------------------------------------------------

    def _finish(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._keep_alive and not conn.buf:
            self._transport._release(conn)
        else:
            conn.abort()  # close-delimited, `Connection: close`, or bytes beyond the body

    def _abort(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.abort()


def _take(buf: bytearray, limit: int) -> bytes:
    n = min(len(buf), limit)
    data = bytes(buf[:n])
    del buf[:n]
    return data
