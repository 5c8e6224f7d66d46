"""Every facade method through respx: what the server receives, and what the caller gets back."""

from __future__ import annotations

import inspect
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from dify_mgmt_async import (
    ApiKeyCreated,
    ApiKeyPage,
    App,
    AppApiKeys,
    AppMode,
    AppNewApiKey,
    AppPage,
    Dataset,
    DatasetPage,
    DatasetPermission,
    DifyError,
    DifyManagementClient,
    Document,
    DocumentPage,
    InvalidArgumentError,
    ModelList,
    ModelProviderList,
    ProcessRule,
    Result,
    User,
    Workspace,
)
from dify_mgmt_async._resources import Namespaces
from tests.conftest import BASE, TOKEN, Recorder, make_client

API = "/api/management"
UID = uuid.UUID("12345678-1234-5678-1234-567812345678")

APP = {
    "id": "a1",
    "name": "客服助手",
    "mode": "chat",
    "icon": None,
    "icon_background": None,
    "description": None,
    "created_at": 1688000000,
    "api_key": "ak-1",
    "api_secret": "sk-1",
}
DATASET = {"id": "d1", "name": "产品手册", "permission": "only_me"}
DOCUMENT = {
    "id": "doc1",
    "name": "a.txt",
    "created_at": 1689900000,
    "status": "enabled",
    "indexing_status": "waiting",
    "word_count": 0,
}
WORKSPACE = {"id": "w1", "name": "ws", "created_at": 1, "plan": "team", "features": {}, "usage": {}}
USER = {"id": "u1", "name": "me", "email": "me@example.com", "avatar": None, "created_at": 1, "role": "owner"}
MODEL = {
    "id": "m",
    "name": "M",
    "model_type": "llm",
    "provider": "p",
    "features": [],
    "parameter_rules": {},
    "pricing": {},
}
KEY = {"id": "k1", "name": "ci", "last_used_at": None, "created_at": 1, "expires_at": None}


@dataclass
class Case:
    """One call, the request the server must see, and the answer it gives."""

    id: str
    call: Callable[[DifyManagementClient], Awaitable[Any]]
    method: str
    path: str
    answer: Any
    returns: type | None
    query: dict[str, str] | None = None
    body: Any = None
    status: int = 200


def _page(item: dict[str, Any]) -> dict[str, Any]:
    return {"data": [item], "total": 1, "page": 1, "limit": 20}


