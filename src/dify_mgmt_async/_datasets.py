"""Hand-written helpers on ``dify.datasets``, on top of the generated ``DatasetsResource``.

The namespace classes are generator output, so a helper that is not one operation of the spec
lives here, in a subclass the client binds in place of the generated one (``_client``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from uuid import UUID

import anyio

from . import _validation as _v
from ._errors import InvalidArgumentError
from ._generated.models import Document, IndexingStatus
from ._resources import DatasetsResource

__all__ = ["FINISHED_STATUSES", "DatasetsNamespace"]

FINISHED_STATUSES: frozenset[str] = frozenset({IndexingStatus.COMPLETED.value, IndexingStatus.ERROR.value})
"""Indexing statuses that no longer change by themselves (``paused`` waits for a person, so it is not one)."""

PAGE_LIMIT = 100


def _status(document: Document) -> str:
    return str(getattr(document.indexing_status, "value", document.indexing_status))


def _same_id(value: str) -> str:
    """How an id compares: a UUID in its canonical form (the server lists ids in lower case, and a caller may
    write one in upper case or with braces), any other id as it is."""
    try:
        return str(UUID(value))
    except ValueError:
        return value


def _positive(name: str, value: object, *, optional: bool) -> float | None:
    if value is None and optional:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise InvalidArgumentError(f"{name}: must be a positive number of seconds (got {value!r})")
    return float(value)


class DatasetsNamespace(DatasetsResource):
    """``datasets``: every generated operation, plus ``wait_for_indexing``."""

    __slots__ = ()

    async def wait_for_indexing(
        self,
        dataset_id: str | UUID,
        document_ids: Iterable[str | UUID],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - a deadline for the whole wait, as the issue's API has it
        poll_interval: float = 1.0,
        on_progress: Callable[[int, int], object] | None = None,
    ) -> list[Document]:
        """Wait until every given document's indexing is completed or error; their final states, in order.

        The API has no single-document GET, so each poll lists the dataset's documents (every page,
        100 a page) and picks the wanted ones. A document not listed (not visible yet, or deleted)
        is waited for like an unfinished one. Raises TimeoutError naming the unfinished documents.

        Args:
            dataset_id: The dataset's id (a UUID).
            document_ids: The documents to wait for (a UUID matches in any case or spelling).
            timeout: Seconds to wait at most, polls included (a poll still running then is cut off; the last look,
                made at the deadline, may take one ``poll_interval`` more); left out, as long as it takes.
            poll_interval: Seconds between two polls (default 1).
            on_progress: Called as ``on_progress(finished, total)`` when the count of finished documents changes.
        """
        dataset = _v.ident("dataset_id", dataset_id)
        if isinstance(document_ids, str | UUID):
            raise InvalidArgumentError("document_ids: must be an iterable of ids, not a single id")
        wanted_set: set[str] = set()
        keys: dict[str, str] = {}  # each id as given (a document's first spelling only) -> how it compares
        for given in document_ids:
            document_id = _v.ident("document_ids", given)
            key = _same_id(document_id)
            if key not in wanted_set:
                wanted_set.add(key)
                keys[document_id] = key
        wanted = list(keys)
        _v.callback("on_progress", on_progress, called_as="on_progress(finished, total)", when="after each poll")
        limit = _positive("timeout", timeout, optional=True)
        interval = _positive("poll_interval", poll_interval, optional=False)
        assert interval is not None
        if not wanted:
            return []
        deadline = None if limit is None else anyio.current_time() + limit
        finished: dict[str, Document] = {}
        reported = -1
        while True:
            # A poll is cut at the deadline too (a slow answer must not hold the wait past it); the last look,
            # made at the deadline, gets one poll interval.
            left = math.inf if deadline is None else deadline - anyio.current_time()
            with anyio.move_on_after(left if left > 0 else interval):
                async for document in self.list_documents(dataset, limit=PAGE_LIMIT):
                    key = _same_id(document.id)
                    if key in wanted_set and _status(document) in FINISHED_STATUSES:
                        finished[key] = document
            if on_progress is not None and len(finished) != reported:
                reported = len(finished)
                on_progress(reported, len(wanted))
            if len(finished) == len(wanted):
                return [finished[keys[d]] for d in wanted]
            pause = interval
            if deadline is not None:
                left = deadline - anyio.current_time()
                if left <= 0:
                    waiting = [d for d in wanted if keys[d] not in finished]
                    shown = ", ".join(waiting[:5]) + (", ..." if len(waiting) > 5 else "")
                    raise TimeoutError(
                        f"wait_for_indexing: {len(waiting)} of {len(wanted)} documents not finished "
                        f"after {limit:g} s: {shown}"
                    )
                pause = min(pause, left)
            await anyio.sleep(pause)
