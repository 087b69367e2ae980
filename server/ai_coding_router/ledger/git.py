"""The current git branch, for the ``feature_branch`` tag: one short subprocess, cached for a while.

Runs in the ledger's writer thread, never on the event loop.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

_TIMEOUT_S = 2.0


def _git_env(env: Mapping[str, str]) -> dict[str, str]:
    clean = {k: v for k, v in env.items() if k != "ANTHROPIC_API_KEY"}
    clean["GIT_OPTIONAL_LOCKS"] = "0"  # a read must not take the index lock from the user's git
    clean["GIT_TERMINAL_PROMPT"] = "0"
    return clean


def current_branch(workspace: Path, env: Mapping[str, str] | None = None) -> str | None:
    """The checked-out branch's short name; None outside a repository, on a detached HEAD, or on error."""
    try:
        done = subprocess.run(
            ["git", "-C", str(workspace), "symbolic-ref", "--quiet", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            env=_git_env(env if env is not None else os.environ),
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    branch = done.stdout.strip()
    return branch if done.returncode == 0 and branch else None


class BranchCache:
    """``current_branch`` remembered for ``ttl_s`` seconds (branches change rarely; calls are frequent)."""

    def __init__(
        self,
        workspace: Path | None,
        ttl_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        lookup: Callable[[Path], str | None] = current_branch,
    ) -> None:
        self._workspace = workspace
        self._ttl_s = ttl_s
        self._clock = clock
        self._lookup = lookup
        self._lock = threading.Lock()
        self._value: str | None = None
        self._expires = float("-inf")
        self.lookups = 0

    def get(self) -> str | None:
        if self._workspace is None:
            return None
        with self._lock:
            now = self._clock()
            if now >= self._expires:
                self._value = self._lookup(self._workspace)
                self._expires = now + self._ttl_s
                self.lookups += 1
            return self._value
