"""A loopback fake of the Anthropic Messages API for tests and benchmarks.

A real HTTP/1.1 server on 127.0.0.1 (``FakeAnthropic``) that speaks ``POST /v1/messages`` in JSON and
SSE as the API does, ``POST /v1/messages/count_tokens`` and the Message Batches endpoints; answers from
a script (per model, per call) with latency and faults; and records every request it receives.

    with FakeAnthropic() as fake:
        fake.script("claude-sonnet-4-6", Reply(text="hi", ttft_s=0.05), Reply(fault="529"))
        client = anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="test-key")
        ...
        assert fake.requests[0].headers["anthropic-version"]

Standalone (for benchmarks and subprocesses): ``python -m tests.fake_anthropic --port 0`` prints the
base URL; script it over HTTP with ``RemoteFake`` or the ``/_fake/*`` control endpoints.
"""

from tests.fake_anthropic.records import RecordedRequest
from tests.fake_anthropic.remote import RemoteFake
from tests.fake_anthropic.script import DEFAULT_TEXT, Reply, ReplyLike
from tests.fake_anthropic.server import FakeAnthropic
from tests.fake_anthropic.tokens import count_tokens, tokenize

__all__ = [
    "DEFAULT_TEXT",
    "FakeAnthropic",
    "RecordedRequest",
    "RemoteFake",
    "Reply",
    "ReplyLike",
    "count_tokens",
    "tokenize",
]
