"""The soak (bench/soak.py) at CI size: 1,000 inline completions with random cancels and edits over 5 open
documents, plus 4 background jobs; then no leaked tasks, sockets or child processes, every job final,
every document byte-identical to the client's model, and the RSS growth inside the target.

The full size (10,000 requests, 50 documents, 20 jobs) is `bench/soak.py` without `--small`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_small_soak_leaks_nothing(tmp_path: Path) -> None:
    figures_path = tmp_path / "soak.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), "--small", "--json-out", str(figures_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    print(done.stdout[-4000:])  # the figures, shown with -s or on failure
    assert figures_path.exists(), done.stderr[-4000:]
    figures = json.loads(figures_path.read_text())
    settings = figures["settings"]
    assert settings["requests"] == 1_000 and settings["documents"] == 5 and settings["jobs"] == 4
    # The load really happened: requests answered or cancelled, edits made, the API called, jobs run.
    assert figures["answered"] + figures["cancelled"] == 1_000
    assert figures["cancelled"] > 0 and figures["edits"] > 0 and figures["with_items"] > 0
    assert figures["model_requests"] > 100 and figures["faults_injected"] > 0
    assert sum(figures["jobs"].values()) == 4 and figures["jobs"].get("validated", 0) >= 1
    failed = [name for name, ok in figures["checks"].items() if not ok]
    assert failed == [], failed
    assert done.returncode == 0
    assert figures["after"]["childProcesses"] == 0
    assert figures["after"]["asyncioTasks"] <= figures["baseline"]["asyncioTasks"] + 2
