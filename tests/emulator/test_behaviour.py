"""The emulator's own behaviours over HTTP: auth, validation, uploads, rate limit, faults and the control API."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from dify_mgmt_async.emulator import EmulatorServer
from dify_mgmt_async.emulator.server import parse_args


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer", "Bearer a b", "Bearer unknown"])
def test_bad_authorization_gets_401_with_challenge(client: httpx.Client, header: str | None) -> None:
    """Missing, malformed or unknown Authorization answers 401 `unauthorized` with `WWW-Authenticate: Bearer`."""
    headers = {} if header is None else {"Authorization": header}
    client.headers.pop("Authorization")
    response = client.get("/apps", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error_code"] == "unauthorized"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "message"),
    [
        ("POST", "/apps", {"json": {"mode": "chat"}}, "name: is required"),
        ("POST", "/apps", {"json": {"name": "", "mode": "chat"}}, "name: '' should be non-empty"),
        (
            "POST",
            "/apps",
            {"json": {"name": "a", "mode": "bogus"}},
            "mode: 'bogus' is not one of ['chat', 'completion', 'agent_chat', 'workflow']",
        ),
        ("POST", "/apps", {"json": {"name": "a", "mode": "chat", "colour": 1}}, "colour: unknown field"),
        ("POST", "/apps", {"json": {"name": 5, "mode": "chat"}}, "name: 5 is not of type 'string'"),
        ("POST", "/apps", {"json": [1]}, "body: [1] is not of type 'object'"),
        (
            "POST",
            "/apps",
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            "body: malformed JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
        ),
        (
            "POST",
            "/apps",
            {"content": b'{"name": "a", "mode": "chat"}', "headers": {"Content-Type": "text/plain"}},
            "body: Content-Type must be application/json, not text/plain",
        ),
        ("POST", "/apps", {}, "body: a JSON object is required"),
        ("POST", "/datasets", {"json": {"name": "d", "permission": "everyone"}}, "permission: 'everyone' is not one"),
        ("GET", "/apps", {"params": {"limit": "101"}}, "limit: 101 is greater than the maximum of 100"),
        ("GET", "/apps", {"params": {"limit": "0"}}, "limit: 0 is less than the minimum of 1"),
        ("GET", "/apps", {"params": {"limit": "3.0"}}, "limit: '3.0' is not of type 'integer'"),
        ("GET", "/datasets", {"params": {"page": "0"}}, "page: 0 is less than the minimum of 1"),
        ("GET", "/api-keys", {"params": {"page": "x"}}, "page: 'x' is not of type 'integer'"),
        ("POST", "/api-keys", {"json": {"name": "k", "expires_at": "x"}}, "expires_at: 'x' is not of type 'number'"),
        ("PATCH", "/workspaces/current", {"json": {"plan_settings": 5}}, "plan_settings: 5 is not of type 'object'"),
    ],
)
def test_invalid_input_names_the_field(
    client: httpx.Client, method: str, path: str, kwargs: dict[str, Any], message: str
) -> None:
    """Bad input answers 400 `invalid_param`; the message names the field, then what the spec's check says."""
    response = client.request(method, path, **kwargs)
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "invalid_param"
    assert body["error"].startswith(message), body["error"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/apps", {"bogus": "1", "limit": "5"}),  # declares 400, and still ignores it
        ("/users/current", {"bogus": "1"}),  # declares no 400
        ("/models", {"page": "0"}),  # a parameter other operations have is unknown here
    ],
)
def test_unknown_query_parameters_are_ignored(client: httpx.Client, path: str, params: dict[str, str]) -> None:
    """Query parameters the operation does not declare are ignored, as real servers do, not answered 400."""
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    if path == "/apps":
        assert response.json()["limit"] == 5


