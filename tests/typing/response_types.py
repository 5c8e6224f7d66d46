"""Response fields as a user types them: no ``Unset`` checks. Type-checked by `make typecheck`, never run."""

from __future__ import annotations

from dify_mgmt_async import App, AppPage, DifyManagementClient, Document


async def fields(dify: DifyManagementClient) -> None:
    app: App = await dify.apps.get("a1")
    desc: str | None = app.description
    created: int = app.created_at
    name: str = app.name
    page: AppPage = await dify.apps.list()
    limit: int = page.limit
    total: int | None = page.total
    has_more: bool | None = page.has_more
    number: int | None = page.page
    first: App = page.data[0]
    doc: Document = await dify.datasets.upload_document("ds-1", b"x", filename="a.txt")
    words: int = doc.word_count
    status: str = doc.status
    print(desc, created, name, limit, total, has_more, number, first, words, status)
