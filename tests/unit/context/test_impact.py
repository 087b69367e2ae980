"""impact(): the facts the routing classifier reads."""

from __future__ import annotations

from pathlib import Path

from ai_coding_router.context.impact import impact
from ai_coding_router.context.index import WorkspaceIndex

from .conftest import plant_secrets


def test_symbols_and_references_through_barrels(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    facts = impact(snap, "src/lib/math.ts", 4, 7)  # function add
    assert facts.symbols == ("add",) and facts.exported_symbols == ("add",)
    # main.ts imports add directly; broken.ts too. The barrel src/lib/index.ts is followed, not counted.
    assert facts.direct_references == 2
    assert facts.transitive_references >= facts.direct_references + 1  # src/app/index.ts re-exports main
    assert facts.referencing_modules == 1
    assert not facts.security_surface and not facts.is_test and facts.lines == 4


def test_members_count_for_their_class(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    facts = impact(snap, "src/lib/math.ts", 25, 26)  # Calculator.push
    assert "Calculator.push" in facts.symbols
    assert facts.direct_references == 1  # main.ts, through the barrel's export *


def test_unused_private_code_has_no_references(index: WorkspaceIndex) -> None:
    snap = index.snapshot()
    facts = impact(snap, "src/lib/unrelated.ts", 0, 2)
    assert facts.symbols == ("unrelatedHelper",) and facts.direct_references == 0


def test_security_surface(workspace: Path) -> None:
    plant_secrets(workspace)
    (workspace / "src" / "auth").mkdir()
    (workspace / "src" / "auth" / "session.ts").write_text(
        'import { createHmac } from "node:crypto";\n'
        'import { exec } from "child_process";\n'
        "export function sign(value: string): string {\n"
        '  return createHmac("sha256", "k").update(value).digest("hex");\n'
        "}\n"
        "export function run(cmd: string): void {\n"
        "  exec(cmd);\n"
        "}\n"
    )
    snap = WorkspaceIndex.open(workspace).snapshot()
    facts = impact(snap, "src/auth/session.ts", 5, 7)
    assert facts.security_surface
    assert "path: auth" in facts.security_reasons
    assert "imports node:crypto" in facts.security_reasons and "process execution" in facts.security_reasons
    plain = impact(snap, "src/lib/shapes.ts", 3, 5)
    assert not plain.security_surface and plain.security_reasons == ()
