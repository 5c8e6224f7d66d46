"""A raw-socket HTTP/1.1 server that misbehaves on purpose, for the SDK's fault-path tests.

It runs its own asyncio loop in a thread: a client loop that is busy, blocked or cancelled cannot
starve it, and the client may run on any event loop. Requests are routed by a substring of their
target to a script of actions (each request takes the next action; the last one repeats). An
action reads as much of the request body as it wants and then answers, resets, stalls, trickles,
truncates or sends bytes that are not HTTP. Everything received is recorded (``requests``).

    with FaultServer() as server:
        server.route("/apps/a1", reset_mid_body(after=65536), respond(json=APP))
        ...  # a client on server.url

Only 127.0.0.1 is listened on. ``close()`` cancels every connection and closes every socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json as jsonlib
import socket
import struct
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Self

__all__ = [
    "Action",
    "Exchange",
    "FaultServer",
    "Received",
    "bad_chunked",
    "bad_header",
    "gather",
    "malformed_status",
    "never_answer",
    "raw",
    "reset_mid_body",
    "respond",
    "stall_reading",
]

#: Bytes of each request body kept in ``Received.body`` (the rest is only counted).
KEEP_BODY = 8 * 1024 * 1024
_HEAD_LIMIT = 64 * 1024

APP = {
    "id": "a1",
    "name": "n",
    "mode": "chat",
    "icon": None,
    "icon_background": None,
    "description": None,
    "created_at": 1,
}


@dataclass
class Received:
    """One request as the server saw it. ``body_length`` grows while the body is read."""

    method: str
    target: str
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    connection: int  # the connection's number, from 1
    index_on_connection: int  # 0 for a connection's first request, 1 for the next (keep-alive) ...
    at: float  # time.monotonic() when the head arrived
    body_length: int = 0
    body_complete: bool = False
    answered: bool = False  # the action finished (answered, reset, or gave up)
    body: bytearray = field(default_factory=bytearray, repr=False)

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


class Exchange:
    """One request being handled: what an action uses to read the rest of it and to answer."""

    def __init__(
        self, server: FaultServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, received: Received
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.received = received
        self._chunked = "chunked" in received.headers.get("transfer-encoding", "").lower()
        self._left = int(received.headers.get("content-length", "0") or 0)
        self._chunk_left = 0
        self._chunks_done = False
        if not self._chunked and self._left == 0:
            received.body_complete = True

    async def read_body(self, limit: int | None = None) -> None:
        """Read the body (chunked or Content-Length) until it ends, or until ``limit`` bytes of it were read."""
        received = self.received
        while not received.body_complete and (limit is None or received.body_length < limit):
            want = 65536 if limit is None else min(65536, limit - received.body_length)
            data = await (self._read_chunked(want) if self._chunked else self._read_plain(want))
            if not data:
                return
            received.body_length += len(data)
            room = KEEP_BODY - len(received.body)
            if room > 0:
                received.body += data[:room]

    async def _read_plain(self, want: int) -> bytes:
        data = await self.reader.read(min(want, self._left))
        if not data:
            raise ConnectionResetError("client closed the connection mid-body")
        self._left -= len(data)
        if self._left == 0:
            self.received.body_complete = True
        return data

    async def _read_chunked(self, want: int) -> bytes:
        if self._chunk_left == 0:
            line = await self.reader.readuntil(b"\r\n")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while await self.reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                self.received.body_complete = True
                return b""
            self._chunk_left = size
        data = await self.reader.read(min(want, self._chunk_left))
        if not data:
            raise ConnectionResetError("client closed the connection mid-body")
        self._chunk_left -= len(data)
        if self._chunk_left == 0:
            await self.reader.readexactly(2)
        return data

    async def write(self, data: bytes | memoryview) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def reset(self) -> None:
        """Close with a TCP RST (SO_LINGER 0), as a crashing server or a proxy does."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


#: An action handles one request; it returns True to keep the connection open for the next one.
Action = Callable[[Exchange], Awaitable[bool]]


