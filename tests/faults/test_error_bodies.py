"""Error answers whose body is huge or broken.

Defect 5: a 20 MB HTML 502 cost about 27 times its size in memory (the whole body was split into
words to keep 300 characters). Defect 7: a 429, 401 or 500 whose body is truncated or is not
valid gzip became APIConnectionError: the status was lost, so a 429 was not retried.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from typing import Any

import anyio
import pytest

from dify_mgmt_async import (
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    InternalServerError,
    RateLimitError,
)
from tests.conftest import APP
from tests.faultserver import Action, FaultServer, respond

from .conftest import MakeClient
from .invariants import assert_healthy
from .uploads import MIB

pytestmark = pytest.mark.asyncio_only  # the default transport is aiohttp only under asyncio


def _html(size: int) -> bytes:
    line = b"<div class='row'>" + b"x" * 60 + b"</div>\n"
    return b"<html><body>\n" + line * (size // len(line)) + b"</body></html>\n"


@pytest.mark.anyio
async def test_huge_html_error_body_costs_little_memory(server: FaultServer, make_client: MakeClient) -> None:
    """Defect 5: a 20 MB HTML 502 raises InternalServerError with a message of at most 300 characters (+ "…").

    The client's traced memory peak while receiving and handling it stays under 64 MiB (main: 107 MiB),
    and the error keeps at most 2 MiB of the body (``body`` and ``response.content``): an error is
    often kept (``bulk.map`` returns one per failed item), so it must not hold 20 MB.
    """
    body = _html(20 * MIB)
    server.route("/apps/a1", respond(502, body=body, headers=[("Content-Type", "text/html")], reason="Bad Gateway"))
    with anyio.fail_after(20):
        async with make_client(server.url, max_concurrency=2, max_retries=0) as dify:
            await dify.apps.get("warm-up")  # imports and the pool, outside the measurement
            tracemalloc.start()
            try:
                with pytest.raises(InternalServerError) as caught:
                    await dify.apps.get("a1")
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            error = caught.value
            assert error.status_code == 502
            assert error.message.startswith("<html><body> <div class='row'>xxx")
            assert len(error.message) <= 301
            assert len(str(error)) <= 301 + 200  # the status and the request's method and URL
            assert peak < 64 * MIB, f"peak {peak / MIB:.0f} MiB for a 20 MiB error body"
            assert error.body is None or len(error.body) <= 2 * MIB  # type: ignore[arg-type]
            assert len(error.response.content) <= 2 * MIB
            await assert_healthy(dify, server, 2, error)


def _truncated(status: int) -> Action:
    body = b'{"error_code": "some_code", "error": "a message that is cut o'
    return respond(status, body=body, content_length=400, headers=[("Content-Type", "application/json")])


def _bad_gzip(status: int) -> Action:
    return respond(status, body=b"this is not gzip", headers=[("Content-Encoding", "gzip")])


BROKEN = {"truncated": _truncated, "invalid-gzip": _bad_gzip}


@pytest.mark.anyio
@pytest.mark.parametrize("broken", list(BROKEN))
@pytest.mark.parametrize(
    ("status", "error_type"),
    [(429, RateLimitError), (401, AuthenticationError), (500, InternalServerError)],
)
async def test_status_survives_a_broken_error_body(
    server: FaultServer, make_client: MakeClient, broken: str, status: int, error_type: type[APIStatusError]
) -> None:
    """Defect 7: a non-2xx with a truncated or invalid-gzip body raises the status's error, with its status code."""
    server.route("/apps/a1", BROKEN[broken](status))
    with anyio.fail_after(5):
        async with make_client(server.url, max_concurrency=2, max_retries=0) as dify:
            with pytest.raises(APIStatusError) as caught:
                await dify.apps.get("a1")
            assert type(caught.value) is error_type
            assert caught.value.status_code == status
            assert len(server.received("/apps/a1")) == 1
            # A 429 may shrink the concurrency limit (by design); every slot of the limit still works.
            await assert_healthy(dify, server, dify.stats.concurrency_limit, caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize("broken", list(BROKEN))
async def test_429_with_a_broken_body_is_retried(server: FaultServer, make_client: MakeClient, broken: str) -> None:
    """Defect 7: a 429 whose body is broken is still a 429: the create is retried after the hint and succeeds."""
    first: Any = BROKEN[broken](429)
    hinted = respond(429, body=b'{"error_code": "rate_limit', content_length=300, headers=[("retry-after-ms", "50")])
    server.route("/api/management/apps", hinted if broken == "truncated" else first, respond(201, json=APP))
    with anyio.fail_after(5):
        async with make_client(server.url, max_concurrency=4) as dify:
            app = await dify.apps.create(name="n", mode="chat")
            assert app.id == "a1"
            assert len(server.received("/api/management/apps")) == 2
            stats = dify.stats
            assert (stats.rate_limited, stats.retries) == (1, 1)
            await assert_healthy(dify, server, stats.concurrency_limit)


@pytest.mark.anyio
@pytest.mark.parametrize("encoding", ["gzip", "identity"])
async def test_a_2xx_body_is_decoded_by_its_content_encoding(
    server: FaultServer, make_client: MakeClient, encoding: str
) -> None:
    """A 2xx read whole: a gzip-encoded body is decoded before it is parsed, any other is taken as read."""
    body = json.dumps(APP).encode()
    headers = [("Content-Type", "application/json")]
    if encoding == "gzip":
        body = gzip.compress(body)
        headers.append(("Content-Encoding", "gzip"))
    server.route("/api/management/apps/a1", respond(200, body=body, headers=headers))
    with anyio.fail_after(5):
        async with make_client(server.url, max_retries=0) as dify:
            raw = await dify.with_raw_response(dify.apps.get("a1"))
    assert raw.parsed.id == APP["id"] and raw.parsed.created_at == APP["created_at"]
    assert raw.http_response.content == json.dumps(APP).encode()


@pytest.mark.anyio
async def test_a_2xx_whose_body_cannot_be_decoded_is_a_validation_error(
    server: FaultServer, make_client: MakeClient
) -> None:
    """A 201 with ``Content-Encoding: gzip`` and a body that is not gzip: the server answered, so it is an
    APIResponseValidationError with the status, sent once (it was an APIConnectionError, "no answer")."""
    headers = [("Content-Type", "application/json"), ("Content-Encoding", "gzip")]
    server.route("/api/management/apps", respond(201, body=b"this is not gzip", headers=headers))
    with anyio.fail_after(5):
        async with make_client(server.url, max_concurrency=2) as dify:
            with pytest.raises(APIResponseValidationError) as caught:
                await dify.apps.create(name="n", mode="chat")
            assert caught.value.status_code == 201
            assert caught.value.message.startswith("201 answer's body cannot be decoded (Content-Encoding: gzip): ")
            assert len(server.received("/api/management/apps")) == 1
            await assert_healthy(dify, server, 2, caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize("wrapped", [True, False], ids=["zlib", "raw"])
async def test_a_deflate_error_body_keeps_its_error_code(
    server: FaultServer, make_client: MakeClient, wrapped: bool
) -> None:
    """A 404 whose JSON body is deflate-encoded, zlib-wrapped (the RFC) or raw (some servers; httpx reads both):
    its error_code and message are read (a raw one came back as error_code None and bytes of garbage)."""
    compressor = zlib.compressobj(wbits=zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
    body = compressor.compress(b'{"error_code": "app_not_found", "error": "no such app"}') + compressor.flush()
    headers = [("Content-Type", "application/json"), ("Content-Encoding", "deflate")]
    server.route("/api/management/apps/a1", respond(404, body=body, headers=headers))
    with anyio.fail_after(5):
        async with make_client(server.url, max_retries=0) as dify:
            with pytest.raises(APIStatusError) as caught:
                await dify.apps.get("a1")
    assert (caught.value.status_code, caught.value.error_code, caught.value.message) == (
        404,
        "app_not_found",
        "no such app",
    )
