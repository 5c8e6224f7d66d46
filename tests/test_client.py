"""``DifyManagementClient``: configuration, auth, headers, timeouts, redaction, lifecycle and views."""

from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Any

import anyio
import httpx
import pytest

from dify_mgmt_async import (
    APIConnectionError,
    AuthenticationError,
    ConfigurationError,
    DifyError,
    DifyManagementClient,
    InternalServerError,
    RateLimitError,
    __version__,
)
from dify_mgmt_async._generated.client import Client as GeneratedClient
from tests.conftest import APP, BASE, FITS_ALL, TOKEN, Recorder, make_client


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("DIFY_MGMT_BASE_URL", raising=False)
    monkeypatch.delenv("DIFY_MGMT_TOKEN", raising=False)
    return monkeypatch


# --- configuration -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_env_fallback_for_base_url_and_token(clean_env: pytest.MonkeyPatch) -> None:
    """Without arguments, base_url and token come from DIFY_MGMT_BASE_URL and DIFY_MGMT_TOKEN."""
    clean_env.setenv("DIFY_MGMT_BASE_URL", "https://env.example.com/")
    clean_env.setenv("DIFY_MGMT_TOKEN", "env-token")
    server = Recorder()
    async with DifyManagementClient(transport=httpx.MockTransport(server)) as dify:
        await dify.apps.get("a1")
    request = server.requests[0]
    assert str(request.url) == "https://env.example.com/api/management/apps/a1"
    assert request.headers["authorization"] == "Bearer env-token"


@pytest.mark.anyio
async def test_arguments_win_over_env(clean_env: pytest.MonkeyPatch) -> None:
    """Explicit base_url and token are used even when the environment variables are set."""
    clean_env.setenv("DIFY_MGMT_BASE_URL", "https://env.example.com")
    clean_env.setenv("DIFY_MGMT_TOKEN", "env-token")
    server = Recorder()
    async with DifyManagementClient(BASE, "arg-token", transport=httpx.MockTransport(server)) as dify:
        await dify.apps.get("a1")
    assert server.requests[0].url.host == "dify.example.com"
    assert server.requests[0].headers["authorization"] == "Bearer arg-token"


def test_missing_base_url_names_the_variable(clean_env: pytest.MonkeyPatch) -> None:
    """No base_url and no DIFY_MGMT_BASE_URL raises ConfigurationError naming the variable."""
    clean_env.setenv("DIFY_MGMT_TOKEN", "t")
    with pytest.raises(ConfigurationError, match="DIFY_MGMT_BASE_URL"):
        DifyManagementClient()


def test_missing_token_names_the_variable(clean_env: pytest.MonkeyPatch) -> None:
    """No token and no DIFY_MGMT_TOKEN raises ConfigurationError naming the variable."""
    with pytest.raises(ConfigurationError, match="DIFY_MGMT_TOKEN") as info:
        DifyManagementClient(BASE)
    assert isinstance(info.value, DifyError) and isinstance(info.value, ValueError)


def test_empty_env_token_is_missing(clean_env: pytest.MonkeyPatch) -> None:
    """An empty DIFY_MGMT_TOKEN counts as missing."""
    clean_env.setenv("DIFY_MGMT_TOKEN", "")
    with pytest.raises(ConfigurationError, match="DIFY_MGMT_TOKEN"):
        DifyManagementClient(BASE)


