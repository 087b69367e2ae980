"""How much of the invoked-completion overhead any Python language server pays: a byte relay vs ours.

Runs phase B of bench/interactive.py (type a line on a 5,000-line file, pause 50 ms, invoke; the fake API
with 150 ms to the first token and 15 ms per token) against three servers, in the same run:

- bench/relay_server.py: reads and decodes the LSP request, sends a pre-encoded HTTP request on a kept-alive
  connection, reads the stream to its end, writes an answer. The interpreter's and the OS's share only.
- bench/naive_server.py: pygls + the SDK (through our model client) and the same prompt and cleaning.
- ai-coding-router.

Each is measured as bench/interactive.py measures: LSP response time − the fake's own time (from the first
byte of the HTTP request it received to its last byte). The relay's figure is the floor under ours on this
machine; ours − the relay's is what pygls, the SDK and our own code cost.

    .venv/bin/python bench/relay_floor.py [--invocations 40] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tests.fake_anthropic import FakeAnthropic  # noqa: E402

from interactive import invoke_after_typing, open_session, percentile  # noqa: E402

SERVERS = {
    "byte relay (floor)": [sys.executable, str(ROOT / "bench" / "relay_server.py")],
    "naive baseline": [sys.executable, str(ROOT / "bench" / "naive_server.py")],
    "ai-coding-router": [sys.executable, "-m", "ai_coding_router", "serve", "--log-level", "WARNING"],
}


async def overheads(argv: list[str], fake: FakeAnthropic, invocations: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    found: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-relay-") as tmp:
        session = await open_session(argv, fake, Path(tmp))
        for n in range(invocations + 1):
            invocation = await invoke_after_typing(session, fake, n)
            if invocation is not None and n > 0:  # the first one opens the relay's connection
                lsp_s = invocation.answered_at - invocation.sent_at
                fake_s = invocation.finished_at - invocation.first_byte_at
                found.append((lsp_s - fake_s) * 1000)
            await asyncio.sleep(rng.uniform(0.3, 0.6))
        await session.client.close()
    return found


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invocations", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    results: dict[str, list[float]] = {}
    with FakeAnthropic() as fake:
        for name, argv in SERVERS.items():
            print(f"running {name} …", flush=True)
            results[name] = await overheads(argv, fake, args.invocations, args.seed)
    floor = percentile(results["byte relay (floor)"], 50)
    print(f"\n{'server':24} {'samples':>8} {'p50 ms':>8} {'p99 ms':>8} {'p50 above the floor':>20}")
    for name, values in results.items():
        p50 = percentile(values, 50)
        print(f"{name:24} {len(values):8d} {p50:8.2f} {percentile(values, 99):8.2f} {p50 - floor:20.2f}")


if __name__ == "__main__":
    asyncio.run(main())
