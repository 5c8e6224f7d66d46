"""``dify.datasets.wait_for_indexing``: polls ``list_documents`` until every document is finished, in virtual time.

Tests run on trio with ``MockClock(autojump_threshold=0)``, so poll intervals and timeouts cost no
real time and the elapsed times asserted are exact.
"""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import httpx
import pytest
import trio
import trio.testing

from dify_mgmt_async import DifyManagementClient, InvalidArgumentError

BASE = "http://dify.test"
DOCS_PATH = "/api/management/datasets/ds1/documents"

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})


class Server:
    """Documents whose status follows a script: ``timeline[id]`` is the status at poll 0, 1, 2, ... (last repeats)."""

    def __init__(self, timeline: dict[str, list[str]], page_size: int = 100) -> None:
        self.timeline = timeline
        self.polls = 0
        self.requests: list[httpx.URL] = []
        self.page_size = page_size

    def handler(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == DOCS_PATH
        self.requests.append(request.url)
        page = int(request.url.params.get("page", "1"))
        limit = int(request.url.params["limit"])
        poll = self.polls
        docs = [
            {
                "id": doc_id,
                "name": f"{doc_id}.txt",
                "created_at": 1,
                "status": "enabled",
                "word_count": 0,
                "indexing_status": states[min(poll, len(states) - 1)],
                **({"parsing_error": "bad pdf"} if states[min(poll, len(states) - 1)] == "error" else {}),
            }
            for doc_id, states in self.timeline.items()
        ]
        chunk = docs[(page - 1) * limit : page * limit]
        has_more = page * limit < len(docs)
        if not has_more:
            self.polls += 1
        return httpx.Response(
            200, json={"data": chunk, "page": page, "limit": limit, "total": len(docs), "has_more": has_more}
        )


def client(server: Server) -> DifyManagementClient:
    return DifyManagementClient(BASE, "tok", transport=httpx.MockTransport(server.handler))


async def test_returns_final_states_in_the_given_order() -> None:
    """Finished when all are completed or error; the documents come back in the order of document_ids."""
    server = Server(
        {
            "d1": ["waiting", "indexing", "completed"],
            "d2": ["waiting", "error"],
            "d3": ["completed"],
            "other": ["waiting"],  # not asked for: never waited on
        }
    )
    progress: list[tuple[int, int]] = []
    async with client(server) as dify:
        started = anyio.current_time()
        docs = await dify.datasets.wait_for_indexing(
            "ds1", ["d3", "d1", "d2"], poll_interval=2, on_progress=lambda done, total: progress.append((done, total))
        )
        elapsed = anyio.current_time() - started
    assert [d.id for d in docs] == ["d3", "d1", "d2"]
    assert [str(d.indexing_status) for d in docs] == ["completed", "completed", "error"]
    assert docs[2].parsing_error == "bad pdf"
    assert server.polls == 3
    assert elapsed == pytest.approx(4.0)  # two pauses of poll_interval between three polls
    assert progress == [(1, 3), (2, 3), (3, 3)]  # only when the count changes


async def test_paused_is_not_finished_and_timeout_names_the_waiting() -> None:
    """`paused` waits for a person, so it times out; the TimeoutError says how many and which."""
    server = Server({"d1": ["completed"], "d2": ["paused"]})
    async with client(server) as dify:
        started = anyio.current_time()
        with pytest.raises(TimeoutError) as info:
            await dify.datasets.wait_for_indexing("ds1", ["d1", "d2"], timeout=5, poll_interval=2)
        elapsed = anyio.current_time() - started
    assert str(info.value) == "wait_for_indexing: 1 of 2 documents not finished after 5 s: d2"
    assert elapsed == pytest.approx(5.0)  # the last pause is cut to the deadline
    assert server.polls == 4  # at 0, 2, 4 and 5 s


async def test_a_uuid_matches_in_any_spelling() -> None:
    """The server lists ids in lower case: an id given in upper case, with braces or as a ``UUID`` is the same
    document (before, it was never matched and the wait ran to its timeout). The same document given twice in
    two spellings is waited for once and comes back under the first; a non-UUID id still compares as it is."""
    first = "6f1c2a8e-3b4d-4c5e-9f60-718293a4b5c6"
    second = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    server = Server({first: ["waiting", "completed"], second: ["completed"], "Plain": ["completed"]})
    progress: list[tuple[int, int]] = []
    async with client(server) as dify:
        docs = await dify.datasets.wait_for_indexing(
            "ds1",
            [first.upper(), "{" + second + "}", uuid.UUID(first), "Plain"],
            timeout=10,
            poll_interval=1,
            on_progress=lambda done, total: progress.append((done, total)),
        )
    assert [d.id for d in docs] == [first, second, "Plain"]
    assert server.polls == 2
    assert progress == [(2, 3), (3, 3)]


async def _async_progress(finished: int, total: int) -> None: ...


@pytest.mark.parametrize(
    ("on_progress", "message"),
    [
        (True, "on_progress: must be a function called as on_progress(finished, total) (got True)"),
        (
            _async_progress,
            "on_progress: must be a plain function; it is called, not awaited, after each poll, so an async "
            f"function would never run (got {_async_progress!r:.80})",
        ),
    ],
)
async def test_an_on_progress_that_cannot_work_is_refused_before_the_first_poll(on_progress: Any, message: str) -> None:
    """Checked before anything is sent: a non-callable raised a raw TypeError after the first poll, and an async
    function's coroutines were dropped, so it never ran."""
    server = Server({"d1": ["completed"]})
    async with client(server) as dify:
        with pytest.raises(InvalidArgumentError) as caught:
            await dify.datasets.wait_for_indexing("ds1", ["d1"], on_progress=on_progress)
    assert str(caught.value) == message
    assert server.requests == []


async def test_a_non_uuid_id_is_not_folded() -> None:
    """Only UUIDs are compared canonically: ``plain`` is not the listed ``Plain``, so it is still waited for."""
    server = Server({"Plain": ["completed"]})
    async with client(server) as dify:
        with pytest.raises(TimeoutError) as info:
            await dify.datasets.wait_for_indexing("ds1", ["plain"], timeout=2, poll_interval=1)
    assert str(info.value) == "wait_for_indexing: 1 of 1 documents not finished after 2 s: plain"


async def test_follows_every_page() -> None:
    """Documents beyond the first page of 100 are found: each poll lists every page."""
    timeline = {f"d{i:03}": ["completed"] for i in range(150)}
    server = Server(timeline)
    async with client(server) as dify:
        docs = await dify.datasets.wait_for_indexing("ds1", ["d149", "d000"])
    assert [d.id for d in docs] == ["d149", "d000"]
    assert [(u.params["page"], u.params["limit"]) for u in server.requests] == [("1", "100"), ("2", "100")]


async def test_no_documents_returns_at_once_and_duplicates_are_waited_once() -> None:
    server = Server({"d1": ["completed"]})
    async with client(server) as dify:
        assert await dify.datasets.wait_for_indexing("ds1", []) == []
        assert server.requests == []
        docs = await dify.datasets.wait_for_indexing("ds1", ["d1", "d1"])
    assert [d.id for d in docs] == ["d1"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"document_ids": "d1"}, "document_ids: must be an iterable of ids, not a single id"),
        ({"document_ids": ["d1"], "timeout": 0}, "timeout: must be a positive number of seconds (got 0)"),
        ({"document_ids": ["d1"], "poll_interval": -1}, "poll_interval: must be a positive number of seconds (got -1)"),
        ({"document_ids": ["d1"], "poll_interval": True}, "poll_interval: must be a positive number of seconds"),
        ({"document_ids": [".."]}, "document_ids"),
    ],
)
async def test_bad_arguments_fail_before_anything_is_sent(kwargs: dict[str, Any], message: str) -> None:
    server = Server({"d1": ["completed"]})
    async with client(server) as dify:
        with pytest.raises(InvalidArgumentError) as info:
            await dify.datasets.wait_for_indexing("ds1", **kwargs)
    assert str(info.value).startswith(message)
    assert server.requests == []