def _head(status: int, reason: str, headers: Iterable[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def respond(
    status: int = 200,
    *,
    json: Any = None,
    body: bytes | None = None,
    headers: Iterable[tuple[str, str]] = (),
    reason: str = "X",
    content_length: int | None = None,
    gzip_body: bool = False,
    delay: float = 0.0,
    trickle: tuple[int, float] | None = None,
    close: bool = False,
) -> Action:
    """Read the whole body, then answer. ``json`` defaults to an app when no ``body`` is given.

    ``content_length`` larger than the body truncates the answer (the connection is closed after
    what was sent); ``trickle=(n, seconds)`` sends the body n bytes at a time; ``gzip_body``
    gzips it and says so.
    """
    if body is None:
        body = jsonlib.dumps(APP if json is None else json).encode()
        headers = [("Content-Type", "application/json"), *headers]
    if gzip_body:
        body = gzip.compress(body)
        headers = [*headers, ("Content-Encoding", "gzip")]
    length = len(body) if content_length is None else content_length
    truncated = length > len(body)
    head = _head(status, reason, [*headers, ("Content-Length", str(length))])

    async def action(ex: Exchange) -> bool:
        await ex.read_body()
        if delay:
            await asyncio.sleep(delay)
        # A slice at a time, so a 20 MB body is never copied whole (tests measure the client's memory).
        size, pause = trickle or (256 * 1024, 0.0)
        if trickle is None and len(body) <= size:
            await ex.write(head + body)  # one segment: no wait for a delayed ACK between head and body
            return not (close or truncated)
        await ex.write(head)
        view = memoryview(body)
        for start in range(0, len(body), size):
            await ex.write(view[start : start + size])
            if pause:
                await asyncio.sleep(pause)
        return not (close or truncated)

    return action


def raw(data: bytes) -> Action:
    """Read the whole body, send ``data`` as the answer whatever it is, and close."""

    async def action(ex: Exchange) -> bool:
        await ex.read_body()
        await ex.write(data)
        return False

    return action


def malformed_status() -> Action:
    return raw(b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\n{}")


def bad_header() -> Action:
    return raw(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nthis is not a header\r\nContent-Length: 2\r\n\r\n{}"
    )


def bad_chunked() -> Action:
    return raw(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
    )


def reset_mid_body(after: int = 65536) -> Action:
    """Read ``after`` bytes of the body, then reset the connection."""

    async def action(ex: Exchange) -> bool:
        await ex.read_body(limit=after)
        ex.reset()
        return False

    return action


def stall_reading(after: int = 0) -> Action:
    """Read ``after`` bytes of the body, then stop reading (and never answer) until the server closes."""

    async def action(ex: Exchange) -> bool:
        await ex.read_body(limit=after)
        await asyncio.Event().wait()
        return False

    return action


def never_answer() -> Action:
    """Read the whole request, then say nothing until the server closes."""

    async def action(ex: Exchange) -> bool:
        await ex.read_body()
        await asyncio.Event().wait()
        return False

    return action


def gather(count: int, *, timeout: float = 3.0, json: Any = None) -> Action:
    """Hold each request until ``count`` requests of its path were in flight at once (or ``timeout``), then answer.

    With ``count`` equal to a client's concurrency limit this shows the client still has every slot.
    """
    answer = respond(json=json)

    async def action(ex: Exchange) -> bool:
        await ex.read_body()
        path = ex.received.path
        await ex.server.arrivals(lambda: ex.server.peak(path) >= count, timeout)
        return await answer(ex)

    return action


class _Route:
    def __init__(self, key: str, actions: tuple[Action, ...]) -> None:
        self.key = key
        self.actions = list(actions)

    def next(self) -> Action:
        return self.actions.pop(0) if len(self.actions) > 1 else self.actions[0]


class FaultServer:
    """The server; a context manager that starts it on a free port of 127.0.0.1 and closes it."""

    def __init__(self, *, recv_buffer: int | None = None, idle_timeout: float | None = None) -> None:
        self.recv_buffer = recv_buffer
        #: Close a kept-alive connection that brings no new request within this many seconds.
        self.idle_timeout = idle_timeout
        self.requests: list[Received] = []
        self.connections = 0
        #: Connections closed for idling past ``idle_timeout``, counted once their socket is closed.
        self.idle_closed = 0
        self.errors: list[BaseException] = []  # the server's own bugs, checked by the fixture
        self.url = ""
        self._routes: list[_Route] = []
        self._default: Action = respond()
        self._peaks: dict[str, int] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._socket: socket.socket | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._arrived: asyncio.Condition | None = None

    # --- scripting and what was received (called from the test's thread) ----------------------

    def route(self, key: str, *actions: Action) -> None:
        """Requests whose target contains ``key`` take these actions in turn; the last repeats. Later routes win."""
        with self._lock:
            self._routes.insert(0, _Route(key, actions))

    def received(self, key: str = "") -> list[Received]:
        return [r for r in list(self.requests) if key in r.target]

    def in_flight(self, key: str = "") -> int:
        """Requests of ``key`` whose head arrived and whose action has not finished."""
        return sum(1 for r in self.received(key) if not r.answered)

    def peak(self, key: str) -> int:
        """The most requests of ``key`` in flight at once."""
        return self._peaks.get(key, 0)

    async def wait_for(self, condition: Callable[[], bool], what: str, within: float = 5.0) -> None:
        """Poll ``condition`` from the client's loop until true; fail naming ``what``.

        Polling, because the client may run on any event loop (or trio) and the server in another thread.
        """
        import anyio

        with anyio.move_on_after(within):
            while not condition():  # noqa: ASYNC110 - see above
                await anyio.sleep(0.002)
            return
        raise AssertionError(f"the fault server did not see {what} within {within} s")

    async def arrivals(self, condition: Callable[[], bool], within: float) -> None:
        """In the server's loop: wait until ``condition`` holds after some request arrived, or ``within`` passed."""
        assert self._arrived is not None
        with contextlib.suppress(TimeoutError):
            async with self._arrived, asyncio.timeout(within):
                await self._arrived.wait_for(condition)

    # --- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=self._run, args=(loop,), name="fault-server", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), loop).result(timeout=5)

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _start(self) -> None:
        self._arrived = asyncio.Condition()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.recv_buffer is not None:
            # Set on the listening socket so accepted ones inherit it before the handshake
            # (no receive-window autotuning): a server that stops reading stalls the sender soon.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.recv_buffer)
        sock.bind(("127.0.0.1", 0))
        self._server = await asyncio.start_server(self._accept, sock=sock, limit=_HEAD_LIMIT)
        self._socket = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    def close(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = self._thread = None

    async def _shutdown(self) -> None:
        assert self._server is not None and self._socket is not None
        # Stop accepting first, and give the connections already accepted (their set-up tasks are queued)
        # a few turns to build their transports while the server is still open: Python 3.11 builds a
        # transport for a server closed meanwhile only half (``Server._attach`` asserts), and that
        # transport's socket is never closed.
        asyncio.get_running_loop().remove_reader(self._socket.fileno())
        for _ in range(5):
            await asyncio.sleep(0)
        self._server.close()
        # A connection asyncio accepted just before the close reaches ``_accept`` a few loop turns
        # later (asyncio sets it up in a task of its own), later still on a loaded machine: keep
        # cancelling until none has arrived for several turns in a row.
        quiet = 0
        for _ in range(200):
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await asyncio.sleep(0.005)
            quiet = quiet + 1 if not self._tasks else 0
            if quiet >= 4:
                break
        # Whatever else still runs on this loop (a script's own task) is cancelled too, and every accepted
        # connection's transport aborted, with a few turns for the aborts' callbacks to close the sockets
        # before the loop stops (else they are left open, and closed later on a closed loop).
        others = asyncio.all_tasks() - {asyncio.current_task()}
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        for writer in list(self._writers):
            writer.transport.abort()
        for _ in range(3):
            await asyncio.sleep(0.005)
        await self._server.wait_closed()

    # --- serving (the server's thread) --------------------------------------------------------

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self._connection(reader, writer))
        self._writers.add(writer)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        graceful = True
        idle = False
        try:
            index = 0
            while True:
                if index and self.idle_timeout is not None:
                    try:
                        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.idle_timeout)
                    except TimeoutError:
                        idle = True
                        return  # idle too long: close, as uvicorn does after 5 s
                else:
                    head = await reader.readuntil(b"\r\n\r\n")
                if not await self._handle(head, reader, writer, number, index):
                    return
                index += 1
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return
        except asyncio.CancelledError:
            graceful = False
            raise
        except Exception as exc:  # a bug in the server or a script: reported by the fixture
            self.errors.append(exc)
        finally:
            if graceful and not writer.transport.is_closing():
                writer.close()
                try:
                    await asyncio.wait_for(writer.wait_closed(), 1.0)
                except (TimeoutError, OSError):
                    writer.transport.abort()
                if idle:
                    self.idle_closed += 1
            else:
                writer.transport.abort()

    async def _handle(
        self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int, index: int
    ) -> bool:
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        received = Received(method, target, headers, number, index, time.monotonic())
        with self._lock:
            self.requests.append(received)
            route = next((r for r in self._routes if r.key in target), None)
            action = route.next() if route is not None else self._default
        path = received.path
        self._peaks[path] = max(self._peaks.get(path, 0), self.in_flight(path))
        assert self._arrived is not None
        async with self._arrived:
            self._arrived.notify_all()
        try:
            return await action(Exchange(self, reader, writer, received))
        finally:
            received.answered = True
