"""Per-call options, raw responses, request ids and request logging: what openai-python users expect."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import Any

import httpx
import pytest

from dify_mgmt_async import (
    APITimeoutError,
    DifyError,
    InvalidArgumentError,
    NotFoundError,
)
from tests.conftest import APP, BASE, TOKEN, Recorder, make_client

PAGE = {"data": [APP], "limit": 20, "has_more": False}


def app_or_page(request: httpx.Request) -> dict[str, Any]:
    """A page for GET /apps, the app for anything else."""
    listing = request.method == "GET" and request.url.path.endswith("/apps")
    return PAGE if listing else APP


def app_server(*answers: httpx.Response) -> Recorder:
    """A Recorder answering from ``answers``, then with the app (or a page of it, for a listing)."""
    return Recorder(*answers, body=app_or_page)


# --- per-call options ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_left_out_options_send_nothing_extra() -> None:
    """Without per-call options the request has exactly the client's headers, query and body."""
    server = app_server()
    async with make_client(server) as dify:
        await dify.apps.create(name="x", mode="chat")
    (request,) = server.requests
    assert sorted(request.headers.keys()) == [
        "accept",
        "accept-encoding",
        "authorization",
        "content-length",
        "content-type",
        "host",
        "user-agent",
    ]
    assert request.url.query == b""
    assert json.loads(request.content) == {"name": "x", "mode": "chat"}


@pytest.mark.anyio
async def test_extra_headers_query_and_body_are_sent() -> None:
    """extra_headers add or replace headers, extra_query adds parameters, extra_body merges into the JSON."""
    server = app_server()
    async with make_client(server) as dify:
        await dify.apps.create(
            name="x",
            mode="chat",
            extra_headers={"X-Trace": "t-1", "Accept": "application/vnd.dify+json"},
            extra_query={"dry_run": "true", "n": 3},
            extra_body={"tags": ["a"], "name": "override"},
        )
        await dify.apps.list(limit=5, extra_query={"sort": "name"})
    create, listing = server.requests
    assert create.headers["x-trace"] == "t-1"
    assert create.headers.get_list("accept") == ["application/vnd.dify+json"]
    assert dict(create.url.params) == {"dry_run": "true", "n": "3"}
    assert json.loads(create.content) == {"name": "override", "mode": "chat", "tags": ["a"]}
    assert dict(listing.url.params) == {"limit": "5", "sort": "name"}


@pytest.mark.anyio
async def test_extra_query_applies_to_every_page() -> None:
    """A paginated call's extra_query is sent with each page it fetches."""
    first = httpx.Response(200, json={"data": [APP], "limit": 1, "has_more": True})
    second = httpx.Response(200, json={"data": [{**APP, "id": "a2"}], "limit": 1, "has_more": False})
    server = app_server(first, second)
    async with make_client(server) as dify:
        ids = [app.id async for app in dify.apps.list(limit=1, extra_query={"tenant": "t"})]
    assert ids == ["a1", "a2"]
    assert [r.url.params.get("tenant") for r in server.requests] == ["t", "t"]
    assert [r.url.params.get("page") for r in server.requests] == ["1", "2"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"extra_headers": {"Authorization": "Bearer other"}}, "extra_headers: Authorization is set by the client"),
        ({"extra_headers": {"X-Bad": "a\r\nInjected: 1"}}, "extra_headers: 'X-Bad' is not a valid header line"),
        ({"extra_headers": {"X": 1}}, "extra_headers: names and values must be str"),
        (
            {"extra_headers": {"X-Note": "caf\u00e9"}},
            "extra_headers: 'X-Note' must be ASCII, name and value (got 'café')",
        ),
        ({"extra_headers": {"X-Ñ": "a"}}, "extra_headers: 'X-Ñ' must be ASCII"),
        ({"extra_query": {"x": "a\ud800"}}, "extra_query: 'x' holds a lone surrogate, not valid Unicode"),
        ({"extra_query": {"\ud800": 1}}, "extra_query: '\\ud800' holds a lone surrogate"),
        ({"extra_headers": ["X", "y"]}, "extra_headers: must be a mapping"),
        ({"extra_query": {"a": [1]}}, "extra_query: 'a' must map a str to a str, int, float or bool"),
        ({"extra_body": {"a": float("nan")}}, "extra_body: must hold only JSON values"),
        ({"extra_body": {1: "a"}}, "extra_body: must be a mapping with str keys"),
        ({"timeout": -1}, "timeout: must be a positive number of seconds or an httpx.Timeout (got -1)"),
        ({"timeout": "soon"}, "timeout: must be a positive number of seconds or an httpx.Timeout (got 'soon')"),
    ],
)
async def test_bad_per_call_options_are_refused_before_sending(kwargs: dict[str, Any], message: str) -> None:
    """A bad per-call option raises InvalidArgumentError naming it, and nothing is sent."""
    server = app_server()
    async with make_client(server) as dify:
        with pytest.raises(InvalidArgumentError) as caught:
            await dify.apps.create(name="x", mode="chat", **kwargs)
    assert str(caught.value).startswith(message)
    assert server.requests == []


