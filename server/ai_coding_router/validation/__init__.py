"""Validation gates for candidate edits: syntax (tree-sitter), types (tsc), lint (eslint), tests (vitest).

Entry point: ``runner.validate(Candidate(root, {path: new_text}), trusted=..., config=...)`` returns a
``base.ValidationReport`` (status pass / fail-syntax / fail-logic / incomplete, findings, per-check
outcomes). Modules: ``base`` (vocabulary, LSP conversion), ``overlay`` (scratch copies), ``tools``
(finding and running node tools), ``blame`` (what an edit introduced), ``syntax``, ``tsc``, ``eslint``,
``vitest``, ``runner``. Nothing is imported here, so importing ``validation.base`` stays cheap.
"""
