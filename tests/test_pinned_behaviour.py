"""Exact values, boundaries and messages of the retry policy, errors, pagination, validation and uploads.

Each test kills mutants that survived the rest of the suite (issue 15): it asserts the behaviour
with exact numbers and strings, not bounds. Async tests run in virtual time.
"""

from __future__ import annotations

import enum
import io
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from dify_mgmt_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryEvent,
)
from dify_mgmt_async._errors import from_response, parse_retry_after
from dify_mgmt_async._generated.types import UNSET, Unset
from dify_mgmt_async._pagination import AsyncPager, has_next_page, identity
from dify_mgmt_async._retry import Decision, RetryBudget, RetryConfig, RetryPolicy, backoff, decide
from dify_mgmt_async._validation import array, boolean, choice, future_timestamp, ident, integer, number, text
from tests.conftest import DOCUMENT, Recorder, make_client


class Top(random.Random):
    """``uniform`` is always its upper bound."""

    def uniform(self, a: float, b: float) -> float:
        return b


CONFIG = RetryConfig(max_retries=2, max_rate_limit_retries=3, max_retry_wait=10.0)


def judge(policy: RetryPolicy, status: int, headers: dict[str, str] | None = None, **kwargs: Any) -> Decision:
    args: dict[str, Any] = {
        "rate_limit_retries": 0,
        "other_retries": 0,
        "replayable": True,
        "time_left": None,
        "error": None,
    }
    args.update(kwargs)
    return policy.judge("GET", response=httpx.Response(status, headers=headers), **args)


def policy(budget: RetryBudget | None = None) -> RetryPolicy:
    return RetryPolicy(CONFIG, budget or RetryBudget(), Top())


# --- the retry rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("hint", "wait"), [("7", 7.0), ("10", 10.0), ("10.5", 0.5), ("soon", 0.5)])
def test_503_retry_after_is_honoured_up_to_max_retry_wait(hint: str, wait: float) -> None:
    """A 503's Retry-After is the wait when it is at most max_retry_wait; else the backoff (0.5 with Top)."""
    decision = decide(
        "GET",
        response=httpx.Response(503, headers={"retry-after": hint}),
        rate_limit_retries=0,
        other_retries=0,
        config=CONFIG,
        rng=Top(),
    )
    assert (decision.retry, decision.wait, decision.reason) == (True, wait, "503 Service Unavailable")


@pytest.mark.parametrize("status", [408, 500, 502, 504])
def test_retry_after_on_other_statuses_is_ignored(status: int) -> None:
    response = httpx.Response(status, headers={"retry-after": "7"})
    decision = decide("GET", response=response, rate_limit_retries=0, other_retries=1, config=CONFIG, rng=Top())
    assert (decision.retry, decision.wait) == (True, 1.0)


@pytest.mark.virtual_time
@pytest.mark.anyio
async def test_client_waits_a_503s_retry_after() -> None:
    events: list[RetryEvent] = []
    server = Recorder(httpx.Response(503, headers={"retry-after": "7"}))
    async with make_client(server, on_retry=events.append) as client:
        await client._core.send("GET", "/apps")
    assert [(e.wait, e.status_code, e.reason) for e in events] == [(7.0, 503, "503 Service Unavailable")]


@pytest.mark.parametrize(
    ("headers", "retried", "wait", "reason"),
    [
        ({"retry-after": "10"}, True, 10.0, "429 rate limited"),
        ({"retry-after": "0"}, True, 0.0, "429 rate limited"),
        ({"retry-after": "10.4"}, False, 0.0, "429 asks for 10s, over max_retry_wait=10s"),
        ({"retry-after": "300"}, False, 0.0, "429 asks for 300s, over max_retry_wait=10s"),
        ({}, True, 0.5, "429 rate limited"),
    ],
)
def test_429_hint_boundary_is_max_retry_wait(headers: dict[str, str], retried: bool, wait: float, reason: str) -> None:
    response = httpx.Response(429, headers=headers)
    decision = decide("POST", response=response, rate_limit_retries=0, other_retries=5, config=CONFIG, rng=Top())
    hint = parse_retry_after(headers)
    assert decision == Decision(retried, wait, reason, "rate_limited", hint)


def test_429_retries_run_out_at_max_rate_limit_retries() -> None:
    response = httpx.Response(429, headers={"retry-after": "2"})
    last = decide("GET", response=response, rate_limit_retries=2, other_retries=0, config=CONFIG)
    assert (last.retry, last.wait) == (True, 2.0)
    over = decide("GET", response=response, rate_limit_retries=3, other_retries=0, config=CONFIG)
    assert over == Decision(False, 0.0, "429, 3 retries used", "rate_limited", 2.0)


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (4, 9.0), (9, 9.0), (1024, 9.0), (10**6, 9.0)]
)
def test_backoff_ceiling_doubles_per_attempt_up_to_the_cap(attempt: int, ceiling: float) -> None:
    config = RetryConfig(backoff_base=1.0, backoff_cap=9.0)
    assert backoff(attempt, config, Top()) == ceiling


