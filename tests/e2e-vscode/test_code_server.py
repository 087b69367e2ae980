"""The VS Code extension in a real VS Code (code-server + Debian's headless Chromium): runs run.sh.

`run.sh` installs what it needs (Node 24, code-server and playwright-core from the lock file; Chromium with
apt-get when it is missing and we are root), so the first run takes a minute or two more than the next
ones. Run only these: `.venv/bin/pytest tests/e2e-vscode`; leave them out: `--ignore=tests/e2e-vscode`.
Screenshots: test-artifacts/e2e-vscode/.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RUN_SH = HERE / "run.sh"
# Warm: ~25 s. Cold: npm installs code-server (~600 MB unpacked) and, on a bare machine, apt-get chromium.
TIMEOUT_S = 1200.0


def run_e2e(*args: str) -> subprocess.CompletedProcess[str]:
    # A developer's real key never reaches code-server or the server: run.sh sets a fake one.
    env = {name: value for name, value in os.environ.items() if not name.startswith("ANTHROPIC_")}
    command = ["bash", str(RUN_SH), *args]
    # Its own process group: on a timeout, TERM reaches run.sh (whose trap stops code-server, the fake API
    # and the browser) and everything else it started.
    with subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                stdout, stderr = process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                stdout, stderr = process.communicate()
            raise AssertionError(f"run.sh {' '.join(args)} did not finish in {TIMEOUT_S:.0f} s:\n"
                                 f"{stdout[-8000:]}\n{stderr[-8000:]}") from None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def tail(result: subprocess.CompletedProcess[str], chars: int = 12_000) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout[-chars:]}\n--- stderr\n{result.stderr[-chars:]}"


def test_extension_scenarios_pass_in_code_server() -> None:
    result = run_e2e()
    assert result.returncode == 0, tail(result)
    summary = re.search(r"^e2e-vscode: (\d+) passed, (\d+) failed$", result.stdout, re.MULTILINE)
    assert summary is not None, tail(result)
    passed, failed = int(summary.group(1)), int(summary.group(2))
    assert failed == 0 and passed >= 5, tail(result)
    assert "not run" not in result.stdout, tail(result)
    shots = sorted((ROOT / "test-artifacts" / "e2e-vscode").glob("*.png"))
    assert any("ghost-text" in shot.name for shot in shots), [shot.name for shot in shots]


def test_wrong_server_path_fails_naming_the_command_and_a_screenshot() -> None:
    result = run_e2e("--broken-server-path")
    output = result.stdout + result.stderr
    assert result.returncode != 0, tail(result)
    # The user's own words for it: the extension's error notification, with the path that was set.
    assert re.search(r'the server command "[^"]*/not-installed/ai-coding-router" was not found', output), tail(result)
    assert "the language server did not start" in output, tail(result)
    screenshot = re.search(r"last screenshot: (\S+\.png)", output)
    assert screenshot is not None, tail(result)
    assert Path(screenshot.group(1)).is_file()
