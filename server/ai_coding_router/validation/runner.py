"""``validate(candidate, ...)``: run the requested checks on a candidate edit and combine their outcomes.

Order: the syntax gate first, in-process; if it fails, nothing else runs (a tool would only repeat it).
Then the type check, eslint and the tests run concurrently on one shared scratch copy, which is removed
when they are done, also on cancellation (cancelling ``validate`` kills the tools' process groups).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..config import CheckName, ValidationConfig
from ..errors import EditError, ValidationToolError
from .base import (
    CHECK_ORDER,
    Candidate,
    CheckContext,
    CheckOutcome,
    Finding,
    Status,
    ValidationReport,
    Validator,
    could_not_run,
    skipped,
)
from .eslint import EslintChecker
from .overlay import (
    HashMemo,
    Snapshot,
    build_overlay,
    check_candidate_paths,
    make_scratch_dir,
    read_original,
    remove_scratch_dir,
    scan_workspace,
)
from .syntax import SyntaxChecker
from .tools import toolchain_dir
from .tsc import TypeScriptChecker
from .vitest import VitestChecker

log = logging.getLogger(__name__)
R = TypeVar("R")


class ValidationSession:
    """The long-lived part of validation: content digests, original parse trees, tool baselines.

    One per server (or per CLI run); safe to share between concurrent validations on one event loop.
    """

    def __init__(self) -> None:
        self.memo = HashMemo()
        self.syntax = SyntaxChecker()
        self.validators: dict[CheckName, Validator] = {
            "syntax": self.syntax,
            "typescript_compile": TypeScriptChecker(),
            "eslint_strict": EslintChecker(),
            "vitest_run": VitestChecker(),
        }


_default_session: ValidationSession | None = None


def default_session() -> ValidationSession:
    global _default_session
    if _default_session is None:
        _default_session = ValidationSession()
    return _default_session


class ScratchWorkspaces:
    """The overlays of one validation: built on first use (in a thread), shared, removed by ``close``."""

    def __init__(self, candidate: Candidate, memo: HashMemo) -> None:
        self._candidate = candidate
        self._memo = memo
        self._base: Path | None = None
        self._snapshot: Snapshot | None = None
        self._dirs: dict[str, Path] = {}
        self._lock = asyncio.Lock()
        self._inflight: list[asyncio.Future[Any]] = []
        self._outputs = 0

    def _base_dir(self) -> Path:
        if self._base is None:
            needed = self._snapshot.total_bytes * 2 if self._snapshot else 0
            self._base = make_scratch_dir(needed)
            (self._base / "out").mkdir()
        return self._base

    async def _in_thread(self, func: Callable[..., R], *args: object) -> R:
        # A thread cannot be cancelled: keep it so close() waits for it before removing the folder.
        future: asyncio.Future[R] = asyncio.ensure_future(asyncio.to_thread(func, *args))
        self._inflight.append(future)
        return await asyncio.shield(future)

    async def _snapshot_of_workspace(self) -> Snapshot:
        if self._snapshot is None:
            self._snapshot = await self._in_thread(scan_workspace, self._candidate.root, self._memo)
        return self._snapshot

    async def _overlay(self, which: str, changes: Mapping[str, str | None]) -> Path:
        async with self._lock:
            if which not in self._dirs:
                snapshot = await self._snapshot_of_workspace()
                dest = self._base_dir() / which
                dest.mkdir()
                toolchain = toolchain_dir()
                fallback = toolchain / "node_modules" if toolchain else None
                try:
                    await self._in_thread(build_overlay, self._candidate.root, dest, snapshot, changes, fallback)
                except Exception:
                    remove_scratch_dir(dest)  # half built: the next caller starts again (and fails the same way)
                    raise
                self._dirs[which] = dest
            return self._dirs[which]

    async def candidate_dir(self) -> Path:
        return await self._overlay("candidate", {**self._candidate.base, **self._candidate.changes})

    async def original_dir(self) -> Path:
        return await self._overlay("original", dict(self._candidate.base))

    async def fingerprint(self) -> str:
        async with self._lock:
            fingerprint = (await self._snapshot_of_workspace()).fingerprint
        if not self._candidate.base:
            return fingerprint
        digest = hashlib.blake2b(fingerprint.encode(), digest_size=20)
        for rel, text in sorted(self._candidate.base.items()):
            digest.update(f"B{rel}\0".encode() + text.encode("utf-8", "surrogatepass") + b"\0")
        return digest.hexdigest()

    def output_file(self, name: str) -> Path:
        self._outputs += 1
        return self._base_dir() / "out" / f"{self._outputs}-{name}"

    async def close(self) -> None:
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        if self._base is not None:
            remove_scratch_dir(self._base)
            self._base = None


def resolve_checks(checks: Iterable[str] | None, config: ValidationConfig) -> list[CheckName]:
    """The checks to run in their order; the syntax gate is added when the caller names none."""
    wanted = set(["syntax", *config.checks] if checks is None else checks)
    unknown = wanted - set(CHECK_ORDER)
    if unknown:
        raise ValueError(f"unknown check(s): {', '.join(sorted(unknown))}; known: {', '.join(CHECK_ORDER)}")
    return [name for name in CHECK_ORDER if name in wanted]


def _count(findings: Sequence[Finding], kind: str) -> int:
    return sum(1 for f in findings if f.kind == kind and f.severity == "error")


def combine(outcomes: Sequence[CheckOutcome]) -> tuple[Status, str, tuple[Finding, ...]]:
    """The report's status and reason from the checks' outcomes (pure)."""
    findings = tuple(f for outcome in outcomes for f in outcome.findings)
    repairable = [
        f"{n} {label}"
        for kind, label in (("syntax", "syntax error(s)"), ("type", "type error(s)"), ("lint", "lint error(s)"))
        if (n := _count(findings, kind))
    ]
    tests = _count(findings, "test")
    test_text = f"{tests} failing test(s)" if tests else ""
    if repairable:
        return "fail-syntax", ", ".join([*repairable, *([test_text] if test_text else [])]), findings
    if tests:
        return "fail-logic", test_text, findings
    not_run = [o for o in outcomes if o.state in ("skipped", "could-not-run")]
    if not_run:
        reason = "; ".join(f"{o.check} {o.state}: {o.detail}" for o in not_run)
        return "incomplete", f"not fully validated: {reason}", findings
    return "pass", f"{len(outcomes)} check(s) passed", findings


async def _guarded(validator: Validator, context: CheckContext, workspaces: ScratchWorkspaces) -> CheckOutcome:
    started = time.perf_counter()
    try:
        return await validator.run(context, workspaces)
    except EditError as error:
        return could_not_run(validator.name, f"the candidate could not be applied: {error}")
    except ValidationToolError as error:  # e.g. a workspace too large for a scratch copy
        return could_not_run(validator.name, str(error), duration_ms=(time.perf_counter() - started) * 1000)
    except Exception as error:  # a check must not take the others down; the report says what happened
        log.exception("validation check %s failed", validator.name)
        return could_not_run(
            validator.name, f"internal error: {type(error).__name__}: {error}",
            duration_ms=(time.perf_counter() - started) * 1000,
        )


def prepare(candidate: Candidate, *, trusted: bool, config: ValidationConfig) -> CheckContext:
    """Check the candidate's paths (EditError) and read the originals of the changed files."""
    root = Path(candidate.root).resolve()
    if not root.is_dir():
        raise EditError(f"the workspace root {root} is not a folder")
    changes = check_candidate_paths(root, candidate.changes)
    base = {rel: text for rel, text in check_candidate_paths(root, candidate.base).items() if text is not None}
    normalized = Candidate(root, changes, candidate.compare_with_original, base)
    originals = {rel: base[rel] if rel in base else read_original(root, rel) for rel in changes}
    return CheckContext(normalized, originals, trusted, config.allow_running_tests, config.tool_timeout_s)


