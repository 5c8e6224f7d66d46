"""The API as a user writes it. Type-checked by `make typecheck` (mypy --strict), never run."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from dify_mgmt_async import (
    App,
    AppMode,
    AppPage,
    AsyncPager,
    DifyManagementClient,
    Document,
    NotFoundError,
    ProcessRule,
    RateLimitError,
    Stats,
)


async def token() -> str:
    return "rotated-token"


async def main() -> None:
    async with DifyManagementClient(base_url="https://dify.example.com", token=token, max_concurrency=32) as dify:
        app: App = await dify.apps.create(name="客服助手", mode="chat", icon="robot")
        await dify.apps.create(name="x", mode=AppMode.WORKFLOW)
        pager: AsyncPager[AppPage, App] = dify.apps.list(page=1, limit=20, mode="chat")
        page: AppPage = await pager
        names: list[str] = [a.name for a in page.data]
        async for each in dify.apps.list(limit=100):
            names.append(each.name)
        await dify.apps.update(app.id, name="新名字")
        await dify.apps.get(uuid.uuid4())
        keys = await dify.apps.reset_api_keys(app.id, type="api_secret")
        doc: Document = await dify.datasets.upload_document(
            "ds-1",
            Path("faq.md"),
            process_rule=ProcessRule(chunk_size=500, chunk_overlap=50),
            on_progress=lambda sent, total: None,
        )
        await dify.datasets.upload_document("ds-1", b"hello", filename="a.txt", process_rule={"chunk_size": 200})
        indexed: list[Document] = await dify.datasets.wait_for_indexing(
            "ds-1", [doc.id], timeout=600, poll_interval=2, on_progress=lambda done, total: print(done, total)
        )
        print(indexed[0].parsing_error)
        try:
            await dify.with_options(max_retries=0, timeout=5.0).apps.delete(app.id)
        except NotFoundError as exc:
            code: str | None = exc.error_code
            status: int = exc.status_code
            print(code, status)
        except RateLimitError as exc:
            wait: float | None = exc.retry_after
            print(wait)
        await dify.api_keys.create(name="ci", expires_at=datetime(2100, 1, 1, tzinfo=UTC))
        await dify.api_keys.create(name="ci", expires_at=4102444800)
        stats: Stats = dify.stats
        print(names, keys, doc, stats)


async def wrong_usage(dify: DifyManagementClient) -> None:
    # Each line must be an error: mypy checks its `type: ignore`, basedpyright its `pyright: ignore`
    # (both report an ignore comment that is not needed).
    await dify.datasets.wait_for_indexing("ds-1", ["d"], timeout="60")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await dify.apps.create(name="x", mode="chatbot")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await dify.apps.list(limit="10")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await dify.apps.get()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    dify.with_options(timeout="soon")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    dify.with_options(on_retry=print, max_retries="2")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


class MyClient(DifyManagementClient):
    pass


def views(mine: MyClient) -> MyClient:
    return mine.with_options(max_retries=0, timeout=None)