def test_expires_at_takes_any_number_and_answers_whole_seconds(client: httpx.Client) -> None:
    """`expires_at` is a Number in the contract; the answer's is an integer, rounded up."""
    response = client.post("/api-keys", json={"name": "k", "expires_at": 4102444800.25})
    assert response.status_code == 201
    assert response.json()["expires_at"] == 4102444801


def test_filters_the_seed_leaves_open_are_accepted(client: httpx.Client) -> None:
    """No maximum on documents'/keys' `limit`; `status` matches `status` or `indexing_status`; any app mode."""
    dataset = client.post("/datasets", json={"name": "open"}).json()
    doc = client.post(f"/datasets/{dataset['id']}/documents/upload", files={"file": ("a.txt", b"hello")}).json()
    for status in ("enabled", "waiting"):
        page = client.get(f"/datasets/{dataset['id']}/documents", params={"status": status, "limit": 200})
        assert page.status_code == 200 and [d["id"] for d in page.json()["data"]] == [doc["id"]]
        assert page.json()["limit"] == 200
    assert client.get(f"/datasets/{dataset['id']}/documents", params={"status": "archived"}).json()["data"] == []
    assert client.get("/api-keys", params={"limit": 500}).status_code == 200
    assert client.get("/apps", params={"mode": "advanced-chat"}).json()["data"] == []
    assert client.get("/apps", params={"limit": 101}).status_code == 400  # the seed's "最大100" stays


def test_duplicate_names_conflict(client: httpx.Client) -> None:
    """A second app or dataset with the same name answers 409 `conflict`, including on rename."""
    assert client.post("/apps", json={"name": "a", "mode": "chat"}).status_code == 201
    assert client.post("/apps", json={"name": "a", "mode": "workflow"}).status_code == 409
    other = client.post("/apps", json={"name": "b", "mode": "chat"}).json()
    assert client.patch(f"/apps/{other['id']}", json={"name": "a"}).json()["error_code"] == "conflict"
    assert client.post("/datasets", json={"name": "d"}).status_code == 201
    assert client.post("/datasets", json={"name": "d"}).status_code == 409


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"chunk_size": 100, "chunk_overlap": 10}, None),
        ({"separator": "-" * 1001}, None),  # the spec sets no maximum (the old field tables said 1000)
        ({"chunk_size": 0}, "process_rule.chunk_size: 0 is less than the minimum of 1"),
        ({"chunk_size": 100, "chunk_overlap": 100}, "process_rule.chunk_overlap: must be less than chunk_size (100)"),
        ({"chunk_overlap": -1}, "process_rule.chunk_overlap: -1 is less than the minimum of 0"),
        ({"chunk_size": "big"}, "process_rule.chunk_size: 'big' is not of type 'integer'"),
        ({"unknown": 1}, "process_rule.unknown: unknown field"),
        ({"separator": ""}, "process_rule.separator: '' should be non-empty"),
    ],
)
def test_process_rule_validated(client: httpx.Client, rule: dict[str, Any], message: str | None) -> None:
    """process_rule: the spec's ProcessRule schema, plus chunk_overlap < chunk_size, which a schema cannot say."""
    ds = client.post("/datasets", json={"name": "d"}).json()
    files = {"file": ("a.txt", b"text"), "process_rule": (None, json.dumps(rule), "application/json")}
    response = client.post(f"/datasets/{ds['id']}/documents/upload", files=files)
    if message is None:
        assert response.status_code == 201, response.text
    else:
        assert (response.status_code, response.json()) == (400, {"error_code": "invalid_param", "error": message})


