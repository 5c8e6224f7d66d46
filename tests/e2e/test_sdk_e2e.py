"""The SDK against the emulator over real loopback HTTP."""

from __future__ import annotations

import hashlib
import time

import anyio
import pytest

from dify_mgmt_async import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    ConflictError,
    DifyManagementClient,
    NotFoundError,
    RetryEvent,
)
from dify_mgmt_async.emulator import EmulatorServer

pytestmark = pytest.mark.anyio


def _status(value: object) -> str:
    return str(getattr(value, "value", value))


async def test_every_operation(dify_emulator: tuple[str, str]) -> None:
    """Each of the 24 operations works through the SDK facade against the emulator."""
    base_url, token = dify_emulator
    async with DifyManagementClient(base_url, token) as dify:
        app = await dify.apps.create(name="客服助手", mode="chat", description="bot")
        assert app.api_key and app.api_secret
        assert (await dify.apps.get(app.id)).name == "客服助手"
        assert (await dify.apps.update(app.id, description="new")).description == "new"
        keys = await dify.apps.get_api_keys(app.id)
        reset = await dify.apps.reset_api_keys(app.id, type="api_key")
        assert reset.api_key != keys.api_key
        assert [a.id for a in (await dify.apps.list()).data] == [app.id]
        ds = await dify.datasets.create(name="手册")
        assert (await dify.datasets.get(ds.id)).permission == "only_me"
        assert _status((await dify.datasets.update(ds.id, permission="all_team_members")).permission) == (
            "all_team_members"
        )
        doc = await dify.datasets.upload_document(ds.id, b"hello world", filename="a.txt")
        assert [d.id async for d in dify.datasets.list_documents(ds.id)] == [doc.id]
        await dify.datasets.delete_document(ds.id, doc.id)
        assert [d.id for d in (await dify.datasets.list()).data] == [ds.id]
        assert {m.id for m in (await dify.models.list()).data} >= {"gpt-4o"}
        await dify.model_providers.update_credentials("openai", credentials={"openai_api_key": "sk-x"})
        providers = {p.provider: p.is_configured for p in (await dify.model_providers.list()).data}
        assert providers["openai"] is True
        assert (await dify.workspaces.update_current(name="Acme")).name == "Acme"
        assert (await dify.workspaces.get_current()).name == "Acme"
        assert (await dify.users.get_current()).role == "owner"
        key = await dify.api_keys.create(name="ci")
        assert key.id in [k.id async for k in dify.api_keys.list()]
        await dify.api_keys.delete(key.id)
        await dify.apps.delete(app.id)
        await dify.datasets.delete(ds.id)
        with pytest.raises(NotFoundError):
            await dify.apps.get(app.id)
        await dify.datasets.create(name="x")
        with pytest.raises(ConflictError):
            await dify.datasets.create(name="x")


async def test_auth_failures(dify_emulator_server: EmulatorServer) -> None:
    """Unknown, deleted and expired tokens get 401; a token created by POST /api-keys works at once."""
    base_url, token = dify_emulator_server.base_url, dify_emulator_server.token
    async with DifyManagementClient(base_url, "not-a-token", max_retries=0) as bad:
        with pytest.raises(AuthenticationError) as caught:
            await bad.users.get_current()
    assert caught.value.status_code == 401
    async with DifyManagementClient(base_url, token) as dify:
        fresh = await dify.api_keys.create(name="fresh")
        # A past expiry is refused (by the SDK before sending, by the emulator with 400): this key expires now.
        expired = await dify.api_keys.create(name="old", expires_at=time.time() + 3600)
        store = dify_emulator_server.store
        store.by_token[expired.token].expires_at = store.now()
        async with DifyManagementClient(base_url, fresh.token) as other:
            assert (await other.users.get_current()).role == "owner"
            listed = {k.name: k for k in (await dify.api_keys.list()).data}
            assert listed["fresh"].token_first_8 == fresh.token[:8]
            assert isinstance(listed["fresh"].last_used_at, int)
            assert listed["old"].last_used_at is None
            await dify.api_keys.delete(fresh.id)
            with pytest.raises(AuthenticationError):
                await other.users.get_current()
        async with DifyManagementClient(base_url, expired.token) as old:
            with pytest.raises(AuthenticationError):
                await old.apps.list()


