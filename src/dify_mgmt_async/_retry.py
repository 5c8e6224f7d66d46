"""The retry policy: one pure function decides whether an attempt is retried, and after how long.

Rules (README "Retries and rate limits"):

* 429 is retried for every method (the server did not process the request), honouring
  ``retry-after-ms`` and ``Retry-After`` (seconds or HTTP-date); with no hint, exponential
  backoff with full jitter. A hint above ``max_retry_wait`` is not waited out: the error is
  raised at once.
* 408, 500, 502, 503, 504 and network errors are retried for idempotent methods (GET, PUT,
  DELETE, HEAD, OPTIONS).
* POST and PATCH are retried only when the request provably never reached the server: the
  connection could not be made, or no pooled connection became free. A create is never re-sent
  after a 5xx or a read error, since that could duplicate it.

``decide`` is the pure rule; ``RetryPolicy.judge`` applies it to one call: it adds what the rule
cannot know (a one-shot upload, the call's deadline, the client-wide ``RetryBudget``) and the
server's wait that a 429 hands to the rate-limit engine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Literal

import httpx

from ._constants import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    DEFAULT_MAX_RATE_LIMIT_RETRIES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_WAIT,
    RETRY_BUDGET_CAPACITY,
    RETRY_COST,
    SUCCESS_REFUND,
    TIMEOUT_RETRY_COST,
)
from ._errors import parse_retry_after

__all__ = ["Decision", "RetryBudget", "RetryConfig", "RetryPolicy", "backoff", "decide", "never_sent"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUSES = frozenset({408, 500, 502, 503, 504})

# Transport errors raised before any byte of the request left: safe to re-send even a create.
_NOT_SENT: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Errors where the request may have been (partly) received: retried only when idempotent.
_MAYBE_SENT: tuple[type[Exception], ...] = (
    httpx.ReadError,
    httpx.ReadTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,
)


@dataclass(frozen=True)
class RetryConfig:
    """How many retries of each kind, and the longest server-requested wait honoured."""

    max_retries: int = DEFAULT_MAX_RETRIES
    max_rate_limit_retries: int = DEFAULT_MAX_RATE_LIMIT_RETRIES
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT
    backoff_base: float = BACKOFF_BASE
    backoff_cap: float = BACKOFF_CAP


Kind = Literal["rate_limited", "status", "network"]


@dataclass(frozen=True)
class Decision:
    """What to do after an attempt: ``retry`` after ``wait`` seconds, or not, and why."""

    retry: bool
    wait: float
    reason: str
    kind: Kind | None = None
    #: For a 429: the server's hint (seconds), None when it gave none.
    retry_after: float | None = None
    #: For a 429: the server's wait for this request, clamped to ``max_retry_wait`` (None beyond it
    #: or without a hint); the rate-limit engine decides from it, and the hint's precision, what the
    #: other tasks do.
    cooldown: float | None = None


def never_sent(exc: BaseException) -> bool:
    """True when the request provably never reached the server."""
    return isinstance(exc, _NOT_SENT)


def backoff(attempt: int, config: RetryConfig, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)]."""
    # (the exponent capped: from 2**1024 on the product is no float, and any cap is reached long before)
    ceiling = min(config.backoff_cap, config.backoff_base * (2 ** min(attempt, 64)))
    return (rng or random).uniform(0.0, ceiling)


