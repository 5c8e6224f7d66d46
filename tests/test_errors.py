"""Error mapping: every non-2xx status and body kind raises the right ``APIStatusError``; bad 2xx bodies too."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from dify_mgmt_async import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DifyError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from tests.conftest import Recorder, make_client

STATUSES: list[tuple[int, type[APIStatusError]]] = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (302, APIStatusError),
    (409, ConflictError),
    (418, APIStatusError),
    (422, APIStatusError),
    (429, RateLimitError),
    (500, InternalServerError),
    (502, InternalServerError),
    (503, InternalServerError),
    (520, InternalServerError),
]

# (id, content-type, raw body, expected error_code, expected message or None for "a fallback", expected body)
BODIES: list[tuple[str, str, bytes, str | None, str | None, Any]] = [
    (
        "seed",
        "application/json",
        b'{"error_code": "not_found", "error": "App not found"}',
        "not_found",
        "App not found",
        {"error_code": "not_found", "error": "App not found"},
    ),
    (
        "deployed-dify",
        "application/json",
        b'{"code": "app_not_found", "message": "App not exist.", "status": 404}',
        "app_not_found",
        "App not exist.",
        {"code": "app_not_found", "message": "App not exist.", "status": 404},
    ),
    (
        "html",
        "text/html",
        b"<html><body><h1>502 Bad Gateway</h1>\n<hr>nginx</body></html>",
        None,
        "<html><body><h1>502 Bad Gateway</h1> <hr>nginx</body></html>",
        "<html><body><h1>502 Bad Gateway</h1>\n<hr>nginx</body></html>",
    ),
    ("empty", "application/json", b"", None, None, None),
    (
        "truncated-json",
        "application/json",
        b'{"error_code": "not_fo',
        None,
        '{"error_code": "not_fo',
        '{"error_code": "not_fo',
    ),
    ("json-list", "application/json", b"[1, 2]", None, None, [1, 2]),
    ("json-null-fields", "application/json", b'{"error_code": null, "error": null}', None, None, None),
    ("not-utf8", "text/plain", b"\xff\xfe broken", None, None, None),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("status", "cls"), STATUSES, ids=[str(s) for s, _ in STATUSES])
@pytest.mark.parametrize(("kind", "ctype", "raw", "code", "message", "body"), BODIES, ids=[b[0] for b in BODIES])
async def test_status_and_body_map_to_error(
    status: int,
    cls: type[APIStatusError],
    kind: str,
    ctype: str,
    raw: bytes,
    code: str | None,
    message: str | None,
    body: Any,
) -> None:
    """Each status and body kind raises the status's APIStatusError class with code, message, headers, body."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(status, content=raw, headers={"content-type": ctype, "x-request-id": "req-1"})

    async with make_client(handler, max_retries=0) as dify:
        with pytest.raises(APIStatusError) as info:
            await dify.apps.get("a1")
    error = info.value
    assert type(error) is cls
    assert isinstance(error, APIError) and isinstance(error, DifyError)
    assert not isinstance(error, json.JSONDecodeError | KeyError | TypeError | ValueError)
    assert error.status_code == status
    assert error.error_code == code
    if message is not None:
        assert error.message == message
    else:
        assert isinstance(error.message, str) and error.message
    if kind == "not-utf8":
        assert isinstance(error.body, str)
    elif kind == "json-null-fields":
        assert error.body == {"error_code": None, "error": None}
    else:
        assert error.body == body
    assert error.headers["x-request-id"] == "req-1"
    assert error.response.status_code == status
    assert error.request is not None and error.request.url.path == "/api/management/apps/a1"
    assert str(status) in str(error)
    assert len(calls) == 1


@pytest.mark.anyio
async def test_unknown_status_message_falls_back_to_status() -> None:
    """A 520 with an empty body has a message naming the status (520 has no reason phrase)."""
    async with make_client(lambda r: httpx.Response(520), max_retries=0) as dify:
        with pytest.raises(InternalServerError) as info:
            await dify.users.get_current()
    assert info.value.message == "HTTP 520"
    assert info.value.body is None


