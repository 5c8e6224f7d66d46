"""Every module-level constant of the retry policy, pinned by the behaviour it stands for.

Mutation tools do not change module-level constants (statuses, methods, defaults), so each one
is stated here as a table: changing any of them (adding or removing a status or a method, moving
a default) fails at least one row. Async rows run in virtual time (trio MockClock).
"""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from dify_mgmt_async import APIConnectionError, APIStatusError, RateLimitError, RetryEvent
from dify_mgmt_async._retry import RetryBudget, RetryConfig, backoff, decide
from tests.conftest import Recorder, make_client

RETRYABLE = (408, 500, 502, 503, 504)
FINAL = (400, 401, 403, 404, 409, 413, 422, 501, 505, 507, 520)
IDEMPOTENT = ("GET", "PUT", "DELETE", "HEAD", "OPTIONS")
NOT_IDEMPOTENT = ("POST", "PATCH")
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
MAYBE_SENT = (httpx.ReadError, httpx.ReadTimeout, httpx.WriteError, httpx.WriteTimeout, httpx.RemoteProtocolError)
NOT_RETRIED = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError, httpx.DecodingError)


class Top(random.Random):
    """An rng whose ``uniform`` is always the upper bound: the backoff ceiling becomes observable."""

    def uniform(self, a: float, b: float) -> float:
        return b


def answer(status: int) -> httpx.Response:
    return httpx.Response(status, json={"error_code": "e", "error": "x"})


class Failing:
    """Raises ``error`` for the first ``times`` requests, then answers 200."""

    def __init__(self, error: type[httpx.RequestError], times: int = 1) -> None:
        self.error = error
        self.times = times
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if len(self.requests) <= self.times:
            raise self.error("boom", request=request)
        return httpx.Response(200, json={})


async def send(server: Any, method: str, **kwargs: Any) -> tuple[httpx.Response, list[RetryEvent]]:
    events: list[RetryEvent] = []
    async with make_client(server, on_retry=events.append, **kwargs) as client:
        response = await client._core.send(method, "/apps")
    return response, events


# --- statuses x methods ------------------------------------------------------------------------------


@pytest.mark.virtual_time
@pytest.mark.anyio
@pytest.mark.parametrize("method", IDEMPOTENT)
@pytest.mark.parametrize("status", RETRYABLE)
async def test_idempotent_method_answered_retryable_status_is_retried_once_then_succeeds(
    method: str, status: int
) -> None:
    server = Recorder(answer(status))
    response, events = await send(server, method)
    assert response.status_code == 200
    assert [r.method for r in server.requests] == [method, method]
    assert [(e.attempt, e.status_code) for e in events] == [(1, status)]


@pytest.mark.virtual_time
@pytest.mark.anyio
@pytest.mark.parametrize("method", NOT_IDEMPOTENT)
@pytest.mark.parametrize("status", RETRYABLE)
async def test_create_answered_retryable_status_is_not_resent(method: str, status: int) -> None:
    server = Recorder(answer(status))
    with pytest.raises(APIStatusError) as caught:
        await send(server, method)
    assert caught.value.status_code == status
    assert len(server.requests) == 1


@pytest.mark.virtual_time
@pytest.mark.anyio
@pytest.mark.parametrize("status", FINAL)
async def test_other_statuses_are_final_even_for_get(status: int) -> None:
    server = Recorder(answer(status))
    with pytest.raises(APIStatusError) as caught:
        await send(server, "GET")
    assert caught.value.status_code == status
    assert len(server.requests) == 1


@pytest.mark.virtual_time
@pytest.mark.anyio
@pytest.mark.parametrize("method", IDEMPOTENT + NOT_IDEMPOTENT)
async def test_429_is_retried_for_every_method(method: str) -> None:
    server = Recorder(httpx.Response(429, headers={"retry-after": "1"}))
    response, events = await send(server, method)
    assert response.status_code == 200
    assert len(server.requests) == 2
    assert [(e.status_code, e.wait) for e in events] == [(429, 1.0)]


# --- transport errors x methods --------------------------------------------------------------------


@pytest.mark.virtual_time
@pytest.mark.anyio
@pytest.mark.parametrize("method", IDEMPOTENT + NOT_IDEMPOTENT)
@pytest.mark.parametrize("error", NEVER_SENT)
async def test_never_sent_errors_are_retried_even_for_a_create(method: str, error: type[httpx.RequestError]) -> None:
    server = Failing(error)
    response, events = await send(server, method)
    assert response.status_code == 200
    assert len(server.requests) == 2
    assert [e.reason for e in events] == [f"{error.__name__} before the request was sent"]


@pytest.mark.virtual_time
@pytest.mark.anyio
@pytest.mark.parametrize("method", IDEMPOTENT)
@pytest.mark.parametrize("error", MAYBE_SENT)
async def test_maybe_sent_errors_are_retried_for_idempotent_methods(
    method: str, error: type[httpx.RequestError]
) -> None:
    server = Failing(error)
    response, events = await send(server, method)
    assert response.status_code == 200
    assert len(server.requests) == 2
    assert [e.reason for e in events] == [error.__name__]


@pytest.mark.virtual_time
@pytest.mark.anyio
@pytest.mark.parametrize("method", NOT_IDEMPOTENT)
@pytest.mark.parametrize("error", MAYBE_SENT)
async def test_maybe_sent_errors_are_not_resent_for_a_create(method: str, error: type[httpx.RequestError]) -> None:
    server = Failing(error)
    with pytest.raises(APIConnectionError) as caught:
        await send(server, method)
    assert isinstance(caught.value.__cause__, error)
    assert len(server.requests) == 1


