"""Defect 1: an abandoned upload never leaks its concurrency slot and never surfaces a raw RuntimeError.

An upload is abandoned by the server resetting the connection mid-body, by the caller cancelling,
or by the ``timeout=`` deadline. On the default (aiohttp) transport the body is written by another
task; closing the body generator while that task is still inside it raised ``RuntimeError:
aclose(): asynchronous generator is already running`` and skipped giving the slot back, so with
``max_concurrency=2`` two such uploads later every call hung at the limiter.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from dify_mgmt_async import APIConnectionError, APITimeoutError, DifyManagementClient
from tests.conftest import DOCUMENT
from tests.faultserver import FaultServer, reset_mid_body, respond

from .conftest import MakeClient
from .invariants import assert_healthy
from .uploads import MIB, SlowFile

pytestmark = pytest.mark.asyncio_only  # the default transport is aiohttp only under asyncio

UPLOAD = "/documents/upload"


def _file(kind: str, tmp_path: Path) -> Path | SlowFile:
    if kind == "path":
        path = tmp_path / "big.txt"
        path.write_bytes(b"p" * (8 * MIB))
        return path
    return SlowFile(b"s" * (2 * MIB), delay=0.2)


async def _upload(dify: DifyManagementClient, file: Path | SlowFile) -> None:
    await dify.datasets.upload_document("d1", file, filename="a.txt")


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["path", "slow-file"])
async def test_reset_mid_body_is_a_connection_error_and_keeps_every_slot(
    server: FaultServer, make_client: MakeClient, tmp_path: Path, kind: str
) -> None:
    """Defect 1 (reset): three uploads reset after 256 KiB each raise APIConnectionError, not RuntimeError.

    No cancellation is involved. With ``max_concurrency=2`` the client then still runs 2 calls at once.
    """
    server.route(UPLOAD, reset_mid_body(after=256 * 1024))
    with anyio.fail_after(15):
        async with make_client(server.url, max_concurrency=2, max_retries=0) as dify:
            for _ in range(3):
                with pytest.raises(APIConnectionError) as caught:
                    await _upload(dify, _file(kind, tmp_path))
                assert type(caught.value) is APIConnectionError
                assert dify.stats.in_flight == 0
            assert len(server.received(UPLOAD)) == 3  # a create is never re-sent after it left
            await assert_healthy(dify, server, 2, caught.value)


@pytest.mark.anyio
async def test_cancelled_upload_keeps_every_slot(server: FaultServer, make_client: MakeClient) -> None:
    """Defect 1 (cancellation): uploads cancelled while the body is being read give their slot back.

    Each is cancelled once the server got the first MiB, while the next read of the file is under way.
    The cancellation surfaces as a cancellation (the task group absorbs it), never as RuntimeError.
    """
    server.route(UPLOAD, respond(201, json=DOCUMENT))
    with anyio.fail_after(15):
        async with make_client(server.url, max_concurrency=2, max_retries=0) as dify:
            for number in range(1, 4):

                def first_mib_arrived(n: int = number) -> bool:
                    got = server.received(UPLOAD)
                    return len(got) == n and got[-1].body_length >= MIB

                async with anyio.create_task_group() as tg:
                    tg.start_soon(_upload, dify, SlowFile(b"c" * (3 * MIB), delay=0.2))
                    await server.wait_for(first_mib_arrived, "the first MiB of the upload")
                    tg.cancel_scope.cancel()
                assert dify.stats.in_flight == 0
            await assert_healthy(dify, server, 2)


@pytest.mark.anyio
async def test_upload_past_its_deadline_is_a_timeout_and_keeps_every_slot(
    server: FaultServer, make_client: MakeClient
) -> None:
    """Defect 1 (``timeout=`` deadline): uploads whose deadline passes mid-body raise APITimeoutError.

    The whole-call deadline is 0.3 s and the file's second read takes 0.5 s. Three such uploads
    later, the client with ``max_concurrency=2`` still runs 2 calls at once.
    """
    server.route(UPLOAD, respond(201, json=DOCUMENT))
    with anyio.fail_after(15):
        async with make_client(server.url, max_concurrency=2, max_retries=0) as dify:
            hurried = dify.with_options(timeout=0.3)
            for _ in range(3):
                with pytest.raises(APITimeoutError) as caught:
                    await _upload(hurried, SlowFile(b"t" * (2 * MIB), delay=0.5))
                assert dify.stats.in_flight == 0
            await assert_healthy(dify, server, 2, caught.value)
