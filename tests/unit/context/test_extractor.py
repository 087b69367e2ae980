"""Symbol extraction in the worker process: the same symbols as in-process, and a dead worker costs one file."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from ai_coding_router.context import extractor as extractor_module
from ai_coding_router.context.extractor import SymbolExtractor, worker_env
from ai_coding_router.context.index import symbols_for
from ai_coding_router.errors import ContextError

SOURCE = (
    b'import { readFile } from "node:fs/promises";\n'
    b"export class Store { get(key: string): string { return key; } }\n"
    b"export async function load(path: string): Promise<string> { return readFile(path, 'utf8'); }\n"
)


async def test_the_worker_extracts_what_the_server_would_in_another_process() -> None:
    extractor = SymbolExtractor()
    try:
        symbols = await extractor.extract("src/store.ts", SOURCE)
        assert symbols == symbols_for("src/store.ts", SOURCE)
        assert extractor.last_worker_pid not in (None, os.getpid())
        first = extractor.last_worker_pid
        await extractor.extract("src/other.tsx", b"export const el = <div>{1}</div>;\n")
        assert extractor.last_worker_pid == first  # one worker for the server's life
    finally:
        await extractor.aclose()


async def test_a_file_the_worker_cannot_extract_is_an_error_and_the_worker_stays() -> None:
    extractor = SymbolExtractor()
    try:
        with pytest.raises(ContextError, match="not a TypeScript or JavaScript file"):
            await extractor.extract("README.md", b"# hello\n")
        pid = extractor.last_worker_pid
        await extractor.extract("src/store.ts", SOURCE)
        assert extractor.last_worker_pid not in (None, os.getpid())
        assert pid is None or extractor.last_worker_pid == pid
    finally:
        await extractor.aclose()


async def test_a_dead_worker_costs_that_file_and_the_next_one_gets_a_new_worker() -> None:
    extractor = SymbolExtractor()
    try:
        await extractor.extract("src/store.ts", SOURCE)
        dead = extractor.last_worker_pid
        assert dead is not None
        os.kill(dead, signal.SIGKILL)
        with pytest.raises(ContextError, match="worker died"):
            await extractor.extract("src/store.ts", SOURCE)
        symbols = await extractor.extract("src/store.ts", SOURCE)
        assert symbols == symbols_for("src/store.ts", SOURCE)
        assert extractor.last_worker_pid not in (None, dead, os.getpid())
    finally:
        await extractor.aclose()


async def test_closing_waits_for_the_worker_to_exit() -> None:
    extractor = SymbolExtractor()
    await extractor.extract("src/store.ts", SOURCE)
    pid = extractor.last_worker_pid
    assert pid is not None
    await extractor.aclose()
    assert not _running(pid)


async def test_without_a_worker_extraction_runs_on_a_thread() -> None:
    extractor = SymbolExtractor(use_process=False)
    symbols = await extractor.extract("src/store.ts", SOURCE)
    assert symbols == symbols_for("src/store.ts", SOURCE)
    assert extractor.last_worker_pid == os.getpid()


def _running(pid: int) -> bool:
    """Alive and not a zombie (asyncio's child watcher reaps our exited children)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_close_then_aclose_still_waits_for_the_worker() -> None:
    extractor = SymbolExtractor()
    await extractor.extract("src/store.ts", SOURCE)
    pid = extractor.last_worker_pid
    assert pid is not None
    extractor.close()  # the server's shutdown closes first, then waits
    await extractor.aclose()
    assert not _running(pid)


def test_the_worker_gets_python_settings_but_no_secret() -> None:
    env = worker_env({"PATH": "/usr/bin", "HOME": "/home/u", "PYTHONPATH": "/opt/lib", "PYTHONHOME": "/opt/py",
                      "ANTHROPIC_API_KEY": "sk-ant-secret", "PYTHON_TOKEN": "t0k", "AWS_SECRET_ACCESS_KEY": "x",
                      "DATABASE_URL": "postgres://u:p@h/db"})
    assert env["PYTHONPATH"] == "/opt/lib" and env["PYTHONHOME"] == "/opt/py" and env["PATH"] == "/usr/bin"
    assert not {"ANTHROPIC_API_KEY", "PYTHON_TOKEN", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL"} & set(env)


async def test_a_cancelled_extraction_replaces_the_worker_and_shutdown_reaps_both() -> None:
    extractor = SymbolExtractor()
    try:
        await extractor.extract("src/store.ts", SOURCE)
        first = extractor.last_worker_pid
        big = b"".join(b"export function f%d(x: number): number { return x * %d; }\n" % (i, i) for i in range(40_000))
        task = asyncio.ensure_future(extractor.extract("src/big.ts", big))
        await asyncio.sleep(0.05)  # the worker is parsing it
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert extractor.worker_pid is None  # its pipes were mid-message: that worker is gone
        await extractor.extract("src/store.ts", SOURCE)
        assert extractor.last_worker_pid not in (None, first)
    finally:
        await extractor.aclose()
    assert first is not None and not _running(first)


@pytest.mark.parametrize(("worker_code", "timeout_s", "error"), [
    # Stray output on its stdout (a sitecustomize, a debug print): the first bytes read as a huge length.
    ("import sys, time; sys.stdout.write('hello from a sitecustomize'); sys.stdout.flush(); time.sleep(60)",
     60.0, "worker died"),
    ("import sys, time; sys.stdout.buffer.write(b'\\x00\\x00\\x00\\x04\\x80abc'); sys.stdout.flush(); "
     "time.sleep(60)", 60.0, "answered garbage"),
    ("import time; time.sleep(60)", 0.5, "took over"),
], ids=["stray-output", "not-json", "stuck"])
async def test_a_worker_that_does_not_answer_properly_is_replaced(
    worker_code: str, timeout_s: float, error: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extractor_module, "_WORKER_CODE", worker_code)
    monkeypatch.setattr(extractor_module, "EXTRACT_TIMEOUT_S", timeout_s)
    extractor = SymbolExtractor()
    try:
        with pytest.raises(ContextError, match=error):
            await extractor.extract("src/store.ts", SOURCE)
        assert extractor.worker_pid is None
    finally:
        await extractor.aclose()


async def test_code_in_the_servers_working_directory_never_runs_in_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Editors start the server in the workspace; `python -c` would import a workspace's json.py before the
    # standard library's.
    marker = tmp_path / "ran"
    for name in ("json", "typing", "struct"):
        (tmp_path / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write({name!r})\n")
    monkeypatch.chdir(tmp_path)
    extractor = SymbolExtractor()
    try:
        assert await extractor.extract("src/store.ts", SOURCE) == symbols_for("src/store.ts", SOURCE)
        assert extractor.last_worker_pid not in (None, os.getpid())
    finally:
        await extractor.aclose()
    assert not marker.exists()


async def test_a_large_file_comes_back_whole_through_the_chunked_answer() -> None:
    # More definitions, exports and referenced names than one answer line holds.
    source = b"".join(b"export function op%d(value%d: number): number { return value%d + %d; }\n" % (i, i, i, i)
                      for i in range(1, 2_600))
    extractor = SymbolExtractor()
    try:
        symbols = await extractor.extract("src/ops.ts", source)
    finally:
        await extractor.aclose()
    assert symbols == symbols_for("src/ops.ts", source)
    assert len(symbols.definitions) > 2 * extractor_module.ANSWER_CHUNK_ITEMS
    assert len(symbols.references) > 2 * extractor_module.ANSWER_CHUNK_ITEMS
