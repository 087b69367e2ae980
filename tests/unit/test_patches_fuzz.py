"""Property tests of patches.py: any reply parses without raising, no model-written path escapes the
workspace (symlinks included), and a unique SEARCH splices exactly, keeping line breaks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai_coding_router.patches import PatchBlock, apply_patch, parse_and_apply, parse_patch

MARKERS = ["<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE", "```", "```ts", "src/a.ts", "**b.ts**", "", "x"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(MARKERS), st.text(max_size=12)), max_size=30),
       st.sampled_from(["\n", "\r\n", "\r"]))
def test_parse_never_raises_and_blocks_are_well_formed(parts: list[str], eol: str) -> None:
    parsed = parse_patch(eol.join(parts))
    for b in parsed.blocks:
        assert b.path and b.line >= 1
        assert b.search == "" or b.search.endswith("\n")
        assert "\r" not in b.search + b.replace
    assert parsed.blocks or parsed.problems


COMPONENTS = ["a", "src", "..", ".", "", "~", "C:", "c:", ".git", "node_modules", "NODE_MODULES", "out",
              "inner", "%2e%2e", "a b", "é", "\x00", "con", "x.ts"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("fuzz")
    root = base / "ws"
    (root / "src").mkdir(parents=True)
    (base / "outside").mkdir()
    (root / "out").symlink_to(base / "outside")
    (root / "inner").symlink_to(root / "src")
    (root / ".git").mkdir()
    return root


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.sampled_from(COMPONENTS), min_size=1, max_size=5),
       sep=st.sampled_from(["/", "\\"]), lead=st.sampled_from(["", "/", "\\\\", "./", "~/"]))
def test_no_model_path_escapes_the_workspace(workspace: Path, parts: list[str], sep: str, lead: str) -> None:
    path = lead + sep.join(parts)
    result = apply_patch({}, [PatchBlock(path, "", "data\n", 1)], [workspace])
    root_real = os.path.realpath(workspace)
    for f in result.files.values():
        real = os.path.realpath(f.abs_path)
        assert real.startswith(root_real + os.sep), (path, real)
        rel_parts = {p.lower() for p in Path(os.path.relpath(real, root_real)).parts}
        assert not rel_parts & {".git", "node_modules"}, path
    assert len(result.files) + len(result.problems) == 1


@settings(max_examples=300, deadline=None)
@given(data=st.data(), n=st.integers(1, 12), eol=st.sampled_from(["\n", "\r\n"]), final=st.booleans(),
       bom=st.booleans())
def test_unique_search_splices_exactly(data: st.DataObject, n: int, eol: str, final: bool, bom: bool) -> None:
    lines = [f"line {i} 😀" for i in range(n)]
    text = ("\ufeff" if bom else "") + eol.join(lines) + (eol if final else "")
    i = data.draw(st.integers(0, n - 1))
    j = data.draw(st.integers(i + 1, n))
    new = data.draw(st.lists(st.text("abc 🎉\t", max_size=5), max_size=4))
    reply = ("f.ts\n<<<<<<< SEARCH\n" + "".join(x + "\n" for x in lines[i:j]) + "=======\n"
             + "".join(x + "\n" for x in new) + ">>>>>>> REPLACE\n")
    result = parse_and_apply(reply, {"f.ts": text}, ["/nonexistent-root"])
    assert result.ok, result.feedback()
    spliced = lines[:i] + new + lines[j:]
    if n == 1 and not final:
        eol = "\n"  # a file without any line break does not tell its style: new lines get "\n"
    expected = ("\ufeff" if bom else "") + eol.join(spliced) + (eol if final and spliced else "")
    got = result.files["f.ts"].new_text if "f.ts" in result.files else text
    assert got == expected