@pytest.mark.parametrize("url", ["dify.example.com", "ftp://dify.example.com", "https://"])
def test_malformed_base_url_is_refused(url: str) -> None:
    """A base_url that is not an http(s) URL raises ConfigurationError."""
    with pytest.raises(ConfigurationError, match="base_url"):
        DifyManagementClient(url, "t")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "https://admin:s3cret@dify.example.com",
            "base_url: must not hold credentials (user:password@); the token authenticates "
            "(got 'https://dify.example.com')",
        ),
        (
            "https://admin@dify.example.com/base",
            "base_url: must not hold credentials (user:password@); the token authenticates "
            "(got 'https://dify.example.com/base')",
        ),
        (
            "ftp://admin:s3cret@dify.example.com",
            "base_url: must be an http(s) URL such as https://dify.example.com (got 'ftp://dify.example.com')",
        ),
        # without "//" or a scheme httpx finds no credentials: they are cut from the message all the same
        (
            "admin:s3cret@dify.example.com",
            "base_url: must be an http(s) URL such as https://dify.example.com (got 'dify.example.com')",
        ),
        ("https:admin:s3cret@host", "base_url: must be an http(s) URL such as https://dify.example.com (got 'host')"),
        (
            "https://@dify.example.com",
            "base_url: must not hold credentials (user:password@); the token authenticates "
            "(got 'https://dify.example.com')",
        ),
        ("http://admin:s3cret@h:bad", "base_url: not a valid URL: Invalid port: 'bad' (got 'http://h:bad')"),
        # mistyped: a '/' or '#' in the password ends the authority early, and httpx's reason quotes the password
        ("https://admin:s3cret/x@dify.example.com", "base_url: not a valid URL (got 'https://dify.example.com')"),
        ("https://admin:s3cret#x@dify.example.com", "base_url: not a valid URL (got 'https://dify.example.com')"),
        (
            "//admin:s3cret@dify.example.com",
            "base_url: must be an http(s) URL such as https://dify.example.com (got 'dify.example.com')",
        ),
        (
            "https:/admin:s3cret@dify.example.com",
            "base_url: must be an http(s) URL such as https://dify.example.com (got 'dify.example.com')",
        ),
    ],
)
def test_base_url_with_credentials_is_refused_without_echoing_them(url: str, message: str) -> None:
    """Credentials in base_url are refused when the client is built (before, aiohttp raised a raw ValueError at the
    first call, since they would be a second Authorization, and the client's repr showed the password); the
    message shows the URL without them."""
    with pytest.raises(ConfigurationError) as info:
        DifyManagementClient(url, "t")
    assert str(info.value) == message


def test_an_at_sign_in_the_path_is_not_credentials() -> None:
    """Only an ``@`` before the path is userinfo: one in the path is kept, and the client is built."""
    assert (
        DifyManagementClient("https://dify.example.com/team@corp", "t").base_url == "https://dify.example.com/team@corp"
    )


class _AsyncHook:
    async def __call__(self, event: object) -> None: ...


async def _async_hook(event: object) -> None: ...


ASYNC_HOOK = _AsyncHook()


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        ("print", "on_retry: must be a function called as on_retry(event) (got 'print')"),
        (
            _async_hook,
            "on_retry: must be a plain function; it is called, not awaited, before each retry, so an async "
            f"function would never run (got {_async_hook!r:.80})",
        ),
        (
            ASYNC_HOOK,
            "on_retry: must be a plain function; it is called, not awaited, before each retry, so an async "
            f"function would never run (got {ASYNC_HOOK!r:.80})",
        ),
    ],
)
def test_an_on_retry_that_cannot_be_called_as_a_hook_is_refused_up_front(hook: object, message: str) -> None:
    """Checked when the client or a view is made: a string failed only after a request had gone out (a raw
    TypeError), and an async function's coroutine was never awaited, so the hook never ran."""
    with pytest.raises(ConfigurationError) as made:
        DifyManagementClient(BASE, "t", on_retry=hook)  # type: ignore[arg-type]
    assert str(made.value) == message
    client = DifyManagementClient(BASE, "t", on_retry=print)
    with pytest.raises(ConfigurationError) as viewed:
        client.with_options(on_retry=hook)  # type: ignore[arg-type]
    assert str(viewed.value) == message
    assert client.with_options(on_retry=None) is not None  # None still turns the hook off


