"""How long to wait after a keystroke before asking the model: adapted to typing rhythm and model latency.

After Tabby's adaptive debounce (``clients/tabby-agent``): its wait is ``rate * interval - latency``,
where ``interval`` is the user's typical gap between keystrokes and ``latency`` the model's expected
response time, clamped to fixed bounds. Ours keeps that shape and adds one floor:

    interval = 75th percentile of the last 32 gaps between keystrokes shorter than 600 ms
               (longer gaps are pauses, not rhythm); 150 ms until 4 gaps are known
    latency  = exponential moving average (alpha = 0.3) of the model's observed latency; 0 until known
    wait     = max(GUARD * interval, RATE * interval - latency)      GUARD = 1.25, RATE = 2.5
    delay    = clamp(wait, min_ms, max_ms);   0 for an explicitly invoked completion

* ``RATE * interval`` — a pause this much longer than the user's rhythm means they stopped typing.
* ``- latency`` — a slow model is started sooner: the user waits for the model anyway, so the time
  already paid for by the debounce is not added on top.
* ``GUARD * interval`` — the floor: longer than most gaps inside a burst, so a burst of typing does not
  send a request per keystroke however slow the model is (cancelled requests still bill input tokens).

Pure: time is passed in, nothing sleeps here. If ``min_ms > max_ms`` the bounds collapse to ``min_ms``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal

from ..config import CompletionConfig

Trigger = Literal["automatic", "invoked"]

WINDOW = 32
PAUSE_MS = 600.0
DEFAULT_INTERVAL_MS = 150.0
MIN_SAMPLES = 4
PERCENTILE = 0.75
LATENCY_ALPHA = 0.3
GUARD = 1.25
RATE = 2.5


class AdaptiveDebounce:
    def __init__(self, min_ms: float, max_ms: float) -> None:
        self.min_ms = max(0.0, float(min_ms))
        self.max_ms = max(self.min_ms, float(max_ms))
        self._gaps: deque[float] = deque(maxlen=WINDOW)
        self._last_keystroke_s: float | None = None
        self._latency_ms: float | None = None

    @classmethod
    def from_config(cls, config: CompletionConfig) -> AdaptiveDebounce:
        return cls(config.debounce_min_ms, config.debounce_max_ms)

    def observe_keystroke(self, now_s: float) -> None:
        """A document change typed by the user, at ``now_s`` (any monotonic clock, in seconds)."""
        if not math.isfinite(now_s):
            return
        last = self._last_keystroke_s
        self._last_keystroke_s = now_s
        if last is None:
            return
        gap_ms = (now_s - last) * 1000.0
        if 0.0 <= gap_ms < PAUSE_MS:
            self._gaps.append(gap_ms)

    def observe_model_latency(self, ms: float) -> None:
        """How long the model took to answer (time to the first usable text is the best measure)."""
        if not math.isfinite(ms) or ms < 0:
            return
        previous = self._latency_ms
        self._latency_ms = ms if previous is None else previous + LATENCY_ALPHA * (ms - previous)

    @property
    def typing_interval_ms(self) -> float:
        if len(self._gaps) < MIN_SAMPLES:
            return DEFAULT_INTERVAL_MS
        ordered = sorted(self._gaps)
        return ordered[min(len(ordered) - 1, int(PERCENTILE * len(ordered)))]

    @property
    def model_latency_ms(self) -> float:
        return self._latency_ms or 0.0

    def delay_s(self, trigger: Trigger) -> float:
        """Seconds to wait before starting a request; see the module docstring for the formula."""
        if trigger == "invoked":
            return 0.0
        interval = self.typing_interval_ms
        wait = max(GUARD * interval, RATE * interval - self.model_latency_ms)
        return min(self.max_ms, max(self.min_ms, wait)) / 1000.0
