"""The feature_branch tag: real git, detached HEAD, no repository, and the cache."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ai_coding_router.ledger.git import BranchCache, _git_env, current_branch


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                   check=True, capture_output=True)


def test_branch_of_a_repository_detached_head_and_no_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "feature/cost-ledger")
    assert current_branch(repo) == "feature/cost-ledger"  # an unborn branch still has a name
    (repo / "a.txt").write_text("a")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-q", "-m", "a")
    git(repo, "checkout", "-q", "--detach")
    assert current_branch(repo) is None
    outside = tmp_path / "plain"
    outside.mkdir()
    assert current_branch(outside, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)}) is None
    assert current_branch(tmp_path / "does-not-exist") is None


def test_git_runs_without_the_api_key() -> None:
    env = _git_env({"ANTHROPIC_API_KEY": "sk-ant-x", "PATH": "/usr/bin"})
    assert "ANTHROPIC_API_KEY" not in env and env["PATH"] == "/usr/bin" and env["GIT_OPTIONAL_LOCKS"] == "0"


def test_the_cache_asks_git_again_only_after_its_ttl(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    clock = [100.0]
    cache = BranchCache(repo, ttl_s=30.0, clock=lambda: clock[0])
    assert cache.get() == "main"
    git(repo, "checkout", "-q", "-b", "topic")
    clock[0] += 29.0
    assert (cache.get(), cache.lookups) == ("main", 1)  # still cached
    clock[0] += 1.0
    assert (cache.get(), cache.lookups) == ("topic", 2)
    assert BranchCache(None).get() is None