def test_backoff_draws_from_the_injected_rng_between_zero_and_the_ceiling() -> None:
    config = RetryConfig(backoff_base=1.0, backoff_cap=100.0)
    assert backoff(3, config, random.Random(7)) == random.Random(7).uniform(0.0, 8.0)

    class Low(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return a

    assert backoff(3, config, Low()) == 0.0


def test_backoff_without_rng_uses_the_module_random(monkeypatch: pytest.MonkeyPatch) -> None:
    from dify_mgmt_async import _retry

    monkeypatch.setattr(_retry.random, "uniform", lambda a, b: (a, b))
    assert backoff(2, RetryConfig(), None) == (0.0, 2.0)  # type: ignore[comparison-overlap]


@pytest.mark.parametrize(
    ("method", "error", "decision"),
    [
        ("post", httpx.ConnectError("x"), Decision(True, 1.0, "ConnectError before the request was sent", "network")),
        ("GET", httpx.ReadError("x"), Decision(True, 1.0, "ReadError", "network")),
        (
            "POST",
            httpx.ReadError("x"),
            Decision(False, 0.0, "ReadError on POST after sending: not re-sent", "network"),
        ),
        (
            "GET",
            httpx.UnsupportedProtocol("x"),
            Decision(False, 0.0, "UnsupportedProtocol is not retried", "network"),
        ),
    ],
)
def test_network_decisions(method: str, error: Exception, decision: Decision) -> None:
    assert decide(method, error=error, rate_limit_retries=0, other_retries=1, config=CONFIG, rng=Top()) == decision


@pytest.mark.parametrize("error", [httpx.ConnectError("x"), httpx.ReadError("x")])
def test_network_retries_run_out_at_max_retries(error: Exception) -> None:
    decision = decide("GET", error=error, rate_limit_retries=0, other_retries=2, config=CONFIG)
    reason = "ConnectError before the request was sent" if isinstance(error, httpx.ConnectError) else "ReadError"
    assert decision == Decision(False, 0.0, f"{reason}, 2 retries used", "network")


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
def test_status_retries_run_out_at_max_retries(status: int) -> None:
    response = httpx.Response(status, headers={"retry-after": "1"})
    decision = decide("GET", response=response, rate_limit_retries=0, other_retries=2, config=CONFIG)
    assert decision == Decision(False, 0.0, f"{status}, 2 retries used", "status")


@pytest.mark.virtual_time
@pytest.mark.anyio
async def test_the_error_after_the_last_retry_says_why_it_stopped() -> None:
    server = Recorder(status=503, body={"error": "down"})
    async with make_client(server, max_retries=1) as client:
        with pytest.raises(InternalServerError) as caught:
            await client._core.send("GET", "/apps")
    assert caught.value.__notes__ == ["503, 1 retries used"]
    server = Recorder(status=404, body={"error": "gone"})
    async with make_client(server) as client:
        with pytest.raises(NotFoundError) as missing:
            await client._core.send("GET", "/apps")
    assert not hasattr(missing.value, "__notes__")


def test_status_decisions_name_the_status_and_method() -> None:
    final = decide("GET", response=httpx.Response(404), rate_limit_retries=0, other_retries=0, config=CONFIG)
    assert final == Decision(False, 0.0, "status 404 is final")
    post = decide("post", response=httpx.Response(502), rate_limit_retries=0, other_retries=0, config=CONFIG)
    assert post == Decision(False, 0.0, "502 on POST: may have been processed, not re-sent", "status")


def test_decide_needs_a_response_or_an_error() -> None:
    with pytest.raises(ValueError, match=r"^decide\(\) needs a response or an error$"):
        decide("GET", rate_limit_retries=0, other_retries=0, config=CONFIG)


# --- RetryPolicy.judge: cooldown and refusals --------------------------------------------------------


def test_judge_429_cooldown_is_the_wait_taken() -> None:
    decision = judge(policy(), 429, {"retry-after": "4"})
    assert (decision.retry, decision.wait, decision.cooldown, decision.retry_after) == (True, 4.0, 4.0, 4.0)
    backed_off = judge(policy(), 429, rate_limit_retries=1)
    assert (backed_off.wait, backed_off.cooldown, backed_off.retry_after) == (1.0, 1.0, None)


def test_judge_429_out_of_retries_still_cools_down_for_the_hint() -> None:
    decision = judge(policy(), 429, {"retry-after": "10"}, rate_limit_retries=3)
    assert (decision.retry, decision.cooldown) == (False, 10.0)
    no_hint = judge(policy(), 429, rate_limit_retries=3)
    assert (no_hint.retry, no_hint.cooldown) == (False, None)


def test_judge_429_over_max_retry_wait_closes_nothing() -> None:
    decision = judge(policy(), 429, {"retry-after": "11"})
    assert (decision.retry, decision.cooldown, decision.retry_after) == (False, None, 11.0)


def test_judge_status_retries_have_no_cooldown() -> None:
    assert judge(policy(), 503).cooldown is None


def test_judge_refuses_a_one_shot_body() -> None:
    decision = judge(policy(), 503, replayable=False)
    assert decision.retry is False
    assert decision.reason == (
        "503 Service Unavailable; not retried: the upload body is a one-shot stream that cannot be replayed"
    )
    assert decision.kind == "status"


@pytest.mark.parametrize(("time_left", "retried"), [(0.5, True), (0.49, False), (None, True)])
def test_judge_refuses_a_wait_beyond_the_deadline(time_left: float | None, retried: bool) -> None:
    decision = judge(policy(), 503, time_left=time_left)  # the wait is 0.5 (Top)
    assert decision.retry is retried
    if not retried:
        assert decision.reason == "503 Service Unavailable; not retried: the per-call timeout would pass"


def test_judge_charges_the_budget_for_status_and_network_retries_only() -> None:
    budget = RetryBudget(capacity=10.0)
    p = policy(budget)
    assert judge(p, 429, {"retry-after": "1"}).retry
    assert budget.tokens == 10.0
    assert judge(p, 503).retry
    assert budget.tokens == 5.0
    timeout = p.judge(
        "GET",
        response=None,
        error=httpx.ReadTimeout("x"),
        rate_limit_retries=0,
        other_retries=0,
        replayable=True,
        time_left=None,
    )
    assert timeout.retry is False  # a timeout costs 10, 5 are left
    assert timeout.reason == "ReadTimeout; not retried: the client's retry budget is exhausted"
    assert budget.tokens == 5.0


# --- Retry-After parsing and errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "soon", "retry-after": "3"}, 3.0),
        ({"retry-after-ms": "soon"}, None),
        ({"retry-after-ms": "inf", "retry-after": "3"}, 3.0),
        ({"retry-after-ms": "nan", "retry-after": "3"}, 3.0),
        ({"retry-after-ms": "-5"}, 0.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": " 4 "}, 4.0),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "Wed, 99 Foo 2015 07:28:00 GMT"}, None),
        ({"retry-after": "Mon, 01 Jan 2024 99999999999:00:00 GMT"}, None),  # was a raw OverflowError
    ],
)
def test_parse_retry_after_edges(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(httpx.Headers(headers)) == expected


def test_parse_retry_after_http_date_counts_from_the_given_now() -> None:
    headers = {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}
    stamp = 1445412480.0  # that date
    assert parse_retry_after(headers, now=stamp - 30.0) == 30.0
    assert parse_retry_after(headers, now=stamp + 30.0) == 0.0


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Shanghai", "UTC"])
@pytest.mark.parametrize(
    "date", ["Wed Oct 21 07:28:00 2015", "Wed, 21 Oct 2015 07:28:00 GMT", "Wednesday, 21-Oct-15 07:28:00 GMT"]
)
def test_parse_retry_after_reads_every_http_date_form_as_gmt(
    monkeypatch: pytest.MonkeyPatch, zone: str, date: str
) -> None:
    """RFC 9110's three date forms, whatever the machine's time zone. The asctime form carries no zone and was read
    as local time: 30 s became 18,030 s in New York, and 0 in Shanghai."""
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        assert parse_retry_after({"retry-after": date}, now=1445412480.0 - 30.0) == 30.0
    finally:
        monkeypatch.undo()
        time.tzset()


def test_parse_retry_after_http_date_defaults_to_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from dify_mgmt_async import _errors

    monkeypatch.setattr(_errors.time, "time", lambda: 1445412480.0 - 12.0)
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 12.0


def status_error(status: int, method: str = "GET", **kwargs: Any) -> APIStatusError:
    request = httpx.Request(method, "https://dify.example.com/api/apps/a1?page=2&token=x")
    return from_response(httpx.Response(status, request=request, **kwargs))


def test_str_of_a_status_error_names_status_code_message_method_and_url_without_query() -> None:
    error = status_error(404, "DELETE", json={"error_code": "app_not_found", "error": "no such app"})
    assert str(error) == "404 app_not_found: no such app (DELETE https://dify.example.com/api/apps/a1)"
    assert (error.error_code, error.message, error.body) == (
        "app_not_found",
        "no such app",
        {"error_code": "app_not_found", "error": "no such app"},
    )
    bare = status_error(500, text="")
    assert str(bare) == "500: Internal Server Error (GET https://dify.example.com/api/apps/a1)"
    assert bare.body is None and bare.error_code is None


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"code": "quota", "message": "too many", "status": 400}, "quota", "too many"),
        ({"error_code": 7, "error": {"message": "nested"}}, "7", "nested"),
        ({"error_code": "x", "code": "y", "error": "e", "message": "m"}, "x", "e"),
        ({"something": "else"}, None, "Bad Request"),
        ([1, 2], None, "Bad Request"),
        ("   ", None, "Bad Request"),
        (" spaced \n  out\ttext ", None, "spaced out text"),
    ],
)
def test_code_and_message_from_the_body(body: Any, code: str | None, message: str) -> None:
    kwargs = {"text": body} if isinstance(body, str) else {"json": body}
    error = status_error(400, **kwargs)
    assert (error.error_code, error.message) == (code, message)


