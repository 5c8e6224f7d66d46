"""A 2xx that does not match the spec raises APIResponseValidationError naming the field; extras pass."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dify_mgmt_async import APIResponseValidationError, AppMode
from dify_mgmt_async._response_check import ShapeMismatch, check
from dify_mgmt_async._shapes import SHAPES
from tests.conftest import APP, DOCUMENT, make_client


def _answer(body: Any) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(200, json=body))


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"id": 123, "name": None, "mode": "chat"}, "App: icon: is required"),
        ({**APP, "id": 123}, "App: id: must be a string (got number)"),
        ({**APP, "name": None}, "App: name: must be a string (got null)"),
        ({k: v for k, v in APP.items() if k != "created_at"}, "App: created_at: is required"),
        ({**APP, "created_at": "yesterday"}, "App: created_at: must be an integer (got string)"),
        ({**APP, "created_at": 1.5}, "App: created_at: must be an integer (got number)"),
        ([APP], "App: (the body): must be an object (got array)"),
    ],
    ids=[
        "issue-example",
        "wrong-id-type",
        "null-name",
        "missing-required",
        "string-timestamp",
        "fraction-timestamp",
        "array",
    ],
)
async def test_mismatch_names_the_field(body: Any, message: str) -> None:
    async with make_client(_answer(body)) as dify:
        with pytest.raises(APIResponseValidationError) as info:
            await dify.apps.get("a1")
    assert f"200 answer does not match the spec's {message}" == str(info.value)
    assert info.value.status_code == 200


@pytest.mark.anyio
async def test_nested_path_in_a_page() -> None:
    page = {"data": [APP, {**APP, "icon_background": 7}], "limit": 2}
    async with make_client(_answer(page)) as dify:
        with pytest.raises(APIResponseValidationError, match=r"AppPage: data\[1\]\.icon_background: must be a string"):
            await dify.apps.list()


@pytest.mark.anyio
async def test_extras_kept_unknown_enums_strings_integral_floats_and_nulls_accepted() -> None:
    body = {**APP, "mode": "advanced-chat", "created_at": 1688000000.0, "tenant": {"x": 1}}
    async with make_client(_answer(body)) as dify:
        app = await dify.apps.get("a1")
    assert app.mode == "advanced-chat" and not isinstance(app.mode, AppMode)
    assert app.additional_properties == {"tenant": {"x": 1}}
    assert app.description is None
    async with make_client(_answer({**APP, "mode": "chat"})) as dify:
        assert (await dify.apps.get("a1")).mode is AppMode.CHAT


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("envelope", "expected"),
    [
        ({"data": [], "limit": 20, "total": 0, "page": 1}, (0, 1, None)),
        ({"data": [], "limit": 20, "has_more": False}, (None, None, False)),
        ({"data": [], "limit": 20, "total": None}, (None, None, None)),
    ],
)
async def test_page_fields_absent_are_none(envelope: dict[str, Any], expected: tuple[Any, ...]) -> None:
    async with make_client(_answer(envelope)) as dify:
        page = await dify.apps.list()
    assert (page.total, page.page, page.has_more) == expected
    assert page.limit == 20


def test_document_parsing_error_is_optional_and_nullable() -> None:
    check(SHAPES["Document"], DOCUMENT)
    check(SHAPES["Document"], {**DOCUMENT, "parsing_error": None})
    with pytest.raises(ShapeMismatch) as info:
        check(SHAPES["Document"], {**DOCUMENT, "word_count": None})
    assert (info.value.path, info.value.problem) == ("word_count", "must be an integer (got null)")
