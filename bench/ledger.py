"""Ledger benchmark: 100,000 recorded calls.

Prints: the event-loop overhead per call (CallRecord.from_usage + Ledger.record + Ledger.after_call; target
p99 <= 1 ms), how long the background writer needs to commit them all, the time of `report` (text, JSON,
HTML) and `tune` on that ledger (target <= 1 s), the time to open it with its integrity check, and its size.

    .venv/bin/python bench/ledger.py [--calls 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import io
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from ai_coding_router.commands import report_cmd, tune_cmd
from ai_coding_router.config import Config
from ai_coding_router.ledger.git import BranchCache
from ai_coding_router.ledger.records import CallRecord
from ai_coding_router.ledger.service import Ledger
from ai_coding_router.ledger.store import LedgerStore
from ai_coding_router.models.base import Usage

MODELS = ("claude-sonnet-4-6", "claude-opus-4-7")
KINDS = ("refactor", "tests", "security_review")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def workload(count: int, now: float, seed: int = 7) -> list[tuple[Usage, dict[str, object]]]:
    """A month of traffic: 60% inline completions, the rest background tasks of 1-4 calls."""
    rng = random.Random(seed)
    calls: list[tuple[Usage, dict[str, object]]] = []
    task = 0
    while len(calls) < count:
        task += 1
        ts = now - rng.uniform(0, 30 * 86400)
        if rng.random() < 0.6:
            usage = Usage(MODELS[0], rng.randint(300, 1500), rng.randint(5, 80), 0, rng.randint(0, 4000),
                          rng.uniform(150, 900), rng.uniform(80, 300))
            calls.append((usage, {"task_id": f"c{task}", "task_kind": "completion", "role": "completion",
                                  "outcome": "ok", "ts": ts}))
            continue
        score = rng.random()
        model = MODELS[1] if score >= 0.75 else MODELS[0]
        kind = rng.choice(KINDS)
        variant = rng.choice(("A", "B"))
        steps = [("generate", model)]
        if rng.random() < 0.3:
            steps.append(("repair", MODELS[0]))
        if rng.random() < 0.15:
            steps.append(("escalate", MODELS[1]))
        if rng.random() < 0.2:
            steps.append(("signoff", MODELS[1]))
        for index, (role, step_model) in enumerate(steps):
            last = index == len(steps) - 1
            outcome = ("validated" if rng.random() < 0.85 else "failed") if last else (
                "escalated" if steps[index + 1][0] == "escalate" else "repaired")
            usage = Usage(step_model, rng.randint(2000, 12000), rng.randint(200, 3000), rng.randint(0, 3000),
                          rng.randint(0, 20000), rng.uniform(2000, 30000), rng.uniform(300, 2000),
                          batch=rng.random() < 0.05)
            calls.append((usage, {"task_id": f"t{task}", "task_kind": kind, "role": role, "outcome": outcome,
                                  "ts": ts + index * 20, "route_score": score, "variant": variant}))
    return calls[:count]


async def record_all(ledger: Ledger, calls: list[tuple[Usage, dict[str, object]]]) -> list[float]:
    per_call: list[float] = []
    for number, (usage, fields) in enumerate(calls):
        start = time.perf_counter()
        record = CallRecord.from_usage(usage, call_id=f"id{number}", **fields)  # type: ignore[arg-type]
        await ledger.record(record)
        ledger.after_call(record)
        per_call.append((time.perf_counter() - start) * 1000)
        if number % 50 == 0:
            await asyncio.sleep(0)  # let the loop breathe, as a server handling requests would
    return per_call


def fresh_process(module: str, argv: list[str]) -> tuple[float, float]:
    """Wall and CPU time of the command in a new interpreter, as a user running it would wait (CPU time
    is the steadier figure on a machine shared with other work)."""
    code = (
        "import argparse, sys\n"
        f"from {module.rsplit('.', 1)[0]} import {module.rsplit('.', 1)[1]} as m\n"
        "p = argparse.ArgumentParser(); m.add_parser(p.add_subparsers(dest='command'))\n"
        "raise SystemExit(m.run(p.parse_args(sys.argv[1:])))\n"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *argv], check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def timed_command(module: object, argv: list[str]) -> tuple[float, int]:
    parser = argparse.ArgumentParser()
    module.add_parser(parser.add_subparsers(dest="command"))  # type: ignore[attr-defined]
    args = parser.parse_args(argv)
    sink = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(io.StringIO()):
        code = module.run(args)  # type: ignore[attr-defined]
    return time.perf_counter() - start, code


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="keep the ledger in this folder")
    options = parser.parse_args()
    folder = options.keep or Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ledger.sqlite3"
    path.unlink(missing_ok=True)
    now = datetime.now(UTC).timestamp()
    calls = workload(options.calls, now)
    # The generated workload is 300,000 live objects the server would never hold: keep the garbage
    # collector from walking them, so the figures are the ledger's overhead, not this script's heap.
    gc.collect()
    gc.freeze()

    ledger = await Ledger.open(Config(), folder, path=path, env={}, sinks=[], branch_cache=BranchCache(folder))
    start = time.perf_counter()
    per_call = await record_all(ledger, calls)
    per_call_copy = per_call
    count, p50, p99 = len(per_call), statistics.median(per_call), pct(per_call, 0.99)
    enqueued = time.perf_counter() - start
    await ledger.flush()
    committed = time.perf_counter() - start
    summary = ledger.cost_summary()
    await ledger.aclose()

    print(f"ledger: {path}")
    print(f"recorded {len(per_call):,} calls; writer committed them all {committed:.2f} s after the first "
          f"(loop busy {enqueued:.2f} s)")
    print(f"event-loop overhead per call (from_usage + record + after_call): p50 {statistics.median(per_call):.4f} ms, "
          f"p99 {pct(per_call, 0.99):.4f} ms, p99.9 {pct(per_call, 0.999):.4f} ms, max {max(per_call):.2f} ms")
    print(f"month so far: ${summary['month']['cost_usd']:,.2f} over {summary['month']['calls']:,} calls")

    start = time.perf_counter()
    LedgerStore.open(path).close()
    print(f"open with integrity check (server start, off the loop): {time.perf_counter() - start:.3f} s")
    del calls, per_call_copy  # free the generated workload before timing the reports
    gc.collect()
    commands = (
        ("report (text, by model)", report_cmd, ["report", "--ledger", str(path)]),
        ("report --by day", report_cmd, ["report", "--ledger", str(path), "--by", "day"]),
        ("report --by tag:task_type", report_cmd, ["report", "--ledger", str(path), "--by", "tag:task_type"]),
        ("report --json", report_cmd, ["report", "--ledger", str(path), "--json"]),
        ("report --html", report_cmd, ["report", "--ledger", str(path), "--html", str(folder / "report.html")]),
        ("report --since 7d", report_cmd, ["report", "--ledger", str(path), "--since", "7d"]),
        ("tune", tune_cmd, ["tune", "--ledger", str(path)]),
    )
    print("command                    in-process (wall)   new process: wall / CPU (start-up and imports included)")
    for label, module, argv in commands:
        seconds, code = timed_command(module, argv)
        wall, cpu = fresh_process(module.__name__, argv)
        print(f"{label:<26} {seconds:8.3f} s          {wall:6.3f} s / {cpu:6.3f} s"
              + ("" if code == 0 else f"  (exit {code})"))
    size = sum(p.stat().st_size for p in folder.glob("ledger.sqlite3*"))
    print(f"database size: {size / 1e6:.1f} MB ({size / count:.0f} bytes per call)")
    print(json.dumps({"calls": count, "p50_ms": round(p50, 4), "p99_ms": round(p99, 4), "db_bytes": size}))


if __name__ == "__main__":
    asyncio.run(main())