@pytest.mark.parametrize(("length", "suffix"), [(299, ""), (300, ""), (301, "…"), (5000, "…")])
def test_text_message_is_cut_at_exactly_300_characters(length: int, suffix: str) -> None:
    error = status_error(502, text="x" * length)
    assert error.message == "x" * min(length, 300) + suffix


def test_unregistered_status_message_is_http_and_the_code() -> None:
    assert status_error(520).message == "HTTP 520"
    assert status_error(520, text="not json {").body == "not json {"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (429, RateLimitError),
        (418, APIStatusError),
        (499, APIStatusError),
        (500, InternalServerError),
        (503, InternalServerError),
        (599, InternalServerError),
    ],
)
def test_error_class_by_status(status: int, cls: type[APIStatusError]) -> None:
    error = status_error(status)
    assert type(error) is cls
    assert error.status_code == status
    assert error.request is not None and error.request.method == "GET"


def test_rate_limit_error_keeps_the_hint() -> None:
    error = status_error(429, headers={"retry-after": "9"})
    assert isinstance(error, RateLimitError) and error.retry_after == 9.0
    assert error.headers["retry-after"] == "9"


def test_connection_error_default_messages() -> None:
    assert str(APIConnectionError()) == "Connection error."
    assert str(APITimeoutError()) == "Request timed out."
    assert APITimeoutError().message == "Request timed out."


