"""Small frictions a new user met (issue 12, item 9): each test fails without the change it names."""

from __future__ import annotations

import gc
import json
import logging
import warnings
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from dify_mgmt_async import (
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    DifyManagementClient,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from dify_mgmt_async._errors import from_response
from dify_mgmt_async.emulator import EmulatorServer
from tests.faultserver import APP

BASE = "http://dify.test"


def recording(seen: list[httpx.Request], answer: dict[str, object] = APP) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer)

    return httpx.MockTransport(handler)


# --- "Bearer sk-…" ----------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("given", ["Bearer sk-1", "bearer sk-1", "  BEARER   sk-1 ", "sk-1"])
async def test_a_token_with_the_bearer_scheme_is_sent_once(given: str) -> None:
    """A token copied with its scheme is sent as 'Bearer sk-1', never 'Bearer Bearer sk-1'."""
    seen: list[httpx.Request] = []
    async with DifyManagementClient(BASE, given, transport=recording(seen)) as dify:
        await dify.apps.get("a1")
    assert seen[0].headers["Authorization"] == "Bearer sk-1"


@pytest.mark.anyio
async def test_a_token_provider_may_return_the_scheme_too() -> None:
    async def provider() -> str:
        return "Bearer sk-2"

    seen: list[httpx.Request] = []
    async with DifyManagementClient(BASE, provider, transport=recording(seen)) as dify:
        await dify.apps.get("a1")
    assert seen[0].headers["Authorization"] == "Bearer sk-2"


def test_the_bearer_word_alone_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"^token: only the word 'Bearer' was given; pass the token itself$"):
        DifyManagementClient(BASE, "Bearer ")


def test_a_non_ascii_token_is_refused_when_the_client_is_built() -> None:
    """A header value goes out as ASCII: "tokén" would fail on the first send as a raw UnicodeEncodeError."""
    with pytest.raises(ConfigurationError, match=r"^token: must be ASCII, as API keys are \(it holds a non-ASCII"):
        DifyManagementClient(BASE, "tok\u00e9n")


@pytest.mark.anyio
async def test_a_token_pasted_with_a_no_break_space_is_stripped_not_refused() -> None:
    seen: list[httpx.Request] = []
    async with DifyManagementClient(BASE, "sk-1\u00a0", transport=recording(seen)) as dify:
        await dify.apps.get("a1")
    assert seen[0].headers["Authorization"] == "Bearer sk-1"


@pytest.mark.anyio
async def test_a_non_ascii_token_from_a_provider_is_refused_before_sending() -> None:
    async def provider() -> str:
        return "sk-\u00e9"

    seen: list[httpx.Request] = []
    async with DifyManagementClient(BASE, provider, transport=recording(seen)) as dify:
        with pytest.raises(ConfigurationError, match=r"^token: must be ASCII"):
            await dify.apps.get("a1")
    assert seen == []


# --- 413 and 415 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"), [(413, PayloadTooLargeError), (415, UnsupportedMediaTypeError), (416, APIStatusError)]
)
def test_413_and_415_have_their_own_classes(status: int, cls: type[APIStatusError]) -> None:
    request = httpx.Request("POST", f"{BASE}/api/management/datasets/d/documents")
    body = {"error_code": "file_too_large", "error": "over 15 MB"}
    error = from_response(httpx.Response(status, json=body, request=request))
    assert type(error) is cls
    assert (error.status_code, error.error_code, error.message) == (status, "file_too_large", "over 15 MB")


# --- the whole-call timeout names the host and the limit -----------------------------------


@pytest.mark.anyio
@pytest.mark.virtual_time
async def test_the_whole_call_timeout_message_names_the_url_and_the_limit() -> None:
    async def slow() -> str:
        await trio.sleep(3)
        return "tok"

    async with DifyManagementClient(BASE, slow, timeout=1.5, transport=recording([])) as dify:
        with pytest.raises(APITimeoutError) as info:
            await dify.apps.get("a1")
    assert str(info.value) == (
        "GET http://dify.test/api/management/apps/a1: no answer in time "
        "(timeout=1.5 s for the whole call, retries and waits included)"
    )


