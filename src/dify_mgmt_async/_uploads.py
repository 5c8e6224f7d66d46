"""Streaming multipart uploads whose body can be replayed exactly on a retry.

An upload is checked before anything is sent (the file exists, is a regular file, is not
empty). Its body is a *factory*: every attempt gets a fresh async byte stream, re-opened from
the path, seeked back to the file object's starting position, or re-sent from bytes. A one-shot
async iterable (or a pipe) can be sent once; ``replayable`` is False so the core never retries
it. Each stream counts what it sends and refuses to finish short, so a truncated re-send cannot
happen.

A seekable file object is sent from its position at the time of the call, and is put back
there afterwards (whether the upload succeeded or not), so the same object can be sent again.
"""

from __future__ import annotations

import io
import json
import mimetypes
import os
import re
import secrets
import threading
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import anyio
import anyio.to_thread

from . import _validation as _v
from ._constants import UPLOAD_CHUNK_SIZE
from ._errors import InvalidArgumentError
from ._generated.types import Unset

__all__ = ["FileInput", "MultipartBody", "ProgressCallback", "prepare_upload"]

FileInput = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes] | AsyncIterable[bytes]
"""What ``upload_document`` accepts: a path, bytes, a binary file object, or an async iterable of bytes."""

ProgressCallback = Callable[[int, int | None], object]
"""Called as the body goes out with ``(bytes_sent, total_bytes_or_None)``; restarts from 0 on a retry."""


class _Source:
    """The file part's bytes, re-readable from the start when ``replayable``."""

    size: int | None
    replayable: bool = True

    def chunks(self) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError


class _BytesSource(_Source):
    def __init__(self, data: bytes) -> None:
        self._data = data
        self.size = len(data)

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        view = memoryview(self._data)
        for start in range(0, len(view), UPLOAD_CHUNK_SIZE):
            yield bytes(view[start : start + UPLOAD_CHUNK_SIZE])


class _PathSource(_Source):
    def __init__(self, path: Path, size: int) -> None:
        self._path = path
        self.size = size

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        opened = _Opened(self._path)
        try:
            handle = await anyio.to_thread.run_sync(opened.open)
            while chunk := await anyio.to_thread.run_sync(handle.read, UPLOAD_CHUNK_SIZE):
                yield chunk
        finally:
            opened.close()  # at once and without awaiting, so no cancellation can skip it


