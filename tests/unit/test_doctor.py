"""`doctor`'s node check runs node with the tools' environment: the version still comes back, no key goes in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ai_coding_router.commands import doctor_cmd


def test_node_is_asked_its_version_without_the_api_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: scripts/setup-and-run.sh installs it; the test needs it")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-doctor-0123456789")
    seen: list[dict[str, str] | None] = []
    real_run = doctor_cmd.subprocess.run

    def recording_run(*args: object, **kwargs: object) -> object:
        seen.append(kwargs.get("env"))  # type: ignore[arg-type]
        return real_run(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(doctor_cmd.subprocess, "run", recording_run)
    checks = doctor_cmd.check_node_tools(tmp_path)
    assert checks[0].name == "node" and checks[0].ok and checks[0].detail.startswith("v"), checks[0]
    assert seen and seen[0] is not None and "ANTHROPIC_API_KEY" not in seen[0] and "PATH" in seen[0]
