"""The server keeps heavy index work off its event loop: start-up objects frozen out of garbage collection,
edited files re-indexed by a worker process that never outlives the server."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from .harness import copy_workspace, server_env, wait_until
from .raw_lsp import RawLsp


def children_running(parent: int, marker: str) -> list[int]:
    """Live (not zombie) processes whose parent is ``parent`` and whose command line contains ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat[1]) == parent and stat[0] != "Z" and marker in cmdline:
            found.append(int(entry))
    return found


def environ_of(pid: int) -> bytes:
    return Path(f"/proc/{pid}/environ").read_bytes()


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def test_start_up_heap_is_frozen_and_an_edit_is_reindexed_by_a_worker_that_dies_with_the_server(
    tmp_path: Path,
) -> None:
    workspace = copy_workspace(tmp_path / "ws")
    key = "sk-ant-worker-test-0123456789"
    server = await RawLsp.start(server_env(base_url="http://127.0.0.1:9", api_key=key), cwd=workspace,
                                stderr_path=tmp_path / "stderr.log")
    worker: int | None = None
    try:
        assert (await server.initialize(workspace, {})).ok
        status: dict[str, object] = {}

        async def settled() -> bool:
            nonlocal status
            status = (await server.call("aiCodingRouter/serverStatus")).result
            return bool(status["indexReady"]) and int(status["heapFrozen"]) > 0  # type: ignore[call-overload]

        for _ in range(300):
            if await settled():
                break
            await asyncio.sleep(0.05)
        assert status["indexReady"] is True and int(status["heapFrozen"]) > 10_000, status  # type: ignore[call-overload]

        path = next(workspace.glob("src/**/*.ts"))
        uri = server.open(path)
        server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
            {"text": path.read_text() + "\nexport function addedWhileEditing(): number { return 1; }\n"}]})
        pid = server.process.pid
        await wait_until(lambda: bool(children_running(pid, "extract_worker")), timeout=30)
        worker = children_running(pid, "extract_worker")[0]
        assert key.encode() not in environ_of(worker)  # it reads source text only: no secrets

        os.kill(pid, signal.SIGKILL)  # no shutdown: the worker must notice on its own
        await server.process.wait()
        await wait_until(lambda: not running(worker), timeout=10)  # type: ignore[arg-type]
    finally:
        await server.close()
        if worker is not None and running(worker):
            os.kill(worker, signal.SIGKILL)