@pytest.mark.parametrize("token", ["", "   ", "a\r\nX-Injected: 1"])
def test_malformed_token_is_refused(token: str) -> None:
    """An empty or header-injecting token raises ConfigurationError without echoing it."""
    with pytest.raises(ConfigurationError, match="token") as info:
        DifyManagementClient(BASE, token)
    assert "Injected" not in str(info.value)


# --- auth and headers ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_token_provider_rotates() -> None:
    """An async callable token is called per request, so a rotated token is used at once."""
    tokens = iter(["first", "second", "third"])

    async def provider() -> str:
        return next(tokens)

    server = Recorder()
    async with make_client(server, token=provider, max_retries=0) as dify:
        await dify.apps.get("a1")
        await dify.apps.get("a2")
        await dify.apps.delete("a1")
    assert [r.headers["authorization"] for r in server.requests] == [
        "Bearer first",
        "Bearer second",
        "Bearer third",
    ]


@pytest.mark.anyio
async def test_token_provider_returning_empty_is_an_error() -> None:
    """A provider that returns an empty token raises a DifyError and sends nothing."""

    async def provider() -> str:
        return ""

    server = Recorder()
    async with make_client(server, token=provider) as dify:
        with pytest.raises(DifyError, match="token"):
            await dify.apps.get("a1")
    assert server.requests == []


@pytest.mark.anyio
async def test_failing_token_provider_does_not_leak_slots() -> None:
    """A token provider that raises gives a ConfigurationError and its slot back: the 5th call still runs."""
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls <= 4:
            raise OSError("vault unreachable")
        return "tok"

    server = Recorder()
    async with make_client(server, token=flaky, max_concurrency=4) as dify:
        for _ in range(4):
            with pytest.raises(ConfigurationError, match="token provider failed"):
                await dify.apps.get("a1")
        with anyio.fail_after(1):
            await dify.apps.get("a1")
        assert dify.stats.in_flight == 0
    assert len(server.requests) == 1


@pytest.mark.anyio
async def test_user_agent_names_the_package_and_version() -> None:
    """Every request carries User-Agent: dify-mgmt-async/<version>."""
    server = Recorder()
    async with make_client(server) as dify:
        await dify.apps.get("a1")
    assert server.requests[0].headers["user-agent"] == f"dify-mgmt-async/{__version__}"
    assert __version__ and __version__[0].isdigit()


@pytest.mark.anyio
async def test_user_agent_set_on_given_http_client() -> None:
    """A caller's http_client gets the SDK's User-Agent unless it set its own."""
    server = Recorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as http:
        http.headers.pop("user-agent", None)
        dify = make_client(http_client=http)
        await dify.apps.get("a1")
        await dify.aclose()
        assert not http.is_closed  # the caller owns it
    assert server.requests[0].headers["user-agent"] == f"dify-mgmt-async/{__version__}"


@pytest.mark.anyio
async def test_given_http_client_gets_our_user_agent_without_being_changed() -> None:
    """A caller's client with httpx's default User-Agent sends ours per request; its own headers stay."""
    server = Recorder()
    http = httpx.AsyncClient(transport=httpx.MockTransport(server))
    before = http.headers["User-Agent"]
    async with make_client(http_client=http) as dify:
        await dify.apps.get("a1")
    assert server.requests[0].headers["User-Agent"].startswith("dify-mgmt-async/")
    assert http.headers["User-Agent"] == before
    await http.aclose()


def test_http_client_and_transport_are_exclusive() -> None:
    """Giving both http_client and transport is a ConfigurationError."""
    with pytest.raises(ConfigurationError):
        DifyManagementClient(BASE, TOKEN, http_client=httpx.AsyncClient(), transport=httpx.MockTransport(Recorder()))


