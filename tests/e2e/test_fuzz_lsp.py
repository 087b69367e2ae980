"""Hostile LSP input against ONE real server subprocess: a hypothesis fuzzer over every method it handles.

Malformed params, unknown URIs, positions past the end and inside surrogate pairs, CRLF, NUL bytes, a
20 MB document, invalid UTF-8 on disk and on the wire, broken JSON-RPC framing, requests before
`initialize` and after `shutdown`. After every example the server must still answer
`aiCodingRouter/serverStatus`, and every answer must be a JSON-RPC result or error — never silence,
never a dead process. The raw client (tests/e2e/raw_lsp.py) sends what pytest-lsp's typed client refuses.

The server and its client live on an event loop in a background thread for the whole module, so the
hypothesis tests themselves are plain synchronous functions.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fake_anthropic import FakeAnthropic, Reply

from .harness import copy_workspace, server_env
from .raw_lsp import SERVER_ARGV, VSCODE_LIKE_CAPABILITIES, Answer, RawLsp, default_server_request

T = TypeVar("T")
KEY = "sk-ant-fuzz-0123456789abcdefghij"
COMMANDS = ("aiCodingRouter.runTask", "aiCodingRouter.cancelJob", "aiCodingRouter.listJobs",
            "aiCodingRouter.applyJob", "aiCodingRouter.costReport")
KINDS = ("fix", "explain", "tests", "refactor", "architecture", "security-review")
ANSWER_TIMEOUT_S = 60.0  # generous: "slow" is for the bench; this catches "never answered"
EXAMPLES = 100
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
# No inline completion capability: the server then handles both textDocument/inlineCompletion (always
# registered) and its textDocument/completion fallback, so one process covers both.
CAPABILITIES = {**VSCODE_LIKE_CAPABILITIES,
                "textDocument": {k: v for k, v in VSCODE_LIKE_CAPABILITIES["textDocument"].items()
                                 if k != "inlineCompletion"}}
EMOJI_TEXT = "const wave = '👋🏽';\nconst flag = '🇫🇷'; // 𝄞 clef\n/* 😀 */ export const done = true;\n"
CRLF_TEXT = "export function f(a: number): number {\r\n  return a;\r\n}\r\n\r\nexport const x = f(1);\r\n"
NUL_TEXT = "export const a = 'x\x00y';\n\x00\x00 const b = 1;\n"
INVALID_UTF8 = b"export const ok = 1;\n\xff\xfe\xc3\x28 const broken = '\xed\xa0\x80';\n"


class LoopThread:
    """An event loop in a daemon thread; sync code submits coroutines to it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = ANSWER_TIMEOUT_S + 10) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Server:
    loop: LoopThread
    client: RawLsp
    fake: FakeAnthropic
    workspace: Path
    uris: dict[str, str]
    before_initialize: dict[str, Answer]
    codes: Counter[int] = field(default_factory=Counter)  # error codes seen, for the summary
    internal: list[str] = field(default_factory=list)  # -32603 messages (handler exceptions)

    def call(self, method: str, params: Any = None, timeout: float = ANSWER_TIMEOUT_S) -> Answer:
        answer = self.loop.run(self.client.call(method, params, timeout=timeout))
        check_answer(self, method, answer)
        return answer

    def notify(self, method: str, params: Any = None) -> None:
        async def send() -> None:
            self.client.notify(method, params)
            await self.client.drain()

        self.loop.run(send())

    def send_raw(self, data: bytes) -> None:
        async def send() -> None:
            self.client.send_raw(data)
            await self.client.drain()

        self.loop.run(send())

    def status(self) -> dict[str, Any]:
        """The server still serves: serverStatus answers with a result."""
        answer = self.call("aiCodingRouter/serverStatus", {})
        assert answer.ok, f"serverStatus failed: {answer.error}"
        assert self.client.alive
        result: dict[str, Any] = answer.result
        return result

    def document(self, uri: str) -> dict[str, Any] | None:
        return next((d for d in self.status()["documents"] if d["uri"] == uri), None)


