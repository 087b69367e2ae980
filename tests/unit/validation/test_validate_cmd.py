"""`ai-coding-router validate` on the fixture project: files as they are, and a SEARCH/REPLACE patch."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from ai_coding_router.commands import validate_cmd


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    validate_cmd.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["validate", *argv])


def test_files_are_judged_as_they_are(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = validate_cmd.run(parse(["--checks", "syntax,tsc,eslint", str(workspace / "src/legacy.ts")]))
    out = capsys.readouterr().out
    assert code == 1
    assert "src/legacy.ts:2:5: error TS2322: Type 'string' is not assignable to type 'number'. [tsc]" in out
    assert "src/legacy.ts:2:1: error no-var:" in out
    assert out.rstrip().splitlines()[-1].startswith("fail-syntax: 1 type error(s), 1 lint error(s)")


def test_clean_files_without_trust_are_incomplete(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = validate_cmd.run(parse(["--json", str(workspace / "src/math.ts")]))
    report = json.loads(capsys.readouterr().out)
    assert code == 3
    assert report["status"] == "incomplete"
    assert report["root"] == str(workspace)  # found from the file: the folder with tsconfig.json
    states = {o["check"]: o["state"] for o in report["outcomes"]}
    assert states == {"syntax": "passed", "typescript_compile": "passed", "eslint_strict": "passed",
                      "vitest_run": "skipped"}


PATCH = """Here is the change.

src/math.ts
```ts
<<<<<<< SEARCH
  return a + b;
=======
  return a + b + 1;
>>>>>>> REPLACE
```
"""


def test_a_trusted_patch_runs_the_related_tests(workspace: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    reply = tmp_path / "reply.md"
    reply.write_text(PATCH)
    code = validate_cmd.run(parse(["--json", "--trusted", "--root", str(workspace), "--patch", str(reply)]))
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["status"] == "fail-logic"
    found = [(f["kind"], f["path"], f["code"]) for f in report["findings"]]
    assert found == [("test", "src/math.test.ts", "math adds")]
    assert "return a + b;" in (workspace / "src/math.ts").read_text()  # the patch was not applied to the file


def test_a_patch_that_does_not_apply_is_reported(workspace: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    reply = tmp_path / "reply.md"
    reply.write_text(PATCH.replace("return a + b;\n=", "return a + c;\n="))
    code = validate_cmd.run(parse(["--root", str(workspace), "--patch", str(reply)]))
    assert code == 1
    assert "the patch does not apply" in capsys.readouterr().err


def test_usage_errors(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate_cmd.run(parse([])) == 2
    assert validate_cmd.run(parse(["--checks", "pylint", str(workspace / "src/math.ts")])) == 2
    assert "unknown check(s): pylint" in capsys.readouterr().err
    assert validate_cmd.run(parse(["--root", str(workspace / "src"), str(workspace / "package.json")])) == 2