async def test_pagination_across_pages(dify_emulator: tuple[str, str]) -> None:
    """45 datasets page as 10+10+10+10+5, newest first, each exactly once."""
    base_url, token = dify_emulator
    async with DifyManagementClient(base_url, token) as dify:
        created = [(await dify.datasets.create(name=f"ds-{i:02d}")).id for i in range(45)]
        page5 = await dify.datasets.list(page=5, limit=10)
        assert (page5.total, page5.page, len(page5.data)) == (45, 5, 5)
        every = [d.id async for d in dify.datasets.list(limit=10)]
    assert every == created[::-1]


async def test_uploads_checked_by_size_and_sha256(dify_emulator_server: EmulatorServer) -> None:
    """Uploaded bytes arrive intact: the server's size and sha256 match; 413 over the limit, 415 for .exe."""
    dify_emulator_server.configure(max_upload_mb=2)
    blobs = {"small.txt": b"a few words here", "big.md": bytes(range(256)) * 6000, "one.csv": b"x"}
    sent: list[int] = []
    async with DifyManagementClient(dify_emulator_server.base_url, dify_emulator_server.token) as dify:
        ds = await dify.datasets.create(name="uploads")
        ids = {}
        for name, blob in blobs.items():
            doc = await dify.datasets.upload_document(
                ds.id, blob, filename=name, on_progress=lambda done, total: sent.append(done)
            )
            ids[doc.id] = name
        with pytest.raises(APIStatusError) as too_big:
            await dify.datasets.upload_document(ds.id, b"x" * (2 * 1024 * 1024 + 1), filename="huge.txt")
        with pytest.raises(APIStatusError) as wrong_type:
            await dify.datasets.upload_document(ds.id, b"MZ", filename="tool.exe")
    assert too_big.value.status_code == 413
    assert wrong_type.value.status_code == 415
    server = {u["id"]: u for u in dify_emulator_server.store.uploads()}
    assert set(server) == set(ids)
    for doc_id, name in ids.items():
        assert server[doc_id]["size"] == len(blobs[name])
        assert server[doc_id]["sha256"] == hashlib.sha256(blobs[name]).hexdigest()
    assert max(sent) == len(blobs["big.md"])


@pytest.mark.dify_emulator(indexing_seconds=1.0)
async def test_indexing_progress_to_completed(dify_emulator_server: EmulatorServer) -> None:
    """A document moves through the indexing stages to completed, with word_count set at the end."""
    async with DifyManagementClient(dify_emulator_server.base_url, dify_emulator_server.token) as dify:
        ds = await dify.datasets.create(name="indexing")
        doc = await dify.datasets.upload_document(ds.id, b"one two three four", filename="n.md")
        assert _status(doc.indexing_status) == "waiting"
        seen = []
        while not seen or seen[-1] not in ("completed", "error"):
            current = (await dify.datasets.list_documents(ds.id)).data[0]
            if not seen or seen[-1] != _status(current.indexing_status):
                seen.append(_status(current.indexing_status))
            await anyio.sleep(0.02)
        assert current.word_count == 4
        assert [s for s in ("waiting", "parsing", "cleaning", "splitting", "indexing") if s in seen] == seen[:-1]
        assert len(seen) >= 3 and seen[-1] == "completed"  # stages last 0.2 s; a slow machine may miss one
        assert (await dify.datasets.get(ds.id)).word_count == 4
        dify_emulator_server.configure(indexing_fail_rate=1, indexing_seconds=0)
        failed = await dify.datasets.upload_document(ds.id, b"broken", filename="bad.pdf")
        errored = [d async for d in dify.datasets.list_documents(ds.id, status="error")]
    assert [d.id for d in errored] == [failed.id]
    assert errored[0].parsing_error


