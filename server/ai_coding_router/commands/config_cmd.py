"""`ai-coding-router config schema|check`: the JSON Schema of the config file, and a validity check."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..config import CONFIG_FILE_NAME, dump_schema, load_config_file, reference_markdown
from ..errors import ConfigError
from ..models.deprecations import deprecated_model_warnings, sdk_deprecation_table


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser("config", help="config schema and checks")
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    actions.add_parser("schema", help="print the JSON Schema of the config file")
    actions.add_parser("reference", help="print the configuration reference as a Markdown table")
    check = actions.add_parser("check", help="validate a config file")
    check.add_argument("file", nargs="?", default=CONFIG_FILE_NAME, type=Path)


def run(args: argparse.Namespace) -> int:
    if args.config_action == "schema":
        print(dump_schema())
        return 0
    if args.config_action == "reference":
        print(reference_markdown(), end="")
        return 0
    path: Path = args.file
    if not path.is_file():
        print(f"{path}: no such file (defaults apply)", file=sys.stderr)
        return 1
    try:
        config = load_config_file(path)
    except ConfigError as error:
        print(f"{error.source}: invalid configuration", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"{path}: valid")
    for _, message in deprecated_model_warnings(config, sdk_deprecation_table()):
        print(f"  warning: {message}")
    return 0
