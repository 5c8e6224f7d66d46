"""The emulator's routes and request checks come from the OpenAPI document, and its answers are held to it.

An edited copy of the spec changes what the emulator accepts with no emulator code touched; the
checks compiled at start-up agree with openapi-core's own request validator; a handler whose answer
drifts from the spec fails the response check every emulator test goes through.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_core.datatypes import RequestParameters
from starlette.responses import JSONResponse, Response
from werkzeug.datastructures import Headers, ImmutableMultiDict

from dify_mgmt_async.emulator import EmulatorServer, app, validation
from dify_mgmt_async.emulator.store import Store
from dify_mgmt_async.emulator.validation import SpecError, compile_spec, load
from tests.conftest import SPEC_PATH
from tests.emulator.conftest import SPEC, P, check_response

Edit = Callable[[dict[str, Any]], None]


def edited_spec(tmp_path: Path, *edits: Edit) -> Path:
    """A copy of the package's spec with ``edits`` applied to its parsed document."""
    document = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    for edit in edits:
        edit(document)
    path = tmp_path / "management.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def tighten(document: dict[str, Any]) -> None:
    schemas, parameters = document["components"]["schemas"], document["components"]["parameters"]
    schemas["AppCreate"]["properties"]["name"]["maxLength"] = 5
    parameters["Limit"]["schema"]["maximum"] = 30  # the default, 20, must stay within
    schemas["ProcessRule"]["properties"]["separator"]["maxLength"] = 3


@pytest.fixture
def both(tmp_path: Path) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Clients of two emulators: one serving the package's spec, one serving a tightened copy of it."""
    with EmulatorServer() as plain, EmulatorServer(spec=edited_spec(tmp_path, tighten)) as tight:
        clients = [
            httpx.Client(base_url=s.base_url + P, headers={"Authorization": f"Bearer {s.token}"})
            for s in (plain, tight)
        ]
        with clients[0], clients[1]:
            yield clients[0], clients[1]


def test_a_constraint_changed_in_the_spec_changes_the_answer(both: tuple[httpx.Client, httpx.Client]) -> None:
    """maxLength, maximum and a multipart part's schema, edited in a copy of the spec, flip 2xx to 400."""
    plain, tight = both

    def answers(client: httpx.Client) -> list[tuple[int, str | None]]:
        dataset = client.post("/datasets", json={"name": "d"}).json()["id"]
        rule = json.dumps({"separator": "----"})
        upload = {"file": ("a.txt", b"x"), "process_rule": (None, rule, "application/json")}
        responses = [
            client.post("/apps", json={"name": "sixsix", "mode": "chat"}),
            client.get("/apps", params={"limit": 31}),
            client.post(f"/datasets/{dataset}/documents/upload", files=upload),
        ]
        return [(r.status_code, r.json().get("error")) for r in responses]

    assert answers(plain) == [(201, None), (200, None), (201, None)]
    assert answers(tight) == [
        (400, "name: 'sixsix' is too long"),
        (400, "limit: 31 is greater than the maximum of 30"),
        (400, "process_rule.separator: '----' is too long"),
    ]
    assert tight.get("/apps", params={"limit": 30}).status_code == 200  # the new maximum itself is allowed


def test_routes_come_from_the_spec(tmp_path: Path) -> None:
    """An operation added to the spec is routed and its parameters checked; with no behaviour it answers 501."""

    def add_ping(document: dict[str, Any]) -> None:
        document["paths"]["/api/management/ping"] = {
            "get": {
                "operationId": "ping",
                "parameters": [{"name": "n", "in": "query", "schema": {"type": "integer", "maximum": 3}}],
                "responses": {"200": {"description": "Pong."}},
            }
        }

    with EmulatorServer(spec=edited_spec(tmp_path, add_ping)) as server:
        auth = {"Authorization": f"Bearer {server.token}"}
        with httpx.Client(base_url=server.base_url + P, headers=auth) as client:
            too_big, fine = client.get("/ping", params={"n": 4}), client.get("/ping", params={"n": 3})
    assert (too_big.status_code, too_big.json()["error"]) == (400, "n: 4 is greater than the maximum of 3")
    assert fine.json() == {"error_code": "not_implemented", "error": "ping: the emulator has no behaviour for it"}
    assert fine.status_code == 501


def test_unsupported_parameter_style_fails_at_start(tmp_path: Path) -> None:
    """A construct the emulator cannot check is refused when the spec is compiled, naming where it is."""

    def deep_object(document: dict[str, Any]) -> None:
        document["paths"]["/api/management/apps"]["get"]["parameters"].append(
            {"name": "filter", "in": "query", "style": "deepObject", "schema": {"type": "object"}}
        )

    with pytest.raises(SpecError, match=r"^GET /api/management/apps: parameter 'filter': style 'deepObject'"):
        compile_spec(edited_spec(tmp_path, deep_object))


def test_spec_is_compiled_once_per_file_version(tmp_path: Path) -> None:
    """Every emulator in a process shares one compiled spec; an edited file is compiled again."""
    assert load() is load(SPEC_PATH)
    path = edited_spec(tmp_path)
    first = load(path)
    assert load(path) is first
    os.utime(path, ns=(1, 1))
    assert load(path) is not first