@pytest.mark.virtual_time
@pytest.mark.anyio
@pytest.mark.parametrize("error", NOT_RETRIED)
async def test_other_transport_errors_are_not_retried_even_for_get(error: type[httpx.RequestError]) -> None:
    server = Failing(error)
    with pytest.raises(APIConnectionError) as caught:
        await send(server, "GET")
    assert isinstance(caught.value.__cause__, error)
    assert len(server.requests) == 1


# --- defaults ------------------------------------------------------------------------------------


@pytest.mark.virtual_time
@pytest.mark.anyio
async def test_default_max_retries_is_2() -> None:
    server = Recorder(status=503, body={"error": "down"})
    with pytest.raises(APIStatusError):
        await send(server, "GET")
    assert len(server.requests) == 3


@pytest.mark.virtual_time
@pytest.mark.anyio
async def test_default_max_rate_limit_retries_is_5() -> None:
    server = Recorder(status=429, body={"error": "slow down"})
    with pytest.raises(RateLimitError):
        await send(server, "GET")
    assert len(server.requests) == 6


@pytest.mark.virtual_time
@pytest.mark.anyio
@pytest.mark.parametrize(("hint", "retried"), [("120", True), ("120.5", False), ("121", False)])
async def test_default_max_retry_wait_is_120_seconds(hint: str, retried: bool) -> None:
    server = Recorder(httpx.Response(429, headers={"retry-after": hint}))
    if retried:
        _, events = await send(server, "GET")
        assert [e.wait for e in events] == [120.0]
    else:
        with pytest.raises(RateLimitError):
            await send(server, "GET")
    assert len(server.requests) == (2 if retried else 1)


def test_default_config_values() -> None:
    """The defaults a caller overrides, as documented in README."""
    config = RetryConfig()
    assert (config.max_retries, config.max_rate_limit_retries, config.max_retry_wait) == (2, 5, 120.0)
    assert (config.backoff_base, config.backoff_cap) == (0.5, 30.0)


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 16.0), (6, 30.0), (10, 30.0)]
)
def test_default_backoff_ceiling_is_half_a_second_doubling_up_to_30(attempt: int, ceiling: float) -> None:
    assert backoff(attempt, RetryConfig(), Top()) == ceiling


@pytest.mark.virtual_time
@pytest.mark.anyio
async def test_client_waits_are_the_default_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client's own randomness drives the backoff: with the upper bound always drawn, waits are 0.5 then 1."""
    from dify_mgmt_async import _core

    monkeypatch.setattr(_core.random, "Random", Top)
    server = Recorder(answer(503), answer(502))
    _, events = await send(server, "GET")
    assert [e.wait for e in events] == [0.5, 1.0]


# --- the retry budget ------------------------------------------------------------------------------


def spends(budget: RetryBudget, *, timeout: bool) -> int:
    count = 0
    while budget.try_spend(timeout=timeout):
        count += 1
    return count


def test_budget_of_100_tokens_allows_20_retries_at_5() -> None:
    budget = RetryBudget()
    assert (budget.capacity, budget.tokens) == (100.0, 100.0)
    assert spends(budget, timeout=False) == 20
    assert budget.tokens == 0.0


def test_budget_allows_10_timeout_retries_at_10() -> None:
    assert spends(RetryBudget(), timeout=True) == 10


def test_budget_exact_cost_is_enough() -> None:
    budget = RetryBudget(capacity=10.0)
    assert budget.try_spend(timeout=True)
    assert not budget.try_spend(timeout=False)
    budget = RetryBudget(capacity=5.0)
    assert not budget.try_spend(timeout=True)
    assert budget.try_spend(timeout=False)
    assert budget.tokens == 0.0


def test_success_refunds_one_token_up_to_capacity() -> None:
    budget = RetryBudget()
    budget.refund()
    assert budget.tokens == 100.0
    spends(budget, timeout=False)
    for expected in (1.0, 2.0, 3.0, 4.0):
        budget.refund()
        assert budget.tokens == expected
        assert not budget.try_spend(timeout=False)
    budget.refund()
    assert budget.try_spend(timeout=False)


@pytest.mark.virtual_time
@pytest.mark.anyio
@pytest.mark.parametrize(
    ("error", "left"), [(httpx.ReadTimeout, 90.0), (httpx.ConnectTimeout, 90.0), (httpx.ReadError, 95.0)]
)
async def test_client_budget_is_charged_per_retry(error: type[httpx.RequestError], left: float) -> None:
    """A retried call gets no refund; a clean call refunds one token, up to the capacity."""
    async with make_client(Failing(error)) as client:
        await client._core.send("GET", "/apps")
        assert client.stats.budget_left == left
        await client._core.send("GET", "/apps")
        assert client.stats.budget_left == left + 1.0


@pytest.mark.virtual_time
@pytest.mark.anyio
async def test_rate_limit_retries_are_not_charged() -> None:
    async with make_client(Recorder(httpx.Response(429, headers={"retry-after": "1"}))) as client:
        await client._core.send("GET", "/apps")
        assert client.stats.budget_left == 100.0
        assert client.stats.retries == 1


@pytest.mark.parametrize("status", RETRYABLE)
def test_decide_table_matches_the_client(status: int) -> None:
    """The pure rule agrees with the rows above: retried for GET, not for POST, final beyond max_retries."""
    config = RetryConfig()
    response = httpx.Response(status)
    get = decide("get", response=response, rate_limit_retries=0, other_retries=1, config=config, rng=Top())
    assert (get.retry, get.wait, get.kind) == (True, 1.0, "status")
    post = decide("POST", response=response, rate_limit_retries=0, other_retries=0, config=config)
    assert (post.retry, post.kind) == (False, "status")
    spent = decide("GET", response=response, rate_limit_retries=0, other_retries=2, config=config)
    assert (spent.retry, spent.reason) == (False, f"{status}, 2 retries used")
