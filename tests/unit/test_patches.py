"""SEARCH/REPLACE: parsing model replies (fences, CRLF, decoration, malformed blocks) and applying them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ai_coding_router.edits import (
    CreateFile,
    DocumentChange,
    FileUpdate,
    apply_text_edits,
    path_to_uri,
    plan_workspace_change,
)
from ai_coding_router.patches import (
    PatchBlock,
    PatchResult,
    apply_patch,
    disk_files,
    parse_and_apply,
    parse_patch,
    problem_findings,
)


def block(path: str, search: str, replace: str) -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


# --- parsing ------------------------------------------------------------------------------------------

def test_parse_plain_block() -> None:
    parsed = parse_patch(block("src/a.ts", "let a = 1;\n", "let a = 2;\n"))
    assert parsed.problems == ()
    assert parsed.blocks == (PatchBlock("src/a.ts", "let a = 1;\n", "let a = 2;\n", 2),)


@pytest.mark.parametrize(
    "reply",
    [
        "```ts\nsrc/a.ts\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n```\n",
        "src/a.ts\n```ts\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n```\n",
        "```ts src/a.ts\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n```\n",
        "```src/a.ts\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n```\n",
        "```typescript:src/a.ts\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n```\n",
        "**src/a.ts**\n\n```typescript\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n```\n",
        "`src/a.ts`:\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n",
        "### src/a.ts\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n",
        "File: src/a.ts\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n",
        "src/a.ts\r\n<<<<<<< SEARCH  \r\nx\r\n=======\t\r\ny\r\n>>>>>>> REPLACE \r\n",
        "Here is the change:\n\nsrc/a.ts\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n\nThat's all.\n",
    ],
)
def test_parse_tolerates_fences_decoration_crlf_and_prose(reply: str) -> None:
    parsed = parse_patch(reply)
    assert parsed.problems == ()
    assert [(b.path, b.search, b.replace) for b in parsed.blocks] == [("src/a.ts", "x\n", "y\n")]


def test_parse_paths_with_spaces_only_when_quoted() -> None:
    quoted = parse_patch("`docs/my notes.md`\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n")
    assert quoted.blocks[0].path == "docs/my notes.md"
    prose = parse_patch("Change the function:\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n")
    assert prose.blocks == () and prose.problems[0].kind == "missing-path"
    for line in ("Done.", "**Note:**", "`npm test`", "e.g."):
        sentence = parse_patch(f"{line}\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n")
        assert [p.kind for p in sentence.problems] == ["missing-path"], line
    assert parse_patch("`Makefile`\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n").blocks[0].path == "Makefile"


def test_parse_several_blocks_and_an_inferred_path() -> None:
    reply = (
        "First:\n" + block("src/a.ts", "a\n", "A\n")
        + "<<<<<<< SEARCH\nb\n=======\nB\n>>>>>>> REPLACE\n"  # same file, no path line
        + "\nThen the test:\n\n" + block("test/a.test.ts", "", "new\n")
    )
    parsed = parse_patch(reply)
    assert parsed.problems == ()
    assert [(b.path, b.path_inferred) for b in parsed.blocks] == [
        ("src/a.ts", False), ("src/a.ts", True), ("test/a.test.ts", False)]
    assert [b.line for b in parsed.blocks] == [3, 8, 17]  # the SEARCH marker lines
    assert parsed.blocks[2].search == ""


def test_parse_keeps_fences_and_markers_like_lines_inside_content() -> None:
    search = "```ts\nconst a = 1;\n```\n"
    replace = "```ts\nconst a = 2;\n```\n<<<<<<< HEAD\n"
    parsed = parse_patch(block("README.md", search, replace))
    assert parsed.blocks[0].search == search and parsed.blocks[0].replace == replace
    assert parse_patch(block("a.ts", "  trailing   \n", "x\n")).blocks[0].search == "  trailing   \n"


@pytest.mark.parametrize(
    ("reply", "kinds", "good_blocks"),
    [
        ("a.ts\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\n", ["missing-divider"], 0),
        ("a.ts\n<<<<<<< SEARCH\nx\n=======\ny\n", ["unterminated"], 0),  # reply cut mid-block
        ("a.ts\n<<<<<<< SEARCH\nx\n" + block("b.ts", "p\n", "q\n"), ["unterminated"], 1),
        ("a.ts\n<<<<<<< SEARCH\nx\n=======\ny\n" + block("b.ts", "p\n", "q\n"), ["unterminated"], 1),
        ("x\n=======\ny\n>>>>>>> REPLACE\n", ["stray-marker"], 0),
        ("I could not find the code you mean.\n", ["no-blocks"], 0),
        ("", ["no-blocks"], 0),
    ],
)
def test_parse_reports_malformed_blocks(reply: str, kinds: list[str], good_blocks: int) -> None:
    parsed = parse_patch(reply)
    assert [p.kind for p in parsed.problems] == kinds
    assert len(parsed.blocks) == good_blocks
    assert all(p.message for p in parsed.problems)


def test_partial_reply_applies_the_complete_blocks_but_is_not_ok(tmp_path: Path) -> None:
    reply = block("a.ts", "one\n", "ONE\n") + "a.ts\n<<<<<<< SEARCH\ntwo\n=======\nTW"
    result = parse_and_apply(reply, {"a.ts": "one\ntwo\n"}, [tmp_path])
    assert not result.ok
    assert [p.kind for p in result.problems] == ["unterminated"]
    assert result.new_texts == {"a.ts": "ONE\ntwo\n"}


# --- applying -----------------------------------------------------------------------------------------

SOURCE = "import { x } from './x';\n\nexport function f(a: number) {\n  return a + 1;\n}\n"


def apply(reply: str, files: dict[str, str], root: Path) -> PatchResult:
    return parse_and_apply(reply, files, [root])


def test_apply_exact_and_sequential_blocks(tmp_path: Path) -> None:
    reply = block("src/f.ts", "  return a + 1;\n", "  return a + 2;\n") + block(
        "src/f.ts", "  return a + 2;\n}\n", "  return a + 2;\n}\n\nexport const g = 1;\n")
    result = apply(reply, {"src/f.ts": SOURCE}, tmp_path)
    assert result.ok and result.applied == (0, 1) and result.notes == ()
    f = result.files["src/f.ts"]
    assert f.new_text == SOURCE.replace("a + 1", "a + 2") + "\nexport const g = 1;\n"
    assert f.old_text == SOURCE and not f.created and f.abs_path == tmp_path / "src" / "f.ts"


def test_apply_ambiguous_and_missing_search_are_problems_for_the_model(tmp_path: Path) -> None:
    text = "a\nx = 1\nb\nx = 1\n"
    result = apply(block("a.ts", "x = 1\n", "x = 2\n"), {"a.ts": text}, tmp_path)
    (problem,) = result.problems
    assert problem.kind == "ambiguous-match" and "lines 2, 4" in problem.message
    assert result.files == {}
    result = apply(block("src/f.ts", "export function f(a: string) {\n  return a + 1;\n", "x\n"),
                   {"src/f.ts": SOURCE}, tmp_path)
    (problem,) = result.problems
    assert problem.kind == "no-match" and problem.block == 0 and problem.line == 2
    assert "export function f(a: number) {" in problem.message  # the closest lines, as a hint
    assert "[block 1, reply line 2, src/f.ts]" in result.feedback()


def test_apply_whitespace_tolerant_fallbacks_say_so(tmp_path: Path) -> None:
    text = "function f() {\n    if (a) {   \n        go();\n    }\n}\n"
    trailing = apply(block("a.ts", "    if (a) {\n", "    if (b) {\n"), {"a.ts": text}, tmp_path)
    assert trailing.ok and "trailing whitespace" in trailing.notes[0]
    assert trailing.new_texts["a.ts"] == text.replace("if (a) {   ", "if (b) {")
    # The model dropped the indentation: matched, and the replacement is indented the same way.
    shallow = apply(block("a.ts", "if (a) {\n    go();\n}\n", "if (a) {\n    stop();\n}\n"),
                    {"a.ts": text}, tmp_path)
    assert shallow.ok and "indentation" in shallow.notes[0]
    assert shallow.new_texts["a.ts"] == "function f() {\n    if (a) {\n        stop();\n    }\n}\n"
    edges = apply(block("a.ts", "\n        go();\n\n", "\n        run();\n\n"), {"a.ts": text}, tmp_path)
    assert edges.ok and "blank lines" in edges.notes[0]
    assert edges.new_texts["a.ts"] == text.replace("go()", "run()")


def test_apply_fallback_that_is_ambiguous_is_refused(tmp_path: Path) -> None:
    text = "  x();\n\tx();\n"
    result = apply(block("a.ts", "x();\n", "y();\n"), {"a.ts": text}, tmp_path)
    assert [p.kind for p in result.problems] == ["ambiguous-match"]
    assert "indentation" in result.problems[0].message
    non_uniform = apply(block("a.ts", "x();\n  x();\n", "y();\n"), {"a.ts": "    x();\n  x();\n"}, tmp_path)
    assert [p.kind for p in non_uniform.problems] == ["no-match"]


def test_apply_preserves_crlf_bom_mixed_breaks_and_final_newline(tmp_path: Path) -> None:
    crlf = "\ufeffa\r\nb\r\nc\r\n"
    result = apply(block("a.ts", "b\n", "B\nB2\n"), {"a.ts": crlf}, tmp_path)
    assert result.new_texts["a.ts"] == "\ufeffa\r\nB\r\nB2\r\nc\r\n"
    no_final = "a\nb"
    assert apply(block("a.ts", "b\n", "B\nC\n"), {"a.ts": no_final}, tmp_path).new_texts["a.ts"] == "a\nB\nC"
    assert apply(block("a.ts", "b\n", ""), {"a.ts": no_final}, tmp_path).new_texts["a.ts"] == "a"
    assert apply(block("a.ts", "b\n", ""), {"a.ts": "a\nb\n"}, tmp_path).new_texts["a.ts"] == "a\n"
    mixed = "a\r\nb\nc\r\n"  # the untouched LF line keeps its LF, the kept context keeps its CRLF
    result = apply(block("a.ts", "a\nb\n", "a\nB\n"), {"a.ts": mixed}, tmp_path)
    assert result.new_texts["a.ts"] == "a\r\nB\r\nc\r\n"
    result = apply(block("a.ts", "c\n", "c\nd\n"), {"a.ts": mixed}, tmp_path)
    assert result.new_texts["a.ts"] == "a\r\nb\nc\r\nd\r\n"


def test_apply_creates_files_and_refuses_bad_creates(tmp_path: Path) -> None:
    (tmp_path / "on-disk.ts").write_text("exists\n")
    result = apply(block("src/new.ts", "", "export {};\n") + block("empty.ts", "", "filled\n")
                   + block("src/new.ts", "export {};\n", "export const n = 1;\n"),
                   {"empty.ts": ""}, tmp_path)
    assert result.ok
    assert result.files["src/new.ts"].created and result.files["src/new.ts"].new_text == "export const n = 1;\n"
    assert result.files["empty.ts"].new_text == "filled\n" and not result.files["empty.ts"].created
    kinds = [p.kind for p in apply(
        block("a.ts", "", "again\n") + block("on-disk.ts", "", "clobber\n")
        + block("missing.ts", "x\n", "y\n") + block("logo.png", "", "not an image\n")
        + block("on-disk.ts/inner.ts", "", "x\n"),
        {"a.ts": "content\n"}, tmp_path).problems]
    assert kinds == ["file-exists", "file-exists", "file-missing", "binary-file", "invalid-path"]


def test_apply_refuses_binary_targets(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "nul.ts": b"a\x00b\n", "latin1.ts": "caf\xe9\n".encode("latin-1"), "str.ts": "a\x00\n"}
    reply = "".join(block(k, "a\n", "b\n") for k in files)
    result = parse_and_apply(reply, files, [tmp_path])
    assert [p.kind for p in result.problems] == ["binary-file"] * 3
    ok = parse_and_apply(block("u.ts", "café\n", "tea\n"), {"u.ts": "café\n".encode()}, [tmp_path])
    assert ok.new_texts == {"u.ts": "tea\n"}


def test_apply_refuses_paths_outside_the_workspace(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (tmp_path / "outside").mkdir()
    (ws / "escape").symlink_to(tmp_path / "outside")
    bad = ["../outside/x.ts", "/etc/passwd", "C:\\Windows\\x.ts", "escape/x.ts", ".git/hooks/pre-commit",
           "node_modules/left-pad/index.js", "src/../../x.ts"]
    reply = "".join(block(p, "", "pwned\n") for p in bad) + block("src/ok.ts", "", "fine\n")
    result = parse_and_apply(reply, {}, [ws])
    assert [p.kind for p in result.problems] == [
        "invalid-path", "invalid-path", "invalid-path", "outside-workspace", "forbidden-path",
        "forbidden-path", "invalid-path"]
    assert all("refused" in p.message for p in result.problems)
    assert list(result.files) == ["src/ok.ts"]  # the good block still applies; ok is False
    assert not result.ok
    assert not any((tmp_path / "outside").iterdir())


def test_apply_loads_lazily_once_and_reports_unreadable(tmp_path: Path) -> None:
    calls: list[str] = []

    def load(key: str) -> str | None:
        calls.append(key)
        if key == "locked.ts":
            raise PermissionError("permission denied")
        return "a\nb\n" if key == "a.ts" else None

    reply = block("a.ts", "a\n", "A\n") + block("./a.ts", "b\n", "B\n") + block("locked.ts", "x\n", "y\n")
    result = parse_and_apply(reply, load, [tmp_path])
    assert calls == ["a.ts", "locked.ts"]
    assert result.new_texts == {"a.ts": "A\nB\n"}
    assert [p.kind for p in result.problems] == ["unreadable"]


def test_disk_files_reads_regular_files_with_an_overlay(tmp_path: Path) -> None:
    (tmp_path / "a.ts").write_text("disk\n")
    (tmp_path / "open.ts").write_text("saved\n")
    (tmp_path / "big.ts").write_text("x" * 100)
    os.mkfifo(tmp_path / "pipe.ts")  # reading it would block forever
    (tmp_path / "dir.ts").mkdir()
    load = disk_files([tmp_path], overlay={"open.ts": "unsaved\n"}, max_bytes=50)
    reply = (block("a.ts", "disk\n", "D\n") + block("open.ts", "unsaved\n", "U\n")
             + block("pipe.ts", "x\n", "y\n") + block("dir.ts", "x\n", "y\n") + block("big.ts", "x\n", "y\n"))
    result = parse_and_apply(reply, load, [tmp_path])
    assert result.new_texts == {"a.ts": "D\n", "open.ts": "U\n"}
    assert [p.kind for p in result.problems] == ["unreadable"] * 3
    assert "regular file" in result.problems[0].message and "larger" in result.problems[2].message


def test_patch_result_becomes_a_workspace_change(tmp_path: Path) -> None:
    old = SOURCE.replace("\n", "\r\n")
    reply = block("src/f.ts", "  return a + 1;\n", "  return a + 1; // 😀 done\n") + block("src/n.ts", "", "n\n")
    result = parse_and_apply(reply, {"src/f.ts": old}, [tmp_path])
    assert result.ok
    updates = [FileUpdate(path_to_uri(f.abs_path), f.old_text, f.new_text, version=None if f.created else 4)
               for f in result.files.values()]
    change = plan_workspace_change(updates, label="Fix").change
    edited, created, filled = change.changes
    assert isinstance(edited, DocumentChange) and edited.version == 4
    assert apply_text_edits(old, edited.edits) == result.files["src/f.ts"].new_text
    assert result.files["src/f.ts"].new_text.count("\r\n") == old.count("\r\n")  # still CRLF throughout
    assert created == CreateFile(path_to_uri(tmp_path / "src" / "n.ts"), "aiCodingRouter.result")
    assert isinstance(filled, DocumentChange) and apply_text_edits("", filled.edits) == "n\n"


def test_apply_patch_takes_blocks_directly(tmp_path: Path) -> None:
    result = apply_patch({"a.ts": "x\n"}, [PatchBlock("a.ts", "x\n", "y\n", 1), PatchBlock(None, "", "", 9)],
                         [tmp_path])
    assert result.new_texts == {"a.ts": "y\n"}
    assert [(p.kind, p.line) for p in result.problems] == [("missing-path", 9)]


def test_problems_become_syntax_findings(tmp_path: Path) -> None:
    result = parse_and_apply(block("a.ts", "missing\n", "x\n") + block("../x.ts", "", "y\n"), {"a.ts": "a\n"},
                             [tmp_path])
    findings = problem_findings(result.problems)
    assert [(f.path, f.code, f.kind, f.severity) for f in findings] == [
        ("a.ts", "patch:no-match", "syntax", "error"), ("../x.ts", "patch:invalid-path", "syntax", "error")]
    assert findings[0].message.startswith("[block 1, reply line 2, a.ts] SEARCH does not match")