class _Opened:
    """A file opened in a worker thread, closed exactly once whenever the open finishes.

    A task cancelled from outside anyio (aiohttp cancels its body writer when an answer comes early) stops
    waiting for the thread at once, while ``open`` may still run there: the handle it returns then has
    nobody to close it, unless the open sees that it was given up and closes it itself.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._handle: IO[bytes] | None = None
        self._closed = False

    def open(self) -> IO[bytes]:
        handle = open(self._path, "rb")  # noqa: SIM115 - close() closes it, whenever the open finishes
        with self._lock:
            if self._closed:
                handle.close()  # given up while opening: nobody will read it
            self._handle = handle
        return handle

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._handle is not None:
                self._handle.close()


class _FileObjectSource(_Source):
    """A file object, read in a worker thread. A seekable one is sent from its position and put back there.

    A task cancelled from outside anyio (aiohttp cancels its body writer when an answer comes early, or at a
    deadline) stops waiting for the thread at once, while a read may still run there. So each read seeks to
    its own offset first (a straggler cannot shift a later attempt), and the last one to finish puts the
    position back: the attempt's end if no read runs, else the read that outlived it.
    """

    def __init__(self, handle: IO[bytes], start: int | None, size: int | None) -> None:
        self._handle = handle
        self._start = start
        self.size = size
        self.replayable = start is not None
        self._used = False
        self._reading = threading.Lock()  # held by a read in its thread, from its seek to its end
        self._ending = threading.Lock()  # a read's end and an attempt's end, one at a time

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        if self._start is None:
            if self._used:
                raise InvalidArgumentError("file: a non-seekable file object can be sent only once")
            self._used = True
            while chunk := await anyio.to_thread.run_sync(self._handle.read, UPLOAD_CHUNK_SIZE):
                yield chunk
            return
        start = self._start
        ended = threading.Event()  # this attempt is over: a read still to run reads nothing
        offset = start
        try:
            while chunk := await anyio.to_thread.run_sync(self._read_at, offset, ended):
                offset += len(chunk)
                yield chunk
        finally:
            with self._ending:
                ended.set()
                if self._reading.acquire(blocking=False):  # else a read outlived the attempt: it puts it back
                    try:
                        self._handle.seek(start)  # where the caller left it; a seek is cheap, no thread hop needed
                    finally:
                        self._reading.release()

    def _read_at(self, offset: int, ended: threading.Event) -> bytes:
        """One chunk from ``offset``, in a worker thread."""
        self._reading.acquire()
        moved = False
        try:
            if ended.is_set():
                return b""
            moved = True
            self._handle.seek(offset)
            return self._handle.read(UPLOAD_CHUNK_SIZE)
        finally:
            with self._ending:  # (held for a seek at most: the event loop takes it too)
                try:
                    if moved and ended.is_set() and self._start is not None:  # the attempt ended meanwhile
                        self._handle.seek(self._start)
                finally:
                    self._reading.release()


class _IterableSource(_Source):
    replayable = False

    def __init__(self, iterable: AsyncIterable[bytes]) -> None:
        self._iterable = iterable
        self.size = None
        self._used = False

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        if self._used:
            raise InvalidArgumentError("file: an async iterable can be sent only once and cannot be replayed")
        self._used = True
        async for chunk in self._iterable:
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise InvalidArgumentError(f"file: the async iterable yielded {type(chunk).__name__}, not bytes")
            yield bytes(chunk)


def _quote(value: str) -> str:
    """A form-data parameter value, escaped the way browsers and httpx do (HTML5)."""
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


@dataclass
class MultipartBody:
    """A ``multipart/form-data`` body with a random boundary, streamed fresh for every attempt."""

    source: _Source
    field: str
    filename: str
    content_type: str
    parts: Sequence[tuple[str, bytes, str]]  # (name, value, content type) of the non-file fields
    on_progress: ProgressCallback | None = None

    def __post_init__(self) -> None:
        #: Set when the body itself failed mid-stream (the file changed or could not be read, the caller's
        #: iterable or ``on_progress`` raised); the core raises it instead of the transport's error.
        self.failure: Exception | None = None
        self.boundary = secrets.token_hex(16)
        head = b"".join(
            self._part_head(name, None, ctype) + value + b"\r\n" for name, value, ctype in self.parts
        ) + self._part_head(self.field, self.filename, self.content_type)
        self._head = head
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()

    def _part_head(self, name: str, filename: str | None, content_type: str) -> bytes:
        disposition = f'form-data; name="{_quote(name)}"'
        if filename is not None:
            disposition += f'; filename="{_quote(filename)}"'
        return (
            f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: {content_type}\r\n\r\n"
        ).encode()

    @property
    def replayable(self) -> bool:
        return self.source.replayable

    @property
    def content_length(self) -> int | None:
        if self.source.size is None:
            return None
        return len(self._head) + self.source.size + len(self._tail)

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": f"multipart/form-data; boundary={self.boundary}"}
        if self.content_length is not None:
            headers["Content-Length"] = str(self.content_length)
        return headers

    async def stream(self) -> AsyncGenerator[bytes, None]:
        """One attempt's body. Raises if the file yields a different number of bytes than measured, or none."""
        total = self.source.size
        sent = 0
        self.failure = None
        yield self._head
        async with aclosing(self.source.chunks()) as chunks:
            while True:
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except Exception as exc:
                    self.failure = exc  # the source's own error (the caller's iterable, the file): raised as it is
                    raise
                sent += len(chunk)
                if total is not None and sent > total:
                    raise self._fail(f"file: grew while uploading (more than {total} bytes)")
                yield chunk
                if self.on_progress is not None:
                    try:
                        self.on_progress(sent, total)
                    except Exception as exc:
                        self.failure = exc  # the caller's own error, raised as it is
                        raise
        if total is not None and sent != total:
            raise self._fail(f"file: changed while uploading ({sent} of {total} bytes read)")
        if sent == 0:
            raise self._fail("file: is empty (0 bytes)")
        yield self._tail

    def _fail(self, message: str) -> InvalidArgumentError:
        self.failure = InvalidArgumentError(message)
        return self.failure


