"""Where the invoked-completion overhead of bench/interactive.py goes, stage by stage (a diagnostic).

Runs phase B of bench/interactive.py (explicit invocations on a 5,000-line file, the fake API with 150 ms
to the first token and 15 ms per token) against bench/stage_probe_server.py, then prints the p50 / max of
each step between consecutive stage marks, in the order they happen. The fake's own time (from the first
byte of the request it received to its last byte) is the steps `fake_first_byte -> message_stop` plus what
overlaps them. `stream_enter -> socket_write_enter` is the SDK building the request; the socket write returns
after the fake has the bytes (a loopback send runs the receiver's wake-up), so the step after it is negative.

    .venv/bin/python bench/interactive_stages.py [--invocations 30]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tests.fake_anthropic import FakeAnthropic  # noqa: E402

from interactive import Invocation, invoke_after_typing, open_session  # noqa: E402

ORDER = ["request_read", "request_decoded", "service_enter", "context_enter", "context_exit", "prompt_enter",
         "prompt_exit", "prompt_key_exit", "stream_enter", "socket_write_enter", "socket_write_exit",
         "fake_first_byte", "fake_received", "message_stop",
         "stream_exit", "clean_enter", "clean_exit", "record_enter", "record_exit", "service_exit",
         "answer_write_enter", "answer_write_exit"]


async def measure(invocations: int, log_path: Path) -> list[Invocation]:
    """The client's and the fake's times of each invocation that reached the fake."""
    argv = [sys.executable, str(ROOT / "bench" / "stage_probe_server.py")]
    rows: list[Invocation] = []
    with FakeAnthropic() as fake, tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp:
        session = await open_session(argv, fake, Path(tmp), {"STAGE_LOG": str(log_path)})
        for n in range(invocations):
            invocation = await invoke_after_typing(session, fake, n)
            if invocation is not None:
                rows.append(invocation)
            await asyncio.sleep(0.4)
        await session.client.close()
    return rows


def steps_of(rows: list[Invocation], log_text: str) -> tuple[list[float], dict[str, list[float]]]:
    overheads: list[float] = []
    steps: dict[str, list[float]] = {}
    marks = [(float(t), stage) for t, stage in (line.split() for line in log_text.splitlines())]
    for row in rows:
        sent, answered = row.sent_at, row.answered_at
        overheads.append((answered - sent - (row.finished_at - row.first_byte_at)) * 1000)
        seen = {stage: t for t, stage in marks if sent <= t <= answered + 0.001}
        seen["fake_first_byte"] = row.first_byte_at
        seen["fake_received"] = row.received_at
        chain = [("client_sent", sent)] + [(s, seen[s]) for s in ORDER if s in seen] + [("client_got", answered)]
        for (a, ta), (b, tb) in itertools.pairwise(chain):
            steps.setdefault(f"{a} -> {b}", []).append((tb - ta) * 1000)
    return overheads, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invocations", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "stages.log"
        rows = asyncio.run(measure(args.invocations, log_path))
        overheads, steps = steps_of(rows, log_path.read_text())
    print(f"server overhead p50 {statistics.median(overheads):.2f} ms over {len(overheads)} invocations\n")
    print(f"{'step':48} {'p50 ms':>8} {'max ms':>8}")
    for step, values in steps.items():
        print(f"{step:48} {statistics.median(values):8.3f} {max(values):8.3f}")


if __name__ == "__main__":
    main()
