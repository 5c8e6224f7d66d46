"""``datasets.upload_document``: each file kind, the multipart body the server gets, progress and memory."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from dify_mgmt_async import (
    Document,
    InternalServerError,
    InvalidArgumentError,
    ProcessRule,
    RateLimitError,
)
from tests.conftest import DOCUMENT, Recorder, make_client, parse_multipart

ROOT = Path(__file__).resolve().parent.parent
UPLOAD_PATH = "/api/management/datasets/d1/documents/upload"


def upload_server(status: int = 201) -> Recorder:
    """A Recorder answering every upload with ``status`` and a Document."""
    return Recorder(status=status, body=DOCUMENT)


def _payload(part: EmailMessage) -> bytes:
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return data


async def _chunks(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


@pytest.mark.anyio
@pytest.mark.parametrize("as_path", [str, Path], ids=["str", "pathlib"])
async def test_path_upload(tmp_path: Path, as_path: Any) -> None:
    """A path (str or Path) is read from disk; filename and content type default from it."""
    path = tmp_path / "手册.md"
    path.write_bytes(b"# title\n")
    server = upload_server()
    async with make_client(server, max_retries=0) as dify:
        doc = await dify.datasets.upload_document("d1", as_path(path))
    assert type(doc) is Document
    request = server.requests[0]
    assert request.method == "POST" and request.url.path == UPLOAD_PATH
    assert request.headers["content-length"] == str(len(request.content))
    parts = server.parts()
    assert set(parts) == {"file"}
    assert parts["file"].get_filename() == "手册.md"
    assert parts["file"].get_content_type() == "text/markdown"
    assert _payload(parts["file"]) == b"# title\n"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "ctype"),
    [("a.pdf", "application/pdf"), ("a.txt", "text/plain"), ("a.unknownext", "application/octet-stream")],
)
async def test_content_type_defaults_from_filename(tmp_path: Path, name: str, ctype: str) -> None:
    """The file part's content type is guessed from the file name, octet-stream when unknown."""
    path = tmp_path / name
    path.write_bytes(b"x")
    server = upload_server()
    async with make_client(server, max_retries=0) as dify:
        await dify.datasets.upload_document("d1", path)
    assert server.parts()["file"].get_content_type() == ctype


@pytest.mark.anyio
async def test_explicit_filename_and_content_type_override(tmp_path: Path) -> None:
    """filename= and content_type= override what the path suggests."""
    path = tmp_path / "a.txt"
    path.write_bytes(b"x")
    server = upload_server()
    async with make_client(server, max_retries=0) as dify:
        await dify.datasets.upload_document("d1", path, filename="report.csv", content_type="text/csv")
    part = server.parts()["file"]
    assert part.get_filename() == "report.csv"
    assert part.get_content_type() == "text/csv"


@pytest.mark.anyio
async def test_bytes_upload() -> None:
    """bytes are sent as the file part, with the filename given and its guessed type."""
    server = upload_server()
    async with make_client(server, max_retries=0) as dify:
        await dify.datasets.upload_document("d1", b"\x00\x01binary\xff", filename="blob.bin")
    part = server.parts()["file"]
    assert _payload(part) == b"\x00\x01binary\xff"
    assert part.get_filename() == "blob.bin"
    assert part.get_content_type() == "application/octet-stream"


@pytest.mark.anyio
async def test_file_object_is_read_from_current_position() -> None:
    """A binary file object is sent from its current position, not from the start."""
    handle = io.BytesIO(b"SKIPPED|the rest")
    handle.seek(8)
    server = upload_server()
    async with make_client(server, max_retries=0) as dify:
        await dify.datasets.upload_document("d1", handle, filename="a.txt")
    assert _payload(server.parts()["file"]) == b"the rest"
    assert server.requests[0].headers["content-length"] == str(len(server.requests[0].content))


@pytest.mark.anyio
async def test_open_file_object_names_the_part(tmp_path: Path) -> None:
    """An open file's name gives the default filename and content type."""
    path = tmp_path / "data.json"
    path.write_bytes(b'{"a": 1}')
    server = upload_server()
    with path.open("rb") as handle:
        async with make_client(server, max_retries=0) as dify:
            await dify.datasets.upload_document("d1", handle)
    part = server.parts()["file"]
    assert part.get_filename() == "data.json"
    assert part.get_content_type() == "application/json"
    assert _payload(part) == b'{"a": 1}'