# --- timeouts --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_default_timeout_reaches_every_request() -> None:
    """Each request carries connect/read/write/pool timeouts, none of them None."""
    server = Recorder(body=FITS_ALL)  # fits App, Document and the pages
    async with make_client(server) as dify:
        await dify.apps.get("a1")
        await dify.apps.create(name="n", mode="chat")
        await dify.datasets.upload_document("d1", b"x", filename="a.txt")
        await dify.apps.list()
    assert len(server.requests) == 4
    for request in server.requests:
        timeout = request.extensions["timeout"]
        assert set(timeout) == {"connect", "read", "write", "pool"}
        assert all(value is not None and value > 0 for value in timeout.values())


def test_generated_client_has_no_timeout() -> None:
    """The plain generated Client has no timeout at all: the reason the facade sets one."""
    http = GeneratedClient(base_url=BASE).get_async_httpx_client()
    assert http.timeout == httpx.Timeout(None)


@pytest.mark.anyio
async def test_number_timeout_bounds_each_request() -> None:
    """timeout=5 makes every per-attempt timeout at most 5 seconds."""
    server = Recorder()
    async with make_client(server, timeout=5) as dify:
        await dify.apps.get("a1")
    values = server.requests[0].extensions["timeout"].values()
    assert all(value is not None and 0 < value <= 5 for value in values)


@pytest.mark.anyio
async def test_httpx_timeout_is_used_per_attempt() -> None:
    """An httpx.Timeout is passed through as each attempt's timeouts."""
    server = Recorder()
    custom = httpx.Timeout(3.0, connect=1.0)
    async with make_client(server, timeout=custom) as dify:
        await dify.apps.get("a1")
    assert server.requests[0].extensions["timeout"] == {"connect": 1.0, "read": 3.0, "write": 3.0, "pool": 3.0}


@pytest.mark.parametrize("bad", [0, -1, "10", True])
def test_bad_timeout_is_refused(bad: Any) -> None:
    """A non-positive or non-number timeout raises ConfigurationError."""
    with pytest.raises(ConfigurationError, match="timeout"):
        DifyManagementClient(BASE, TOKEN, timeout=bad)


# --- secrets -------------------------------------------------------------------------------


def test_token_not_in_client_repr() -> None:
    """repr(client) and str(client) show the base URL, never the token."""
    dify = DifyManagementClient(BASE, TOKEN)
    assert TOKEN not in repr(dify) and TOKEN not in str(dify)
    assert BASE in repr(dify)
    assert TOKEN not in repr(dify._state.auth)


@pytest.mark.anyio
async def test_token_not_in_errors_or_tracebacks() -> None:
    """str()/repr() of an error, its attributes' reprs and its formatted traceback do not contain the token."""
    server = Recorder(status=401, body={"error_code": "unauthorized", "error": "Invalid or expired token"})
    async with make_client(server, max_retries=0) as dify:
        with pytest.raises(AuthenticationError) as info:
            await dify.apps.get("a1")
    error = info.value
    texts = [
        str(error),
        repr(error),
        repr(vars(error)),
        repr(error.request.headers) if error.request is not None else "",
        "".join(traceback.format_exception(error)),
    ]
    for text in texts:
        assert TOKEN not in text


