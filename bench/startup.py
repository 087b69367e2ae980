"""Start-up benchmark: how fast `ai-coding-router serve` answers `initialize`, and what it holds in memory.

Two figures per run, each the median of N process starts:
- from process start: `initialize` written to stdin at once, answered after the imports (what an editor
  that starts the server and immediately initializes sees);
- from request: `initialize` sent once the process is idle (the protocol work alone).
A bare 19-line pygls server is measured in the same run as the baseline.

    .venv/bin/python bench/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from lsp_client import VSCODE_LIKE_CAPABILITIES, RawLspClient  # noqa: E402

BARE = '''
from lsprotocol import types
from pygls.lsp.server import LanguageServer
server = LanguageServer("bare", "0")
@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls, params): pass
server.start_io()
'''


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def one(argv: list[str], root: Path, idle_first: bool) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    started = time.monotonic()
    client = await RawLspClient.start(argv, env, cwd=str(root))
    if idle_first:
        await asyncio.sleep(2.0)
    sent = time.monotonic()
    await client.initialize(root.as_uri(), VSCODE_LIKE_CAPABILITIES)
    answered = time.monotonic()
    await asyncio.sleep(1.0)  # background start-up work (index, SDK import) settles
    memory = rss_mib(client.process.pid)
    await client.close()
    return ((answered - sent) if idle_first else (answered - started)) * 1000, memory


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "src").mkdir()
        (root / "src" / "a.ts").write_text("export const a = 1;\n")
        bare = root / "bare.py"
        bare.write_text(BARE)
        servers = {
            "ai-coding-router": [sys.executable, "-m", "ai_coding_router", "serve", "--log-level", "WARNING"],
            "bare pygls server": [sys.executable, str(bare)],
        }
        print(f"{'server':22} {'from process start (ms)':>24} {'from request (ms)':>18} {'RSS (MiB)':>10}")
        for name, argv in servers.items():
            cold = [await one(argv, root, idle_first=False) for _ in range(args.runs)]
            warm = [await one(argv, root, idle_first=True) for _ in range(args.runs)]
            print(f"{name:22} {statistics.median(c for c, _ in cold):24.0f} "
                  f"{statistics.median(w for w, _ in warm):18.1f} {statistics.median(m for _, m in warm):10.0f}")
    print("\ntarget: initialize answered in well under 300 ms")


if __name__ == "__main__":
    asyncio.run(main())