@pytest.mark.anyio
async def test_async_iterable_upload() -> None:
    """An async iterable of bytes is streamed chunk by chunk, without a Content-Length."""
    server = upload_server()
    async with make_client(server, max_retries=0) as dify:
        await dify.datasets.upload_document("d1", _chunks(b"one,", b"two,", b"three"), filename="a.csv")
    assert _payload(server.parts()["file"]) == b"one,two,three"
    assert "content-length" not in server.requests[0].headers


@pytest.mark.anyio
async def test_empty_async_iterable_is_refused() -> None:
    """An async iterable that yields nothing is an empty file: InvalidArgumentError, as for an empty path."""

    async def nothing() -> AsyncIterator[bytes]:
        for _ in ():
            yield b""

    async with make_client(Recorder()) as dify:
        with pytest.raises(InvalidArgumentError, match="empty"):
            await dify.datasets.upload_document("ds", nothing(), filename="a.txt")


@pytest.mark.anyio
async def test_text_mode_file_is_refused(tmp_path: Path) -> None:
    """A text-mode file object raises InvalidArgumentError before anything is sent."""
    path = tmp_path / "a.txt"
    path.write_text("x")
    server = upload_server()
    with path.open("r") as handle:
        async with make_client(server, max_retries=0) as dify:
            with pytest.raises(InvalidArgumentError, match="binary"):
                await dify.datasets.upload_document("d1", handle)  # type: ignore[arg-type]
    assert server.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize("bad", [123, None, ["a"]])
async def test_unsupported_file_type_is_refused(bad: Any) -> None:
    """A value that is no file kind raises InvalidArgumentError before anything is sent."""
    server = upload_server()
    async with make_client(server, max_retries=0) as dify:
        with pytest.raises(InvalidArgumentError, match="file"):
            await dify.datasets.upload_document("d1", bad, filename="a.txt")
    assert server.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["../etc/passwd", "a\\b.txt", "nul\0.txt"])
async def test_filename_with_path_separators_is_refused(name: str) -> None:
    """A filename that is not a bare name raises InvalidArgumentError before anything is sent."""
    server = upload_server()
    async with make_client(server, max_retries=0) as dify:
        with pytest.raises(InvalidArgumentError, match="filename"):
            await dify.datasets.upload_document("d1", b"x", filename=name)
    assert server.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "content",
    [
        b'before\r\n--+++\r\nContent-Disposition: form-data; name="process_rule"\r\n\r\n{}\r\n--+++--\r\nafter',
        b"\r\n--+++\r\n",
        b"--+++--\r\n",
        bytes(range(256)) * 4,
    ],
    ids=["injection", "bare-separator", "closing", "all-bytes"],
)
async def test_content_with_boundary_like_bytes_arrives_identical(tmp_path: Path, content: bytes) -> None:
    """A file containing the generator's fixed boundary (\\r\\n--+++\\r\\n) arrives byte-identical, no extra parts."""
    path = tmp_path / "tricky.bin"
    path.write_bytes(content)
    server = upload_server()
    async with make_client(server, max_retries=0) as dify:
        await dify.datasets.upload_document("d1", path, process_rule={"chunk_size": 100})
    parts = server.parts()
    assert set(parts) == {"file", "process_rule"}
    assert _payload(parts["file"]) == content
    assert json.loads(_payload(parts["process_rule"])) == {"chunk_size": 100}
    boundary = server.requests[0].headers["content-type"].split("boundary=", 1)[1]
    assert boundary != "+++"


@pytest.mark.anyio
@pytest.mark.parametrize("bad", ["text/plain\r\nX-Injected: 1", "text plain", "text/plain; a=b\n"])
async def test_content_type_must_be_a_media_type(bad: str) -> None:
    """A content_type with line breaks (part-header injection) or no type/subtype is refused."""
    server = Recorder()
    async with make_client(server) as dify:
        with pytest.raises(InvalidArgumentError, match="content_type"):
            await dify.datasets.upload_document("ds", b"data", filename="a.txt", content_type=bad)
    assert server.requests == []


@pytest.mark.anyio
async def test_boundary_is_random_per_upload() -> None:
    """Two uploads use two different boundaries."""
    server = upload_server()
    async with make_client(server, max_retries=0) as dify:
        await dify.datasets.upload_document("d1", b"x", filename="a.txt")
        await dify.datasets.upload_document("d1", b"x", filename="a.txt")
    first, second = (r.headers["content-type"] for r in server.requests)
    assert first != second