def check_answer(server: Server, method: str, answer: Answer) -> None:
    """A response is a result or a well-formed JSON-RPC error object."""
    if answer.error is None:
        return
    code, message = answer.error.get("code"), answer.error.get("message")
    assert isinstance(code, int) and isinstance(message, str), f"{method}: malformed error {answer.error!r}"
    server.codes[code] += 1
    if code == -32603:
        server.internal.append(f"{method}: {message}"[:300])


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("fuzz")
    workspace = copy_workspace(root / "ws")
    (workspace / "ai-coding-router.config.yaml").write_text(
        "completion:\n  debounce_min_ms: 0\n  debounce_max_ms: 0\nrouting:\n  max_latency_ms: 3000\n")
    (workspace / "src" / "emoji.ts").write_text(EMOJI_TEXT, encoding="utf-8")
    (workspace / "src" / "crlf.ts").write_bytes(CRLF_TEXT.encode())
    (workspace / "src" / "broken.ts").write_bytes(INVALID_UTF8)  # invalid UTF-8 on disk, indexed at start
    loop = LoopThread()
    with FakeAnthropic() as fake:
        fake.set_default(Reply(text="<insert>0;</insert>"))
        env = server_env(base_url=fake.base_url, api_key=KEY)

        async def start() -> tuple[RawLsp, dict[str, Answer]]:
            client = await RawLsp.start(env, cwd=workspace, stderr_path=root / "server-stderr.log",
                                        argv=[*SERVER_ARGV, "--log-level", "INFO"])
            # Before `initialize`: every request gets an error (not silence); notifications are ignored.
            early = {"serverStatus": ("aiCodingRouter/serverStatus", {}),
                     "inlineCompletion": ("textDocument/inlineCompletion", {
                         "textDocument": {"uri": (workspace / "src/math.ts").as_uri()},
                         "position": {"line": 0, "character": 0}, "context": {"triggerKind": 1}}),
                     "codeAction": ("textDocument/codeAction", {
                         "textDocument": {"uri": "file:///x.ts"}, "context": {"diagnostics": []},
                         "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}}),
                     "executeCommand": ("workspace/executeCommand", {"command": COMMANDS[2], "arguments": []}),
                     "costSummary": ("aiCodingRouter/costSummary", None)}
            client.notify("textDocument/didOpen", {"textDocument": {
                "uri": (workspace / "src/early.ts").as_uri(), "languageId": "typescript", "version": 1,
                "text": "early"}})
            client.notify("initialized", {})
            answers = {name: await client.call(method, params, timeout=20)
                       for name, (method, params) in early.items()}
            initialized = await client.initialize(workspace, CAPABILITIES, client_name="fuzz")
            assert initialized.ok, initialized.error
            return client, answers

        client, answers = loop.run(start())
        server = Server(loop, client, fake, workspace, {}, answers)
        server.uris = {
            "math": server.loop.run(_open(client, workspace / "src/math.ts")),
            "emoji": server.loop.run(_open(client, workspace / "src/emoji.ts")),
            "crlf": server.loop.run(_open(client, workspace / "src/crlf.ts", CRLF_TEXT)),
            "nul": server.loop.run(_open(client, workspace / "src/nul.ts", NUL_TEXT)),
        }
        try:
            yield server
        finally:
            loop.run(client.close())
            loop.close()
            print(f"\nfuzz: error codes {dict(server.codes)}; {len(server.internal)} internal errors")
            for line in sorted(set(server.internal))[:20]:
                print("   ", line)


async def _open(client: RawLsp, path: Path, text: str | None = None) -> str:
    uri = client.open(path, text)
    await client.drain()
    return uri


# -- strategies -----------------------------------------------------------------------------------------

# Text with what editors really send and what they should not: emoji, surrogate pairs, lone surrogates
# (legal in JSON as \ud800), NUL, CR/LF mixes, U+2028, BOM.
chars = st.characters(codec=None, exclude_categories=())
tricky = st.sampled_from(["👋", "🇫🇷", "𝄞", "\ud800", "\udfff", "\x00", "\r\n", "\r", "\n", "\u2028", "\ufeff",
                          "é", "\t", "</insert>", "<<<<<<< SEARCH", "${x}"])
texts = st.lists(st.one_of(tricky, st.text(chars, max_size=8)), max_size=8).map("".join)
ints = st.one_of(st.integers(0, 40), st.integers(-3, 3), st.sampled_from([2**31 - 1, 2**31, 2**32, 2**53, -2**31]),
                 st.integers(-2**64, 2**64))
scalars = st.one_of(st.none(), st.booleans(), ints, st.floats(allow_nan=False, allow_infinity=False), texts)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=10)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the near-valid value, sometimes any JSON at all."""
    return st.one_of(strategy, strategy, strategy, json_values)


@st.composite
def uris(draw: st.DrawFn, server: Server) -> Any:
    known = list(server.uris.values())
    ws = server.workspace
    return draw(maybe(st.sampled_from([
        *known, *known, (ws / "src/user.ts").as_uri(), (ws / "src/broken.ts").as_uri(),
        (ws / "src/missing.ts").as_uri(), (ws.parent / "outside.ts").as_uri(), "file:///etc/passwd",
        "untitled:Untitled-1", "", "file://", "file:///", "http://example.com/a.ts", "file:///" + "a" * 5000,
        (ws / "src/nul\x00.ts").as_uri(), (ws / "src/👋.ts").as_uri(), "file:///C:/win/path.ts", "::::",
    ])))


def positions() -> st.SearchStrategy[Any]:
    return maybe(st.fixed_dictionaries({"line": ints, "character": ints}))


def ranges() -> st.SearchStrategy[Any]:
    return maybe(st.fixed_dictionaries({"start": positions(), "end": positions()}))


def diagnostics() -> st.SearchStrategy[Any]:
    return maybe(st.fixed_dictionaries(
        {"range": ranges(), "message": maybe(texts)},
        optional={"source": maybe(texts), "code": maybe(st.one_of(ints, texts)), "severity": maybe(ints)}))


@st.composite
def params_for(draw: st.DrawFn, method: str, server: Server) -> Any:
    """Params for ``method``: near-valid with hostile field values, or any JSON at all."""
    uri = uris(server)
    doc = st.fixed_dictionaries({"uri": uri})
    near: st.SearchStrategy[Any]
    if method == "initialize":
        near = st.fixed_dictionaries({"processId": maybe(ints), "rootUri": uri, "capabilities": json_values,
                                      "initializationOptions": json_values})
    elif method == "textDocument/didOpen":
        near = st.fixed_dictionaries({"textDocument": st.fixed_dictionaries({
            "uri": uri, "languageId": maybe(st.sampled_from(["typescript", "javascript", "", "python"])),
            "version": maybe(ints), "text": maybe(texts)})})
    elif method == "textDocument/didChange":
        change = st.one_of(st.fixed_dictionaries({"range": ranges(), "text": maybe(texts)}),
                           st.fixed_dictionaries({"text": maybe(texts)}), json_values)
        near = st.fixed_dictionaries({"textDocument": st.fixed_dictionaries({"uri": uri, "version": maybe(ints)}),
                                      "contentChanges": maybe(st.lists(change, max_size=3))})
    elif method == "textDocument/didClose":
        near = st.fixed_dictionaries({"textDocument": doc})
    elif method == "textDocument/inlineCompletion":
        near = st.fixed_dictionaries({"textDocument": doc, "position": positions(), "context": maybe(
            st.fixed_dictionaries({"triggerKind": maybe(st.sampled_from([1, 2, 0, 3]))}))})
    elif method == "textDocument/completion":
        near = st.fixed_dictionaries({"textDocument": doc, "position": positions()}, optional={
            "context": maybe(st.fixed_dictionaries({"triggerKind": maybe(st.sampled_from([1, 2, 3, 9]))}))})
    elif method == "textDocument/codeAction":
        near = st.fixed_dictionaries({"textDocument": doc, "range": ranges(), "context": maybe(
            st.fixed_dictionaries({"diagnostics": maybe(st.lists(diagnostics(), max_size=3))}, optional={
                "only": maybe(st.lists(st.sampled_from(["quickfix", "refactor", "refactor.rewrite", "source",
                                                        "", "x.y"]), max_size=3))}))})
    elif method == "codeAction/resolve":
        data = st.fixed_dictionaries({"aiCodingRouter": maybe(st.just(True)), "uri": uri, "version": maybe(ints),
                                      "kind": maybe(st.sampled_from(["quick_fix", "refactor.rewrite", "nope"])),
                                      "startLine": maybe(ints), "endLine": maybe(ints),
                                      "instruction": maybe(texts), "diagnostic": maybe(texts)})
        near = st.fixed_dictionaries({"title": maybe(texts)}, optional={"data": maybe(data), "kind": maybe(texts)})
    elif method == "workspace/executeCommand":
        task = st.fixed_dictionaries({"uri": uri, "kind": maybe(st.sampled_from([*KINDS, "rm -rf", ""]))},
                                     optional={"range": ranges(), "instruction": maybe(texts),
                                               "tags": json_values, "jobId": maybe(texts)})
        near = st.fixed_dictionaries({"command": maybe(st.sampled_from([*COMMANDS, "aiCodingRouter.nope", ""])),
                                      "arguments": maybe(st.lists(st.one_of(task, json_values), max_size=3))})
    elif method == "workspace/didChangeConfiguration":
        section = st.dictionaries(st.sampled_from(["routing", "completion", "context", "validation", "api",
                                                   "cost_tracking", "nope"]), json_values, max_size=3)
        near = st.fixed_dictionaries({"settings": maybe(st.one_of(
            st.fixed_dictionaries({"aiCodingRouter": section}), section,
            st.fixed_dictionaries({"workspaceTrusted": json_values})))})
    elif method == "workspace/didChangeWatchedFiles":
        near = st.fixed_dictionaries({"changes": maybe(st.lists(maybe(st.fixed_dictionaries(
            {"uri": uri, "type": maybe(st.sampled_from([1, 2, 3, 0, 4]))})), max_size=3))})
    elif method == "$/cancelRequest":
        near = st.fixed_dictionaries({"id": maybe(st.one_of(ints, texts))})
    else:  # aiCodingRouter/serverStatus, aiCodingRouter/costSummary, unknown methods
        near = json_values
    return draw(maybe(near))


REQUESTS = ("initialize", "textDocument/inlineCompletion", "textDocument/completion", "textDocument/codeAction",
            "codeAction/resolve", "workspace/executeCommand", "aiCodingRouter/serverStatus",
            "aiCodingRouter/costSummary")
NOTIFICATIONS = ("textDocument/didOpen", "textDocument/didChange", "textDocument/didClose",
                 "workspace/didChangeConfiguration", "workspace/didChangeWatchedFiles", "$/cancelRequest")
PROTECTED = {"math", "emoji", "crlf", "nul"}  # documents later tests rely on; the fuzzer works on copies


def send_example(server: Server, method: str, params: Any) -> None:
    if method in NOTIFICATIONS:
        if method in ("textDocument/didOpen", "textDocument/didChange", "textDocument/didClose"):
            params = _redirect_protected(server, params)
        server.notify(method, params)
        if method == "workspace/didChangeConfiguration":
            server.notify(method, {"settings": {}})  # back to the file's settings for the next example
    else:
        answer = server.call(method, params)
        if method == "initialize":
            assert not answer.ok  # only one initialize per server
    server.status()


def _redirect_protected(server: Server, params: Any) -> Any:
    """Edits to the documents other tests check go to a scratch document instead (same text shape)."""
    try:
        uri = params["textDocument"]["uri"]
    except (TypeError, KeyError):
        return params
    if uri in [server.uris[name] for name in PROTECTED]:
        params = json.loads(json.dumps(params))
        params["textDocument"]["uri"] = (server.workspace / "src" / "scratch.ts").as_uri()
    return params


# -- the fuzzer -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", REQUESTS + NOTIFICATIONS)
def test_every_method_survives_hostile_params(server: Server, method: str) -> None:
    @FUZZ
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        send_example(server, method, data.draw(params_for(method, server), label="params"))

    run()


def test_random_message_sequences_keep_the_server_serving(server: Server) -> None:
    methods = st.sampled_from(REQUESTS[1:] + NOTIFICATIONS + ("aiCodingRouter/nope", "textDocument/hover"))

    @settings(FUZZ, max_examples=40)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        for method in data.draw(st.lists(methods, min_size=1, max_size=8), label="methods"):
            send_example(server, method, data.draw(params_for(method, server), label=method))

    run()
    assert server.client.protocol_errors == []  # the server never wrote anything but LSP to stdout


@FUZZ
@given(body=st.one_of(
    st.binary(max_size=64),  # not JSON, invalid UTF-8
    st.sampled_from([b"[1, 2]", b'"x"', b"5", b"null", b"{}", b'{"jsonrpc": "1.0", "id": 1, "method": "x"}',
                     b'{"jsonrpc": "2.0"}',
                     b'{"jsonrpc": "2.0", "id": {"a": 1}, "method": "aiCodingRouter/serverStatus"}',
                     b'{"jsonrpc": "2.0", "id": [1], "method": "textDocument/codeAction", "params": 1}',
                     b'{"jsonrpc": "2.0", "id": 1.5, "method": "aiCodingRouter/costSummary"}',
                     b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": "\xff\xfe"}',
                     b"[" * 100_000 + b"]" * 100_000]),  # deep nesting: a RecursionError while decoding
))
def test_broken_json_rpc_bodies_are_survived(server: Server, body: bytes) -> None:
    server.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    server.status()


def test_requests_before_initialize_get_errors_not_silence(server: Server) -> None:
    for name, answer in server.before_initialize.items():
        assert answer.error is not None and answer.error["code"] == -32002, (name, answer)
    # The didOpen sent before initialize was ignored, not half-applied.
    assert all(not d["uri"].endswith("early.ts") for d in server.status()["documents"])


# -- documents the fuzzer cannot build by chance ----------------------------------------------------------

def inline(server: Server, uri: str, line: int, character: int, timeout: float = ANSWER_TIMEOUT_S) -> Answer:
    return server.call("textDocument/inlineCompletion", {
        "textDocument": {"uri": uri}, "position": {"line": line, "character": character},
        "context": {"triggerKind": 1}}, timeout=timeout)


def test_positions_inside_surrogate_pairs_and_past_the_end(server: Server) -> None:
    uri = server.uris["emoji"]
    for line, character in [(0, 14), (0, 15), (0, 16), (1, 15), (1, 16), (1, 17), (2, 4), (9, 0), (0, 10**9)]:
        answer = inline(server, uri, line, character)
        assert answer.ok, answer.error
    # An insertion inside the pair 👋 (UTF-16 columns 14-15) lands before the emoji, never splits it.
    server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
        {"range": {"start": {"line": 0, "character": 15}, "end": {"line": 0, "character": 15}}, "text": "X"}]})
    document = server.document(uri)
    assert document is not None and document["version"] == 2
    assert document["sha256"] in {sha(EMOJI_TEXT.replace("'👋", "'X👋")), sha(EMOJI_TEXT.replace("👋", "👋X"))}


def test_crlf_document_edits_follow_the_lsp_line_rules(server: Server) -> None:
    uri = server.uris["crlf"]
    # Insert at the start of line 1 and at a column past the end of line 0 (clamped before its \r\n).
    server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
        {"range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}}, "text": "// a\r\n"},
        {"range": {"start": {"line": 0, "character": 500}, "end": {"line": 0, "character": 500}}, "text": " "},
    ]})
    expected = CRLF_TEXT.replace("{\r\n  return", "{ \r\n// a\r\n  return")
    document = server.document(uri)
    assert document is not None and document["sha256"] == sha(expected)
    assert inline(server, uri, 2, 100).ok
    actions = server.call("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "context": {"diagnostics": []},
        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 3, "character": 1}}})
    assert actions.ok and actions.result


def test_nul_bytes_in_a_document(server: Server) -> None:
    uri = server.uris["nul"]
    for line, character in [(0, 19), (1, 0), (1, 1), (1, 3)]:
        assert inline(server, uri, line, character).ok
    document = server.document(uri)
    assert document is not None and document["sha256"] == sha(NUL_TEXT)


def test_invalid_utf8_on_disk(server: Server) -> None:
    broken = server.workspace / "src" / "broken.ts"
    server.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": broken.as_uri(), "type": 2}]})
    # Not open in the editor: a code action lists nothing; a background task reads it from disk, replaced.
    assert server.call("textDocument/codeAction", {
        "textDocument": {"uri": broken.as_uri()}, "context": {"diagnostics": []},
        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}}).ok
    started = server.call("workspace/executeCommand", {"command": "aiCodingRouter.runTask", "arguments": [
        {"uri": broken.as_uri(), "kind": "explain",
         "range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}}]})
    assert started.ok, started.error
    assert server.status()["indexReady"] is True


def test_a_20_mb_document(server: Server) -> None:
    # Each request must be answered well inside HUGE_TIMEOUT_S: a hang detector, not a speed test. (Before
    # the fix, the context engine parsed the whole document on the event loop: ~25 s per completion, with
    # every other request waiting behind it.)
    huge_timeout_s = 15.0
    line = "export const value{n} = compute({n}, 'some text to fill the line up');\n"
    chunk = "".join(line.format(n=n) for n in range(1000))
    text = chunk * (20 * 1024 * 1024 // len(chunk) + 1)
    assert len(text.encode()) >= 20 * 1024 * 1024
    uri = (server.workspace / "src" / "huge.ts").as_uri()
    server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "typescript",
                                                            "version": 1, "text": text}})
    try:
        document = server.document(uri)
        assert document is not None and document["length"] == len(text)
        last = text.count("\n")
        for position in [(last, 0), (last // 2, 10), (0, 0)]:
            assert inline(server, uri, *position, timeout=huge_timeout_s).ok
        server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
            {"range": {"start": {"line": last // 2, "character": 0}, "end": {"line": last // 2, "character": 0}},
             "text": "// typed\n"}]})
        assert inline(server, uri, last // 2, 8, timeout=huge_timeout_s).ok
        middle = {"start": {"line": last // 2, "character": 0}, "end": {"line": last // 2 + 3, "character": 0}}
        actions = server.call("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": middle,
            "context": {"diagnostics": [{"range": middle, "message": "Missing return type", "source": "ts"}]}},
            timeout=huge_timeout_s)
        assert actions.ok and actions.result
        fix = next(a for a in actions.result if a["title"].startswith("Fix with AI"))
        resolved = server.call("codeAction/resolve", fix, timeout=huge_timeout_s)
        assert resolved.ok and "edit" not in resolved.result
        assert resolved.result["command"]["command"] == "aiCodingRouter.runTask"  # offered as a background job
        document = server.document(uri)
        assert document is not None and document["version"] == 2 and document["length"] == len(text) + 9
    finally:
        server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert server.document(uri) is None


SUM_BODY = "  let total = 0;\n  for (const value of values) {\n    total += value;\n  }\n  return total;"
SUM_REDUCE = "  return values.reduce((total, value) => total + value, 0);"


@pytest.mark.parametrize("garbage", [{"failedChange": "not a number"}, None], ids=["malformed", "null"])
def test_garbage_answers_to_server_requests_do_not_hang_a_job(server: Server, garbage: Any) -> None:
    """The editor answers workspace/applyEdit (and progress/registration requests) with garbage: the job's
    apply step must end (the result is kept for applyJob), not wait forever on an answer that never fits."""
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while server.status()["runningJobs"]:  # earlier fuzz examples may still be running jobs
        assert time.monotonic() < deadline
        time.sleep(0.1)
    before = server.status()["process"]["backgroundTasks"]
    server.client.on_server_request = lambda method, params: garbage
    try:
        server.fake.script("claude-sonnet-4-6", f"src/math.ts\n<<<<<<< SEARCH\n{SUM_BODY}\n=======\n{SUM_REDUCE}\n"
                           ">>>>>>> REPLACE\n")
        started = server.call("workspace/executeCommand", {"command": "aiCodingRouter.runTask", "arguments": [
            {"uri": server.uris["math"], "kind": "refactor",
             "range": {"start": {"line": 11, "character": 0}, "end": {"line": 17, "character": 1}}}]})
        assert started.ok, started.error
        job_id = started.result["jobId"]
        while True:
            jobs = server.call("workspace/executeCommand", {"command": "aiCodingRouter.listJobs"}).result
            job = next(j for j in jobs if j["jobId"] == job_id)
            if job["status"] not in ("queued", "running"):
                break
            assert time.monotonic() < deadline + ANSWER_TIMEOUT_S, "the job never finished"
            time.sleep(0.1)
        assert job["status"] == "validated", job
        # The apply step ended (no task left waiting for an answer) and the result was kept, not applied.
        while server.status()["process"]["backgroundTasks"] > before:
            assert time.monotonic() < deadline + 2 * ANSWER_TIMEOUT_S, "the apply step hangs"
            time.sleep(0.1)
        jobs = server.call("workspace/executeCommand", {"command": "aiCodingRouter.listJobs"}).result
        assert next(j for j in jobs if j["jobId"] == job_id)["appliedAt"] is None
    finally:
        server.client.on_server_request = default_server_request


# -- after shutdown (a second, short-lived process: shutdown ends the module's server) --------------------

def test_requests_after_shutdown_get_invalid_request(tmp_path: Path) -> None:
    workspace = copy_workspace(tmp_path / "ws")

    async def scenario() -> tuple[Answer, Answer, Answer, int]:
        client = await RawLsp.start(server_env(base_url="http://127.0.0.1:9"), cwd=workspace,
                                    stderr_path=tmp_path / "stderr.log")
        try:
            await client.initialize(workspace, CAPABILITIES)
            down = await client.call("shutdown", None, timeout=20)
            after = await client.call("aiCodingRouter/serverStatus", {}, timeout=20)
            inline_after = await client.call("textDocument/inlineCompletion", {
                "textDocument": {"uri": (workspace / "src/math.ts").as_uri()},
                "position": {"line": 0, "character": 0}, "context": {"triggerKind": 1}}, timeout=20)
            client.notify("exit")
            await client.drain()
            code = await asyncio.wait_for(client.process.wait(), 20)
            return down, after, inline_after, code
        finally:
            await client.close()

    loop = LoopThread()
    try:
        down, after, inline_after, code = loop.run(scenario())
    finally:
        loop.close()
    assert down.ok
    assert after.error is not None and after.error["code"] == -32600
    assert inline_after.error is not None and inline_after.error["code"] == -32600
    assert code == 0  # exit after shutdown is a clean exit