class WireRequest:
    """A request as openapi-core's request protocol sees it, body included."""

    def __init__(self, method: str, path: str, query: dict[str, str], body: Any, token: str) -> None:
        self.host_url = "http://127.0.0.1"
        self.path = P + path
        self.method = method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(query.items())),
            header=Headers({"Authorization": f"Bearer {token}"}),
            cookie=ImmutableMultiDict(),
        )
        self.body = None if body is None else json.dumps(body).encode()
        self.content_type = "" if body is None else "application/json"


CASES: list[tuple[str, str, dict[str, str], Any]] = [
    ("GET", "/apps", {"page": "2", "limit": "100", "name": "客服", "mode": "advanced-chat"}, None),
    ("GET", "/apps", {"limit": "101"}, None),
    ("GET", "/apps", {"limit": "-1"}, None),
    ("GET", "/apps", {"page": "one"}, None),
    ("GET", "/apps", {"name": ""}, None),
    ("GET", "/datasets/{id}/documents", {"limit": "1000", "status": "enabled"}, None),
    ("GET", "/datasets/{id}/documents", {"status": ""}, None),
    ("POST", "/apps", {}, {"name": "a", "mode": "workflow", "icon_background": "#abc", "description": ""}),
    ("POST", "/apps", {}, {"name": "a", "mode": "chat", "icon_background": "#abcd"}),
    ("POST", "/apps", {}, {"name": "a" * 256, "mode": "chat"}),
    ("POST", "/apps", {}, {"name": "a"}),
    ("POST", "/apps", {}, {"name": "a", "mode": "chat", "extra": True}),
    ("PATCH", "/datasets/{id}", {}, {"permission": "all_team_members"}),
    ("PATCH", "/datasets/{id}", {}, {"permission": None}),
    ("POST", "/api-keys", {}, {"name": "k", "expires_at": 4102444800.5}),
    ("POST", "/api-keys", {}, {"name": "k", "expires_at": -1}),
    ("POST", "/apps/{id}/api-keys/reset", {}, {"type": "api_secret"}),
    ("POST", "/apps/{id}/api-keys/reset", {}, {"type": "both"}),
    ("POST", "/model-providers/openai/credentials", {}, {"credentials": {"k": 1}}),
    ("POST", "/model-providers/openai/credentials", {}, {"credentials": []}),
    ("PATCH", "/workspaces/current", {}, {"name": "x" * 255, "plan_settings": {}}),
    ("PATCH", "/workspaces/current", {}, {"name": "x" * 256}),
]


def test_compiled_checks_agree_with_openapi_core(dify_emulator_server: EmulatorServer) -> None:
    """For each request, the emulator answers 400 exactly when openapi-core's whole request validator refuses it."""
    token = dify_emulator_server.token
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=dify_emulator_server.base_url + P, headers=auth) as client:
        app_id = client.post("/apps", json={"name": "seed", "mode": "chat"}).json()["id"]
        dataset_id = client.post("/datasets", json={"name": "seed"}).json()["id"]
        verdicts = []
        for method, template, query, body in CASES:
            path = template.replace("{id}", dataset_id if "datasets" in template else app_id)
            try:
                SPEC.validate_request(WireRequest(method, path, query, body, token))
                expected = False
            except Exception:
                expected = True
            kwargs: dict[str, Any] = {"params": query} if body is None else {"params": query, "json": body}
            status = client.request(method, path, **kwargs).status_code
            verdicts.append((method, template, query, body, expected, status == 400))
    assert [v for v in verdicts if v[4] != v[5]] == []
    assert [v[4] for v in verdicts].count(True) == 14  # 14 refusals, 8 acceptances: both sides are exercised


def test_a_drifting_answer_fails_the_response_check(
    monkeypatch: pytest.MonkeyPatch, spec_client: Callable[..., httpx.Client]
) -> None:
    """A handler answering without a field the spec requires is caught by the check every emulator test uses."""

    async def drifted(call: app.Call, store: Store) -> Response:
        return JSONResponse({"id": "u1", "name": "n", "email": "e", "avatar": None, "role": "owner"})

    monkeypatch.setitem(app.HANDLERS, "get_current_user", drifted)
    with EmulatorServer() as server:
        client = spec_client(server.base_url + P, headers={"Authorization": f"Bearer {server.token}"})
        with pytest.raises(AssertionError, match=r"GET /api/management/users/current answered 200.*created_at"):
            client.get("/users/current")


def test_an_undocumented_status_fails_the_response_check() -> None:
    """A status the operation does not document (list_models has no 404) fails the check."""
    request = httpx.Request("GET", "http://127.0.0.1:5001" + P + "/models")
    response = httpx.Response(404, json={"error_code": "not_found", "error": "no"}, request=request)
    with pytest.raises(AssertionError, match=r"GET /api/management/models answered 404"):
        check_response(response)


def test_the_wheel_carries_the_spec_where_the_emulator_looks() -> None:
    """pyproject's force-include puts openapi/management.yaml where `validation` looks first in an install."""
    pyproject = tomllib.loads((SPEC_PATH.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    included = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    package_root = Path(validation.__file__).resolve().parents[2]  # .../src
    assert included == {"openapi/management.yaml": validation._PACKAGED.relative_to(package_root).as_posix()}
    assert validation.DEFAULT_SPEC == SPEC_PATH  # a source checkout has no packaged copy: it reads openapi/
