"""Fixtures for the pipeline tests: a tmp copy of the fixture workspace, a real Anthropic client pointed at
the loopback fake, and recorders for the ledger callbacks."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ai_coding_router.config import Config
from ai_coding_router.ledger.records import CallRecord
from ai_coding_router.models.anthropic_client import AnthropicModelClient
from ai_coding_router.pipeline import EngineContext, PipelineDeps
from ai_coding_router.validation.runner import ValidationSession
from tests.fake_anthropic import FakeAnthropic

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "workspace"
FAST = "claude-sonnet-4-6"
DEEP = "claude-opus-4-7"

# More of user.ts, so the first request carries a realistic amount of context (the fixture's file is
# 17 lines; a focused escalation payload only pays off against real files).
USER_EXTRA = '''
export function displayName(user: User): string {
  const trimmed = user.name.trim();
  return trimmed.length > 0 ? trimmed : `user ${user.id}`;
}

export function isAdult(user: User): boolean {
  return user.age >= 18;
}

export function sortByAge(users: readonly User[]): User[] {
  return [...users].sort((a, b) => a.age - b.age || a.name.localeCompare(b.name));
}

export function findUser(users: readonly User[], id: string): User | undefined {
  return users.find((user) => user.id === id);
}

export function averageAge(users: readonly User[]): number {
  if (users.length === 0) {
    return 0;
  }
  let total = 0;
  for (const user of users) {
    total += user.age;
  }
  return total / users.length;
}

export function renameUser(user: User, name: string): User {
  return { ...user, name: name.trim() };
}
'''


def block(path: str, search: str, replace: str) -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


@pytest.fixture
def workspace(tmp_path: Path, toolchain: Path) -> Path:
    """A copy of tests/fixtures/workspace that declares vitest (so trusted runs execute its tests)."""
    target = tmp_path / "ws"
    shutil.copytree(FIXTURE, target)
    package = json.loads((target / "package.json").read_text())
    package["devDependencies"] = {"vitest": "^4.1.0"}
    (target / "package.json").write_text(json.dumps(package, indent=2) + "\n")
    return target


@pytest.fixture
def rich_workspace(workspace: Path) -> Path:
    user = workspace / "src" / "user.ts"
    user.write_text(user.read_text() + USER_EXTRA)
    return workspace


@pytest.fixture
async def client(fake_api: FakeAnthropic) -> AsyncIterator[AnthropicModelClient]:
    model_client = AnthropicModelClient(api_key="test-key", base_url=fake_api.base_url, timeout_s=30)
    yield model_client
    await model_client.aclose()


@dataclass
class Recorder:
    calls: list[CallRecord] = field(default_factory=list)
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)

    async def record(self, call: CallRecord) -> None:
        self.calls.append(call)

    def outcome(self, task_id: str, outcome: str, kind: str) -> None:
        self.outcomes.append((task_id, outcome, kind))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def config(**sections: Any) -> Config:
    return Config.model_validate(sections)


@pytest.fixture
def make_deps(client: AnthropicModelClient, recorder: Recorder):  # type: ignore[no-untyped-def]
    session = ValidationSession()

    def make(cfg: Config | None = None, **kw: Any) -> PipelineDeps:
        cfg = cfg or Config()
        return PipelineDeps(client=client, config=cfg, context=EngineContext(cfg.context, use_cache=False),
                            session=session, record_call=recorder.record, record_outcome=recorder.outcome, **kw)

    return make