CASES = [
    Case("apps.list", lambda d: d.apps.list(), "GET", "/apps", _page(APP), AppPage, query={}),
    Case(
        "apps.list-all-args",
        lambda d: d.apps.list(page=2, limit=50, name="客服", mode="workflow"),
        "GET",
        "/apps",
        _page(APP),
        AppPage,
        query={"page": "2", "limit": "50", "name": "客服", "mode": "workflow"},
    ),
    Case(
        "apps.list-enum-mode",
        lambda d: d.apps.list(mode=AppMode.AGENT_CHAT),
        "GET",
        "/apps",
        _page(APP),
        AppPage,
        query={"mode": "agent_chat"},
    ),
    Case(
        "apps.create-required",
        lambda d: d.apps.create(name="n", mode="chat"),
        "POST",
        "/apps",
        APP,
        App,
        body={"name": "n", "mode": "chat"},
        status=201,
    ),
    Case(
        "apps.create-all",
        lambda d: d.apps.create(name="n", mode="completion", icon="robot", icon_background="#fff", description="x"),
        "POST",
        "/apps",
        APP,
        App,
        body={"name": "n", "mode": "completion", "icon": "robot", "icon_background": "#fff", "description": "x"},
    ),
    Case("apps.get", lambda d: d.apps.get("a1"), "GET", "/apps/a1", APP, App),
    Case("apps.get-uuid", lambda d: d.apps.get(UID), "GET", f"/apps/{UID}", APP, App),
    Case("apps.update-empty", lambda d: d.apps.update("a1"), "PATCH", "/apps/a1", APP, App, body={}),
    Case(
        "apps.update",
        lambda d: d.apps.update(UID, name="m", description=""),
        "PATCH",
        f"/apps/{UID}",
        APP,
        App,
        body={"name": "m", "description": ""},
    ),
    Case("apps.delete", lambda d: d.apps.delete("a1"), "DELETE", "/apps/a1", None, None, status=204),
    Case(
        "apps.delete-200",
        lambda d: d.apps.delete(UID),
        "DELETE",
        f"/apps/{UID}",
        {"result": "success"},
        None,
    ),
    Case(
        "apps.get_api_keys",
        lambda d: d.apps.get_api_keys("a1"),
        "GET",
        "/apps/a1/api-keys",
        {"api_key": "ak", "api_secret": "sk", "created_at": 1},
        AppApiKeys,
    ),
    Case(
        "apps.reset_api_keys",
        lambda d: d.apps.reset_api_keys(UID, type="api_secret"),
        "POST",
        f"/apps/{UID}/api-keys/reset",
        {"api_secret": "sk-new"},  # the contract's answer: the new key only, no created_at
        AppNewApiKey,
        body={"type": "api_secret"},
    ),
    Case("datasets.list", lambda d: d.datasets.list(), "GET", "/datasets", _page(DATASET), DatasetPage, query={}),
    Case(
        "datasets.list-args",
        lambda d: d.datasets.list(page=3, limit=100, name="手册"),
        "GET",
        "/datasets",
        _page(DATASET),
        DatasetPage,
        query={"page": "3", "limit": "100", "name": "手册"},
    ),
    Case(
        "datasets.create",
        lambda d: d.datasets.create(name="ds"),
        "POST",
        "/datasets",
        DATASET,
        Dataset,
        body={"name": "ds"},
    ),
    Case(
        "datasets.create-all",
        lambda d: d.datasets.create(name="ds", description="d", permission=DatasetPermission.ALL_TEAM_MEMBERS),
        "POST",
        "/datasets",
        DATASET,
        Dataset,
        body={"name": "ds", "description": "d", "permission": "all_team_members"},
        status=201,
    ),
    Case("datasets.get", lambda d: d.datasets.get(UID), "GET", f"/datasets/{UID}", DATASET, Dataset),
    Case(
        "datasets.update",
        lambda d: d.datasets.update("d1", permission="only_me"),
        "PATCH",
        "/datasets/d1",
        DATASET,
        Dataset,
        body={"permission": "only_me"},
    ),
    Case("datasets.delete", lambda d: d.datasets.delete("d1"), "DELETE", "/datasets/d1", None, None, status=204),
    Case(
        "datasets.list_documents",
        lambda d: d.datasets.list_documents("d1"),
        "GET",
        "/datasets/d1/documents",
        _page(DOCUMENT),
        DocumentPage,
        query={},
    ),
    Case(
        "datasets.list_documents-args",
        lambda d: d.datasets.list_documents(UID, page=1, limit=1, status="completed"),
        "GET",
        f"/datasets/{UID}/documents",
        _page(DOCUMENT),
        DocumentPage,
        query={"page": "1", "limit": "1", "status": "completed"},
    ),
    Case(
        "datasets.delete_document",
        lambda d: d.datasets.delete_document("d1", UID),
        "DELETE",
        f"/datasets/d1/documents/{UID}",
        None,
        None,
        status=204,
    ),
    Case("models.list", lambda d: d.models.list(), "GET", "/models", {"data": [MODEL]}, ModelList),
    Case(
        "model_providers.list",
        lambda d: d.model_providers.list(),
        "GET",
        "/model-providers",
        {
            "data": [
                {"provider": "openai", "provider_name": "OpenAI", "is_configured": True, "supported_model_types": []}
            ]
        },
        ModelProviderList,
    ),
    Case(
        "model_providers.update_credentials",
        lambda d: d.model_providers.update_credentials("openai", credentials={"api_key": "sk", "n": 1}),
        "POST",
        "/model-providers/openai/credentials",
        {"result": "success"},
        Result,
        body={"credentials": {"api_key": "sk", "n": 1}},
    ),
    Case(
        "workspaces.get_current",
        lambda d: d.workspaces.get_current(),
        "GET",
        "/workspaces/current",
        WORKSPACE,
        Workspace,
    ),
    Case(
        "workspaces.update_current",
        lambda d: d.workspaces.update_current(name="w2", plan_settings={"x": True}),
        "PATCH",
        "/workspaces/current",
        WORKSPACE,
        Workspace,
        body={"name": "w2", "plan_settings": {"x": True}},
    ),
    Case(
        "workspaces.update_current-empty",
        lambda d: d.workspaces.update_current(),
        "PATCH",
        "/workspaces/current",
        WORKSPACE,
        Workspace,
        body={},
    ),
    Case("users.get_current", lambda d: d.users.get_current(), "GET", "/users/current", USER, User),
    Case("api_keys.list", lambda d: d.api_keys.list(), "GET", "/api-keys", _page(KEY), ApiKeyPage, query={}),
    Case(
        "api_keys.list-args",
        lambda d: d.api_keys.list(page=2, limit=10),
        "GET",
        "/api-keys",
        _page(KEY),
        ApiKeyPage,
        query={"page": "2", "limit": "10"},
    ),
    Case(
        "api_keys.create",
        lambda d: d.api_keys.create(name="ci"),
        "POST",
        "/api-keys",
        {**KEY, "token": "dify-full-token"},
        ApiKeyCreated,
        body={"name": "ci"},
        status=201,
    ),
    Case(
        "api_keys.create-expires",
        lambda d: d.api_keys.create(name="ci", expires_at=4102444800),
        "POST",
        "/api-keys",
        {**KEY, "token": "dify-full-token"},
        ApiKeyCreated,
        body={"name": "ci", "expires_at": 4102444800},
    ),
    Case(
        "api_keys.create-expires-datetime",
        lambda d: d.api_keys.create(name="ci", expires_at=datetime(2100, 1, 1, tzinfo=UTC)),
        "POST",
        "/api-keys",
        {**KEY, "token": "dify-full-token"},
        ApiKeyCreated,
        body={"name": "ci", "expires_at": 4102444800},
    ),
    Case("api_keys.delete", lambda d: d.api_keys.delete(UID), "DELETE", f"/api-keys/{UID}", None, None, status=204),
]


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    """respx patches httpx's own transport; the SDK's default under asyncio is aiohttp, so the tests
    using it pass httpx's transport explicitly (the documented way to use respx with this SDK)."""
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.mark.anyio
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_method_sends_request_and_parses_answer(case: Case, mock: respx.MockRouter) -> None:
    """Each method sends exactly its method, path, query and JSON body, and returns its model type."""
    response = httpx.Response(case.status, json=case.answer) if case.answer is not None else httpx.Response(204)
    route = mock.route(method=case.method, path=API + case.path).mock(return_value=response)
    async with make_client(httpx.AsyncHTTPTransport(), max_retries=0) as dify:
        result = await case.call(dify)
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == case.method
    assert request.url.path == API + case.path
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    if case.query is not None:
        assert dict(request.url.params) == case.query
    else:
        assert request.url.query == b""
    if case.body is None:
        assert request.content == b""
    else:
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == case.body
        assert b"null" not in request.content and b"None" not in request.content
    if case.returns is None:
        assert result is None
    else:
        assert type(result) is case.returns


HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def spec_methods(spec: dict[str, Any]) -> set[str]:
    """``namespace.method`` of every operation in the spec, named as the generator names it: the
    namespace is the operation's tag, the method its ``x-sdk-method`` or else its operationId."""
    return {
        f"{op['tags'][0]}.{op.get('x-sdk-method', op['operationId'])}"
        for item in spec["paths"].values()
        for verb in HTTP_METHODS
        if (op := item.get(verb)) is not None
    }


def facade_methods() -> set[str]:
    """``namespace.method`` of every public method on every namespace of the client."""
    dify = make_client(httpx.AsyncHTTPTransport())
    return {
        f"{namespace}.{name}"
        for namespace in Namespaces.__annotations__
        for name, _ in inspect.getmembers(type(getattr(dify, namespace)), inspect.isfunction)
        if not name.startswith("_")
    }


HAND_WRITTEN_HELPERS = {"datasets.wait_for_indexing"}  # _datasets.DatasetsNamespace, not an operation of the spec


def test_facade_has_exactly_the_spec_operations(spec: dict[str, Any]) -> None:
    """Each operation of the spec is a method on the namespace of its tag; the only others are the helpers."""
    assert facade_methods() == spec_methods(spec) | HAND_WRITTEN_HELPERS


def test_every_spec_operation_is_covered(spec: dict[str, Any]) -> None:
    """The table above calls every operation of the spec and nothing else; upload_document (multipart)
    is tested on its own below and in tests/test_uploads.py."""
    covered = {c.id.split("-")[0] for c in CASES} | {"datasets.upload_document"}
    assert covered == spec_methods(spec)


