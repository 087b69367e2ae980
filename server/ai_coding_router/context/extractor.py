"""Extracting an edited file's symbols in a worker process, so the event loop never waits for it.

py-tree-sitter holds the GIL while it parses and runs queries. On a thread of the server, re-indexing a
file once the user pauses stopped every request for the whole extraction: a request arriving then waited
~23 ms on a 5,000-line file and ~84 ms on a 20,000-line one (bench/reindex_stall.py). One worker process
(context/extract_worker.py) does it instead; the server only decodes the result.

The worker is our own child with its own pipes, not a ``multiprocessing`` one: those re-import the parent's
main script (a wrapper without a ``__main__`` guard would start a second server on the LSP channel) and
share the server's stdout. It starts on first use and exits when its stdin closes, so it never outlives
the server. If it cannot be started at all, extraction runs on a thread as before. If it dies, hangs or
answers garbage on a file (tree-sitter crashing on it), that file is skipped rather than retried on a
thread of the server, and the next extraction starts a new worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import struct
import sys
from typing import Any

from ..errors import ContextError
from ..validation.tools import SECRET_MARKERS, clean_env
from .index import symbols_for
from .symbols import FileSymbols

log = logging.getLogger(__name__)

FRAME_LENGTH = struct.Struct(">I")  # before every request and answer
_REL_LENGTH = struct.Struct(">H")
MAX_ANSWER_BYTES = 256 * 1024 * 1024  # far above any answer for a file the index accepts (2 MB at most)
EXTRACT_TIMEOUT_S = 60.0  # a 2 MB file extracts in well under a second: longer means the worker is stuck
# Items per JSON line of an answer. json.loads holds the GIL for a whole document: one document for a
# 20,000-line file (740 KB) held it 4-14 ms; lines of 500 items keep each decode well under a millisecond.
ANSWER_CHUNK_ITEMS = 500
# The worker imports this package from the directory the server imported it from (a source checkout or a
# wrapper that put it on sys.path must run the same code), without changing the worker's PYTHONPATH. It
# runs with -P in that directory: `python -c` would otherwise put its working directory (the editor starts
# the server in the workspace) ahead of the standard library, so a workspace's `typing.py` would run.
_WORKER_CODE = ("import sys; sys.path.insert(0, sys.argv[1]); "
                "from ai_coding_router.context.extract_worker import main; main()")


def encode_request(rel: str, source: bytes) -> bytes:
    name = rel.encode("utf-8", "surrogatepass")
    size = _REL_LENGTH.size + len(name) + len(source)
    return FRAME_LENGTH.pack(size) + _REL_LENGTH.pack(len(name)) + name + source


def decode_request(frame: bytes) -> tuple[str, bytes]:
    (size,) = _REL_LENGTH.unpack_from(frame)
    end = _REL_LENGTH.size + size
    return frame[_REL_LENGTH.size : end].decode("utf-8", "surrogatepass"), frame[end:]


def encode_answer(answer: dict[str, Any]) -> bytes:
    """``{"ok": FileSymbols.to_json()}`` or ``{"error": message}`` as JSON lines: the server never unpickles
    anything a child process sends. The first line is the answer with its long lists and dicts emptied; each
    further line is ``[field, items]``, a slice of one of them (dict items as ``[key, value]`` pairs)."""
    lines: list[str] = []
    ok = answer.get("ok")
    if isinstance(ok, dict):
        head = dict(ok)
        for field, value in ok.items():
            items = list(value.items()) if isinstance(value, dict) else value
            if isinstance(items, list) and len(items) > ANSWER_CHUNK_ITEMS:
                head[field] = type(value)()
                lines += [_dumps([field, items[i : i + ANSWER_CHUNK_ITEMS]])
                          for i in range(0, len(items), ANSWER_CHUNK_ITEMS)]
        answer = {"ok": head}
    data = "\n".join([_dumps(answer), *lines]).encode()
    return FRAME_LENGTH.pack(len(data)) + data


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))  # no raw newline: strings' newlines are escaped


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
                    try:
                        return await asyncio.to_thread(_decode_answer, answer)
                    except ContextError:
                        raise
                    except Exception as error:  # not our worker's JSON: it cannot be trusted with the next file
                        self._kill(worker)
                        raise ContextError(f"the symbol extraction worker answered garbage for {rel}") from error
        self.last_worker_pid = os.getpid()
        return await asyncio.to_thread(symbols_for, rel, source)

    async def _started_worker(self) -> asyncio.subprocess.Process | None:
        if self._worker is not None and self._worker.returncode is None:
            return self._worker
        try:
            package_parent = _package_parent()
            self._worker = await asyncio.create_subprocess_exec(
                sys.executable, "-P", "-c", _WORKER_CODE, package_parent, cwd=package_parent,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=None, env=worker_env(),
            )
        except (OSError, RuntimeError) as error:
            log.warning("cannot start the symbol extraction worker (%s): extracting on a thread", error)
            self._use_process = False
            return None
        return self._worker

    async def _ask(self, worker: asyncio.subprocess.Process, rel: str, source: bytes) -> bytes:
        try:
            return await asyncio.wait_for(self._exchange(worker, rel, source), EXTRACT_TIMEOUT_S)
        except TimeoutError:
            self._kill(worker)
            raise ContextError(f"the symbol extraction worker took over {EXTRACT_TIMEOUT_S:.0f} s on {rel}; "
                               "it is skipped") from None
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as error:
            self._kill(worker)
            raise ContextError(f"the symbol extraction worker died on {rel} ({error!r}); it is skipped") from None
        except asyncio.CancelledError:
            self._kill(worker)  # its pipes are mid-message: the next extraction starts a new worker
            raise

    async def _exchange(self, worker: asyncio.subprocess.Process, rel: str, source: bytes) -> bytes:
        assert worker.stdin is not None and worker.stdout is not None
        worker.stdin.write(encode_request(rel, source))
        await worker.stdin.drain()
        (length,) = FRAME_LENGTH.unpack(await worker.stdout.readexactly(FRAME_LENGTH.size))
        if length > MAX_ANSWER_BYTES:  # not a length: something else wrote to the worker's stdout
            raise ConnectionError(f"an answer of {length} bytes")
        return await worker.stdout.readexactly(length)

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


def _decode_answer(answer: bytes) -> FileSymbols:
    """Off the event loop: decoding and building a large file's symbols takes milliseconds."""
    lines = answer.split(b"\n")
    head = json.loads(lines[0])
    if "error" in head:
        raise ContextError(str(head["error"]))
    data = head["ok"]
    for line in lines[1:]:  # one json.loads per line: the event loop gets the GIL in between
        field, items = json.loads(line)
        if isinstance(data[field], dict):
            data[field].update(items)
        else:
            data[field].extend(items)
    return FileSymbols.from_json(data)


def _package_parent() -> str:
    """The directory ``ai_coding_router`` was imported from."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
