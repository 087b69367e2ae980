"""``python -m tests.fake_anthropic --port N [--script FILE.json]``: serve until SIGTERM/SIGINT.

Prints the base URL (``http://127.0.0.1:PORT``) as the first line on stdout once it is listening.
The script file is ``{"default": reply, "script": {"<model>" | "*": [reply, ...]}}`` where a reply is a
string (its text) or an object with ``Reply`` fields, e.g. ``{"text": "hi", "ttft_s": 0.2}`` or
``{"fault": "529"}``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from tests.fake_anthropic.server import FakeAnthropic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_anthropic", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: pick a free one)")
    parser.add_argument("--script", type=Path, help="JSON script file")
    parser.add_argument("--api-key", help="accept only this key (default: any non-empty key)")
    parser.add_argument("--min-cacheable-tokens", type=int, default=0)
    parser.add_argument("--batch-processing-s", type=float, default=0.0)
    args = parser.parse_args(argv)

    fake = FakeAnthropic(args.port, api_key=args.api_key, min_cacheable_tokens=args.min_cacheable_tokens,
                         batch_processing_s=args.batch_processing_s)
    if args.script is not None:
        fake.load_script(json.loads(args.script.read_text(encoding="utf-8")))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with fake:
        print(fake.base_url, flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
