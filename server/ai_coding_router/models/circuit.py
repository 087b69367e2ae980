"""A circuit breaker for model calls: after repeated API failures, fail fast for a short cool-down.

    closed ──(``failures`` retryable API failures in a row, within ``window_s``)──► open
    open ──(``cooldown_s`` passed)──► half-open: ONE probe call goes through, the others fail fast
    half-open ──probe succeeded──► closed          half-open ──probe failed──► open (cool-down again)

Interactive requests would otherwise each make one more doomed HTTP call per keystroke while the API
is rate limiting or overloaded. ``CircuitOpen`` is a ``ModelError`` whose ``retry_after_s`` is the rest
of the cool-down: a call with no retries (interactive) fails at once, a background call with retries
left may wait it out like a ``retry-after``. Only the API's health counts: a call that was cancelled
or ran out of *our* deadline says nothing (``abandoned``), and a 4xx answer proves the API is up.

One breaker per model (``CircuitBreakers``): an overloaded deep model must not stop the fast one. Pure
logic with an injected clock; no I/O, no asyncio.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from ..errors import ModelError, ModelOverloaded

State = Literal["closed", "open", "half_open"]
Clock = Callable[[], float]
ENV_VAR = "AI_CODING_ROUTER_CIRCUIT"  # "failures/window_s/cooldown_s" or "off" (until it is a config field)
PROBE_BUSY_RETRY_S = 1.0  # what a caller is told to wait while the half-open probe is in flight


class CircuitOpen(ModelError):
    """The model's circuit is open: no request was sent."""

    retryable = True  # with retries left, waiting out ``retry_after_s`` is the right thing to do


class CircuitOpenOverloaded(CircuitOpen, ModelOverloaded):
    """Opened by overload (529) answers: callers that fall back on overload (the deep model) still do."""


@dataclass(frozen=True)
class CircuitSettings:
    failures: int = 5  # consecutive retryable failures that open the circuit (0: never open)
    window_s: float = 30.0  # ... all within this many seconds
    cooldown_s: float = 10.0  # how long the circuit stays open before one probe is let through

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CircuitSettings:
        """The defaults, or ``AI_CODING_ROUTER_CIRCUIT`` ("5/30/10"; "off" disables). Bad values: defaults."""
        raw = (os.environ if env is None else env).get(ENV_VAR, "").strip()
        if not raw:
            return cls()
        if raw.lower() in ("off", "0", "none", "disabled"):
            return cls(failures=0)
        try:
            failures, window, cooldown = (p.strip() for p in raw.split("/"))
            settings = cls(int(failures), float(window), float(cooldown))
        except ValueError:
            return cls()
        if settings.failures < 0 or settings.window_s <= 0 or settings.cooldown_s < 0:
            return cls()
        return settings


@dataclass(frozen=True)
class Ticket:
    """Handed out by ``admit``; give it back through exactly one of succeeded/failed/abandoned."""

    probe: bool


class CircuitBreaker:
    def __init__(self, settings: CircuitSettings | None = None, *, clock: Clock = time.monotonic,
                 name: str = "") -> None:
        self.settings = settings or CircuitSettings()
        self.name = name
        self._clock = clock
        self._failures: deque[float] = deque()  # times of the current run of failures
        self._opened_at: float | None = None
        self._probe_in_flight = False
        self._last_kind = ""  # the kind of the failure that (last) opened the circuit
        self.opened_count = 0  # how many times the circuit opened (for status displays and tests)
        self.rejected_count = 0  # calls refused without a request

    @property
    def state(self) -> State:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at < self.settings.cooldown_s:
            return "open"
        return "half_open"

    def admit(self) -> Ticket:
        """Permission for one call, or ``CircuitOpen``."""
        state = self.state
        if state == "closed":
            return Ticket(probe=False)
        if state == "half_open" and not self._probe_in_flight:
            self._probe_in_flight = True
            return Ticket(probe=True)
        self.rejected_count += 1
        if state == "open":
            assert self._opened_at is not None
            wait = max(0.0, self.settings.cooldown_s - (self._clock() - self._opened_at))
            reason = f"for another {wait:.1f} s"
        else:
            wait = PROBE_BUSY_RETRY_S
            reason = "while one probe call checks whether it has recovered"
        error = CircuitOpenOverloaded if self._last_kind == "overloaded" else CircuitOpen
        raise error(
            f"circuit open: the API kept failing{self._label()} (rate limits, overload, errors or broken "
            f"connections), so calls are paused {reason} instead of sending more requests",
            retry_after_s=wait,
        )

    def succeeded(self, ticket: Ticket) -> None:
        """The API answered (a reply, or a 4xx that shows it is up)."""
        if ticket.probe:
            self._probe_in_flight = False
        self._failures.clear()
        self._opened_at = None

    def failed(self, ticket: Ticket, kind: str = "") -> None:
        """A retryable API failure: 429, 529, 5xx, a reset, a broken stream, an HTTP timeout.
        ``kind`` "overloaded" makes the refusals ``CircuitOpenOverloaded``."""
        now = self._clock()
        if ticket.probe:
            self._probe_in_flight = False
            self._trip(now, kind)
            return
        if self._opened_at is not None:
            return  # a call admitted before the circuit opened: already counted as open
        self._failures.append(now)
        while self._failures and now - self._failures[0] > self.settings.window_s:
            self._failures.popleft()
        if self.settings.failures > 0 and len(self._failures) >= self.settings.failures:
            self._trip(now, kind)

    def abandoned(self, ticket: Ticket) -> None:
        """No verdict (cancelled, or our own deadline passed first): free the probe slot, change nothing."""
        if ticket.probe:
            self._probe_in_flight = False

    def _trip(self, now: float, kind: str) -> None:
        self._opened_at = now
        self._last_kind = kind
        self._failures.clear()
        self.opened_count += 1

    def _label(self) -> str:
        return f" for {self.name}" if self.name else ""

    def as_json(self) -> dict[str, object]:
        return {"state": self.state, "opened": self.opened_count, "rejected": self.rejected_count}


class CircuitBreakers:
    """One breaker per model, created on first use with the same settings and clock."""

    def __init__(self, settings: CircuitSettings | None = None, *, clock: Clock = time.monotonic) -> None:
        self.settings = settings or CircuitSettings()
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def for_model(self, model: str) -> CircuitBreaker:
        breaker = self._breakers.get(model)
        if breaker is None:
            breaker = self._breakers[model] = CircuitBreaker(self.settings, clock=self._clock, name=model)
        return breaker

    def as_json(self) -> list[dict[str, object]]:
        """One entry per model used so far: ``{"model", "state", "opened", "rejected"}``."""
        return [{"model": model, **breaker.as_json()} for model, breaker in sorted(self._breakers.items())]
