"""Extracting an edited file's symbols in a worker process, so the event loop never waits for it.

py-tree-sitter holds the GIL while it parses and runs queries. On a thread of the server, re-indexing a
file once the user pauses stopped every request for the whole extraction: a request arriving then waited
24 ms on a 5,000-line file and 82 ms on a 20,000-line one (bench/reindex_stall.py). One worker process
(context/extract_worker.py) does it instead; the server only decodes the result.

The worker is our own child with its own pipes, not a ``multiprocessing`` one: those re-import the parent's
main script (a wrapper without a ``__main__`` guard would start a second server on the LSP channel) and
share the server's stdout. It starts on first use and exits when its stdin closes, so it never outlives
the server. If it cannot be started at all, extraction runs on a thread as before. If it dies on a file
(tree-sitter crashing on it), that file is skipped and the next extraction starts a new worker: the file
that crashed a worker is never parsed inside the server's own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import struct
import sys
from typing import Any

from ..errors import ContextError
from ..validation.tools import SECRET_MARKERS, clean_env
from .index import symbols_for
from .symbols import FileSymbols

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
# The worker imports this package from the directory the server imported it from (a source checkout or a
# wrapper that put it on sys.path must run the same code), without changing the worker's PYTHONPATH.
_WORKER_CODE = ("import sys; sys.path.insert(0, sys.argv[1]); "
                "from ai_coding_router.context.extract_worker import main; main()")


def encode_frame(payload: Any) -> bytes:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


class SymbolExtractor:
    """``extract`` runs ``symbols_for`` in a worker process (or a thread when processes are unavailable)."""

    def __init__(self, *, use_process: bool = True) -> None:
        self._use_process = use_process
        self._worker: asyncio.subprocess.Process | None = None
        self._lock: asyncio.Lock | None = None  # one request at a time on the worker's pipes
        self._closed = False
        self._ending: list[asyncio.subprocess.Process] = []  # told to stop: aclose waits for them
        self.last_worker_pid: int | None = None  # the process that did the last extraction

    @property
    def worker_pid(self) -> int | None:
        """The running worker's process id (None before the first extraction or after it exited)."""
        worker = self._worker
        return worker.pid if worker is not None and worker.returncode is None else None

    async def extract(self, rel: str, source: bytes) -> FileSymbols:
        """The symbols of ``source``. Raises ``ContextError`` when the file cannot be extracted."""
        if self._use_process and not self._closed:
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:
                worker = await self._started_worker()
                if worker is not None:
                    answer = await self._ask(worker, rel, source)
                    self.last_worker_pid = worker.pid
                    return await asyncio.to_thread(_decode_answer, answer)
        self.last_worker_pid = os.getpid()
        return await asyncio.to_thread(symbols_for, rel, source)

    async def _started_worker(self) -> asyncio.subprocess.Process | None:
        if self._worker is not None and self._worker.returncode is None:
            return self._worker
        try:
            self._worker = await asyncio.create_subprocess_exec(
                sys.executable, "-c", _WORKER_CODE, _package_parent(),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=None, env=worker_env(),
            )
        except (OSError, RuntimeError) as error:
            log.warning("cannot start the symbol extraction worker (%s): extracting on a thread", error)
            self._use_process = False
            return None
        return self._worker

    async def _ask(self, worker: asyncio.subprocess.Process, rel: str, source: bytes) -> bytes:
        assert worker.stdin is not None and worker.stdout is not None
        try:
            worker.stdin.write(encode_frame((rel, source)))
            await worker.stdin.drain()
            (length,) = _LENGTH.unpack(await worker.stdout.readexactly(_LENGTH.size))
            return await worker.stdout.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as error:
            self._kill(worker)
            raise ContextError(f"the symbol extraction worker died on {rel} ({error!r}); it is skipped") from None
        except asyncio.CancelledError:
            self._kill(worker)  # its pipes are mid-message: the next extraction starts a new worker
            raise

    def _kill(self, worker: asyncio.subprocess.Process) -> None:
        if self._worker is worker:
            self._worker = None
        self._ending.append(worker)
        if worker.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                worker.kill()

    def close(self) -> None:
        """Stop the worker without waiting (it also exits by itself when its stdin closes with the server)."""
        self._closed = True
        worker, self._worker = self._worker, None
        if worker is not None:
            self._ending.append(worker)
            if worker.stdin is not None:
                worker.stdin.close()  # the worker's read ends: it exits

    async def aclose(self, timeout_s: float = 5.0) -> None:
        """Stop the worker and wait for it (and any killed before) to exit."""
        self.close()
        ending, self._ending = self._ending, []
        for worker in ending:
            try:
                await asyncio.wait_for(worker.wait(), timeout_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    worker.kill()
                await worker.wait()


def worker_env(source: dict[str, str] | None = None) -> dict[str, str]:
    """The tools' allow-list plus Python's own settings (``PYTHONHOME``, ``PYTHONPATH``...): the worker
    reads source text and nothing else, so it never gets the API key or any other secret."""
    env = dict(os.environ) if source is None else source
    python = {name: value for name, value in env.items()
              if name.startswith("PYTHON") and not any(m in name.upper() for m in SECRET_MARKERS)}
    return clean_env(python, source=env)


def decode_frame(data: bytes) -> Any:
    # Only ever frames from our own worker over its private pipe: nothing untrusted is unpickled.
    return pickle.loads(data)  # noqa: S301


def _decode_answer(answer: bytes) -> FileSymbols:
    """Off the event loop: unpickling and building a large file's symbols takes milliseconds."""
    status, payload = decode_frame(answer)
    if status != "ok":
        raise ContextError(str(payload))
    return FileSymbols.from_json(payload)


def _package_parent() -> str:
    """The directory ``ai_coding_router`` was imported from."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
