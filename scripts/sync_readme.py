"""Regenerate README's configuration reference from the config model: `python scripts/sync_readme.py`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ai_coding_router.config import reference_markdown

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"(<!-- config-reference:start -->\n).*?(<!-- config-reference:end -->)", re.S)


def synced(text: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + reference_markdown() + m.group(2), text)


if __name__ == "__main__":
    text = README.read_text(encoding="utf-8")
    new = synced(text)
    if "--check" in sys.argv:
        sys.exit(0 if new == text else 1)
    README.write_text(new, encoding="utf-8")
