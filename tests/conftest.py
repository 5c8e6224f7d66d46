"""Shared fixtures and helpers: the spec, the async backends, a recording mock server and a client factory.

The helpers are plain objects; test modules import them with ``from tests.conftest import ...``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio.testing
import yaml

from dify_mgmt_async import DifyManagementClient, _ratelimit, _store
from tests.redis_server import RedisServer
from tests.stopped_clock import Clock

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi" / "management.yaml"


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


# --- async backends ---------------------------------------------------------------------------------
#
# Unmarked async tests run on asyncio and trio. A module (``pytestmark``) or a test marked
# ``virtual_time`` runs on trio only, with ``MockClock(autojump_threshold=0)``: whenever every task
# is blocked the clock jumps to the next deadline, so waits cost no real time and elapsed times are
# exact. ``asyncio_only`` is for tests of the aiohttp transport, which is asyncio-only.

BACKENDS = ("asyncio", "trio")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "virtual_time: run on trio with a MockClock that autojumps (no real waits)")
    config.addinivalue_line("markers", "asyncio_only: run on asyncio only (the aiohttp transport)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "anyio_backend" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("virtual_time") or metafunc.definition.get_closest_marker("asyncio_only"):
        return  # one backend: the fixture picks it from the marker, and the test id stays unsuffixed
    if any(m.args and m.args[0] == "anyio_backend" for m in metafunc.definition.iter_markers("parametrize")):
        return  # the test chose its backends itself
    metafunc.parametrize("anyio_backend", BACKENDS, indirect=True)


@pytest.fixture
def anyio_backend(request: pytest.FixtureRequest) -> str | tuple[str, dict[str, Any]]:
    node = request.node
    if node.get_closest_marker("virtual_time"):
        return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})
    if node.get_closest_marker("asyncio_only"):
        return "asyncio"
    return str(request.param)


# --- a recording mock server and the client factory ----------------------------------------------------

BASE = "https://dify.example.com"
TOKEN = "dify-pat-SUPERSECRET-123456"
# Every field the spec requires (the seed's fields), with the values an empty app/new document has.
APP: dict[str, Any] = {
    "id": "a1",
    "name": "n",
    "mode": "chat",
    "icon": None,
    "icon_background": None,
    "description": None,
    "created_at": 1688000000,
}
DOCUMENT: dict[str, Any] = {
    "id": "doc1",
    "name": "a.txt",
    "created_at": 1689900000,
    "status": "enabled",
    "indexing_status": "waiting",
    "word_count": 0,
}
# An App that is also a Document and an (empty) page: an answer every operation tests call can parse.
FITS_ALL: dict[str, Any] = {**APP, **DOCUMENT, "data": [], "limit": 1}

Handler = Callable[[httpx.Request], httpx.Response]
TokenArg = str | Callable[[], Awaitable[str]]


class Recorder:
    """A MockTransport handler that keeps every request (MockTransport reads each body into memory).

    It answers with ``answers`` in order, then with ``status`` and ``body`` for every further
    request; a callable ``body`` is called with the request and answers with what it returns.
    """

    def __init__(self, *answers: httpx.Response, status: int = 200, body: Any = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answers = list(answers)
        self.status = status
        self.body = APP if body is None else body

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answers:
            return self.answers.pop(0)
        body = self.body(request) if callable(self.body) else self.body
        return httpx.Response(self.status, json=body)

    def parts(self, index: int = -1) -> dict[str, EmailMessage]:
        """The multipart/form-data parts of request ``index``, by field name."""
        return parse_multipart(self.requests[index])


def parse_multipart(request: httpx.Request) -> dict[str, EmailMessage]:
    """The parts of a multipart/form-data request, by field name, parsed by the stdlib email parser."""
    ctype = request.headers["content-type"]
    assert ctype.startswith("multipart/form-data; boundary=")
    raw = b"Content-Type: " + ctype.encode() + b"\r\nMIME-Version: 1.0\r\n\r\n" + request.content
    message = BytesParser(policy=HTTP).parsebytes(raw)
    assert message.is_multipart()
    assert not message.defects
    parts: dict[str, EmailMessage] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        assert isinstance(name, str) and name not in parts
        parts[name] = part  # type: ignore[assignment]
    return parts


def make_client(
    server: Handler | httpx.AsyncBaseTransport | None = None,
    *,
    base_url: str = BASE,
    token: TokenArg = TOKEN,
    **kwargs: Any,
) -> DifyManagementClient:
    """A client on ``server``: a handler (wrapped in a MockTransport), a transport, or None for the default.

    Other keyword arguments (``max_retries``, ``timeout``, ``http_client``...) go to the client as given.
    """
    if server is not None:
        kwargs["transport"] = server if isinstance(server, httpx.AsyncBaseTransport) else httpx.MockTransport(server)
    return DifyManagementClient(base_url, token, **kwargs)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the session (tests use their own namespaces), stopped at the end."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def own_redis_server() -> Iterator[RedisServer]:
    """A redis-server of the test's own, for tests that kill it and start it again."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The loop clock the shared state and the engine read, stopped (the test moves it): what they decide
    between two calls cannot depend on how late a loaded machine ran the second."""
    clock = Clock()
    monkeypatch.setattr(_store, "_loop_time", clock)
    monkeypatch.setattr(_ratelimit, "loop_time", clock)
    return clock
