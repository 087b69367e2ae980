"""Soak: inline completions with random cancels and edits across open documents, plus background jobs,
against the real server (subprocess) and the loopback fake API; then leak checks.

Full size: 10,000 inline-completion requests over 50 open documents and 20 background jobs (valid
SEARCH/REPLACE replies for half of them, garbage for the rest); ~3% of completion replies are API faults
(500, 529, reset). Afterwards, through `aiCodingRouter/serverStatus`: asyncio tasks, open sockets and
descriptors, child processes (tsc/eslint) against a warmed-up baseline, RSS growth, every job in a final
state, every request answered, and every open document byte-identical to the client's model of it.

    .venv/bin/python bench/soak.py            # full size (several minutes)
    .venv/bin/python bench/soak.py --small    # CI size: 1,000 requests, 5 documents, 4 jobs (~1 minute)

Exit status 0 when every check passed; `--json-out FILE` writes the figures for tests/e2e/test_soak_small.py.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.raw_lsp import SERVER_ARGV, VSCODE_LIKE_CAPABILITIES, RawLsp  # noqa: E402
from tests.fake_anthropic import FakeAnthropic, Reply  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "workspace"
FINAL_STATES = {"validated", "failed", "cancelled", "answered", "unvalidated"}
REQUEST_TIMEOUT_S = 30.0  # a request not answered by then counts as hung
TASK_SLACK = 2  # long-lived tasks created lazily after the baseline (ledger flush, index re-index...)
KEY = "sk-ant-soak-0123456789abcdef"
SUM_BODY = "  let total = 0;\n  for (const value of values) {\n    total += value;\n  }\n  return total;"
SUM_REDUCE = "  return values.reduce((total, value) => total + value, 0);"
JOB_TAG = re.compile(r"soak job (\d+) on (src/doc\d+\.ts)")
EDIT_TEXTS = ["x", "const a = 1;", "\n", "// note\n", "foo(", ")", "  ", "\n\n", "return y;", "."]


@dataclass
class Settings:
    requests: int = 10_000
    documents: int = 50
    jobs: int = 20
    concurrency: int = 8
    cancel_rate: float = 0.2
    edit_rate: float = 0.35
    fault_rate: float = 0.03
    seed: int = 1
    rss_limit_mb: float = 30.0
    warmup: int = 100


@dataclass
class Figures:
    settings: dict[str, Any]
    answered: int = 0
    empty: int = 0
    with_items: int = 0
    cancelled: int = 0
    hung: int = 0
    unexpected_errors: Counter[str] = field(default_factory=Counter)
    edits: int = 0
    jobs: dict[str, int] = field(default_factory=dict)
    job_states_final: bool = False
    model_requests: int = 0
    faults_injected: int = 0
    applied_edits: int = 0
    baseline: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    rss_growth_mb: float = 0.0
    documents_match: bool = False
    mismatched_documents: list[str] = field(default_factory=list)
    server_tracebacks: int = 0
    duration_s: float = 0.0
    checks: dict[str, bool] = field(default_factory=dict)


def document_text(n: int) -> str:
    """A realistic module: imports, an interface, a sum loop a job can rewrite, more functions."""
    lines = ['import { clamp, type Range } from "./math";', "", f"export interface Item{n} {{",
             "  price: number;", "  quantity: number;", "}", "",
             "export function sum(values: number[]): number {", SUM_BODY, "}", ""]
    for k in range(12):
        lines += [f"export function compute{k}(item: Item{n}, range: Range): number {{",
                  f"  const base = item.price * item.quantity + {k};",
                  "  return clamp(base, range);", "}", ""]
    return "\n".join(lines) + "\n"


class Document:
    """The client's model of an open document (ASCII with \\n only, so columns are plain offsets)."""

    def __init__(self, uri: str, rel: str, text: str) -> None:
        self.uri, self.rel, self.text, self.version = uri, rel, text, 1

    def lines(self) -> list[str]:
        return self.text.split("\n")

    def position(self, rng: random.Random, first_line: int = 0) -> tuple[int, int]:
        lines = self.lines()
        line = rng.randrange(min(first_line, len(lines) - 1), len(lines))
        at_end = rng.random() < 0.5  # where people usually ask for a completion
        return line, len(lines[line]) if at_end else rng.randint(0, len(lines[line]))

    def editable_from(self) -> int:
        """Edits stay below the sum function, so a job's SEARCH block for it can still match."""
        try:
            return self.lines().index("export function sum(values: number[]): number {") + 7
        except ValueError:
            return 0

    def offset(self, line: int, character: int) -> int:
        lines = self.lines()
        return sum(len(x) + 1 for x in lines[:line]) + character

    def edit(self, client: RawLsp, rng: random.Random) -> None:
        """A random insertion or deletion, sent as an incremental didChange and applied to the model."""
        start = self.position(rng, self.editable_from())
        end = start
        if rng.random() < 0.3:  # a deletion of a few characters on the line
            end = (start[0], min(len(self.lines()[start[0]]), start[1] + rng.randint(1, 4)))
        new = rng.choice(EDIT_TEXTS) if end == start or rng.random() < 0.5 else ""
        a, b = self.offset(*start), self.offset(*end)
        self.text = self.text[:a] + new + self.text[b:]
        self.version += 1
        client.notify("textDocument/didChange", {
            "textDocument": {"uri": self.uri, "version": self.version},
            "contentChanges": [{"range": {"start": {"line": start[0], "character": start[1]},
                                          "end": {"line": end[0], "character": end[1]}}, "text": new}]})

    def sum_range(self) -> dict[str, Any] | None:
        lines = self.lines()
        try:
            first = lines.index("export function sum(values: number[]): number {")
        except ValueError:
            return None
        return {"start": {"line": first, "character": 0}, "end": {"line": first + 6, "character": 1}}

    @property
    def sha(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


class FakeReplies:
    """The fake's answers: completions (with a few faults), and job replies valid for even job numbers."""

    def __init__(self, settings: Settings) -> None:
        self.rng = random.Random(settings.seed + 1)
        self.lock = threading.Lock()  # called from the fake's thread
        self.fault_rate = settings.fault_rate
        self.faults = 0

    def __call__(self, body: dict[str, Any]) -> Reply:
        system = json.dumps(body.get("system", ""))
        user = body["messages"][-1]["content"]
        user = user if isinstance(user, str) else json.dumps(user)
        if "SEARCH" in system:
            match = JOB_TAG.search(user)
            if match and int(match.group(1)) % 2 == 0:
                text = f"{match.group(2)}\n<<<<<<< SEARCH\n{SUM_BODY}\n=======\n{SUM_REDUCE}\n>>>>>>> REPLACE\n"
                return Reply(text=text, ttft_s=0.05, per_token_s=0.0005)
            return Reply(text="I would rather describe the change in prose. " * 4, ttft_s=0.05)
        with self.lock:
            roll, pick, ttft = self.rng.random(), self.rng.randrange(1000), self.rng.uniform(0.005, 0.03)
            if roll < self.fault_rate:
                self.faults += 1
                return Reply(fault=("500", "529", "reset")[pick % 3], retry_after_s=None)
        return Reply(text=f"<insert>value{pick} + 1;</insert>", ttft_s=ttft, per_token_s=0.001)


def make_workspace(root: Path, count: int) -> list[tuple[str, str]]:
    shutil.copytree(FIXTURE, root, dirs_exist_ok=True)
    (root / "ai-coding-router.config.yaml").write_text(
        "completion:\n  debounce_min_ms: 5\n  debounce_max_ms: 50\nvalidation:\n  checks: [typescript_compile, "
        "eslint_strict]\n")
    docs = []
    for n in range(count):
        rel = f"src/doc{n}.ts"
        text = document_text(n)
        (root / rel).write_text(text)
        docs.append((rel, text))
    return docs


async def status(client: RawLsp) -> dict[str, Any]:
    answer = await client.call("aiCodingRouter/serverStatus", {}, timeout=REQUEST_TIMEOUT_S)
    assert answer.ok, answer.error
    result: dict[str, Any] = answer.result
    return result


async def settle(client: RawLsp, baseline_tasks: int | None, timeout: float = 30.0) -> dict[str, Any]:
    """Wait until the server is idle: no jobs, no children, tasks back to the baseline (or the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        state = await status(client)
        process = state["process"]
        idle = state["runningJobs"] == 0 and process["childProcesses"] == 0
        if baseline_tasks is not None:
            idle = idle and process["asyncioTasks"] <= baseline_tasks
        if idle or time.monotonic() > deadline:
            return state
        await asyncio.sleep(0.2)


class Driver:
    def __init__(self, client: RawLsp, docs: list[Document], settings: Settings, figures: Figures) -> None:
        self.client, self.docs, self.settings, self.figures = client, docs, settings, figures
        self.rng = random.Random(settings.seed)
        self.next_request = 0
        self.job_slots = {round((i + 0.5) * settings.requests / settings.jobs): i for i in range(settings.jobs)}
        self.job_ids: list[str] = []
        self.total, self.with_jobs = 0, False

    async def run(self, total: int, jobs: bool) -> None:
        self.next_request, self.total, self.with_jobs = 0, total, jobs
        await asyncio.gather(*(self._worker() for _ in range(self.settings.concurrency)))

    async def _worker(self) -> None:
        while self.next_request < self.total:
            index = self.next_request
            self.next_request += 1
            if self.with_jobs and index in self.job_slots:
                await self._job(self.job_slots[index])
            await self._request()

    async def _request(self) -> None:
        rng, client, figures = self.rng, self.client, self.figures
        doc = rng.choice(self.docs)
        if rng.random() < self.settings.edit_rate:
            doc.edit(client, rng)
            figures.edits += 1
        line, character = doc.position(rng)
        msg_id, future = client.request("textDocument/inlineCompletion", {
            "textDocument": {"uri": doc.uri}, "position": {"line": line, "character": character},
            "context": {"triggerKind": 1 if rng.random() < 0.3 else 2}})
        await client.drain()
        if rng.random() < self.settings.cancel_rate:
            await asyncio.sleep(rng.uniform(0.0, 0.03))
            client.cancel(msg_id)
            await client.drain()
        try:
            answer = await asyncio.wait_for(future, REQUEST_TIMEOUT_S)
        except TimeoutError:
            figures.hung += 1
            return
        if answer.ok:
            figures.answered += 1
            items = (answer.result or {}).get("items") if isinstance(answer.result, dict) else answer.result
            if items:
                figures.with_items += 1
            else:
                figures.empty += 1
        elif answer.error is not None and answer.error.get("code") == -32800:
            figures.cancelled += 1
        else:
            figures.unexpected_errors[str((answer.error or {}).get("message"))[:120]] += 1

    async def _job(self, number: int) -> None:
        doc = self.docs[number % len(self.docs)]
        rng = doc.sum_range() or {"start": {"line": 0, "character": 0}, "end": {"line": 3, "character": 0}}
        argument = {"uri": doc.uri, "range": rng, "kind": "refactor",
                    "instruction": f"soak job {number} on {doc.rel}: use reduce"}
        answer = await self.client.call("workspace/executeCommand", {
            "command": "aiCodingRouter.runTask", "arguments": [argument]}, timeout=REQUEST_TIMEOUT_S)
        if answer.ok:
            self.job_ids.append(answer.result["jobId"])
        else:
            self.figures.unexpected_errors[f"runTask: {(answer.error or {}).get('message')}"[:120]] += 1


async def wait_for_jobs(client: RawLsp, job_ids: list[str], timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        answer = await client.call("workspace/executeCommand", {"command": "aiCodingRouter.listJobs"})
        states = {j["jobId"]: j["status"] for j in answer.result if j["jobId"] in job_ids}
        if all(s in FINAL_STATES for s in states.values()) and len(states) == len(job_ids):
            return states
        if time.monotonic() > deadline:
            return states
        await asyncio.sleep(0.5)


async def soak(settings: Settings) -> Figures:
    figures = Figures(settings=asdict(settings))
    started = time.monotonic()
    applied = 0

    def on_server_request(method: str, params: Any) -> Any:
        nonlocal applied
        if method == "workspace/applyEdit":
            applied += 1
            return {"applied": False, "failureReason": "the soak client does not apply edits"}
        return None

    with tempfile.TemporaryDirectory(prefix="soak-") as tmp, FakeAnthropic() as fake:
        root = Path(tmp) / "ws"
        docs_on_disk = make_workspace(root, settings.documents)
        replies = FakeReplies(settings)
        fake.set_default(replies)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
        env |= {"ANTHROPIC_BASE_URL": fake.base_url, "ANTHROPIC_API_KEY": KEY}
        stderr_path = Path(tmp) / "server-stderr.log"
        client = await RawLsp.start(env, cwd=root, stderr_path=stderr_path, on_server_request=on_server_request,
                                    argv=[*SERVER_ARGV, "--log-level", "WARNING"])
        try:
            await client.initialize(root, VSCODE_LIKE_CAPABILITIES, client_name="soak")
            docs = [Document(client.open(root / rel, text), rel, text) for rel, text in docs_on_disk]
            await client.drain()
            state = await status(client)
            while not (state["indexReady"] and state["modelReady"]):
                await asyncio.sleep(0.1)
                state = await status(client)
            driver = Driver(client, docs, settings, figures)
            await driver.run(settings.warmup, jobs=False)  # warm caches, pools and lazy imports first
            warm = await settle(client, None)
            await asyncio.sleep(1.0)
            figures.baseline = (await settle(client, warm["process"]["asyncioTasks"]))["process"]
            base_requests = len(fake.requests)
            figures.answered = figures.empty = figures.with_items = figures.cancelled = figures.edits = 0
            print(f"baseline after {settings.warmup} warm-up requests: {figures.baseline}", flush=True)

            await driver.run(settings.requests, jobs=True)
            states = await wait_for_jobs(client, driver.job_ids, timeout=300 + 20 * settings.jobs)
            figures.jobs = dict(Counter(states.values()))
            figures.job_states_final = (len(states) == settings.jobs
                                        and all(s in FINAL_STATES for s in states.values()))
            final = await settle(client, figures.baseline["asyncioTasks"] + TASK_SLACK)
            figures.after = final["process"]
            figures.model_requests = len(fake.requests) - base_requests
            figures.faults_injected = replies.faults
            server_docs = {d["uri"]: d["sha256"] for d in final["documents"]}
            figures.mismatched_documents = [d.rel for d in docs if server_docs.get(d.uri) != d.sha]
            figures.documents_match = not figures.mismatched_documents
        finally:
            await client.close()
        figures.applied_edits = applied
        figures.server_tracebacks = stderr_path.read_text(errors="replace").count("Traceback")
    figures.duration_s = time.monotonic() - started
    base, after = figures.baseline, figures.after
    figures.rss_growth_mb = (after["rssKb"] - base["rssKb"]) / 1024 if after and base else float("nan")
    figures.checks = {
        "every request answered": figures.hung == 0,
        "no unexpected errors": not figures.unexpected_errors,
        "every job in a final state": figures.job_states_final,
        "no leaked asyncio tasks": after["asyncioTasks"] <= base["asyncioTasks"] + TASK_SLACK,
        "no leaked request futures": after["trackedRequests"] <= base["trackedRequests"] + TASK_SLACK,
        "no leaked sockets": after["openSockets"] <= base["openSockets"] + settings.concurrency + 2,
        "no leaked descriptors": after["openFds"] <= base["openFds"] + settings.concurrency + 2,
        "no child processes left": after["childProcesses"] == 0,
        "documents identical to the client's": figures.documents_match,
        f"RSS growth < {settings.rss_limit_mb:g} MB": figures.rss_growth_mb < settings.rss_limit_mb,
        "no tracebacks in the server log": figures.server_tracebacks == 0,
    }
    return figures


def report(figures: Figures) -> None:
    s = figures.settings
    base, after = figures.baseline, figures.after
    print(f"\nsoak: {s['requests']} inline completions over {s['documents']} documents, {s['jobs']} jobs, "
          f"concurrency {s['concurrency']}, seed {s['seed']} — {figures.duration_s:.1f} s")
    print(f"  answered {figures.answered} ({figures.with_items} with a suggestion, {figures.empty} empty), "
          f"cancelled {figures.cancelled}, hung {figures.hung}, edits {figures.edits}")
    print(f"  model requests {figures.model_requests} (faults injected {figures.faults_injected}); "
          f"jobs {figures.jobs}; applyEdit requests {figures.applied_edits}")
    if figures.unexpected_errors:
        print(f"  unexpected errors: {dict(figures.unexpected_errors)}")
    for name in ("asyncioTasks", "backgroundTasks", "trackedRequests", "openSockets", "openFds", "childProcesses",
                 "pythonBlocks"):
        print(f"  {name:16} baseline {base.get(name)!s:>6}   after {after.get(name)!s:>6}")
    print(f"  RSS baseline {base['rssKb'] / 1024:.1f} MB, after {after['rssKb'] / 1024:.1f} MB, "
          f"peak {after['rssPeakKb'] / 1024:.1f} MB: growth {figures.rss_growth_mb:+.1f} MB "
          f"(target < {s['rss_limit_mb']:g} MB)")
    if figures.mismatched_documents:
        print(f"  documents that differ from the client's model: {figures.mismatched_documents}")
    for name, ok in figures.checks.items():
        print(f"  [{'ok' if ok else 'FAIL'}] {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="CI size: 1,000 requests, 5 documents, 4 jobs")
    parser.add_argument("--requests", type=int)
    parser.add_argument("--documents", type=int)
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--concurrency", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json-out", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    settings = Settings(seed=args.seed)
    if args.small:
        settings.requests, settings.documents, settings.jobs, settings.warmup = 1_000, 5, 4, 50
    for name in ("requests", "documents", "jobs", "concurrency"):
        if getattr(args, name) is not None:
            setattr(settings, name, getattr(args, name))
    figures = asyncio.run(soak(settings))
    report(figures)
    if args.json_out is not None:
        data = asdict(figures)
        data["unexpected_errors"] = dict(figures.unexpected_errors)
        args.json_out.write_text(json.dumps(data, indent=2))
    return 0 if all(figures.checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
