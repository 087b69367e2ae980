"""``FakeAnthropic``: a loopback Messages API server in a background thread with its own event loop.

It serves in-process async tests (whose loop is a different one) and server subprocesses alike, and
exposes a thread-safe API to script replies and inspect what it received.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from tests.fake_anthropic.api import ApiHandler, FakeState
from tests.fake_anthropic.messages import new_id
from tests.fake_anthropic.records import RecordedRequest
from tests.fake_anthropic.script import Reply, ReplyLike
from tests.fake_anthropic.wire import BadRequest, Connection, HttpRequest, read_request, response_head


class FakeAnthropic:
    """A fake of the Anthropic Messages API on ``http://127.0.0.1:PORT`` (see the package docstring)."""

    def __init__(self, port: int = 0, *, host: str = "127.0.0.1", api_key: str | None = None,
                 require_version: bool = True, min_cacheable_tokens: int = 0,
                 batch_processing_s: float = 0.0) -> None:
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._state = FakeState(base_url=lambda: self.base_url, api_key=api_key,
                                require_version=require_version, batch_processing_s=batch_processing_s)
        self._state.cache.min_cacheable_tokens = min_cacheable_tokens
        self._api = ApiHandler(self._state)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.connections_accepted = 0  # TCP connections clients opened, whether or not they sent a request
        self._startup_error: BaseException | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError("FakeAnthropic already started")
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="fake-anthropic", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("FakeAnthropic did not start within 10 s")
        if self._startup_error is not None:
            self._thread.join(5)
            self._thread = None
            raise self._startup_error
        return self

    def stop(self) -> None:
        """Close the listener and every open connection (open requests end as ``server_stopped``)."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._serve, self._host, self._requested_port))
            self._port = int(self._server.sockets[0].getsockname()[1])
        except BaseException as err:  # reported to start()
            self._startup_error = err
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeAnthropic is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` — give it to ``AsyncAnthropic(base_url=...)`` or ANTHROPIC_BASE_URL."""
        return f"http://{self._host}:{self.port}"

    # --- scripting (thread-safe) ----------------------------------------------------------------

    def script(self, model: str | None, *replies: ReplyLike) -> None:
        """Queue replies for ``model`` (None: any model), used one per call in order."""
        self._state.script.add(model, *replies)

    def set_default(self, reply: ReplyLike) -> None:
        """The reply used when no scripted reply is queued for a request's model."""
        self._state.script.set_default(reply)

    def load_script(self, data: Mapping[str, Any]) -> None:
        """Apply a script document: ``{"default": reply, "script": {"<model>" | "*": [reply, ...]}}``."""
        unknown = set(data) - {"default", "script"}
        if unknown:
            raise ValueError(f"unknown script keys: {sorted(unknown)}")
        if "default" in data:
            self.set_default(Reply.from_json(data["default"]))
        for model, replies in dict(data.get("script", {})).items():
            if not isinstance(replies, list):
                raise ValueError(f"script[{model!r}] must be a list of replies")
            self.script(None if model == "*" else model, *(Reply.from_json(r) for r in replies))

    def clear(self) -> None:
        """Forget everything: queued replies, the default, recorded requests, the prompt cache, batches."""
        self._state.script.clear()
        self._state.log.clear()
        self._state.cache.clear()
        self._state.batches.clear()
        self._state.errors.clear()

    def expire_cache(self) -> None:
        """Drop every cached prompt prefix, as if their TTL had passed."""
        self._state.cache.clear()

    @property
    def batch_processing_s(self) -> float:
        return self._state.batch_processing_s

    @batch_processing_s.setter
    def batch_processing_s(self, seconds: float) -> None:
        self._state.batch_processing_s = seconds

    # --- recording ------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every ``/v1/...`` request so far, in arrival order (live objects updated as replies go out)."""
        return self._state.log.snapshot()

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised inside the fake's handlers (answered as 500 api_error); should stay empty."""
        return list(self._state.errors)

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``n`` requests arrived. From async code use the ``_async`` variant."""
        self._state.log.wait(lambda rs: len(rs) >= n, timeout, f"{n} request(s)")
        return self.requests

    def wait_for_disconnect(self, index: int, timeout: float = 5.0) -> RecordedRequest:
        """Block until the client of request ``index`` went away while its reply was being produced."""
        self._state.log.wait(lambda rs: len(rs) > index and rs[index].client_disconnected_at is not None,
                             timeout, f"a client disconnect on request {index}")
        return self.requests[index]

    def wait_for_finished(self, index: int, timeout: float = 5.0) -> RecordedRequest:
        """Block until request ``index`` has an outcome other than ``pending``."""
        self._state.log.wait(lambda rs: len(rs) > index and rs[index].finished, timeout,
                             f"request {index} to finish")
        return self.requests[index]

    async def wait_for_requests_async(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        await self._state.log.wait_async(lambda rs: len(rs) >= n, timeout, f"{n} request(s)")
        return self.requests

    async def wait_for_disconnect_async(self, index: int, timeout: float = 5.0) -> RecordedRequest:
        await self._state.log.wait_async(
            lambda rs: len(rs) > index and rs[index].client_disconnected_at is not None,
            timeout, f"a client disconnect on request {index}")
        return self.requests[index]

    async def wait_for_finished_async(self, index: int, timeout: float = 5.0) -> RecordedRequest:
        await self._state.log.wait_async(lambda rs: len(rs) > index and rs[index].finished, timeout,
                                         f"request {index} to finish")
        return self.requests[index]

    # --- connections (event-loop thread) --------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self.connections_accepted += 1
        conn = Connection(reader, writer)
        try:
            while not conn.gone.is_set():
                try:
                    req = await read_request(reader, conn.buf)
                except BadRequest as err:
                    body = json.dumps({"type": "error", "error": {"type": "invalid_request_error",
                                                                  "message": str(err)}}).encode()
                    await conn.send(response_head(400, [("content-type", "application/json"),
                                                        ("content-length", str(len(body))),
                                                        ("connection", "close")]) + body)
                    break
                if req is None or not await self._dispatch(conn, req) or not req.keep_alive:
                    break
        except (ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            pass  # the fake is stopping
        finally:
            conn.close()
            self._connections.discard(task)

    async def _dispatch(self, conn: Connection, req: HttpRequest) -> bool:
        if req.path.startswith("/_fake/"):
            return await self._control(conn, req)
        rec = self._record(req)
        conn.on_gone = lambda at: self._note_disconnect(rec, at)
        conn.start_watch()
        try:
            return await self._api.handle(conn, req, rec)
        except asyncio.CancelledError:
            self._state.log.finish(rec, "server_stopped")
            raise
        except Exception as err:  # a bug or a raising reply callable: answer like the API would
            self._state.errors.append(err)
            return await self._api.error(conn, rec, 500, f"fake Anthropic API handler failed: {err!r}")
        finally:
            conn.on_gone = None
            await conn.stop_watch()

    def _note_disconnect(self, rec: RecordedRequest, at: float) -> None:
        if rec.outcome == "pending":
            self._state.log.update(rec, client_disconnected_at=at)

    def _record(self, req: HttpRequest) -> RecordedRequest:
        try:
            body: Any = json.loads(req.body) if req.body else None
        except ValueError:
            body = None
        model = body.get("model") if isinstance(body, dict) else None
        stream = bool(body.get("stream")) if isinstance(body, dict) else False
        return self._state.log.add(lambda index: RecordedRequest(
            index=index, request_id=new_id("req"), method=req.method, path=req.path, query=req.query,
            headers=dict(req.headers), raw_body=req.body, body=body,
            model=model if isinstance(model, str) else None, stream=stream, received_at=time.monotonic(),
            first_byte_at=req.first_byte_at))

    # --- control endpoints for other processes --------------------------------------------------

    async def _control(self, conn: Connection, req: HttpRequest) -> bool:
        status, payload = 200, b'{"ok":true}'
        try:
            data: Any = json.loads(req.body) if req.body else {}
            route = (req.method, req.path.rstrip("/"))
            if route == ("POST", "/_fake/script"):
                model = data.get("model")
                self.script(model, *(Reply.from_json(r) for r in data.get("replies", [])))
            elif route == ("POST", "/_fake/load"):
                self.load_script(data)
            elif route == ("POST", "/_fake/default"):
                self.set_default(Reply.from_json(data))
            elif route == ("POST", "/_fake/clear"):
                self.clear()
            elif route == ("GET", "/_fake/requests"):
                payload = json.dumps([r.to_json() for r in self.requests]).encode()
            elif route == ("GET", "/_fake/health"):
                pass
            else:
                status, payload = 404, json.dumps({"error": f"no control route {req.method} {req.path}"}).encode()
        except (ValueError, TypeError, AttributeError) as err:
            status, payload = 400, json.dumps({"error": str(err)}).encode()
        head = response_head(status, [("content-type", "application/json"),
                                      ("content-length", str(len(payload)))])
        return await conn.send(head + payload)
