"""Defect 2: ``aclose()`` stops every call of the client: queued, ongoing, and retries waiting to go.

Calls already past the "closed" check (queued at the limiter) and GETs waiting to retry used to
open a brand-new aiohttp session after ``aclose()``: all 20 queued GETs reached the server, and the
new session was never closed ("Unclosed client session"; the autouse fixture checks for it).
"""

from __future__ import annotations

import anyio
import pytest

from dify_mgmt_async import DifyError, DifyManagementClient, RetryEvent
from tests.faultserver import FaultServer, respond

from .conftest import MakeClient
from .invariants import assert_token_absent

pytestmark = pytest.mark.asyncio_only  # the default transport is aiohttp only under asyncio

HELD = "/apps/held"


async def _outcome(dify: DifyManagementClient, app_id: str, results: list[object]) -> None:
    try:
        results.append(await dify.apps.get(app_id))
    except Exception as exc:
        results.append(exc)


@pytest.mark.anyio
async def test_aclose_fails_queued_and_ongoing_calls_and_sends_nothing_more(
    server: FaultServer, make_client: MakeClient
) -> None:
    """Defect 2: 20 GETs, 2 in flight (answered only after 1 s) and 18 queued; then ``aclose()``.

    Every one of the 20 raises a DifyError-family error, soon; the server got exactly the 2 that
    were in flight before the close, and nothing after it.
    """
    server.route(HELD, respond(delay=1.0))
    results: list[object] = []
    with anyio.fail_after(5):
        dify = make_client(server.url, max_concurrency=2)
        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(_outcome, dify, "held", results)
            await server.wait_for(lambda: server.in_flight(HELD) == 2, "2 calls in flight")
            closed_at = anyio.current_time()
            await dify.aclose()
        assert anyio.current_time() - closed_at < 0.9  # the held calls were not waited for
    assert len(results) == 20
    assert [type(r).__name__ for r in results if not isinstance(r, DifyError)] == []
    for error in results:
        assert isinstance(error, BaseException)
        assert_token_absent(error)
    assert len(server.received(HELD)) == 2
    assert dify.stats.in_flight == 0


@pytest.mark.anyio
async def test_aclose_stops_a_get_waiting_to_retry(server: FaultServer, make_client: MakeClient) -> None:
    """Defect 2 (retries): a GET whose 503 asked for a 0.3 s wait is not re-sent once the client is closed.

    It raises a DifyError-family error instead, and the server saw only the first attempt.
    """
    server.route("/apps/flaky", respond(503, body=b"busy", headers=[("Retry-After", "0.3")]))
    retries: list[RetryEvent] = []
    with anyio.fail_after(5):
        dify = make_client(server.url, max_retries=2, on_retry=retries.append)
        async with anyio.create_task_group() as tg:
            results: list[object] = []
            tg.start_soon(_outcome, dify, "flaky", results)
            await server.wait_for(lambda: len(retries) == 1, "a retry scheduled")
            await dify.aclose()
        await anyio.sleep(0.4)  # past the retry's wait: a retry that was going to happen has happened
    (error,) = results
    assert isinstance(error, DifyError)
    assert len(server.received("/apps/flaky")) == 1
    assert dify.stats.in_flight == 0


@pytest.mark.anyio
async def test_call_after_aclose_sends_nothing(server: FaultServer, make_client: MakeClient) -> None:
    """Defect 2 (guard; this part held before the fix too): after ``aclose()`` a new call, a GET or an
    upload, raises DifyError naming the closed client, and sends nothing."""
    with anyio.fail_after(5):
        dify = make_client(server.url)
        await dify.apps.get("a1")
        await dify.aclose()
        with pytest.raises(DifyError, match="closed"):
            await dify.apps.get("a1")
        with pytest.raises(DifyError, match="closed"):
            await dify.datasets.upload_document("d1", b"x", filename="a.txt")
    assert len(server.received("/apps/a1")) == 1
    assert server.received("/documents") == []
