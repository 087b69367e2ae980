"""How long the server stops answering while it re-indexes an edited file (a typing pause of 1.5 s).

The workspace index re-extracts an open document's symbols once the user pauses. Parsing and querying a
tree hold the GIL, so if that ran on a thread of the server's process, every request arriving meanwhile
would wait for it. This bench types one character into an N-line TypeScript file, then probes the
server with a request every ~1 ms (an unknown method: pygls answers it on the event loop, nothing else
runs) from 1.2 s to 2.4 s after the keystroke, which spans the re-index. It prints, over the trials:

  * the worst probe latency in that window (the stall a request arriving during the re-index sees),
  * the same in a window of the same length with no re-index (0.1 s to 1.3 s after the keystroke),
  * p50 / p99 of all probes in both windows,
  * separately, the worst probe of the session's first re-index (which may start a worker).

    .venv/bin/python bench/reindex_stall.py [--lines 5000 20000] [--trials 8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from lsp_client import VSCODE_LIKE_CAPABILITIES, RawLspClient  # noqa: E402

REINDEX_WINDOW = (1.2, 2.4)  # seconds after the keystroke; the server re-indexes 1.5 s into the pause
QUIET_WINDOW = (0.1, 1.3)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def write_file(root: Path, lines: int) -> tuple[Path, int]:
    """An N-line file of exported functions and a class; returns it and a line inside a function body."""
    (root / "src").mkdir(parents=True)
    (root / "tsconfig.json").write_text('{"compilerOptions": {"strict": true, "noEmit": true}}\n')
    out = ['import { readFile } from "node:fs/promises";', ""]
    index = 0
    while len(out) < lines - 8:
        out += [
            f"export async function load{index}(path: string, limit: number): Promise<string[]> {{",
            f"  const text{index} = await readFile(path, 'utf8');",
            f"  const rows{index} = text{index}.split('\\n').filter((row) => row.length > {index % 7});",
            f"  return rows{index}.slice(0, limit);",
            "}",
            "",
        ]
        index += 1
    path = root / "src" / "big.ts"
    path.write_text("\n".join(out) + "\n")
    return path, len(out) // 2 // 6 * 6 + 3


async def probe(client: RawLspClient, start: float, window: tuple[float, float]) -> list[float]:
    """Latencies (ms) of probes sent between ``window`` seconds after ``start``, one at a time."""
    await asyncio.sleep(max(0.0, start + window[0] - time.monotonic()))
    latencies: list[float] = []
    while time.monotonic() < start + window[1]:
        _, pending = client.request("bench/ping", {})
        with contextlib.suppress(RuntimeError):  # MethodNotFound: the answer we wanted
            await asyncio.wait_for(pending.future, 10)
        assert pending.answered_at is not None
        latencies.append((pending.answered_at - pending.sent_at) * 1000)
        await asyncio.sleep(0.001)
    return latencies


async def run(lines: int, trials: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"reindex_max": [], "quiet_max": [], "reindex_all": [], "quiet_all": [],
                                       "first_max": []}
    with tempfile.TemporaryDirectory(prefix="bench-reindex-") as tmp:
        root = Path(tmp)
        path, line = write_file(root, lines)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
        argv = [sys.executable, "-m", "ai_coding_router", "serve", "--log-level", "WARNING"]
        client = await RawLspClient.start(argv, env, cwd=str(root))
        await client.initialize(root.as_uri(), VSCODE_LIKE_CAPABILITIES)
        uri = path.as_uri()
        client.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "typescript", "version": 1, "text": path.read_text()}})
        await asyncio.sleep(4.0)  # the start-up index build finishes
        version, column = 1, 2
        for trial in range(trials + 1):
            for window, kind in ((QUIET_WINDOW, "quiet"), (REINDEX_WINDOW, "reindex")):
                version += 1
                position = {"line": line, "character": column}
                column += 1
                client.notify("textDocument/didChange", {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{"range": {"start": position, "end": position}, "text": " "}],
                })
                typed_at = time.monotonic()
                latencies = await probe(client, typed_at, window)
                if trial == 0:  # the session's first re-index, reported on its own
                    if kind == "reindex":
                        figures["first_max"].append(max(latencies))
                else:
                    figures[f"{kind}_max"].append(max(latencies))
                    figures[f"{kind}_all"] += latencies
                # The quiet window's keystroke is superseded by the next one before its re-index (at 1.5 s);
                # after the re-index window, let the re-index finish before the next keystroke.
                if kind == "reindex":
                    await asyncio.sleep(0.5)
        await client.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--trials", type=int, default=8)
    args = parser.parse_args()
    print(f"{'file':>12} {'window':>26} {'worst probe p50 / max ms':>26} {'all probes p50 / p99 ms':>24}")
    for lines in args.lines:
        figures = asyncio.run(run(lines, args.trials))
        for kind, label in (("quiet", "no re-index"), ("reindex", "re-index at 1.5 s")):
            worst, every = figures[f"{kind}_max"], figures[f"{kind}_all"]
            print(f"{lines:>7} lines {label:>26} {statistics.median(worst):>12.2f} / {max(worst):>8.2f}    "
                  f"{percentile(every, 50):>9.2f} / {percentile(every, 99):>8.2f}")
        print(f"{lines:>7} lines {'first re-index of the session':>26} {figures['first_max'][0]:>12.2f}")


if __name__ == "__main__":
    main()