@pytest.mark.anyio
async def test_upload_document_sends_multipart(mock: respx.MockRouter, tmp_path: Path) -> None:
    """upload_document POSTs multipart/form-data with the file part and a JSON process_rule part."""
    from email.parser import BytesParser
    from email.policy import HTTP

    route = mock.post(path=f"{API}/datasets/{UID}/documents/upload").mock(
        return_value=httpx.Response(201, json=DOCUMENT)
    )
    path = tmp_path / "notes.txt"
    path.write_bytes(b"hello world")
    async with make_client(httpx.AsyncHTTPTransport(), max_retries=0) as dify:
        doc = await dify.datasets.upload_document(UID, path, process_rule=ProcessRule(chunk_size=500))
    assert type(doc) is Document
    request = route.calls.last.request
    ctype = request.headers["content-type"]
    assert ctype.startswith("multipart/form-data; boundary=")
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + request.content)
    parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
    assert set(parts) == {"file", "process_rule"}
    assert parts["file"].get_filename() == "notes.txt"
    assert parts["file"].get_content_type() == "text/plain"
    assert parts["file"].get_payload(decode=True) == b"hello world"
    assert parts["process_rule"].get_content_type() == "application/json"
    assert json.loads(parts["process_rule"].get_payload(decode=True)) == {"chunk_size": 500}


BAD_INPUT = [
    ("unknown-mode", lambda d: d.apps.create(name="n", mode="advanced")),
    ("limit-over-100", lambda d: d.apps.list(limit=101)),
    ("limit-0", lambda d: d.datasets.list(limit=0)),
    ("page-0", lambda d: d.api_keys.list(page=0)),
    ("limit-bool", lambda d: d.api_keys.list(limit=True)),
    ("empty-name", lambda d: d.apps.create(name="", mode="chat")),
    ("empty-dataset-name", lambda d: d.datasets.create(name="")),
    ("empty-key-name", lambda d: d.api_keys.create(name="")),
    ("name-too-long", lambda d: d.apps.update("a1", name="x" * 256)),
    ("bad-colour", lambda d: d.apps.create(name="n", mode="chat", icon_background="blue")),
    ("bad-permission", lambda d: d.datasets.update("d1", permission="everyone")),
    ("bad-reset-type", lambda d: d.apps.reset_api_keys("a1", type="token")),
    ("empty-id", lambda d: d.apps.get("")),
    ("int-id", lambda d: d.apps.get(5)),
    ("negative-expiry", lambda d: d.api_keys.create(name="k", expires_at=-1)),
    ("past-expiry", lambda d: d.api_keys.create(name="k", expires_at=int(time.time()) - 1)),
    ("past-expiry-datetime", lambda d: d.api_keys.create(name="k", expires_at=datetime(2020, 1, 1, tzinfo=UTC))),
    ("expiry-as-text", lambda d: d.api_keys.create(name="k", expires_at="2100-01-01")),
    ("credentials-not-mapping", lambda d: d.model_providers.update_credentials("openai", credentials=[1])),
    (
        "process-rule-typo",
        lambda d: d.datasets.upload_document("d1", b"x", filename="a.txt", process_rule={"chunk_sise": 5}),
    ),
    (
        "process-rule-bad-value",
        lambda d: d.datasets.upload_document("d1", b"x", filename="a.txt", process_rule={"chunk_size": 0}),
    ),
    ("missing-file", lambda d: d.datasets.upload_document("d1", "/nonexistent/nowhere.txt")),
    ("empty-bytes", lambda d: d.datasets.upload_document("d1", b"", filename="a.txt")),
    ("bytes-without-filename", lambda d: d.datasets.upload_document("d1", b"x")),
]


async def _invoke(call: Callable[[DifyManagementClient], Any], dify: DifyManagementClient) -> Any:
    result = call(dify)  # a pager checks its arguments when it is created, a coroutine when awaited
    return await result


