"""Keeping Python's cyclic garbage collector off the request path.

A full collection walks every tracked object. Once the workspace index, the SDK and pydantic's models are
loaded that is ~230,000 objects on a 1,000-file workspace, and each full collection stopped the event loop
for 106-132 ms; on a one-file workspace with a 20,000-line document, 13-32 ms (measured with gc.callbacks
while bench/reindex_stall.py ran). Collections start whenever allocations pass a threshold, so any request
could pay one.

What is loaded at start-up lives as long as the server, so once it is loaded it is collected one last time
and frozen (``gc.freeze``): later collections walk only what was allocated after. Frozen objects are still
freed by reference counting when the last reference goes (an index entry replaced by a re-index is); only
a reference cycle among them would never be reclaimed, and start-up leaves almost none (a collection then
finds a few hundred objects).
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


def settle() -> None:
    """Collect now, then exclude everything still alive from later collections."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.info("start-up heap frozen: %d objects out of the collector's sight (%.0f ms)",
             gc.get_freeze_count(), (time.perf_counter() - started) * 1000)


def freeze_young() -> None:
    """Exclude what is alive now from later collections after collecting only the young generations.

    For a rebuilt index: a full collection first would walk the whole new index (~100 ms on 1,000 files,
    holding the GIL); unreachable cycles among older objects are rare (the index makes none)."""
    gc.collect(1)
    gc.freeze()