# --- pagination ---------------------------------------------------------------------------------------


@dataclass
class Page:
    data: list[Any]
    limit: int = 0
    total: int | Unset = UNSET
    has_more: bool | Unset = UNSET


@dataclass
class Item:
    id: Any
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **self.extra}


@pytest.mark.parametrize(
    ("page", "number", "requested", "more"),
    [
        (Page([1, 2], limit=2), 1, None, True),  # exactly full, no has_more or total: ask for the next
        (Page([1], limit=2), 1, None, False),
        (Page([1, 2], limit=0), 1, 3, False),  # the requested limit counts when the page has none
        (Page([1, 2, 3], limit=0), 1, 3, True),
        (Page([1, 2], limit=0), 1, None, True),  # neither: a page is as full as it is
        (Page([1, 2], limit=2, total=4), 1, None, True),
        (Page([1, 2], limit=2, total=4), 2, None, False),
        (Page([1, 2], limit=2, total=5), 2, None, True),
        (Page([1, 2], limit=2, total=99, has_more=False), 1, None, False),
        (Page([], limit=2, total=0, has_more=True), 1, None, True),
    ],
)
def test_has_next_page(page: Page, number: int, requested: int | None, more: bool) -> None:
    assert has_next_page(page, number, requested) is more


def pager(pages: dict[int, Page], kwargs: dict[str, Any]) -> tuple[AsyncPager[Any, Any], list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    async def fetch(args: dict[str, Any]) -> Page:
        calls.append(args)
        return pages.get(args.get("page", 1), Page([]))

    return AsyncPager(fetch, kwargs), calls


@pytest.mark.anyio
async def test_pager_follows_exactly_full_pages_and_passes_the_limit() -> None:
    pages = {1: Page([Item(1), Item(2)]), 2: Page([Item(3), Item(4)]), 3: Page([Item(5)])}
    p, calls = pager(pages, {"limit": 2, "keyword": "k"})
    assert [item.id async for item in p] == [1, 2, 3, 4, 5]
    assert calls == [{"limit": 2, "keyword": "k", "page": n} for n in (1, 2, 3)]


@pytest.mark.anyio
async def test_pager_requested_limit_ends_a_short_page() -> None:
    pages = {1: Page([Item(1), Item(2)]), 2: Page([Item(3)])}
    p, calls = pager(pages, {"limit": 3})
    assert [item.id async for item in p] == [1, 2]
    assert len(calls) == 1


@pytest.mark.anyio
async def test_pager_starts_at_the_given_page() -> None:
    pages = {3: Page([Item(1)], limit=5)}
    p, calls = pager(pages, {"page": 3})
    assert [item.id async for item in p] == [1]
    assert [c["page"] for c in calls] == [3]
    p, calls = pager(pages, {"page": "3"})
    assert [item.id async for item in p] == []
    assert [c["page"] for c in calls] == [1]


@pytest.mark.anyio
async def test_pager_await_is_one_page_with_the_kwargs_as_given() -> None:
    p, calls = pager({}, {"limit": 2})
    page = await p
    assert page == Page([])
    assert calls == [{"limit": 2}]


@pytest.mark.anyio
async def test_pager_stops_after_three_stale_pages_in_a_row() -> None:
    same = Page([Item(1), Item(2)], limit=2)
    p, calls = pager(dict.fromkeys(range(1, 20), same), {})
    assert [item.id async for item in p] == [1, 2]
    assert len(calls) == 4  # one new page, then three with nothing new


@pytest.mark.anyio
async def test_pager_one_stale_page_does_not_stop_it() -> None:
    pages = {
        1: Page([Item(1), Item(2)], limit=2),
        2: Page([Item(1), Item(2)], limit=2),
        3: Page([Item(2), Item(3)], limit=2),
        4: Page([Item(3), Item(4)], limit=2),
        5: Page([Item(4), Item(4)], limit=2),
        6: Page([Item(9)], limit=2),
    }
    p, calls = pager(pages, {})
    assert [item.id async for item in p] == [1, 2, 3, 4, 9]
    assert len(calls) == 6


def test_identity() -> None:
    assert identity(Item("a")) == "a"
    assert identity(Item(0)) == 0
    assert identity(Item(None, {"n": 1})) == ("content", '{"id": null, "n": 1}')
    assert identity(Item(["x"])) == ("content", '{"id": ["x"]}')
    assert identity({"b": 1, "a": 2}) == ("content", '{"a": 2, "b": 1}')


# --- validation ---------------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: text("name", 5), "name: must be a string (got 5)"),
        (lambda: text("name", None, True), "name: is required"),
        (lambda: text("name", "", min_length=1), "name: must not be empty (got '')"),
        (lambda: text("name", "ab", min_length=3), "name: must be at least 3 characters (got 'ab')"),
        (lambda: text("name", "abcd", max_length=3), "name: must be at most 3 characters (got 'abcd')"),
        (lambda: text("name", "b", pattern="^a$"), "name: must match ^a$ (got 'b')"),
        (lambda: text("name", "a\n", pattern="^a$"), "name: must match ^a$ (got 'a\\n')"),
        (lambda: text("name", "\ud800"), "name: must be valid Unicode (it holds a lone surrogate) (got '\\ud800')"),
        (lambda: integer("limit", True), "limit: must be an integer (got True)"),
        (lambda: integer("limit", 1.0), "limit: must be an integer (got 1.0)"),
        (lambda: integer("limit", None, True), "limit: is required"),
        (lambda: integer("limit", 0, minimum=1, maximum=100), "limit: must be between 1 and 100 (got 0)"),
        (lambda: integer("limit", 101, minimum=1, maximum=100), "limit: must be between 1 and 100 (got 101)"),
        (lambda: integer("page", 0, minimum=1), "page: must be at least 1 (got 0)"),
        (lambda: integer("page", 11, maximum=10), "page: must be at most 10 (got 11)"),
        (lambda: boolean("enabled", "yes"), "enabled: must be a bool (got 'yes')"),
        (lambda: boolean("enabled", 1), "enabled: must be a bool (got 1)"),
        (lambda: boolean("enabled", None, True), "enabled: is required"),
        (lambda: ident("app_id", None), "app_id: is required"),
        (lambda: ident("app_id", 5), "app_id: must be a str or uuid.UUID (got 5)"),
        (lambda: ident("app_id", " "), "app_id: must not be empty (got ' ')"),
        (lambda: ident("app_id", "."), "app_id: must not be '.' or '..' (got '.')"),
        (lambda: ident("app_id", ".."), "app_id: must not be '.' or '..' (got '..')"),
        (lambda: ident("app_id", " .. "), "app_id: must not be '.' or '..' (got ' .. ')"),
        (
            lambda: ident("app_id", "a\udc00"),
            "app_id: must be valid Unicode (it holds a lone surrogate) (got 'a\\udc00')",
        ),
        (lambda: choice("color", "green", enum=Color), "color: must be one of 'red', 'blue' (got 'green')"),
        (lambda: choice("color", None, True, enum=Color), "color: is required"),
        (lambda: number("score", None, True), "score: is required"),
        (lambda: number("score", UNSET, True), "score: is required"),
        (lambda: number("score", True), "score: must be a finite number (got True)"),
        (lambda: number("score", "1"), "score: must be a finite number (got '1')"),
        (lambda: number("score", float("nan")), "score: must be a finite number (got nan)"),
        (lambda: number("score", float("inf")), "score: must be a finite number (got inf)"),
        (lambda: number("score", float("-inf")), "score: must be a finite number (got -inf)"),
        (lambda: number("score", 0.49, minimum=0.5), "score: must be at least 0.5 (got 0.49)"),
        (lambda: number("score", 1.01, maximum=1), "score: must be at most 1 (got 1.01)"),
        (lambda: array("ids", None, True, item=text), "ids: is required"),
        (lambda: array("ids", UNSET, True, item=text), "ids: is required"),
        (lambda: array("ids", "ab", item=text), "ids: must be a list (got 'ab')"),
        (lambda: array("ids", b"ab", item=text), "ids: must be a list (got b'ab')"),
        (lambda: array("ids", {"a"}, item=text), "ids: must be a list (got {'a'})"),
        (lambda: array("ids", ["a", 5], item=text), "ids[1]: must be a string (got 5)"),
        (lambda: array("ids", ["a", None], item=text), "ids[1]: is required"),
        (lambda: text("name", "x" * 200), None),
    ],
)
def test_validation_messages_name_the_argument(call: Any, message: str | None) -> None:
    if message is None:
        assert call() == "x" * 200
        return
    with pytest.raises(InvalidArgumentError) as caught:
        call()
    assert str(caught.value) == message