@pytest.mark.anyio
@pytest.mark.parametrize(
    "rule",
    [
        ProcessRule(chunk_size=500, chunk_overlap=50, separator="\n\n"),
        {"chunk_size": 500, "chunk_overlap": 50, "separator": "\n\n"},
    ],
    ids=["model", "dict"],
)
async def test_process_rule_is_a_json_part(rule: Any) -> None:
    """process_rule (ProcessRule or dict) is sent as its own application/json part, before the file."""
    server = upload_server()
    async with make_client(server, max_retries=0) as dify:
        await dify.datasets.upload_document("d1", b"x", filename="a.txt", process_rule=rule)
    parts = server.parts()
    assert list(parts) == ["process_rule", "file"]
    assert parts["process_rule"].get_content_type() == "application/json"
    assert parts["process_rule"].get_filename() is None
    assert json.loads(_payload(parts["process_rule"])) == {"chunk_size": 500, "chunk_overlap": 50, "separator": "\n\n"}


@pytest.mark.anyio
async def test_process_rule_left_out_sends_no_part() -> None:
    """Without process_rule there is no process_rule part at all (no null, no "None")."""
    server = upload_server()
    async with make_client(server, max_retries=0) as dify:
        await dify.datasets.upload_document("d1", b"x", filename="a.txt")
    assert set(server.parts()) == {"file"}
    assert b"None" not in server.requests[0].content and b"null" not in server.requests[0].content


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["path", "bytes", "file-object"])
async def test_progress_increases_to_the_total(tmp_path: Path, kind: str) -> None:
    """on_progress gets increasing sent byte counts, ending at the file's size, with that total."""
    content = os.urandom(2 * 1024 * 1024 + 300 * 1024)  # several 1 MiB chunks
    path = tmp_path / "big.bin"
    path.write_bytes(content)
    file: Any = {"path": path, "bytes": content, "file-object": io.BytesIO(content)}[kind]
    calls: list[tuple[int, int | None]] = []
    server = upload_server()
    async with make_client(server, max_retries=0) as dify:
        await dify.datasets.upload_document(
            "d1", file, filename="big.bin", on_progress=lambda sent, total: calls.append((sent, total))
        )
    assert len(calls) >= 2
    sent = [s for s, _ in calls]
    assert sent == sorted(sent) and len(set(sent)) == len(sent)
    assert calls[-1] == (len(content), len(content))
    assert {t for _, t in calls} == {len(content)}
    assert _payload(server.parts()["file"]) == content


@pytest.mark.anyio
async def test_progress_for_async_iterable_has_no_total() -> None:
    """For an async iterable, on_progress gets the running count and None as total."""
    calls: list[tuple[int, int | None]] = []
    server = upload_server()
    async with make_client(server, max_retries=0) as dify:
        await dify.datasets.upload_document(
            "d1", _chunks(b"ab", b"cde"), filename="a.txt", on_progress=lambda s, t: calls.append((s, t))
        )
    assert calls == [(2, None), (5, None)]


@pytest.mark.anyio
async def test_upload_error_maps_like_any_other(tmp_path: Path) -> None:
    """A 500 answer to an upload raises InternalServerError (max_retries=0)."""
    server = upload_server(500)
    async with make_client(server, max_retries=0) as dify:
        with pytest.raises(InternalServerError):
            await dify.datasets.upload_document("d1", b"x", filename="a.txt")
    assert len(server.requests) == 1


