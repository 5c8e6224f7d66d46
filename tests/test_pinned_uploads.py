"""Uploads: every refusal's exact message (before anything is sent) and the exact multipart body."""

from __future__ import annotations

import io
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dify_mgmt_async import APIConnectionError, InvalidArgumentError
from dify_mgmt_async._uploads import prepare_upload
from tests.conftest import DOCUMENT, Recorder, make_client

pytestmark = pytest.mark.anyio


async def chunks(*items: Any) -> AsyncIterator[Any]:
    for item in items:
        yield item


async def refused(file: Any, **kwargs: Any) -> str:
    server = Recorder(status=201, body=DOCUMENT)
    async with make_client(server, max_retries=0) as dify:
        with pytest.raises(InvalidArgumentError) as caught:
            await dify.datasets.upload_document("d1", file, **kwargs)
    assert server.requests == []
    return str(caught.value)


async def test_missing_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.txt"
    assert await refused(path) == f"file: {str(path)!r} does not exist"


async def test_directory(tmp_path: Path) -> None:
    assert await refused(tmp_path) == f"file: {str(tmp_path)!r} is a directory"


async def test_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert await refused(str(fifo)) == f"file: {str(fifo)!r} is not a regular file"


async def test_unreadable_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """(os.access is patched: root, which runs CI here, reads every file.)"""
    from dify_mgmt_async import _uploads

    path = tmp_path / "secret.txt"
    path.write_bytes(b"x")
    monkeypatch.setattr(_uploads.os, "access", lambda p, mode: not (p == path and mode == os.R_OK))
    assert await refused(path) == f"file: {str(path)!r} is not readable"


async def test_path_that_cannot_be_stat_ed(tmp_path: Path) -> None:
    path = tmp_path / ("x" * 300)
    assert await refused(path) == f"file: cannot read {str(path)!r}: File name too long"