def test_validation_message_shows_at_most_80_characters_of_the_value() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        text("name", "y" * 200, max_length=100)
    assert str(caught.value) == "name: must be at most 100 characters (got '" + "y" * 79 + ")"


@pytest.mark.parametrize(
    ("call", "value"),
    [
        (lambda: boolean("b", True), True),
        (lambda: boolean("b", False, True), False),
        (lambda: boolean("b", None), UNSET),
        (lambda: boolean("b", UNSET), UNSET),
        (lambda: integer("n", 1, minimum=1, maximum=100), 1),
        (lambda: integer("n", 100, minimum=1, maximum=100), 100),
        (lambda: integer("n", 1, minimum=1), 1),
        (lambda: integer("n", 10, maximum=10), 10),
        (lambda: integer("n", None), UNSET),
        (lambda: text("s", "abc", min_length=3, max_length=3, pattern="^a"), "abc"),
        (lambda: text("s", UNSET), UNSET),
        (lambda: text("s", "xay", pattern="a"), "xay"),
        (lambda: text("s", "a$", pattern="a\\$"), "a$"),
        (lambda: ident("id", "a.b"), "a.b"),
        (lambda: ident("id", "..."), "..."),
        (lambda: ident("id", uuid.UUID(int=1)), "00000000-0000-0000-0000-000000000001"),
        (lambda: choice("c", "red", enum=Color), Color.RED),
        (lambda: choice("c", Color.BLUE, enum=Color), Color.BLUE),
        (lambda: choice("c", None, enum=Color), UNSET),
        (lambda: number("x", 0.5, minimum=0.5, maximum=1), 0.5),
        (lambda: number("x", 1, minimum=0.5, maximum=1), 1),
        (lambda: number("x", -2.5), -2.5),
        (lambda: number("x", None), UNSET),
        (lambda: number("x", UNSET), UNSET),
        (lambda: array("ids", ("a", "b"), item=text), ["a", "b"]),
        (lambda: array("ids", [], True, item=text), []),
        (lambda: array("ids", None, item=text), UNSET),
        (lambda: array("ids", UNSET, item=text), UNSET),
    ],
)
def test_validation_accepts_and_converts(call: Any, value: Any) -> None:
    result = call()
    assert result == value
    assert type(result) is type(value)


