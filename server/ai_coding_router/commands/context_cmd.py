"""``ai-coding-router context FILE --line L --character C --budget-tokens N [--json]``.

Runs with the workspace as the current directory: builds (or refreshes from its cache under
``.ai-coding-router/index/``) the index, prunes, and prints the snippets. With ``--json`` the output is
exactly ``{"snippets": [{"path", "start_line", "end_line", "text"}], "tokens": N}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..config import CONFIG_FILE_NAME, load_config_file
from ..context.index import WorkspaceIndex, is_binary, relative_path
from ..context.prune import ContextRequest, ContextResult, prune, render
from ..errors import ConfigError, ContextError

MAX_DOCUMENT_BYTES = 2 * 1024 * 1024


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "context",
        help="print the context the pruner would send for a position",
        description="Print the pruned context for FILE at a 0-based LSP position, from the current directory's "
        "workspace (indexed on the spot; the cache under .ai-coding-router/index/ can be deleted).",
    )
    parser.add_argument("file", metavar="FILE", help="the file, relative to the workspace (current directory)")
    parser.add_argument("--line", type=int, required=True, help="0-based line")
    parser.add_argument("--character", type=int, default=0, help="0-based character (UTF-16 code units)")
    parser.add_argument("--end-line", type=int, default=None, help="0-based end line of a range")
    parser.add_argument("--end-character", type=int, default=None)
    parser.add_argument("--budget-tokens", type=int, default=None, help="default: context.interactive_budget_tokens")
    parser.add_argument("--task", default="completion", help="completion | fix | refactor | tests | review")
    parser.add_argument("--json", action="store_true", help="print the JSON shape only")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the index cache")
    parser.set_defaults(func=run)
    return parser


def _read_document(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise ContextError(f"{path.name} is too large ({path.stat().st_size} bytes > {MAX_DOCUMENT_BYTES})")
        data = path.read_bytes()
    except OSError as exc:
        raise ContextError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if is_binary(data):
        raise ContextError(f"{path.name} is a binary file")
    return data.decode("utf-8", errors="replace")


def compute(args: argparse.Namespace, root: Path) -> ContextResult:
    config = load_config_file(root / CONFIG_FILE_NAME).context
    rel = relative_path(root, args.file)
    text = _read_document(root / rel)
    budget = args.budget_tokens if args.budget_tokens is not None else config.interactive_budget_tokens
    if budget < 0:
        raise ContextError("--budget-tokens must be >= 0")
    index = WorkspaceIndex.open(root, use_cache=not args.no_cache)
    request = ContextRequest(
        path=rel,
        text=text,
        line=args.line,
        character=args.character,
        end_line=args.end_line,
        end_character=args.end_character,
        task=args.task,
        budget_tokens=budget,
        options=config,
    )
    return prune(index.snapshot(), request)


def run(args: argparse.Namespace) -> int:
    root = Path.cwd()
    try:
        result = compute(args, root)
    except (ContextError, ConfigError) as exc:
        print(f"ai-coding-router context: {exc}", file=sys.stderr)
        return 2
    if args.json:
        sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render(result) + f"\n// {result.tokens} of {result.budget_tokens} tokens\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (``python -m ai_coding_router.commands.context_cmd``) until cli.py wires it."""
    parser = argparse.ArgumentParser(prog="ai-coding-router")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