# --- with_options --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_with_options_returns_the_same_class_and_checks_its_arguments() -> None:
    """The view is a DifyManagementClient (typed Self); a wrong timeout is refused at once."""

    class Mine(DifyManagementClient):
        pass

    async with Mine(BASE, "t", transport=recording([])) as dify:
        view = dify.with_options(timeout=None, on_retry=None)
        assert type(view) is Mine
        assert view._core.options.deadline is None and view._core.options.on_retry is None
        with pytest.raises(ConfigurationError, match=r"^timeout: must be a positive number"):
            dify.with_options(timeout="soon")  # type: ignore[arg-type]


# --- collected without aclose() ------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.asyncio_only
async def test_an_unclosed_client_warns_once_in_our_words(caplog: pytest.LogCaptureFixture) -> None:
    """One ResourceWarning naming DifyManagementClient; not aiohttp's 'Unclosed client session'/'connector'."""
    with EmulatorServer() as server:
        dify: Any = DifyManagementClient(server.base_url, server.token)
        view = dify.with_options(max_retries=0)
        await view.apps.list()
        del dify
        gc.collect()  # the view keeps its client alive: nothing is said yet
        with caplog.at_level(logging.ERROR, logger="asyncio"), warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            del view
            gc.collect()
    messages = [str(w.message) for w in record if issubclass(w.category, ResourceWarning)]
    assert messages == [
        f"DifyManagementClient(base_url='{server.base_url}') was garbage-collected without being closed; its "
        "connections were closed now. Use `async with DifyManagementClient(...) as dify:` or `await dify.aclose()`."
    ]
    assert "Unclosed" not in caplog.text


# --- docs a user reads in their editor and terminal ----------------------------------------


def test_upload_document_documents_every_parameter() -> None:
    from dify_mgmt_async._resources import DatasetsResource

    doc = DatasetsResource.upload_document.__doc__ or ""
    args = doc.split("Args:")[1]
    names = [line.strip().split(":")[0] for line in args.splitlines() if line.startswith(" " * 12 + line.strip()[:1])]
    assert [n for n in names if n] == [
        "dataset_id",
        "file",
        "process_rule",
        "filename",
        "content_type",
        "on_progress",
    ]


def test_the_emulator_help_shows_defaults(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from dify_mgmt_async.emulator.server import parse_args

    monkeypatch.delenv("DIFY_EMULATOR_INDEXING_SECONDS", raising=False)
    monkeypatch.delenv("DIFY_EMULATOR_MAX_UPLOAD_MB", raising=False)
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--indexing-seconds INDEXING_SECONDS time a document takes from waiting to completed (default: 2.0)" in text
    assert "--max-upload-mb MAX_UPLOAD_MB larger uploads get 413 (default: 15.0)" in text


# --- expires_at: a datetime, never in the past ----------------------------------------------


@pytest.mark.anyio
async def test_expires_at_takes_a_datetime_and_refuses_the_past_before_sending() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from dify_mgmt_async import InvalidArgumentError

    seen: list[httpx.Request] = []
    key = {"id": "k1", "name": "k", "token": "sk-new", "created_at": 1, "expires_at": 4102444800}
    async with DifyManagementClient(BASE, "t", transport=recording(seen, key)) as dify:
        with pytest.raises(InvalidArgumentError) as info:
            await dify.api_keys.create(name="k", expires_at=datetime(2020, 1, 1, tzinfo=UTC))
        assert str(info.value).startswith("expires_at: must be in the future, and 2020-01-01T00:00:00+00:00 is not")
        with pytest.raises(InvalidArgumentError, match=r"^expires_at: must be in the future"):
            await dify.api_keys.create(name="k", expires_at=datetime.now(UTC) - timedelta(seconds=1))
        assert seen == []
        east = timezone(timedelta(hours=8))
        await dify.api_keys.create(name="k", expires_at=datetime(2100, 1, 1, 8, tzinfo=east))
    assert json.loads(seen[0].content)["expires_at"] == 4102444800