@pytest.mark.anyio
@pytest.mark.virtual_time  # the time left is read when the request is built: exact, however loaded the machine
async def test_per_call_timeout_overrides_the_clients() -> None:
    """timeout=5 on one call sets that call's deadline (and caps its attempt timeouts); others keep the client's."""
    server = app_server()
    async with make_client(server, timeout=httpx.Timeout(30.0)) as dify:
        await dify.apps.get("a1", timeout=5)
        await dify.apps.get("a1", timeout=httpx.Timeout(7.0, connect=2.0))
        await dify.apps.get("a1")
    short, custom, default = (r.extensions["timeout"] for r in server.requests)
    assert short == {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}
    assert custom == {"connect": 2.0, "read": 7.0, "write": 7.0, "pool": 7.0}
    assert default == {"connect": 30.0, "read": 30.0, "write": 30.0, "pool": 30.0}


@pytest.mark.anyio
async def test_per_call_deadline_error_names_the_full_url() -> None:
    """A call whose deadline passes raises APITimeoutError carrying the request and its full URL."""

    async def slow(request: httpx.Request) -> httpx.Response:
        import anyio

        await anyio.sleep(10)
        return httpx.Response(200, json=APP)

    async with make_client(slow) as dify:
        with pytest.raises(APITimeoutError) as caught:
            await dify.apps.get("a1", timeout=0.05)
    assert caught.value.request is not None
    assert str(caught.value.request.url) == f"{BASE}/api/management/apps/a1"
    assert str(caught.value) == (
        f"GET {BASE}/api/management/apps/a1: no answer in time "
        "(timeout=0.05 s for the whole call, retries and waits included)"
    )


# --- raw responses and request ids -----------------------------------------------------------------


@pytest.mark.anyio
async def test_with_raw_response_gives_status_headers_and_model() -> None:
    """with_raw_response returns the parsed model with the answer's status, headers and request id."""
    server = app_server(httpx.Response(201, json=APP, headers={"X-Request-Id": "req-42", "X-Other": "o"}))
    async with make_client(server) as dify:
        raw = await dify.with_raw_response(dify.apps.create(name="n", mode="chat"))
        page = await dify.with_raw_response(dify.apps.list())
    assert raw.status_code == 201
    assert raw.headers["x-other"] == "o"
    assert raw.request_id == "req-42"
    assert raw.parsed.id == "a1" and raw.parsed.name == "n"
    assert page.status_code == 200 and page.request_id is None and [a.id for a in page.parsed.data] == ["a1"]


@pytest.mark.anyio
async def test_with_raw_response_keeps_the_answer_after_a_retry() -> None:
    """After a retried 503 the raw response is the final 2xx, not the failed attempt."""
    server = app_server(
        httpx.Response(503, json={"error_code": "down", "error": "x"}, headers={"Retry-After": "0"}),
        httpx.Response(200, json=APP, headers={"Request-Id": "second"}),
    )
    async with make_client(server) as dify:
        raw = await dify.with_raw_response(dify.apps.get("a1"))
    assert raw.request_id == "second" and len(server.requests) == 2


@pytest.mark.anyio
async def test_with_raw_response_without_a_call_of_this_client() -> None:
    """Awaiting something that sends no request through the client is a clear DifyError."""

    async def nothing() -> int:
        return 1

    async with make_client(app_server()) as dify:
        with pytest.raises(DifyError, match="sent no request"):
            await dify.with_raw_response(nothing())


