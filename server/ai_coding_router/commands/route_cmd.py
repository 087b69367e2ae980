"""``ai-coding-router route --kind K --file F [--range L:C-L:C] [--instruction T] [--json]``.

Prints the route a background task would take — model, score against the threshold, and the reasons —
without calling a model (no API key needed). The workspace is the current directory (or ``--workspace``);
its index is built on the spot (cached under ``.ai-coding-router/index/``). Lines and columns of
``--range`` are 1-based, as editors show them; ``L-L`` selects whole lines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import CONFIG_FILE_NAME, Config, load_config_file
from ..errors import ConfigError, ContextError, EditError
from ..models.base import ModelRequest, ModelResult, TextCallback
from ..routing import TASK_KINDS

if TYPE_CHECKING:  # the pipeline is imported when the command runs, not when the CLI builds its parser
    from ..pipeline import PreparedTask, TaskSpec

EXIT_OK, EXIT_USAGE = 0, 2


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "route",
        help="print the model a task would be routed to, with the reasons (no model call)",
        description="Classify a task as the background pipeline would: the model, the complexity score and "
        "one reason per contribution. Works without an API key.",
    )
    parser.add_argument("--kind", required=True, choices=TASK_KINDS, help="the task's kind")
    parser.add_argument("--file", required=True, help="the file, relative to the workspace")
    parser.add_argument("--range", dest="range_", metavar="L:C-L:C",
                        help="the selection, 1-based (L-L: whole lines); default: the whole file")
    parser.add_argument("--instruction", default="", help="what to do (does not change the route)")
    parser.add_argument("--workspace", type=Path, default=None, help="workspace root (default: current folder)")
    parser.add_argument("--json", action="store_true", help="print the route as JSON")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the index cache")
    parser.set_defaults(func=run)
    return parser


def task_spec(args: argparse.Namespace, root: Path) -> TaskSpec:
    """The task the arguments describe. Raises ValueError/EditError for a bad path or range."""
    from ..edits.paths import normalize_relative_path
    from ..pipeline import TaskSpec
    from ..pipeline.taskfile import parse_range

    file = Path(args.file)
    rel = file.resolve().relative_to(root).as_posix() if file.is_absolute() else normalize_relative_path(args.file)
    return TaskSpec(
        task_id=f"route:{rel}:{args.range_ or ''}", kind=args.kind, root=root, file=rel,
        range=parse_range(args.range_) if args.range_ else None, instruction=args.instruction,
    )


async def compute(spec: TaskSpec, config: Config, *, use_cache: bool = True) -> PreparedTask:
    """The prepared task (context, facts, route): what the pipeline computes before any model call."""
    from ..pipeline import EngineContext, PipelineDeps, prepare_task

    deps = PipelineDeps(client=_NoModel(), config=config, context=EngineContext(config.context, use_cache=use_cache))
    return await prepare_task(spec, deps)


class _NoModel:
    """``route`` never calls a model."""

    available = False

    def prepare(self, request: ModelRequest) -> None:
        return None

    async def complete(self, request: ModelRequest, on_text: TextCallback | None = None) -> ModelResult:
        raise RuntimeError("route does not call a model")

    async def aclose(self) -> None:
        return None


def describe(prepared: PreparedTask) -> str:
    route = prepared.route
    verdict = ">=" if route.tier == "deep" else "<"
    lines = [f"route: {route.model} ({route.tier} model), score {route.score:.2f} {verdict} threshold "
             f"{route.threshold:.2f}" + (f", variant {route.variant}" if route.variant else "")]
    if route.needs_signoff:
        lines.append("  a deep-model sign-off review is required before the result is offered")
    lines.append("reasons:")
    lines.extend(f"  - {reason}" for reason in route.reasons)
    context = prepared.context
    lines.append(f"context: {context.tokens} tokens from {len(context.files)} file(s) ({context.engine})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    root = (args.workspace or Path.cwd()).resolve()
    try:
        config = load_config_file(root / CONFIG_FILE_NAME)
        prepared = asyncio.run(compute(task_spec(args, root), config, use_cache=not args.no_cache))
    except (ConfigError, ContextError, EditError, ValueError) as exc:
        print(f"ai-coding-router route: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        sys.stdout.write(json.dumps(prepared.route.as_json(), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(describe(prepared) + "\n")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (``python -m ai_coding_router.commands.route_cmd``) until cli.py registers it."""
    parser = argparse.ArgumentParser(prog="ai-coding-router")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["route", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