# --- uploads ------------------------------------------------------------------------------------------


class Pipe(io.RawIOBase):
    """A readable, non-seekable binary stream (like a pipe or a socket file)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.name = "/tmp/from-a-pipe.txt"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.virtual_time
@pytest.mark.anyio
async def test_non_seekable_file_object_is_streamed_once_and_never_resent() -> None:
    server = Recorder(status=201, body=DOCUMENT)
    async with make_client(server) as dify:
        await dify.datasets.upload_document("d1", Pipe(b"piped bytes"))
    part = server.parts()["file"]
    assert part.get_payload(decode=True) == b"piped bytes"
    assert part.get_param("filename", header="content-disposition") == "from-a-pipe.txt"
    assert "content-length" not in server.requests[0].headers

    def refuse(request: httpx.Request) -> httpx.Response:
        server.requests.append(request)
        raise httpx.ConnectError("refused", request=request)

    server.requests.clear()
    async with make_client(refuse) as dify:
        with pytest.raises(APIConnectionError) as caught:
            await dify.datasets.upload_document("d1", Pipe(b"piped"))
    assert len(server.requests) == 1
    assert caught.value.__notes__[-1].endswith(
        "not retried: the upload body is a one-shot stream that cannot be replayed"
    )


@pytest.mark.anyio
async def test_quote_and_backslash_in_a_filename_are_escaped() -> None:
    server = Recorder(status=201, body=DOCUMENT)
    async with make_client(server, max_retries=0) as dify:
        await dify.datasets.upload_document("d1", b"data", filename='my "best" file.txt')
    body = server.requests[0].content
    assert b'Content-Disposition: form-data; name="file"; filename="my %22best%22 file.txt"\r\n' in body
    assert server.requests[0].headers["content-length"] == str(len(body))


async def _async_progress(sent: int, total: int | None) -> None: ...


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filename": 123}, "filename: must be a string (got 123)"),
        (
            {"filename": "a\ud800.txt"},
            "filename: must be valid Unicode (it holds a lone surrogate) (got 'a\\ud800.txt')",
        ),
        ({"filename": "a.txt", "content_type": 5}, "content_type: must be a string (got 5)"),
        (
            {"filename": "a.txt", "on_progress": 5},
            "on_progress: must be a function called as on_progress(sent, total) (got 5)",
        ),
        (  # its coroutines would be dropped: the hook never run
            {"filename": "a.txt", "on_progress": _async_progress},
            "on_progress: must be a plain function; it is called, not awaited, as the body is sent, so an async "
            f"function would never run (got {_async_progress!r:.80})",
        ),
    ],
)
async def test_bad_upload_arguments_are_refused_before_sending(kwargs: dict[str, Any], message: str) -> None:
    """Each was a raw TypeError or UnicodeEncodeError (on_progress's only once the body was going out)."""
    server = Recorder(status=201, body=DOCUMENT)
    async with make_client(server) as dify:
        with pytest.raises(InvalidArgumentError) as caught:
            await dify.datasets.upload_document("d1", b"data", **kwargs)
    assert str(caught.value) == message
    assert server.requests == []


@pytest.mark.anyio
async def test_a_file_objects_own_name_with_a_lone_surrogate_is_refused_before_sending() -> None:
    """A name taken from ``handle.name`` (a file on disk whose name is not UTF-8) is checked as a given one is."""
    handle = io.BytesIO(b"data")
    handle.name = "/tmp/a\udc80.txt"
    server = Recorder(status=201, body=DOCUMENT)
    async with make_client(server) as dify:
        with pytest.raises(InvalidArgumentError) as caught:
            await dify.datasets.upload_document("d1", handle)
    assert str(caught.value) == "filename: must be valid Unicode (it holds a lone surrogate) (got 'a\\udc80.txt')"
    assert server.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize("name", [".", "..", "a/b", "a\\b", "a\rb", "a\nb", "a\0b"])
async def test_filename_must_be_a_bare_name(name: str) -> None:
    server = Recorder(status=201, body=DOCUMENT)
    async with make_client(server) as dify:
        with pytest.raises(InvalidArgumentError) as caught:
            await dify.datasets.upload_document("d1", b"data", filename=name)
    assert str(caught.value) == f"filename: must be a bare file name (got {name!r})"
    assert server.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize("dataset_id", [".", "..", ""])
async def test_dot_ids_are_refused_before_sending(dataset_id: str) -> None:
    server = Recorder(status=201, body=DOCUMENT)
    async with make_client(server) as dify:
        with pytest.raises(InvalidArgumentError, match=r"^dataset_id: "):
            await dify.datasets.upload_document(dataset_id, b"data", filename="a.txt")
    assert server.requests == []


# --- stats --------------------------------------------------------------------------------------------


@pytest.mark.virtual_time
@pytest.mark.anyio
async def test_stats_cooldown_seconds_is_the_time_the_gate_was_closed() -> None:
    """An exact (millisecond) hint closes the gate for exactly that long; the closed time adds up."""
    server = Recorder(
        httpx.Response(429, headers={"retry-after-ms": "2000"}),
        httpx.Response(429, headers={"retry-after-ms": "1500"}),
    )
    async with make_client(server) as client:
        assert client.stats.cooldown_seconds == 0.0
        await client._core.send("GET", "/apps")
        stats = client.stats
    assert stats.cooldown_seconds == 3.5
    assert (stats.rate_limited, stats.retries, stats.requests) == (2, 2, 3)


# --- validation of objects ----------------------------------------------------------------------------


def process_rule(value: object, required: bool = False) -> Any:
    from dify_mgmt_async._generated.models import ProcessRule
    from dify_mgmt_async._resources import _PROCESS_RULE_FIELDS
    from dify_mgmt_async._validation import model

    return model("process_rule", value, required, model=ProcessRule, fields=_PROCESS_RULE_FIELDS)


def free_form(value: object) -> Any:
    from dify_mgmt_async._generated.models import ProviderCredentialsUpdateCredentials
    from dify_mgmt_async._validation import model

    return model("credentials", value, True, model=ProviderCredentialsUpdateCredentials, fields=None)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: process_rule({"chunk_sise": 5}),
            "process_rule: unknown field(s) chunk_sise; known: chunk_size, chunk_overlap, separator "
            "(got {'chunk_sise': 5})",
        ),
        (
            lambda: process_rule({"b": 1, "a": 2}),
            "process_rule: unknown field(s) a, b; known: chunk_size, chunk_overlap, separator (got {'b': 1, 'a': 2})",
        ),
        (lambda: process_rule({"chunk_size": 0}), "process_rule.chunk_size: must be at least 1 (got 0)"),
        (lambda: process_rule({"chunk_size": None}), "process_rule.chunk_size: is required"),
        (lambda: process_rule({1: 2}), "process_rule: keys must be strings (got {1: 2})"),
        (
            lambda: process_rule([("chunk_size", 1)]),
            "process_rule: must be a ProcessRule or a mapping (got [('chunk_size', 1)])",
        ),
        (lambda: process_rule(None, True), "process_rule: is required"),
        (
            lambda: free_form({"k": float("nan")}),
            "credentials: must hold only JSON values (strings, numbers, bools, None, lists, dicts): "
            "Out of range float values are not JSON compliant (got {'k': nan})",
        ),
        (  # \u-escaped, json.dumps passed it; httpx sends UTF-8, and raised a raw UnicodeEncodeError
            lambda: free_form({"k": ["\ud800"]}),
            "credentials: must be valid Unicode (it holds a lone surrogate) (got {'k': ['\\ud800']})",
        ),
        (
            lambda: free_form({"k": {1, 2}}),
            "credentials: must hold only JSON values (strings, numbers, bools, None, lists, dicts): "
            "Object of type set is not JSON serializable (got {'k': {1, 2}})",
        ),
    ],
)
def test_object_validation_messages(call: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        call()
    assert str(caught.value) == message


def test_object_validation_builds_the_model() -> None:
    from dify_mgmt_async._generated.models import ProcessRule

    rule = process_rule({"chunk_size": 500, "separator": "\n\n"})
    assert type(rule) is ProcessRule
    assert rule.to_dict() == {"chunk_size": 500, "separator": "\n\n"}
    assert process_rule(rule) is rule
    assert process_rule(None) is UNSET
    assert free_form({"api_key": "k", "nested": [1, None]}).to_dict() == {"api_key": "k", "nested": [1, None]}


def test_parse_retry_after_reads_a_plain_dict_too() -> None:
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "9"}) == 9.0