def test_upload_form_is_checked_against_the_spec(client: httpx.Client) -> None:
    """No file part, two, an unknown part or malformed JSON in process_rule: 400 naming the part; not a form: 415."""
    ds = client.post("/datasets", json={"name": "d"}).json()
    url = f"/datasets/{ds['id']}/documents/upload"
    answers = [
        client.post(url, files={"process_rule": (None, "{}")}),
        client.post(url, files=[("file", ("a.txt", b"1")), ("file", ("b.txt", b"2"))]),
        client.post(url, files={"file": ("a.txt", b"1"), "extra": (None, "1")}),
        client.post(url, files={"file": ("a.txt", b"1"), "process_rule": (None, "{bad")}),
    ]
    assert [(r.status_code, r.json()["error"]) for r in answers] == [
        (400, "file: is required"),
        (400, "file: exactly one part is allowed"),
        (400, "extra: unknown field"),
        (400, "process_rule: malformed JSON"),
    ]
    not_a_form = client.post(url, json={"file": "x"})
    assert (not_a_form.status_code, not_a_form.json()) == (
        415,
        {
            "error_code": "unsupported_media_type",
            "error": "body: Content-Type must be multipart/form-data, not application/json",
        },
    )


def test_control_api_sets_faults_and_reads_counters(dify_emulator_server: EmulatorServer, client: httpx.Client) -> None:
    """The control API needs its secret, changes fail_rate at run time, and counts requests and faults."""
    control = httpx.Client(base_url=dify_emulator_server.base_url + "/_emulator")
    with control:
        assert control.get("/stats").status_code == 401
        control.headers.update(dify_emulator_server.control_headers)
        assert control.post("/config", json={"fail_rate": 1}).json()["fail_rate"] == 1
        injected = client.get("/models")
        assert injected.status_code in (500, 502, 503)
        assert injected.headers["X-Emulator-Fault"] == "5xx"  # made up by the fault layer, not by a handler
        assert control.post("/config", json={"fail_rate": 0, "bogus": 1}).status_code == 400
        control.post("/config", json={"fail_rate": 0})
        assert client.get("/models").status_code == 200
        stats = control.get("/stats").json()
    assert stats["requests"] == {"list_models": 1}
    assert sum(stats["faults"].values()) == 1 and stats["peak_in_flight"] >= 1


def test_drop_closes_connection_without_answer(dify_emulator_server: EmulatorServer, client: httpx.Client) -> None:
    """With drop_rate 1 the server closes the connection and sends no answer at all."""
    dify_emulator_server.configure(drop_rate=1)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/models")
    assert dify_emulator_server.stats()["faults"] == {"dropped": 1}


def test_flags_have_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every flag falls back to its DIFY_EMULATOR_* environment variable."""
    monkeypatch.setenv("DIFY_EMULATOR_RATE", "7")
    monkeypatch.setenv("DIFY_EMULATOR_TOKEN", "tok")
    monkeypatch.setenv("DIFY_EMULATOR_MAX_UPLOAD_MB", "3")
    args = parse_args(["--port", "0"])
    assert (args.rate, args.token, args.max_upload_mb, args.port) == (7.0, "tok", 3.0, 0)


def test_clear_forgets_resources_but_keeps_the_bootstrap_token(
    dify_emulator_server: EmulatorServer, client: httpx.Client
) -> None:
    """`Store.clear()` empties apps, datasets, credentials and added keys; the bootstrap token works again."""
    client.post("/apps", json={"name": "a", "mode": "chat"})
    client.post("/datasets", json={"name": "d"})
    added = client.post("/api-keys", json={"name": "k"}).json()["token"]
    client.post("/model-providers/openai/credentials", json={"credentials": {"k": "v"}})
    keys = {k["name"]: k["id"] for k in client.get("/api-keys").json()["data"]}
    assert client.delete(f"/api-keys/{keys['bootstrap']}").status_code == 200
    assert client.get("/apps").status_code == 401  # the bootstrap token is gone...
    dify_emulator_server.store.clear()  # ...and back
    assert client.get("/apps").json()["total"] == 0
    assert client.get("/datasets").json()["total"] == 0
    assert [k["name"] for k in client.get("/api-keys").json()["data"]] == ["bootstrap"]
    assert [p["is_configured"] for p in client.get("/model-providers").json()["data"]] == [False, False]
    assert client.get("/apps", headers={"Authorization": f"Bearer {added}"}).status_code == 401
