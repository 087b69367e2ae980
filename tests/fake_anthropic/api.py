"""The ``/v1/...`` endpoints: messages (JSON and SSE, with scripted latency and faults), count_tokens
and message batches. Each handler writes one response and returns whether the connection may be reused.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fake_anthropic import messages as m
from tests.fake_anthropic.batches import BatchStore
from tests.fake_anthropic.records import RecordedRequest, RequestLog
from tests.fake_anthropic.script import Reply, Script
from tests.fake_anthropic.tokens import InputUsage, PromptCache, count_prompt_tokens, prompt_blocks
from tests.fake_anthropic.wire import LAST_CHUNK, Connection, HttpRequest, chunk, response_head

_BATCH = re.compile(r"^/v1/messages/batches/([A-Za-z0-9_]+)(/results)?$")
_STATUS_OF_ERROR = {v: k for k, v in m.ERROR_TYPES.items()}


@dataclass
class FakeState:
    """Everything the handlers share; owned by ``FakeAnthropic``."""

    base_url: Callable[[], str]
    api_key: str | None = None  # when set, any other key gets a 401
    require_version: bool = True  # the API rejects requests without `anthropic-version`
    batch_processing_s: float = 0.0
    script: Script = field(default_factory=Script)
    cache: PromptCache = field(default_factory=PromptCache)
    log: RequestLog = field(default_factory=RequestLog)
    batches: BatchStore = field(default_factory=BatchStore)
    errors: list[BaseException] = field(default_factory=list)  # exceptions raised inside handlers


def _retry_headers(reply: Reply) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    if reply.retry_after_s is not None:
        value = reply.retry_after_s
        headers.append(("retry-after", str(int(value)) if float(value).is_integer() else str(value)))
    if reply.retry_after_ms is not None:
        headers.append(("retry-after-ms", str(reply.retry_after_ms)))
    return headers


class ApiHandler:
    def __init__(self, state: FakeState) -> None:
        self.s = state

    # --- plumbing -------------------------------------------------------------------------------

    async def _send_json(self, conn: Connection, rec: RecordedRequest, status: int, body: object,
                         headers: list[tuple[str, str]] | None = None) -> bool:
        payload = json.dumps(body).encode()
        head = response_head(status, [
            ("content-type", "application/json"), ("content-length", str(len(payload))),
            ("request-id", rec.request_id), *(headers or []),
        ])
        # Recorded before the bytes go out: the client may look at the record as soon as it has them.
        self.s.log.update(rec, status=status)
        self.s.log.finish(rec, "completed" if status < 400 else "error_status")
        if not await conn.send(head + payload):
            return self._gone(rec)
        return True

    async def error(self, conn: Connection, rec: RecordedRequest, status: int, message: str,
                    headers: list[tuple[str, str]] | None = None, error_type: str | None = None) -> bool:
        error_type = error_type or m.ERROR_TYPES.get(status, "api_error")
        body = m.error_body(error_type, message, rec.request_id)
        return await self._send_json(conn, rec, status, body, headers)

    def _gone(self, rec: RecordedRequest) -> bool:
        self.s.log.finish(rec, "client_disconnected", override=True)
        return False

    async def _until_gone(self, conn: Connection, rec: RecordedRequest) -> bool:
        """Send nothing more until the client goes away (a timeout or a stalled stream)."""
        await conn.gone.wait()
        return self._gone(rec)

    # --- routing --------------------------------------------------------------------------------

    async def handle(self, conn: Connection, req: HttpRequest, rec: RecordedRequest) -> bool:
        key = req.headers.get("x-api-key")
        auth = req.headers.get("authorization", "")
        if key is None and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        if not key:
            return await self.error(conn, rec, 401, "x-api-key header is required")
        if self.s.api_key is not None and key != self.s.api_key:
            return await self.error(conn, rec, 401, "invalid x-api-key")
        if self.s.require_version and "anthropic-version" not in req.headers:
            return await self.error(conn, rec, 400, "anthropic-version: header is required")
        path = req.path.rstrip("/")
        if req.method == "POST" and path == "/v1/messages":
            return await self.messages(conn, req, rec)
        if req.method == "POST" and path == "/v1/messages/count_tokens":
            return await self.count_tokens(conn, rec)
        if req.method == "POST" and path == "/v1/messages/batches":
            return await self.create_batch(conn, rec)
        match = _BATCH.match(path)
        if req.method == "GET" and match:
            return await self.batch(conn, rec, match.group(1), results=bool(match.group(2)))
        return await self.error(conn, rec, 404, f"Not found: {req.method} {req.path}")

    # --- POST /v1/messages ----------------------------------------------------------------------

    async def messages(self, conn: Connection, req: HttpRequest, rec: RecordedRequest) -> bool:
        if rec.body is None:
            return await self.error(conn, rec, 400, "There was an error parsing the body of your request")
        problem = m.validate_params(rec.body)
        if problem:
            return await self.error(conn, rec, 400, problem)
        body: dict[str, Any] = rec.body
        model: str = body["model"]
        reply = self.s.script.next_for(model, body)
        self.s.log.update(rec, fault=reply.fault_label, reply_text=reply.text)
        if reply.fault is not None:
            return await self._fault(conn, rec, reply)
        usage = self.s.cache.account(model, prompt_blocks(body), time.monotonic())
        gen = m.generate(reply.text, body["max_tokens"], body.get("stop_sequences") or ())
        self.s.log.update(rec, planned_tokens=len(gen.tokens))
        if body.get("stream"):
            return await self._stream(conn, rec, reply, gen, usage, model)
        return await self._whole(conn, rec, reply, gen, usage, model)

    async def _fault(self, conn: Connection, rec: RecordedRequest, reply: Reply) -> bool:
        if reply.fault == "timeout":
            return await self._until_gone(conn, rec)
        if not await conn.sleep(reply.ttft_s):
            return self._gone(rec)
        if reply.fault == "reset":
            self.s.log.finish(rec, "reset")
            conn.reset()
            return False
        status = int(reply.fault or 500)
        headers = _retry_headers(reply) if status in (429, 529) else []
        if reply.should_retry is not None:
            headers.append(("x-should-retry", "true" if reply.should_retry else "false"))
        return await self.error(conn, rec, status, m.ERROR_MESSAGES[status], headers)

    async def _whole(self, conn: Connection, rec: RecordedRequest, reply: Reply, gen: m.Generation,
                     usage: InputUsage, model: str) -> bool:
        fault = reply.stream_fault
        if fault is not None and fault[0] == "stall":
            return await self._until_gone(conn, rec)
        tokens_time = reply.per_token_s * (max(0, len(gen.tokens) - 1) + m.unstreamed_tokens(gen))
        if not await conn.sleep(reply.ttft_s + tokens_time):
            return self._gone(rec)
        if fault is not None and fault[0] == "error_event":
            status = _STATUS_OF_ERROR.get(reply.error_event_type, 529)
            return await self.error(conn, rec, status, "Overloaded", error_type=reply.error_event_type)
        message = m.message_json(m.new_id("msg"), model, gen, usage)
        payload = json.dumps(message).encode()
        if fault is not None and fault[0] == "malformed_event":
            payload = payload[: len(payload) // 2]  # a 200 whose body is not JSON
        head = response_head(200, [("content-type", "application/json"),
                                   ("content-length", str(len(payload))), ("request-id", rec.request_id)])
        if fault is not None and fault[0] == "cut":
            self.s.log.update(rec, status=200)
            self.s.log.finish(rec, "cut")
            await conn.send(head + payload[: len(payload) // 2])
            conn.close()
            return False
        self.s.log.update(rec, status=200, streamed_tokens=len(gen.tokens), usage=message["usage"])
        self.s.log.finish(rec, "completed")
        if not await conn.send(head + payload):
            return self._gone(rec)
        return True

    async def _stream(self, conn: Connection, rec: RecordedRequest, reply: Reply, gen: m.Generation,
                      usage: InputUsage, model: str) -> bool:
        head = response_head(200, [
            ("content-type", "text/event-stream; charset=utf-8"), ("cache-control", "no-cache"),
            ("transfer-encoding", "chunked"), ("request-id", rec.request_id),
        ])
        self.s.log.update(rec, status=200)
        if not await conn.send(head + chunk(m.stream_prologue(m.new_id("msg"), model, usage))):
            return self._gone(rec)
        fault = reply.stream_fault
        if not await conn.sleep(reply.ttft_s):
            return self._gone(rec)
        for i, token in enumerate(gen.tokens):
            if i > 0 and not await conn.sleep(reply.per_token_s):
                return self._gone(rec)
            if fault is not None and fault[1] == i:
                if fault[0] != "malformed_event":
                    return await self._strike(conn, rec, reply, fault[0])
                if not await conn.send(chunk(m.MALFORMED_EVENT)):
                    return self._gone(rec)
            # Counted before the write so the record never shows fewer tokens than the client has.
            late = 1 if conn.gone.is_set() else 0
            self.s.log.update(rec, streamed_tokens=rec.streamed_tokens + 1,
                              tokens_after_disconnect=rec.tokens_after_disconnect + late)
            if not await conn.send(chunk(m.text_delta(token))):
                self.s.log.update(rec, streamed_tokens=rec.streamed_tokens - 1,
                                  tokens_after_disconnect=rec.tokens_after_disconnect - late)
                return self._gone(rec)
        if fault is not None and fault[1] >= len(gen.tokens):
            if fault[0] != "malformed_event":
                return await self._strike(conn, rec, reply, fault[0])
            if not await conn.send(chunk(m.MALFORMED_EVENT)):
                return self._gone(rec)
        if not await conn.sleep(reply.per_token_s * m.unstreamed_tokens(gen)):
            return self._gone(rec)
        self.s.log.update(rec, usage=m.usage_json(usage, gen.output_tokens))
        epilogue = chunk(m.stream_epilogue(gen, usage)) + LAST_CHUNK
        # Stamped as the last bytes go out, as for a JSON reply: encoding them is the fake's own time.
        self.s.log.finish(rec, "completed")
        if not await conn.send(epilogue):
            return self._gone(rec)
        return True

    async def _strike(self, conn: Connection, rec: RecordedRequest, reply: Reply, name: str) -> bool:
        if name == "stall":
            return await self._until_gone(conn, rec)
        if name == "error_event":
            message = "Overloaded" if reply.error_event_type == "overloaded_error" else "Internal server error"
            event = m.error_event(reply.error_event_type, message, rec.request_id)
            self.s.log.finish(rec, name)
            await conn.send(chunk(event) + LAST_CHUNK)
        self.s.log.finish(rec, name)
        conn.close()  # "cut": FIN in the middle of the chunked body, no message_stop
        return False

    # --- POST /v1/messages/count_tokens ---------------------------------------------------------

    async def count_tokens(self, conn: Connection, rec: RecordedRequest) -> bool:
        if rec.body is None:
            return await self.error(conn, rec, 400, "There was an error parsing the body of your request")
        problem = m.validate_params(rec.body, count_tokens=True)
        if problem:
            return await self.error(conn, rec, 400, problem)
        return await self._send_json(conn, rec, 200, {"input_tokens": count_prompt_tokens(rec.body)})

    # --- Message Batches ------------------------------------------------------------------------

    async def create_batch(self, conn: Connection, rec: RecordedRequest) -> bool:
        body = rec.body
        if not isinstance(body, dict) or "requests" not in body:
            return await self.error(conn, rec, 400, "requests: Field required")
        requests = body["requests"]
        if not isinstance(requests, list) or not requests:
            return await self.error(conn, rec, 400, "requests: List should have at least 1 item")
        seen: set[str] = set()
        for i, item in enumerate(requests):
            custom_id = item.get("custom_id") if isinstance(item, dict) else None
            if not isinstance(custom_id, str) or not custom_id:
                return await self.error(conn, rec, 400, f"requests.{i}.custom_id: Field required")
            if custom_id in seen:
                return await self.error(conn, rec, 400, f"requests.{i}.custom_id: duplicate {custom_id!r}")
            seen.add(custom_id)
            params = item.get("params")
            problem = m.validate_params(params)
            if problem is None and isinstance(params, dict) and params.get("stream"):
                problem = "stream: batch requests cannot be streamed"
            if problem:
                return await self.error(conn, rec, 400, f"requests.{i}.params.{problem}")
        results = [self._batch_result(item["custom_id"], item["params"]) for item in requests]
        batch = self.s.batches.create(m.new_id("msgbatch"), results)
        data = self.s.batches.to_json(batch, self.s.base_url(), self.s.batch_processing_s)
        if data["processing_status"] == "ended":  # a new batch always reports in_progress
            data.update(processing_status="in_progress", ended_at=None, results_url=None,
                        request_counts=batch.counts(ended=False))
        return await self._send_json(conn, rec, 200, data)

    def _batch_result(self, custom_id: str, params: dict[str, Any]) -> dict[str, Any]:
        model: str = params["model"]
        reply = self.s.script.next_for(model, params)
        label = reply.fault_label
        if label is not None:
            error_type = {"429": "rate_limit_error", "529": "overloaded_error"}.get(label, "api_error")
            if label == "error_event":
                error_type = reply.error_event_type
            error = m.error_body(error_type, f"scripted fault: {label}", m.new_id("req"))
            return {"custom_id": custom_id, "result": {"type": "errored", "error": error}}
        usage = self.s.cache.account(model, prompt_blocks(params), time.monotonic())
        gen = m.generate(reply.text, params["max_tokens"], params.get("stop_sequences") or ())
        message = m.message_json(m.new_id("msg"), model, gen, usage, service_tier="batch")
        return {"custom_id": custom_id, "result": {"type": "succeeded", "message": message}}

    async def batch(self, conn: Connection, rec: RecordedRequest, batch_id: str, *, results: bool) -> bool:
        batch = self.s.batches.get(batch_id)
        if batch is None:
            return await self.error(conn, rec, 404, f"No message batch with id {batch_id!r}")
        data = self.s.batches.to_json(batch, self.s.base_url(), self.s.batch_processing_s)
        if not results:
            return await self._send_json(conn, rec, 200, data)
        if data["processing_status"] != "ended":
            return await self.error(conn, rec, 404, f"Message batch {batch_id} has not ended")
        payload = self.s.batches.results_jsonl(batch)
        head = response_head(200, [("content-type", "application/x-jsonl"),
                                   ("content-length", str(len(payload))), ("request-id", rec.request_id)])
        self.s.log.update(rec, status=200)
        self.s.log.finish(rec, "completed")
        if not await conn.send(head + payload):
            return self._gone(rec)
        return True