@pytest.mark.dify_emulator(rate=60, burst=30)
async def test_300_concurrent_creates_rate_limited(dify_emulator_server: EmulatorServer) -> None:
    """300 concurrent creates against a rate-limited emulator: 429s happen, exactly 300 apps, no duplicates.

    The rate is well under what one core sends under trio (about 100 creates/s with the emulator
    in the same process), so the limit is met however slow the machine.
    """
    names = [f"app-{i:03d}" for i in range(300)]
    created: list[str] = []
    async with DifyManagementClient(
        dify_emulator_server.base_url, dify_emulator_server.token, max_concurrency=64, max_rate_limit_retries=30
    ) as dify:

        async def create(name: str) -> None:
            created.append((await dify.apps.create(name=name, mode="workflow")).id)

        async with anyio.create_task_group() as tg:
            for name in names:
                tg.start_soon(create, name)
        stats = dify.stats
        server = dify_emulator_server.stats()  # before the listing, which may meet 429s of its own
        listed = [a async for a in dify.apps.list(limit=100)]
    assert server["rate_limited"] > 0 and stats.rate_limited == server["rate_limited"]
    assert server["creates"]["apps"] == 300 and server["requests"]["create_app"] == 300 + server["rate_limited"]
    assert len(set(created)) == 300
    assert sorted(a.name for a in listed) == names
    assert stats.cooldown_seconds > 0


# --- the retry rules end to end (the virtual-time versions are in tests/test_retries.py) ---------


def _faults(server: EmulatorServer) -> int:
    return sum(server.stats()["faults"].values())


async def test_injected_5xx_on_create_is_not_retried(dify_emulator_server: EmulatorServer) -> None:
    """Every answer a 5xx: a create is sent exactly once (it may have happened), and nothing is created."""
    dify_emulator_server.configure(fail_rate=1.0)
    async with DifyManagementClient(dify_emulator_server.base_url, dify_emulator_server.token) as dify:
        with pytest.raises(APIStatusError) as caught:
            await dify.datasets.create(name="once")
    assert caught.value.status_code in (500, 502, 503)
    assert _faults(dify_emulator_server) == 1
    assert dify_emulator_server.stats()["creates"] == {}


async def test_injected_5xx_on_get_is_retried(dify_emulator_server: EmulatorServer) -> None:
    """A GET meeting 5xx is retried (max_retries=1: two requests reach the server)."""
    dify_emulator_server.configure(fail_rate=1.0)
    async with DifyManagementClient(dify_emulator_server.base_url, dify_emulator_server.token, max_retries=1) as dify:
        with pytest.raises(APIStatusError):
            await dify.workspaces.get_current()
    assert _faults(dify_emulator_server) == 2


async def test_dropped_connection_on_create_is_not_retried(dify_emulator_server: EmulatorServer) -> None:
    """The server reads the create and closes the connection: APIConnectionError, sent once."""
    dify_emulator_server.configure(drop_rate=1.0)
    async with DifyManagementClient(dify_emulator_server.base_url, dify_emulator_server.token) as dify:
        with pytest.raises(APIConnectionError):
            await dify.apps.create(name="dropped", mode="chat")
    assert dify_emulator_server.stats()["faults"] == {"dropped": 1}


async def test_refused_connection_on_create_is_retried() -> None:
    """Nothing listens: the create never left, so it is retried (max_retries=2 → 3 attempts)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    events: list[RetryEvent] = []
    async with DifyManagementClient(f"http://127.0.0.1:{port}", "t", on_retry=events.append) as dify:
        with pytest.raises(APIConnectionError):
            await dify.apps.create(name="never-sent", mode="chat")
    assert len(events) == 2


# One token per 2 s: the upload comes before the next one however slowly a loaded machine sends it.
@pytest.mark.dify_emulator(rate=0.5, burst=1)
async def test_upload_retried_after_429_arrives_identical(dify_emulator_server: EmulatorServer) -> None:
    """An upload meeting a 429 is replayed exactly: the server stores one document with the file's sha256."""
    data = b"retry me\n" * 50_000
    async with DifyManagementClient(dify_emulator_server.base_url, dify_emulator_server.token) as dify:
        dataset = await dify.datasets.create(name="retried-upload")  # spends the only token
        doc = await dify.datasets.upload_document(dataset.id, data, filename="r.txt")
        stats = dify.stats
    assert stats.rate_limited >= 1
    uploads = {u["id"]: u for u in dify_emulator_server.store.uploads()}
    assert uploads[doc.id]["size"] == len(data)
    assert uploads[doc.id]["sha256"] == hashlib.sha256(data).hexdigest()
    assert dify_emulator_server.stats()["creates"]["documents"] == 1