_CONTENT_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+(?:[ \t]*;[ \t]*[\w.+-]+=(?:[\w.+-]+|\"[^\"\r\n]*\"))*")


def _guess_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _source(file: object) -> tuple[_Source, str | None]:
    """The source and a default filename, checking the file before anything is sent."""
    if isinstance(file, str | os.PathLike):
        path = Path(os.fspath(file))
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise InvalidArgumentError(f"file: {str(path)!r} does not exist") from None
        except OSError as exc:
            raise InvalidArgumentError(f"file: cannot read {str(path)!r}: {exc.strerror}") from None
        if path.is_dir():
            raise InvalidArgumentError(f"file: {str(path)!r} is a directory")
        if not path.is_file():
            raise InvalidArgumentError(f"file: {str(path)!r} is not a regular file")
        if not os.access(path, os.R_OK):
            raise InvalidArgumentError(f"file: {str(path)!r} is not readable")
        return _PathSource(path, stat.st_size), path.name
    if isinstance(file, bytes | bytearray | memoryview):
        return _BytesSource(bytes(file)), None
    if isinstance(file, io.TextIOBase):
        raise InvalidArgumentError("file: a text-mode file object; open it in binary mode ('rb')")
    if hasattr(file, "read"):
        handle: IO[bytes] = file  # type: ignore[assignment]
        name = getattr(handle, "name", None)
        default = os.path.basename(name) if isinstance(name, str) else None
        start: int | None = None
        size: int | None = None
        seekable = getattr(handle, "seekable", None)
        if callable(seekable) and seekable():
            start = handle.tell()
            size = handle.seek(0, os.SEEK_END) - start
            handle.seek(start)
        return _FileObjectSource(handle, start, size), default
    if isinstance(file, AsyncIterable):
        return _IterableSource(file), None
    raise InvalidArgumentError(
        f"file: expected a path, bytes, a binary file object or an async iterable of bytes, not {type(file).__name__}"
    )


def _encode_part(name: str, value: object, content_type: str) -> bytes:
    to_dict = getattr(value, "to_dict", None)
    data: Any = to_dict() if callable(to_dict) else value
    if content_type == "application/json":
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    return str(data).encode()


def prepare_upload(
    file: FileInput,
    *,
    field: str,
    parts: Sequence[tuple[str, str, object]],
    filename: str | None,
    content_type: str | None,
    on_progress: ProgressCallback | None,
) -> MultipartBody:
    """Check the upload and build its body; raises ``InvalidArgumentError`` before anything is sent."""
    _v.text("content_type", content_type)  # a string, and encodable (None or a str from here on)
    _v.callback("on_progress", on_progress, called_as="on_progress(sent, total)", when="as the body is sent")
    source, default_name = _source(file)
    if source.size == 0:
        raise InvalidArgumentError("file: is empty (0 bytes)")
    name = filename if filename is not None else default_name
    if not name:
        raise InvalidArgumentError(
            "filename: is required when file is bytes, an async iterable or an unnamed file object"
        )
    _v.text("filename", name)  # the one given, or taken from a path or ``handle.name``: a str, and encodable
    if any(c in name for c in "\0/\\\r\n") or name in (".", ".."):
        raise InvalidArgumentError(f"filename: must be a bare file name (got {name!r})")
    if content_type is not None and not _CONTENT_TYPE.fullmatch(content_type):
        raise InvalidArgumentError(f"content_type: must be a media type such as text/markdown (got {content_type!r})")
    encoded = [
        (wire, _encode_part(wire, value, ctype), ctype) for wire, ctype, value in parts if not isinstance(value, Unset)
    ]
    return MultipartBody(
        source=source,
        field=field,
        filename=name,
        content_type=content_type or _guess_type(name),
        parts=encoded,
        on_progress=on_progress,
    )