def decide(
    method: str,
    *,
    response: httpx.Response | None = None,
    error: BaseException | None = None,
    rate_limit_retries: int,
    other_retries: int,
    config: RetryConfig,
    rng: random.Random | None = None,
) -> Decision:
    """Decide about one finished attempt (a response, or the transport error it raised).

    ``rate_limit_retries``/``other_retries`` count the retries already made of each kind.
    """
    method = method.upper()
    if response is not None:
        status = response.status_code
        if status == 429:
            hint = parse_retry_after(response.headers)
            if rate_limit_retries >= config.max_rate_limit_retries:
                return Decision(False, 0.0, f"429, {config.max_rate_limit_retries} retries used", "rate_limited", hint)
            if hint is not None and hint > config.max_retry_wait:
                return Decision(
                    False,
                    0.0,
                    f"429 asks for {hint:.0f}s, over max_retry_wait={config.max_retry_wait:.0f}s",
                    "rate_limited",
                    hint,
                )
            wait = hint if hint is not None else backoff(rate_limit_retries, config, rng)
            return Decision(True, wait, "429 rate limited", "rate_limited", hint)
        if status in RETRYABLE_STATUSES:
            if method not in IDEMPOTENT_METHODS:
                return Decision(False, 0.0, f"{status} on {method}: may have been processed, not re-sent", "status")
            if other_retries >= config.max_retries:
                return Decision(False, 0.0, f"{status}, {config.max_retries} retries used", "status")
            hint = parse_retry_after(response.headers) if status == 503 else None
            wait = hint if hint is not None and hint <= config.max_retry_wait else backoff(other_retries, config, rng)
            return Decision(True, wait, f"{status} {response.reason_phrase}".strip(), "status")
        return Decision(False, 0.0, f"status {status} is final")
    if error is None:
        raise ValueError("decide() needs a response or an error")
    if never_sent(error):
        reason = f"{type(error).__name__} before the request was sent"
    elif isinstance(error, _MAYBE_SENT):
        if method not in IDEMPOTENT_METHODS:
            return Decision(False, 0.0, f"{type(error).__name__} on {method} after sending: not re-sent", "network")
        reason = f"{type(error).__name__}"
    else:
        return Decision(False, 0.0, f"{type(error).__name__} is not retried", "network")
    if other_retries >= config.max_retries:
        return Decision(False, 0.0, f"{reason}, {config.max_retries} retries used", "network")
    return Decision(True, backoff(other_retries, config, rng), reason, "network")


class RetryBudget:
    """A token bucket capping retries of 5xx and network errors client-wide (botocore's retry quota).

    429 retries are not charged: the gate already makes the whole client back off, and the
    server asked for exactly that retry.
    """

    def __init__(self, capacity: float = RETRY_BUDGET_CAPACITY) -> None:
        self.capacity = capacity
        self.tokens = capacity

    def try_spend(self, *, timeout: bool) -> bool:
        cost = TIMEOUT_RETRY_COST if timeout else RETRY_COST
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True

    def refund(self) -> None:
        self.tokens = min(self.capacity, self.tokens + SUCCESS_REFUND)


@dataclass(frozen=True)
class RetryPolicy:
    """``decide`` for one call: the view's config, and the budget and randomness its client shares."""

    config: RetryConfig
    budget: RetryBudget
    rng: random.Random

    def judge(
        self,
        method: str,
        *,
        response: httpx.Response | None,
        error: BaseException | None,
        rate_limit_retries: int,
        other_retries: int,
        replayable: bool,
        time_left: float | None,
    ) -> Decision:
        """The decision about a failed attempt, with the cooldown to apply and any reason to stop."""
        decision = decide(
            method,
            response=response,
            error=error,
            rate_limit_retries=rate_limit_retries,
            other_retries=other_retries,
            config=self.config,
            rng=self.rng,
        )
        if decision.kind == "rate_limited":
            # The engine hears of the wait this task takes. A hint beyond max_retry_wait is not
            # passed on: this call fails fast, and so will others if the server insists.
            cooldown = decision.wait if decision.retry else decision.retry_after
            if cooldown is not None and cooldown <= self.config.max_retry_wait:
                decision = replace(decision, cooldown=cooldown)
        if not decision.retry:
            return decision
        refusal = self._refusal(decision, error, replayable=replayable, time_left=time_left)
        if refusal is not None:
            return replace(decision, retry=False, reason=f"{decision.reason}; not retried: {refusal}")
        return decision

    def _refusal(
        self, decision: Decision, error: BaseException | None, *, replayable: bool, time_left: float | None
    ) -> str | None:
        if not replayable:
            return "the upload body is a one-shot stream that cannot be replayed"
        if time_left is not None and decision.wait > time_left:
            return "the per-call timeout would pass"
        if decision.kind != "rate_limited" and not self.budget.try_spend(
            timeout=isinstance(error, httpx.TimeoutException)
        ):
            return "the client's retry budget is exhausted"
        return None
