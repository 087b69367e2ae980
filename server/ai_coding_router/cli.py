"""`ai-coding-router` command line: one subcommand per module under ``commands/``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Subcommand modules, each with add_parser(subparsers) and run(args) -> int. Imported on demand so that
# `serve` never pays for the others' imports.
COMMAND_MODULES = {
    "serve": "serve_cmd",
    "config": "config_cmd",
    "doctor": "doctor_cmd",
    "report": "report_cmd",
    "tune": "tune_cmd",
    "validate": "validate_cmd",
    "context": "context_cmd",
    "route": "route_cmd",
    "run": "run_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ai-coding-router",
        description="A language server that puts Claude into any LSP editor and routes each request "
        "to the right model.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMAND_MODULES.items():
        module = importlib.import_module(f".commands.{module_name}", __package__)
        module.add_parser(subparsers)
        subparsers.choices[name].set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    result: int = args._module.run(args)
    return result