@pytest.mark.anyio
@pytest.mark.parametrize("header", ["X-Request-Id", "Request-Id"])
async def test_status_error_carries_the_request_id(header: str) -> None:
    """A 404 with a request-id header has it as ``request_id`` and in ``str(e)``."""
    server = app_server(
        httpx.Response(404, json={"error_code": "not_found", "error": "no app"}, headers={header: "r-9"})
    )
    async with make_client(server) as dify:
        with pytest.raises(NotFoundError) as caught:
            await dify.apps.get("a1")
    assert caught.value.request_id == "r-9"
    assert str(caught.value) == f"404 not_found: no app (GET {BASE}/api/management/apps/a1) [request id r-9]"


@pytest.mark.anyio
async def test_status_error_without_a_request_id() -> None:
    """Without such a header ``request_id`` is None and ``str(e)`` says nothing of it."""
    server = app_server(httpx.Response(404, json={"error_code": "not_found", "error": "no app"}))
    async with make_client(server) as dify:
        with pytest.raises(NotFoundError) as caught:
            await dify.apps.get("a1")
    assert caught.value.request_id is None
    assert "request id" not in str(caught.value)


# --- request logging -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_one_debug_line_per_attempt(caplog: pytest.LogCaptureFixture) -> None:
    """Each attempt logs method, URL (secret query values redacted), status, attempt number and what follows."""
    server = app_server(httpx.Response(503, json={"error_code": "down", "error": "x"}, headers={"Retry-After": "0"}))
    caplog.set_level(logging.DEBUG, logger="dify_mgmt_async")
    async with make_client(server) as dify:
        await dify.apps.get("a1", extra_query={"api_key": "k-secret", "q": "v"})
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    url = f"{BASE}/api/management/apps/a1?api_key=%3Credacted%3E&q=v"
    assert len(lines) == 2
    assert lines[0].startswith(f"GET {url} -> 503 in ")
    assert lines[0].endswith("(attempt 1, retried)")
    assert lines[1].startswith(f"GET {url} -> 200 in ")
    assert lines[1].endswith("(attempt 2, done)")
    assert all(TOKEN not in r.getMessage() and "k-secret" not in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_no_debug_lines_when_debug_is_off(caplog: pytest.LogCaptureFixture) -> None:
    """At INFO, a successful call logs nothing."""
    caplog.set_level(logging.INFO, logger="dify_mgmt_async")
    async with make_client(app_server()) as dify:
        await dify.apps.get("a1")
    assert [r for r in caplog.records if r.name == "dify_mgmt_async"] == []


def test_dify_mgmt_log_env_turns_logging_on() -> None:
    """DIFY_MGMT_LOG=debug prints the per-attempt line to stderr without any logging code."""
    program = (
        "import asyncio, httpx\n"
        "from dify_mgmt_async import DifyManagementClient\n"
        "async def main():\n"
        f"    t = httpx.MockTransport(lambda r: httpx.Response(200, json={APP!r}))\n"
        f"    async with DifyManagementClient('{BASE}', '{TOKEN}', transport=t) as d:\n"
        "        await d.apps.get('a1')\n"
        "asyncio.run(main())\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", program],
        env={"DIFY_MGMT_LOG": "debug", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert f"DEBUG dify_mgmt_async: GET {BASE}/api/management/apps/a1 -> 200 in " in run.stderr
    assert TOKEN not in run.stderr
    quiet = subprocess.run(
        [sys.executable, "-c", program], env={"PATH": ""}, capture_output=True, text=True, timeout=60
    )
    assert quiet.stderr == ""


def test_a_view_of_a_view_derives_its_429_retries_afresh_unless_they_were_given() -> None:
    """``max_rate_limit_retries`` follows ``max_retries`` (0 with 0, else 5) unless given: a view made with
    ``max_retries=0`` derived 0, and a view of it with ``max_retries=3`` kept that 0 as if given, so 429s were
    not retried there, unlike ``with_options(max_retries=3)`` made from the client."""
    dify = make_client(Recorder(), max_retries=2)
    direct = dify.with_options(max_retries=3)._core.options.retry
    chained = dify.with_options(max_retries=0).with_options(max_retries=3)._core.options.retry
    assert (chained.max_retries, chained.max_rate_limit_retries) == (3, 5)
    assert chained == direct
    given = dify.with_options(max_rate_limit_retries=1).with_options(max_retries=0).with_options(max_retries=3)
    assert given._core.options.retry.max_rate_limit_retries == 1
