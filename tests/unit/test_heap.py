"""heap.settle / freeze_young move what is alive out of the collector's sight (in a fresh interpreter: freezing
the test process's own heap would change every later test)."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import gc
from ai_coding_router import heap
kept = [[i] for i in range(50_000)]
before = gc.get_freeze_count()
heap.{name}()
frozen = gc.get_freeze_count()
cycle = []
cycle.append(cycle)  # garbage made after the freeze is still collected
del cycle
print(before, frozen, gc.collect())
"""


def run(name: str) -> tuple[int, int, int]:
    out = subprocess.run([sys.executable, "-c", PROGRAM.format(name=name)], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    before, frozen, collected = (int(x) for x in out)
    return before, frozen, collected


def test_settle_freezes_everything_alive_and_later_garbage_is_still_collected() -> None:
    before, frozen, collected = run("settle")
    assert before == 0 and frozen >= 50_000 and collected >= 1


def test_freeze_young_freezes_without_a_full_collection() -> None:
    before, frozen, collected = run("freeze_young")
    assert before == 0 and frozen >= 50_000 and collected >= 1
