"""Every documented upload input works on the default transport; the file position and progress hook behave.

Defect 4: an async iterable or a non-seekable file object (a pipe) failed on the default transport
with a raw ``ValueError: chunked can not be set if "Transfer-Encoding: chunked" header is set``.
Defect 9: an exception in ``on_progress`` surfaced as "Failed to send bytes"; a file object was left
at EOF, so uploading it again failed with "file: is empty".
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import threading
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from dify_mgmt_async import APITimeoutError, DifyError, InternalServerError
from tests.conftest import DOCUMENT
from tests.faultserver import FaultServer, Received, respond

from .conftest import MakeClient
from .invariants import assert_healthy
from .uploads import MIB, SlowFile, file_part

pytestmark = pytest.mark.asyncio_only  # the default transport is aiohttp only under asyncio

UPLOAD = "/documents/upload"


def _sent_file(received: Received) -> bytes:
    assert received.body_complete
    return file_part(bytes(received.body), received.headers["content-type"])


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        await anyio.lowlevel.checkpoint()
        yield data[start : start + size]


@pytest.mark.anyio
async def test_async_iterable_upload(server: FaultServer, make_client: MakeClient) -> None:
    """Defect 4: an async iterable of bytes (length unknown) is uploaded, chunked, and arrives intact."""
    data = os.urandom(700_000)
    server.route(UPLOAD, respond(201, json=DOCUMENT))
    with anyio.fail_after(10):
        async with make_client(server.url, max_concurrency=2) as dify:
            doc = await dify.datasets.upload_document("d1", _chunks(data, 100_000), filename="a.bin")
            assert doc.id == "doc1"
            (got,) = server.received(UPLOAD)
            assert "content-length" not in got.headers
            assert got.headers["transfer-encoding"].lower() == "chunked"
            assert _sent_file(got) == data
            await assert_healthy(dify, server, 2)


@pytest.mark.anyio
async def test_pipe_upload(server: FaultServer, make_client: MakeClient) -> None:
    """Defect 4: a non-seekable file object (the read end of a pipe, fed by a thread) is uploaded intact."""
    data = os.urandom(300_000)  # more than a pipe buffer: the feeding thread runs alongside the upload
    pipe, feeder = _pipe(data)
    server.route(UPLOAD, respond(201, json=DOCUMENT))
    try:
        with pipe, anyio.fail_after(10):
            assert not pipe.seekable()
            async with make_client(server.url, max_concurrency=2) as dify:
                doc = await dify.datasets.upload_document("d1", pipe, filename="a.bin")
                assert doc.id == "doc1"
                (got,) = server.received(UPLOAD)
                assert _sent_file(got) == data
                await assert_healthy(dify, server, 2)
    finally:
        feeder.join(timeout=5)


def _pipe(data: bytes) -> tuple[io.BufferedReader, threading.Thread]:
    """The read end of a pipe, and the started thread writing ``data`` into it and closing it."""
    read_fd, write_fd = os.pipe()

    def feed() -> None:
        with open(write_fd, "wb") as sink, contextlib.suppress(BrokenPipeError):  # the reader gave up
            sink.write(data)

    feeder = threading.Thread(target=feed)
    feeder.start()
    return open(read_fd, "rb"), feeder


class ProgressBoom(Exception):
    pass


@pytest.mark.anyio
async def test_exception_in_progress_callback_surfaces_as_itself(server: FaultServer, make_client: MakeClient) -> None:
    """Defect 9 (progress callback): the callback's exception is what the caller gets.

    Either the exception itself, or a DifyError whose ``__cause__`` is it; never a transport error
    such as "Failed to send bytes". The upload is not re-sent, and no slot is lost.
    """
    boom = ProgressBoom("the progress bar broke")

    def on_progress(sent: int, total: int | None) -> None:
        raise boom

    server.route(UPLOAD, respond(201, json=DOCUMENT))
    with anyio.fail_after(10):
        async with make_client(server.url, max_concurrency=2) as dify:
            with pytest.raises(Exception) as caught:  # noqa: PT011 - which type is asserted below
                await dify.datasets.upload_document("d1", b"x" * 3_000_000, filename="a.txt", on_progress=on_progress)
            raised = caught.value
            assert raised is boom or (isinstance(raised, DifyError) and raised.__cause__ is boom), repr(raised)
            assert "Failed to send bytes" not in str(raised)
            assert len(server.received(UPLOAD)) <= 1
            await assert_healthy(dify, server, 2, raised)


@pytest.mark.anyio
async def test_exception_from_the_callers_iterable_surfaces_as_itself(
    server: FaultServer, make_client: MakeClient
) -> None:
    """The caller's async iterable raising mid-upload is, like a progress callback's error, what the caller gets.
    On the default transport aiohttp wrapped it as "Failed to send bytes", an APIConnectionError."""
    boom = ProgressBoom("the source broke")

    async def source() -> AsyncIterator[bytes]:
        yield b"x" * 100_000
        raise boom

    server.route(UPLOAD, respond(201, json=DOCUMENT))
    with anyio.fail_after(10):
        async with make_client(server.url, max_concurrency=2) as dify:
            with pytest.raises(Exception) as caught:  # noqa: PT011 - which type is asserted below
                await dify.datasets.upload_document("d1", source(), filename="a.txt")
            raised = caught.value
            assert raised is boom or (isinstance(raised, DifyError) and raised.__cause__ is boom), repr(raised)
            assert len(server.received(UPLOAD)) <= 1
            await assert_healthy(dify, server, 2, raised)


@pytest.mark.anyio
@pytest.mark.parametrize("outcome", ["201", "500"])
async def test_file_object_is_sent_from_its_position_and_put_back_there(
    server: FaultServer, make_client: MakeClient, outcome: str
) -> None:
    """Defect 9 (file position). Chosen behaviour, stated here and to be documented:

    a file object is sent from its position *at the time of the call*, and after the call, whether
    it succeeded or raised, its position is back where it was at the time of the call. So the same
    object can be uploaded again and sends the same bytes.
    """
    answer: dict[str, Any] = {"json": DOCUMENT} if outcome == "201" else {"body": b"oops"}
    server.route(UPLOAD, respond(int(outcome), **answer))
    handle = io.BytesIO(b"SKIPPED|" + b"payload " * 1000)
    handle.seek(8)
    with anyio.fail_after(10):
        async with make_client(server.url, max_concurrency=2, max_retries=0) as dify:
            for _ in range(2):
                if outcome == "201":
                    await dify.datasets.upload_document("d1", handle, filename="a.txt")
                else:
                    with pytest.raises(InternalServerError):
                        await dify.datasets.upload_document("d1", handle, filename="a.txt")
                assert handle.tell() == 8
            first, second = server.received(UPLOAD)
            assert _sent_file(first) == _sent_file(second) == b"payload " * 1000
            await assert_healthy(dify, server, 2)


@pytest.mark.anyio
async def test_a_file_object_cut_off_mid_read_is_put_back_after_the_read_that_outlived_the_call(
    server: FaultServer, make_client: MakeClient
) -> None:
    """The call is cancelled while a 0.4 s read of the file runs in its worker thread. The task stops waiting for
    the thread at once; the read finishes later and would leave the position a chunk on. It is back at 4 once
    that read is done (on the default transport it was 4 + 1 MiB)."""
    server.route(UPLOAD, respond(201, json=DOCUMENT))
    handle = SlowFile(b"HEAD" + b"c" * (3 * MIB), delay=0.4)
    handle.seek(4)
    async with make_client(server.url, max_concurrency=2, max_retries=0) as dify:

        def first_mib() -> bool:
            got = server.received(UPLOAD)
            return len(got) == 1 and got[-1].body_length >= MIB

        async with anyio.create_task_group() as tg:
            tg.start_soon(functools.partial(dify.datasets.upload_document, "d1", handle, filename="a.txt"))
            await server.wait_for(first_mib, "the first MiB")
            await anyio.sleep(0.05)  # the second read is under way in its thread
            tg.cancel_scope.cancel()
        await anyio.sleep(0.8)  # the read outlives the call, and ends
        assert handle.tell() == 4


@pytest.mark.anyio
async def test_a_file_object_uploaded_again_after_a_deadline_sends_every_byte(
    server: FaultServer, make_client: MakeClient
) -> None:
    """A call cut by its deadline mid-read, then the same object uploaded again: the second upload sends the whole
    file. (The read that outlived the first call had moved the position on, and the second sent 2 of 3 MiB, a
    shorter body that was still consistent with its length.)"""
    server.route(UPLOAD, respond(201, json=DOCUMENT))
    content = bytes(range(256)) * (3 * MIB // 256)
    handle = SlowFile(content, delay=0.4)
    async with make_client(server.url, max_concurrency=2, max_retries=0) as dify:
        with pytest.raises(APITimeoutError):
            await dify.with_options(timeout=0.25).datasets.upload_document("d1", handle, filename="a.txt")
        await anyio.sleep(0.8)  # the read that outlived it ends
        handle.delay = 0.0
        await dify.datasets.upload_document("d1", handle, filename="a.txt")
    second = server.received(UPLOAD)[-1]
    assert file_part(bytes(second.body), second.headers["content-type"]) == content
