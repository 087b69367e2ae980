"""Edits computed from unsaved editor text are judged against that text, not the file on disk."""

from __future__ import annotations

from pathlib import Path

from ai_coding_router.config import ValidationConfig
from ai_coding_router.validation.base import Candidate
from ai_coding_router.validation.runner import ValidationSession, validate

UNSAVED_TYPO = '\nexport const unsavedTypo: number = "not a number";\n'


async def test_errors_in_unsaved_typing_are_not_blamed_on_the_edit(workspace: Path, session: ValidationSession) -> None:
    rel = next(p for p in ("src/math.ts", "src/util.ts") if (workspace / p).exists())
    on_disk = (workspace / rel).read_text()
    editor_text = on_disk + UNSAVED_TYPO  # the user typed this, unsaved, with a type error
    edited = editor_text + "\nexport const added = 1;\n"  # the model's edit, computed from the editor text
    config = ValidationConfig(checks=["typescript_compile"])

    blamed = await validate(Candidate(workspace, {rel: edited}), ["typescript_compile"], config=config,
                            session=session)
    assert blamed.status == "fail-syntax"  # judged against disk, the user's typo looks like the edit's

    fair = await validate(Candidate(workspace, {rel: edited}, base={rel: editor_text}), ["typescript_compile"],
                          config=config, session=ValidationSession())
    assert fair.status == "pass", fair.reason

    broken = edited + 'export const mine: string = 42;\n'  # an error the edit itself adds is still caught
    caught = await validate(Candidate(workspace, {rel: broken}, base={rel: editor_text}), ["typescript_compile"],
                            config=config, session=ValidationSession())
    assert caught.status == "fail-syntax"
    assert all("mine" in f.message or f.range.start.line >= editor_text.count("\n") for f in caught.findings)
    assert (workspace / rel).read_text() == on_disk  # validation never writes the user's files