@pytest.mark.anyio
async def test_token_not_in_connection_error() -> None:
    """A connection error's message and traceback do not contain the token."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with make_client(handler, max_retries=0) as dify:
        with pytest.raises(APIConnectionError) as info:
            await dify.apps.get("a1")
    assert TOKEN not in "".join(traceback.format_exception(info.value))


@pytest.mark.anyio
async def test_token_not_in_logs(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """At DEBUG, no log record of the SDK or httpx contains the token, retries included."""

    from dify_mgmt_async import _core

    async def no_wait(seconds: float) -> None:
        await anyio.lowlevel.checkpoint()

    monkeypatch.setattr(_core.anyio, "sleep", no_wait)
    answers = iter([503, 200, 429, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        return httpx.Response(status, json=APP, headers={"retry-after": "0"})

    caplog.set_level(logging.DEBUG)
    async with make_client(handler) as dify:
        await dify.apps.get("a1")
        await dify.apps.get("a1")
    assert caplog.records, "expected some log records (retries are logged)"
    assert any("retrying" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in repr(record.args)
    assert TOKEN not in caplog.text


@pytest.mark.anyio
async def test_secrets_hidden_in_model_repr() -> None:
    """api_secret of an app / its keys and a created key's token are not in the models' repr."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/api-keys") and request.method == "POST":
            return httpx.Response(
                201, json={"id": "k", "name": "ci", "token": "FULL-PAT-TOKEN", "created_at": 1, "expires_at": None}
            )
        if request.url.path.endswith("/api-keys"):
            return httpx.Response(200, json={"api_key": "ak-visible", "api_secret": "APP-SECRET-2", "created_at": 1})
        return httpx.Response(201, json={**APP, "api_key": "ak-visible", "api_secret": "APP-SECRET-1"})

    async with make_client(handler) as dify:
        app = await dify.apps.create(name="n", mode="chat")
        keys = await dify.apps.get_api_keys("a1")
        created = await dify.api_keys.create(name="ci")
    assert app.api_secret == "APP-SECRET-1" and "APP-SECRET-1" not in repr(app) and "APP-SECRET-1" not in str(app)
    assert keys.api_secret == "APP-SECRET-2" and "APP-SECRET-2" not in repr(keys)
    assert created.token == "FULL-PAT-TOKEN" and "FULL-PAT-TOKEN" not in repr(created)
    assert "ak-visible" in repr(app)


# --- lifecycle -------------------------------------------------------------------------------


class ClosingTransport(httpx.MockTransport):
    """A MockTransport that records being closed."""

    closed = 0

    async def aclose(self) -> None:
        self.closed += 1


@pytest.mark.anyio
async def test_async_with_closes_the_pool() -> None:
    """Leaving `async with` closes the client's own transport once and marks the client closed."""
    transport = ClosingTransport(Recorder())
    dify = make_client(transport)
    async with dify as entered:
        assert entered is dify
        await dify.apps.get("a1")
        assert transport.closed == 0 and not dify.is_closed
    assert transport.closed == 1 and dify.is_closed


@pytest.mark.anyio
async def test_aclose_closes_the_pool() -> None:
    """aclose() closes the client's own transport."""
    transport = ClosingTransport(Recorder())
    dify = make_client(transport)
    await dify.apps.get("a1")
    await dify.aclose()
    assert transport.closed == 1 and dify.is_closed


@pytest.mark.anyio
async def test_aclose_leaves_a_given_http_client_open() -> None:
    """With http_client=, aclose() closes the SDK client (calls fail) but not the caller's httpx client."""
    server = Recorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as http:
        dify = make_client(http_client=http)
        await dify.apps.get("a1")
        await dify.aclose()
        assert dify.is_closed and not http.is_closed
        with pytest.raises(DifyError, match="closed"):
            await dify.apps.get("a1")
        assert len(server.requests) == 1


@pytest.mark.anyio
async def test_request_after_aclose_raises_dify_error() -> None:
    """A request on a closed client raises a DifyError."""
    dify = make_client(Recorder())
    await dify.aclose()
    with pytest.raises(DifyError):
        await dify.apps.get("a1")


def test_second_event_loop_raises_clear_error() -> None:
    """A client used from a second asyncio.run (another event loop) raises a DifyError saying so."""
    server = Recorder()
    dify = make_client(server)
    assert asyncio.run(dify.apps.get("a1")).id == "a1"
    with pytest.raises(DifyError, match="event loop"):
        asyncio.run(dify.apps.get("a1"))
    assert len(server.requests) == 1


