"""The aiohttp transport's error mapping and timeouts, row by row (module docstring of ``_transport``)."""

from __future__ import annotations

from types import SimpleNamespace

import aiohttp
import httpx
import pytest

from dify_mgmt_async._transport import _client_timeout, _map_error

REQUEST = httpx.Request("POST", "https://dify.example.com/x", headers={"Authorization": "Bearer tok-123"})


def connector_error() -> aiohttp.ClientConnectorError:
    key = SimpleNamespace(host="dify.example.com", port=443, ssl=True)
    return aiohttp.ClientConnectorError(key, OSError(111, "Connection refused"))  # type: ignore[arg-type]


def response_error() -> aiohttp.ClientResponseError:
    info = aiohttp.RequestInfo(url=aiohttp.client.URL("https://dify.example.com"), method="GET", headers={})  # type: ignore[call-arg,arg-type]
    return aiohttp.ClientResponseError(info, (), status=400, message="bad framing")


@pytest.mark.parametrize(
    ("error", "mapped"),
    [
        (connector_error(), httpx.ConnectError),
        (aiohttp.ConnectionTimeoutError("pool"), httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError("read"), httpx.ReadTimeout),
        (aiohttp.ServerTimeoutError("read"), httpx.ReadTimeout),
        (TimeoutError(), httpx.ReadTimeout),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
        (response_error(), httpx.RemoteProtocolError),
        (aiohttp.InvalidURL("ftp://x"), httpx.UnsupportedProtocol),
        (aiohttp.ClientPayloadError("cut"), httpx.ReadError),
        (aiohttp.ClientOSError(104, "reset"), httpx.ReadError),
        (aiohttp.ClientError("other"), httpx.ReadError),
    ],
)
def test_aiohttp_errors_map_to_httpx(error: BaseException, mapped: type[httpx.TransportError]) -> None:
    result = _map_error(error, REQUEST)
    assert type(result) is mapped
    assert result.request is REQUEST
    assert result.__cause__ is None


def test_mapped_message_is_aiohttps_with_the_token_cut_out() -> None:
    error = aiohttp.ClientError("sent Authorization: Bearer tok-123, token tok-123 again")
    message = str(_map_error(error, REQUEST))
    assert message == "sent Authorization: <redacted>, token <redacted> again"
    assert str(_map_error(TimeoutError(), REQUEST)) == "TimeoutError"
    bare = httpx.Request("GET", "https://dify.example.com/x")
    assert str(_map_error(aiohttp.ClientError("plain"), bare)) == "plain"


@pytest.mark.parametrize(
    ("timeouts", "connect", "sock_connect", "sock_read"),
    [
        ({"connect": 10.0, "read": 60.0, "write": 60.0, "pool": 30.0}, 40.0, 10.0, 60.0),
        ({"connect": None, "read": 5.0, "pool": 2.0}, 2.0, None, 5.0),
        ({"connect": 3.0, "read": None, "pool": None}, 3.0, 3.0, None),
        ({"connect": None, "read": None, "pool": None}, None, None, None),
    ],
)
def test_aiohttp_timeout_from_httpx_timeouts(
    timeouts: dict[str, float | None], connect: float | None, sock_connect: float | None, sock_read: float | None
) -> None:
    mapped = _client_timeout(timeouts)
    assert (mapped.total, mapped.connect, mapped.sock_connect, mapped.sock_read) == (
        None,
        connect,
        sock_connect,
        sock_read,
    )
