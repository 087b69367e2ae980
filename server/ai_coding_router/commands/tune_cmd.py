"""``ai-coding-router tune``: suggest a ``routing.complexity_threshold`` from the ledger's outcomes."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..ledger.cli_support import add_common_arguments, load_config, read_routed_calls, resolve_ledger
from ..ledger.errors import LedgerError
from ..ledger.tune import tune

NAME = "tune"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        help="suggest a complexity_threshold from recorded outcomes",
        description="Replays the recorded tasks under each threshold: expected cost per task and success rate.",
    )
    parser.add_argument("--step", type=float, default=0.05, help="threshold grid step (default 0.05)")
    parser.add_argument(
        "--tolerance", type=float, default=0.01,
        help="success rate that may be given up for a cheaper threshold (default 0.01 = 1 point)",
    )
    parser.add_argument(
        "--min-coverage", type=float, default=0.5,
        help="share of the workload a threshold must have observed directly to be suggested (default 0.5)",
    )
    add_common_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    workspace = Path.cwd()
    if not 0.0 < args.step <= 0.5 or not 0.0 <= args.tolerance <= 1.0 or not 0.0 <= args.min_coverage <= 1.0:
        print("ai-coding-router tune: --step must be in (0, 0.5], --tolerance and --min-coverage in [0, 1]",
              file=sys.stderr)
        return 2
    try:
        config = load_config(args, workspace)
        path, rows, outcomes = read_routed_calls(resolve_ledger(args, config, workspace))
    except (ConfigError, LedgerError) as exc:
        print(f"ai-coding-router tune: {exc}", file=sys.stderr)
        return 1
    routing = config.routing
    result = tune(
        rows, outcomes,
        current_threshold=routing.complexity_threshold,
        deep_models={routing.escalation_model},
        variants=routing.variants,
        step=args.step, tolerance=args.tolerance, min_coverage=args.min_coverage,
    )
    result["ledger"] = str(path)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        from rich.console import Console

        Console().print(render_text(result))
    return 0


def _pct(value: Any) -> str:
    return "-" if value is None else f"{float(value) * 100:.1f}%"


def _usd(value: Any) -> str:
    return "-" if value is None else f"${float(value):.4f}"


def render_text(result: Mapping[str, Any]) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list[Any] = []
    suggested = result["suggested"]
    current = result["current"]
    tiers = result["tasks_by_tier"]
    parts.append(Text(
        f"{result['tasks']:,} finished routed tasks ({tiers['fast']:,} fast, {tiers['deep']:,} deep); "
        f"{result['excluded_tasks']:,} others left out."
    ))
    if suggested:
        parts.append(Text(
            f"Suggested routing.complexity_threshold: {suggested['threshold']:.2f} - expected "
            f"{_usd(suggested['expected_cost_per_task'])} per task, {_pct(suggested['success_rate'])} validated "
            f"(current {float(current['threshold']):.2f}: {_usd(current.get('expected_cost_per_task'))}, "
            f"{_pct(current.get('success_rate'))}).",
            style="bold",
        ))
    table = Table(title="Thresholds replayed on the recorded workload", title_justify="left")
    for header in ("threshold", "cost / task", "validated", "first time", "escalated", "coverage"):
        table.add_column(header, justify="right")
    chosen = suggested["threshold"] if suggested else None
    for c in result["candidates"]:
        mark = " *" if c["threshold"] == chosen else (" (current)" if c["threshold"] == current["threshold"] else "")
        table.add_row(f"{c['threshold']:.2f}{mark}", _usd(c["expected_cost_per_task"]), _pct(c["success_rate"]),
                      _pct(c["first_time_rate"]), _pct(c["escalation_rate"]), _pct(c["coverage"]))
    parts.append(table)
    if result["variants"]:
        variants = Table(title="Routing variants (observed)", title_justify="left")
        for header in ("variant", "threshold", "tasks", "cost / task", "validated", "first time", "escalated"):
            variants.add_column(header, justify="left" if header == "variant" else "right")
        for v in result["variants"]:
            threshold = "-" if v["complexity_threshold"] is None else f"{v['complexity_threshold']:.2f}"
            variants.add_row(v["variant"], threshold, f"{v['tasks']:,}", _usd(v["cost_per_task"]),
                             _pct(v["success_rate"]), _pct(v["first_time_rate"]), _pct(v["escalation_rate"]))
        parts.append(variants)
    parts.extend(Text(note, style="yellow") for note in result["notes"])
    parts.append(Text(f"Rule: {result['rule']}.", style="dim"))
    return Group(*parts)
