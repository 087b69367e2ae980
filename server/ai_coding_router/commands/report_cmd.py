"""``ai-coding-router report``: what the model calls cost, by model, task type, tag, day or variant."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..ledger.cli_support import add_common_arguments, load_config, read_report_input, resolve_ledger
from ..ledger.errors import LedgerError
from ..ledger.report import build_report, parse_group_by, parse_since

NAME = "report"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        help="cost and quality report from the ledger",
        description="Calls, tokens, cost, cache-hit ratio, escalation and validated-success rates, latency.",
    )
    parser.add_argument("--since", metavar="DATE|7d", help="from a date (2026-11-01) or 24h / 7d / 2w ago")
    parser.add_argument(
        "--by", default="model", metavar="GROUP",
        help="group rows by model (default), task_type, day, variant or tag:NAME (e.g. tag:team)",
    )
    parser.add_argument("--html", metavar="FILE", type=Path, help="also write a self-contained HTML page")
    add_common_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    workspace = Path.cwd()
    now = datetime.now().astimezone()
    try:
        by = parse_group_by(args.by)
        since = parse_since(args.since, now) if args.since else None
    except ValueError as exc:
        print(f"ai-coding-router report: {exc}", file=sys.stderr)
        return 2
    try:
        config = load_config(args, workspace)
        path, data = read_report_input(
            resolve_ledger(args, config, workspace), since.timestamp() if since else None, by
        )
    except (ConfigError, LedgerError) as exc:
        print(f"ai-coding-router report: {exc}", file=sys.stderr)
        return 1
    report = build_report(data, by=by, since=since)
    report["ledger"] = str(path)
    if args.html is not None:
        from ..ledger.report_html import render_html

        try:
            args.html.write_text(render_html(report), encoding="utf-8")
        except OSError as exc:
            print(f"ai-coding-router report: cannot write {args.html}: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {args.html}", file=sys.stderr)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        from rich.console import Console

        from ..ledger.report_text import renderables

        console = Console()
        for part in renderables(report):
            console.print(part)
    return 0
