"""Print a text capture of what a Neovim user sees, from real headless runs (for docs/editors.md).

    .venv/bin/python -m tests.e2e.neovim.capture [inline] [code_action] [command]

Runs the same scenarios as test_neovim.py against the real server and the fake Messages API, with the
Neovim on PATH, and prints the buffer before and after (as a unified diff) and every message the setup
showed.
"""

from __future__ import annotations

import difflib
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.fake_anthropic import FakeAnthropic, Reply

from ..harness import copy_workspace
from .runner import NeovimRunError, neovim_on_path, run_driver
from .test_neovim import COMPLETION, REFACTOR_PATCH, _line_of, _refactor_params


def _capture(scenario: str, root: Path) -> dict[str, Any]:
    workspace = copy_workspace(root / "ws")
    path = workspace / "src" / "user.ts"
    with FakeAnthropic() as fake:
        if scenario == "inline":
            path.write_text(path.read_text() + "\nexport function farewell(user: User): string {\n  \n}\n")
            fake.set_default(Reply(text=COMPLETION))
            params: dict[str, Any] = {"position": [_line_of(path.read_text(), "export function farewell") + 1, 2]}
        else:
            fake.set_default(Reply(text=REFACTOR_PATCH))
            params = _refactor_params(path)
        return run_driver(neovim_on_path(), home=root / "home", base_url=fake.base_url, scenario=scenario,
                          file=path, params=params)


def render(scenario: str, result: dict[str, Any]) -> str:
    diff = difflib.unified_diff(result["before"].splitlines(), result["after"].splitlines(), "src/user.ts (before)",
                                "src/user.ts (after)", n=1, lineterm="")
    messages = list(result.get("messages") or [])
    for command, key in ((":AiJobs", "jobs_listing"), (":AiCost", "cost")):
        if result.get(key) and result[key] in messages:  # mark where the user typed the command
            messages.insert(messages.index(result[key]), command)
    shown = "\n".join(messages) or "(no messages)"
    status = result.get("statusline") or "(empty)"
    return (f"Neovim {result['nvim']}, scenario `{scenario}`\n\n```diff\n" + "\n".join(diff) + "\n```\n\n"
            f"Messages:\n\n```text\n{shown}\n```\n\nStatus line: `{status}`\n")


def main(argv: list[str]) -> int:
    scenarios = argv or ["inline", "code_action"]
    status = 0
    for scenario in scenarios:
        with tempfile.TemporaryDirectory() as root:
            try:
                print(render(scenario, _capture(scenario, Path(root))))
            except NeovimRunError as error:
                print(f"scenario {scenario} failed:\n{error}", file=sys.stderr)
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
