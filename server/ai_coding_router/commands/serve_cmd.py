"""`ai-coding-router serve`: the language server over stdio (default) or TCP."""

from __future__ import annotations

import argparse
import sys
from typing import Any

# How long a thread may hold the GIL while another waits for it (Python's default: 5 ms). The event loop
# shares the process with worker threads (decoding a re-indexed file's symbols, the ledger, SQLite);
# at 5 ms a request arriving meanwhile waited up to 5 ms for the loop (bench/reindex_stall.py).
GIL_SWITCH_INTERVAL_S = 0.001


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
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    server = create_server()
    if args.tcp:
        server.start_tcp(args.host, args.port)
    else:
        start_io(server)
    return 0