# --- with_options -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_with_options_shares_pool_and_stats(monkeypatch: pytest.MonkeyPatch) -> None:
    """with_options(max_retries=0) shares the httpx client and stats, and only the view stops retrying."""

    from dify_mgmt_async import _core

    async def no_wait(seconds: float) -> None:
        await anyio.lowlevel.checkpoint()

    monkeypatch.setattr(_core.anyio, "sleep", no_wait)
    server = Recorder(status=503, body={"error_code": "internal_server_error", "error": "down"})
    async with make_client(server, max_retries=2) as dify:
        view = dify.with_options(max_retries=0)
        assert view._state is dify._state
        with pytest.raises(InternalServerError):
            await view.apps.get("a1")
        assert len(server.requests) == 1
        assert dify.stats.requests == view.stats.requests == 1
        with pytest.raises(InternalServerError):
            await dify.apps.get("a1")
        assert len(server.requests) == 4  # the original still retries twice
        assert dify.stats == view.stats
        assert dify.stats.requests == 4 and dify.stats.retries == 2
        await view.aclose()
        assert not dify.is_closed and not view.is_closed  # closing a view does nothing


@pytest.mark.anyio
async def test_with_options_zero_disables_rate_limit_retries() -> None:
    """with_options(max_retries=0) also stops 429 retries."""
    server = Recorder(status=429, body={"error_code": "rate_limited", "error": "slow"})
    async with make_client(server) as dify:
        with pytest.raises(RateLimitError):
            await dify.with_options(max_retries=0).apps.get("a1")
    assert len(server.requests) == 1


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_with_options_restores_default_429_retries() -> None:
    """max_retries=0 on the client, with_options(max_retries=3) on the view: 429 retries are back to 5."""
    server = Recorder(*[httpx.Response(429, headers={"Retry-After": "1"}) for _ in range(6)])
    async with make_client(server, max_retries=0) as dify:
        with pytest.raises(RateLimitError):
            await dify.with_options(max_retries=3).apps.get("a1")
    assert len(server.requests) == 6


def test_second_trio_run_raises_clear_error() -> None:
    """A client used from a second trio.run raises the same clear DifyError."""
    import trio

    server = Recorder()
    dify = make_client(server)
    trio.run(dify.apps.get, "a1")
    with pytest.raises(DifyError, match="event loop"):
        trio.run(dify.apps.get, "a1")
    assert len(server.requests) == 1


@pytest.mark.anyio
async def test_sync_callable_token_gives_clear_error() -> None:
    """A sync callable as token raises a DifyError naming `token`, not a bare TypeError."""
    server = Recorder()
    async with make_client(server, token=lambda: TOKEN) as dify:  # type: ignore[arg-type,return-value]
        with pytest.raises(DifyError, match="token"):
            await dify.apps.get("a1")
    assert server.requests == []


@pytest.mark.anyio
async def test_given_http_client_goes_through_its_send() -> None:
    """A caller's own httpx.AsyncClient is used as is: its event hooks run and auth is still injected."""
    server = Recorder()
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.headers["Authorization"])

    http = httpx.AsyncClient(transport=httpx.MockTransport(server), event_hooks={"request": [hook]})
    async with make_client(http_client=http) as dify:
        await dify.apps.get("a1")
    assert seen == [f"Bearer {TOKEN}"]
    assert not http.is_closed  # not ours to close
    await http.aclose()


@pytest.mark.parametrize(
    ("value", "accepted"), [(float("nan"), False), (-0.5, False), ("30", False), (0, True), (float("inf"), True)]
)
def test_max_retry_wait_is_a_number_of_seconds_at_least_0(value: object, accepted: bool) -> None:
    """NaN compared false with everything, so it passed the old ``< 0`` check, and every hint was waited out however
    long; infinity says the same on purpose."""
    if accepted:
        DifyManagementClient("http://x.test", "tok", max_retry_wait=value)  # type: ignore[arg-type]
        return
    with pytest.raises(ConfigurationError) as caught:
        DifyManagementClient("http://x.test", "tok", max_retry_wait=value)  # type: ignore[arg-type]
    assert str(caught.value) == f"max_retry_wait: must be a number of seconds >= 0 (got {value!r})"
