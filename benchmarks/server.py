"""A fast fixed-response HTTP/1.1 keep-alive server for the benchmarks (an asyncio Protocol, no framework).

    python benchmarks/server.py --port 0 --port-file /tmp/port

- ``GET /api/management/apps?...``: a fixed JSON page of 20 apps.
- ``POST /api/management/datasets/{id}/documents/upload``: the body (Content-Length or chunked) is read
  and discarded as it arrives, never buffered; answers 201 with a fixed document.
- Anything else: 404.

It pins itself to CPU 1 so the client on CPU 0 is measured alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import SERVER_CPU, pin

APPS_PATH = b"/api/management/apps"
UPLOAD_PREFIX = b"/api/management/datasets/"
UPLOAD_SUFFIX = b"/documents/upload"
MAX_HEADER = 64 * 1024


def _apps_page() -> bytes:
    data = [
        {
            "id": f"00000000-0000-4000-8000-{i:012d}",
            "name": f"App {i}",
            "mode": "chat",
            "icon": "🤖",
            "icon_background": "#2563eb",
            "description": f"Benchmark app number {i}, answering questions about the handbook.",
            "created_at": 1735689600 + i,
        }
        for i in range(20)
    ]
    return json.dumps({"data": data, "total": 10000, "page": 1, "limit": 20}, ensure_ascii=False).encode()


def _response(status: bytes, body: bytes) -> bytes:
    head = b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    return head + body


APPS = _response(b"200 OK", _apps_page())
UPLOADED = _response(
    b"201 Created",
    b'{"id":"d","name":"f.txt","created_at":1764115200,"status":"enabled","indexing_status":"waiting","word_count":0}',
)
NOT_FOUND = _response(b"404 Not Found", b'{"code":"not_found","message":"no such route","status":404}')
BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

# parser states
HEAD, BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_CRLF, TRAILER = range(6)


class HTTPProtocol(asyncio.Protocol):
    __slots__ = ("buf", "close_after", "remaining", "response", "state", "transport")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.state = HEAD
        self.remaining = 0
        self.response = b""
        self.close_after = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        # Fast path for a large body: count the bytes off without copying them.
        if self.state == BODY and not self.buf:
            n = len(data)
            if n <= self.remaining:
                self.remaining -= n
                if self.remaining == 0:
                    self._finish()
                return
            data = data[self.remaining :]
            self.remaining = 0
            self._finish()
        if self.state == CHUNK_DATA and not self.buf:
            n = len(data)
            if n <= self.remaining:
                self.remaining -= n
                if self.remaining == 0:
                    self.state = CHUNK_CRLF
                return
            data = data[self.remaining :]
            self.remaining = 0
            self.state = CHUNK_CRLF
        self.buf = self.buf + data if self.buf else data
        self._process()

    def _process(self) -> None:
        while self.transport is not None:
            buf = self.buf
            state = self.state
            if state == HEAD:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEADER:
                        self._fail()
                    return
                head = buf[:end]
                self.buf = buf[end + 4 :]
                self._head(head)
            elif state == BODY:
                n = min(self.remaining, len(buf))
                self.remaining -= n
                self.buf = buf[n:]
                if self.remaining:
                    return
                self._finish()
            elif state in (CHUNK_SIZE, TRAILER):
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > MAX_HEADER:
                        self._fail()
                    return
                line = buf[:end]
                self.buf = buf[end + 2 :]
                if state == TRAILER:
                    if not line:
                        self._finish()
                    continue
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    self._fail()
                    return
                if size == 0:
                    self.state = TRAILER
                else:
                    self.remaining = size
                    self.state = CHUNK_DATA
            elif state == CHUNK_DATA:
                n = min(self.remaining, len(buf))
                self.remaining -= n
                self.buf = buf[n:]
                if self.remaining:
                    return
                self.state = CHUNK_CRLF
            else:  # CHUNK_CRLF
                if len(buf) < 2:
                    return
                self.buf = buf[2:]
                self.state = CHUNK_SIZE
            if not self.buf and self.state in (HEAD, BODY, CHUNK_DATA):
                return

    def _head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        try:
            method, target, version = lines[0].split(b" ", 2)
        except ValueError:
            self._fail()
            return
        length = 0
        chunked = False
        close = version == b"HTTP/1.0"
        expect = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    self._fail()
                    return
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
            elif name == b"expect":
                expect = b"100-continue" in value.lower()
        path = target.split(b"?", 1)[0]
        if method == b"GET" and path == APPS_PATH:
            self.response = APPS
        elif method == b"POST" and path.startswith(UPLOAD_PREFIX) and path.endswith(UPLOAD_SUFFIX):
            self.response = UPLOADED
        else:
            self.response = NOT_FOUND
        self.close_after = close
        if expect and self.transport is not None:
            self.transport.write(CONTINUE)
        if chunked:
            self.state = CHUNK_SIZE
        elif length > 0:
            self.state = BODY
            self.remaining = length
        else:
            self._finish()

    def _finish(self) -> None:
        self.state = HEAD
        if self.transport is None:
            return
        self.transport.write(self.response)
        if self.close_after:
            self.transport.close()
            self.transport = None

    def _fail(self) -> None:
        if self.transport is not None:
            self.transport.write(BAD)
            self.transport.close()
            self.transport = None


def _write_port(port_file: str, port: int) -> None:
    with open(port_file + ".tmp", "w") as fh:
        fh.write(f"{port}\n")
    os.replace(port_file + ".tmp", port_file)


async def serve(host: str, port: int, port_file: str | None) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HTTPProtocol, host, port, backlog=4096, reuse_address=True)
    actual = server.sockets[0].getsockname()[1]
    if port_file:
        _write_port(port_file, actual)
    print(f"fast server on http://{host}:{actual}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0: a free one")
    p.add_argument("--port-file", default=None, help="write the port here once listening")
    p.add_argument("--cpu", type=int, default=SERVER_CPU, help="pin to this CPU (-1: do not pin)")
    args = p.parse_args()
    if args.cpu >= 0:
        pin(args.cpu)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.port_file))


if __name__ == "__main__":
    main()
