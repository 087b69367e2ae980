"""What the ``report`` and ``tune`` commands share: config, ledger path, reading rows."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import CONFIG_FILE_NAME, Config, load_config_file
from .records import CallRow, ReportInput
from .store import LedgerStore, ledger_path


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ledger", metavar="PATH", type=Path,
        help="ledger file (default: cost_tracking.ledger_path, else .ai-coding-router/ledger.sqlite3 here)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")


def load_config(args: argparse.Namespace, workspace: Path) -> Config:
    """The workspace's config file (or ``args.config`` when the CLI has such an option). Raises ConfigError."""
    explicit = getattr(args, "config", None)
    return load_config_file(Path(explicit) if explicit else workspace / CONFIG_FILE_NAME)


def resolve_ledger(args: argparse.Namespace, config: Config, workspace: Path) -> Path:
    explicit: Path | None = getattr(args, "ledger", None)
    return explicit if explicit is not None else ledger_path(config, workspace)


def read_report_input(path: Path, since_ts: float | None, by: str) -> tuple[Path, ReportInput]:
    """Raises LedgerError (missing, corrupt, locked) with a readable message."""
    store = LedgerStore.open(path, create=False, check=False)  # reads report corruption as they meet it
    try:
        return store.path, store.report_input(since_ts, None, by)
    finally:
        store.close()


def read_routed_calls(path: Path) -> tuple[Path, list[CallRow], dict[str, str | None]]:
    """The calls of routed tasks (the ones with a route score) and the task outcomes, for ``tune``."""
    store = LedgerStore.open(path, create=False, check=False)
    try:
        return store.path, store.fetch_calls(with_tags=False, routed_only=True), store.task_outcomes()
    finally:
        store.close()