@pytest.mark.anyio
async def test_empty_body_message_is_reason_phrase() -> None:
    """A 404 with no body has the reason phrase as its message."""
    async with make_client(lambda r: httpx.Response(404), max_retries=0) as dify:
        with pytest.raises(NotFoundError) as info:
            await dify.apps.get("a1")
    assert info.value.message == "Not Found"


@pytest.mark.anyio
async def test_long_html_message_is_truncated() -> None:
    """A long HTML body gives a short message; the body keeps all of it."""
    html = "<html>" + "x" * 5000 + "</html>"
    async with make_client(lambda r: httpx.Response(502, text=html), max_retries=0) as dify:
        with pytest.raises(InternalServerError) as info:
            await dify.apps.get("a1")
    assert len(info.value.message) <= 301
    assert info.value.body == html


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"retry-after": "7"}, 7.0), ({"retry-after-ms": "1500"}, 1.5), ({}, None), ({"retry-after": "soon"}, None)],
)
async def test_rate_limit_error_retry_after(headers: dict[str, str], expected: float | None) -> None:
    """RateLimitError.retry_after is the server's hint in seconds, or None."""
    response = httpx.Response(429, json={"error_code": "rate_limited", "error": "slow down"}, headers=headers)
    async with make_client(lambda r: response, max_retries=0) as dify:
        with pytest.raises(RateLimitError) as info:
            await dify.apps.get("a1")
    assert info.value.retry_after == expected
    assert info.value.error_code == "rate_limited"


@pytest.mark.anyio
async def test_nested_error_message_is_used() -> None:
    """A proxy's {"error": {"message": ...}} body gives that message."""
    body = {"error": {"message": "upstream said no"}}
    async with make_client(lambda r: httpx.Response(403, json=body), max_retries=0) as dify:
        with pytest.raises(PermissionDeniedError) as info:
            await dify.apps.get("a1")
    assert info.value.message == "upstream said no"


