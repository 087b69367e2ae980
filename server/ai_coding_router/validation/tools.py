"""Finding node and the TypeScript tools, and running them safely.

Where tools come from, in order: the workspace's own ``node_modules`` (only when the workspace is
trusted: its packages are code we would execute), then the project's pinned ``toolchain/`` (installed
with ``npm ci --prefix toolchain``; ``AI_CODING_ROUTER_TOOLCHAIN`` points elsewhere).

Subprocesses get an argument list, a timeout, an allow-listed environment (no API keys or other
secrets) and their own process group, which is killed with everything in it on timeout, on asyncio
cancellation and after a normal exit (stray workers).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import ValidationToolError

Origin = Literal["workspace", "toolchain"]
TOOLCHAIN_ENV = "AI_CODING_ROUTER_TOOLCHAIN"
SETUP_HINT = "install the pinned tools with `npm ci --prefix toolchain`"

# Only these variables reach the tools: an allow-list cannot leak a secret it has never heard of.
_ENV_ALLOW = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP", "SYSTEMROOT",
     "COMSPEC", "PATHEXT", "WINDIR", "NODE_EXTRA_CA_CERTS", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"}
)
SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL", "AUTH")
_TOOL_ENV = {"CI": "1", "NO_COLOR": "1", "FORCE_COLOR": "0", "NODE_DISABLE_COLORS": "1"}


class ToolMissing(ValidationToolError):
    """Node or a tool is not installed; the message says what to do."""


@dataclass(frozen=True)
class Tool:
    name: str
    argv: tuple[str, ...]  # the command prefix; arguments follow
    version: str
    origin: Origin
    package_dir: Path

    def describe(self) -> str:
        return f"{self.name} {self.version} ({self.origin})"


@dataclass(frozen=True)
class ToolRun:
    returncode: int | None  # None when killed at the time limit
    stdout: str
    stderr: str
    duration_ms: float
    timed_out: bool = False

    def tail(self, limit: int = 600) -> str:
        text = (self.stderr.strip() or self.stdout.strip()).replace("\r", "")
        return text[-limit:] if len(text) > limit else text


def clean_env(extra: Mapping[str, str] | None = None, source: Mapping[str, str] | None = None) -> dict[str, str]:
    env = os.environ if source is None else source
    kept = {
        name: value
        for name, value in env.items()
        if (name in _ENV_ALLOW or name.startswith("LC_")) and not any(m in name.upper() for m in SECRET_MARKERS)
    }
    kept.update(_TOOL_ENV)
    if extra:
        kept.update(extra)
    return kept


def toolchain_dir() -> Path | None:
    """The pinned toolchain with its node_modules installed, or None."""
    configured = os.environ.get(TOOLCHAIN_ENV)
    candidate = Path(configured) if configured else Path(__file__).resolve().parents[3] / "toolchain"
    return candidate if (candidate / "node_modules").is_dir() else None


def find_node() -> str | None:
    return shutil.which("node")


def _package_version(package_dir: Path) -> str | None:
    try:
        data = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else None


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def _candidate_dirs(workspace: Path, names: Sequence[str], trusted: bool) -> list[tuple[Path, Origin]]:
    found: list[tuple[Path, Origin]] = []
    if trusted:
        found += [(workspace / "node_modules" / name, "workspace") for name in names[:1]]
    toolchain = toolchain_dir()
    if toolchain is not None:
        found += [(toolchain / "node_modules" / name, "toolchain") for name in names]
    return found


def _node_or_raise(tool: str) -> str:
    node = find_node()
    if node is None:
        raise ToolMissing(f"node is not on PATH, so {tool} cannot run; install Node.js 20.19+ and {SETUP_HINT}")
    return node


def _native_tsc(package_dir: Path) -> Path | None:
    """TypeScript 7's native compiler, found the way its own ``getExePath`` finds it (no node needed)."""
    system = {"win32": "win32", "darwin": "darwin"}.get(sys.platform, sys.platform)
    machine = platform.machine().lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    exe = "tsc.exe" if system == "win32" else "tsc"
    real = package_dir.resolve()
    for parent in real.parents:
        probe = parent / "@typescript" / f"typescript-{system}-{arch}" / "lib" / exe
        if parent.name == "node_modules" and probe.is_file():
            return probe
        probe = parent / "node_modules" / "@typescript" / f"typescript-{system}-{arch}" / "lib" / exe
        if probe.is_file():
            return probe
    return None


def find_typescript(workspace: Path, *, trusted: bool) -> Tool:
    """The workspace's TypeScript when trusted, else the toolchain's TypeScript 7 (package ``typescript7``)."""
    for package_dir, origin in _candidate_dirs(workspace, ("typescript", "typescript7"), trusted):
        version = _package_version(package_dir)
        if version is None or (origin == "toolchain" and _major(version) < 7):
            continue
        if _major(version) >= 7:
            native = _native_tsc(package_dir)
            if native is not None:
                return Tool("tsc", (str(native),), version, origin, package_dir)
        script = package_dir / "bin" / "tsc"
        if script.is_file():
            return Tool("tsc", (_node_or_raise("tsc"), str(script)), version, origin, package_dir)
    raise ToolMissing(f"TypeScript is not installed: {SETUP_HINT}")


def find_eslint(workspace: Path, *, trusted: bool, allow_workspace: bool = True) -> Tool:
    """eslint >= 9 (flat config): the workspace's when trusted and allowed, else the toolchain's."""
    for package_dir, origin in _candidate_dirs(workspace, ("eslint",), trusted and allow_workspace):
        version = _package_version(package_dir)
        script = package_dir / "bin" / "eslint.js"
        if version is not None and _major(version) >= 9 and script.is_file():
            return Tool("eslint", (_node_or_raise("eslint"), str(script)), version, origin, package_dir)
    raise ToolMissing(f"eslint is not installed: {SETUP_HINT}")


def find_vitest(workspace: Path, *, trusted: bool) -> Tool:
    for package_dir, origin in _candidate_dirs(workspace, ("vitest",), trusted):
        version = _package_version(package_dir)
        script = package_dir / "vitest.mjs"
        if version is not None and script.is_file():
            return Tool("vitest", (_node_or_raise("vitest"), str(script)), version, origin, package_dir)
    raise ToolMissing(f"vitest is not installed: {SETUP_HINT}")


def _kill_group(pid: int) -> None:
    # The child leads its own session, so its pid is the process-group id of it and all its children.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def run_tool(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
) -> ToolRun:
    """Run ``argv`` in ``cwd``; never a shell. Cancelling the caller kills the whole process group."""
    started = time.perf_counter()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=clean_env(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as error:
        raise ToolMissing(f"cannot start {argv[0]}: {error}") from error
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        _kill_group(proc.pid)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 5.0)
        return ToolRun(None, "", "", (time.perf_counter() - started) * 1000, timed_out=True)
    except asyncio.CancelledError:
        # Reaped before the cancellation goes on: a process left to the garbage collector after its event
        # loop closed (asyncio.run cancelling a check at exit) fails with "Event loop is closed".
        _kill_group(proc.pid)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 5.0)
        raise
    finally:
        # Normal exit: reap stray workers. Cancellation or timeout: kill everything now.
        _kill_group(proc.pid)
    return ToolRun(
        proc.returncode,
        stdout.decode("utf-8", errors="replace"),
        stderr.decode("utf-8", errors="replace"),
        (time.perf_counter() - started) * 1000,
    )
