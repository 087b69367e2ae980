"""`ai-coding-router context …` through its run() entry point, in the workspace as the current directory."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from ai_coding_router.commands import context_cmd
from ai_coding_router.context.index import CACHE_DIR

from .conftest import SECRET_VALUES, plant_secrets


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    context_cmd.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["context", *argv])


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = context_cmd.run(parse(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_output_has_exactly_the_documented_shape(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(workspace)
    code, out, err = run(
        ["src/app/main.ts", "--line", "25", "--character", "2", "--budget-tokens", "1024", "--json"], capsys
    )
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"snippets", "tokens"}
    assert isinstance(data["tokens"], int) and 0 < data["tokens"] <= 1024
    for snippet in data["snippets"]:
        assert set(snippet) == {"path", "start_line", "end_line", "text"}
        assert isinstance(snippet["start_line"], int) and snippet["start_line"] <= snippet["end_line"]
        assert not Path(snippet["path"]).is_absolute()
    assert data["snippets"][0]["path"] == "src/app/main.ts"
    assert data["snippets"][0]["start_line"] <= 25 <= data["snippets"][0]["end_line"]
    assert (workspace / CACHE_DIR / "symbols-v1.json").is_file()  # built on the spot, cached


def test_plain_output_and_config_defaults(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (workspace / "ai-coding-router.config.yaml").write_text("context:\n  interactive_budget_tokens: 300\n")
    monkeypatch.chdir(workspace)
    code, out, _ = run(["src/app/main.ts", "--line", "18"], capsys)
    assert code == 0
    assert out.startswith("// src/app/main.ts\n")
    tokens = int(out.rstrip().rsplit("// ", 1)[1].split(" of ")[0])
    assert tokens <= 300 and out.rstrip().endswith("of 300 tokens")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["../outside.ts", "--line", "0"], "outside the workspace"),
        (["src/app/main.ts", "--line", "9999"], "past the end"),
        (["src/missing.ts", "--line", "0"], "cannot read"),
        (["src/app/main.ts", "--line", "0", "--budget-tokens", "-5"], "budget"),
    ],
)
def test_bad_input_is_a_clear_error(
    workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(workspace)
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_binary_and_20_mb_files(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (workspace / "src" / "blob.ts").write_bytes(b"\x00\x01binary" * 100)
    with open(workspace / "src" / "huge.ts", "wb") as handle:
        handle.write(b"export const a = 1;\n" * (20 * 1024 * 1024 // 20))
    monkeypatch.chdir(workspace)
    code, _, err = run(["src/blob.ts", "--line", "0", "--json"], capsys)
    assert code == 2 and "binary" in err
    code, _, err = run(["src/huge.ts", "--line", "0", "--json"], capsys)
    assert code == 2 and "too large" in err
    # The rest of the workspace still works with those files present.
    code, out, _ = run(["src/app/main.ts", "--line", "18", "--json"], capsys)
    assert code == 0 and json.loads(out)["snippets"]


def test_secrets_never_in_cli_output(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plant_secrets(workspace)
    monkeypatch.chdir(workspace)
    code, out, _ = run(["src/app/uses_config.ts", "--line", "4", "--budget-tokens", "4096", "--json"], capsys)
    assert code == 0
    assert "awsAccessKeyId" in out
    for value in SECRET_VALUES:
        assert value not in out
    code, out, err = run([".env", "--line", "0", "--json"], capsys)
    assert code == 2 and "secret" in err and out == ""