@pytest.mark.anyio
@pytest.mark.parametrize(("name", "call"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
async def test_bad_input_raises_before_sending(
    name: str, call: Callable[[DifyManagementClient], Any], mock: respx.MockRouter
) -> None:
    """Bad arguments raise InvalidArgumentError (a DifyError and ValueError) and nothing is sent."""
    route = mock.route().mock(return_value=httpx.Response(200, json=APP))
    async with make_client(httpx.AsyncHTTPTransport(), max_retries=0) as dify:
        with pytest.raises(InvalidArgumentError) as info:
            await _invoke(call, dify)
    assert isinstance(info.value, DifyError) and isinstance(info.value, ValueError)
    assert route.call_count == 0
    assert len(mock.calls) == 0


LOOSENED = [
    ("apps.list", lambda d: d.apps.list(mode="advanced-chat"), "/apps", {"mode": "advanced-chat"}),
    (
        "documents-limit",
        lambda d: d.datasets.list_documents("d1", limit=200),
        "/datasets/d1/documents",
        {"limit": "200"},
    ),
    (
        "documents-status",
        lambda d: d.datasets.list_documents("d1", status="enabled"),
        "/datasets/d1/documents",
        {"status": "enabled"},
    ),
    ("api_keys-limit", lambda d: d.api_keys.list(limit=500), "/api-keys", {"limit": "500"}),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("name", "call", "path", "query"), LOOSENED, ids=[c[0] for c in LOOSENED])
async def test_what_the_contract_allows_is_sent(
    name: str, call: Callable[[DifyManagementClient], Any], path: str, query: dict[str, str], mock: respx.MockRouter
) -> None:
    """Where the seed states no limit (no maximum, free `status`, servers' `mode`s), the value is sent as given."""
    route = mock.get(path=f"{API}{path}").mock(return_value=httpx.Response(200, json={"data": [], "limit": 20}))
    async with make_client(httpx.AsyncHTTPTransport(), max_retries=0) as dify:
        page = await _invoke(call, dify)
    assert route.call_count == 1
    assert dict(route.calls[0].request.url.params) == query
    assert page.data == [] and page.total is None and page.has_more is None


@pytest.mark.anyio
async def test_expires_at_takes_a_fractional_number(mock: respx.MockRouter) -> None:
    """The seed types `expires_at` as Number: a float is sent as given, an int stays an int."""
    created = {"id": "k1", "name": "ci", "token": "t", "created_at": 1, "expires_at": 4102444800}
    route = mock.post(path=f"{API}/api-keys").mock(return_value=httpx.Response(201, json=created))
    async with make_client(httpx.AsyncHTTPTransport(), max_retries=0) as dify:
        await dify.api_keys.create(name="ci", expires_at=4102444800.5)
        await dify.api_keys.create(name="ci", expires_at=4102444800)
        with pytest.raises(InvalidArgumentError, match="expires_at: must be Unix seconds"):
            await dify.api_keys.create(name="ci", expires_at=float("nan"))
    assert [json.loads(c.request.content)["expires_at"] for c in route.calls] == [4102444800.5, 4102444800]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "call",
    [
        lambda d: d.workspaces.update_current(plan_settings={"k": object()}),
        lambda d: d.model_providers.update_credentials("openai", credentials={"k": float("nan")}),
        lambda d: d.apps.create(name="\ud800", mode="chat"),
    ],
    ids=["not-json", "nan", "lone-surrogate"],
)
async def test_unsendable_values_are_refused_before_sending(call: Any) -> None:
    """Values JSON or UTF-8 cannot carry raise InvalidArgumentError up front, and no slot is lost."""
    server = Recorder()
    async with make_client(server, max_concurrency=1) as dify:
        with pytest.raises(InvalidArgumentError):
            await call(dify)
        await dify.apps.get("a1")
        assert dify.stats.in_flight == 0
    assert len(server.requests) == 1


@pytest.mark.anyio
async def test_pattern_does_not_accept_a_trailing_newline() -> None:
    """`#fff\\n` is not a hex colour (JSON Schema's `$` is the end of the string)."""
    server = Recorder()
    async with make_client(server) as dify:
        with pytest.raises(InvalidArgumentError, match="icon_background"):
            await dify.apps.create(name="n", mode="chat", icon_background="#fff\n")
    assert server.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["missing", "directory", "empty"])
async def test_bad_file_raises_before_sending(kind: str, tmp_path: Path, mock: respx.MockRouter) -> None:
    """A missing file, a directory or an empty file raises InvalidArgumentError naming `file`, nothing sent."""
    target = {"missing": tmp_path / "gone.txt", "directory": tmp_path, "empty": tmp_path / "empty.txt"}[kind]
    if kind == "empty":
        target.write_bytes(b"")
    route = mock.route().mock(return_value=httpx.Response(200, json=DOCUMENT))
    async with make_client(httpx.AsyncHTTPTransport(), max_retries=0) as dify:
        with pytest.raises(InvalidArgumentError, match="file"):
            await dify.datasets.upload_document("d1", target)
    assert route.call_count == 0