class WrappingTransport(httpx.AsyncBaseTransport):
    """Reads the body and, like the aiohttp transport, reports any failure while sending it as a
    transport error (aiohttp wraps it as "Failed to send bytes")."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            await request.aread()
        except Exception as exc:
            raise httpx.WriteError("Failed to send bytes into the underlying connection", request=request) from exc
        return httpx.Response(
            201,
            json={
                "id": "d",
                "name": "a.txt",
                "created_at": 1,
                "status": "enabled",
                "indexing_status": "waiting",
                "word_count": 0,
            },
        )


@pytest.mark.anyio
async def test_file_shrinking_mid_upload_reports_why() -> None:
    """A file that yields fewer bytes than measured raises InvalidArgumentError naming the change,
    not the transport's "failed to send" error that wraps it."""

    class Shrinking(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            data = super().read(size)
            return data[: len(data) // 2]

    async with make_client(WrappingTransport()) as dify:
        with pytest.raises(InvalidArgumentError, match="changed while uploading"):
            await dify.datasets.upload_document("ds", Shrinking(b"y" * 1000), filename="a.txt")


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["path", "file-object"])
async def test_retried_upload_resends_identical_body(tmp_path: Path, kind: str) -> None:
    """A 429 (retry-after 0) on an upload is retried with the same file bytes, replayed from the start."""
    path = tmp_path / "a.txt"
    path.write_bytes(b"payload" * 1000)
    answers = iter([429, 201])
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(next(answers), json=DOCUMENT, headers={"retry-after": "0"})

    async with make_client(handler, max_retries=2) as dify:
        if kind == "path":
            await dify.datasets.upload_document("d1", path)
        else:
            with path.open("rb") as handle:
                await dify.datasets.upload_document("d1", handle)
    assert len(seen) == 2
    assert _payload(parse_multipart(seen[0])["file"]) == _payload(parse_multipart(seen[1])["file"]) == path.read_bytes()


@pytest.mark.anyio
async def test_async_iterable_upload_is_not_retried() -> None:
    """A one-shot async iterable is not retried on a 429 (retry-after 0): it cannot be replayed."""
    server = upload_server(429)
    async with make_client(server, max_retries=2) as dify:
        with pytest.raises(RateLimitError) as info:
            await dify.datasets.upload_document("d1", _chunks(b"x"), filename="a.txt")
    assert len(server.requests) == 1
    assert any("replayed" in note for note in getattr(info.value, "__notes__", []))


MEMORY_SCRIPT = textwrap.dedent(
    """
    import asyncio, resource, sys
    import httpx
    from dify_mgmt_async import DifyManagementClient

    SIZE = 256 * 1024 * 1024
    path = sys.argv[1]
    with open(path, "wb") as f:  # sparse: no data blocks are written
        f.truncate(SIZE)

    class Sink(httpx.AsyncBaseTransport):
        \"\"\"Consumes the streamed body without keeping it.\"\"\"
        def __init__(self):
            self.received = 0
        async def handle_async_request(self, request):
            async for chunk in request.stream:
                self.received += len(chunk)
            doc = {"id": "doc", "name": "big.bin", "created_at": 1, "status": "enabled", "word_count": 0}
            return httpx.Response(201, json={**doc, "indexing_status": "waiting"})

    def rss_kib():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    async def main():
        sink = Sink()
        async with DifyManagementClient("https://dify.example.com", "tok", transport=sink, max_retries=0) as dify:
            await dify.datasets.upload_document("d1", b"warm-up", filename="w.txt")  # imports, threads, pools
            sink.received = 0
            before = rss_kib()
            doc = await dify.datasets.upload_document("d1", path)
            after = rss_kib()
        assert doc.id == "doc"
        print(sink.received, before, after)

    asyncio.run(main())
    """
)


def test_256_mib_upload_streams_in_bounded_memory(tmp_path: Path) -> None:
    """A 256 MiB upload grows peak RSS by less than 32 MiB (measured in a fresh subprocess)."""
    script = tmp_path / "memory.py"
    script.write_text(MEMORY_SCRIPT)
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "big.bin")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    received, before, after = (int(x) for x in result.stdout.split())
    assert received > 256 * 1024 * 1024  # the file plus the multipart framing
    growth_mib = (after - before) / 1024  # ru_maxrss is in KiB on Linux
    assert growth_mib < 32, f"peak RSS grew by {growth_mib:.1f} MiB"
    print(f"256 MiB upload: peak RSS growth {growth_mib:.1f} MiB")


@pytest.mark.asyncio_only
@pytest.mark.anyio
async def test_a_file_opened_for_a_writer_cancelled_from_outside_anyio_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiohttp cancels its body writer task (``Task.cancel``) when an answer comes before the body went out.

    If that lands while the worker thread is still opening the file, the await ends at once and the handle
    the thread then returns has nobody to read or close it: it must close itself, not wait for the collector.
    """
    import asyncio
    import threading

    from dify_mgmt_async import _uploads

    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 10)
    entered, proceed = threading.Event(), threading.Event()
    handles: list[Any] = []

    def slow_open(file: Path, mode: str) -> Any:
        entered.set()
        proceed.wait(5)
        handle = open(file, mode)  # noqa: SIM115 - the code under test closes it
        handles.append(handle)
        return handle

    monkeypatch.setattr(_uploads, "open", slow_open, raising=False)

    async def pull() -> None:
        async for _ in _uploads._PathSource(path, 10).chunks():
            pass

    task = asyncio.ensure_future(pull())
    await asyncio.to_thread(entered.wait, 5)
    task.cancel()  # natively, as aiohttp does
    with pytest.raises(asyncio.CancelledError):
        await task
    proceed.set()
    for _ in range(200):  # the worker thread finishes the open: then the handle is closed, or never
        if handles and handles[0].closed:
            break
        await asyncio.sleep(0.01)
    assert len(handles) == 1
    assert handles[0].closed