async def validate(
    candidate: Candidate,
    checks: Iterable[str] | None = None,
    *,
    trusted: bool = False,
    config: ValidationConfig | None = None,
    session: ValidationSession | None = None,
) -> ValidationReport:
    """Validate ``candidate``. Raises EditError for a path that could leave the workspace."""
    started = time.perf_counter()
    config = config or ValidationConfig()
    session = session or default_session()
    requested = resolve_checks(checks, config)
    if not config.enabled:
        off = tuple(skipped(c, "validation is disabled (validation.enabled: false)") for c in requested)
        return ValidationReport("incomplete", "validation is disabled", (), off, 0.0)
    context = prepare(candidate, trusted=trusted, config=config)
    workspaces = ScratchWorkspaces(context.candidate, session.memo)
    outcomes: dict[CheckName, CheckOutcome] = {}
    try:
        if "syntax" in requested:
            outcomes["syntax"] = await _guarded(session.validators["syntax"], context, workspaces)
        rest = [c for c in requested if c != "syntax"]
        if "syntax" in outcomes and outcomes["syntax"].state == "failed":
            for check in rest:
                outcomes[check] = skipped(check, "not run: the candidate has syntax errors")
        elif rest:
            results = await asyncio.gather(*(_guarded(session.validators[c], context, workspaces) for c in rest))
            outcomes.update(zip(rest, results, strict=True))
    finally:
        await workspaces.close()
    ordered = tuple(outcomes[c] for c in requested)
    status, reason, findings = combine(ordered)
    return ValidationReport(status, reason, findings, ordered, (time.perf_counter() - started) * 1000)
