"""The symbol extraction worker (see context/extractor.py): frames in on stdin, frames out on stdout.

Each request is a file's path and source; each answer ``{"ok": FileSymbols.to_json()}`` or ``{"error": ...}``
as JSON (extractor.py has the framing).
It exits when stdin closes, which happens when the server closes it or dies.
"""

from __future__ import annotations

import sys
from typing import BinaryIO

from ..errors import ContextError
from .extractor import FRAME_LENGTH, decode_request, encode_answer
from .index import symbols_for


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    return data if data is not None and len(data) == size else None


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    while True:
        head = _read_exactly(requests, FRAME_LENGTH.size)
        if head is None:
            return
        body = _read_exactly(requests, FRAME_LENGTH.unpack(head)[0])
        if body is None:
            return
        rel, source = decode_request(body)
        try:
            answer: dict[str, object] = {"ok": symbols_for(rel, source).to_json()}
        except ContextError as error:
            answer = {"error": str(error)}
        except Exception as error:  # report, and stay up for the next file
            answer = {"error": f"extracting {rel} failed: {type(error).__name__}: {error}"}
        answers.write(encode_answer(answer))
        answers.flush()


def main() -> None:
    serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