def test_path_params_are_positional_and_rest_keyword_only() -> None:
    """Path parameters are positional; a query/body argument given positionally is a TypeError."""
    dify = make_client(httpx.AsyncHTTPTransport(), max_retries=0)
    with pytest.raises(TypeError):
        dify.apps.list(1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        dify.apps.update("a1", "name")  # type: ignore[misc]
    with pytest.raises(TypeError):
        dify.datasets.list_documents("d1", 1)  # type: ignore[misc]


@pytest.mark.anyio
async def test_unknown_enum_value_in_response_parses(mock: respx.MockRouter) -> None:
    """A mode the enum does not know (advanced-chat) parses and is kept as a string."""
    mock.get(path=f"{API}/apps/a1").mock(return_value=httpx.Response(200, json={**APP, "mode": "advanced-chat"}))
    async with make_client(httpx.AsyncHTTPTransport(), max_retries=0) as dify:
        app = await dify.apps.get("a1")
    assert app.mode == "advanced-chat"


@pytest.mark.anyio
async def test_known_enum_value_in_response_is_the_enum(mock: respx.MockRouter) -> None:
    """A known mode parses to the AppMode member."""
    mock.get(path=f"{API}/apps/a1").mock(return_value=httpx.Response(200, json=APP))
    async with make_client(httpx.AsyncHTTPTransport(), max_retries=0) as dify:
        app = await dify.apps.get("a1")
    assert app.mode is AppMode.CHAT


@pytest.mark.anyio
async def test_process_rule_as_dict_and_model_send_the_same(mock: respx.MockRouter) -> None:
    """process_rule given as a dict or as ProcessRule produce the same JSON part."""
    route = mock.post(path=f"{API}/datasets/d1/documents/upload").mock(return_value=httpx.Response(200, json=DOCUMENT))
    rule = {"chunk_size": 500, "chunk_overlap": 50, "separator": "\n\n"}
    async with make_client(httpx.AsyncHTTPTransport(), max_retries=0) as dify:
        await dify.datasets.upload_document("d1", b"x", filename="a.txt", process_rule=rule)
        await dify.datasets.upload_document(
            "d1", b"x", filename="a.txt", process_rule=ProcessRule(chunk_size=500, chunk_overlap=50, separator="\n\n")
        )
    first, second = (call.request.content for call in route.calls)
    boundary1 = route.calls[0].request.headers["content-type"].split("boundary=")[1].encode()
    boundary2 = route.calls[1].request.headers["content-type"].split("boundary=")[1].encode()
    assert first.replace(boundary1, b"B") == second.replace(boundary2, b"B")
    assert b'{"chunk_size":500,"chunk_overlap":50,"separator":"\\n\\n"}' in first


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("value", "encoded"),
    [("a/b", "a%2Fb"), ("../datasets/x", "..%2Fdatasets%2Fx"), ("a?x=1", "a%3Fx%3D1"), ("a#f", "a%23f")],
)
async def test_path_params_are_percent_encoded(value: str, encoded: str) -> None:
    """An id with '/', '?' or '#' stays inside its path segment (no traversal to another endpoint)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=APP)

    async with make_client(handler) as dify:
        await dify.apps.get(value)
    assert seen[0].url.raw_path == f"{API}/apps/{encoded}".encode()


@pytest.mark.anyio
@pytest.mark.parametrize("bad", [".", "..", " .. "])
async def test_dot_segments_are_refused(bad: str) -> None:
    """`..` would make `DELETE .../documents/..` delete the dataset: ids of `.`/`..` are refused."""
    server = Recorder()
    async with make_client(server) as dify:
        with pytest.raises(InvalidArgumentError, match="document_id"):
            await dify.datasets.delete_document("D1", bad)
        with pytest.raises(InvalidArgumentError, match="provider_name"):
            await dify.model_providers.update_credentials(bad, credentials={})
    assert server.requests == []


@pytest.mark.anyio
async def test_base_url_path_prefix_is_kept() -> None:
    """A base_url with a path prefix (a reverse proxy) keeps it before /api/management."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=USER)

    async with make_client(handler, base_url=BASE + "/dify/") as dify:
        await dify.users.get_current()
    assert seen[0].url.path == "/dify/api/management/users/current"
