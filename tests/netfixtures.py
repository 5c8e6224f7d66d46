"""Local network fixtures for proxy and TLS tests: a CONNECT proxy and the emulator over HTTPS.

Both listen on 127.0.0.1 only, serve from a background thread (so the tests can run under asyncio
and trio alike), and the proxy forwards only to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import threading
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import trustme
import uvicorn

from dify_mgmt_async.emulator import EmulatorServer


class TLSEmulator(EmulatorServer):
    """The emulator on ``https://127.0.0.1:<port>``, its certificate issued by a throwaway ``trustme`` CA."""

    def __init__(self, ca: trustme.CA, workdir: Path, **settings: Any) -> None:
        super().__init__(**settings)
        self._pem = workdir / "server.pem"
        ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(str(self._pem))

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def _uvicorn_config(self) -> uvicorn.Config:
        config = super()._uvicorn_config()
        config.ssl_certfile = config.ssl_keyfile = str(self._pem)
        return config


class ConnectProxy:
    """A forward proxy: ``CONNECT host:port`` tunnels, absolute-form requests are relayed.

    ``seen`` records ``(method, target, Proxy-Authorization or None)`` per request to the proxy;
    with ``credentials=("user", "pass")`` a request without them gets ``407``; with ``tls`` (a server
    context) the proxy itself is reached over TLS, an ``https://`` proxy.
    """

    def __init__(self, credentials: tuple[str, str] | None = None, tls: ssl.SSLContext | None = None) -> None:
        self._tls = tls
        self.seen: list[tuple[str, str, str | None]] = []
        self._expected = None
        if credentials is not None:
            self._expected = "Basic " + base64.b64encode(":".join(credentials).encode()).decode()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    def __enter__(self) -> ConnectProxy:
        self._thread.start()
        serving = asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self._tls)
        started = asyncio.run_coroutine_threadsafe(serving, self._loop)
        self._server = started.result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:] if line)]
        auth = next((v for k, v in headers if k.lower() == "proxy-authorization"), None)
        self.seen.append((method, target, auth))
        if self._expected is not None and auth != self._expected:
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n")
            writer.write(b"Connection: close\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            first = b""
        else:
            parts = urlsplit(target)
            host, port = parts.hostname or "", str(parts.port or 80)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            # One request per relayed connection: the origin closes after answering it.
            kept = [f"{k}: {v}" for k, v in headers if not k.lower().startswith("proxy-") and k.lower() != "connection"]
            kept.append("Connection: close")
            first = "\r\n".join([f"{method} {path} {version}", *kept, "", ""]).encode("latin-1")
        if host != "127.0.0.1":  # a test proxy never reaches beyond this machine
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        if method == "CONNECT":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            up_writer.write(first)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()
