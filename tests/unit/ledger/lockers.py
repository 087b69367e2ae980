"""Child processes for the store tests: one that holds the ledger locked, one killed mid-transaction."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCKER = textwrap.dedent("""
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    if sys.argv[2] == "exclusive":  # nobody else may even read
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
    else:  # a long write transaction: others can read but not write
        conn.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    time.sleep(60)
""")


@contextmanager
def locked(path: Path, mode: str = "exclusive") -> Iterator[None]:
    """Hold the database locked from another process for the duration (``exclusive`` or ``write``)."""
    child = subprocess.Popen([sys.executable, "-c", LOCKER, str(path), mode], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        yield
    finally:
        child.kill()
        child.wait(timeout=10)


def wait_for_line(child: subprocess.Popen[str], wanted: str) -> None:
    assert child.stdout is not None
    while True:
        line = child.stdout.readline()
        assert line, f"child exited before printing {wanted!r}"
        if line.strip() == wanted:
            return
