"""``_core.bodiless_request`` builds exactly the request ``httpx.Request`` builds for a request without a body."""

from __future__ import annotations

import httpx
import pytest

from dify_mgmt_async._core import _DEFAULT_HEADERS, bodiless_request

AUTH = ("Authorization", "Bearer sk-1")
HEADERS = [
    [*_DEFAULT_HEADERS, AUTH],
    [*_DEFAULT_HEADERS, AUTH, ("X-Trace-Id", "t1"), ("user-agent", "mine/1")],
    [*_DEFAULT_HEADERS, AUTH, ("host", "other.example")],
    [*_DEFAULT_HEADERS, AUTH, ("Content-Length", "0")],
    [*_DEFAULT_HEADERS, AUTH, ("Transfer-Encoding", "chunked")],
    [],
]
URLS = [
    "https://dify.example.com/api/management/apps",
    "http://127.0.0.1:8080/api/management/apps?page=2&limit=20&status=a&status=b",
    "http://[::1]:9/x",
    "https://bücher.example:8443/ä?q=ü",
]


@pytest.mark.parametrize("method", ["GET", "DELETE", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"])
@pytest.mark.parametrize("headers", HEADERS, ids=range(len(HEADERS)))
@pytest.mark.parametrize("url", URLS)
def test_same_request_as_httpx_builds(method: str, headers: list[tuple[str, str]], url: str) -> None:
    extensions = {"timeout": {"connect": 1.0, "read": 2.0, "write": 3.0, "pool": 4.0}}
    ours = bodiless_request(method, httpx.URL(url), headers, extensions)
    theirs = httpx.Request(method, httpx.URL(url), headers=headers, extensions=extensions)
    assert (ours.method, ours.url, ours.extensions) == (theirs.method, theirs.url, theirs.extensions)
    assert ours.headers.raw == theirs.headers.raw
    assert ours.headers.multi_items() == theirs.headers.multi_items()
    assert ours.content == theirs.content == b""
    assert isinstance(ours.stream, httpx.ByteStream) and list(ours.stream) == list(theirs.stream) == [b""]


def test_a_header_that_is_not_ascii_fails_as_in_httpx() -> None:
    headers = [*_DEFAULT_HEADERS, ("Authorization", "Bearer clé")]
    with pytest.raises(UnicodeEncodeError):
        httpx.Request("GET", "https://h/x", headers=headers)
    with pytest.raises(UnicodeEncodeError):
        bodiless_request("GET", httpx.URL("https://h/x"), headers, {})