SUCCESS_BODIES: list[Any] = [
    pytest.param("html", b"<html>ok</html>", "text/html", id="html"),
    pytest.param("truncated-json", b'{"id": "a1", "name": "n', "application/json", id="truncated-json"),
    pytest.param("empty", b"", "application/json", id="empty"),
    pytest.param(
        "missing-required-field", b'{"id": "a1", "mode": "chat"}', "application/json", id="missing-required-field"
    ),
    ("json-list", b"[]", "application/json"),
    ("json-string", b'"hello"', "application/json"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("kind", "raw", "ctype"), SUCCESS_BODIES)
async def test_bad_success_body_raises_validation_error(kind: str, raw: bytes, ctype: str) -> None:
    """A 200 whose body is not the promised model raises APIResponseValidationError, nothing rawer."""
    async with make_client(
        lambda r: httpx.Response(200, content=raw, headers={"content-type": ctype}), max_retries=0
    ) as dify:
        with pytest.raises(APIResponseValidationError) as info:
            await dify.apps.get("a1")
    assert info.value.status_code == 200
    assert isinstance(info.value, DifyError)
    assert not isinstance(info.value, ValueError | KeyError | TypeError)


@pytest.mark.anyio
async def test_bad_page_body_raises_validation_error() -> None:
    """A page whose items lack required fields raises APIResponseValidationError while iterating."""
    body = {"data": [{"id": "a1"}], "limit": 1, "has_more": False}
    async with make_client(lambda r: httpx.Response(200, json=body), max_retries=0) as dify:
        with pytest.raises(APIResponseValidationError):
            await dify.apps.list()


@pytest.mark.anyio
@pytest.mark.parametrize(("status", "error"), [(200, APIResponseValidationError), (500, InternalServerError)])
async def test_deeply_nested_json_is_an_sdk_error(status: int, error: type[Exception]) -> None:
    """JSON nested past the recursion limit becomes the SDK's error, not a RecursionError."""
    server = Recorder(httpx.Response(status, content=b"[" * 200_000, headers={"Content-Type": "application/json"}))
    async with make_client(server, max_retries=0) as dify:
        with pytest.raises(error):
            await dify.apps.get("a1")


@pytest.mark.anyio
async def test_unknown_enum_values_in_responses_parse() -> None:
    """Unknown mode, permission and indexing status values from a server parse as strings."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/apps"):
            return httpx.Response(
                200,
                json={
                    "data": [
                        {
                            "id": "a",
                            "name": "n",
                            "mode": "advanced-chat",
                            "icon": None,
                            "icon_background": None,
                            "description": None,
                            "created_at": 1,
                        }
                    ],
                    "limit": 1,
                },
            )
        if request.url.path.endswith("/documents"):
            return httpx.Response(
                200,
                json={
                    "data": [
                        {
                            "id": "x",
                            "name": "n",
                            "created_at": 1,
                            "status": "enabled",
                            "indexing_status": "queued",
                            "word_count": 0,
                        }
                    ],
                    "limit": 1,
                },
            )
        return httpx.Response(200, json={"id": "d", "name": "n", "permission": "partial_members"})

    async with make_client(handler, max_retries=0) as dify:
        apps = await dify.apps.list()
        docs = await dify.datasets.list_documents("d")
        dataset = await dify.datasets.get("d")
    assert apps.data[0].mode == "advanced-chat"
    assert docs.data[0].indexing_status == "queued"
    assert dataset.permission == "partial_members"


@pytest.mark.anyio
async def test_connection_error_is_api_connection_error() -> None:
    """A transport failure raises APIConnectionError, not an httpx exception."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with make_client(handler, max_retries=0) as dify:
        with pytest.raises(APIConnectionError) as info:
            await dify.apps.get("a1")
    assert not isinstance(info.value, APITimeoutError)
    assert isinstance(info.value.__cause__, httpx.ConnectError)


@pytest.mark.anyio
async def test_timeout_is_api_timeout_error() -> None:
    """A read timeout raises APITimeoutError, a subclass of APIConnectionError."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with make_client(handler, max_retries=0) as dify:
        with pytest.raises(APITimeoutError) as info:
            await dify.apps.get("a1")
    assert isinstance(info.value, APIConnectionError)


def test_error_hierarchy() -> None:
    """Every status error class derives from APIStatusError, APIError and DifyError."""
    for _, cls in STATUSES:
        assert issubclass(cls, APIStatusError) and issubclass(cls, APIError) and issubclass(cls, DifyError)
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIResponseValidationError, APIError)


@pytest.mark.anyio
@pytest.mark.parametrize("value", ["nan", "inf"])
async def test_non_finite_retry_after_ms_is_none(value: str) -> None:
    """A non-finite retry-after-ms hint is treated as no hint (retry_after None)."""
    response = httpx.Response(429, headers={"retry-after-ms": value})
    async with make_client(lambda r: response, max_retries=0) as dify:
        with pytest.raises(RateLimitError) as info:
            await dify.apps.get("a1")
    assert info.value.retry_after is None


@pytest.mark.anyio
async def test_nan_retry_after_does_not_poison_the_client() -> None:
    """A 429 with retry-after-ms: nan leaves the client's cooldown finite (later calls do not raise ValueError)."""
    import math

    response = httpx.Response(429, headers={"retry-after-ms": "nan"})
    async with make_client(lambda r: response, max_retries=0) as dify:
        with pytest.raises(RateLimitError):
            await dify.apps.get("a1")
        assert math.isfinite(dify.stats.cooldown_seconds)


@pytest.mark.anyio
@pytest.mark.virtual_time  # the 0.2 s guard is virtual: a loaded machine's slowness cannot trip it
async def test_huge_retry_after_does_not_block_later_calls() -> None:
    """After a 429 asking for more than max_retry_wait, a later call does not hang for that long."""
    import anyio

    answers = iter([httpx.Response(429, headers={"retry-after": "99999"}), httpx.Response(200, json=APP_BODY)])
    async with make_client(lambda r: next(answers), max_retries=0) as dify:
        with pytest.raises(RateLimitError):
            await dify.apps.get("a1")
        with anyio.fail_after(0.2):  # a guard, not a wait: the fixed SDK answers at once
            await dify.apps.get("a1")


APP_BODY = {
    "id": "a1",
    "name": "n",
    "mode": "chat",
    "icon": None,
    "icon_background": None,
    "description": None,
    "created_at": 1,
}
