"""The emulator's rate limiters and the ways it tells a client how long to wait.

Real servers differ in both, and a client tuned to one of them does badly against the others, so the
emulator offers four common algorithms (``--limiter``) and four hint styles (``--retry-after``). Every
limiter is configured by a rate ``R`` per second and a ``burst``; the window-based ones count ``burst``
requests per window of ``burst / R`` seconds, so all four allow the same long-run rate.

* ``token-bucket``: a bucket of ``burst`` tokens refilled at ``R``/s; a request takes one.
* ``gcra``: the generic cell rate algorithm (a theoretical arrival time advancing ``1/R`` per request,
  ``(burst - 1)/R`` of tolerance); equivalent to the token bucket, computed differently.
* ``fixed-window``: ``burst`` requests per window; windows start at multiples of ``burst/R`` seconds.
* ``sliding-log``: at most ``burst`` accepted requests in any ``burst/R`` seconds (a log of their times).

Each ``take(now)`` returns None when the request is let through, else the exact seconds until one would be;
``allowance(now)`` says what is left now and when the allowance is whole again, which a server may advertise
(``--rate-limit-headers``: the IETF draft's ``RateLimit``/``RateLimit-Policy``, or ``X-RateLimit-*``).
"""

from __future__ import annotations

import collections
import email.utils
import functools
import math
import time
from typing import Protocol

__all__ = ["FIELD_STYLES", "HINT_STYLES", "LIMITERS", "Limiter", "allowance_headers", "hint_headers", "make_limiter"]

HINT_STYLES = ("ms", "seconds", "http-date", "none")
FIELD_STYLES = ("none", "ietf", "x")


class Limiter(Protocol):
    def take(self, now: float) -> float | None: ...

    def allowance(self, now: float) -> tuple[int, float]:
        """(requests that would pass now, seconds until as many pass as after a long pause)."""
        ...


class TokenBucket:
    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.updated = float(burst), now

    def _refill(self, now: float) -> None:
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self, now: float) -> float | None:
        self._refill(now)
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.rate

    def allowance(self, now: float) -> tuple[int, float]:
        self._refill(now)
        return math.floor(self.tokens), (self.burst - self.tokens) / self.rate


class Gcra:
    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.interval = 1.0 / rate
        self.tolerance = (burst - 1) * self.interval
        self.tat = now  # theoretical arrival time of the next request

    def take(self, now: float) -> float | None:
        tat = max(self.tat, now)
        allow_at = tat - self.tolerance
        if now < allow_at:
            return allow_at - now
        self.tat = tat + self.interval
        return None

    def allowance(self, now: float) -> tuple[int, float]:
        ahead = max(self.tat - now, 0.0)  # booked past now: each request books one interval
        return math.floor((self.tolerance + self.interval - ahead) / self.interval + 1e-9), ahead


class FixedWindow:
    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.limit, self.window = burst, burst / rate
        self.index, self.count = -1, 0

    def take(self, now: float) -> float | None:
        index = math.floor(now / self.window)
        if index != self.index:
            self.index, self.count = index, 0
        if self.count < self.limit:
            self.count += 1
            return None
        return (index + 1) * self.window - now

    def allowance(self, now: float) -> tuple[int, float]:
        index = math.floor(now / self.window)
        used = self.count if index == self.index else 0
        return self.limit - used, ((index + 1) * self.window - now) if used else 0.0


class SlidingLog:
    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.limit, self.window = burst, burst / rate
        self.log: collections.deque[float] = collections.deque()

    def _prune(self, now: float) -> None:
        while self.log and self.log[0] <= now - self.window:
            self.log.popleft()

    def take(self, now: float) -> float | None:
        self._prune(now)
        if len(self.log) < self.limit:
            self.log.append(now)
            return None
        return self.log[0] + self.window - now

    def allowance(self, now: float) -> tuple[int, float]:
        self._prune(now)
        return self.limit - len(self.log), (self.log[-1] + self.window - now) if self.log else 0.0


LIMITERS: dict[str, type[TokenBucket | Gcra | FixedWindow | SlidingLog]] = {
    "token-bucket": TokenBucket,
    "gcra": Gcra,
    "fixed-window": FixedWindow,
    "sliding-log": SlidingLog,
}


def make_limiter(kind: str, rate: float, burst: int, now: float) -> Limiter:
    return LIMITERS[kind](rate, max(1, burst), now)


def hint_headers(wait: float, style: str) -> dict[str, str]:
    """The 429's headers for an exact ``wait``: ``ms`` sends ``retry-after-ms`` beside ``Retry-After`` in
    whole seconds; ``seconds`` only the latter (rounded up, at least 1, as most servers do); ``http-date``
    an HTTP-date (whole seconds, rounded up); ``none`` nothing."""
    whole = max(1, math.ceil(wait))
    if style == "ms":
        return {"Retry-After": str(whole), "retry-after-ms": str(max(1, math.ceil(wait * 1000)))}
    if style == "seconds":
        return {"Retry-After": str(whole)}
    if style == "http-date":
        return {"Retry-After": email.utils.formatdate(math.ceil(time.time() + wait), usegmt=True)}
    return {}


def allowance_headers(limiter: Limiter, now: float, rate: float, burst: int, style: str) -> dict[str, str]:
    """What a server advertising its limit sends on every answer, in ``style`` (``FIELD_STYLES``).

    The quota is stated per whole seconds (the IETF draft's ``q`` and ``w`` are whole numbers): ``q`` requests per
    ``w`` seconds, ``w`` the limiter's window (``burst / R``) rounded up, or the next whole number of seconds in
    which ``R`` makes whole requests, so that ``q / w`` is ``R``; failing that ``q`` is rounded up (a client that
    believes a little more meets a few 429s; one that believes less stays under the server for good).
    ``ietf``: ``RateLimit-Policy: "default";q=..;w=..`` and ``RateLimit: "default";r=<left>;t=<reset>``; ``x``:
    ``X-RateLimit-Limit``/``-Remaining``/``-Reset`` (seconds to the reset, rounded up); ``none``: nothing.
    """
    if style == "none":
        return {}
    left, reset = limiter.allowance(now)
    quota, window = _stated_policy(rate, burst)
    if style == "ietf":
        return {
            "RateLimit-Policy": f'"default";q={quota};w={window}',
            "RateLimit": f'"default";r={left};t={math.ceil(reset)}',
        }
    return {
        "X-RateLimit-Limit": str(quota),
        "X-RateLimit-Remaining": str(left),
        "X-RateLimit-Reset": str(math.ceil(reset)),
    }


@functools.lru_cache(maxsize=8)
def _stated_policy(rate: float, burst: int) -> tuple[int, int]:
    """(q, w) for ``allowance_headers``: worked out once per setting, not on every request."""
    window = max(1, math.ceil(burst / rate))
    for seconds in range(window, window + 1000):
        if abs(rate * seconds - round(rate * seconds)) < 1e-9:
            window = seconds
            break
    return math.ceil(rate * window - 1e-9), window
