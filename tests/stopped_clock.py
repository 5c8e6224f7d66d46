"""A stopped loop clock for tests of the rate-limit engine and the shared state: the test moves it."""

from __future__ import annotations


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