async def test_typed_as_the_generated_namespace_plus_the_helper() -> None:
    """``dify.datasets`` keeps every generated method and the client's views get the helper too."""
    server = Server({"d1": ["completed"]})
    async with client(server) as dify:
        view = dify.with_options(max_retries=0)
        docs = await view.datasets.wait_for_indexing("ds1", ["d1"])
        assert callable(dify.datasets.upload_document)
    assert [d.id for d in docs] == ["d1"]


async def test_a_slow_poll_is_cut_off_at_the_deadline() -> None:
    """Each list call takes 50 s (within the client's 60 s read timeout): the wait still ends at its 5 s timeout,
    not after the 50 s poll it was in."""

    async def slow(request: httpx.Request) -> httpx.Response:
        await trio.sleep(50)
        return httpx.Response(200, json={"data": [], "page": 1, "limit": 100, "total": 0, "has_more": False})

    async with DifyManagementClient(BASE, "tok", transport=httpx.MockTransport(slow)) as dify:
        started = anyio.current_time()
        with pytest.raises(TimeoutError, match=r"^wait_for_indexing: 1 of 1 documents not finished after 5 s: d1$"):
            await dify.datasets.wait_for_indexing("ds1", ["d1"], timeout=5, poll_interval=1)
        assert anyio.current_time() - started == pytest.approx(5.0)  # the first poll, cut at the deadline
