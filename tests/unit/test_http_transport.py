"""KeepAliveTransport: parity with httpx2's default transport through the real SDK, keep-alive, early
close, HTTP/1.1 framing against raw asyncio servers, and TLS with a throwaway certificate."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import ssl
import struct
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Self

import anthropic
import httpx2
import pytest

from ai_coding_router.models.http_transport import MAX_HEAD_BYTES, KeepAliveTransport
from ai_coding_router.models.parked import ParkingSlot
from tests.fake_anthropic import FakeAnthropic, Reply

SONNET = "claude-sonnet-4-6"
KEY = "sk-ant-test-key-0123456789"
BODY: dict[str, Any] = {"model": SONNET, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}


class CountingTransport(KeepAliveTransport):
    """Proves the SDK really sent through our transport (and not a default one)."""

    def __init__(self) -> None:
        super().__init__()
        self.handled = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.handled += 1
        return await super().handle_async_request(request)


def sdk(base_url: str, transport: httpx2.AsyncBaseTransport | None, timeout: float = 10.0) -> anthropic.AsyncAnthropic:
    http_client = None if transport is None else anthropic.DefaultAsyncHttpxClient(transport=transport)
    return anthropic.AsyncAnthropic(api_key=KEY, base_url=base_url, max_retries=0, timeout=timeout,
                                    http_client=http_client)


# --- 1. parity with the default transport through the SDK ------------------------------------------

PARITY_CASES = {
    "json": (Reply(text="return a + b;"), False, 10.0),
    "sse": (Reply(text="return a + b;", per_token_s=0.002), True, 10.0),
    "429": (Reply(fault="429"), True, 10.0),
    "529": (Reply(fault="529"), True, 10.0),
    "500": (Reply(fault="500"), False, 10.0),
    "stream-cut": (Reply(text="a b c d e f", cut_after_tokens=2), True, 10.0),
    "json-cut": (Reply(text="a b c d e f", cut_after_tokens=2), False, 10.0),
    "reset": (Reply(fault="reset"), True, 10.0),
    "read-timeout": (Reply(fault="timeout"), True, 0.3),
}


async def outcome(client: anthropic.AsyncAnthropic, stream: bool) -> tuple[object, ...]:
    """What a caller sees: the text (and event kinds), or the exception class, its httpx2 cause and status."""
    try:
        if stream:
            kinds: list[str] = []
            async with client.messages.stream(**BODY) as events:
                async for event in events:
                    kinds.append(event.type)
                text = (await events.get_final_message()).content[0]
            return ("ok", getattr(text, "text", None), tuple(kinds))
        message = await client.messages.create(**BODY)
        return ("ok", getattr(message.content[0], "text", None))
    except Exception as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, httpx2.HTTPError) else None
        detail = str(exc) if isinstance(exc, httpx2.RemoteProtocolError) else None
        return (type(exc), type(cause), getattr(exc, "status_code", None), detail)


@pytest.mark.parametrize("case", list(PARITY_CASES))
async def test_same_outcome_as_the_default_transport(fake_api: FakeAnthropic, case: str) -> None:
    reply, stream, timeout = PARITY_CASES[case]
    seen = []
    transport = CountingTransport()
    for chosen in (None, transport):
        fake_api.script(SONNET, reply)
        client = sdk(fake_api.base_url, chosen, timeout)
        seen.append(await outcome(client, stream))
        await client.close()
    assert transport.handled == 1
    assert seen[1] == seen[0]
    expected: dict[str, object] = {
        "json": "ok", "sse": "ok", "429": anthropic.RateLimitError, "529": anthropic.OverloadedError,
        "500": anthropic.InternalServerError, "stream-cut": httpx2.RemoteProtocolError,
        "json-cut": anthropic.APIConnectionError, "reset": anthropic.APIConnectionError,
        "read-timeout": anthropic.APITimeoutError,
    }
    assert seen[1][0] == expected[case]
    if seen[1][0] == "ok":
        assert seen[1][1] == "return a + b;"
    assert len(fake_api.requests) == 2


# --- 2 and 3. keep-alive and early close through the SDK -------------------------------------------


class LoopbackServer:
    """A server on 127.0.0.1 that counts connections and cancels its handlers on exit."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.ssl_context = ssl_context
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        index = self.connections
        self.connections += 1
        try:
            await self._handle(index, reader, writer)
        finally:
            self._tasks.discard(task)

    async def _handle(self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


class CountingProxy(LoopbackServer):
    """A TCP forwarder in front of the fake that counts the client's connections."""

    def __init__(self, target_port: int) -> None:
        super().__init__()
        self.target_port = target_port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.close()

        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        except asyncio.CancelledError:
            writer.close()  # the test is over


def fake_port(fake: FakeAnthropic) -> int:
    return int(fake.base_url.rsplit(":", 1)[1])


async def test_sequential_requests_share_one_connection(fake_api: FakeAnthropic) -> None:
    fake_api.script(SONNET, "one", "two", "three", "four")
    async with CountingProxy(fake_port(fake_api)) as proxy:
        client = sdk(proxy.base_url, KeepAliveTransport())
        texts = [(await outcome(client, stream))[1] for stream in (True, False, True, False)]
        await client.close()
    assert texts == ["one", "two", "three", "four"]
    assert proxy.connections == 1
    assert [r.outcome for r in fake_api.requests] == ["completed"] * 4


async def test_a_stream_left_early_closes_its_connection(fake_api: FakeAnthropic) -> None:
    # ttft: nothing past the first events is in the client's buffer when it leaves.
    fake_api.script(SONNET, Reply(text="word " * 100, ttft_s=0.2, per_token_s=0.01), "after")
    async with CountingProxy(fake_port(fake_api)) as proxy:
        client = sdk(proxy.base_url, KeepAliveTransport())
        async with client.messages.stream(**BODY) as events:
            async for _ in events:
                break  # leave after the first event
        # Not pooled, not left open: the fake sees the client go (this wait fails after 1 s otherwise).
        recorded = await fake_api.wait_for_disconnect_async(0, timeout=1.0)
        assert recorded.outcome == "client_disconnected"
        assert recorded.streamed_tokens < recorded.planned_tokens
        assert recorded.tokens_after_disconnect == 0
        assert (await outcome(client, False))[1] == "after"
        await client.close()
    assert proxy.connections == 2


# --- 4. framing and connection handling against raw servers ----------------------------------------


class Peer:
    """The server's side of one connection."""

    def __init__(self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.index = index
        self.reader = reader
        self.writer = writer
        self.bodies: list[bytes] = []

    async def request(self) -> bytes | None:
        """One request's head (its Content-Length body goes to ``bodies``); None at EOF."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                self.bodies.append(await self.reader.readexactly(int(line.split(b":", 1)[1])))
        return head

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def close(self) -> None:
        self.writer.close()

    def reset(self) -> None:
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


Respond = Callable[[Peer], Awaitable[None]]


class RawServer(LoopbackServer):
    """A loopback server whose every connection is handled by ``respond``; counts connections."""

    def __init__(self, respond: Respond, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(ssl_context)
        self.respond = respond
        self.requests: list[tuple[int, bytes]] = []  # (connection index, request head)
        self.bodies: list[bytes] = []  # request bodies with a Content-Length, in arrival order
        self.closed_by_client = asyncio.Event()

    def url(self, path: str = "/") -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def _handle(self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(index, reader, writer)
        original = peer.request

        async def recording() -> bytes | None:
            head = await original()
            if head is not None:
                self.requests.append((peer.index, head))
                self.bodies.extend(peer.bodies)
                peer.bodies.clear()
            return head

        peer.request = recording  # type: ignore[method-assign]
        try:
            await self.respond(peer)
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass  # the client went away, or the test is over
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def client_for(transport: httpx2.AsyncBaseTransport | None = None,
                     timeout: float = 5.0) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=transport or KeepAliveTransport(), timeout=timeout) as client:
        yield client


def answering(response: bytes) -> Respond:
    async def respond(peer: Peer) -> None:
        while await peer.request() is not None:
            await peer.send(response)

    return respond


async def test_chunked_with_extensions_and_trailer_then_reuse() -> None:
    response = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Id: 7\r\n\r\n"
                b"5;name=value\r\nhello\r\n6 ; q=\"x\"\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n")
    async with RawServer(answering(response)) as server, client_for() as client:
        first = await client.get(server.url("/a?b=1"))
        second = await client.get(server.url())
    assert first.status_code == second.status_code == 200
    assert first.text == second.text == "hello world"
    assert first.headers["x-id"] == "7"
    assert first.extensions["http_version"] == b"HTTP/1.1"
    assert first.extensions["reason_phrase"] == b"OK"
    assert server.connections == 1  # the trailer was consumed exactly: the next response parsed cleanly
    assert server.requests[0][1].startswith(b"GET /a?b=1 HTTP/1.1\r\n")


async def test_content_length_and_gzip_left_to_httpx2() -> None:
    import gzip

    payload = gzip.compress(b'{"ok": true}')
    response = (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(payload)) + payload
    async with RawServer(answering(response)) as server, client_for() as client:
        replies = [await client.post(server.url(), json={"n": i}) for i in range(3)]
    assert [r.json() for r in replies] == [{"ok": True}] * 3
    assert server.connections == 1
    assert [json.loads(body) for body in server.bodies] == [{"n": 0}, {"n": 1}, {"n": 2}]


async def test_read_to_eof_with_connection_close_is_not_reused() -> None:
    async def respond(peer: Peer) -> None:
        await peer.request()
        await peer.send(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
        peer.close()

    async with RawServer(respond) as server, client_for() as client:
        texts = [(await client.get(server.url())).text for _ in range(2)]
    assert texts == ["until the end"] * 2
    assert server.connections == 2


async def test_interim_responses_are_skipped() -> None:
    response = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"
                b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
    async with RawServer(answering(response)) as server, client_for() as client:
        reply = await client.post(server.url(), content=b"x")
    assert (reply.status_code, reply.text) == (201, "ok")
    assert "link" not in reply.headers


async def test_no_body_for_head_204_and_304() -> None:
    async def respond(peer: Peer) -> None:
        statuses = iter([b"200 OK", b"204 No Content", b"304 Not Modified"])
        while await peer.request() is not None:
            # A Content-Length that must not be read after a HEAD (and is not allowed on 204).
            await peer.send(b"HTTP/1.1 %s\r\nContent-Length: 5\r\n\r\n" % next(statuses))

    async with RawServer(respond) as server, client_for(timeout=1.0) as client:
        head = await client.head(server.url())
        empty = await client.get(server.url())
        same = await client.get(server.url())
    assert [head.status_code, empty.status_code, same.status_code] == [200, 204, 304]
    assert head.content == empty.content == same.content == b""


async def test_body_pieces_are_yielded_as_they_arrive() -> None:
    released = asyncio.Event()

    async def respond(peer: Peer) -> None:
        await peer.request()
        await peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst \r\n")
        await released.wait()  # the rest only once the client has shown it got the first piece
        await peer.send(b"4\r\nlast\r\n0\r\n\r\n")

    async with RawServer(respond) as server, client_for() as client, \
            client.stream("GET", server.url()) as reply:
        pieces = reply.aiter_raw()
        first = await asyncio.wait_for(anext(pieces), 1.0)
        released.set()
        rest = [piece async for piece in pieces]
    assert first == b"first "
    assert b"".join(rest) == b"last"


@pytest.mark.parametrize("ending", [b"Content-Length: 0\r\n\r\n", b""], ids=["complete", "endless"])
async def test_a_head_over_64_kib_is_a_protocol_error(ending: bytes) -> None:
    big = b"X-Big: " + b"a" * (MAX_HEAD_BYTES + 10) + b"\r\n"

    async def respond(peer: Peer) -> None:
        await peer.request()
        await peer.send(b"HTTP/1.1 200 OK\r\n" + big + ending)
        await peer.reader.read(1)  # then silence: the client must not wait for the rest

    async with RawServer(respond) as server, client_for(timeout=2.0) as client:
        with pytest.raises(httpx2.RemoteProtocolError, match="larger than"):
            await client.get(server.url())


@pytest.mark.parametrize("head", [b"Transfer-Encoding: chunked\r\n\r\n6\r\nfirst \r\n",
                                  b"Content-Length: 100\r\n\r\nfirst "], ids=["chunked", "length"])
async def test_closing_a_response_before_its_end_closes_the_connection(head: bytes) -> None:
    saw_eof = asyncio.Event()

    async def respond(peer: Peer) -> None:
        await peer.request()
        if peer.index > 0:
            await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh")
            return
        await peer.send(b"HTTP/1.1 200 OK\r\n" + head)
        if await peer.reader.read(1) == b"":  # the rest is never sent; waits for the client to go
            saw_eof.set()

    async with RawServer(respond) as server, client_for() as client:
        async with client.stream("GET", server.url()) as reply:
            assert await anext(reply.aiter_raw()) == b"first "
        await asyncio.wait_for(saw_eof.wait(), 1.0)
        assert (await client.get(server.url())).text == "fresh"
    assert server.connections == 2


async def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    closed = asyncio.Event()

    async def respond(peer: Peer) -> None:
        await peer.request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        if peer.index == 0:  # keep-alive was offered, then the server drops the idle connection
            peer.close()
            closed.set()

    async with RawServer(respond) as server, client_for() as client:
        assert (await client.get(server.url("/1"))).text == "ok"
        await closed.wait()
        await asyncio.sleep(0.05)  # the EOF reaches the idle connection
        assert (await client.get(server.url("/2"))).text == "ok"
    assert server.connections == 2
    assert [(index, head.split(b" ")[1]) for index, head in server.requests] == [(0, b"/1"), (1, b"/2")]


@pytest.mark.parametrize("how", ["close", "reset"])
@pytest.mark.parametrize("transport", ["keep-alive", "default"])
async def test_a_reused_connection_that_dies_after_the_request_is_an_error_not_a_resend(
    how: str, transport: str
) -> None:
    """The server may have taken the request (the API would bill it twice): like httpcore2, never resend."""

    async def respond(peer: Peer) -> None:
        await peer.request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await peer.request()
        peer.close() if how == "close" else peer.reset()

    chosen = KeepAliveTransport() if transport == "keep-alive" else httpx2.AsyncHTTPTransport()
    async with RawServer(respond) as server, client_for(chosen) as client:
        assert (await client.get(server.url("/1"))).text == "ok"
        expected = httpx2.RemoteProtocolError if how == "close" else httpx2.ReadError
        with pytest.raises(expected):
            await client.get(server.url("/2"))
    assert server.connections == 1
    assert len(server.requests) == 2


@pytest.mark.parametrize("transport", ["keep-alive", "default"])
async def test_a_fresh_connection_that_fails_is_not_retried(transport: str) -> None:
    async def respond(peer: Peer) -> None:
        await peer.request()
        peer.close()

    chosen = KeepAliveTransport() if transport == "keep-alive" else httpx2.AsyncHTTPTransport()
    async with RawServer(respond) as server, client_for(chosen) as client:
        with pytest.raises(httpx2.RemoteProtocolError, match=r"^Server disconnected without sending a response\.$"):
            await client.get(server.url())
    assert server.connections == 1


async def test_a_body_cut_short_is_a_protocol_error_and_the_next_request_reconnects() -> None:
    async def respond(peer: Peer) -> None:
        await peer.request()
        if peer.index == 0:
            await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
            peer.close()
            return
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfull")

    async with RawServer(respond) as server, client_for() as client:
        with pytest.raises(httpx2.RemoteProtocolError, match=r"received 4 bytes, expected 10"):
            await client.get(server.url())
        assert (await client.get(server.url())).text == "full"
    assert server.connections == 2


async def test_a_cancelled_request_closes_its_connection() -> None:
    got_request = asyncio.Event()
    saw_eof = asyncio.Event()

    async def respond(peer: Peer) -> None:
        if peer.index > 0:
            await peer.request()
            await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh")
            return
        await peer.request()
        got_request.set()
        if await peer.reader.read(1) == b"":  # never answers; waits for the client to go
            saw_eof.set()

    async with RawServer(respond) as server, client_for() as client:
        task = asyncio.create_task(client.get(server.url()))
        await asyncio.wait_for(got_request.wait(), 1.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(saw_eof.wait(), 1.0)
        assert (await client.get(server.url())).text == "fresh"
    assert server.connections == 2


async def test_concurrent_requests_each_get_a_connection() -> None:
    arrived = 0
    all_arrived = asyncio.Event()

    async def respond(peer: Peer) -> None:
        nonlocal arrived
        while await peer.request() is not None:
            arrived += 1
            if arrived == 3:
                all_arrived.set()
            await all_arrived.wait()  # nobody is answered until all three are in: no request waits on another
            await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n%d" % peer.index)

    async with RawServer(respond) as server, client_for() as client:
        replies = await asyncio.wait_for(asyncio.gather(*(client.get(server.url()) for _ in range(3))), 2.0)
        again = await client.get(server.url())
    assert sorted(r.text for r in replies) == ["0", "1", "2"]
    assert again.text in {"0", "1", "2"}  # an idle one was reused
    assert server.connections == 3


async def test_read_timeout_and_connect_error() -> None:
    async def silent(peer: Peer) -> None:
        await peer.request()
        await peer.reader.read(1)

    async with RawServer(silent) as server, client_for(timeout=0.1) as client:
        with pytest.raises(httpx2.ReadTimeout):
            await client.get(server.url())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # bound, not listening: refused
        for transport in (KeepAliveTransport(), httpx2.AsyncHTTPTransport()):
            async with client_for(transport) as client:
                with pytest.raises(httpx2.ConnectError):
                    await client.get(f"http://127.0.0.1:{closed_port}/")


@pytest.mark.parametrize("transport", ["keep-alive", "default"])
async def test_a_large_body_goes_out_whole_or_times_out_writing(transport: str) -> None:
    body = bytes(range(256)) * (64 * 1024)  # 16 MiB: more than the kernel buffers, so drain is exercised
    stop_reading = asyncio.Event()

    async def respond(peer: Peer) -> None:
        if peer.index > 0:
            await stop_reading.wait()  # reads nothing: the client's write must time out
            return
        await peer.request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    chosen = KeepAliveTransport() if transport == "keep-alive" else httpx2.AsyncHTTPTransport()
    async with RawServer(respond) as server, client_for(chosen) as client:
        reply = await client.post(server.url(), content=body)
        assert reply.status_code == 200
        assert server.bodies == [body]
        with pytest.raises(httpx2.WriteTimeout):
            await client.post(server.url(), content=body, headers={"connection": "close"},
                              timeout=httpx2.Timeout(5.0, write=0.1))
        stop_reading.set()


async def test_unsupported_scheme() -> None:
    transport = KeepAliveTransport()
    with pytest.raises(httpx2.UnsupportedProtocol, match="ftp://"):
        await transport.handle_async_request(httpx2.Request("GET", "ftp://127.0.0.1/file"))


async def test_aclose_closes_idle_connections() -> None:
    saw_eof = asyncio.Event()

    async def respond(peer: Peer) -> None:
        while await peer.request() is not None:
            await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        saw_eof.set()

    async with RawServer(respond) as server:
        transport = KeepAliveTransport()
        async with client_for(transport) as client:
            await client.get(server.url())
            assert not saw_eof.is_set()  # pooled, still open
        await asyncio.wait_for(saw_eof.wait(), 1.0)  # the client's close closed it


# --- 5. TLS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 (the openssl CLI; nothing else is installed)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the openssl CLI is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=30)
    return cert, key


def tls_server(certificate: tuple[Path, Path], alpn_seen: list[str | None]) -> RawServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    context.set_alpn_protocols(["h2", "http/1.1"])

    async def respond(peer: Peer) -> None:
        alpn_seen.append(peer.writer.get_extra_info("ssl_object").selected_alpn_protocol())
        while await peer.request() is not None:
            await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret")

    return RawServer(respond, context)


async def test_tls_with_a_trusted_certificate(certificate: tuple[Path, Path]) -> None:
    alpn: list[str | None] = []
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    async with tls_server(certificate, alpn) as server, client_for(KeepAliveTransport(ssl_context=trusting)) as client:
        texts = [(await client.get(server.url())).text for _ in range(2)]
    assert texts == ["secret", "secret"]
    assert server.connections == 1
    assert alpn == ["http/1.1"]


@pytest.mark.parametrize("transport", ["keep-alive", "default"])
async def test_tls_default_verification_refuses_an_unknown_certificate(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    chosen = KeepAliveTransport() if transport == "keep-alive" else httpx2.AsyncHTTPTransport()
    async with tls_server(certificate, []) as server, client_for(chosen) as client:
        with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(server.url())


async def test_tls_default_context_honours_ssl_cert_file(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = KeepAliveTransport()
    # Set after the transport is built: the default context is made at the first https request.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    async with tls_server(certificate, []) as server, client_for(transport) as client:
        assert (await client.get(server.url())).text == "secret"


# --- 6. connections opened ahead for calls parked in a typing pause (models/parked.py) ---------------

OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def _close_response(response: httpx2.Response) -> None:
    await response.aclose()


async def silent(peer: Peer) -> None:
    await peer.reader.read()  # never answers (a TLS ClientHello included): the handshake hangs


async def test_keystrokes_during_a_slow_handshake_open_one_connection() -> None:
    """Each keystroke's prepared call cancels the one before; the opening under way is the transport's
    and survives it, so a slow handshake is not restarted (and abandoned) at every keystroke."""
    async with RawServer(silent) as server:
        transport = KeepAliveTransport()
        async with client_for(transport, timeout=30) as client:
            slot: ParkingSlot[httpx2.Response] = ParkingSlot(_close_response)
            url = f"https://127.0.0.1:{server.port}/v1/messages"
            for n in range(8):
                slot.park(n, lambda: client.post(url, content=b"{}"))
                await asyncio.sleep(0.03)
            await slot.aclose()
            assert server.connections == 1
        # Closing the transport ends the opening: nothing is left connecting.
        await asyncio.sleep(0.1)
        assert server.requests == []


async def test_a_parked_call_keeps_a_connection_ready_past_the_idle_timeout() -> None:
    """A user who types, thinks longer than the pool keeps idle connections, then asks: the connection is
    opened again before the old one expires, so the call still finds one ready."""
    short_idle = KeepAliveTransport(idle_timeout_s=0.4)
    async with RawServer(answering(OK_RESPONSE)) as server, client_for(short_idle) as client:
        slot: ParkingSlot[httpx2.Response] = ParkingSlot(_close_response)
        slot.park("k", lambda: client.post(server.url("/v1/messages"), content=b"{}"))
        await asyncio.sleep(1.0)  # 2.5 idle timeouts
        opened_before = server.connections
        task = slot.take("k")
        assert task is not None
        response = await slot.adopt(task)
        await response.aread()
        assert response.status_code == 200
        assert opened_before >= 2  # re-opened while waiting
        assert server.connections == opened_before  # none opened on the call's path
        assert len(server.requests) == 1


async def test_a_call_that_waited_for_a_failing_opening_gets_its_error_without_a_second_try() -> None:
    async def closes_after_a_while(peer: Peer) -> None:
        await asyncio.sleep(0.3)
        peer.close()  # the TLS handshake fails

    async with RawServer(closes_after_a_while) as server, client_for(KeepAliveTransport(), timeout=10) as client:
        slot: ParkingSlot[httpx2.Response] = ParkingSlot(_close_response)
        slot.park("k", lambda: client.post(f"https://127.0.0.1:{server.port}/v1/messages", content=b"{}"))
        await asyncio.sleep(0.1)  # the opening is under way
        task = slot.take("k")
        assert task is not None
        with pytest.raises(httpx2.ConnectError):
            await slot.adopt(task)
        assert server.connections == 1


async def test_a_ca_bundle_that_cannot_be_read_is_a_connect_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a raw FileNotFoundError: the SDK and the opening ahead treat it as any failure to connect."""
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca-bundle.pem")
    async with RawServer(silent) as server, client_for(KeepAliveTransport()) as client:
        with pytest.raises(httpx2.ConnectError, match="No such file"):
            await client.post(f"https://127.0.0.1:{server.port}/v1/messages", content=b"{}")
