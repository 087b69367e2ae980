"""`ai-coding-router validate`: run the validation gates on files as they are, or on a patch.

    ai-coding-router validate [--checks syntax,tsc,...] [--json] [--trusted] FILE...
    ai-coding-router validate --patch REPLY.txt        (SEARCH/REPLACE blocks; "-" reads stdin)

Files are judged as they are (every problem in them counts); a patch is judged on what it introduces.
Exit status: 0 pass, 1 fail-syntax / fail-logic (or a patch that does not apply), 3 incomplete (a check
was skipped or could not run), 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from ..config import CONFIG_FILE_NAME, ValidationConfig, load_config_file
from ..errors import ConfigError, EditError
from ..validation.base import CHECK_ORDER, Candidate, ValidationReport

ALIASES = {"tsc": "typescript_compile", "types": "typescript_compile", "eslint": "eslint_strict",
           "lint": "eslint_strict", "vitest": "vitest_run", "tests": "vitest_run"}
EXIT_CODES = {"pass": 0, "fail-syntax": 1, "fail-logic": 1, "incomplete": 3}
_ROOT_MARKERS = ("tsconfig.json", "package.json", ".git")


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "validate", help="run the syntax, type, lint and test gates on files or a patch",
        description="Validate files as they are, or a SEARCH/REPLACE patch against the workspace.",
    )
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE", help="files to validate as they are")
    parser.add_argument("--patch", metavar="FILE", help="a reply with SEARCH/REPLACE blocks ('-': stdin)")
    parser.add_argument(
        "--checks", action="append", metavar="LIST",
        help=f"comma-separated checks (default: syntax + the config's list): {', '.join(CHECK_ORDER)}; "
        "aliases tsc, eslint, vitest",
    )
    parser.add_argument("--root", type=Path, help="workspace root (default: the nearest folder above the first "
                        "FILE, or the current one, with a tsconfig.json, package.json or .git)")
    parser.add_argument("--trusted", action="store_true",
                        help="trust the workspace: use its eslint config and tools, and run its tests")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="time limit per tool")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def find_root(start: Path) -> Path:
    start = start.resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in _ROOT_MARKERS):
            return candidate
    return folder


def parse_checks(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    names = [ALIASES.get(n.strip(), n.strip()) for value in values for n in value.split(",") if n.strip()]
    unknown = sorted(set(names) - set(CHECK_ORDER))
    if unknown:
        raise ValueError(f"unknown check(s): {', '.join(unknown)}; known: {', '.join(CHECK_ORDER)}")
    return names


def files_candidate(root: Path, files: list[Path]) -> Candidate:
    changes: dict[str, str | None] = {}
    for file in files:
        path = file.resolve()
        if not path.is_file():
            raise EditError(f"{file}: no such file")
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError as error:
            raise EditError(f"{file} is outside the workspace {root}") from error
        changes[rel] = path.read_bytes().decode("utf-8", errors="replace")
    return Candidate(root, changes, compare_with_original=False)


def patch_candidate(root: Path, reply: str) -> tuple[Candidate | None, str]:
    """The candidate a patch makes, or None and the problems (one per line) when it does not apply."""
    from .. import patches  # the SEARCH/REPLACE format belongs to patches.py; imported only when used

    result = patches.parse_and_apply(reply, patches.disk_files([root]), [root])
    if not result.ok:
        return None, result.feedback()
    if not result.files:
        return None, "the patch changes nothing"
    return Candidate(root, dict(result.new_texts)), "\n".join(result.notes)


def render(report: ValidationReport, root: Path) -> str:
    lines = []
    for f in report.findings:
        where = f"{f.path}:{f.range.start.line + 1}:{f.range.start.character + 1}" if f.path else str(root)
        lines.append(f"{where}: {f.severity} {f.code}: {f.message} [{f.source}]")
    for o in report.outcomes:
        extra = ", ".join(part for part in (f"{o.duration_ms:.0f} ms", o.tool, o.detail) if part)
        lines.append(f"  {o.check}: {o.state} ({extra})")
    lines.append(f"{report.status}: {report.reason} ({report.duration_ms:.0f} ms)")
    return "\n".join(lines)


def _load_config(root: Path, args: argparse.Namespace) -> ValidationConfig:
    config = load_config_file(root / CONFIG_FILE_NAME).validation
    updates: dict[str, Any] = {}
    if args.trusted:
        updates["allow_running_tests"] = True  # an explicit flag on the command line beats the file
    if args.timeout is not None:
        updates["tool_timeout_s"] = args.timeout
    return config.model_copy(update=updates) if updates else config


def run(args: argparse.Namespace) -> int:
    from ..validation.runner import validate

    if bool(args.files) == bool(args.patch):
        print("validate: give FILE... or --patch FILE (not both)", file=sys.stderr)
        return 2
    try:
        checks = parse_checks(args.checks)
        root = (args.root or find_root(args.files[0] if args.files else Path.cwd())).resolve()
        config = _load_config(root, args)
        if args.patch:
            reply = sys.stdin.read() if args.patch == "-" else Path(args.patch).read_text(encoding="utf-8")
            candidate, note = patch_candidate(root, reply)
            if candidate is None:
                print(f"the patch does not apply:\n{note}", file=sys.stderr)
                return 1
        else:
            candidate = files_candidate(root, args.files)
        report = asyncio.run(validate(candidate, checks, trusted=args.trusted, config=config))
    except ConfigError as error:
        print(f"{error.source}: invalid configuration: {'; '.join(error.problems)}", file=sys.stderr)
        return 2
    except (EditError, ValueError, OSError) as error:
        print(f"validate: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"root": str(root), **report.to_dict()}, indent=2))
    else:
        print(render(report, root))
    return EXIT_CODES[report.status]
