"""``ai-coding-router run TASKS.yaml [--dry-run] [--batch] [--out DIR] [--json] [--trusted]``.

Runs the background pipeline headless — the CI mode of the seed's decision matrix — and writes each
validated result as a unified diff to ``--out`` (default ``<workspace>/.ai-coding-router/patches/``);
nothing in the workspace itself is changed (``git apply`` the patches). Without an API key it runs as a
dry run and says so first. ``--dry-run`` shows per task the route and its reasons, the context size and
the estimated cost of the first call (input estimated, output at ``max_tokens``: an upper bound) without
calling a model. ``--batch`` sends the deep-model tasks' first calls through the Message Batches API (half
price; the command waits for the batch), then validates, repairs and escalates as usual.
Exit status: 0 every task validated or answered, 1 a task failed, 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import CONFIG_FILE_NAME, Config, load_config_file
from ..errors import ConfigError, ContextError, EditError

if TYPE_CHECKING:  # imported when the command runs, not when the CLI builds its parser
    from ..ledger.service import Ledger
    from ..models.base import ModelResult
    from ..pipeline import PipelineDeps, PreparedTask, TaskResult, TaskSpec

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
CONCURRENT_TASKS = 2  # tasks validated at once (tsc/eslint/vitest are CPU-bound)
SUCCESS = ("validated", "answered", "unvalidated")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="run the tasks of a task file headless and write validated patches",
        description="Route, generate, validate, repair or escalate each task of TASKS.yaml, and write every "
        "validated result as a unified diff. Without an API key this is a dry run.",
    )
    parser.add_argument("tasks", type=Path, metavar="TASKS.yaml", help="the task file (see examples/tasks.yaml)")
    parser.add_argument("--dry-run", action="store_true", help="routes, context sizes and estimated costs only")
    parser.add_argument("--batch", action="store_true",
                        help="send the deep-model tasks through the Message Batches API (half price, slower)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the patches (default: <workspace>/.ai-coding-router/patches)")
    parser.add_argument("--trusted", action="store_true",
                        help="trust the workspace: let validation run its tests (vitest)")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.set_defaults(func=run)
    return parser


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.json:
        sys.stdout.write(text + "\n")


def _stderr_line(text: str) -> None:
    sys.stderr.write(text + "\n")


def _progress(task_id: str) -> Callable[[str, str], None]:
    def report(stage: str, message: str) -> None:
        sys.stderr.write(f"[{task_id}] {stage}: {message}\n")

    return report


# -- dry run -----------------------------------------------------------------------------------------

def plan_entry(prepared: PreparedTask, config: Config, batch: bool) -> dict[str, Any]:
    """What ``--dry-run`` reports for one task (pure)."""
    from ..ledger.pricing import estimate_cost
    from ..pipeline.calls import request_size

    request = prepared.generate_request()
    size = request_size(request)
    in_batch = batch and prepared.route.tier == "deep" and prepared.task.kind != "explain"
    cost = estimate_cost(config.cost_tracking.prices, request.model, size.tokens, request.max_tokens, in_batch)
    task = prepared.task
    return {
        "id": task.task_id, "kind": task.kind, "file": task.file, "route": prepared.route.as_json(),
        "contextTokens": prepared.context.tokens, "contextFiles": len(prepared.context.files),
        "contextEngine": prepared.context.engine, "inputTokens": size.tokens, "maxOutputTokens": request.max_tokens,
        "estimatedCostUsd": cost, "batch": in_batch,
    }


def _print_plan(entries: Sequence[dict[str, Any]]) -> None:
    from ..ledger.pricing import format_usd

    total = 0.0
    for entry in entries:
        route = entry["route"]
        verdict = ">=" if route["tier"] == "deep" else "<"
        print(f"[{entry['id']}] {entry['kind']} {entry['file']}")
        print(f"  route: {route['model']} ({route['tier']}), score {route['score']:.2f} {verdict} "
              f"threshold {route['threshold']:.2f}" + (" + deep sign-off" if route["needsSignoff"] else ""))
        for reason in route["reasons"]:
            print(f"    - {reason}")
        print(f"  context: {entry['contextTokens']} tokens from {entry['contextFiles']} file(s) "
              f"({entry['contextEngine']})")
        cost = entry["estimatedCostUsd"]
        total += cost or 0.0
        batch = " (Message Batches price)" if entry["batch"] else ""
        print(f"  first call: ~{entry['inputTokens']} input tokens + up to {entry['maxOutputTokens']} output; "
              f"estimated cost <= {format_usd(cost)}{batch}")
    print(f"Estimated cost of the first calls (upper bound; repairs and escalations add to it): {format_usd(total)}")


# -- real run ----------------------------------------------------------------------------------------

async def _batch_first_results(prepared: Sequence[PreparedTask], config: Config, ledger: Ledger,
                               args: argparse.Namespace) -> dict[str, ModelResult]:
    from ..errors import ModelError
    from ..ledger.pricing import estimate_cost
    from ..models.base import ModelResult
    from ..pipeline import batch
    from ..pipeline.calls import request_size

    requests = {}
    for p in prepared:
        if p.route.tier != "deep" or p.task.kind == "explain":
            continue
        request = p.generate_request()
        estimate = estimate_cost(config.cost_tracking.prices, request.model, request_size(request).tokens,
                                 request.max_tokens, True)
        if ledger.check_before(estimate, request.model).action in ("allow", "warn"):
            requests[p.task.task_id] = request  # over budget: left to the pipeline, which applies the policy
    if not requests:
        return {}
    _say(args, f"Sending {len(requests)} deep-model task(s) as one Message Batch; waiting for it to end…")
    try:
        results = await batch.run_batch(requests, base_url=config.api.base_url, timeout_s=config.api.timeout_s,
                                        poll_s=batch.BATCH_POLL_S, progress=_stderr_line)
    except ModelError as error:
        _say(args, f"The batch failed ({error}); those tasks run as normal calls instead.")
        return {}
    firsts: dict[str, ModelResult] = {}
    for task_id, result in results.items():
        if isinstance(result, ModelResult):
            firsts[task_id] = result
        else:
            sys.stderr.write(f"[{task_id}] batch request failed ({result}); running it as a normal call\n")
    return firsts


def _write_patch(result: TaskResult, out: Path) -> Path | None:
    if not result.applicable:
        return None
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{result.task_id}.patch"
    path.write_text(result.unified_diff(), encoding="utf-8")
    return path


def _print_result(result: TaskResult, cost: float, patch: Path | None) -> None:
    from ..ledger.pricing import format_usd
    from ..prompts import condense

    model = result.route.get("model")
    print(f"[{result.task_id}] {result.status} ({result.outcome}) — routed to {model}; {result.summary}")
    for call in result.calls:
        batch = " batch" if call.batch else ""
        note = f" [{call.note}]" if call.note else ""
        print(f"  call: {call.role} {call.model}{batch} → {call.outcome}: {call.input_tokens} in "
              f"(+{call.cache_read_tokens} cached) / {call.output_tokens} out{note}")
    if result.escalation is not None:
        e = result.escalation
        print(f"  escalation payload: {e.escalation.tokens} tokens vs {e.first_request.tokens} for the first "
              f"request ({e.ratio:.0%})")
    print(f"  cost: {format_usd(cost)}")
    for note in result.notes:
        print(f"  note: {note}")
    if result.answer:
        print("  answer:\n    " + result.answer.strip().replace("\n", "\n    "))
    if patch is not None:
        print(f"  patch: {patch}" + ("  (security/architecture change: review before applying)"
                                     if result.needs_confirmation else ""))
    elif result.status == "failed" and result.findings:
        print("  findings:\n  " + condense(result.findings).replace("\n", "\n  "))


async def _execute(tasks: Sequence[TaskSpec], prepared: Sequence[PreparedTask], deps: PipelineDeps,
                   firsts: dict[str, ModelResult]) -> list[TaskResult]:
    from ..pipeline import run_task

    limit = asyncio.Semaphore(CONCURRENT_TASKS)

    async def one(p: PreparedTask) -> TaskResult:
        async with limit:
            return await run_task(p.task, deps, _progress(p.task.task_id), prepared=p,
                                  first_result=firsts.get(p.task.task_id))

    return list(await asyncio.gather(*(one(p) for p in prepared)))


async def _main(args: argparse.Namespace) -> int:
    from ..models.anthropic_client import AnthropicModelClient
    from ..pipeline import EngineContext, PipelineDeps, prepare_task
    from ..pipeline.taskfile import load_task_file
    from ..validation.runner import ValidationSession

    task_file = load_task_file(args.tasks)
    root = task_file.root
    config = load_config_file(root / CONFIG_FILE_NAME)
    tasks = [replace(t, trusted=True) if args.trusted else t for t in task_file.tasks]
    client = AnthropicModelClient(base_url=config.api.base_url, timeout_s=config.api.timeout_s,
                                  http_client=config.api.http_client)
    try:
        dry = args.dry_run or not client.available
        reason = "--dry-run" if args.dry_run else "no API key: set ANTHROPIC_API_KEY to run the tasks"
        if dry:
            _say(args, f"DRY RUN — {reason}. Routes, context sizes and estimated costs only; no model is called.")
        deps = PipelineDeps(client=client, config=config, context=EngineContext(config.context),
                            session=ValidationSession())
        prepared = [await prepare_task(t, deps) for t in tasks]
        if dry:
            entries = [plan_entry(p, config, args.batch) for p in prepared]
            if args.json:
                total = sum(e["estimatedCostUsd"] or 0.0 for e in entries)
                print(json.dumps({"dryRun": True, "reason": reason, "tasks": entries, "estimatedCostUsd": total}))
            else:
                _print_plan(entries)
            return EXIT_OK
        return await _run_for_real(args, tasks, prepared, deps, root)
    finally:
        await client.aclose()


async def _run_for_real(args: argparse.Namespace, tasks: Sequence[TaskSpec], prepared: Sequence[PreparedTask],
                        deps: PipelineDeps, root: Path) -> int:
    from ..ledger.pricing import format_usd
    from ..ledger.service import Ledger

    ledger = await Ledger.open(deps.config, root)
    try:
        deps = replace(deps, record_call=ledger.record, record_outcome=ledger.set_task_outcome,
                       budget_check=ledger.check_before)
        firsts = await _batch_first_results(prepared, deps.config, ledger, args) if args.batch else {}
        results = await _execute(tasks, prepared, deps, firsts)
        out = args.out if args.out is not None else root / ".ai-coding-router" / "patches"
        patches = [_write_patch(r, out) for r in results]
        costs = [ledger.task_cost(r.task_id) for r in results]
    finally:
        await ledger.aclose()
    failed = [r for r in results if r.status not in SUCCESS]
    if args.json:
        rows = []
        for result, patch, cost in zip(results, patches, costs, strict=True):
            row = result.to_json()
            row.pop("newTexts")
            row.pop("baseTexts")
            rows.append({**row, "patch": str(patch) if patch else None, "costUsd": cost})
        print(json.dumps({"dryRun": False, "tasks": rows, "patchesDir": str(out), "costUsd": sum(costs)}))
    else:
        for result, patch, cost in zip(results, patches, costs, strict=True):
            _print_result(result, cost, patch)
        done = len(results) - len(failed)
        print(f"{done} of {len(results)} task(s) succeeded; cost {format_usd(sum(costs))}; patches in {out}")
    return EXIT_FAILED if failed else EXIT_OK


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_main(args))
    except (ConfigError, ContextError, EditError) as exc:
        print(f"ai-coding-router run: {exc}", file=sys.stderr)
        return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (``python -m ai_coding_router.commands.run_cmd``) until cli.py registers it."""
    parser = argparse.ArgumentParser(prog="ai-coding-router")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["run", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
