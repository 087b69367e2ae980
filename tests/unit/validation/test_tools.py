"""Tool discovery and the subprocess runner: environment, time limit, cancellation, process groups."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ai_coding_router.validation.tools import (
    ToolMissing,
    clean_env,
    find_eslint,
    find_typescript,
    find_vitest,
    run_tool,
)

# Spawns a grandchild that would sleep for a minute, writes its pid, then blocks: the group kill must reach it.
SPAWNER = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state  # a zombie is dead; its parent just has not reaped it


def _pid_in(path: Path) -> int | None:
    text = path.read_text() if path.exists() else ""
    return int(text) if text else None


async def _wait_for_file(path: Path) -> int:
    for _ in range(200):
        pid = _pid_in(path)
        if pid is not None:
            return pid
        await asyncio.sleep(0.05)
    raise AssertionError("the child never wrote its pid")


def test_clean_env_drops_keys_and_secrets() -> None:
    source = {
        "PATH": "/usr/bin", "HOME": "/home/u", "LC_ALL": "C",
        "ANTHROPIC_API_KEY": "sk-ant-secret", "OPENAI_API_KEY": "x", "GITHUB_TOKEN": "ghp",
        "AWS_SECRET_ACCESS_KEY": "a", "DATABASE_PASSWORD": "p", "NODE_OPTIONS": "--require /tmp/evil.js",
        "RANDOM_SETTING": "1",
    }
    env = clean_env(source=source)
    assert env["PATH"] == "/usr/bin" and env["HOME"] == "/home/u" and env["LC_ALL"] == "C"
    assert env["CI"] == "1" and env["NO_COLOR"] == "1"
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "DATABASE_PASSWORD",
                 "NODE_OPTIONS", "RANDOM_SETTING"):
        assert name not in env


async def test_the_child_process_does_not_see_the_api_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-do-not-leak")
    monkeypatch.setenv("MY_SERVICE_API_KEY", "also-secret")
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    run = await run_tool([sys.executable, "-c", code], cwd=tmp_path, timeout_s=30)
    seen = json.loads(run.stdout)
    assert run.returncode == 0
    assert "ANTHROPIC_API_KEY" not in seen and "MY_SERVICE_API_KEY" not in seen
    assert "sk-ant-do-not-leak" not in run.stdout


async def test_time_limit_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    run = await run_tool([sys.executable, "-c", SPAWNER, str(pid_file)], cwd=tmp_path, timeout_s=1.5)
    assert run.timed_out and run.returncode is None
    grandchild = _pid_in(pid_file)
    assert grandchild is not None
    for _ in range(40):  # SIGKILL is immediate, reaping by init may take a moment
        if not _alive(grandchild):
            break
        await asyncio.sleep(0.05)
    assert not _alive(grandchild)


async def test_cancelling_the_caller_kills_the_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    task = asyncio.create_task(run_tool([sys.executable, "-c", SPAWNER, str(pid_file)], cwd=tmp_path, timeout_s=60))
    grandchild = await _wait_for_file(pid_file)
    assert _alive(grandchild)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(40):
        if not _alive(grandchild):
            break
        await asyncio.sleep(0.05)
    assert not _alive(grandchild)


# A check still running when the CLI's asyncio.run ends: cancelled at shutdown, it must be reaped before the
# loop closes, or its transports are closed later by the garbage collector and raise "Event loop is closed".
LEFT_RUNNING_AT_EXIT = """
import asyncio, sys
from pathlib import Path
from ai_coding_router.validation.tools import run_tool

async def main():
    asyncio.create_task(run_tool([sys.executable, "-c", "import time; time.sleep(60)"], cwd=Path("."),
                                 timeout_s=60))
    await asyncio.sleep(0.5)

asyncio.run(main())
print("exited")
"""


def test_a_tool_cancelled_as_the_event_loop_shuts_down_is_reaped_first(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-X", "dev", "-c", LEFT_RUNNING_AT_EXIT], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "exited"
    assert "Event loop is closed" not in result.stderr, result.stderr


async def test_a_missing_executable_is_tool_missing(tmp_path: Path) -> None:
    with pytest.raises(ToolMissing):
        await run_tool([str(tmp_path / "no-such-tool")], cwd=tmp_path, timeout_s=5)


async def test_output_and_exit_code_are_returned(tmp_path: Path) -> None:
    run = await run_tool([sys.executable, "-c", "import sys; print('out'); sys.exit(3)"], cwd=tmp_path, timeout_s=30)
    assert (run.returncode, run.stdout.strip(), run.timed_out) == (3, "out", False)
    assert run.duration_ms > 0


def _fake_package(root: Path, name: str, version: str, files: dict[str, str]) -> Path:
    package = root / "node_modules" / name
    package.mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": name, "version": version}))
    for rel, text in files.items():
        (package / rel).parent.mkdir(parents=True, exist_ok=True)
        (package / rel).write_text(text)
    return package


def test_workspace_tools_win_only_when_trusted(tmp_path: Path, toolchain: Path) -> None:
    _fake_package(tmp_path, "typescript", "5.9.3", {"bin/tsc": "// tsc"})
    _fake_package(tmp_path, "eslint", "9.30.0", {"bin/eslint.js": "// eslint"})
    _fake_package(tmp_path, "vitest", "3.2.0", {"vitest.mjs": "// vitest"})

    tsc = find_typescript(tmp_path, trusted=True)
    script = str(tmp_path / "node_modules/typescript/bin/tsc")
    assert (tsc.origin, tsc.version, tsc.argv[-1]) == ("workspace", "5.9.3", script)
    assert find_eslint(tmp_path, trusted=True).origin == "workspace"
    assert find_vitest(tmp_path, trusted=True).origin == "workspace"

    untrusted = find_typescript(tmp_path, trusted=False)
    assert untrusted.origin == "toolchain" and untrusted.version.startswith("7.")
    assert len(untrusted.argv) == 1 and untrusted.argv[0].endswith("/lib/tsc")  # the native binary, no node
    assert find_eslint(tmp_path, trusted=False).origin == "toolchain"


def test_an_old_workspace_eslint_falls_back_to_the_toolchain(tmp_path: Path, toolchain: Path) -> None:
    _fake_package(tmp_path, "eslint", "8.57.0", {"bin/eslint.js": "// eslint 8"})
    assert find_eslint(tmp_path, trusted=True).origin == "toolchain"


def test_missing_node_is_a_clear_error(tmp_path: Path, toolchain: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ToolMissing, match="node is not on PATH"):
        find_eslint(tmp_path, trusted=False)
    with pytest.raises(ToolMissing, match="node is not on PATH"):
        find_vitest(tmp_path, trusted=False)
    assert find_typescript(tmp_path, trusted=False).argv[0].endswith("/lib/tsc")  # needs no node


def test_missing_toolchain_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_CODING_ROUTER_TOOLCHAIN", str(tmp_path / "nowhere"))
    for find in (find_typescript, find_eslint, find_vitest):
        with pytest.raises(ToolMissing, match="npm ci --prefix toolchain"):
            find(tmp_path, trusted=False)


def test_native_tsc_is_executable(toolchain: Path) -> None:
    tsc = find_typescript(toolchain, trusted=False)
    assert os.access(tsc.argv[0], os.X_OK)