def test_response_validation_error_keeps_message_request_and_response() -> None:
    from dify_mgmt_async import APIResponseValidationError

    request = httpx.Request("GET", "https://dify.example.com/api/apps")
    response = httpx.Response(200, text="[]", request=request)
    error = APIResponseValidationError(response, "200 answer is not a App (got list)")
    assert str(error) == "200 answer is not a App (got list)"
    assert error.message == "200 answer is not a App (got list)"
    assert error.request is request
    assert error.response is response
    assert error.status_code == 200


def test_identity_of_content_that_json_cannot_carry_uses_repr() -> None:
    import datetime

    when = datetime.date(2026, 1, 2)
    assert identity({"id": None, "when": when}) == ("content", '{"id": null, "when": "datetime.date(2026, 1, 2)"}')


# --- future timestamps --------------------------------------------------------------------------------

NOW = 1_800_000_000.0


@pytest.fixture
def frozen_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from dify_mgmt_async import _validation

    monkeypatch.setattr(_validation.time, "time", lambda: NOW)


@pytest.mark.usefixtures("frozen_time")
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: future_timestamp("expires_at", int(NOW)),
            "expires_at: must be in the future, and 2027-01-15T08:00:00+00:00 is not (got 1800000000)",
        ),
        (
            lambda: future_timestamp("expires_at", -5),
            "expires_at: must be in the future, and 1970-01-01T00:00:00+00:00 is not (got -5)",
        ),
        (
            lambda: future_timestamp("expires_at", True),
            "expires_at: must be Unix seconds (a number) or a datetime (got True)",
        ),
        (
            lambda: future_timestamp("expires_at", "tomorrow"),
            "expires_at: must be Unix seconds (a number) or a datetime (got 'tomorrow')",
        ),
        (lambda: future_timestamp("expires_at", None, True), "expires_at: is required"),
    ],
)
def test_future_timestamp_refusals(call: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        call()
    assert str(caught.value) == message


@pytest.mark.usefixtures("frozen_time")
def test_future_timestamp_accepts() -> None:
    import datetime

    assert future_timestamp("expires_at", int(NOW) + 1) == int(NOW) + 1
    later = datetime.datetime.fromtimestamp(NOW + 60, datetime.UTC)
    assert future_timestamp("expires_at", later) == int(NOW) + 60
    assert future_timestamp("expires_at", None) is UNSET
    assert future_timestamp("expires_at", UNSET) is UNSET


def test_model_is_optional_by_default() -> None:
    from dify_mgmt_async._generated.models import ProcessRule
    from dify_mgmt_async._validation import model

    assert model("process_rule", None, model=ProcessRule, fields=None) is UNSET


def test_model_that_cannot_be_built_from_the_mapping() -> None:
    from dify_mgmt_async._validation import model

    class Strict:
        def to_dict(self) -> dict[str, Any]:
            return {}

        @classmethod
        def from_dict(cls, data: dict[str, Any]) -> Strict:
            raise KeyError("name")

    with pytest.raises(InvalidArgumentError) as caught:
        model("settings", {"x": 1}, model=Strict, fields=None)
    assert str(caught.value) == "settings: is not a valid Strict: 'name' (got {'x': 1})"
    assert caught.value.__cause__ is None
