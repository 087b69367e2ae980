"""`ai-coding-router serve`: the language server over stdio (default) or TCP."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser("serve", help="run the language server")
    parser.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    parser.add_argument("--tcp", action="store_true", help="listen on a TCP port instead of stdio")
    parser.add_argument("--host", default="127.0.0.1", help="TCP host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=2087, help="TCP port (default 2087)")
    parser.add_argument("--log-level", default="INFO", help="log level on stderr (default INFO)")


def run(args: argparse.Namespace) -> int:
    from ..logs import configure_logging
    from ..lsp.server import create_server
    from ..lsp.stdio import start_io

    configure_logging(args.log_level)
    server = create_server()
    if args.tcp:
        server.start_tcp(args.host, args.port)
    else:
        start_io(server)
    return 0