async def test_empty_sources(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    assert await refused(path) == "file: is empty (0 bytes)"
    assert await refused(b"", filename="a.txt") == "file: is empty (0 bytes)"
    assert await refused(io.BytesIO(b""), filename="a.txt") == "file: is empty (0 bytes)"


async def test_wrong_kinds() -> None:
    assert await refused(12) == (
        "file: expected a path, bytes, a binary file object or an async iterable of bytes, not int"
    )
    assert await refused(io.StringIO("text"), filename="a.txt") == (
        "file: a text-mode file object; open it in binary mode ('rb')"
    )


async def test_filename_is_required_for_nameless_sources() -> None:
    message = "filename: is required when file is bytes, an async iterable or an unnamed file object"
    assert await refused(b"data") == message
    assert await refused(io.BytesIO(b"data")) == message
    assert await refused(chunks(b"data")) == message
    assert await refused(b"data", filename="") == message


@pytest.mark.parametrize(
    "ctype", ["text", "text/", "text/plain;", "text/plain; charset", "a b/c", "text/plain\r\nX: y"]
)
async def test_content_type_must_be_a_media_type(ctype: str) -> None:
    assert await refused(b"data", filename="a.txt", content_type=ctype) == (
        f"content_type: must be a media type such as text/markdown (got {ctype!r})"
    )


@pytest.mark.parametrize(
    "ctype", ["text/markdown", "application/vnd.ms-excel", "text/plain; charset=utf-8", 'text/plain;a="b c";x=y']
)
async def test_content_types_accepted(ctype: str) -> None:
    server = Recorder(status=201, body=DOCUMENT)
    async with make_client(server, max_retries=0) as dify:
        await dify.datasets.upload_document("d1", b"data", filename="a.txt", content_type=ctype)
    assert f"Content-Type: {ctype}\r\n\r\ndata\r\n".encode() in server.requests[0].content


async def test_async_iterable_of_something_else() -> None:
    server = Recorder(status=201, body=DOCUMENT)
    async with make_client(server, max_retries=0) as dify:
        with pytest.raises(InvalidArgumentError) as caught:
            await dify.datasets.upload_document("d1", chunks(b"ok", "text"), filename="a.txt")
    assert str(caught.value) == "file: the async iterable yielded str, not bytes"


async def test_async_iterable_chunks_of_every_bytes_kind() -> None:
    server = Recorder(status=201, body=DOCUMENT)
    async with make_client(server, max_retries=0) as dify:
        await dify.datasets.upload_document("d1", chunks(b"a", bytearray(b"b"), memoryview(b"c")), filename="a.txt")
    assert server.parts()["file"].get_payload(decode=True) == b"abc"


class Growing(io.BytesIO):
    """Reports one size, then yields more bytes than that."""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 3 if whence == os.SEEK_END else super().seek(offset, whence)


async def test_a_file_that_grows_while_uploading() -> None:
    server = Recorder(status=201, body=DOCUMENT)
    async with make_client(server, max_retries=0) as dify:
        with pytest.raises(InvalidArgumentError) as caught:
            await dify.datasets.upload_document("d1", Growing(b"abcdef"), filename="a.txt")
    assert str(caught.value) == "file: grew while uploading (more than 3 bytes)"


async def test_the_exact_multipart_body() -> None:
    body = prepare_upload(
        b"hello",
        field="file",
        parts=[("data", "application/json", {"k": "é", "n": [1, 2]}), ("note", "text/plain", 7)],
        filename="a.md",
        content_type=None,
        on_progress=None,
    )
    sent = b"".join([chunk async for chunk in body.stream()])
    b = body.boundary
    assert re.fullmatch(r"[0-9a-f]{32}", b)
    assert (
        sent
        == (
            f'--{b}\r\nContent-Disposition: form-data; name="data"\r\nContent-Type: application/json\r\n\r\n'
            '{"k":"é","n":[1,2]}\r\n'
            f'--{b}\r\nContent-Disposition: form-data; name="note"\r\nContent-Type: text/plain\r\n\r\n7\r\n'
            f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="a.md"\r\n'
            "Content-Type: text/markdown\r\n\r\n"
            f"hello\r\n--{b}--\r\n"
        ).encode()
    )
    assert body.content_length == len(sent)
    assert body.headers == {"Content-Type": f"multipart/form-data; boundary={b}", "Content-Length": str(len(sent))}
    assert body.replayable is True


async def test_unknown_extension_is_octet_stream_and_names_are_escaped() -> None:
    body = prepare_upload(b"x", field='f"\\', parts=[], filename="noext", content_type=None, on_progress=None)
    assert body.content_type == "application/octet-stream"
    head = b"".join([chunk async for chunk in body.stream()])
    assert b'Content-Disposition: form-data; name="f%22\\\\"; filename="noext"\r\n' in head


async def test_progress_counts_every_byte_and_the_total() -> None:
    seen: list[tuple[int, int | None]] = []
    body = prepare_upload(
        b"x" * (1024 * 1024 + 5),
        field="file",
        parts=[],
        filename="a.bin",
        content_type=None,
        on_progress=lambda s, t: seen.append((s, t)),
    )
    [chunk async for chunk in body.stream()]
    assert seen == [(1024 * 1024, 1024 * 1024 + 5), (1024 * 1024 + 5, 1024 * 1024 + 5)]


async def test_a_seekable_file_object_is_sent_from_its_position_and_put_back() -> None:
    handle = io.BytesIO(b"skip:payload")
    handle.seek(5)
    body = prepare_upload(handle, field="file", parts=[], filename="a.txt", content_type=None, on_progress=None)
    assert body.source.size == 7
    first = b"".join([chunk async for chunk in body.stream()])
    second = b"".join([chunk async for chunk in body.stream()])
    assert first == second and b"\r\n\r\npayload\r\n" in first
    assert handle.tell() == 5


class Pipe(io.RawIOBase):
    """A readable, non-seekable binary stream."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Pipe(b"once"), "file: a non-seekable file object can be sent only once"),
        (lambda: chunks(b"once"), "file: an async iterable can be sent only once and cannot be replayed"),
    ],
)
async def test_a_one_shot_source_refuses_a_second_stream(make: Any, message: str) -> None:
    body = prepare_upload(make(), field="file", parts=[], filename="a.txt", content_type=None, on_progress=None)
    assert body.replayable is False
    assert body.content_length is None and "Content-Length" not in body.headers
    first = b"".join([chunk async for chunk in body.stream()])
    assert first.endswith(f"once\r\n--{body.boundary}--\r\n".encode())
    with pytest.raises(InvalidArgumentError) as caught:
        [chunk async for chunk in body.stream()]
    assert str(caught.value) == message


async def test_a_non_seekable_source_is_read_in_1_mib_chunks() -> None:
    seen: list[tuple[int, int | None]] = []
    size = 1024 * 1024 + 5
    body = prepare_upload(
        Pipe(b"p" * size),
        field="file",
        parts=[],
        filename="a.bin",
        content_type=None,
        on_progress=lambda s, t: seen.append((s, t)),
    )
    [chunk async for chunk in body.stream()]
    assert seen == [(1024 * 1024, None), (size, None)]


def test_quote_escapes_as_browsers_do() -> None:
    from dify_mgmt_async._uploads import _quote

    assert _quote('a"b\\c\r\nd') == "a%22b\\\\c%0D%0Ad"


def test_json_parts_refuse_nan() -> None:
    from dify_mgmt_async._uploads import _encode_part

    assert _encode_part("data", {"k": "é"}, "application/json") == '{"k":"é"}'.encode()
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        _encode_part("data", {"k": float("nan")}, "application/json")


class Refusing(httpx.AsyncBaseTransport):
    """Refuses every connection before reading any of the body."""

    def __init__(self) -> None:
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        raise httpx.ConnectError("refused", request=request)


@pytest.mark.virtual_time
async def test_an_upload_refused_before_its_body_was_read_is_a_connection_error() -> None:
    transport = Refusing()
    async with make_client(transport) as dify:
        with pytest.raises(APIConnectionError) as caught:
            await dify.datasets.upload_document("d1", b"data", filename="a.txt")
    assert transport.attempts == 3
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
